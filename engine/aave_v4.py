"""Aave v4 style lending liquidations (margin-engine.md section 2.6).

One collateral asset against a USD debt per position, as in ``engine.aave``, with Aave v4's
liquidation engine instead of v3's close factor (aave/aave-v4, ``docs/features/
LiquidationEngine.md`` and ``src/spoke/libraries/LiquidationLogic.sol``):

- health factor ``h = c * o * cf / d``, liquidatable when ``h < 1`` strictly
  (``_validateLiquidationCall``: ``healthFactor < HEALTH_FACTOR_LIQUIDATION_THRESHOLD``);
- the bonus is a Dutch auction in the health factor (``calculateLiquidationBonus``):
  ``minLB = (maxLB - 1) * lbFactor + 1``; ``lb = maxLB`` when ``h <= hfForMaxBonus``, else
  ``minLB + (maxLB - minLB) * (1 - h) / (1 - hfForMaxBonus)``;
- a liquidation repays what brings the position to the target health factor THF.

The amounts are computed in the contract's order (``_calculateLiquidationAmounts``, which calls
``_calculateDebtToLiquidate``), see ``_amounts``:

1. ``l = min(d, d * (THF - h) / (THF - lb * cf))`` (``_calculateDebtToTargetHealthFactor``;
   the liquidator's ``debtToCover`` is taken as unlimited: a rational liquidator covers
   whatever the rules require, or the call would revert with ``MustNotLeaveDust``);
2. debt dust: if ``l < d`` and ``d - l < dust_usd``, ``l = d`` (``leavesDebtDust``);
3. seizure ``s = l * lb / o``;
4. if ``s > c``, or if ``s < c`` leaves collateral worth less than ``dust_usd`` at the oracle
   while debt remains (``leavesCollateralDust && debtToLiquidate < debtReserveBalance``), all
   collateral is seized and ``l = c * o / lb`` (capped at ``d``, which it reaches only by
   rounding: after step 2 the collateral dust adds less than ``dust_usd / lb`` to ``l``);
5. the protocol fee is ``liquidation_fee`` of the bonus part, ``fee * (s - s / lb)`` units
   (``collateralToLiquidator``); the liquidator receives the rest;
6. deficit (``_evaluateDeficit``): collateral exhausted with debt left: the rest is written off
   at once as bad debt and the position is closed.

The engine computes with unrounded floats where the contract rounds to bps, wad and ray (and
rounds against the liquidator), so a partial liquidation leaves the health factor at THF up to
float rounding rather than slightly above it. Premium debt, several collaterals or debts per
account and ``receiveShares`` are not modelled.

The kernel screens positions like ``engine.aave``: ``key = d / c`` changes only when a position
is liquidated, so the untouched positions that can be liquidatable are a prefix of the book
sorted by key (descending) that grows as the oracle makes new lows; touched open positions wait
in a max-heap by key. Liquidatable-but-unprofitable positions are kept in a list and examined
again at every step. The decision is always the exact ``h < 1`` and a step's liquidations are
accumulated in position order, so results equal ``full_scan=True`` (every open position
examined at every step) bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from engine import rules
from engine._common import dynamic_threshold, switch_threshold
from engine._inputs import book_kwargs, params_kwargs, screening_order, set_book_arrays
from engine._skeleton import (
    Mechanism,
    dynamic,
    gas,
    impact,
    market_step,
    market_tuple,
    path_state,
    pays,
    position_order,
    record_end,
    record_step,
    run,
    write_results,
)
from engine.errors import EngineError, check_range, coerce_numbers
from engine.market import DynamicThreshold, MarketConditions

_TOL = 1e-9  # relative screening margin: a position is a candidate when key >= q * (1 - _TOL)


@dataclass(frozen=True)
class Params:
    """Aave v4 risk parameters of one collateral asset and its spoke, engine units.

    collateral_factor: cf, in (0, 1); health factor ``c * o * cf / d``.
    max_liquidation_bonus: maxLB, 1.05 = 5 % (``maxLiquidationBonus`` 105_00 in bps).
    liquidation_fee: protocol share of the bonus part of the seized collateral.
    target_health_factor: THF, what a liquidation brings the position back to.
    health_factor_for_max_bonus: at or below this health factor the bonus is maxLB.
    liquidation_bonus_factor: share of maxLB's bonus part paid at h just below 1 (minLB).
    dust_usd: ``DUST_LIQUIDATION_THRESHOLD`` (1,000 USD on v4).
    reserves_usd: treasury reserves that absorb realized bad debt before it is socialized.
    dynamic: optional volatility-adjusted cf (margin-engine.md 2.5), ``base`` = cf; its floor
        must not exceed cf, so that the invariants below hold for every cf in force.
    """

    collateral_factor: float = 0.80
    max_liquidation_bonus: float = 1.05
    liquidation_fee: float = 0.10
    target_health_factor: float = 1.05
    health_factor_for_max_bonus: float = 0.85
    liquidation_bonus_factor: float = 0.80
    dust_usd: float = 1000.0
    reserves_usd: float = 0.0
    dynamic: DynamicThreshold | None = None

    def __post_init__(self) -> None:
        coerce_numbers(self)
        check_range("collateral_factor", self.collateral_factor, 0.0, 1.0, lo_open=True, hi_open=True)
        for name in ("max_liquidation_bonus", "target_health_factor"):
            check_range(name, getattr(self, name), 0.0, None, lo_open=True)
            if not math.isfinite(getattr(self, name)):
                raise EngineError(f"{name} must be a finite number; got {getattr(self, name)!r}")
        check_range("liquidation_fee", self.liquidation_fee, 0.0, None)
        check_range("health_factor_for_max_bonus", self.health_factor_for_max_bonus, 0.0, None)
        check_range("liquidation_bonus_factor", self.liquidation_bonus_factor, 0.0, None)
        check_range("dust_usd", self.dust_usd, 0.0, None)
        check_range("reserves_usd", self.reserves_usd, 0.0, None)
        for message in config_breaches(self):
            raise EngineError(message)
        if self.dynamic is not None and not isinstance(self.dynamic, DynamicThreshold):
            raise EngineError(f"dynamic must be a DynamicThreshold or None; got {self.dynamic!r}")
        if self.dynamic is not None and self.dynamic.floor > self.collateral_factor:
            raise EngineError(
                f"dynamic.floor must be <= collateral_factor ({self.collateral_factor!r}), so that "
                f"the cf in force keeps the invariants; got {self.dynamic.floor!r}"
            )


def config_breaches(params: Params) -> list[str]:
    """The config invariants of margin-engine.md 2.6 that ``params`` breaks, as messages
    naming the rule: ``engine.rules.aave_v4``, which the proposal form applies too (aave/aave-v4
    docs/features/LiquidationEngine.md, "Parameters and Configuration" and "Preventing
    Liquidation Splits")."""
    breaches = rules.aave_v4(
        collateral_factor=params.collateral_factor,
        max_liquidation_bonus=params.max_liquidation_bonus,
        liquidation_fee=params.liquidation_fee,
        target_health_factor=params.target_health_factor,
        health_factor_for_max_bonus=params.health_factor_for_max_bonus,
        liquidation_bonus_factor=params.liquidation_bonus_factor,
    )
    return [b.message for b in breaches]


@dataclass(frozen=True)
class Book:
    """Positions, one row each: ``collateral`` (units, >= 0) and ``debt`` (USD, >= 0), float64[N]."""

    collateral: np.ndarray
    debt: np.ndarray

    def __post_init__(self) -> None:
        set_book_arrays(self, {"collateral": 1, "debt": 1})

    def __len__(self) -> int:
        return int(self.collateral.shape[0])


def params_from_dict(d: dict) -> Params:
    """Params from a plain dict (JSON); ``dynamic`` may be a dict of DynamicThreshold fields."""
    return Params(**params_kwargs(Params, d, "aave-v4"))


def book_from_arrays(d: dict[str, np.ndarray]) -> Book:
    """Book from arrays ``collateral`` and ``debt``."""
    return Book(**book_kwargs(d, ("collateral", "debt"), "aave-v4"))


def borrowing_power(params: Params, book: Book, price0: float) -> float:
    """Debt the book can carry at ``price0`` before any position is liquidatable: sum(c * p0 * cf), USD."""
    return float(np.sum(book.collateral * float(price0) * params.collateral_factor))


def liquidation_bonus(params: Params, h: float) -> float:
    """The bonus factor ``lb`` (1.0433 = 4.33 %) paid at health factor ``h`` (section 2.6)."""
    return float(
        _bonus(
            float(h),
            params.max_liquidation_bonus,
            params.liquidation_bonus_factor,
            params.health_factor_for_max_bonus,
        )
    )


def _param_row(params: Params) -> tuple:
    """The kernel's values of one parameter set, in the order ``_load`` reads them; columns
    8-13 are the dynamic threshold (``engine._skeleton.dynamic(pv, row, 8)``)."""
    dyn = params.dynamic or DynamicThreshold()
    return (
        float(params.collateral_factor),
        float(params.max_liquidation_bonus),
        float(params.liquidation_fee),
        float(params.target_health_factor),
        float(params.health_factor_for_max_bonus),
        float(params.liquidation_bonus_factor),
        float(params.dust_usd),
        float(params.reserves_usd),
    ) + dyn.kernel_args()


def _prepare(params: Params, after: Params, book: Book, s: np.ndarray, market: MarketConditions) -> tuple:
    order, keys, n_sorted = screening_order(book.collateral, book.debt)
    c_sorted = np.ascontiguousarray(book.collateral[order])
    d_sorted = np.ascontiguousarray(book.debt[order])
    data = (book.collateral, book.debt, order, keys, c_sorted, d_sorted, n_sorted)
    return data, (_param_row(params), _param_row(after)), market_tuple(market)


def _detail_arrays(book: Book, s: np.ndarray, track: bool) -> tuple:
    m, n = (s.shape[0], len(book)) if track else (0, 0)
    return np.empty((m, n)), np.empty((m, n)), np.zeros((m, 2 if track else 0))


def _detail_view(det: tuple) -> dict:
    fc, fd, units = det
    return {"collateral": fc, "debt": fd, "to_liquidators": units[:, 0], "to_protocol": units[:, 1]}


def simulate(
    params: Params,
    book: Book,
    prices: np.ndarray,
    market: MarketConditions,
    *,
    record_steps: np.ndarray | None = None,
    switch: tuple[int, Params] | None = None,
    full_scan: bool = False,
) -> np.ndarray | tuple[np.ndarray, dict[str, np.ndarray]]:
    """Run the book over every price path.

    Parameters
    ----------
    params, book, market: see Params, Book, engine.market.MarketConditions.
    prices: float64[M, T+1], exogenous market price S (USD per unit of collateral).
    record_steps: optional int64[K], sorted steps in 0..T at which to record per-step series.
    switch: optional ``(k, params_after)``: ``params`` on steps 0..k-1, ``params_after`` from
        step k on, the book, paths and state carried over (margin-engine.md section 4).
        ``k >= T`` never switches.
    full_scan: examine every open position at every step instead of screening them (the
        tests' reference; same results bit for bit, slower).

    Returns
    -------
    float64[M, len(RESULT_FIELDS)]: per-path results, columns in the order of
    ``engine._common.RESULT_FIELDS``. Rows depend only on their own path. With
    ``record_steps``: ``(per_path, series)``, series a dict of float64[M, K] by
    ``engine._common.SERIES_FIELDS``; per_path unchanged.
    """
    return run(
        MECHANISM, params, book, prices, market, record_steps=record_steps, switch=switch, full_scan=full_scan
    )


def simulate_detail(
    params: Params,
    book: Book,
    prices: np.ndarray,
    market: MarketConditions,
    *,
    switch: tuple[int, Params] | None = None,
    full_scan: bool = False,
    record_steps: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Like ``simulate`` but also returns each position's state at the horizon (tests, audits).

    Returns a dict: ``per_path`` float64[M, F]; ``collateral``, ``debt`` float64[M, N] at the
    horizon; ``to_liquidators`` and ``to_protocol`` float64[M], collateral units received;
    ``series`` with ``record_steps``. Memory is M * N * 16 bytes: use on small books.
    """
    return run(
        MECHANISM,
        params,
        book,
        prices,
        market,
        record_steps=record_steps,
        switch=switch,
        full_scan=full_scan,
        detail=True,
    )


@njit(cache=True, inline="always")
def _load(pv, row):
    """cf, maxLB, liquidation fee, THF, hfForMaxBonus, lbFactor, dust USD (column 7 is the
    reserves, read once)."""
    r = pv[row]
    return r[0], r[1], r[2], r[3], r[4], r[5], r[6]


@njit(cache=True)
def _bonus(h, max_lb, lb_factor, hf_max):
    """LiquidationLogic.calculateLiquidationBonus, unrounded: maxLB at or below hfForMaxBonus,
    then linear from maxLB down to ``minLB = (maxLB - 1) * lbFactor + 1`` at h = 1."""
    if h <= hf_max:
        return max_lb
    min_lb = (max_lb - 1.0) * lb_factor + 1.0
    return min_lb + (max_lb - min_lb) * (1.0 - h) / (1.0 - hf_max)


@njit(cache=True, inline="always")
def _amounts(ci, di, h, po, cf, max_lb, lb_factor, hf_max, thf, dust):
    """Debt repaid ``l`` (USD), collateral seized ``s`` (units) and the bonus ``lb`` of one
    liquidation, in LiquidationLogic._calculateLiquidationAmounts' order (module docstring)."""
    lb = _bonus(h, max_lb, lb_factor, hf_max)
    # _calculateDebtToLiquidate: the debt to the target, capped at the debt, then debt dust.
    rep = di * (thf - h) / (thf - lb * cf)
    if rep > di:
        rep = di
    if rep < di and di - rep < dust:
        rep = di
    seize = rep * lb / po
    # Collateral cap and collateral dust (while debt remains): all collateral, l from it.
    if seize > ci or (seize < ci and (ci - seize) * po < dust and rep < di):
        seize = ci
        rep = min(ci * po / lb, di)
    return rep, seize, lb


@njit(cache=True, inline="always")
def _heap_push(hv, hn, key, slot):
    """Push (key, slot) on a binary max-heap held in hv[:hn] (rows: key, slot as float)."""
    j = hn
    while j > 0:
        parent = (j - 1) >> 1
        if hv[parent, 0] >= key:
            break
        hv[j, 0] = hv[parent, 0]
        hv[j, 1] = hv[parent, 1]
        j = parent
    hv[j, 0] = key
    hv[j, 1] = slot
    return hn + 1


@njit(cache=True, inline="always")
def _heap_pop(hv, hn):
    """Remove the top of the binary max-heap (the caller read hv[0]); returns the new size."""
    hn -= 1
    key = hv[hn, 0]
    slot = hv[hn, 1]
    j = 0
    while True:
        c = 2 * j + 1
        if c >= hn:
            break
        if c + 1 < hn and hv[c + 1, 0] > hv[c, 0]:
            c += 1
        if hv[c, 0] <= key:
            break
        hv[j, 0] = hv[c, 0]
        hv[j, 1] = hv[c, 1]
        j = c
    if hn > 0:
        hv[j, 0] = key
        hv[j, 1] = slot
    return hn


@njit(cache=True, parallel=True)
def _kernel(S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser):
    """The skeleton's kernel (engine._skeleton): paths in parallel."""
    c0, d0, order, keys, c_sorted, d_sorted, n_sorted = data
    fin_c, fin_d, units = det
    rational = mk[8]
    M = S.shape[0]
    T = S.shape[1] - 1
    for m in prange(M):
        # The parameter set in force: row 0 of pv, row 1 from step ksw (section 4).
        CF, max_lb, liq_fee, thf, hf_max, lb_factor, dust = _load(pv, 0)
        k_vol, horizon, upd, lam, dfloor, dcap = dynamic(pv, 0, 8)
        # Starting amounts (reserves) are those of the set in force at step 0.
        reserves = pv[1 if ksw == 0 else 0, 7]
        if track:
            for i in range(c0.shape[0]):
                fin_c[m, i] = c0[i]
                fin_d[m, i] = d0[i]
        # Touched positions have a slot (their rank j in the screening order) holding their
        # state; the open ones wait in a max-heap by key; unprofitable ones in ``stuck``.
        a_cd = np.empty((n_sorted, 2))
        a_unprof = np.zeros(n_sorted, np.bool_)
        hv = np.empty((n_sorted, 2))
        cand = np.empty(n_sorted, np.int64)
        stuck = np.empty(n_sorted, np.int64)
        n_stuck = 0
        ptr = 0
        if full_scan:
            for j in range(n_sorted):
                a_cd[j, 0] = c_sorted[j]
                a_cd[j, 1] = d_sorted[j]
            ptr = n_sorted
        # This step's liquidations, accumulated afterwards in position order.
        l_key = np.empty(n_sorted, np.int64)
        l_perm = np.empty(n_sorted, np.int64)
        l_got = np.empty(n_sorted)
        l_fee = np.empty(n_sorted)
        l_repay = np.empty(n_sorted)
        l_bonus = np.empty(n_sorted)
        l_bad = np.empty(n_sorted)
        p_hist, ostate, dstate = path_state(T, CF)
        J = 1.0
        peak = 0.0
        bad = 0.0
        nliq = 0.0
        vol = 0.0
        pen = 0.0
        fees = 0.0
        sold_total = 0.0
        n_unprof = 0.0
        to_liq = 0.0
        to_prot = 0.0
        hn = 0
        ri = 0  # pointer into rec: next step to record
        n_rec = rec.shape[0]  # recorded steps (record_step)
        for t in range(T):
            if ri < n_rec and rec[ri] < t:
                ri = record_step(rec, ri, t, ser, m, p_hist, vol, bad)
            if t == ksw:
                # Keys d / c do not involve the parameters: the screen carries over as it is.
                kv_old, cf_old = k_vol, CF
                CF, max_lb, liq_fee, thf, hf_max, lb_factor, dust = _load(pv, 1)
                k_vol, horizon, upd, lam, dfloor, dcap = dynamic(pv, 1, 8)
                switch_threshold(dstate, cf_old, CF, kv_old, dfloor, dcap)
            # 1. market price and oracle (margin-engine.md section 4).
            p, peak, po = market_step(S, m, t, J, peak, p_hist, ostate, mk)
            cf = dynamic_threshold(dstate, po, t, CF, -1.0, k_vol, horizon, upd, lam, dfloor, dcap)
            q = po * cf
            nc_ = 0
            if full_scan:
                for j in range(n_sorted):
                    if a_cd[j, 1] > 0.0:
                        cand[nc_] = j
                        nc_ += 1
            else:
                # Untouched positions whose key reaches the screen, touched open ones, stuck ones.
                thr = q * (1.0 - _TOL)
                while ptr < n_sorted and keys[ptr] >= thr:
                    a_cd[ptr, 0] = c_sorted[ptr]
                    a_cd[ptr, 1] = d_sorted[ptr]
                    cand[nc_] = ptr
                    nc_ += 1
                    ptr += 1
                while hn > 0 and hv[0, 0] >= thr:
                    cand[nc_] = np.int64(hv[0, 1])
                    nc_ += 1
                    hn = _heap_pop(hv, hn)
                for r in range(n_stuck):
                    cand[nc_] = stuck[r]
                    nc_ += 1
            n_stuck = 0
            if nc_ == 0:
                continue  # nothing can be liquidatable; no sale, J unchanged
            # 2. every candidate against the same po and p, from its start-of-step state.
            gas_step = gas(mk, p, peak)
            nl = 0
            for r in range(nc_):
                j = cand[r]
                ci = a_cd[j, 0]
                di = a_cd[j, 1]
                h = ci * q / di
                if not h < 1.0:
                    if not full_scan:
                        hn = _heap_push(hv, hn, di / ci, j)
                    continue
                rep, seize, lb = _amounts(ci, di, h, po, cf, max_lb, lb_factor, hf_max, thf, dust)
                fee_units = liq_fee * (seize - seize / lb)
                got = seize - fee_units
                if rational and not pays(mk, got, rep, p, gas_step):
                    if not a_unprof[j]:
                        a_unprof[j] = True
                        n_unprof += 1.0
                    if not full_scan:
                        stuck[n_stuck] = j
                        n_stuck += 1
                    continue
                exhausted = not seize < ci
                nc = 0.0 if exhausted else ci - seize
                nd = 0.0 if exhausted or not rep < di else di - rep
                i = order[j]
                l_key[nl] = i
                l_got[nl] = got
                l_fee[nl] = fee_units
                l_repay[nl] = rep
                l_bonus[nl] = lb
                # _evaluateDeficit: collateral exhausted with debt left is written off at once.
                l_bad[nl] = di - rep if exhausted and rep < di else 0.0
                nl += 1
                if track:
                    fin_c[m, i] = nc
                    fin_d[m, i] = nd
                a_cd[j, 0] = nc
                a_cd[j, 1] = nd
                if nd > 0.0 and not full_scan:
                    hn = _heap_push(hv, hn, nd / nc, j)
            if nl == 0:
                continue
            # 3. accumulate in position order, whichever order the positions were examined in.
            position_order(l_key, nl, l_perm)
            sold = 0.0
            for r in range(nl):
                x = l_perm[r]
                bad += l_bad[x]
                sold += l_got[x] * p
                nliq += 1.0
                vol += l_repay[x]
                pen += (l_bonus[x] - 1.0) * l_repay[x]
                fees += l_fee[x] * p
                to_liq += l_got[x]
                to_prot += l_fee[x]
            sold_total += sold
            J = impact(mk, J, sold)
        pT = S[m, T] * J
        ri = record_end(rec, ri, T, ser, m, p_hist, pT, vol, bad)
        # Unrealized bad debt at the horizon: open positions with c * p < d, in slot order.
        unreal = 0.0
        for j in range(ptr):
            if a_cd[j, 1] > 0.0 and a_cd[j, 0] * pT < a_cd[j, 1]:
                unreal += a_cd[j, 1] - a_cd[j, 0] * pT
        thr_T = pT * (1.0 - _TOL)
        r = ptr
        while r < n_sorted and keys[r] >= thr_T:
            if c_sorted[r] * pT < d_sorted[r]:
                unreal += d_sorted[r] - c_sorted[r] * pT
            r += 1
        used = min(bad, reserves)
        insolvent = 1.0 if bad > reserves else 0.0
        write_results(
            out,
            m,
            bad,
            unreal,
            nliq,
            vol,
            sold_total,
            pen,
            fees,
            0.0,
            used,
            bad - used,
            n_unprof,
            insolvent,
            pT,
        )
        if track:
            units[m, 0] = to_liq
            units[m, 1] = to_prot


MECHANISM = Mechanism(
    name="aave-v4",
    params_cls=Params,
    kernel=_kernel,
    prepare=_prepare,
    detail_arrays=_detail_arrays,
    detail_view=_detail_view,
)
