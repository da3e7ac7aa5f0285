"""The kernel skeleton every mechanism shares: one calling convention, one ``run`` wrapper and
the compiled steps of margin-engine.md section 4 that do not depend on the mechanism.

A mechanism module is its parameters (``Params``, ``Book``, the kernel's parameter rows), its
liquidation step and its extra outputs. It declares itself as a ``Mechanism`` and its public
``simulate`` and ``simulate_detail`` call ``run``; its numba kernel has the one signature

    _kernel(S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser)

- ``S``: float64[M, T+1] price paths (cross: float64[A, M, T+1]);
- ``data``: a tuple the mechanism prepares from the book and its array-valued parameters
  (sorted keys, tiers, per-asset thresholds);
- ``pv``: float64[2, P], the scalar parameter sets, row 0 in force from step 0 and row 1 from
  step ``ksw`` (section 4, "Parameters that change during a run"; ``NO_SWITCH`` = never);
- ``mk``: the market conditions as one tuple (``market_tuple``), read by the helpers below;
- ``full_scan``: the reference mode that examines every open position at every step;
- ``track`` and ``det``: the detail view's arrays (``Mechanism.detail_arrays``), empty when
  not tracking; a mechanism with per-path extra outputs (``Mechanism.extra_fields``) has them
  as ``det[0]``, float64[M, len(extra_fields)], allocated on every run;
- ``out``, ``rec``, ``ser``: per-path results (RESULT_FIELDS) and the recorded series.

Inside the kernel one path runs the steps of section 4 with the helpers here, all
``inline="always"`` so that they compile into the mechanism's loop as if written there:

    p_hist, ostate, dstate = path_state(T, threshold0)
    for t in range(T):
        if ri < n_rec and rec[ri] < t:
            ri = record_step(rec, ri, t, ser, m, p_hist, vol, bad)
        (switch the parameter row at t == ksw: the mechanism's own)
        p, peak, po = market_step(S, m, t, J, peak, p_hist, ostate, mk)
        th = dynamic_threshold(dstate, po, t, base, sign, *dynamic(pv, row, col))
        (the mechanism's liquidation step, using gas(), pays(), slippage())
        J = impact(mk, J, sold)
    pT = S[m, T] * J
    ri = record_end(rec, ri, T, ser, m, p_hist, pT, vol, bad)
    write_results(out, m, ...)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from engine._common import (
    N_FIELDS,
    gas_cost,
    liquidation_pays,
    next_impact,
    oracle_price,
    record_arrays,
    record_until,
    sale_slippage,
    series_dict,
    switch_step,
)
from engine._inputs import check_prices
from engine.errors import EngineError
from engine.market import MarketConditions


def market_tuple(market: MarketConditions) -> tuple:
    """The market conditions as the kernels' one tuple ``mk``: ``mk[0:3]`` oracle latency,
    deviation and heartbeat (steps); ``mk[3:8]`` impact k, depth (USD), k / depth, square-root
    model (1/0), impact floor; ``mk[8]`` rational liquidators; ``mk[9:11]`` gas (USD) and its
    spike with the drawdown."""
    return market.kernel_args()


@dataclass(frozen=True)
class Mechanism:
    """What ``run`` needs of a mechanism module.

    name, params_cls: the registry name and the module's ``Params``.
    kernel: the numba kernel of the signature above.
    prepare(params, after, book, s, market, **options) -> (data, pv rows (two tuples), mk):
        the kernel's inputs; ``after`` is the set in force from ``ksw`` (``params`` when
        nothing switches). May raise EngineError for inputs that do not fit together.
    detail_arrays(book, s, track) -> tuple of arrays: ``det``, sized for the detail view when
        ``track`` and empty (same dtypes and dimensions) otherwise.
    detail_view(det) -> dict: the detail view's named arrays.
    check(params, book, prices) -> float64 prices as the kernel takes them.
    extra_fields: names of the mechanism's per-path extra outputs (margin-engine.md section 5
        lists the common ones, RESULT_FIELDS); when given, ``detail_arrays`` returns their
        float64[M, len(extra_fields)] array first whatever ``track`` is, and ``run(...,
        extras=True)`` returns them by name.
    """

    name: str
    params_cls: type
    kernel: Callable
    prepare: Callable
    detail_arrays: Callable
    detail_view: Callable
    check: Callable = lambda params, book, prices: check_prices(prices)
    extra_fields: tuple[str, ...] = ()


def run(
    mech: Mechanism,
    params: object,
    book: object,
    prices: np.ndarray,
    market: MarketConditions,
    *,
    record_steps: np.ndarray | None = None,
    switch: tuple | None = None,
    full_scan: bool = False,
    detail: bool = False,
    extras: bool = False,
    **options: object,
) -> np.ndarray | tuple | dict[str, np.ndarray]:
    """Every mechanism's ``simulate`` (``detail=False``) and ``simulate_detail`` (``True``).

    Returns per-path results float64[M, len(RESULT_FIELDS)]; with ``record_steps``,
    ``(per_path, series)``; with ``extras`` (mechanisms with ``extra_fields`` only), the
    extras dict ``{name: float64[M]}`` appended: ``(per_path, extras)`` or ``(per_path, series,
    extras)``. With ``detail``, a dict with ``per_path`` and the mechanism's detail arrays
    (``series`` when recording, ``extras`` when the mechanism has extra fields).
    """
    if extras and not mech.extra_fields:
        raise EngineError(f"{mech.name} has no per-path extra outputs (extras=True)")
    s = mech.check(params, book, prices)
    m, n_steps = s.shape[-2], s.shape[-1] - 1
    after, ksw = switch_step(switch, mech.params_cls, mech.name, n_steps)
    data, rows, mk = mech.prepare(params, after or params, book, s, market, **options)
    # Row 0: the set in force from step 0; row 1: from step ksw (margin-engine.md section 4).
    pv = np.array(rows, dtype=np.float64)
    out = np.zeros((m, N_FIELDS))
    rec, ser = record_arrays(record_steps, m, n_steps)
    det = mech.detail_arrays(book, s, bool(detail))
    mech.kernel(s, data, pv, ksw, mk, bool(full_scan), bool(detail), det, out, rec, ser)
    xo = {name: np.ascontiguousarray(det[0][:, j]) for j, name in enumerate(mech.extra_fields)}
    if detail:
        res = {"per_path": out} | mech.detail_view(det)
        if record_steps is not None:
            res["series"] = series_dict(ser)
        if mech.extra_fields:
            res["extras"] = xo
        return res
    answer = (out,) + ((series_dict(ser),) if record_steps is not None else ()) + ((xo,) if extras else ())
    return answer[0] if len(answer) == 1 else answer


@njit(cache=True, inline="always")
def path_state(T, threshold0):
    """A path's market state: prices so far float64[T+1], the oracle's [last value, its step]
    (step -1: nothing published) and the dynamic threshold's [last oracle, EWMA variance,
    threshold] starting at the mechanism's static ``threshold0``."""
    p_hist = np.empty(T + 1)
    ostate = np.zeros(2)
    ostate[1] = -1.0
    dstate = np.zeros(3)
    dstate[2] = threshold0
    return p_hist, ostate, dstate


