"""Compound v3 (Comet) style liquidations: absorb, then the protocol's collateral storefront.

margin-engine.md section 2.2. The arithmetic follows compound-finance/comet
``contracts/Comet.sol``:

- ``isLiquidatable``: the account's liquidity ``sum(c * o * liquidateCollateralFactor) - d`` is
  negative, i.e. ``c * o * liquidate_collateral_factor < d``;
- ``absorbInternal``: the protocol takes the whole account. The collateral moves to
  ``userCollateral[address(this)]``, the debt is cancelled and the account is credited
  ``deltaValue = c * o * liquidationFactor`` against its (negative) balance; the new balance is
  floored at 0 ("all excess debt absorbed by reserves"), so the borrower keeps
  ``max(c * o * liquidation_factor - d, 0)`` and the protocol bears the shortfall
  ``max(d - c * o * liquidation_factor, 0)``. Absorbing needs no capital and is rewarded off
  chain (``liquidatorPoints``), so every liquidatable account is absorbed at once;
- ``buyCollateral``: reverts ``NotForSale`` unless ``getReserves() < targetReserves``; the price is
  ``quoteCollateral``'s ``o * (1 - storeFrontPriceFactor * (1 - liquidationFactor))`` (the
  discount formula of Comet after the 2022 storefront change); base paid in goes to reserves.

The protocol's books (one set per path):

- ``equity`` R: the reserves of margin-engine.md, starting at ``reserves``. A shortfall is
  taken from R; what R cannot cover is lost by the suppliers (``socialized_loss``).
- the absorbed collateral held by the protocol, ``inventory`` units at a cost ``basis`` equal to
  the value it was credited at, ``c * o * liquidation_factor`` (the shortfall is the loss on top).
- Comet's own ``getReserves()`` = ``R - basis - socialized losses``: it falls by the debt
  cancelled plus the credit (``d + credit``) at each absorb, and grows by the base paid in by
  buyers, exactly as ``totalSupplyBase``/``totalBorrowBase`` move in ``absorbInternal`` and
  ``buyCollateral``; the storefront is open while it is below ``target_reserves``.
- a sale of ``q`` units brings ``q * storefront_price``; against the cost basis of those units
  it is a gain (``protocol_fees``, added to R) or a loss (taken from R like a shortfall).

Buyers (margin-engine.md section 3): once per step one arbitrageur buys from the open storefront
the amount that maximizes its profit when the units are resold at the market price less the
sale's own slippage (closed form for the linear and square-root models, capped at the
inventory), and only if that pays more than gas (``liquidation_pays``); otherwise the
collateral stays with the protocol and the step counts in ``n_unprofitable``. With
``liquidators.rational = False`` the buyer takes the whole inventory whenever the store is open.
The resale hits the market: ``J[t + 1]`` from ``q * p``.

Result fields (engine._common.RESULT_FIELDS), per path, USD unless said:
``bad_debt`` all realized losses (absorb shortfalls plus storefront sales below cost);
``insurance_used`` the part of them R covered; ``socialized_loss`` the rest (borne by
suppliers); ``insolvent`` 1 when a loss exceeded R; ``n_liq`` absorbs; ``liq_volume`` debt
absorbed; ``collateral_sold_usd`` storefront units at the market price;
``penalty`` what borrowers lost beyond their debt, ``max(c * o - d - credit, 0)`` per absorb
(``c * o * (1 - liquidation_factor)`` when there is no shortfall); ``protocol_fees`` gains on
storefront sales; ``keeper_rewards`` 0 (Comet pays none on chain); ``n_unprofitable`` steps
with the store open and inventory to sell in which no purchase paid; ``unrealized_bad_debt``
at the horizon, open accounts' ``max(d - c * p, 0)`` plus the held inventory's
``max(basis - inventory * p, 0)``.

Speed: an account's ``key = d / c`` never changes until it is absorbed (and then it is closed),
so the untouched accounts that can be liquidatable are a prefix of the book sorted by key that
grows as ``o * liquidate_collateral_factor`` makes new lows. The screen uses a relative margin;
accounts screened in but not liquidatable by the exact Comet test wait in a small active list.
Each path step is O(1 + absorbed + active).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from engine import rules
from engine._common import dynamic_threshold, sale_slippage, switch_threshold
from engine._inputs import book_kwargs, params_kwargs, screening_order, set_book_arrays
from engine._skeleton import (
    Mechanism,
    gas,
    impact,
    market_step,
    market_tuple,
    path_state,
    pays,
    record_end,
    record_step,
    run,
    write_results,
)
from engine.errors import EngineError, check_range, coerce_numbers
from engine.market import DynamicThreshold, MarketConditions

_TOL = 1e-9  # relative screening margin, far above the rounding of c * o * factor


@dataclass(frozen=True)
class Params:
    """Comet risk parameters of one collateral asset, engine units (fractions, USD).

    borrow_collateral_factor: new borrowing limit (not used by the liquidation model; Comet
        requires it < liquidate_collateral_factor, ``BorrowCFTooLarge``).
    liquidate_collateral_factor: liquidatable when ``c * o * factor < d``; <= 1
        (``LiquidateCFTooLarge``).
    liquidation_factor: share of the collateral's value credited to the account at absorb.
    store_front_price_factor: share of ``1 - liquidation_factor`` given to buyers as a discount;
        <= 1 (``BadDiscount``).
    target_reserves: USD; the storefront sells only while Comet's reserves are below this.
    reserves: USD, the protocol's starting reserves (covers shortfalls first).
    dynamic: optional volatility-adjusted liquidate collateral factor (margin-engine.md 2.5,
        sign -1, ``base`` = liquidate_collateral_factor).
    """

    borrow_collateral_factor: float = 0.825
    liquidate_collateral_factor: float = 0.895
    liquidation_factor: float = 0.95
    store_front_price_factor: float = 0.6
    target_reserves: float = 5_000_000.0
    reserves: float = 0.0
    dynamic: DynamicThreshold | None = None

    def __post_init__(self) -> None:
        coerce_numbers(self)
        check_range("borrow_collateral_factor", self.borrow_collateral_factor, 0.0, 1.0)
        check_range("liquidate_collateral_factor", self.liquidate_collateral_factor, 0.0, 1.0, lo_open=True)
        check_range("liquidation_factor", self.liquidation_factor, 0.0, 1.0, lo_open=True)
        check_range("store_front_price_factor", self.store_front_price_factor, 0.0, 1.0)
        check_range("target_reserves", self.target_reserves, 0.0, None)
        check_range("reserves", self.reserves, 0.0, None)
        if not math.isfinite(self.target_reserves) or not math.isfinite(self.reserves):
            raise EngineError(
                f"target_reserves and reserves must be finite; got "
                f"{self.target_reserves!r}, {self.reserves!r}"
            )
        rules.raise_first(
            rules.compound_v3_market(store_front_price_factor=self.store_front_price_factor)
            + rules.compound_v3_asset(
                borrow_collateral_factor=self.borrow_collateral_factor,
                liquidate_collateral_factor=self.liquidate_collateral_factor,
            )
        )
        if self.dynamic is not None and not isinstance(self.dynamic, DynamicThreshold):
            raise EngineError(f"dynamic must be a DynamicThreshold or None; got {self.dynamic!r}")

    @property
    def store_front_discount(self) -> float:
        """Buyers' discount off the oracle price, ``store_front_price_factor * (1 - liquidation_factor)``."""
        return self.store_front_price_factor * (1.0 - self.liquidation_factor)


