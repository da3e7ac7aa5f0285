"""Cross-collateral lending accounts, Aave v3 style (the issue's "accounts holding several
collateral assets with per-asset thresholds, on correlated price paths").

Account i holds ``c[i, a]`` units of each collateral asset ``a`` against one USD debt ``d[i]``.
Every asset has its own liquidation threshold ``LT_a`` and bonus ``b_a``, its own market price
path ``S[a]``, its own oracle and its own impact factor ``J_a``; correlation between assets is
whatever the price paths carry. The arithmetic follows Aave v3 (aave/aave-v3-core):

- ``GenericLogic.calculateUserAccountData``: the health factor is
  ``h = sum_a c_a * o_a * LT_a / d`` (collateral at the oracle weighted by each asset's LT);
  liquidatable when ``h < 1``.
- ``LiquidationLogic.executeLiquidationCall``: close factor 0.5 (``close_factor``), 1.0 when
  ``h <= 0.95`` (``full_close_hf``, v3.3 ``CLOSE_FACTOR_HF_THRESHOLD``; the contract keeps 0.5 only
  while ``healthFactor > CLOSE_FACTOR_HF_THRESHOLD``); the liquidator names
  one collateral asset, and ``_calculateAvailableCollateralToLiquidate`` seizes
  ``s = r * (1 + b_a) / o_a`` of it, capped at the account's balance of that asset (the debt
  repaid then falls to ``c_a * o_a / (1 + b_a)``); the treasury takes ``protocol_fee`` of the
  bonus part (``liquidationProtocolFee``), the liquidator the rest.
- Which asset: Aave lets the liquidator choose. We take the choice of a rational liquidator:
  the asset whose seizure, sold at the market price net of that asset's own slippage and gas,
  leaves the largest profit (ties: the lowest asset index). That is usually the asset with the
  largest bonus unless its balance is too small to cover the close factor's repayment.
- One liquidation per account per step (one liquidation call per block, as the reference
  workload does for single-collateral positions).
- Bad debt (Aave v3.3 ``_burnBadDebt``): when the account's collateral is all gone and debt
  remains, the rest is written off at once; while any collateral asset is left the account
  stays open and can be liquidated again against another asset in a later step.

``reserves_usd`` absorbs realized bad debt first (``insurance_used``); the rest is reported as
``socialized_loss`` and the path as ``insolvent``.

Volatility-adjusted thresholds (margin-engine.md 2.5): with ``dynamic`` set, each asset's LT is
recomputed from the EWMA of that asset's own oracle returns (sign -1: LTs fall as volatility
rises) with ``engine._common.dynamic_threshold``.

Speed (screening): with reference prices ``ref_a = S[a, 0, 0]`` an account's key
``K_i = sum_a c_ia * LT_a * ref_a / d_i`` is fixed while the account is untouched, and with
``r_a(t) = o_a(t) * LT_a(t) / (LT_a * ref_a)`` and the account's shares ``u_ia`` of ``K_i``,
``h_i(t) = K_i * sum_a u_ia r_a(t)``. Accounts are bucketed by dominant asset and its share
(``_SHARE_BINS`` bins), so a bucket has a lower bound ``rho_g(t)`` of ``sum_a u_a r_a`` (the
dominant share at the bucket's extremes, every other asset at the smallest other ratio), and
an untouched account can be liquidatable only if ``K_i * rho_g(t) < 1``. Within a bucket,
accounts sorted by ``K`` form a prefix that grows as ``rho_g`` makes new lows; accounts in it
live in an active list where the bucket's current bound (or, once an account was liquidated
and its mix changed, ``min_a r_a``) skips them cheaply before the exact ``h < 1``. The bounds
hold for any correlation; when assets diverge they admit more accounts, which costs time,
never exactness. A step's sums run in account order, so results do not depend on ``ref`` or on
the screening order: paths run alone give the same rows bit for bit. Accounts counted
unprofitable whose size cannot pay under the step's prices and gas are parked out of the pass
(``_park``, ``_unpark``; the list's order, in which units are summed, is kept).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from engine import rules
from engine._common import (
    dynamic_threshold,
    gas_cost,
    next_impact,
    oracle_price,
    record_until,
    sale_slippage,
    switch_threshold,
)
from engine._inputs import book_kwargs, params_kwargs, price_array, set_book_arrays
from engine._parking import PK_N, bit_get, bit_move, bit_prev, bit_set, park, park_bucket
from engine._skeleton import (
    Mechanism,
    dynamic,
    market_tuple,
    run,
)
from engine.errors import EngineError, check_range, coerce_numbers
from engine.market import DynamicThreshold, MarketConditions

_TOL = 1e-9  # relative screening margin on the health-factor bound


@dataclass(frozen=True)
class Params:
    """Per-asset thresholds and account-wide liquidation rules, engine units.

    liquidation_threshold: LT per collateral asset, each in (0, 1], float tuple of length A.
    liquidation_bonus: bonus per asset, each in (0, 1); ``LT_a * (1 + b_a) <= 1`` (Aave v3
        PoolConfigurator.configureReserveAsCollateral).
    close_factor: share of the debt one liquidation may repay while ``h > full_close_hf``.
    full_close_hf: at or below this health factor the whole debt may be repaid.
    protocol_fee: treasury share of the bonus part of the seized collateral.
    reserves_usd: treasury reserves that absorb realized bad debt.
    dynamic: optional volatility-adjusted LTs, one EWMA per asset (sign -1).
    """

    liquidation_threshold: tuple[float, ...] = (0.825,)
    liquidation_bonus: tuple[float, ...] = (0.05,)
    close_factor: float = 0.5
    full_close_hf: float = 0.95
    protocol_fee: float = 0.10
    reserves_usd: float = 0.0
    dynamic: DynamicThreshold | None = None

    def __post_init__(self) -> None:
        coerce_numbers(self)
        for name in ("liquidation_threshold", "liquidation_bonus"):
            value = getattr(self, name)
            try:
                tup = tuple(float(x) for x in value)
            except TypeError:
                raise EngineError(
                    f"{name} must be a sequence of numbers, one per asset; got {value!r}"
                ) from None
            object.__setattr__(self, name, tup)
        lt, b = self.liquidation_threshold, self.liquidation_bonus
        if not lt or len(lt) != len(b):
            raise EngineError(
                "liquidation_threshold and liquidation_bonus must be non-empty and of one "
                f"length (one per asset); got lengths {len(lt)} and {len(b)}"
            )
        for a in range(len(lt)):
            check_range(f"liquidation_threshold[{a}]", lt[a], 0.0, 1.0, lo_open=True)
            check_range(f"liquidation_bonus[{a}]", b[a], 0.0, 1.0, lo_open=True, hi_open=True)
            rules.raise_first(
                rules.aave_v3(liquidation_threshold=lt[a], liquidation_bonus=b[a], asset=f"asset {a}")
            )
        check_range("close_factor", self.close_factor, 0.0, 1.0, lo_open=True)
        check_range("full_close_hf", self.full_close_hf, 0.0, 1.0)
        check_range("protocol_fee", self.protocol_fee, 0.0, 1.0)
        check_range("reserves_usd", self.reserves_usd, 0.0, None)
        if self.dynamic is not None and not isinstance(self.dynamic, DynamicThreshold):
            raise EngineError(f"dynamic must be a DynamicThreshold or None; got {self.dynamic!r}")

    @property
    def n_assets(self) -> int:
        return len(self.liquidation_threshold)


@dataclass(frozen=True)
class Book:
    """Accounts: ``collateral`` float64[N, A] (units of each asset, >= 0) and ``debt``
    float64[N] (USD, >= 0)."""

    collateral: np.ndarray
    debt: np.ndarray

    def __post_init__(self) -> None:
        set_book_arrays(self, {"collateral": 2, "debt": 1})

    def __len__(self) -> int:
        return int(self.debt.shape[0])


def params_from_dict(d: dict) -> Params:
    """Params from a plain dict (JSON); ``dynamic`` may be a dict of DynamicThreshold fields."""
    return Params(**params_kwargs(Params, d, "cross"))


def book_from_arrays(d: dict[str, np.ndarray]) -> Book:
    """Book from arrays ``collateral`` (N, A) and ``debt`` (N,)."""
    return Book(**book_kwargs(d, ("collateral", "debt"), "cross"))


def health_factors(params: Params, book: Book, oracle_prices: np.ndarray) -> np.ndarray:
    """``h_i = sum_a c_ia * o_a * LT_a / d_i`` (inf without debt), float64[N]; ``oracle_prices``
    float64[A], USD per unit."""
    lt = np.asarray(params.liquidation_threshold)
    num = (book.collateral * (np.asarray(oracle_prices, dtype=np.float64) * lt)[None, :]).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(book.debt > 0, num / book.debt, np.inf)


def borrowing_power(params: Params, book: Book, prices0: np.ndarray) -> float:
    """Debt the book can carry at prices ``prices0`` (float64[A]) before liquidation, USD."""
    lt = np.asarray(params.liquidation_threshold)
    return float(np.sum(book.collateral * (np.asarray(prices0) * lt)[None, :]))


def _check(params: Params, book: Book, prices: np.ndarray) -> np.ndarray:
    s = price_array(prices)
    A = params.n_assets
    if s.ndim != 3 or s.shape[0] != A or s.shape[2] < 1:
        raise EngineError(
            f"prices must be a 3-d array (A={A} assets, M paths, T+1 steps); got shape {s.shape}"
        )
    if s.shape[1] == 0:
        raise EngineError("prices has no paths (M = 0): give at least one price path")
    if book.collateral.shape[1] != A:
        raise EngineError(
            f"book.collateral must have one column per asset (A={A}); got {book.collateral.shape[1]}"
        )
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise EngineError("prices must be finite and > 0 everywhere")
    return s


_SHARE_BINS = 4  # buckets per dominant asset, by that asset's share of the account's K


def _screening(params: Params, book: Book, ref: np.ndarray) -> tuple:
    """Accounts with debt in buckets (dominant asset, its share of ``K``), each bucket sorted by
    ``K = sum_a c_a LT_a ref_a / d`` ascending.

    Returns ``order`` int64[n], ``keys`` float64[n] (in that order), ``g_start`` int64[G+1]
    (bucket g is ``order[g_start[g]:g_start[g+1]]``), ``g_dom`` int64[G] (dominant asset),
    ``g_lo``, ``g_hi`` float64[G] (the smallest and largest share of the dominant asset in the
    bucket). An account with share ``u_a`` of each asset has ``h = K * sum_a u_a r_a`` where
    ``r_a = o_a LT_a(t) / (LT_a ref_a)``, so in bucket g ``h >= K * min over u in
    [lo, hi] of (u r_dom + (1 - u) min_{b != dom} r_b)``, which is reached at ``lo`` or ``hi``.
    """
    A = params.n_assets
    lt = np.asarray(params.liquidation_threshold)
    d = book.debt
    w = book.collateral * (lt * ref)[None, :]
    tot = w.sum(axis=1)
    has = d > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        key = np.where(has, tot / d, np.inf)
        share = np.where(tot[:, None] > 0, w / tot[:, None], 1.0 / A)
    dom = np.argmax(share, axis=1)
    top = share[np.arange(len(d)), dom]
    lo_share = 1.0 / A
    nbin = 1 if A == 1 else _SHARE_BINS
    b = np.minimum(((top - lo_share) / max(1.0 - lo_share, 1e-300) * nbin).astype(np.int64), nbin - 1)
    bucket = dom * nbin + np.maximum(b, 0)
    G = A * nbin
    idx = np.flatnonzero(has)
    order = idx[np.lexsort((key[idx], bucket[idx]))].astype(np.int64)
    counts = np.bincount(bucket[order], minlength=G)
    g_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    g_dom = (np.arange(G) // nbin).astype(np.int64)
    g_lo = np.ones(G)
    g_hi = np.zeros(G)
    for g in range(G):
        seg = order[g_start[g] : g_start[g + 1]]
        if seg.size:
            g_lo[g] = top[seg].min()
            g_hi[g] = top[seg].max()
    return order, np.ascontiguousarray(key[order]), g_start, g_dom, g_lo, g_hi


def _param_row(params: Params) -> tuple:
    """The kernel's scalars of one parameter set, in the order ``_load`` reads them."""
    dyn = params.dynamic or DynamicThreshold()
    return (
        float(params.close_factor),
        float(params.full_close_hf),
        float(params.protocol_fee),
        float(params.reserves_usd),
    ) + dyn.kernel_args()


