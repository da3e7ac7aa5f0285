"""The reference workload of workload.md: exact inputs, the Aave kernel configured as written there.

``generate_book`` and ``path_blocks`` / ``generate_paths`` reproduce workload.md's numpy code
exactly (PCG64 ``default_rng([seed, 1])`` for the book, ``default_rng([seed, 2])`` for the
paths); ``path_blocks`` redraws the paths block of rows by block from recorded generator
states, so memory stays bounded whatever M is while the numbers are, bit for bit, those of the
one-shot code (tests/engine/test_reference.py checks it). ``run_reference`` runs engine.aave's
kernel configured as latency-only oracle, linear
impact, liquidators that always act, no protocol fee: the same compiled code every backtest uses.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from engine import aave
from engine._common import FIELD_INDEX
from engine.errors import EngineError
from engine.market import Liquidators, Liquidity, MarketConditions, Oracle
from engine.results import tail_stats

PER_PATH = ("bad_debt", "n_liq", "liq_volume", "penalty", "final_price")
SIZES = {"small": (1_000, 100, 720), "medium": (10_000, 1_000, 720)}


@dataclass(frozen=True)
class Workload:
    """The scalar parameters of workload.md (defaults: the "reference" variant)."""

    seed: int = 20240601
    p0: float = 2000.0
    sigma: float = 0.80
    mu: float = 0.0
    steps_per_year: float = 8760.0
    jumps: bool = True
    lam: float = 6.0
    jump_mu: float = -0.06
    jump_sigma: float = 0.08
    lt: float = 0.825
    close_factor: float = 0.5
    full_liq_hf: float = 0.95
    bonus: float = 0.05
    oracle_lag: int = 1
    k_impact: float = 1.0
    depth_mult: float = 1.0
    max_step_impact: float = 0.5
    debt_median: float = 10_000.0
    debt_sigma: float = 1.0
    hf_min: float = 1.03
    hf_excess_median: float = 0.57
    hf_sigma: float = 0.7


VARIANTS = {
    "reference": Workload(),
    "stressed": replace(Workload(), depth_mult=0.15, oracle_lag=3, sigma=1.2),
}


def variant(name: str) -> Workload:
    if name not in VARIANTS:
        raise EngineError(f"variant must be one of {sorted(VARIANTS)}; got {name!r}")
    return VARIANTS[name]


def generate_book(w: Workload, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Collateral (units) and debt (USD), float64[n] each, exactly as workload.md."""
    rng = np.random.default_rng([w.seed, 1])
    z1 = rng.standard_normal(n)
    z2 = rng.standard_normal(n)
    d0 = w.debt_median * np.exp(w.debt_sigma * z1)
    hf0 = w.hf_min + w.hf_excess_median * np.exp(w.hf_sigma * z2)
    c0 = hf0 * d0 / (w.p0 * w.lt)
    return c0, d0