@dataclass(frozen=True)
class Book:
    """Accounts, one row each: ``collateral`` (units, >= 0) and ``debt`` (USD, >= 0), float64[N]."""

    collateral: np.ndarray
    debt: np.ndarray

    def __post_init__(self) -> None:
        set_book_arrays(self, {"collateral": 1, "debt": 1})

    def __len__(self) -> int:
        return int(self.collateral.shape[0])


def params_from_dict(d: dict) -> Params:
    """Params from a plain dict (JSON); ``dynamic`` may be a dict of DynamicThreshold fields."""
    return Params(**params_kwargs(Params, d, "compound-v3"))


def book_from_arrays(d: dict[str, np.ndarray]) -> Book:
    """Book from arrays ``collateral`` (units) and ``debt`` (USD)."""
    return Book(**book_kwargs(d, ("collateral", "debt"), "compound-v3"))


def borrowing_power(params: Params, book: Book, price0: float) -> float:
    """Debt the book's collateral supports at ``price0`` under the borrow collateral factor, USD."""
    return float(np.sum(book.collateral * price0 * params.borrow_collateral_factor))


@njit(cache=True)
def best_purchase(p, unit_cost, max_units, gas, k, depth, k_over_depth, sqrt_model, floor):
    """Units an arbitrageur buys at ``unit_cost`` to resell at ``p`` less its own slippage.

    Maximizes ``V * (a - slippage(V)) - gas`` over the resale value ``V = q * p``, where
    ``a = 1 - unit_cost / p`` is the discount: ``V* = a / (2 k / depth)`` for linear impact,
    ``depth * (a / (1.5 k))**2`` for square-root impact, compared with buying everything
    (``max_units``) because slippage is capped at ``1 - floor``. Returns 0 when no size gives
    a positive discount.
    """
    if max_units <= 0.0 or unit_cost >= p:
        return 0.0
    a = 1.0 - unit_cost / p
    v_all = max_units * p
    if sqrt_model:
        v_star = depth * (a / (1.5 * k)) ** 2 if k > 0.0 else v_all
    else:
        v_star = a / (2.0 * k_over_depth) if k_over_depth > 0.0 else v_all
    if v_star >= v_all:
        return max_units
    gain_star = v_star * (a - sale_slippage(v_star, k, depth, k_over_depth, sqrt_model, floor))
    gain_all = v_all * (a - sale_slippage(v_all, k, depth, k_over_depth, sqrt_model, floor))
    if gain_all >= gain_star:
        return max_units
    return v_star / p


