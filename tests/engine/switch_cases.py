"""Cases for the parameter switch (margin-engine.md section 4): every mechanism, static and
volatility-adjusted, with a set A and a set B that liquidates more.

``tests/engine/data/switch_baseline.npz`` holds what the kernels returned for these cases
before the switch existed (``python -m tests.engine.switch_cases`` wrote it); the switch tests
check that a run without a switch, with one at or beyond the horizon, or with identical sets,
still returns those arrays bit for bit.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from engine import aave, compound, cross, maker, perp
from engine.market import DynamicThreshold, Liquidators, Liquidity, MarketConditions, Oracle

BASELINE = Path(__file__).parent / "data" / "switch_baseline.npz"
M, T = 6, 90
RECORD = np.array([0, 10, 30, 45, 60, 89, 90], dtype=np.int64)
MARKET = MarketConditions(
    oracle=Oracle(latency=1, deviation=0.004, heartbeat=6),
    liquidity=Liquidity(depth_usd=3e7),
    liquidators=Liquidators(gas_cost_usd=2.0),
)
ALWAYS = MarketConditions(liquidity=Liquidity(depth_usd=3e7), liquidators=Liquidators(rational=False))
DYN = DynamicThreshold(k_vol=2.0, horizon_steps=24.0, update_interval=4, floor=0.3, cap=1.9)
NAMES = ("aave-v3", "compound-v3", "maker-clip", "perp", "cross")


def paths(rng: np.random.Generator, m: int = M, p0: float = 2000.0) -> np.ndarray:
    """Falling paths with a -25 % gap at step 40: every mechanism liquidates and loses."""
    r = rng.normal(-0.003, 0.025, (m, T))
    r[:, 39] -= 0.29
    return p0 * np.exp(np.hstack([np.zeros((m, 1)), np.cumsum(r, axis=1)]))


def _lending_book(rng: np.random.Generator, n: int = 200, p0: float = 2000.0) -> tuple:
    d = rng.lognormal(9.0, 1.0, n)
    c = d / (p0 * rng.uniform(0.35, 0.8, n))
    return c, d


def case(name: str, dynamic: bool = False) -> tuple:
    """(module, params A, params B, book, prices, market); B liquidates more than A."""
    rng = np.random.default_rng(7)
    dyn = DYN if dynamic else None
    if name == "aave-v3":
        c, d = _lending_book(rng)
        a = aave.Params(ltv=0.7, liquidation_threshold=0.75, liquidation_bonus=0.05, dynamic=dyn)
        b = aave.Params(ltv=0.8, liquidation_threshold=0.86, liquidation_bonus=0.08, dynamic=dyn)
        return aave, a, b, aave.Book(c, d), paths(rng), MARKET
    if name == "compound-v3":
        c, d = _lending_book(rng)
        a = compound.Params(
            borrow_collateral_factor=0.7, liquidate_collateral_factor=0.78, target_reserves=1e6, dynamic=dyn
        )
        b = compound.Params(
            borrow_collateral_factor=0.8,
            liquidate_collateral_factor=0.88,
            liquidation_factor=0.9,
            target_reserves=2e6,
            dynamic=dyn,
        )
        return compound, a, b, compound.Book(c, d), paths(rng), MARKET
    if name == "maker-clip":
        c, d = _lending_book(rng)
        a = maker.Params(mat=1.3, hole=2e6, dust=100.0, tail=7200.0, step=90.0, cut=0.99, dynamic=dyn)
        b = maker.Params(
            mat=1.6, chop=1.1, buf=1.1, hole=5e6, dust=200.0, tail=3600.0, step=60.0, cut=0.98, dynamic=dyn
        )
        return maker, a, b, maker.Book(ink=c * 1.8, debt=d), paths(rng), MARKET
    if name == "perp":
        a = perp.Params(
            tier_floors=(0.0, 10_000.0, 50_000.0),
            tier_imf=(0.025, 0.04, 0.10),
            tier_mmf=(0.0125, 0.02, 0.05),
            liquidation_fee=0.01,
            keeper_share=0.5,
            dynamic=dataclasses.replace(DYN, floor=0.005, cap=0.2) if dynamic else None,
        )
        b = perp.Params(
            tier_floors=(0.0, 20_000.0),
            tier_imf=(0.05, 0.12),
            tier_mmf=(0.03, 0.06),
            liquidation_fee=0.015,
            keeper_share=0.3,
            partial_fraction=0.5,
            partial_above_usd=30_000.0,
            dynamic=dataclasses.replace(DYN, floor=0.005, cap=0.2) if dynamic else None,
        )
        return perp, a, b, perp.synthetic_book(a, 200, 2000.0, rng), paths(rng), ALWAYS
    a = cross.Params(liquidation_threshold=(0.75, 0.65), liquidation_bonus=(0.05, 0.10), dynamic=dyn)
    b = cross.Params(
        liquidation_threshold=(0.85, 0.8), liquidation_bonus=(0.08, 0.12), close_factor=0.6, dynamic=dyn
    )
    prices = np.stack([paths(rng), paths(rng, p0=30.0)])
    return cross, a, b, cross.synthetic_book(a, 200, prices[:, 0, 0], rng), prices, MARKET


def keys() -> list[tuple[str, bool, str]]:
    return [(n, dyn, which) for n in NAMES for dyn in (False, True) for which in ("a", "b")]


def run_plain(name: str, dynamic: bool, which: str, **kw: object) -> tuple:
    mod, a, b, book, prices, market = case(name, dynamic)
    return mod.simulate(a if which == "a" else b, book, prices, market, record_steps=RECORD, **kw)


def capture() -> None:
    arrays = {}
    for name, dyn, which in keys():
        out, ser = run_plain(name, dyn, which)
        tag = f"{name}-{'dyn' if dyn else 'static'}-{which}"
        arrays[f"{tag}-per_path"] = out
        for field, arr in ser.items():
            arrays[f"{tag}-{field}"] = arr
    BASELINE.parent.mkdir(exist_ok=True)
    np.savez_compressed(BASELINE, **arrays)


if __name__ == "__main__":
    capture()
