"""The engine's entry points: mechanism registry, ``run`` and ``compare``.

Mechanism modules follow the interface of docs/engine.md (``Params``, ``Book``,
``params_from_dict``, ``book_from_arrays``, ``simulate``); they are imported by name only when
asked for, so a missing or broken module affects only its own mechanism.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, fields
from types import ModuleType
from typing import Any

import numpy as np

from engine._common import FIELD_INDEX, RESULT_FIELDS
from engine._inputs import price_array
from engine.errors import EngineError
from engine.market import Liquidators, Liquidity, MarketConditions, Oracle
from engine.results import paired_differences, summarize

MECHANISMS = {
    "aave-v3": "engine.aave",
    "aave-v4": "engine.aave_v4",
    "compound-v3": "engine.compound",
    "compound-v3-accounts": "engine.comet",
    "maker-clip": "engine.maker",
    "perp": "engine.perp",
    "cross": "engine.cross",
    "morpho-blue": "engine.morpho",
}


def load_mechanism(name: str) -> ModuleType:
    """The module implementing mechanism ``name`` (a key of MECHANISMS)."""
    if name not in MECHANISMS:
        raise EngineError(f"mechanism must be one of {sorted(MECHANISMS)}; got {name!r}")
    modname = MECHANISMS[name]
    if importlib.util.find_spec(modname) is None:
        raise EngineError(f"mechanism {name!r} is not available: module {modname} is missing")
    return importlib.import_module(modname)


def available_mechanisms() -> list[str]:
    """Registered mechanisms whose module exists (not imported here)."""
    return [n for n, mod in MECHANISMS.items() if importlib.util.find_spec(mod) is not None]


def market_from_dict(d: dict | MarketConditions | None) -> MarketConditions:
    """MarketConditions from ``{"oracle": {...}, "liquidity": {...}, "liquidators": {...},
    "steps_per_year": x}`` (every part optional; field names of engine.market)."""
    if isinstance(d, MarketConditions):
        return d
    d = dict(d or {})
    parts = {"oracle": Oracle, "liquidity": Liquidity, "liquidators": Liquidators}
    allowed = set(parts) | {"steps_per_year"}
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise EngineError(f"unknown market key {unknown[0]!r}; allowed: {sorted(allowed)}")
    kw: dict[str, Any] = {}
    for key, cls in parts.items():
        sub = d.get(key, {})
        if not isinstance(sub, dict):
            raise EngineError(f"market.{key} must be an object; got {sub!r}")
        names = {f.name for f in fields(cls)}
        bad = sorted(set(sub) - names)
        if bad:
            raise EngineError(f"unknown market.{key} key {bad[0]!r}; allowed: {sorted(names)}")
        kw[key] = cls(**sub)
    if "steps_per_year" in d:
        kw["steps_per_year"] = d["steps_per_year"]
    return MarketConditions(**kw)


@dataclass(frozen=True)
class RunResult:
    """Per-path results (float64[M, F], columns RESULT_FIELDS) and statistics across paths.

    ``series``: None, or (``run(..., record_steps=...)``) float64[M, K] arrays by
    ``engine._common.SERIES_FIELDS`` at the recorded steps ``record_steps`` (int64[K]).
    """

    mechanism: str
    per_path_array: np.ndarray
    summary: dict
    series: dict[str, np.ndarray] | None = None
    record_steps: np.ndarray | None = None

    @property
    def per_path(self) -> dict[str, np.ndarray]:
        return {name: self.per_path_array[:, i] for name, i in FIELD_INDEX.items()}

    def to_dict(self) -> dict:
        """JSON-ready: mechanism, per-path lists by field, summary."""
        return {
            "mechanism": self.mechanism,
            "per_path": {k: v.tolist() for k, v in self.per_path.items()},
            "summary": self.summary,
        }


def _resolve(mod: ModuleType, params: Any, book: Any) -> tuple[Any, Any]:
    if isinstance(params, dict):
        params = mod.params_from_dict(params)
    if isinstance(book, dict):
        book = mod.book_from_arrays(book)
    if not isinstance(params, mod.Params):
        raise EngineError(f"params must be {mod.__name__}.Params or a dict; got {type(params).__name__}")
    if not isinstance(book, mod.Book):
        raise EngineError(f"book must be {mod.__name__}.Book or a dict of arrays; got {type(book).__name__}")
    return params, book


def _check_chunk_paths(chunk_paths: object) -> None:
    """``chunk_paths`` is None or a whole number >= 1 (checked whatever the number of paths)."""
    if chunk_paths is None:
        return
    ok = isinstance(chunk_paths, int | np.integer | float) and not isinstance(chunk_paths, bool)
    if ok:
        v = float(chunk_paths)
        ok = v == v and v not in (float("inf"), float("-inf")) and v == int(v) and v >= 1
    if not ok:
        raise EngineError(f"chunk_paths must be a whole number >= 1 or None; got {chunk_paths!r}")


def _simulate_chunked(
    mod: ModuleType,
    params: Any,
    book: Any,
    prices: np.ndarray,
    market: MarketConditions,
    chunk_paths: int | None,
    record_steps: np.ndarray | None = None,
    switch: tuple | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:
    prices = price_array(prices)
    if prices.ndim not in (2, 3):
        raise EngineError(f"prices must be (M, T+1) or (A, M, T+1); got shape {prices.shape}")
    m = prices.shape[-2]
    if m == 0:
        raise EngineError("prices has no paths (M = 0): give at least one price path")
    _check_chunk_paths(chunk_paths)
    kw: dict[str, Any] = {} if record_steps is None else {"record_steps": record_steps}
    if switch is not None:
        kw["switch"] = switch

    def one(block: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:
        res = mod.simulate(params, book, block, market, **kw)
        if record_steps is None:
            return np.asarray(res, dtype=np.float64), None
        return np.asarray(res[0], dtype=np.float64), res[1]

    if chunk_paths is None or chunk_paths >= m:
        return one(prices)
    n = int(chunk_paths)
    parts = [one(np.ascontiguousarray(prices[..., a : a + n, :])) for a in range(0, m, n)]
    out = np.concatenate([p[0] for p in parts], axis=0)
    if record_steps is None:
        return out, None
    return out, {name: np.concatenate([p[1][name] for p in parts], axis=0) for name in parts[0][1]}


def resolve_switch(mod: ModuleType, switch: Any) -> tuple | None:
    """``switch`` = None or ``(k, params_after)``, params_after the mechanism's Params or a
    dict for its ``params_from_dict`` (margin-engine.md section 4)."""
    if switch is None:
        return None
    if not isinstance(switch, tuple | list) or len(switch) != 2:
        raise EngineError(f"switch must be None or a pair (step k, params after k); got {switch!r}")
    k, after = switch
    if isinstance(after, dict):
        after = mod.params_from_dict(after)
    return (k, after)


def start_price(prices: np.ndarray) -> float | np.ndarray:
    """Mean start price over paths: a float for (M, T+1) prices, float64[A] for (A, M, T+1)."""
    p = np.asarray(prices, dtype=np.float64)
    return float(np.mean(p[:, 0])) if p.ndim == 2 else np.mean(p[:, :, 0], axis=1)


def run(
    mechanism: str,
    params: Any,
    book: Any,
    prices: np.ndarray,
    market: MarketConditions | dict | None,
    *,
    chunk_paths: int | None = None,
    record_steps: np.ndarray | None = None,
    switch: tuple | None = None,
) -> RunResult:
    """Simulate one parameter set over every path.

    Parameters
    ----------
    mechanism: a key of MECHANISMS.
    params: the mechanism's Params, or a dict for its ``params_from_dict``.
    book: the mechanism's Book, or a dict of arrays for its ``book_from_arrays``.
    prices: float64[M, T+1] market prices S (cross-collateral and compound-v3-accounts: [A, M, T+1]).
    market: MarketConditions or a dict for ``market_from_dict``.
    chunk_paths: simulate blocks of this many paths one after the other (bounded memory);
        the results are the same bit for bit, paths being independent.
    record_steps: optional int64[K], sorted steps in 0..T: also record per-step series there
        (``RunResult.series``; the per-path results are the same as without).
    switch: optional ``(k, params_after)`` (Params or a dict): ``params`` on steps 0..k-1 and
        ``params_after`` from step k on, the same book, paths and state carried over
        (margin-engine.md section 4). ``k >= T`` never switches; the results are then those
        of ``params`` alone, bit for bit. ``borrowing_power`` is that of ``params``.

    Returns
    -------
    RunResult with per-path results and ``summary`` = engine.results.summarize plus
    ``borrowing_power`` (USD; None when the mechanism does not define it).
    """
    mod = load_mechanism(mechanism)
    params, book = _resolve(mod, params, book)
    market = market_from_dict(market)
    switch = resolve_switch(mod, switch)
    out, series = _simulate_chunked(mod, params, book, prices, market, chunk_paths, record_steps, switch)
    if out.ndim != 2 or out.shape[1] != len(RESULT_FIELDS):
        raise EngineError(
            f"{mod.__name__}.simulate returned shape {out.shape}; expected (M, {len(RESULT_FIELDS)})"
        )
    summary = summarize(out)
    bp = getattr(mod, "borrowing_power", None)
    summary["borrowing_power"] = float(bp(params, book, start_price(prices))) if bp else None
    rec = None if record_steps is None else np.asarray(record_steps, dtype=np.int64)
    return RunResult(
        mechanism=mechanism, per_path_array=out, summary=summary, series=series, record_steps=rec
    )


def compare(
    mechanism: str,
    params_a: Any,
    params_b: Any,
    book: Any,
    prices: np.ndarray,
    market: MarketConditions | dict | None,
    *,
    rng: np.random.Generator,
    n_boot: int = 1000,
    chunk_paths: int | None = None,
    switch_a: tuple | None = None,
    switch_b: tuple | None = None,
) -> dict:
    """Paired comparison of parameter sets A and B on the same paths and book.

    Returns ``{"a": summary A, "b": summary B, "differences": {stat: {a, b, diff, ci_low,
    ci_high}}}`` where diff = B - A and the 95 % CI is a percentile bootstrap over paths drawn
    with ``rng`` (engine.results.paired_differences). Borrowing power, a function of the book
    and parameters only, is differenced without a CI. ``switch_a`` / ``switch_b``: each run's
    optional ``(k, params_after)`` (see ``run``): e.g. A = live until k then proposed, B =
    proposed from the start, and B - A is what the delay of k steps costs.
    """
    ra = run(mechanism, params_a, book, prices, market, chunk_paths=chunk_paths, switch=switch_a)
    rb = run(mechanism, params_b, book, prices, market, chunk_paths=chunk_paths, switch=switch_b)
    return {"a": ra.summary, "b": rb.summary, "differences": paired(ra, rb, rng=rng, n_boot=n_boot)}


def paired(ra: RunResult, rb: RunResult, *, rng: np.random.Generator, n_boot: int = 1000) -> dict:
    """Paired differences B - A of two runs on the same paths and book (see ``compare``)."""
    diffs = paired_differences(ra.per_path_array, rb.per_path_array, rng, n_boot)
    bpa, bpb = ra.summary["borrowing_power"], rb.summary["borrowing_power"]
    if bpa is not None and bpb is not None:
        diffs["borrowing_power"] = {
            "a": bpa,
            "b": bpb,
            "diff": bpb - bpa,
            "ci_low": bpb - bpa,
            "ci_high": bpb - bpa,
        }
    return diffs