def _param_row(params: Params) -> tuple:
    """The kernel's values of one parameter set, in the order ``_load`` reads them."""
    dyn = params.dynamic or DynamicThreshold()
    return (
        float(params.liquidate_collateral_factor),
        float(params.liquidation_factor),
        float(params.store_front_discount),
        float(params.target_reserves),
        float(params.reserves),
    ) + dyn.kernel_args()


def _prepare(params: Params, after: Params, book: Book, s: np.ndarray, market: MarketConditions) -> tuple:
    order, keys, n_sorted = screening_order(book.collateral, book.debt)
    data = (book.collateral, book.debt, order, keys, n_sorted)
    return data, (_param_row(params), _param_row(after)), market_tuple(market)


LEDGER_FIELDS = (
    "units_with_borrowers",
    "units_to_buyers",
    "units_with_protocol",
    "reserves_final",
    "comet_reserves_final",
    "basis_final",
)


def _detail_arrays(book: Book, s: np.ndarray, track: bool) -> tuple:
    m, n = (s.shape[0], len(book)) if track else (0, 0)
    return np.zeros((m, n), np.bool_), np.zeros((m, len(LEDGER_FIELDS) if track else 0))


def _detail_view(det: tuple) -> dict:
    absorbed, ledger = det
    return {"absorbed": absorbed} | {name: ledger[:, j] for j, name in enumerate(LEDGER_FIELDS)}


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
    switch: optional ``(k, params_after)``: ``params`` on steps 0..k-1, ``params_after`` from
        step k on, the book, paths and state carried over (margin-engine.md section 4;
        docs/engine.md). ``k >= T`` never switches.
    full_scan: check every open account every step instead of screening (the tests' reference;
        same results, slower).

    Returns
    -------
    float64[M, len(RESULT_FIELDS)]: per-path results, columns in the order of
    ``engine._common.RESULT_FIELDS``. Rows depend only on their own path: ``prices[a:b]`` alone
    gives rows ``a:b`` bit for bit. With ``record_steps`` (optional int64[K], sorted steps in
    0..T): ``(per_path, series)``, series a dict of float64[M, K] by
    ``engine._common.SERIES_FIELDS`` (market price, cumulative liquidated volume and realized
    bad debt, USD, at the end of each recorded step); per_path unchanged.
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
    full_scan: bool = False,
    switch: tuple[int, Params] | None = None,
    record_steps: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Like ``simulate`` but also returns where the collateral went (for tests and audits).

    Returns a dict: ``per_path`` float64[M, F]; ``absorbed`` bool[M, N] (account absorbed by the
    horizon); one float64[M] per name in LEDGER_FIELDS: collateral units still with borrowers
    (open accounts), bought by storefront buyers and held by the protocol; R, Comet's
    ``getReserves()`` and the held collateral's cost basis at the horizon (USD); ``series``
    with ``record_steps``. ``full_scan=True`` checks every open account every step instead of
    screening (the reference the tests compare the screen with). Memory is M * N bytes: use on
    small books.
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