def path_blocks(
    w: Workload, m: int, t: int, *, block_rows: int = 2048
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Market prices S of workload.md, block of paths by block: yields ``(a, b, S[a:b])``.

    workload.md draws all normals, then all Poisson counts, then all jump normals from one
    generator. A first pass walks the stream and records the PCG64 state at the start of each
    block of each of the three draws (the draws are not kept); the second pass restores those
    states to redraw one block at a time. The numbers are those of the one-shot code, bit for
    bit, and memory stays O(block_rows * t) whatever m is.
    """
    dt = 1.0 / w.steps_per_year
    rng = np.random.default_rng([w.seed, 2])
    bg = rng.bit_generator
    blocks = [(a, min(a + block_rows, m)) for a in range(0, m, block_rows)]
    z_states, n_states, j_states = [], [], []
    for a, b in blocks:
        z_states.append(bg.state)
        rng.standard_normal((b - a, t))
    if w.jumps:
        for a, b in blocks:
            n_states.append(bg.state)
            rng.poisson(w.lam * dt, (b - a, t))
        for a, b in blocks:
            j_states.append(bg.state)
            rng.standard_normal((b - a, t))
    drift = (w.mu - 0.5 * w.sigma**2) * dt
    vol = w.sigma * np.sqrt(dt)
    for k, (a, b) in enumerate(blocks):
        bg.state = z_states[k]
        logret = drift + vol * rng.standard_normal((b - a, t))
        if w.jumps:
            bg.state = n_states[k]
            n = rng.poisson(w.lam * dt, (b - a, t))
            bg.state = j_states[k]
            zj = rng.standard_normal((b - a, t))
            logret += w.jump_mu * n + w.jump_sigma * np.sqrt(n) * zj
        S = np.empty((b - a, t + 1))
        S[:, 0] = w.p0
        S[:, 1:] = w.p0 * np.exp(np.cumsum(logret, axis=1))
        yield a, b, S


def generate_paths(w: Workload, m: int, t: int, *, block_rows: int = 2048) -> np.ndarray:
    """Market prices S, float64[m, t+1], exactly as workload.md's one-shot code."""
    S = np.empty((m, t + 1))
    for a, b, block in path_blocks(w, m, t, block_rows=block_rows):
        S[a:b] = block
    return S


def engine_config(w: Workload, c0: np.ndarray) -> tuple[aave.Params, MarketConditions]:
    """The Aave parameters and market that make engine.aave compute workload.md's loop."""
    params = aave.Params(
        ltv=w.lt,
        liquidation_threshold=w.lt,
        liquidation_bonus=w.bonus,
        close_factor=w.close_factor,
        full_close_hf=w.full_liq_hf,
        protocol_fee=0.0,
        small_position_usd=0.0,
        reserves_usd=0.0,
    )
    # depth_usd = depth_mult * sum(c0) * p0 (sum with numpy's np.sum).
    depth = w.depth_mult * float(np.sum(c0)) * w.p0
    market = MarketConditions(
        oracle=Oracle(latency=w.oracle_lag),
        liquidity=Liquidity(depth_usd=depth, k=w.k_impact, model="linear", max_step_impact=w.max_step_impact),
        liquidators=Liquidators(rational=False),
        steps_per_year=w.steps_per_year,
    )
    return params, market


def warm_up() -> None:
    """Load (or compile) the kernel so that timing measures the simulation alone."""
    w = Workload()
    c0, d0 = generate_book(w, 8)
    params, market = engine_config(w, c0)
    aave.simulate(params, aave.Book(c0, d0), np.full((2, 3), w.p0), market)


def run_reference(
    w: Workload,
    c0: np.ndarray,
    d0: np.ndarray,
    S: np.ndarray | Iterable,
) -> tuple[dict[str, np.ndarray], float]:
    """Per-path figures of workload.md and the simulation's wall time in seconds.

    c0, d0: float64[N]. S: float64[M, T+1], or an iterable of ``(a, b, S[a:b])`` blocks (as
    ``path_blocks`` yields) whose generation is left out of the time.
    """
    params, market = engine_config(w, c0)
    book = aave.Book(c0, d0)
    blocks = [(0, S.shape[0], S)] if isinstance(S, np.ndarray) else S
    parts, seconds = [], 0.0
    for _, _, block in blocks:
        block = np.ascontiguousarray(block, dtype=np.float64)
        start = time.perf_counter()
        parts.append(aave.simulate(params, book, block, market))
        seconds += time.perf_counter() - start
    out = np.concatenate(parts)
    return {name: out[:, FIELD_INDEX[name]].copy() for name in PER_PATH}, seconds


def reference_stats(per_path: dict[str, np.ndarray]) -> dict[str, float]:
    """workload.md's statistics across paths."""
    bad = per_path["bad_debt"]
    stats = {"bad_debt_mean": float(np.mean(bad)), "p_bad_debt": float(np.mean(bad > 0))}
    stats.update(tail_stats(bad))
    for name in PER_PATH[1:]:
        stats[f"{name}_mean"] = float(np.mean(per_path[name]))
    return stats


def load_inputs(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``collateral`` (N), ``debt`` (N), ``prices`` (M x (T+1)) from an npz file."""
    with np.load(path) as z:
        missing = [k for k in ("collateral", "debt", "prices") if k not in z.files]
        if missing:
            raise EngineError(f"--inputs file needs arrays collateral, debt, prices; missing {missing}")
        c0, d0, S = (np.asarray(z[k], dtype=np.float64) for k in ("collateral", "debt", "prices"))
    if S.ndim != 2:
        raise EngineError(f"prices must be M x (T+1); got shape {S.shape}")
    return c0, d0, S