def _prepare(
    params: Params,
    after: Params,
    book: Book,
    s: np.ndarray,
    market: MarketConditions,
    depth_usd: np.ndarray | None = None,
) -> tuple:
    A = s.shape[0]
    liq = market.liquidity
    if depth_usd is None:
        depth = np.full(A, float(liq.depth_usd))
    else:
        depth = np.ascontiguousarray(depth_usd, dtype=np.float64)
        if depth.shape != (A,) or not np.all(depth > 0):
            raise EngineError(f"depth_usd must be float64[A={A}] of values in (0, inf]; got {depth_usd!r}")
    if after.n_assets != A:
        raise EngineError(f"switch params must have one threshold per asset (A={A}); got {after.n_assets}")
    kod = liq.k / depth
    ref = np.ascontiguousarray(s[:, 0, 0])
    # The screen is built on the first set's LTs and stays exact after a switch: h = K *
    # sum_a u_a r_a holds for any thresholds in force when r_a divides by the same LTs.
    order, keys, g_start, g_dom, g_lo, g_hi = _screening(params, book, ref)
    sets = (params, after)
    lt_sets = np.array([x.liquidation_threshold for x in sets], dtype=np.float64)
    bonus_sets = np.array([x.liquidation_bonus for x in sets], dtype=np.float64)
    LT = np.asarray(params.liquidation_threshold)
    data = (
        book.collateral,
        book.debt,
        order,
        keys,
        g_start,
        g_dom,
        g_lo,
        g_hi,
        ref,
        LT,
        lt_sets,
        bonus_sets,
        depth,
        kod,
    )
    return data, (_param_row(params), _param_row(after)), market_tuple(market)


