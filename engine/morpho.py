"""Morpho Blue style isolated lending markets (margin-engine.md section 2.7).

One collateral asset against a USD loan per position, in the Morpho Blue markets of that
collateral a governed (MetaMorpho-style) vault lends to: each market has its fixed ``lltv``, its
total supply and the vault's cap and supply in it, and each position belongs to one market
(``Book.market``). All markets share the collateral's price path and its impact: a cascade of
sales in one market moves the price for all of them. The arithmetic follows morpho-org/morpho-blue ``src/Morpho.sol`` and ``src/libraries/ConstantsLib.sol``:

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
``unrealized_bad_debt`` open positions' ``max(d - c * p_T, 0)`` at the horizon. Per-path extra
(``Mechanism.extra_fields``): ``vault_loss``, each debt written off in market k times the vault's
share ``vault_supply_k / market_supply_k`` of the parameter set in force at that step.

Dynamic LLTV (section 2.5, sign -1): the volatility-adjusted threshold moves the health test
only; the incentive is the market's, from the ``lltv`` of the parameter set in force.

Speed: a position's ``key = d / (c * lltv_k)`` (its market's LLTV at step 0) never changes until
it is liquidated, and a liquidation closes it; it is liquidatable iff ``o * lltv_now_k / lltv_k <
key``. So the untouched positions that can be liquidatable are a prefix of the book sorted by key
(descending) that grows as ``o`` times the smallest such ratio makes new lows (as in
engine.compound). Positions
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

from engine import rules
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
    position_order,
    record_end,
    record_step,
    run,
    write_results,
)
from engine.errors import EngineError, check_range
from engine.market import DynamicThreshold, MarketConditions

_TOL = 1e-9  # relative screening margin: a position is a candidate when key >= q * (1 - _TOL)

# morpho-org/morpho-blue src/libraries/ConstantsLib.sol, in engine units (not wad).
MAX_LIQUIDATION_INCENTIVE_FACTOR = 1.15
LIQUIDATION_CURSOR = 0.3


def liquidation_incentive_factor(lltv: float) -> float:
    """Morpho.liquidate's ``min(MAX_LIQUIDATION_INCENTIVE_FACTOR, 1 / (1 - LIQUIDATION_CURSOR *
    (1 - lltv)))``: 1.043841... at lltv 0.86, 1.026167... at 0.915, 1.15 (the cap) at 0.5."""
    return min(MAX_LIQUIDATION_INCENTIVE_FACTOR, 1.0 / (1.0 - LIQUIDATION_CURSOR * (1.0 - lltv)))


def _numbers(name: str, value: object) -> tuple[tuple[float, ...], bool]:
    """``value`` (a number, or one per market) as a tuple of floats, and whether it was one
    number; EngineError names the field (``lltv``, or ``lltv[1]`` for a list)."""
    scalar = isinstance(value, str | bytes) or not hasattr(value, "__iter__")
    items = [value] if scalar else list(value)  # type: ignore[call-overload]
    out = []
    for k, v in enumerate(items):
        label = name if scalar else f"{name}[{k}]"
        try:
            if isinstance(v, bool):
                raise TypeError
            out.append(float(v))
        except (TypeError, ValueError):
            raise EngineError(f"{label} must be a number; got {v!r}") from None
    return tuple(out), scalar


@dataclass(frozen=True)
class Params:
    """The Morpho Blue markets of one collateral a governed (MetaMorpho-style) vault lends to,
    and its allocation to each, engine units. Every field but ``dynamic`` is one value per
    market (a tuple, market ``k`` at index ``k``); a number is one market.

    lltv: liquidation loan-to-value per market, 0 < lltv < 1 (fixed at the market's creation);
        a position of market k is healthy while ``d <= c * o * lltv[k]``.
    market_supply_usd: each market's total supply (the vault's and other lenders'; USD, > 0),
        over which written-off debt is shared by the lenders.
    vault_cap_usd: the vault's cap per market (USD, >= 0).
    vault_supply_usd: the vault's supply per market (USD; at most its cap and the market's
        supply: engine.rules.morpho_allocation); None: ``min(cap, market supply)``.
    dynamic: optional volatility-adjusted LLTV (margin-engine.md 2.5, sign -1, ``base`` = lltv);
        one market only.
    """

    lltv: tuple[float, ...] = (0.86,)
    market_supply_usd: tuple[float, ...] = (1e8,)
    vault_cap_usd: tuple[float, ...] = (1e7,)
    vault_supply_usd: tuple[float, ...] | None = None
    dynamic: DynamicThreshold | None = None

    def __post_init__(self) -> None:
        names = ("lltv", "market_supply_usd", "vault_cap_usd")
        given = {n: _numbers(n, getattr(self, n)) for n in names}
        if self.vault_supply_usd is not None:
            given["vault_supply_usd"] = _numbers("vault_supply_usd", self.vault_supply_usd)
        lengths = {n: len(v) for n, (v, _) in given.items()}
        if len(set(lengths.values())) != 1 or 0 in lengths.values():
            raise EngineError(
                "lltv, market_supply_usd, vault_cap_usd and vault_supply_usd must have one value per "
                f"market, at least one; got lengths {lengths}"
            )
        for name, (values, scalar) in given.items():
            object.__setattr__(self, name, values)
            for k, v in enumerate(values):
                label = name if scalar else f"{name}[{k}]"
                if name == "lltv":
                    check_range(label, v, 0.0, 1.0, lo_open=True, hi_open=True)
                elif name == "market_supply_usd":
                    check_range(label, v, 0.0, None, lo_open=True)
                    if not math.isfinite(v):
                        raise EngineError(f"{label} must be a finite amount of USD > 0; got {v!r}")
                else:
                    check_range(label, v, 0.0, None)
        if self.vault_supply_usd is None:
            supply = tuple(min(c, s) for c, s in zip(self.vault_cap_usd, self.market_supply_usd, strict=True))
            object.__setattr__(self, "vault_supply_usd", supply)
        for k in range(self.n_markets):
            rules.raise_first(
                rules.morpho_allocation(
                    supply_cap=self.vault_cap_usd[k],
                    vault_supply=self.vault_supply_usd[k],
                    market_supply=self.market_supply_usd[k],
                    market=f"market {k}",
                )
            )
        if self.dynamic is not None and not isinstance(self.dynamic, DynamicThreshold):
            raise EngineError(f"dynamic must be a DynamicThreshold or None; got {self.dynamic!r}")
        if self.dynamic is not None and self.n_markets > 1:
            raise EngineError(f"dynamic (a volatility-adjusted LLTV) needs one market; got {self.n_markets}")

    @property
    def n_markets(self) -> int:
        return len(self.lltv)

    @property
    def liquidation_incentive(self) -> tuple[float, ...]:
        """LIF per market, ``min(1.15, 1 / (1 - 0.3 * (1 - lltv)))`` (Morpho.liquidate)."""
        return tuple(liquidation_incentive_factor(x) for x in self.lltv)

    @property
    def vault_share(self) -> tuple[float, ...]:
        """The vault's share of each market's supply, ``vault_supply / market_supply``."""
        return tuple(v / s for v, s in zip(self.vault_supply_usd, self.market_supply_usd, strict=True))


@dataclass(frozen=True)
class Book:
    """Positions, one row each: ``collateral`` (units, >= 0) and ``debt`` (USD, >= 0),
    float64[N], and ``market`` int64[N], the index of the position's market in the Params'
    tuples (None: all in market 0)."""

    collateral: np.ndarray
    debt: np.ndarray
    market: np.ndarray | None = None

    def __post_init__(self) -> None:
        set_book_arrays(self, {"collateral": 1, "debt": 1})
        n = self.collateral.shape[0]
        if self.market is None:
            object.__setattr__(self, "market", np.zeros(n, np.int64))
            return
        a = np.asarray(self.market)
        if a.shape != (n,):
            raise EngineError(
                f"book.market must be a 1-d array of the book's length {n}; got shape {a.shape}"
            )
        if a.dtype.kind not in "iuf" or not np.all(np.isfinite(a)):
            raise EngineError("book.market must be whole numbers >= 0 (a market index per position)")
        bad = (a < 0) | (a != np.floor(a))
        if np.any(bad):
            row = int(np.argwhere(bad)[0][0])
            raise EngineError(f"book.market must be whole numbers >= 0; got {a[row]!r} (row {row})")
        object.__setattr__(self, "market", np.ascontiguousarray(a, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.collateral.shape[0])


def params_from_dict(d: dict) -> Params:
    """Params from a plain dict (JSON): per-market lists or single numbers; ``dynamic`` may be a
    dict of DynamicThreshold fields."""
    return Params(**params_kwargs(Params, d, "morpho-blue"))


def book_from_arrays(d: dict[str, np.ndarray]) -> Book:
    """Book from arrays ``collateral`` (units), ``debt`` (USD) and optionally ``market`` (index)."""
    arrays = book_kwargs(d, ("collateral", "debt"), "morpho-blue")
    return Book(**arrays, market=None if d.get("market") is None else np.asarray(d["market"]))


def position_lltv(params: Params, book: Book) -> np.ndarray:
    """Each position's market LLTV, float64[N] (EngineError for a market the params lack)."""
    _check_markets(params, book)
    return np.asarray(params.lltv, dtype=np.float64)[book.market]