@njit(cache=True, parallel=True)
def _kernel(S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser):
    """The skeleton's kernel (engine._skeleton): paths in parallel."""
    M = S.shape[0]
    for m in prange(M):
        _path(m, S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser)


@njit(cache=True)
def _path(m, S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser):
    """Path ``m`` of the kernel: compiled once, the parallel loop only calls it."""
    c0, d0, order, keys, n_sorted = data
    absorbed, ledger = det
    rational = mk[8]
    T = S.shape[1] - 1
    # The parameter set in force: row 0 of pv, row 1 from step ksw (margin-engine.md section 4).
    LCF, LF, discount, target, k_vol, horizon, upd, lam, dfloor, dcap = _load(pv, 0)
    # Starting amounts (reserves) are those of the set in force at step 0.
    reserves0 = pv[1 if ksw == 0 else 0, 4]
    # Accounts screened in but not liquidatable by the exact test (sorted positions).
    a_pos = np.empty(n_sorted, np.int64)
    p_hist, ostate, dstate = path_state(T, LCF)
    J = 1.0
    peak = 0.0
    R = reserves0  # equity reserves: cover shortfalls
    inv = 0.0  # absorbed collateral held by the protocol, units
    basis = 0.0  # its cost: value credited at absorb, USD
    lost = 0.0  # losses beyond R (socialized), USD
    bad = 0.0
    used = 0.0
    nliq = 0.0
    vol = 0.0
    pen = 0.0
    fees = 0.0
    sold_usd = 0.0
    sold_units = 0.0
    n_unprof = 0.0
    ptr = 0
    na = 0
    amax = -np.inf
    if full_scan:
        # Reference mode for tests: every open account is checked every step.
        for r in range(n_sorted):
            a_pos[r] = r
        na = n_sorted
        ptr = n_sorted
        amax = np.inf
    ri = 0  # pointer into rec: next step to record
    n_rec = rec.shape[0]  # recorded steps (record_step)
    for t in range(T):
        if ri < n_rec and rec[ri] < t:
            ri = record_step(rec, ri, t, ser, m, p_hist, vol, bad)
        if t == ksw:
            # Keys d / c do not involve the parameters: the waiting list and the prefix stay
            # exact for the new factor. Reserves, inventory and its basis carry over.
            kv_old, lcf_old = k_vol, LCF
            LCF, LF, discount, target, k_vol, horizon, upd, lam, dfloor, dcap = _load(pv, 1)
            switch_threshold(dstate, lcf_old, LCF, kv_old, dfloor, dcap)
        # 1. market price and oracle (margin-engine.md section 4).
        p, peak, po = market_step(S, m, t, J, peak, p_hist, ostate, mk)
        lcf = dynamic_threshold(dstate, po, t, LCF, -1.0, k_vol, horizon, upd, lam, dfloor, dcap)
        q = po * lcf
        thr = q * (1.0 - _TOL)
        short = 0.0
        # 2. absorb every liquidatable account against the same o (Comet.absorbInternal).
        #    Waiting accounts first, then the untouched ones the screen now reaches.
        if amax >= thr:
            newmax = -np.inf
            j = 0
            while j < na:
                r = a_pos[j]
                i = order[r]
                if c0[i] * q < d0[i]:
                    short += _absorb_cost(c0[i], d0[i], po, LF)
                    nliq += 1.0
                    vol += d0[i]
                    pen += _penalty(c0[i], d0[i], po, LF)
                    inv += c0[i]
                    basis += c0[i] * po * LF
                    if track:
                        absorbed[m, i] = True
                    na -= 1
                    a_pos[j] = a_pos[na]
                else:
                    if keys[r] > newmax:
                        newmax = keys[r]
                    j += 1
            amax = np.inf if full_scan else newmax
        while ptr < n_sorted and keys[ptr] >= thr:
            i = order[ptr]
            if c0[i] * q < d0[i]:
                short += _absorb_cost(c0[i], d0[i], po, LF)
                nliq += 1.0
                vol += d0[i]
                pen += _penalty(c0[i], d0[i], po, LF)
                inv += c0[i]
                basis += c0[i] * po * LF
                if track:
                    absorbed[m, i] = True
            else:
                a_pos[na] = ptr
                na += 1
                if keys[ptr] > amax:
                    amax = keys[ptr]
            ptr += 1
        # 3. shortfalls are taken from reserves; what they cannot cover is lost.
        if short > 0.0:
            bad += short
            cover = min(short, max(R, 0.0))
            R -= cover
            used += cover
            lost += short - cover
        # 4. the storefront (Comet.buyCollateral), open while getReserves() < targetReserves.
        sold = 0.0
        if inv > 0.0 and R - basis - lost < target:
            unit_cost = po * (1.0 - discount)
            g = gas(mk, p, peak)
            if rational:
                qty = best_purchase(p, unit_cost, inv, g, mk[3], mk[4], mk[5], mk[6], mk[7])
                if qty > 0.0 and not pays(mk, qty, qty * unit_cost, p, g):
                    qty = 0.0
            else:
                qty = inv
            if qty > 0.0:
                if qty >= inv:
                    qty = inv
                    cost = basis
                else:
                    cost = basis * (qty / inv)
                gain = qty * unit_cost - cost
                inv -= qty
                basis -= cost
                if inv <= 0.0:
                    inv = 0.0
                    basis = 0.0
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
                sold = qty * p
                sold_units += qty
            else:
                n_unprof += 1.0
        if sold > 0.0:
            sold_usd += sold
            J = impact(mk, J, sold)
    pT = S[m, T] * J
    ri = record_end(rec, ri, T, ser, m, p_hist, pT, vol, bad)
    # Unrealized at the horizon: open accounts under water, and the held inventory's loss.
    unreal = 0.0
    for j in range(na):
        i = order[a_pos[j]]
        if c0[i] * pT < d0[i]:
            unreal += d0[i] - c0[i] * pT
    thr_T = pT * (1.0 - _TOL)
    r = ptr
    while r < n_sorted and keys[r] >= thr_T:
        i = order[r]
        if c0[i] * pT < d0[i]:
            unreal += d0[i] - c0[i] * pT
        r += 1
    if basis > inv * pT:
        unreal += basis - inv * pT
    insolvent = 1.0 if lost > 0.0 else 0.0
    write_results(
        out, m, bad, unreal, nliq, vol, sold_usd, pen, fees, 0.0, used, lost, n_unprof, insolvent, pT
    )
    if track:
        held = 0.0
        for i in range(c0.shape[0]):
            if not absorbed[m, i]:
                held += c0[i]
        ledger[m, 0] = held
        ledger[m, 1] = sold_units
        ledger[m, 2] = inv
        ledger[m, 3] = R
        ledger[m, 4] = R - basis - lost
        ledger[m, 5] = basis


@njit(cache=True, inline="always")
def _load(pv, row):
    """Liquidate CF, liquidation factor, storefront discount, target reserves, then the
    volatility-adjusted threshold's k_vol, horizon, interval, lambda, floor and cap."""
    r = pv[row]
    return r[0], r[1], r[2], r[3], r[5], r[6], int(r[7]), r[8], r[9], r[10]


@njit(cache=True)
def _absorb_cost(c, d, o, LF):
    """Shortfall of one absorb: the debt not covered by the credited ``c * o * LF`` (absorbInternal)."""
    v = c * o * LF
    return d - v if d > v else 0.0


@njit(cache=True)
def _penalty(c, d, o, LF):
    """What the borrower loses beyond its debt, ``max(c * o - d - credit, 0)``.

    ``credit = max(c * o * LF - d, 0)`` is what absorbInternal leaves the account.
    """
    v = c * o * LF
    credit = v - d if v > d else 0.0
    x = c * o - d - credit
    return x if x > 0.0 else 0.0


MECHANISM = Mechanism(
    name="compound-v3",
    params_cls=Params,
    kernel=_kernel,
    prepare=_prepare,
    detail_arrays=_detail_arrays,
    detail_view=_detail_view,
)