@njit(cache=True, inline="always")
def market_step(S, m, t, J, peak, p_hist, ostate, mk):
    """Step 1 of section 4: the market price ``p = S[m, t] * J``, the running peak and the
    oracle value ``po``. Returns ``(p, peak, po)``."""
    p = S[m, t] * J
    p_hist[t] = p
    if p > peak:
        peak = p
    po = oracle_price(p_hist, t, mk[0], mk[1], mk[2], ostate)
    return p, peak, po


@njit(cache=True, inline="always")
def dynamic(pv, row, col):
    """The volatility-adjusted threshold's k_vol, horizon, update interval, lambda, floor and
    cap, stored in ``pv[row, col:col + 6]`` (DynamicThreshold.kernel_args' order)."""
    r = pv[row]
    return r[col], r[col + 1], int(r[col + 2]), r[col + 3], r[col + 4], r[col + 5]


@njit(cache=True, inline="always")
def gas(mk, p, peak):
    """Gas for one liquidation at this step (engine._common.gas_cost)."""
    return gas_cost(mk[9], mk[10], p, peak)


@njit(cache=True, inline="always")
def pays(mk, seize_units, repay_usd, p, gas_usd):
    """Does the liquidation pay a liquidator (engine._common.liquidation_pays)?"""
    return liquidation_pays(seize_units, repay_usd, p, gas_usd, mk[3], mk[4], mk[5], mk[6], mk[7])