def _check_markets(params: Params, book: Book) -> None:
    if len(book) and int(book.market.max()) >= params.n_markets:
        row = int(np.argmax(book.market))
        raise EngineError(
            f"book.market must be below the number of markets ({params.n_markets}); got "
            f"{int(book.market[row])} (row {row})"
        )


def borrowing_power(params: Params, book: Book, price0: float) -> float:
    """The vault's share of what its markets' books can borrow at ``price0``, USD:
    ``sum_k share_k * sum(c * price0 * lltv_k over the positions of market k)``, with
    ``share_k = vault_supply_k / market_supply_k`` (the vault backs that share of each
    market's loans)."""
    share = np.asarray(params.vault_share, dtype=np.float64)[book.market]
    return float(np.sum(share * book.collateral * float(price0) * position_lltv(params, book)))


def vault_loss(params: Params, per_path: np.ndarray) -> np.ndarray:
    """One market's vault loss per path from ``simulate``'s results, USD: the vault's share of
    the market's supply times the debt written off against the lenders. With several markets
    the loss depends on which market wrote debt off: it is the run's ``vault_loss`` extra
    (``simulate(..., extras=True)``).

    Parameters
    ----------
    params: one market's Params.
    per_path: float64[M, len(RESULT_FIELDS)], ``simulate``'s results.

    Returns
    -------
    float64[M]
    """
    if params.n_markets != 1:
        raise EngineError(
            f"vault_loss from per-path totals needs one market; got {params.n_markets}: "
            "use simulate(..., extras=True)['vault_loss']"
        )
    a = np.asarray(per_path, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != N_FIELDS:
        raise EngineError(f"per_path must be simulate's results, shape (M, {N_FIELDS}); got shape {a.shape}")
    return params.vault_share[0] * a[:, FIELD_INDEX["socialized_loss"]]


def _param_row(params: Params) -> tuple:
    """The kernel's values of one parameter set, in the order ``_load`` reads them: the
    volatility-adjusted threshold's six, then per market the LLTV, the LIF and the vault's share."""
    dyn = params.dynamic or DynamicThreshold()
    return dyn.kernel_args() + params.lltv + params.liquidation_incentive + params.vault_share


def _prepare(params: Params, after: Params, book: Book, s: np.ndarray, market: MarketConditions) -> tuple:
    if after.n_markets != params.n_markets:
        raise EngineError(
            f"a switch must keep the markets: {params.n_markets} before, {after.n_markets} after"
        )
    # Screening key d / (c * lltv of the position's market, at the start): liquidatable iff
    # o * (lltv in force / lltv at the start) < key.
    order, keys, n_sorted = screening_order(book.collateral, book.debt, position_lltv(params, book))
    data = (book.collateral, book.debt, book.market, order, keys, n_sorted)
    return data, (_param_row(params), _param_row(after)), market_tuple(market)


def _detail_arrays(book: Book, s: np.ndarray, track: bool) -> tuple:
    m, n = (s.shape[0], len(book)) if track else (0, 0)
    k = int(book.market.max()) + 1 if track and len(book) else 0
    return np.zeros((s.shape[0], 1)), np.empty((m, n)), np.empty((m, n)), np.zeros(m), np.zeros((m, k))


def _detail_view(det: tuple) -> dict:
    _, fc, fd, units, bad_k = det
    return {"collateral": fc, "debt": fd, "to_liquidators": units, "bad_debt_by_market": bad_k}


def simulate(
    params: Params,
    book: Book,
    prices: np.ndarray,
    market: MarketConditions,
    *,
    record_steps: np.ndarray | None = None,
    switch: tuple[int, Params] | None = None,
    full_scan: bool = False,
    extras: bool = False,
) -> np.ndarray | tuple:
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
    extras: also return the per-path extra outputs, ``{"vault_loss": float64[M]}`` (USD: each
        debt written off in market k times ``vault_supply_k / market_supply_k`` of the set in
        force at that step).

    Returns
    -------
    float64[M, len(RESULT_FIELDS)]: per-path results, columns in the order of
    ``engine._common.RESULT_FIELDS``. Rows depend only on their own path: ``prices[a:b]`` alone
    gives rows ``a:b`` bit for bit. With ``record_steps``: ``(per_path, series)``, series a dict
    of float64[M, K] by ``engine._common.SERIES_FIELDS``; per_path unchanged. With ``extras``
    the extras dict is appended (engine._skeleton.run).
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
        extras=extras,
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
    ``bad_debt_by_market`` float64[M, max(book.market) + 1], debt written off per market;
    ``extras`` ``{"vault_loss": float64[M]}``; ``series`` with ``record_steps``. Memory is M * N * 16 bytes: use on small books.
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
def _load(pv, row, lltv_k, lif_k, share_k):
    """Per market the LLTV, LIF and vault share into ``lltv_k``, ``lif_k``, ``share_k``; returns
    the volatility-adjusted threshold's k_vol, horizon, interval, lambda, floor and cap."""
    r = pv[row]
    K = lltv_k.shape[0]
    for k in range(K):
        lltv_k[k] = r[6 + k]
        lif_k[k] = r[6 + K + k]
        share_k[k] = r[6 + 2 * K + k]
    return r[0], r[1], int(r[2]), r[3], r[4], r[5]


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


@njit(cache=True, parallel=True)
def _kernel(S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser):
    """The skeleton's kernel (engine._skeleton): paths in parallel."""
    M = S.shape[0]
    for m in prange(M):
        _path(m, S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser)


@njit(cache=True)
def _path(m, S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser):
    """Path ``m`` of the kernel: compiled once, the parallel loop only calls it."""
    c0, d0, mkt, order, keys, n_sorted = data
    xo, fin_c, fin_d, units, bad_k = det
    rational = mk[8]
    T = S.shape[1] - 1
    K = (pv.shape[1] - 6) // 3
    # The parameter set in force: row 0 of pv, row 1 from step ksw (margin-engine.md section 4).
    lltv_k = np.empty(K)
    lif_k = np.empty(K)
    share_k = np.empty(K)
    k_vol, horizon, upd, lam, dfloor, dcap = _load(pv, 0, lltv_k, lif_k, share_k)
    # The keys' LLTVs (row 0) and the LLTVs in force (the dynamic one for a single market).
    base_k = lltv_k.copy()
    eff_k = lltv_k.copy()
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
    p_hist, ostate, dstate = path_state(T, lltv_k[0])
    J = 1.0
    peak = 0.0
    bad = 0.0
    vloss = 0.0
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
    n_rec = rec.shape[0]  # recorded steps (record_step)
    for t in range(T):
        if ri < n_rec and rec[ri] < t:
            ri = record_step(rec, ri, t, ser, m, p_hist, vol, bad)
        if t == ksw:
            # The keys are those of row 0's LLTVs; the screen below scales by the LLTVs in force,
            # so the active list and the prefix stay exact for the new set.
            kv_old, lltv_old = k_vol, lltv_k[0]
            k_vol, horizon, upd, lam, dfloor, dcap = _load(pv, 1, lltv_k, lif_k, share_k)
            switch_threshold(dstate, lltv_old, lltv_k[0], kv_old, dfloor, dcap)
            for k in range(K):
                eff_k[k] = lltv_k[k]
        # 1. market price and oracle (margin-engine.md section 4): one collateral price for
        # every market, so a cascade in one moves the price in all.
        p, peak, po = market_step(S, m, t, J, peak, p_hist, ostate, mk)
        if K == 1:
            eff_k[0] = dynamic_threshold(
                dstate, po, t, lltv_k[0], -1.0, k_vol, horizon, upd, lam, dfloor, dcap
            )
        # A position of market k is liquidatable iff po * eff_k / base_k < key: screen on the
        # smallest of these factors.
        ratio = eff_k[0] / base_k[0]
        for k in range(1, K):
            if eff_k[k] / base_k[k] < ratio:
                ratio = eff_k[k] / base_k[k]
        thr = po * ratio * (1.0 - _TOL)
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
            if ci * po * eff_k[mkt[i]] < di:
                repay, seize, lost = _liquidation(ci, di, po, lif_k[mkt[i]])
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
        position_order(l_idx, nl, perm)
        sold = 0.0
        for r in range(nl):
            x = perm[r]
            i = l_idx[x]
            k = mkt[i]
            repay = l_val[x, 0]
            seize = l_val[x, 1]
            nliq += 1.0
            vol += repay
            pen += (lif_k[k] - 1.0) * repay
            bad += l_val[x, 2]
            # The vault's share of the market's supply in force at this step.
            vloss += l_val[x, 2] * share_k[k]
            sold += seize * p
            to_liq += seize
            if track:
                bad_k[m, k] += l_val[x, 2]
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
    # c * pT < d means key = d / (c * base) > pT / base >= pT / max(base).
    bmax = base_k[0]
    for k in range(1, K):
        if base_k[k] > bmax:
            bmax = base_k[k]
    thr_T = pT / bmax * (1.0 - _TOL)
    r = ptr
    while r < n_sorted and keys[r] >= thr_T:
        i = order[r]
        if c0[i] * pT < d0[i]:
            l_idx[nu] = i
            l_val[nu, 0] = d0[i] - c0[i] * pT
            nu += 1
        r += 1
    position_order(l_idx, nu, perm)
    unreal = 0.0
    for r in range(nu):
        unreal += l_val[perm[r], 0]
    insolvent = 1.0 if bad > 0.0 else 0.0
    write_results(
        out, m, bad, unreal, nliq, vol, sold_total, pen, 0.0, 0.0, 0.0, bad, n_unprof, insolvent, pT
    )
    xo[m, 0] = vloss
    if track:
        units[m] = to_liq


MECHANISM = Mechanism(
    name="morpho-blue",
    params_cls=Params,
    kernel=_kernel,
    prepare=_prepare,
    detail_arrays=_detail_arrays,
    detail_view=_detail_view,
    extra_fields=("vault_loss",),
)
