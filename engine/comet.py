"""Compound v3 (Comet) accounts holding several collateral assets: absorb, then the protocol's
storefront of each asset (margin-engine.md sections 2.2 and 2.8).

Account i holds ``c[i, a]`` units of each collateral asset ``a`` against one USD debt ``d[i]``.
Every asset has its own price path ``S[a]``, oracle, impact factor ``J_a`` and depth, and its own
factors. The arithmetic follows compound-finance/comet ``contracts/Comet.sol``:

- ``isLiquidatable``: the account's liquidity ``sum_a c_a * o_a * liquidateCollateralFactor_a - d``
  is negative, i.e. ``sum_a c_a * o_a * LCF_a < d`` (an account can be liquidatable only by the
  sum, with every asset alone covering less than its share);
- ``absorbInternal``: the protocol takes every asset of the account. Each asset's units move to
  ``userCollateral[address(this)]``, the debt is cancelled and the account is credited
  ``deltaValue = sum_a c_a * o_a * liquidationFactor_a``; the new balance is floored at 0, so the
  borrower keeps ``max(credit - d, 0)`` and the protocol bears the shortfall
  ``max(d - credit, 0)``, taken from the reserves R and, beyond them, lost by suppliers;
- ``buyCollateral`` / ``quoteCollateral``: each asset is sold at
  ``o_a * (1 - storeFrontPriceFactor * (1 - liquidationFactor_a))`` while ``getReserves() <
  targetReserves``; base paid in goes to reserves.

The protocol's books per path are those of engine.compound, kept per asset where they are
units: inventory ``inv_a`` at cost ``basis_a = sum c_a * o_a * LF_a`` over the absorbs, and one R
and one ``lost`` for the market. Comet's ``getReserves()`` is ``R - sum_a basis_a - lost``.

A step (margin-engine.md section 4): market prices, oracles and (dynamic) liquidate CFs of every
asset; every liquidatable account absorbed against the same oracle prices; the step's
shortfall from R; then the storefront, asset by asset in index order: with the store open
(reserves rechecked before each asset, since a sale changes them) one buyer per asset buys
``compound.best_purchase`` units if ``liquidation_pays`` (or the whole inventory with
``rational = False``), a sale below cost is a loss like a shortfall, and the resale hits that
asset's own price ``J_a`` with its own depth. Gas for a purchase is the step's largest of the
assets' gas (engine.cross does the same): the network is one.

Result fields as engine.compound (``n_unprofitable`` counts each asset with its store open and
inventory to sell in which no purchase paid; ``unrealized_bad_debt`` adds each asset's held
inventory below cost separately); ``final_price`` and the recorded series' price are the
first asset's.

Speed (screening): with weights ``v_a = LCF_a * ref_a / (LCF_0 * ref_0)`` (``ref_a = S[a, 0, 0]``)
an account's ``X_i = sum_a c_ia v_a`` and key ``d_i / X_i`` are fixed until it is absorbed, and
``sum_a c_a q_a = X_i * sum_a u_ia r_a`` with ``q_a = o_a * LCF_a(t)``, ``r_a = q_a / v_a`` and the
account's shares ``u_ia`` of ``X_i``. Accounts are grouped as engine.cross groups them (dominant
asset and its share), so a group has a lower bound ``rho_g`` of ``sum_a u_a r_a`` and an account
can be liquidatable only if its key exceeds ``rho_g``. Within a group the accounts sorted by key
descending form a prefix that grows as the bound makes new lows; screened-in accounts that are
not liquidatable wait in one list, visited only when some group's bound reaches the largest
key waiting in it. With one asset ``v_0 = 1`` exactly, there is one group and the keys are
compound's ``d / c``: the screen, the visiting order and every sum are engine.compound's, so
the results are bit for bit compound's (and, as compound's, the full scan's to rounding: it
visits accounts in another order). With several assets a step's absorbs and the horizon's
open accounts are summed in account order, so the results do not depend on the screen: the
full scan's and a path run alone give them bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from engine import rules
from engine._common import dynamic_threshold, liquidation_pays, next_impact, switch_threshold
from engine._inputs import book_kwargs, params_kwargs, price_array, set_book_arrays
from engine._skeleton import (
    Mechanism,
    dynamic,
    gas,
    market_step,
    market_tuple,
    record_end,
    record_step,
    run,
    write_results,
)
from engine.compound import best_purchase
from engine.errors import EngineError, check_range, coerce_numbers
from engine.market import DynamicThreshold, MarketConditions

_TOL = 1e-9  # relative screening margin, as engine.compound's
_SHARE_BINS = 4  # groups per dominant asset, by that asset's share of the account's X
_PER_ASSET = ("borrow_collateral_factor", "liquidate_collateral_factor", "liquidation_factor")


@dataclass(frozen=True)
class Params:
    """Comet risk parameters of a market with A collateral assets, engine units.

    borrow_collateral_factor, liquidate_collateral_factor, liquidation_factor: one per asset,
        float tuples of length A, each as in engine.compound.Params (``BorrowCFTooLarge``,
        ``LiquidateCFTooLarge``).
    store_front_price_factor: share of ``1 - liquidation_factor_a`` given to buyers; <= 1.
    target_reserves: USD; the storefront sells only while Comet's reserves are below this.
    reserves: USD, the protocol's starting reserves (covers shortfalls first).
    dynamic: optional volatility-adjusted liquidate collateral factors, one EWMA per asset on
        its own oracle (sign -1, base the asset's liquidate_collateral_factor).
    """

    borrow_collateral_factor: tuple[float, ...] = (0.825,)
    liquidate_collateral_factor: tuple[float, ...] = (0.895,)
    liquidation_factor: tuple[float, ...] = (0.95,)
    store_front_price_factor: float = 0.6
    target_reserves: float = 5_000_000.0
    reserves: float = 0.0
    dynamic: DynamicThreshold | None = None

    def __post_init__(self) -> None:
        coerce_numbers(self)
        lengths = [len(getattr(self, name)) for name in _PER_ASSET]
        if lengths[0] < 1 or len(set(lengths)) != 1:
            raise EngineError(
                "borrow_collateral_factor, liquidate_collateral_factor and liquidation_factor must be "
                f"non-empty and of one length (one per asset); got lengths {lengths}"
            )
        for a in range(lengths[0]):
            bcf = self.borrow_collateral_factor[a]
            lcf = self.liquidate_collateral_factor[a]
            check_range(f"borrow_collateral_factor[{a}]", bcf, 0.0, 1.0)
            check_range(f"liquidate_collateral_factor[{a}]", lcf, 0.0, 1.0, lo_open=True)
            check_range(f"liquidation_factor[{a}]", self.liquidation_factor[a], 0.0, 1.0, lo_open=True)
            rules.raise_first(
                rules.compound_v3_asset(
                    borrow_collateral_factor=bcf, liquidate_collateral_factor=lcf, symbol=f"asset {a}"
                )
            )
        check_range("store_front_price_factor", self.store_front_price_factor, 0.0, 1.0)
        check_range("target_reserves", self.target_reserves, 0.0, None)
        check_range("reserves", self.reserves, 0.0, None)
        if not math.isfinite(self.target_reserves) or not math.isfinite(self.reserves):
            raise EngineError(
                f"target_reserves and reserves must be finite; got {self.target_reserves!r}, {self.reserves!r}"
            )
        rules.raise_first(rules.compound_v3_market(store_front_price_factor=self.store_front_price_factor))
        if self.dynamic is not None and not isinstance(self.dynamic, DynamicThreshold):
            raise EngineError(f"dynamic must be a DynamicThreshold or None; got {self.dynamic!r}")

    @property
    def n_assets(self) -> int:
        return len(self.liquidate_collateral_factor)

    @property
    def store_front_discount(self) -> tuple[float, ...]:
        """Buyers' discount off each asset's oracle price, ``store_front_price_factor * (1 - LF_a)``
        (the same float expression as engine.compound.Params.store_front_discount)."""
        return tuple(self.store_front_price_factor * (1.0 - lf) for lf in self.liquidation_factor)


@dataclass(frozen=True)
class Book:
    """Accounts: ``collateral`` float64[N, A] (units of each asset, >= 0) and ``debt`` float64[N]
    (USD, >= 0)."""

    collateral: np.ndarray
    debt: np.ndarray

    def __post_init__(self) -> None:
        set_book_arrays(self, {"collateral": 2, "debt": 1})

    def __len__(self) -> int:
        return int(self.debt.shape[0])


def params_from_dict(d: dict) -> Params:
    """Params from a plain dict (JSON); ``dynamic`` may be a dict of DynamicThreshold fields."""
    return Params(**params_kwargs(Params, d, "compound-v3-accounts"))


def book_from_arrays(d: dict[str, np.ndarray]) -> Book:
    """Book from arrays ``collateral`` (N, A) units and ``debt`` (N,) USD."""
    return Book(**book_kwargs(d, ("collateral", "debt"), "compound-v3-accounts"))


def borrowing_power(params: Params, book: Book, prices0: np.ndarray) -> float:
    """Debt the book's collateral supports at prices ``prices0`` (float64[A]) under each asset's
    borrow collateral factor, ``sum_i sum_a c_ia * p_a * borrowCF_a``, USD."""
    w = np.asarray(prices0, dtype=np.float64) * np.asarray(params.borrow_collateral_factor)
    return float(np.sum(book.collateral * w[None, :]))


def _check(params: Params, book: Book, prices: np.ndarray) -> np.ndarray:
    s = price_array(prices)
    A = params.n_assets
    if s.ndim != 3 or s.shape[0] != A or s.shape[2] < 1:
        raise EngineError(
            f"prices must be a 3-d array (A={A} assets as in params, M paths, T+1 steps); got shape {s.shape}"
        )
    if s.shape[1] == 0:
        raise EngineError("prices has no paths (M = 0): give at least one price path")
    if book.collateral.shape[1] != A:
        raise EngineError(
            f"book.collateral must have one column per asset (A={A} as in params); got {book.collateral.shape[1]}"
        )
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise EngineError("prices must be finite and > 0 everywhere")
    return s


def _screening(lcf: np.ndarray, c: np.ndarray, d: np.ndarray, ref: np.ndarray) -> tuple:
    """Accounts with debt in groups (dominant asset, its share of ``X``), each sorted by key
    ``d / X`` descending, ``X = sum_a c_a v_a``, ``v_a = LCF_a ref_a / (LCF_0 ref_0)``.

    Returns ``v`` float64[A]; ``order`` int64[n] and ``keys`` float64[n] (sorted positions);
    ``grp`` int64[n], the group of each sorted position; ``g_start`` int64[G+1] (group g is
    ``order[g_start[g]:g_start[g+1]]``); ``g_dom`` int64[G]; ``g_lo``, ``g_hi`` float64[G], the
    smallest and largest share of the dominant asset in the group. With one asset ``v = [1.0]``
    and the order is engine._inputs.screening_order's, bit for bit.
    """
    A = c.shape[1]
    w = lcf * ref
    v = w / w[0]
    part = c * v[None, :]
    X = part.sum(axis=1)
    has = d > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        key = np.where(has, d / X, -np.inf)
        share = np.where(X[:, None] > 0, part / X[:, None], 1.0 / A)
    dom = np.argmax(share, axis=1)
    top = share[np.arange(len(d)), dom]
    nbin = 1 if A == 1 else _SHARE_BINS
    lo_share = 1.0 / A
    b = np.minimum(((top - lo_share) / max(1.0 - lo_share, 1e-300) * nbin).astype(np.int64), nbin - 1)
    bucket = dom * nbin + np.maximum(b, 0)
    G = A * nbin
    idx = np.flatnonzero(has)
    # lexsort is stable: ties keep the account order, as screening_order's stable argsort.
    order = idx[np.lexsort((-key[idx], bucket[idx]))].astype(np.int64)
    grp = bucket[order].astype(np.int64)
    g_start = np.concatenate([[0], np.cumsum(np.bincount(grp, minlength=G))]).astype(np.int64)
    g_dom = (np.arange(G) // nbin).astype(np.int64)
    g_lo, g_hi = np.ones(G), np.zeros(G)
    for g in range(G):
        seg = order[g_start[g] : g_start[g + 1]]
        if seg.size:
            g_lo[g], g_hi[g] = top[seg].min(), top[seg].max()
    return v, order, np.ascontiguousarray(key[order]), grp, g_start, g_dom, g_lo, g_hi


def _param_row(params: Params) -> tuple:
    """The kernel's scalars of one parameter set: target reserves, reserves, then the
    volatility-adjusted factor's k_vol, horizon, interval, lambda, floor and cap."""
    dyn = params.dynamic or DynamicThreshold()
    return (float(params.target_reserves), float(params.reserves)) + dyn.kernel_args()


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
        raise EngineError(f"switch params must have one factor per asset (A={A}); got {after.n_assets}")
    kod = liq.k / depth
    ref = np.ascontiguousarray(s[:, 0, 0])
    lcf0 = np.asarray(params.liquidate_collateral_factor, dtype=np.float64)
    # The screen is exact for any factors in force (only the weights v use the first set's).
    v, order, keys, grp, g_start, g_dom, g_lo, g_hi = _screening(lcf0, book.collateral, book.debt, ref)
    sets = (params, after)
    lcf = np.array([x.liquidate_collateral_factor for x in sets], dtype=np.float64)
    lf = np.array([x.liquidation_factor for x in sets], dtype=np.float64)
    disc = np.array([x.store_front_discount for x in sets], dtype=np.float64)
    data = (
        book.collateral,
        book.debt,
        v,
        order,
        keys,
        grp,
        g_start,
        g_dom,
        g_lo,
        g_hi,
        lcf,
        lf,
        disc,
        depth,
        kod,
    )
    return data, (_param_row(params), _param_row(after)), market_tuple(market)


UNIT_FIELDS = ("units_with_borrowers", "units_to_buyers", "units_with_protocol", "basis_final")
LEDGER_FIELDS = ("reserves_final", "comet_reserves_final")


def _detail_arrays(book: Book, s: np.ndarray, track: bool) -> tuple:
    m, n, a = (s.shape[1], len(book), s.shape[0]) if track else (0, 0, 0)
    return (
        np.zeros((m, n), np.bool_),
        np.zeros((m, a, len(UNIT_FIELDS) if track else 0)),
        np.zeros((m, len(LEDGER_FIELDS) if track else 0)),
    )


def _detail_view(det: tuple) -> dict:
    absorbed, units, ledger = det
    return (
        {"absorbed": absorbed}
        | {name: units[:, :, j] for j, name in enumerate(UNIT_FIELDS)}
        | {name: ledger[:, j] for j, name in enumerate(LEDGER_FIELDS)}
    )


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
    switch: optional ``(k, params_after)`` (as many assets): ``params`` on steps 0..k-1,
        ``params_after`` from step k on, book, paths and state carried over. ``k >= T`` never
        switches.
    full_scan: check every open account every step instead of screening (the tests'
        reference; the same results, bit for bit with several assets, to rounding with one
        as engine.compound's).

    Returns
    -------
    float64[M, len(RESULT_FIELDS)] in the order of ``engine._common.RESULT_FIELDS``; rows
    depend only on their own path (``prices[:, a:b]`` alone gives rows ``a:b`` bit for bit).
    With one asset, ``compound.simulate`` on ``prices[0]`` bit for bit. With ``record_steps``
    (optional int64[K], sorted steps in 0..T): ``(per_path, series)``, float64[M, K] arrays by
    ``engine._common.SERIES_FIELDS`` (the first asset's market price).
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
    """``simulate`` plus where the collateral went: ``per_path``; ``absorbed`` bool[M, N]
    (account absorbed by the horizon); float64[M, A] per name in UNIT_FIELDS: units of each
    asset still with open accounts, bought by storefront buyers, held by the protocol, and the
    held units' cost basis (USD); float64[M] per name in LEDGER_FIELDS: R and Comet's
    ``getReserves()`` at the horizon (USD); ``series`` with ``record_steps``. Memory M * N bytes:
    small books only."""
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


@njit(cache=True, parallel=True)
def _kernel(S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser):
    """The skeleton's kernel (engine._skeleton): paths in parallel; ``S`` float64[A, M, T+1]."""
    M = S.shape[1]
    for m in prange(M):
        _path(m, S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser)


@njit(cache=True, inline="always")
def _liquidatable(c, d, q):
    """Comet ``isLiquidatable``: ``sum_a c_a * q_a < d``, ``q_a = o_a * liquidateCF_a``."""
    x = c[0] * q[0]
    for a in range(1, c.shape[0]):
        x += c[a] * q[a]
    return x < d


@njit(cache=True, inline="always")
def _absorb(c, d, o, LF, inv, basis):
    """Comet ``absorbInternal`` of one account: every asset's units to the protocol's inventory
    at basis ``c_a * o_a * LF_a``. Returns the shortfall ``max(d - credit, 0)`` and the penalty
    ``max(sum_a c_a o_a - d - max(credit - d, 0), 0)``, ``credit = sum_a c_a o_a LF_a``."""
    val = c[0] * o[0]
    credit = c[0] * o[0] * LF[0]
    inv[0] += c[0]
    basis[0] += c[0] * o[0] * LF[0]
    for a in range(1, c.shape[0]):
        val += c[a] * o[a]
        credit += c[a] * o[a] * LF[a]
        inv[a] += c[a]
        basis[a] += c[a] * o[a] * LF[a]
    short = d - credit if d > credit else 0.0
    kept = credit - d if credit > d else 0.0
    x = val - d - kept
    return short, (x if x > 0.0 else 0.0)


@njit(cache=True, inline="always")
def _bounds(ratio, g_dom, g_lo, g_hi, thr):
    """Each group's screening threshold: ``(1 - tol)`` times the least ``sum_a u_a r_a`` over
    the group's shares (reached at its smallest or largest dominant share)."""
    A = ratio.shape[0]
    for g in range(g_dom.shape[0]):
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
        thr[g] = bound * (1.0 - _TOL)


@njit(cache=True)
def _path(m, S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser):
    """Path ``m`` of the kernel: compiled once, the parallel loop only calls it."""
    c0, d0, v, order, keys, grp, g_start, g_dom, g_lo, g_hi, lcf_sets, lf_sets, disc_sets, depth, kod = data
    absorbed, units, ledger = det
    k, sqrt_model, floor, rational = mk[3], mk[6], mk[7], mk[8]
    A = S.shape[0]
    T = S.shape[2] - 1
    n_sorted = order.shape[0]
    G = g_dom.shape[0]
    # The parameter set in force: row 0 of pv and the per-asset sets, row 1 from step ksw.
    target = pv[0, 0]
    k_vol, horizon, upd, lam, dfloor, dcap = dynamic(pv, 0, 2)
    LCF, LF, disc = lcf_sets[0], lf_sets[0], disc_sets[0]
    # Starting amounts (reserves) are those of the set in force at step 0.
    R = pv[1 if ksw == 0 else 0, 1]
    p_hist = np.empty((A, T + 1))
    ostate = np.zeros((A, 2))
    dstate = np.zeros((A, 3))
    for a in range(A):
        ostate[a, 1] = -1.0
        dstate[a, 2] = LCF[a]
    J = np.ones(A)
    peak = np.zeros(A)
    p = np.empty(A)
    po = np.empty(A)
    q = np.empty(A)
    ratio = np.empty(A)
    thr = np.empty(G)
    inv = np.zeros(A)  # absorbed units held by the protocol
    basis = np.zeros(A)  # their cost: value credited at absorb, USD
    sold_units = np.zeros(A)
    a_pos = np.empty(n_sorted, np.int64)  # screened in, not liquidatable (sorted positions)
    amax = np.full(G, -np.inf)  # per group, the largest key waiting
    newmax = np.empty(G)
    ptr = g_start[:G].copy()  # per group, the next untouched account
    l_idx = np.empty(n_sorted, np.int64)  # this step's absorbed accounts
    na = 0
    if full_scan:
        # Reference mode for tests: every open account is checked every step.
        for r in range(n_sorted):
            a_pos[r] = r
        na = n_sorted
        for g in range(G):
            ptr[g] = g_start[g + 1]
            amax[g] = np.inf
    lost = 0.0
    bad = 0.0
    used = 0.0
    nliq = 0.0
    vol = 0.0
    pen = 0.0
    fees = 0.0
    sold_usd = 0.0
    n_unprof = 0.0
    p0_hist = p_hist[0]  # the first asset's prices: the recorded series' price
    ri = 0
    n_rec = rec.shape[0]  # recorded steps (record_step)
    for t in range(T):
        if ri < n_rec and rec[ri] < t:
            ri = record_step(rec, ri, t, ser, m, p0_hist, vol, bad)
        if t == ksw:
            # The keys do not involve the factors in force: the screen stays exact. Reserves,
            # inventory and basis carry over.
            kv_old = k_vol
            target = pv[1, 0]
            k_vol, horizon, upd, lam, dfloor, dcap = dynamic(pv, 1, 2)
            for a in range(A):
                switch_threshold(dstate[a], lcf_sets[0, a], lcf_sets[1, a], kv_old, dfloor, dcap)
            LCF, LF, disc = lcf_sets[1], lf_sets[1], disc_sets[1]
        # 1. market prices, oracles and liquidate CFs of every asset (margin-engine.md section 4).
        gas_t = 0.0
        for a in range(A):
            p[a], peak[a], po[a] = market_step(S[a], m, t, J[a], peak[a], p_hist[a], ostate[a], mk)
            lcf = dynamic_threshold(dstate[a], po[a], t, LCF[a], -1.0, k_vol, horizon, upd, lam, dfloor, dcap)
            q[a] = po[a] * lcf
            ratio[a] = q[a] / v[a]
            g_a = gas(mk, p[a], peak[a])
            if g_a > gas_t:
                gas_t = g_a
        _bounds(ratio, g_dom, g_lo, g_hi, thr)
        short = 0.0
        nl = 0
        # 2. absorb every liquidatable account against the same oracle prices: waiting accounts
        #    first, then the untouched ones the screen now reaches (engine.compound's order).
        scan = False
        for g in range(G):
            if amax[g] >= thr[g]:
                scan = True
        if scan:
            for g in range(G):
                newmax[g] = -np.inf
            j = 0
            while j < na:
                r = a_pos[j]
                i = order[r]
                if _liquidatable(c0[i], d0[i], q):
                    l_idx[nl] = i
                    nl += 1
                    na -= 1
                    a_pos[j] = a_pos[na]
                else:
                    if keys[r] > newmax[grp[r]]:
                        newmax[grp[r]] = keys[r]
                    j += 1
            for g in range(G):
                amax[g] = np.inf if full_scan else newmax[g]
        for g in range(G):
            end = g_start[g + 1]
            while ptr[g] < end and keys[ptr[g]] >= thr[g]:
                r = ptr[g]
                i = order[r]
                if _liquidatable(c0[i], d0[i], q):
                    l_idx[nl] = i
                    nl += 1
                else:
                    a_pos[na] = r
                    na += 1
                    if keys[r] > amax[g]:
                        amax[g] = keys[r]
                ptr[g] = r + 1
        # The step's absorbs (Comet.absorbInternal), summed in visiting order with one asset
        # (engine.compound's) and in account order with several (the screen's order depends
        # on the reference prices, so rows would depend on other paths).
        if A > 1:
            l_idx[:nl].sort()
        for x in range(nl):
            i = l_idx[x]
            s_i, pen_i = _absorb(c0[i], d0[i], po, LF, inv, basis)
            short += s_i
            nliq += 1.0
            vol += d0[i]
            pen += pen_i
            if track:
                absorbed[m, i] = True
        # 3. shortfalls are taken from reserves; what they cannot cover is lost.
        if short > 0.0:
            bad += short
            cover = min(short, max(R, 0.0))
            R -= cover
            used += cover
            lost += short - cover
        # 4. the storefront of each asset (Comet.buyCollateral), open while getReserves() <
        #    targetReserves; each sale moves its own asset's price for the next step.
        for a in range(A):
            sold = 0.0
            if inv[a] > 0.0 and R - _total(basis) - lost < target:
                unit_cost = po[a] * (1.0 - disc[a])
                if rational:
                    qty = best_purchase(
                        p[a], unit_cost, inv[a], gas_t, k, depth[a], kod[a], sqrt_model, floor
                    )
                    if qty > 0.0 and not liquidation_pays(
                        qty, qty * unit_cost, p[a], gas_t, k, depth[a], kod[a], sqrt_model, floor
                    ):
                        qty = 0.0
                else:
                    qty = inv[a]
                if qty > 0.0:
                    if qty >= inv[a]:
                        qty = inv[a]
                        cost = basis[a]
                    else:
                        cost = basis[a] * (qty / inv[a])
                    gain = qty * unit_cost - cost
                    inv[a] -= qty
                    basis[a] -= cost
                    if inv[a] <= 0.0:
                        inv[a] = 0.0
                        basis[a] = 0.0
                    if gain >= 0.0:
                        fees += gain
                        R += gain
                    else:
                        loss = -gain
                        bad += loss
                        cover = min(loss, max(R, 0.0))
                        R -= cover
                        used += cover
                        lost += loss - cover
                    sold = qty * p[a]
                    sold_units[a] += qty
                else:
                    n_unprof += 1.0
            if sold > 0.0:
                sold_usd += sold
                J[a] = next_impact(J[a], sold, k, depth[a], kod[a], sqrt_model, floor)
    pT = np.empty(A)
    for a in range(A):
        pT[a] = S[a, m, T] * J[a]
        ratio[a] = pT[a] / v[a]
    ri = record_end(rec, ri, T, ser, m, p0_hist, pT[0], vol, bad)
    unreal = _unrealized(
        c0, d0, order, keys, a_pos, na, ptr, g_start, g_dom, g_lo, g_hi, ratio, thr, pT, l_idx
    )
    for a in range(A):
        if basis[a] > inv[a] * pT[a]:
            unreal += basis[a] - inv[a] * pT[a]
    insolvent = 1.0 if lost > 0.0 else 0.0
    write_results(
        out, m, bad, unreal, nliq, vol, sold_usd, pen, fees, 0.0, used, lost, n_unprof, insolvent, pT[0]
    )
    if track:
        for i in range(c0.shape[0]):
            if not absorbed[m, i]:
                for a in range(A):
                    units[m, a, 0] += c0[i, a]
        for a in range(A):
            units[m, a, 1] = sold_units[a]
            units[m, a, 2] = inv[a]
            units[m, a, 3] = basis[a]
        ledger[m, 0] = R
        ledger[m, 1] = R - _total(basis) - lost


@njit(cache=True, inline="always")
def _total(x):
    """``sum_a x_a`` from the first term on (one asset: ``x_0`` itself, bit for bit)."""
    s = x[0]
    for a in range(1, x.shape[0]):
        s += x[a]
    return s


@njit(cache=True)
def _unrealized(c0, d0, order, keys, a_pos, na, ptr, g_start, g_dom, g_lo, g_hi, ratio, thr, pT, l_idx):
    """Open accounts' ``max(d - sum_a c_a pT_a, 0)`` at the horizon: the waiting list, then each
    group's untouched accounts the screen at ``pT`` (factor 1) reaches; summed in that order
    (compound's) with one asset, in account order with several. ``l_idx``: scratch, int64[n]."""
    nu = 0
    for j in range(na):
        i = order[a_pos[j]]
        if _value(c0[i], pT) < d0[i]:
            l_idx[nu] = i
            nu += 1
    _bounds(ratio, g_dom, g_lo, g_hi, thr)
    for g in range(g_dom.shape[0]):
        r = ptr[g]
        while r < g_start[g + 1] and keys[r] >= thr[g]:
            i = order[r]
            if _value(c0[i], pT) < d0[i]:
                l_idx[nu] = i
                nu += 1
            r += 1
    if pT.shape[0] > 1:
        l_idx[:nu].sort()
    unreal = 0.0
    for x in range(nu):
        i = l_idx[x]
        unreal += d0[i] - _value(c0[i], pT)
    return unreal


@njit(cache=True, inline="always")
def _value(c, p):
    x = c[0] * p[0]
    for a in range(1, c.shape[0]):
        x += c[a] * p[a]
    return x


MECHANISM = Mechanism(
    name="compound-v3-accounts",
    params_cls=Params,
    kernel=_kernel,
    prepare=_prepare,
    detail_arrays=_detail_arrays,
    detail_view=_detail_view,
    check=_check,
)