@njit(cache=True, inline="always")
def slippage(mk, value_usd):
    """Fraction lost selling ``value_usd`` at once (engine._common.sale_slippage)."""
    return sale_slippage(value_usd, mk[3], mk[4], mk[5], mk[6], mk[7])


@njit(cache=True, inline="always")
def impact(mk, J, sold_usd):
    """Step 3 of section 4: the impact factor after this step's sales (next_impact)."""
    return next_impact(J, sold_usd, mk[3], mk[4], mk[5], mk[6], mk[7])


@njit(cache=True, inline="always")
def record_step(rec, ri, t, ser, m, p_hist, vol, bad):
    """At the top of step t: record the state at the end of step t - 1 where asked for.

    The kernel guards the call, ``if ri < n_rec and rec[ri] < t:`` with ``n_rec =
    rec.shape[0]`` taken before its time loop, so a step with nothing to record costs one
    comparison: with the guard inside the inlined helper, numba's code for the time loop ran
    2.5x slower on compound-v3 (benchmarks/engine.py, CPU time of one thread)."""
    return record_until(rec, ri, t, ser, m, p_hist[t - 1], vol, bad)


@njit(cache=True, inline="always")
def record_end(rec, ri, T, ser, m, p_hist, pT, vol, bad):
    """After the time loop: record steps T - 1 (price p_hist[T - 1]) and T (price pT)."""
    if ri < rec.shape[0]:
        if T > 0:
            ri = record_until(rec, ri, T, ser, m, p_hist[T - 1], vol, bad)
        ri = record_until(rec, ri, T + 1, ser, m, pT, vol, bad)
    return ri


@njit(cache=True, inline="always")
def position_order(idx, n, perm):
    """``perm[:n]``: the step's records in the order of their positions ``idx[:n]`` (distinct
    indices), so that sums over a step's liquidations are in position order (the order of
    workload.md's loop) whatever order the positions were examined in.

    Up to 65,535 records, (position, record) pairs packed in one int64 are sorted (insertion
    sort up to 32, else numpy's sort) and the record numbers kept; beyond, an argsort."""
    if n < 65536:
        for r in range(n):
            perm[r] = (idx[r] << 16) | r
        if n <= 32:
            for r in range(1, n):
                x = perm[r]
                j = r
                while j > 0 and perm[j - 1] > x:
                    perm[j] = perm[j - 1]
                    j -= 1
                perm[j] = x
        else:
            perm[:n].sort()
        for r in range(n):
            perm[r] &= 0xFFFF
    else:
        perm[:n] = np.argsort(idx[:n])


@njit(cache=True, inline="always")
def write_results(
    out, m, bad, unreal, nliq, vol, sold, pen, fees, keeper, used, lost, n_unprof, insolvent, pT
):
    """Path m's row of the results, in the order of RESULT_FIELDS."""
    out[m, 0] = bad
    out[m, 1] = unreal
    out[m, 2] = nliq
    out[m, 3] = vol
    out[m, 4] = sold
    out[m, 5] = pen
    out[m, 6] = fees
    out[m, 7] = keeper
    out[m, 8] = used
    out[m, 9] = lost
    out[m, 10] = n_unprof
    out[m, 11] = insolvent
    out[m, 12] = pT