def _detail_arrays(book: Book, s: np.ndarray, track: bool) -> tuple:
    M, A = s.shape[1], s.shape[0]
    shape = (M,) + book.collateral.shape if track else (0, 0, 0)
    return np.zeros(shape), np.zeros(shape[:2]), np.zeros((M, A, 2) if track else (0, 0, 0))


def _detail_view(det: tuple) -> dict:
    fin_c, fin_d, units = det
    return {
        "collateral": fin_c,
        "debt": fin_d,
        "to_liquidators": units[..., 0],
        "to_protocol": units[..., 1],
    }


def simulate(
    params: Params,
    book: Book,
    prices: np.ndarray,
    market: MarketConditions,
    *,
    depth_usd: np.ndarray | None = None,
    record_steps: np.ndarray | None = None,
    switch: tuple[int, Params] | None = None,
    full_scan: bool = False,
) -> np.ndarray | tuple[np.ndarray, dict[str, np.ndarray]]:
    """Run the accounts over every set of correlated price paths.

    Parameters
    ----------
    params, book, market: see Params, Book, engine.market.MarketConditions (oracle, impact
        model and liquidators apply to every asset).
    prices: float64[A, M, T+1], exogenous market price of each asset (USD per unit).
    depth_usd: optional float64[A], each asset's own market depth (USD); default
        ``market.liquidity.depth_usd`` for every asset.
    switch: optional ``(k, params_after)``: ``params`` on steps 0..k-1, ``params_after`` (as
        many assets) from step k on, the book, paths and state carried over (margin-engine.md
        section 4; docs/engine.md). ``k >= T`` never switches.
    full_scan: re-examine every liquidatable-but-unprofitable account at every step instead of
        skipping the ones that provably cannot pay (the tests' reference; same results).

    Returns
    -------
    float64[M, len(RESULT_FIELDS)] in the order of ``engine._common.RESULT_FIELDS``; rows
    depend only on their own path (``prices[:, a:b]`` alone gives rows ``a:b`` bit for bit).
    With ``record_steps`` (optional int64[K], sorted steps in 0..T): ``(per_path, series)``,
    series a dict of float64[M, K] by ``engine._common.SERIES_FIELDS``: the first asset's
    market price (as ``final_price``), cumulative ``liq_volume`` and ``bad_debt`` (USD) at the
    end of each recorded step.
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
        depth_usd=depth_usd,
    )


def simulate_detail(
    params: Params,
    book: Book,
    prices: np.ndarray,
    market: MarketConditions,
    *,
    depth_usd: np.ndarray | None = None,
    switch: tuple[int, Params] | None = None,
    full_scan: bool = False,
    record_steps: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """``simulate`` plus the accounts at the horizon: ``collateral`` float64[M, N, A], ``debt``
    float64[M, N]; ``to_liquidators`` and ``to_protocol`` float64[M, A], units of each asset
    received; ``series`` with ``record_steps``. Memory M * N * (A + 1) * 8 bytes: small books
    only."""
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
        depth_usd=depth_usd,
    )


@njit(cache=True, inline="always")
def _account_size(c, d, ref):
    """``min(d, max_a c_a * ref_a)``: with the step's bounds of ``_unprofitable_bound``, any
    liquidation of the account sells for at most this times ``F_a`` (liquidations only lower
    ``c`` and ``d``, so the size taken when the account joins stays an upper bound)."""
    top = 0.0
    for a in range(c.shape[0]):
        v = c[a] * ref[a]
        if v > top:
            top = v
    return min(d, top)


@njit(cache=True)
def _unprofitable_bound(p, po, bonus, protocol_fee, ref, gas):
    """An account whose size (``_account_size``) is under this bound cannot be liquidated at a
    profit this step, whatever its health and close factor.

    Against asset a the repay is ``rho_a`` times the value the seizure sells for,
    ``rho_a = o_a / ((1 + b_a) * g_a * p_a)`` (``g_a`` the liquidator's share after the protocol
    fee), capped or not; the value is at most ``d / rho_a`` and at most ``g_a * p_a * c_a``, so at
    most ``F_a * size`` with ``F_a = max(1 / rho_a, g_a * p_a / ref_a)``; the profit is at most
    ``value * (1 - rho_a) - gas`` (slippage only lowers it). Every bound is widened by ``_TOL``,
    far above the rounding of the exact check.
    """
    lo_all = np.inf
    for a in range(p.shape[0]):
        opb = 1.0 + bonus[a]
        g = 1.0
        if protocol_fee > 0.0:
            g = 1.0 - protocol_fee * (1.0 - 1.0 / opb)
        rho = po[a] / (opb * g * p[a])
        mu = 1.0 - rho + _TOL * (1.0 + rho)
        if mu > 0.0:
            f = max(1.0 / rho, g * p[a] / ref[a]) * (1.0 + _TOL)
            lo = gas * (1.0 - _TOL) / (mu * f) * (1.0 - _TOL)
            if lo < lo_all:
                lo_all = lo
    return lo_all


# Accounts counted unprofitable whose size is under the step's bound are "parked": taken out of
# the active-list pass (their bit cleared) and filed by size, so a step does not visit them; the
# list itself is not changed, because a step's units are summed in list order. A step first
# unparks the sizes the bound no longer covers. Parked accounts are no-ops of the pass: results
# are unchanged (tests/engine/test_unprofitable_screen.py).
@njit(cache=True)
def _unpark(pk, vis, pos, a_key, sig_lo, k_min, pst):
    """Unpark every account whose size may reach ``sig_lo``; returns k_min lowered by their keys."""
    n = pk.shape[0] - PK_N
    b0 = max(park_bucket(sig_lo) - 1, pst[1])
    for b in range(b0, pst[2] + 1):
        head = n + b
        x = pk[head, 0]
        while x != head:
            j = pos[x]
            bit_set(vis, j)
            if a_key[j] < k_min:
                k_min = a_key[j]
            pst[0] -= 1
            x = pk[x, 0]
        pk[head, 0] = head
        pk[head, 1] = head
    if b0 <= pst[2]:
        pst[2] = b0 - 1
    if pst[0] == 0:
        pst[1] = PK_N
        pst[2] = -1
    return k_min


def _kernel(S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser):
    """The skeleton's kernel (engine._skeleton); ``S`` float64[A, M, T+1].

    A thin Python wrapper: it unpacks the tuples and calls ``_paths``, the parallel loop over
    paths, with the arrays and market scalars as separate arguments. Handed the tuples
    themselves, numba's parallel function ran 5-13 % slower than before the skeleton
    (benchmarks/engine.py, one thread's CPU time, 10,000 and 100,000 accounts), and so did an
    njit wrapper calling it, the same arithmetic bit for bit."""
    # mk[4:6] (one depth and k / depth) are the market's; cross reads each asset's from data.
    _paths(S, *data, pv, ksw, *mk[:4], *mk[6:], full_scan, track, *det, out, rec, ser)


@njit(cache=True, parallel=True)
def _paths(
    S,
    c0,
    d0,
    order,
    keys,
    g_start,
    g_dom,
    g_lo,
    g_hi,
    ref,
    LT,
    lt_sets,
    bonus_sets,
    depth,
    kod,
    pv,
    ksw,
    lag,
    deviation,
    heartbeat,
    k,
    sqrt_model,
    floor,
    rational,
    gas_usd,
    gas_spike,
    full_scan,
    track,
    fin_c,
    fin_d,
    units,
    out,
    rec,
    ser,
):
    """``_kernel``'s parallel loop over paths: each path runs the steps of margin-engine.md
    section 4 in the loop's body (with the loop in a separate per-path function reading ``mk``
    and the skeleton's inlined helpers, it ran 8-11 % slower)."""
    A = S.shape[0]
    K = rec.shape[0]
    M = S.shape[1]
    T = S.shape[2] - 1
    n_sorted = order.shape[0]
    for m in prange(M):
        # The parameter set in force: row 0, row 1 from step ksw (margin-engine.md section 4).
        # LT stays the first set's: the screen's keys and ratios are built on it.
        lt_base = lt_sets[0]
        bonus = bonus_sets[0]
        close_factor, full_hf, protocol_fee = pv[0, 0], pv[0, 1], pv[0, 2]
        k_vol, horizon, upd, lam, dfloor, dcap = dynamic(pv, 0, 4)
        dyn = k_vol != 0.0
        # Starting amounts (reserves) are those of the set in force at step 0.
        reserves = pv[1 if ksw == 0 else 0, 3]
        if track:
            for i in range(c0.shape[0]):
                fin_d[m, i] = d0[i]
                for a in range(A):
                    fin_c[m, i, a] = c0[i, a]
        a_idx = np.empty(n_sorted, np.int64)
        a_c = np.empty((n_sorted, A))
        a_d = np.empty(n_sorted)
        a_unprof = np.empty(n_sorted, np.bool_)
        a_key = np.empty(n_sorted)  # each active account's key K (recomputed when it changes)
        a_g = np.empty(n_sorted, np.int64)  # its bucket while untouched, -1 once liquidated
        k_min = np.inf  # no active account is below this key (conservative)
        # Each account's size for the unprofitable screen (_unprofitable_bound), set when it joins.
        sig = np.empty(c0.shape[0])
        parking = rational and not full_scan and gas_usd > 0.0  # without gas nothing is parked
        npk = c0.shape[0] if parking else 0
        vis = np.zeros((n_sorted >> 6) + 1, np.uint64)  # bit j: active entry j is visited
        pos = np.empty(npk, np.int64)  # an account's entry in the active list
        pk = np.empty((npk + PK_N, 2), np.int64)  # parked by size: next, prev; heads at npk + b
        for b in range(PK_N):
            pk[npk + b, 0] = npk + b
            pk[npk + b, 1] = npk + b
        pst = np.zeros(3, np.int64)  # parked count, lowest and highest bucket used
        pst[1] = PK_N
        pst[2] = -1
        # This step's liquidations, summed afterwards in account order so that the figures do
        # not depend on the screening order (which depends on the reference prices).
        l_idx = np.empty(n_sorted, np.int64)
        l_asset = np.empty(n_sorted, np.int64)
        l_repay = np.empty(n_sorted)
        l_bad = np.empty(n_sorted)
        l_sold = np.empty(n_sorted)
        l_fee = np.empty(n_sorted)
        p_hist = np.empty((A, T + 1))
        ostate = np.zeros((A, 2))
        dstate = np.zeros((A, 3))
        for a in range(A):
            ostate[a, 1] = -1.0
            dstate[a, 2] = LT[a]
        J = np.ones(A)
        peak = np.zeros(A)
        p = np.empty(A)
        po = np.empty(A)
        lt = LT.copy()
        q = np.empty(A)  # o_a * LT_a(t): the health factor's per-unit weight
        sold = np.empty(A)
        got_u = np.zeros(A)
        fee_u = np.zeros(A)
        bad = 0.0
        nliq = 0.0
        vol = 0.0
        pen = 0.0
        fees = 0.0
        sold_total = 0.0
        n_unprof = 0.0
        G = g_dom.shape[0]
        ptr = g_start[:G].copy()  # per bucket, next untouched account
        rho_min = np.full(G, np.inf)  # per bucket, running minimum of its bound
        ratio = np.empty(A)
        lim_g = np.empty(G)  # per bucket, today's (1 + tol) / bound
        na = 0
        ri = 0  # pointer into rec: next step to record
        for t in range(T):
            if ri < K and rec[ri] < t:
                ri = record_until(rec, ri, t, ser, m, p_hist[0, t - 1], vol, bad)
            if t == ksw:
                kv_old = k_vol
                close_factor, full_hf, protocol_fee = pv[1, 0], pv[1, 1], pv[1, 2]
                k_vol, horizon, upd, lam, dfloor, dcap = dynamic(pv, 1, 4)
                dyn = k_vol != 0.0
                bonus = bonus_sets[1]
                for a in range(A):
                    switch_threshold(dstate[a], lt_base[a], lt_sets[1, a], kv_old, dfloor, dcap)
                    lt[a] = lt_sets[1, a]
                lt_base = lt_sets[1]
            # 1. market prices, oracles and (dynamic) thresholds of every asset.
            gas = 0.0
            rho = np.inf
            for a in range(A):
                pa = S[a, m, t] * J[a]
                p[a] = pa
                p_hist[a, t] = pa
                if pa > peak[a]:
                    peak[a] = pa
                po[a] = oracle_price(p_hist[a], t, lag, deviation, heartbeat, ostate[a])
                if dyn:
                    lt[a] = dynamic_threshold(
                        dstate[a], po[a], t, lt_base[a], -1.0, k_vol, horizon, upd, lam, dfloor, dcap
                    )
                q[a] = po[a] * lt[a]
                r = q[a] / (LT[a] * ref[a])
                ratio[a] = r
                if r < rho:
                    rho = r
                g = gas_cost(gas_usd, gas_spike, pa, peak[a])
                if g > gas:
                    gas = g
                sold[a] = 0.0
            # Untouched accounts whose health-factor bound fell below 1 join the active list.
            for g in range(G):
                dom = g_dom[g]
                other = np.inf
                for a in range(A):
                    if a != dom and ratio[a] < other:
                        other = ratio[a]
                if other == np.inf:
                    bound = ratio[dom]
                else:
                    bound = min(
                        g_lo[g] * ratio[dom] + (1.0 - g_lo[g]) * other,
                        g_hi[g] * ratio[dom] + (1.0 - g_hi[g]) * other,
                    )
                lim_g[g] = (1.0 + _TOL) / bound
                if bound < rho_min[g]:
                    rho_min[g] = bound
                lim = (1.0 + _TOL) / rho_min[g]
                end = g_start[g + 1]
                while ptr[g] < end and keys[ptr[g]] < lim:
                    x = ptr[g]
                    i = order[x]
                    a_idx[na] = i
                    for a in range(A):
                        a_c[na, a] = c0[i, a]
                    a_d[na] = d0[i]
                    a_unprof[na] = False
                    a_key[na] = keys[x]
                    a_g[na] = g
                    sig[i] = _account_size(c0[i], d0[i], ref)
                    if parking:
                        bit_set(vis, na)
                        pos[i] = na
                    if keys[x] < k_min:
                        k_min = keys[x]
                    na += 1
                    ptr[g] = x + 1
            # With today's prices an account needs K < (1 + tol) / rho to be liquidatable.
            lim_now = (1.0 + _TOL) / rho
            # An account counted unprofitable before whose size is under this bound cannot pay
            # now: the pass would do nothing with it, healthy or not. Such accounts are parked
            # (not visited); those the bound no longer covers are unparked first.
            sig_lo = 0.0
            if parking:
                sig_lo = _unprofitable_bound(p, po, bonus, protocol_fee, ref, gas)
                if pst[0] > 0 and sig_lo < np.inf:
                    k_min = _unpark(pk, vis, pos, a_key, sig_lo, k_min, pst)
            if na == 0 or not k_min < lim_now:
                continue
            # 2. exact check of the active accounts (Aave's h < 1), all against the same prices.
            nl = 0
            new_min = np.inf
            j = na - 1
            while j >= 0:
                if parking and not bit_get(vis, j):
                    j = bit_prev(vis, j)  # the next entry below that is not parked
                    if j < 0:
                        break
                if not a_key[j] < (lim_g[a_g[j]] if a_g[j] >= 0 else lim_now):
                    if a_key[j] < new_min:
                        new_min = a_key[j]
                    j -= 1
                    continue
                if a_unprof[j] and sig[a_idx[j]] < sig_lo:
                    park(pk, vis, pst, a_idx[j], j, sig[a_idx[j]])
                    j -= 1
                    continue
                di = a_d[j]
                num = 0.0
                for a in range(A):
                    num += a_c[j, a] * q[a]
                h = num / di
                if not h < 1.0:
                    if a_key[j] < new_min:
                        new_min = a_key[j]
                    j -= 1
                    continue
                i = a_idx[j]
                cf = 1.0 if h <= full_hf else close_factor
                r_full = cf * di
                best = -1
                best_profit = -np.inf
                best_seize = 0.0
                best_repay = 0.0
                best_fee = 0.0
                for a in range(A):
                    ca = a_c[j, a]
                    if ca <= 0.0:
                        continue
                    opb = 1.0 + bonus[a]
                    repay = r_full
                    seize = repay * opb / po[a]
                    if seize >= ca:
                        seize = ca
                        repay = ca * po[a] / opb
                    fee_units = 0.0
                    if protocol_fee > 0.0:
                        fee_units = (seize - seize / opb) * protocol_fee
                    got = seize - fee_units
                    value = got * p[a]
                    proceeds = value * (1.0 - sale_slippage(value, k, depth[a], kod[a], sqrt_model, floor))
                    profit = proceeds - repay - gas
                    if profit > best_profit:
                        best_profit = profit
                        best = a
                        best_seize = seize
                        best_repay = repay
                        best_fee = fee_units
                if best < 0:
                    # Debt with no collateral left at all: written off (Aave v3.3 deficit).
                    l_idx[nl] = i
                    l_asset[nl] = -1
                    l_repay[nl] = 0.0
                    l_bad[nl] = di
                    l_sold[nl] = 0.0
                    l_fee[nl] = 0.0
                    nl += 1
                    if track:
                        fin_d[m, i] = 0.0
                    na -= 1
                    a_idx[j] = a_idx[na]
                    a_c[j, :] = a_c[na, :]
                    a_d[j] = a_d[na]
                    a_unprof[j] = a_unprof[na]
                    a_key[j] = a_key[na]
                    a_g[j] = a_g[na]
                    if parking:
                        bit_move(vis, na, j)
                        pos[a_idx[j]] = j
                    j -= 1
                    continue
                if rational and not best_profit > 0.0:
                    if not a_unprof[j]:
                        a_unprof[j] = True
                        n_unprof += 1.0
                    if a_key[j] < new_min:
                        new_min = a_key[j]
                    j -= 1
                    continue
                a = best
                got = best_seize - best_fee
                if best_seize >= a_c[j, a]:
                    a_c[j, a] = 0.0
                else:
                    a_c[j, a] = a_c[j, a] - best_seize
                nd = di - best_repay
                got_u[a] += got
                fee_u[a] += best_fee
                l_idx[nl] = i
                l_asset[nl] = a
                l_repay[nl] = best_repay
                l_bad[nl] = 0.0
                l_sold[nl] = got * p[a]
                l_fee[nl] = best_fee * p[a]
                left = 0.0
                for b in range(A):
                    left += a_c[j, b]
                closed = False
                if nd <= 0.0:
                    nd = 0.0
                    closed = True
                elif left == 0.0:
                    l_bad[nl] = nd  # all collateral gone, debt remains: written off
                    nd = 0.0
                    closed = True
                nl += 1
                a_d[j] = nd
                if track:
                    fin_d[m, i] = nd
                    for b in range(A):
                        fin_c[m, i, b] = a_c[j, b]
                if closed:
                    na -= 1
                    a_idx[j] = a_idx[na]
                    a_c[j, :] = a_c[na, :]
                    a_d[j] = a_d[na]
                    a_unprof[j] = a_unprof[na]
                    a_key[j] = a_key[na]
                    a_g[j] = a_g[na]
                    if parking:
                        bit_move(vis, na, j)
                        pos[a_idx[j]] = j
                else:
                    kk = 0.0
                    for b in range(A):
                        kk += a_c[j, b] * (LT[b] * ref[b])
                    a_key[j] = kk / nd
                    a_g[j] = -1  # its mix of assets changed: the bucket's bound no longer applies
                    if a_key[j] < new_min:
                        new_min = a_key[j]
                j -= 1
            k_min = new_min
            if nl == 0:
                continue
            # 3. sums in account order; each asset's sales move its own price for the next step.
            perm = np.argsort(l_idx[:nl], kind="mergesort")
            for r_ in range(nl):
                x = perm[r_]
                bad += l_bad[x]
                a = l_asset[x]
                if a >= 0:
                    nliq += 1.0
                    vol += l_repay[x]
                    pen += bonus[a] * l_repay[x]
                    fees += l_fee[x]
                    sold[a] += l_sold[x]
            for a in range(A):
                sold_total += sold[a]
                J[a] = next_impact(J[a], sold[a], k, depth[a], kod[a], sqrt_model, floor)
        # Horizon: open accounts whose collateral at the market price is below their debt.
        pT = np.empty(A)
        rho_T = np.inf
        for a in range(A):
            pT[a] = S[a, m, T] * J[a]
            r = pT[a] / ref[a]
            if r < rho_T:
                rho_T = r
        if ri < K:
            if T > 0:
                ri = record_until(rec, ri, T, ser, m, p_hist[0, T - 1], vol, bad)
            ri = record_until(rec, ri, T + 1, ser, m, pT[0], vol, bad)
        # Collected then summed in account order (independent of the screening order).
        nu = 0
        for j in range(na):
            v = 0.0
            for a in range(A):
                v += a_c[j, a] * pT[a]
            if v < a_d[j]:
                l_idx[nu] = a_idx[j]
                l_bad[nu] = a_d[j] - v
                nu += 1
        # Untouched accounts: c * p < d implies K * min_a(p_a / ref_a) < 1 (LT <= 1).
        lim_T = (1.0 + _TOL) / rho_T
        for g in range(G):
            r_i = ptr[g]
            while r_i < g_start[g + 1] and keys[r_i] < lim_T:
                i = order[r_i]
                v = 0.0
                for a in range(A):
                    v += c0[i, a] * pT[a]
                if v < d0[i]:
                    l_idx[nu] = i
                    l_bad[nu] = d0[i] - v
                    nu += 1
                r_i += 1
        unreal = 0.0
        perm = np.argsort(l_idx[:nu], kind="mergesort")
        for r_ in range(nu):
            unreal += l_bad[perm[r_]]
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
        out[m, 12] = pT[0]
        if track:
            for a in range(A):
                units[m, a, 0] = got_u[a]
                units[m, a, 1] = fee_u[a]


def synthetic_book(
    params: Params,
    n_accounts: int,
    prices0: np.ndarray,
    rng: np.random.Generator,
    *,
    debt_median: float = 10_000.0,
    debt_sigma: float = 1.0,
) -> Book:
    """A book for benchmarks and tests: each account holds a random mix of the assets (some
    hold one only) and starts with a health factor ``1.03 + 0.57 * lognormal(0, 0.7)`` (the
    reference workload's spread), debt log-normal around ``debt_median`` USD."""
    A = params.n_assets
    n = int(n_accounts)
    lt = np.asarray(params.liquidation_threshold)
    w = rng.dirichlet(np.ones(A), n) * (rng.random((n, A)) < 0.8)
    w[w.sum(axis=1) == 0, 0] = 1.0
    w /= w.sum(axis=1, keepdims=True)
    debt = debt_median * np.exp(debt_sigma * rng.standard_normal(n))
    hf = 1.03 + 0.57 * np.exp(0.7 * rng.standard_normal(n))
    # sum_a c_a p_a LT_a = hf * d, split across assets by the weights w.
    c = w * (hf * debt)[:, None] / (np.asarray(prices0)[None, :] * lt[None, :])
    return Book(collateral=c, debt=debt)


MECHANISM = Mechanism(
    name="cross",
    params_cls=Params,
    kernel=_kernel,
    prepare=_prepare,
    detail_arrays=_detail_arrays,
    detail_view=_detail_view,
    check=_check,
)
