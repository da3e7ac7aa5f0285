"""Aave v3 style lending liquidations (margin-engine.md section 2.1).

One collateral asset against a USD debt per position. The arithmetic follows Aave v3's
``LiquidationLogic.executeLiquidationCall`` / ``_calculateAvailableCollateralToLiquidate``
(aave/aave-v3-core, contracts/protocol/libraries/logic/LiquidationLogic.sol):

- health factor ``h = c * o * LT / d`` (GenericLogic.calculateUserAccountData), liquidatable
  when ``h < 1``;
- close factor ``DEFAULT_LIQUIDATION_CLOSE_FACTOR = 0.5``, lifted to
  ``MAX_LIQUIDATION_CLOSE_FACTOR = 1.0`` when ``h <= CLOSE_FACTOR_HF_THRESHOLD = 0.95`` (the
  contract keeps the default only while ``healthFactor > CLOSE_FACTOR_HF_THRESHOLD``: at exactly
  0.95 the whole debt may be repaid); Aave v3.3 (aave-dao/aave-v3-origin) also lifts it to 1.0
  when the position's collateral or debt is below ``MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD = 2000
  USD`` (``small_position_usd`` here);
- Aave v3.3's leftover rule (``min_leftover_usd``, off by default): a liquidation that clears
  neither the debt nor the collateral must leave at least ``MIN_LEFTOVER_BASE = 1000 USD`` of
  both (``require(... , Errors.MUST_NOT_LEAVE_DUST)`` in ``executeLiquidationCall``); the
  rational liquidator then repays the largest amount the rule allows (see ``_leftover_repay``);
- ``_calculateAvailableCollateralToLiquidate``: the collateral for the repaid debt at the
  bonus, ``s = r * (1 + b) / o``; when it exceeds the position's collateral the seizure is
  capped at the whole collateral and the debt repaid falls to ``c * o / (1 + b)``;
- ``liquidationProtocolFee``: the treasury takes ``protocol_fee`` of the bonus part of the
  seized collateral, ``(s - s / (1 + b)) * protocol_fee``; the liquidator receives the rest;
- Aave v3.3 ``_burnBadDebt``: when the collateral is exhausted and debt remains, the rest is
  written off at once as a reserve deficit (bad debt here) and the position is closed.

The kernel screens positions instead of visiting all of them every step (docs/engine.md):
the ratio ``key = d / c`` of a position changes only when that position is liquidated, so the
untouched positions that can be liquidatable are a prefix of the book sorted by ``key``
(descending) that grows as the oracle price makes new lows. Positions that entered that prefix
get a per-path slot (their rank in that order) holding their state; the open ones wait in a
max-heap by key and are popped when their key reaches the screen; liquidatable-but-unprofitable
ones sit in a short list re-examined every step. The screen uses a relative margin ``_TOL`` far
larger than the rounding of ``c * q / d``, and the decision itself is always the exact
``h < 1`` computed as the protocol does, so results equal a full scan. A step's liquidations
are accumulated in position order, so every sum equals, bit for bit, the loop of workload.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from engine import rules
from engine._common import (
    N_FIELDS,
    dynamic_threshold,
    gas_cost,
    liquidation_pays,
    next_impact,
    oracle_price,
    record_arrays,
    record_until,
    series_dict,
    switch_step,
    switch_threshold,
)
from engine._inputs import book_kwargs, check_prices, params_kwargs, screening_order, set_book_arrays
from engine.errors import EngineError, check_range, coerce_numbers
from engine.market import DynamicThreshold, MarketConditions

_TOL = 1e-9  # relative screening margin: a position is a candidate when key >= q * (1 - _TOL)


@dataclass(frozen=True)
class Params:
    """Aave v3 risk parameters of one collateral asset, engine units (fractions, USD).

    ltv: loan to value for new borrowing (not used by the liquidation model; checked <= LT).
    liquidation_threshold: LT; health factor ``c * o * LT / d``.
    liquidation_bonus: b, 0.05 = 5 % (Aave's ``liquidationBonus`` 10500 in bps).
    close_factor: share of the debt a liquidation may repay while ``h > full_close_hf``.
    full_close_hf: at or below this health factor the whole debt may be repaid.
    protocol_fee: treasury share of the bonus (``liquidationProtocolFee``).
    small_position_usd: Aave v3.3 rule: 100 % close factor when the position's collateral
        (at the oracle) or debt is below this (2,000 USD on v3.3); 0 disables it.
    min_leftover_usd: Aave v3.3 rule: a liquidation that clears neither the debt nor the
        collateral must leave at least this much of both (``MIN_LEFTOVER_BASE``, 1,000 USD on
        v3.3); 0 disables it. Needs ``small_position_usd >= 2 * min_leftover_usd``, as on v3.3
        (2,000 and 1,000), so that the rule always allows some repayment.
    reserves_usd: treasury reserves that absorb realized bad debt before it is socialized.
    dynamic: optional volatility-adjusted LT (margin-engine.md 2.5), ``base`` = LT.
    """

    ltv: float = 0.80
    liquidation_threshold: float = 0.825
    liquidation_bonus: float = 0.05
    close_factor: float = 0.5
    full_close_hf: float = 0.95
    protocol_fee: float = 0.10
    small_position_usd: float = 0.0
    min_leftover_usd: float = 0.0
    reserves_usd: float = 0.0
    dynamic: DynamicThreshold | None = None

    def __post_init__(self) -> None:
        coerce_numbers(self)
        check_range("ltv", self.ltv, 0.0, 1.0)
        check_range("liquidation_threshold", self.liquidation_threshold, 0.0, 1.0)
        check_range("liquidation_bonus", self.liquidation_bonus, 0.0, 1.0, lo_open=True)
        check_range("close_factor", self.close_factor, 0.0, 1.0, lo_open=True)
        check_range("full_close_hf", self.full_close_hf, 0.0, 1.0)
        check_range("protocol_fee", self.protocol_fee, 0.0, 1.0)
        check_range("small_position_usd", self.small_position_usd, 0.0, None)
        check_range("min_leftover_usd", self.min_leftover_usd, 0.0, None)
        if self.min_leftover_usd > 0.0 and self.small_position_usd < 2.0 * self.min_leftover_usd:
            raise EngineError(
                f"min_leftover_usd = {self.min_leftover_usd} needs small_position_usd >= "
                f"2 * min_leftover_usd (Aave v3.3: 2,000 and 1,000); got small_position_usd = "
                f"{self.small_position_usd}"
            )
        check_range("reserves_usd", self.reserves_usd, 0.0, None)
        rules.raise_first(
            rules.aave_v3(
                ltv=self.ltv,
                liquidation_threshold=self.liquidation_threshold,
                liquidation_bonus=self.liquidation_bonus,
            )
        )
        if self.dynamic is not None and not isinstance(self.dynamic, DynamicThreshold):
            raise EngineError(f"dynamic must be a DynamicThreshold or None; got {self.dynamic!r}")


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
    return Params(**params_kwargs(Params, d, "aave-v3"))


def book_from_arrays(d: dict[str, np.ndarray]) -> Book:
    """Book from arrays ``collateral`` and ``debt``."""
    return Book(**book_kwargs(d, ("collateral", "debt"), "aave-v3"))


def borrowing_power(params: Params, book: Book, price0: float) -> float:
    """Debt the book can carry at ``price0`` before any position is liquidatable: sum(c * p0 * LT), USD.

    LTV, not LT, caps new borrowing; LT is what the book can carry, which is what a change of
    parameters trades against bad debt.
    """
    return float(np.sum(book.collateral * float(price0) * params.liquidation_threshold))


def _param_row(params: Params) -> tuple:
    """The kernel's values of one parameter set, in the order ``_load`` reads them."""
    dyn = params.dynamic or DynamicThreshold()
    return (
        (
            float(params.liquidation_threshold),
            float(params.close_factor),
            float(params.full_close_hf),
            float(params.liquidation_bonus),
            float(params.protocol_fee),
            float(params.small_position_usd),
            float(params.reserves_usd),
        )
        + dyn.kernel_args()
        + (float(params.min_leftover_usd),)
    )


def _kernel_args(
    params: Params, book: Book, market: MarketConditions, switch: tuple | None, n_steps: int
) -> tuple:
    after, ksw = switch_step(switch, Params, "aave-v3", n_steps)
    # Row 0: the set in force from step 0; row 1: from step ksw (margin-engine.md section 4).
    pv = np.array([_param_row(params), _param_row(after or params)], dtype=np.float64)
    order, keys, n_sorted = screening_order(book.collateral, book.debt)
    c_sorted = np.ascontiguousarray(book.collateral[order])
    d_sorted = np.ascontiguousarray(book.debt[order])
    return (
        book.collateral,
        book.debt,
        order,
        keys,
        c_sorted,
        d_sorted,
        n_sorted,
        pv,
        ksw,
    ) + market.kernel_args()


def simulate(
    params: Params,
    book: Book,
    prices: np.ndarray,
    market: MarketConditions,
    *,
    record_steps: np.ndarray | None = None,
    switch: tuple[int, Params] | None = None,
) -> np.ndarray | tuple[np.ndarray, dict[str, np.ndarray]]:
    """Run the book over every price path.

    Parameters
    ----------
    params, book, market: see Params, Book, engine.market.MarketConditions.
    prices: float64[M, T+1], exogenous market price S (USD per unit of collateral).
    record_steps: optional int64[K], sorted steps in 0..T at which to record per-step series.
    switch: optional ``(k, params_after)``: ``params`` on steps 0..k-1, ``params_after`` from
        step k on, the book, paths and state carried over (margin-engine.md section 4;
        docs/engine.md "Parameters that change during a run"). ``k >= T`` never switches.

    Returns
    -------
    float64[M, len(RESULT_FIELDS)]: per-path results, columns in the order of
    ``engine._common.RESULT_FIELDS``. Rows depend only on their own path: ``prices[a:b]`` alone
    gives rows ``a:b`` bit for bit. With ``record_steps``: ``(per_path, series)``, series a dict
    of float64[M, K] by ``engine._common.SERIES_FIELDS`` (market price, cumulative liquidated
    volume and realized bad debt, USD, at the end of each recorded step); per_path unchanged.
    """
    s = check_prices(prices)
    out = np.zeros((s.shape[0], N_FIELDS))
    empty = np.zeros((0, 0))
    rec, ser = record_arrays(record_steps, s.shape[0], s.shape[1] - 1)
    args = _kernel_args(params, book, market, switch, s.shape[1] - 1)
    _kernel(s, *args, False, empty, empty, empty, out, rec, ser)
    if record_steps is None:
        return out
    return out, series_dict(ser)


def simulate_positions(
    params: Params,
    book: Book,
    prices: np.ndarray,
    market: MarketConditions,
    *,
    switch: tuple[int, Params] | None = None,
) -> dict[str, np.ndarray]:
    """Like ``simulate`` but also returns each position's state at the horizon (for tests and audits).

    Returns a dict: ``per_path`` float64[M, F]; ``collateral``, ``debt`` float64[M, N] at the
    horizon; ``to_liquidators`` and ``to_protocol`` float64[M], collateral units received.
    Memory is M * N * 16 bytes: use on small books.
    """
    s = check_prices(prices)
    m, n = s.shape[0], len(book)
    out = np.zeros((m, N_FIELDS))
    fc, fd, units = np.empty((m, n)), np.empty((m, n)), np.zeros((m, 2))
    rec, ser = record_arrays(None, m, s.shape[1] - 1)
    _kernel(
        s, *_kernel_args(params, book, market, switch, s.shape[1] - 1), True, fc, fd, units, out, rec, ser
    )
    return {
        "per_path": out,
        "collateral": fc,
        "debt": fd,
        "to_liquidators": units[:, 0],
        "to_protocol": units[:, 1],
    }


@njit(cache=True, inline="always")
def _load(pv, row):
    """LT, close factor, full-close health factor, bonus, protocol fee, small-position USD,
    minimum leftover USD (column 6 is the reserves, read once; 7-12 the dynamic threshold)."""
    return pv[row, 0], pv[row, 1], pv[row, 2], pv[row, 3], pv[row, 4], pv[row, 5], pv[row, 13]


@njit(cache=True, inline="always")
def _load_dynamic(pv, row):
    """The volatility-adjusted threshold's k_vol, horizon, interval, lambda, floor, cap."""
    return pv[row, 7], pv[row, 8], int(pv[row, 9]), pv[row, 10], pv[row, 11], pv[row, 12]


@njit(cache=True, inline="always")
def _heap_push(hv, hn, key, slot):
    """Push (key, slot) on a 4-ary max-heap held in hv[:hn] (rows: key, slot as float)."""
    j = hn
    while j > 0:
        parent = (j - 1) >> 2
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
    """Remove the top of the 4-ary max-heap (the caller read hv[0]); returns the new size.

    Four children per node: half the depth of a binary heap, which is what the pops cost; a
    node's key and slot sit side by side, so a level costs one cache line.
    """
    hn -= 1
    key = hv[hn, 0]
    slot = hv[hn, 1]
    j = 0
    while True:
        c0 = 4 * j + 1
        if c0 >= hn:
            break
        best = c0
        bk = hv[c0, 0]
        end = min(c0 + 4, hn)
        for c in range(c0 + 1, end):
            if hv[c, 0] > bk:
                bk = hv[c, 0]
                best = c
        if bk <= key:
            break
        hv[j, 0] = bk
        hv[j, 1] = hv[best, 1]
        j = best
    if hn > 0:
        hv[j, 0] = key
        hv[j, 1] = slot
    return hn


@njit(cache=True, inline="always")
def _leftover_repay(ci, di, po, repay, opb, protocol_fee, leftover):
    """Aave v3.3 ``MUST_NOT_LEAVE_DUST``: the largest repayment up to ``repay`` that leaves at
    least ``leftover`` USD of debt and of collateral, for a liquidation that clears neither.

    aave-dao/aave-v3-origin, LiquidationLogic.executeLiquidationCall (v3.3): when
    ``actualDebtToLiquidate < userReserveDebt`` and ``actualCollateralToLiquidate +
    liquidationProtocolFeeAmount < userCollateralBalance``, it requires
    ``(userReserveDebt - actualDebtToLiquidate) * price >= MIN_LEFTOVER_BASE`` and
    ``(userCollateralBalance - actualCollateralToLiquidate) * price >= MIN_LEFTOVER_BASE``, where
    ``actualCollateralToLiquidate`` is the liquidator's part ``s - fee`` (the protocol fee is not
    subtracted in the collateral test). With ``s = r * opb / po`` and
    ``fee = (s - s / opb) * protocol_fee``, the liquidator's part is ``r * (opb - b * pf) / po``,
    so the collateral test allows ``r <= (c * po - leftover) / (opb - b * pf)``. The debt test
    allows ``r <= d - leftover``. A liquidator who wants the most it may take repays the
    smaller of those and of the close-factor amount. The caller has checked ``repay < d`` and
    that the seizure leaves collateral; ``Params`` requires ``small_position_usd >= 2 *
    leftover``, so a partial liquidation (close factor < 1) concerns a position with at least
    ``2 * leftover`` USD of both, and the result is positive.
    """
    if di - repay >= leftover:
        s = repay * opb / po
        if (ci - (s - (s - s / opb) * protocol_fee)) * po >= leftover:
            return repay
    r_debt = di - leftover
    r_coll = (ci * po - leftover) / (opb - (opb - 1.0) * protocol_fee)
    return min(repay, r_debt, r_coll)


@njit(cache=True, parallel=True)
def _kernel(
    S,
    c0,
    d0,
    order,
    keys,
    c_sorted,
    d_sorted,
    n_sorted,
    pv,
    ksw,
    lag,
    deviation,
    heartbeat,
    k,
    depth,
    k_over_depth,
    sqrt_model,
    floor,
    rational,
    gas_usd,
    gas_spike,
    track,
    fin_c,
    fin_d,
    units,
    out,
    rec,
    ser,
):
    M = S.shape[0]
    K = rec.shape[0]
    T = S.shape[1] - 1
    for m in prange(M):
        # The parameter set in force: row 0 of pv, row 1 from step ksw (section 4).
        LT, close_factor, full_hf, bonus, protocol_fee, small_usd, leftover = _load(pv, 0)
        k_vol, horizon, upd, lam, dfloor, dcap = _load_dynamic(pv, 0)
        opb = 1.0 + bonus
        # Starting amounts (reserves) are those of the set in force at step 0.
        reserves = pv[1 if ksw == 0 else 0, 6]
        if track:
            for i in range(c0.shape[0]):
                fin_c[m, i] = c0[i]
                fin_d[m, i] = d0[i]
        # Touched positions get a slot holding their state; open ones sit in a max-heap by key.
        # Slot j is the position of rank j in the screening order (order[j]).
        a_cd = np.empty((n_sorted, 2))
        a_unprof = np.empty(n_sorted, np.bool_)
        hv = np.empty((n_sorted, 2))
        cand = np.empty(n_sorted, np.int64)
        # Liquidatable but unprofitable last step: re-examined every step, outside the heap.
        stuck = np.empty(n_sorted, np.int64)
        n_stuck = 0
        # This step's liquidations, accumulated afterwards in position order.
        l_idx = np.empty(n_sorted, np.int64)
        l_sold = np.empty(n_sorted)
        l_repay = np.empty(n_sorted)
        l_bad = np.empty(n_sorted)
        l_closed = np.empty(n_sorted, np.bool_)
        l_fee = np.empty(n_sorted)
        l_perm = np.empty(n_sorted, np.int64)
        p_hist = np.empty(T + 1)
        ostate = np.zeros(2)
        ostate[1] = -1.0
        dstate = np.zeros(3)
        dstate[2] = LT
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
        ptr = 0
        hn = 0
        ri = 0  # pointer into rec: next step to record
        for t in range(T):
            if ri < K and rec[ri] < t:
                ri = record_until(rec, ri, t, ser, m, p_hist[t - 1], vol, bad)
            if t == ksw:
                # The screen needs no rebuild: keys d / c do not involve the parameters, and
                # the prefix and the heap find every key above any threshold q, higher or lower.
                kv_old, lt_old = k_vol, LT
                LT, close_factor, full_hf, bonus, protocol_fee, small_usd, leftover = _load(pv, 1)
                k_vol, horizon, upd, lam, dfloor, dcap = _load_dynamic(pv, 1)
                opb = 1.0 + bonus
                switch_threshold(dstate, lt_old, LT, kv_old, dfloor, dcap)
            # 1. market price and oracle (margin-engine.md section 4).
            p = S[m, t] * J
            p_hist[t] = p
            if p > peak:
                peak = p
            po = oracle_price(p_hist, t, lag, deviation, heartbeat, ostate)
            lt = dynamic_threshold(dstate, po, t, LT, -1.0, k_vol, horizon, upd, lam, dfloor, dcap)
            q = po * lt
            thr = q * (1.0 - _TOL)
            # Candidates: untouched positions whose key reaches the screen, then touched ones.
            nc_ = 0
            while ptr < n_sorted and keys[ptr] >= thr:
                a_cd[ptr, 0] = c_sorted[ptr]
                a_cd[ptr, 1] = d_sorted[ptr]
                a_unprof[ptr] = False
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
            # 2. exact check, every candidate against the same po and p, from its start-of-step state.
            gas = gas_cost(gas_usd, gas_spike, p, peak)
            nl = 0
            for r in range(nc_):
                j = cand[r]
                ci = a_cd[j, 0]
                di = a_cd[j, 1]
                h = ci * q / di
                if not h < 1.0:
                    hn = _heap_push(hv, hn, di / ci, j)
                    continue
                cf = close_factor
                if h <= full_hf:
                    cf = 1.0
                elif small_usd > 0.0 and (ci * po < small_usd or di < small_usd):
                    cf = 1.0
                repay = cf * di
                seize = repay * opb / po
                closed = False
                if seize >= ci:
                    seize = ci
                    repay = ci * po / opb
                    closed = True
                elif leftover > 0.0 and repay < di:
                    repay = _leftover_repay(ci, di, po, repay, opb, protocol_fee, leftover)
                    seize = repay * opb / po
                fee_units = 0.0
                if protocol_fee > 0.0:
                    fee_units = (seize - seize / opb) * protocol_fee
                got = seize - fee_units
                if rational and not liquidation_pays(
                    got, repay, p, gas, k, depth, k_over_depth, sqrt_model, floor
                ):
                    if not a_unprof[j]:
                        a_unprof[j] = True
                        n_unprof += 1.0
                    stuck[n_stuck] = j
                    n_stuck += 1
                    continue
                i = order[j]
                l_idx[nl] = i
                l_sold[nl] = got * p
                l_repay[nl] = repay
                l_closed[nl] = closed
                l_bad[nl] = di - repay
                l_fee[nl] = fee_units * p
                nl += 1
                to_liq += got
                to_prot += fee_units
                nc = 0.0 if closed else ci - seize
                nd = 0.0 if closed else di - repay
                if track:
                    fin_c[m, i] = nc
                    fin_d[m, i] = nd
                a_cd[j, 0] = nc
                a_cd[j, 1] = nd
                if nd > 0.0:
                    hn = _heap_push(hv, hn, nd / nc, j)
            if nl == 0:
                continue
            # 3. accumulate in position order (the order of workload.md's loop).
            sold = 0.0
            perm = l_perm[:nl]
            if nl < 65536:
                # sort (position, record) pairs packed in one int64: records in position order
                for r in range(nl):
                    perm[r] = (l_idx[r] << 16) | r
                if nl <= 32:
                    for r in range(1, nl):
                        x = perm[r]
                        j = r
                        while j > 0 and perm[j - 1] > x:
                            perm[j] = perm[j - 1]
                            j -= 1
                        perm[j] = x
                else:
                    perm.sort()
                for r in range(nl):
                    perm[r] &= 0xFFFF
            else:
                perm[:] = np.argsort(l_idx[:nl])
            for r in range(nl):
                x = perm[r]
                if l_closed[x]:
                    bad += l_bad[x]
                sold += l_sold[x]
                nliq += 1.0
                vol += l_repay[x]
                pen += bonus * l_repay[x]
                fees += l_fee[x]
            sold_total += sold
            J = next_impact(J, sold, k, depth, k_over_depth, sqrt_model, floor)
        pT = S[m, T] * J
        if ri < K:
            if T > 0:
                ri = record_until(rec, ri, T, ser, m, p_hist[T - 1], vol, bad)
            ri = record_until(rec, ri, T + 1, ser, m, pT, vol, bad)
        # Unrealized bad debt at the horizon: open positions with c * p < d.
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
        out[m, 0] = bad
        out[m, 1] = unreal
        out[m, 2] = nliq
        out[m, 3] = vol
        out[m, 4] = sold_total
        out[m, 5] = pen
        out[m, 6] = fees
        out[m, 7] = 0.0
        out[m, 8] = used
        out[m, 9] = bad - used
        out[m, 10] = n_unprof
        out[m, 11] = 1.0 if bad > reserves else 0.0
        out[m, 12] = pT
        if track:
            units[m, 0] = to_liq
            units[m, 1] = to_prot
