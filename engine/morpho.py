"""Morpho Blue style isolated lending markets (margin-engine.md section 2.7).

One collateral asset against a USD loan per position, in one market of fixed ``lltv``. The
arithmetic follows morpho-org/morpho-blue ``src/Morpho.sol`` and ``src/libraries/ConstantsLib.sol``:

- ``_isHealthy``: ``maxBorrow = collateral * price * lltv`` (``mulDivDown`` then ``wMulDown``);
  healthy while ``maxBorrow >= borrowed``, so liquidatable when ``c * o * lltv < d`` (a position
  exactly at the boundary is healthy);
- ``liquidate``: ``liquidationIncentiveFactor = min(MAX_LIQUIDATION_INCENTIVE_FACTOR,
  WAD / (WAD - LIQUIDATION_CURSOR * (WAD - lltv)))`` with ``MAX_LIQUIDATION_INCENTIVE_FACTOR =
  1.15e18`` and ``LIQUIDATION_CURSOR = 0.3e18``; there is no close factor: the liquidator
  chooses what to repay, ``r``, and seizes ``r * LIF / o`` of collateral. The engine computes
  with unrounded values (the contract rounds in wad and shares);
- bad debt: when ``position.collateral == 0`` after the seizure and borrow shares remain, the
  rest of the debt is removed from ``totalBorrowAssets`` and ``totalSupplyAssets`` at once: the
  market's lenders bear it.

The engine's liquidator (section 3) repays as much as the position allows, the whole debt or
all the collateral at the incentive, ``r = min(d, c * o / LIF)``, when the sale of the seized
collateral pays after slippage and gas (``engine._skeleton.pays``), and nothing otherwise; such
a position stays open and counts once in ``n_unprofitable``. With ``liquidators.rational =
False`` it always acts. Either way a liquidation closes the position: its debt is repaid in
full (the borrower keeps ``c - d * LIF / o``) or its collateral is exhausted and the rest of
the debt is bad debt.

Result fields (engine._common.RESULT_FIELDS), per path, USD unless said: ``bad_debt`` and
``socialized_loss`` the debt written off against the lenders (the same figure: a market has no
reserves, ``insurance_used`` is 0); ``insolvent`` 1 when any was written off; ``n_liq``
liquidations; ``liq_volume`` debt repaid; ``collateral_sold_usd`` seized collateral at the
market price; ``penalty`` ``(LIF - 1) * r``; ``protocol_fees`` and ``keeper_rewards`` 0;
``unrealized_bad_debt`` open positions' ``max(d - c * p_T, 0)`` at the horizon. The governed
vault's share of the written-off debt is ``vault_loss``.

Dynamic LLTV (section 2.5, sign -1): the volatility-adjusted threshold moves the health test
only; the incentive is the market's, from the ``lltv`` of the parameter set in force.

Speed: a position's ``key = d / c`` never changes until it is liquidated, and a liquidation
closes it, so the untouched positions that can be liquidatable are a prefix of the book sorted
by key (descending) that grows as ``o * lltv`` makes new lows (as in engine.compound). Positions
screened in but healthy, or liquidatable but unprofitable, wait in a small active list checked
while its largest key reaches the screen. The decision is always the exact contract test, and a
step's liquidations (and the horizon's unrealized bad debt) are summed in position order, so the
results equal a full scan (``full_scan=True``) bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from engine._common import FIELD_INDEX, N_FIELDS, dynamic_threshold, switch_threshold
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

_TOL = 1e-9  # relative screening margin: a position is a candidate when key >= q * (1 - _TOL)

# morpho-org/morpho-blue src/libraries/ConstantsLib.sol, in engine units (not wad).
MAX_LIQUIDATION_INCENTIVE_FACTOR = 1.15
LIQUIDATION_CURSOR = 0.3


def liquidation_incentive_factor(lltv: float) -> float:
    """Morpho.liquidate's ``min(MAX_LIQUIDATION_INCENTIVE_FACTOR, 1 / (1 - LIQUIDATION_CURSOR *
    (1 - lltv)))``: 1.043841... at lltv 0.86, 1.026167... at 0.915, 1.15 (the cap) at 0.5."""
    return min(MAX_LIQUIDATION_INCENTIVE_FACTOR, 1.0 / (1.0 - LIQUIDATION_CURSOR * (1.0 - lltv)))


@dataclass(frozen=True)
class Params:
    """One Morpho Blue market and the governed vault's allocation to it, engine units.

    lltv: liquidation loan-to-value, 0 < lltv < 1 (fixed at the market's creation); healthy
        while ``d <= c * o * lltv``.
    market_supply_usd: the market's total supply (USD, > 0), over which written-off debt is
        shared by the lenders.
    vault_cap_usd: the governed vault's cap in this market (USD, >= 0); its supply is
        ``min(cap, market_supply_usd)``.
    dynamic: optional volatility-adjusted LLTV (margin-engine.md 2.5, sign -1, ``base`` = lltv).
    """

    lltv: float = 0.86
    market_supply_usd: float = 1e8
    vault_cap_usd: float = 1e7
    dynamic: DynamicThreshold | None = None

    def __post_init__(self) -> None:
        coerce_numbers(self)
        check_range("lltv", self.lltv, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("market_supply_usd", self.market_supply_usd, 0.0, None, lo_open=True)
        if not math.isfinite(self.market_supply_usd):
            raise EngineError(
                f"market_supply_usd must be a finite amount of USD > 0; got {self.market_supply_usd!r}"
            )
        check_range("vault_cap_usd", self.vault_cap_usd, 0.0, None)
        if self.dynamic is not None and not isinstance(self.dynamic, DynamicThreshold):
            raise EngineError(f"dynamic must be a DynamicThreshold or None; got {self.dynamic!r}")

    @property
    def liquidation_incentive(self) -> float:
        """LIF of the market, ``min(1.15, 1 / (1 - 0.3 * (1 - lltv)))`` (Morpho.liquidate)."""
        return liquidation_incentive_factor(self.lltv)

    @property
    def vault_share(self) -> float:
        """The vault's share of the market's supply, ``min(cap, supply) / supply``."""
        return min(self.vault_cap_usd, self.market_supply_usd) / self.market_supply_usd


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
    return Params(**params_kwargs(Params, d, "morpho-blue"))


def book_from_arrays(d: dict[str, np.ndarray]) -> Book:
    """Book from arrays ``collateral`` (units) and ``debt`` (USD)."""
    return Book(**book_kwargs(d, ("collateral", "debt"), "morpho-blue"))


def borrowing_power(params: Params, book: Book, price0: float) -> float:
    """Debt the book can carry at ``price0`` before any position is liquidatable: sum(c * p0 * lltv), USD."""
    return float(np.sum(book.collateral * float(price0) * params.lltv))


def vault_loss(params: Params, per_path: np.ndarray) -> np.ndarray:
    """The governed vault's loss per path, USD: its share of the market's supply,
    ``min(cap, supply) / supply``, times the debt written off against the lenders.

    Parameters
    ----------
    params: the market's Params (cap and supply).
    per_path: float64[M, len(RESULT_FIELDS)], ``simulate``'s results.

    Returns
    -------
    float64[M]
    """
    a = np.asarray(per_path, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != N_FIELDS:
        raise EngineError(f"per_path must be simulate's results, shape (M, {N_FIELDS}); got shape {a.shape}")
    return params.vault_share * a[:, FIELD_INDEX["socialized_loss"]]


def _param_row(params: Params) -> tuple:
    """The kernel's values of one parameter set, in the order ``_load`` reads them."""
    dyn = params.dynamic or DynamicThreshold()
    return (float(params.lltv), float(params.liquidation_incentive)) + dyn.kernel_args()


def _prepare(params: Params, after: Params, book: Book, s: np.ndarray, market: MarketConditions) -> tuple:
    order, keys, n_sorted = screening_order(book.collateral, book.debt)
    data = (book.collateral, book.debt, order, keys, n_sorted)
    return data, (_param_row(params), _param_row(after)), market_tuple(market)


def _detail_arrays(book: Book, s: np.ndarray, track: bool) -> tuple:
    m, n = (s.shape[0], len(book)) if track else (0, 0)
    return np.empty((m, n)), np.empty((m, n)), np.zeros(m)


def _detail_view(det: tuple) -> dict:
    fc, fd, units = det
    return {"collateral": fc, "debt": fd, "to_liquidators": units}


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
    full_scan: check every open position every step instead of screening (the tests'
        reference; the same results bit for bit, slower).

    Returns
    -------
    float64[M, len(RESULT_FIELDS)]: per-path results, columns in the order of
    ``engine._common.RESULT_FIELDS``. Rows depend only on their own path: ``prices[a:b]`` alone
    gives rows ``a:b`` bit for bit. With ``record_steps``: ``(per_path, series)``, series a dict
    of float64[M, K] by ``engine._common.SERIES_FIELDS``; per_path unchanged.
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

    Returns a dict: ``per_path`` float64[M, F]; ``collateral`` (units) and ``debt`` (USD)
    float64[M, N] at the horizon; ``to_liquidators`` float64[M], collateral units seized;
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
    """LLTV and LIF, then the volatility-adjusted threshold's k_vol, horizon, interval, lambda,
    floor and cap."""
    r = pv[row]
    return r[0], r[1], r[2], r[3], int(r[4]), r[5], r[6], r[7]


@njit(cache=True, inline="always")
def _liquidation(c, d, o, lif):
    """Repaid debt, seized collateral and debt written off for ``r = min(d, c * o / LIF)``.

    Morpho.liquidate seizes ``r * LIF / o``; when that reaches the whole collateral the
    liquidator repays ``c * o / LIF`` and the rest of the debt is bad debt.
    """
    seize = d * lif / o
    if seize < c:
        return d, seize, 0.0
    repay = c * o / lif
    return repay, c, max(d - repay, 0.0)


@njit(cache=True)
def _position_order(idx, n, perm):
    """``perm[:n]``: the records' order by position index ``idx[:n]`` (indices are distinct)."""
    if n <= 32:
        for r in range(n):
            perm[r] = r
        for r in range(1, n):
            x = perm[r]
            j = r
            while j > 0 and idx[perm[j - 1]] > idx[x]:
                perm[j] = perm[j - 1]
                j -= 1
            perm[j] = x
    else:
        perm[:n] = np.argsort(idx[:n])


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
    fin_c, fin_d, units = det
    rational = mk[8]
    T = S.shape[1] - 1
    # The parameter set in force: row 0 of pv, row 1 from step ksw (margin-engine.md section 4).
    LLTV, lif, k_vol, horizon, upd, lam, dfloor, dcap = _load(pv, 0)
    if track:
        for i in range(c0.shape[0]):
            fin_c[m, i] = c0[i]
            fin_d[m, i] = d0[i]
    # Open positions screened in (ranks in the screening order), and which were counted as
    # liquidatable but unprofitable.
    a_pos = np.empty(n_sorted, np.int64)
    counted = np.zeros(n_sorted, np.bool_)
    # This step's liquidations (position, repaid, seized, written off), summed in position order.
    l_idx = np.empty(n_sorted, np.int64)
    l_val = np.empty((n_sorted, 3))
    perm = np.empty(n_sorted, np.int64)
    p_hist, ostate, dstate = path_state(T, LLTV)
    J = 1.0
    peak = 0.0
    bad = 0.0
    nliq = 0.0
    vol = 0.0
    pen = 0.0
    sold_total = 0.0
    n_unprof = 0.0
    to_liq = 0.0
    ptr = 0
    na = 0
    amax = -np.inf
    if full_scan:
        # Reference mode for tests: every open position is checked every step.
        for r in range(n_sorted):
            a_pos[r] = r
        na = n_sorted
        ptr = n_sorted
        amax = np.inf
    ri = 0  # pointer into rec: next step to record
    for t in range(T):
        ri = record_step(rec, ri, t, ser, m, p_hist, vol, bad)
        if t == ksw:
            # Keys d / c do not involve the parameters: the active list and the prefix stay
            # exact for the new LLTV.
            kv_old, lltv_old = k_vol, LLTV
            LLTV, lif, k_vol, horizon, upd, lam, dfloor, dcap = _load(pv, 1)
            switch_threshold(dstate, lltv_old, LLTV, kv_old, dfloor, dcap)
        # 1. market price and oracle (margin-engine.md section 4).
        p, peak, po = market_step(S, m, t, J, peak, p_hist, ostate, mk)
        lltv = dynamic_threshold(dstate, po, t, LLTV, -1.0, k_vol, horizon, upd, lam, dfloor, dcap)
        thr = po * lltv * (1.0 - _TOL)
        # Untouched positions whose key reaches the screen join the active list.
        while ptr < n_sorted and keys[ptr] >= thr:
            a_pos[na] = ptr
            na += 1
            if keys[ptr] > amax:
                amax = keys[ptr]
            ptr += 1
        if not amax >= thr:
            continue  # nothing can be liquidatable; no sale, J unchanged
        # 2. every active position against the same po and p, from its start-of-step state.
        g = gas(mk, p, peak)
        nl = 0
        newmax = -np.inf
        j = 0
        while j < na:
            r = a_pos[j]
            i = order[r]
            ci = c0[i]
            di = d0[i]
            # Morpho._isHealthy: maxBorrow = collateral * price * lltv >= borrowed.
            if ci * po * lltv < di:
                repay, seize, lost = _liquidation(ci, di, po, lif)
                if not rational or pays(mk, seize, repay, p, g):
                    l_idx[nl] = i
                    l_val[nl, 0] = repay
                    l_val[nl, 1] = seize
                    l_val[nl, 2] = lost
                    nl += 1
                    na -= 1
                    a_pos[j] = a_pos[na]
                    continue
                if not counted[r]:
                    counted[r] = True
                    n_unprof += 1.0
            if keys[r] > newmax:
                newmax = keys[r]
            j += 1
        amax = np.inf if full_scan else newmax
        if nl == 0:
            continue
        # 3. balances and totals, in position order; the sale sets J[t + 1].
        _position_order(l_idx, nl, perm)
        sold = 0.0
        for r in range(nl):
            x = perm[r]
            repay = l_val[x, 0]
            seize = l_val[x, 1]
            nliq += 1.0
            vol += repay
            pen += (lif - 1.0) * repay
            bad += l_val[x, 2]
            sold += seize * p
            to_liq += seize
            if track:
                i = l_idx[x]
                fin_c[m, i] = c0[i] - seize if seize < c0[i] else 0.0
                fin_d[m, i] = 0.0
        sold_total += sold
        J = impact(mk, J, sold)
    pT = S[m, T] * J
    ri = record_end(rec, ri, T, ser, m, p_hist, pT, vol, bad)
    # Unrealized bad debt at the horizon: open positions with c * pT < d, in position order.
    nu = 0
    for j in range(na):
        i = order[a_pos[j]]
        if c0[i] * pT < d0[i]:
            l_idx[nu] = i
            l_val[nu, 0] = d0[i] - c0[i] * pT
            nu += 1
    thr_T = pT * (1.0 - _TOL)
    r = ptr
    while r < n_sorted and keys[r] >= thr_T:
        i = order[r]
        if c0[i] * pT < d0[i]:
            l_idx[nu] = i
            l_val[nu, 0] = d0[i] - c0[i] * pT
            nu += 1
        r += 1
    _position_order(l_idx, nu, perm)
    unreal = 0.0
    for r in range(nu):
        unreal += l_val[perm[r], 0]
    insolvent = 1.0 if bad > 0.0 else 0.0
    write_results(
        out, m, bad, unreal, nliq, vol, sold_total, pen, 0.0, 0.0, 0.0, bad, n_unprof, insolvent, pT
    )
    if track:
        units[m] = to_liq


MECHANISM = Mechanism(
    name="morpho-blue",
    params_cls=Params,
    kernel=_kernel,
    prepare=_prepare,
    detail_arrays=_detail_arrays,
    detail_view=_detail_view,
)
