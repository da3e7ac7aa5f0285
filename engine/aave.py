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
ones are filed by key and by collateral, and a step examines only those that may have become
healthy or whose liquidation may pay (``_stuck_take``). The screen uses a relative margin ``_TOL`` far
larger than the rounding of ``c * q / d``, and the decision itself is always the exact
``h < 1`` computed as the protocol does, so results equal a full scan. A step's liquidations
are accumulated in position order, so every sum equals, bit for bit, the loop of workload.md.
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
        step k on, the book, paths and state carried over (margin-engine.md section 4;
        docs/engine.md "Parameters that change during a run"). ``k >= T`` never switches.
    full_scan: re-examine every liquidatable-but-unprofitable position at every step instead of
        filing them (the previous algorithm, kept as the tests' reference; same results, slower).

    Returns
    -------
    float64[M, len(RESULT_FIELDS)]: per-path results, columns in the order of
    ``engine._common.RESULT_FIELDS``. Rows depend only on their own path: ``prices[a:b]`` alone
    gives rows ``a:b`` bit for bit. With ``record_steps``: ``(per_path, series)``, series a dict
    of float64[M, K] by ``engine._common.SERIES_FIELDS`` (market price, cumulative liquidated
    volume and realized bad debt, USD, at the end of each recorded step); per_path unchanged.
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
    """Like ``simulate`` but also returns each position's state at the horizon (for tests and audits).

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


# Liquidatable-but-unprofitable ("stuck") positions (docs/engine.md, "Speed: screening"). A stuck
# position's state does not change until it is liquidated, so it is filed once in two structures
# instead of being re-examined every step: a heap by key ``d / c``, popped when the oracle rises so
# far that it may no longer be liquidatable, and a bucket by collateral (log scale), of which a
# step scans only the buckets where a liquidation may pay (``_stuck_take``). The others are
# provably still liquidatable and unprofitable at this step, which is all that re-examining them
# would have found. (Kept in this file: numba's cache of ``_kernel`` is invalidated only by edits
# of this file.)
_SB_OCT = 8  # stuck buckets per doubling of the collateral
_SB_N = 128 * _SB_OCT + 2  # log2(c) in [-64, 64); bucket 0 below (and c <= 0), the last above
_S_FREE = 0  # not filed (open in the main heap, closed, or a candidate taken off its key heap)
_S_FILED = 1  # filed: in its bucket and on the key heap (entry with its epoch)
_S_SCANNED = 2  # filed and taken as a candidate by this step's bucket scan
_S_KEPT = 3  # scanned and unprofitable again: stays filed
_S_POPPED = 4  # taken off the key heap and out of its bucket as a candidate this step


@njit(cache=True)
def _stuck_arrays(n):
    """A path's filing structures for ``n`` slots: bucket lists (next, prev; bucket b's head is
    node ``n + b``), state, epoch and order value per slot, key heap (-key, epoch * n + slot)."""
    s_link = np.empty((n + _SB_N, 2), np.int64)
    for b in range(_SB_N):
        s_link[n + b, 0] = n + b
        s_link[n + b, 1] = n + b
    return (
        s_link,
        np.zeros(n, np.int8),
        np.zeros(n, np.int64),
        np.empty(n, np.int64),
        np.empty((2 * n + 1, 2)),
    )


@njit(cache=True, inline="always")
def _stuck_bucket(c):
    """Bucket of collateral ``c``: monotone in c, ``_SB_OCT`` buckets per doubling."""
    if not c > 0.0:
        return 0
    x = math.log2(c) * _SB_OCT
    if not x < 64 * _SB_OCT:
        return _SB_N - 1
    if x < -64 * _SB_OCT:
        return 0
    return int(math.floor(x)) + 64 * _SB_OCT + 1


@njit(cache=True, inline="always")
def _stuck_unlink(s_link, j):
    nx = s_link[j, 0]
    pv = s_link[j, 1]
    s_link[pv, 0] = nx
    s_link[nx, 1] = pv


@njit(cache=True)
def _stuck_take(
    cand,
    nc_,
    a_cd,
    s_link,
    s_where,
    s_ep,
    s_ov,
    kh,
    sst,
    q,
    po,
    p,
    lt,
    gas,
    opb,
    close_factor,
    protocol_fee,
    k,
    depth,
    k_over_depth,
    sqrt_model,
    floor,
):
    """Append to ``cand`` the filed stuck positions this step must examine exactly.

    First those whose key is at most ``q * (1 + _TOL)`` (they may no longer be liquidatable):
    popped off the key heap and unfiled. Then, from the buckets, those whose liquidation may pay:
    for any liquidatable position the repay is ``rho`` times the value its seizure sells for,
    ``rho = po / ((1 + b) * g * p)`` (``g`` the liquidator's share of the seizure after the
    protocol fee), whether the seizure is capped or not. So the profit is at most
    ``v * (1 - rho) - gas`` and, slippage growing with the sale, needs ``s(v) < 1 - rho``: a
    liquidation may pay only for ``v`` in ``[v_lo, v_hi]``. And ``v <= g * p * c``,
    ``v <= d / rho``, ``v >= min(1, close_factor * LT * (1 + b)) * g * p * c`` (any close factor,
    ``h < 1``). Bounds are widened by ``_TOL`` (far above the rounding of the exact check),
    which then decides. The positions taken are put in the order in which the previous algorithm
    re-examined them (``s_ov``: the later a position became stuck, the earlier; then the order of
    the step's candidates), because the liquidator's and treasury's units are summed in candidate
    order. Returns (new nc_, index in cand of the first one taken).
    """
    n = s_where.shape[0]
    start = nc_
    lim = -(q * (1.0 + _TOL))
    kn = sst[0]
    while kn > 0 and kh[0, 0] >= lim:
        code = np.int64(kh[0, 1])
        kn = _heap_pop(kh, kn)
        j = code % n
        if s_where[j] == _S_FILED and s_ep[j] == code // n:
            _stuck_unlink(s_link, j)
            s_where[j] = _S_POPPED
            sst[1] -= 1
            cand[nc_] = j
            nc_ += 1
    sst[0] = kn
    if sst[1] > 0:
        nc_ = _stuck_scan(
            cand,
            nc_,
            a_cd,
            s_link,
            s_where,
            sst,
            po,
            p,
            lt,
            gas,
            opb,
            close_factor,
            protocol_fee,
            k,
            depth,
            k_over_depth,
            sqrt_model,
            floor,
        )
    m = nc_ - start
    if m > 16:
        taken = cand[start:nc_].copy()
        cand[start:nc_] = taken[np.argsort(s_ov[taken])]
    else:
        for r in range(start + 1, nc_):
            x = cand[r]
            ov = s_ov[x]
            i = r
            while i > start and s_ov[cand[i - 1]] > ov:
                cand[i] = cand[i - 1]
                i -= 1
            cand[i] = x
    return nc_, start


@njit(cache=True)
def _stuck_scan(
    cand,
    nc_,
    a_cd,
    s_link,
    s_where,
    sst,
    po,
    p,
    lt,
    gas,
    opb,
    close_factor,
    protocol_fee,
    k,
    depth,
    k_over_depth,
    sqrt_model,
    floor,
):
    """The bucket scan of ``_stuck_take``: appends the filed positions whose liquidation may pay."""
    n = s_where.shape[0]
    g = 1.0
    if protocol_fee > 0.0:
        g = 1.0 - protocol_fee * (1.0 - 1.0 / opb)
    unit = g * p
    rho = po / (opb * unit)
    mu = 1.0 - rho + _TOL * (1.0 + rho)
    if not mu > 0.0:
        return nc_
    v_lo = gas * (1.0 - _TOL) / mu * (1.0 - _TOL)
    v_hi = np.inf
    if mu <= 1.0 - floor:
        if sqrt_model:
            if k > 0.0:
                v_hi = depth * (mu / k) ** 2 * (1.0 + _TOL)
        elif k_over_depth > 0.0:
            v_hi = mu / k_over_depth * (1.0 + _TOL)
    c_lo = v_lo / unit * (1.0 - _TOL)
    d_lo = v_lo * rho * (1.0 - _TOL)
    cr = min(1.0, close_factor * lt * opb) * (1.0 - _TOL)
    c_hi = np.inf
    if v_hi < np.inf and cr > 0.0:
        c_hi = v_hi / (cr * unit) * (1.0 + _TOL)
    b_min = sst[2]
    b_max = sst[3]
    while b_max > b_min and s_link[n + b_max, 0] == n + b_max:
        b_max -= 1
    while b_min < b_max and s_link[n + b_min, 0] == n + b_min:
        b_min += 1
    sst[2] = b_min
    sst[3] = b_max
    # One bucket of margin on each side: log2's rounding must not hide a position.
    b0 = max(_stuck_bucket(c_lo) - 1, b_min)
    b1 = b_max if c_hi == np.inf else min(_stuck_bucket(c_hi) + 1, b_max)
    for b in range(b0, b1 + 1):
        head = n + b
        x = s_link[head, 0]
        while x != head:
            ci = a_cd[x, 0]
            if ci >= c_lo and ci <= c_hi and a_cd[x, 1] >= d_lo:
                s_where[x] = _S_SCANNED
                cand[nc_] = x
                nc_ += 1
            x = s_link[x, 0]
    return nc_


@njit(cache=True)
def _stuck_keep(cand, start, nc_, stuck, n_stuck, ov_base, a_cd, s_link, s_where, s_ep, s_ov, kh, sst):
    """After a step's exact checks: file its newly stuck positions (``stuck[:n_stuck]``; order
    value ``ov_base + r``), keep (or file again, in their old place in the order) the ones taken
    that are still stuck, and forget the ones taken that were liquidated or are healthy again."""
    n = s_where.shape[0]
    for r in range(n_stuck):
        j = stuck[r]
        w = s_where[j]
        if w == _S_SCANNED:
            s_where[j] = _S_KEPT
            continue
        if w == _S_FREE:
            s_ov[j] = ov_base + r
        ci = a_cd[j, 0]
        key = a_cd[j, 1] / ci if ci > 0.0 else np.inf
        if sst[0] == kh.shape[0]:
            sst[0] = _stuck_compact(kh, sst[0], s_where, s_ep)
        s_ep[j] += 1
        sst[0] = _heap_push(kh, sst[0], -key, float(s_ep[j] * n + j))
        b = _stuck_bucket(ci)
        head = n + b
        nx = s_link[head, 0]
        s_link[head, 0] = j
        s_link[j, 1] = head
        s_link[j, 0] = nx
        s_link[nx, 1] = j
        s_where[j] = _S_FILED
        sst[1] += 1
        sst[2] = min(sst[2], b)
        sst[3] = max(sst[3], b)
    for r in range(start, nc_):
        j = cand[r]
        w = s_where[j]
        if w == _S_KEPT:
            s_where[j] = _S_FILED
        elif w == _S_SCANNED:  # liquidated: out of its bucket; its key heap entry is now stale
            _stuck_unlink(s_link, j)
            s_where[j] = _S_FREE
            sst[1] -= 1
        elif w == _S_POPPED:  # liquidated or healthy again (then in the main heap)
            s_where[j] = _S_FREE


@njit(cache=True)
def _stuck_compact(kh, kn, s_where, s_ep):
    """Drop the stale entries of the full key heap (at most one valid entry per slot)."""
    n = s_where.shape[0]
    keep = np.empty((kn, 2))
    v = 0
    for r in range(kn):
        code = np.int64(kh[r, 1])
        j = code % n
        if s_where[j] != _S_FREE and s_where[j] != _S_POPPED and s_ep[j] == code // n:
            keep[v, 0] = kh[r, 0]
            keep[v, 1] = kh[r, 1]
            v += 1
    kn = 0
    for r in range(v):
        kn = _heap_push(kh, kn, keep[r, 0], keep[r, 1])
    return kn


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
        # Liquidatable but unprofitable this step; filed by key and collateral (_stuck_take,
        # _stuck_keep), or with full_scan all re-examined every step (the reference).
        stuck = np.empty(n_sorted, np.int64)
        n_stuck = 0
        # The filing structures (_stuck_arrays) are allocated when the path's first position
        # gets stuck, so a path where none does pays nothing for them.
        filing = rational and not full_scan
        s_link = np.empty((0, 2), np.int64)
        s_where = np.zeros(0, np.int8)
        s_ep = np.zeros(0, np.int64)
        s_ov = np.empty(0, np.int64)
        kh = np.empty((0, 2))
        sst = np.zeros(4, np.int64)  # key heap size, filed count, lowest and highest bucket used
        # This step's liquidations, accumulated afterwards in position order.
        l_idx = np.empty(n_sorted, np.int64)
        l_sold = np.empty(n_sorted)
        l_repay = np.empty(n_sorted)
        l_bad = np.empty(n_sorted)
        l_closed = np.empty(n_sorted, np.bool_)
        l_fee = np.empty(n_sorted)
        l_perm = np.empty(n_sorted, np.int64)
        p_hist, ostate, dstate = path_state(T, LT)
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
        n_rec = rec.shape[0]  # recorded steps (record_step)
        for t in range(T):
            if ri < n_rec and rec[ri] < t:
                ri = record_step(rec, ri, t, ser, m, p_hist, vol, bad)
            if t == ksw:
                # The screen needs no rebuild: keys d / c do not involve the parameters, and
                # the prefix and the heap find every key above any threshold q, higher or lower.
                kv_old, lt_old = k_vol, LT
                LT, close_factor, full_hf, bonus, protocol_fee, small_usd, leftover = _load(pv, 1)
                k_vol, horizon, upd, lam, dfloor, dcap = _load_dynamic(pv, 1)
                opb = 1.0 + bonus
                switch_threshold(dstate, lt_old, LT, kv_old, dfloor, dcap)
            # 1. market price and oracle (margin-engine.md section 4).
            p, peak, po = market_step(S, m, t, J, peak, p_hist, ostate, mk)
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
            s_start = nc_
            if full_scan:
                for r in range(n_stuck):
                    cand[nc_] = stuck[r]
                    nc_ += 1
            elif filing and sst[1] > 0:
                gas_t = gas(mk, p, peak)
                nc_, s_start = _stuck_take(
                    cand,
                    nc_,
                    a_cd,
                    s_link,
                    s_where,
                    s_ep,
                    s_ov,
                    kh,
                    sst,
                    q,
                    po,
                    p,
                    lt,
                    gas_t,
                    opb,
                    # The leftover rule may repay less than the close factor allows, so the
                    # scan's lower bound of the sale from the close factor does not hold then:
                    # a close factor of 0 drops it (the other bounds hold for any repayment).
                    close_factor if leftover == 0.0 else 0.0,
                    protocol_fee,
                    mk[3],
                    mk[4],
                    mk[5],
                    mk[6],
                    mk[7],
                )
            n_stuck = 0
            if nc_ == 0:
                continue  # nothing can be liquidatable; no sale, J unchanged
            # 2. exact check, every candidate against the same po and p, from its start-of-step state.
            gas_step = gas(mk, p, peak)
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
                if rational and not pays(mk, got, repay, p, gas_step):
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
            if filing and (n_stuck > 0 or nc_ > s_start):
                if s_where.shape[0] == 0:
                    s_link, s_where, s_ep, s_ov, kh = _stuck_arrays(n_sorted)
                    sst[2] = _SB_N
                    sst[3] = -1
                ov_base = (T - t) * (n_sorted + 1)
                _stuck_keep(
                    cand, s_start, nc_, stuck, n_stuck, ov_base, a_cd, s_link, s_where, s_ep, s_ov, kh, sst
                )
            if nl == 0:
                continue
            # 3. accumulate in position order (the order of workload.md's loop).
            sold = 0.0
            perm = l_perm[:nl]
            position_order(l_idx, nl, perm)
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
            J = impact(mk, J, sold)
        pT = S[m, T] * J
        ri = record_end(rec, ri, T, ser, m, p_hist, pT, vol, bad)
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
    name="aave-v3",
    params_cls=Params,
    kernel=_kernel,
    prepare=_prepare,
    detail_arrays=_detail_arrays,
    detail_view=_detail_view,
)
