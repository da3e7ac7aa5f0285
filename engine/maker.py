"""MakerDAO Liquidations 2.0 style collateral auctions: Dog.bark, then Clipper Dutch auctions.

margin-engine.md section 2.3. The arithmetic follows makerdao/dss:

- ``dog.sol`` ``bark``: a vault is unsafe when ``ink * spot < art * rate`` with
  ``spot = o / mat`` (``spot.sol`` ``poke``), i.e. ``ink * o / mat < debt``. The room left is
  ``hole - dirt`` (``Dog.Hole`` is taken as no tighter than the collateral's ``hole``); bark
  needs room > 0 and liquidates ``dart = min(debt, room / chop)``; if that would leave a dusty
  vault (``debt - dart < dust``) the whole vault goes, otherwise a partial auction must itself
  be non-dusty (``dart >= dust``, else "Dog/dusty-auction-from-partial-liquidation" and the
  vault waits). ``dink = ink * dart / debt``; ``due = dart``; ``tab = due * chop``;
  ``dirt += tab``. The rest of the vault stays open and is barked again when room frees.
- ``clip.sol`` ``kick``: ``top = o * buf`` (``getPrice`` reads the oracle), the keeper gets
  ``tip + chip * tab`` from the protocol (``vat.suck``).
- ``abaci.sol`` ``StairstepExponentialDecrease.price``: ``top * cut ** floor(age / step)``.
- ``clip.sol`` ``status``: the auction needs a reset when ``age > tail`` or
  ``price / top < cusp``; ``redo`` sets a new ``top = o * buf`` and restarts the clock, paying
  ``tip + chip * tab`` only when ``tab >= chost`` and ``lot * o >= chost``.
- ``clip.sol`` ``take``: ``slice = min(lot, amt)``, ``owe = slice * price``; if ``owe > tab``
  the buyer pays ``tab`` for ``tab / price``; a partial purchase may not leave ``tab - owe <
  chost`` (``chost = dust * chop``, ``upchost``): then it pays ``tab - chost``, and if
  ``tab <= chost`` it must take the whole lot ("Clipper/no-partial-purchase"). Take moves
  ``owe`` to the Vow and ``dog.digs`` frees it from ``dirt`` (the whole remaining tab when the
  lot is gone). When the tab is paid the remaining lot returns to the vault (``vat.flux`` to
  ``usr``).

Time: the engine works in steps of ``step_seconds`` (taken from Params, or from
``market.steps_per_year`` with a 365-day year); ``tail`` and ``step`` are in the same unit as
``step_seconds`` (seconds as on chain, or engine steps with ``step_seconds = 1``). Auction
step ``t`` covers ages ``[(t - tic) * step_seconds, (t - tic + 1) * step_seconds)``: keepers,
watching the market price ``p[t]`` fixed through the step, take at the first stair within
that window whose price is at most ``p * (1 - keeper_margin)`` and at which the auction does
not need a reset; so a coarse engine step does not hand keepers the whole step's price decay.
An auction that needs a reset at the start of a step is redone then, with the step's oracle
price (a reset that falls due mid-step waits for the next step).

Keepers (margin-engine.md section 3): with ``liquidators.rational`` a keeper sizes its take to
maximize its resale profit at ``p`` less slippage (engine.compound.best_purchase, capped by the
lot and the tab), then the clip.sol dust rules apply, and it takes only if the result pays more
than gas (``liquidation_pays``); an auction whose acceptable price did not pay counts once in
``n_unprofitable``. Otherwise a keeper takes the whole lot (``amt = lot``) at the first
acceptable stair. Everyone barks and redoes (protocol keepers run regardless of gas).
Takes are resold at once: ``J[t + 1]`` from the step's ``sum(slice * p)``.

Order within a step (margin-engine.md section 4): oracle; barks of unsafe vaults (room from
``dirt`` at the time of each bark, vaults in the order they entered the screen, most unsafe
first up to the active list's reordering); then every
auction (the new ones included) is reset if due and taken if a keeper finds a price; impact.

Result fields, per path, USD unless said: ``n_liq`` barks (partial ones each count);
``liq_volume`` debt repaid by auction proceeds (``min(owe, due left)`` per take);
``penalty`` and ``protocol_fees`` the proceeds beyond the debt (``chop`` collected, to the
Vow); ``keeper_rewards`` tip + chip paid at kicks and redos; ``bad_debt`` the debt (``due``)
not covered when an auction's collateral is gone (the unpaid part of the penalty is revenue
foregone, not a loss: the Vow's sin is ``due``, dog.sol ``vow.fess(due)``);
``insurance_used`` what the Vow's surplus (``surplus_buffer`` plus penalties less keeper
rewards so far) covered, ``socialized_loss`` the rest (covered by MKR dilution, flop);
``insolvent`` 1 when a loss exceeded the surplus; ``collateral_sold_usd`` taken units at the
market price; ``unrealized_bad_debt`` at the horizon: open vaults' ``max(debt - ink * p, 0)``
plus running auctions' ``max(due left - lot * p, 0)``.

Speed: a vault's ``key = debt / ink`` is unchanged until it is barked, so the untouched vaults
that can be unsafe are a prefix of the book sorted by key that grows as ``o / mat`` makes new
lows; vaults screened in (unsafe or borderline, partly barked or waiting for room) stay in an
active list; each path step is O(1 + active vaults + running auctions). Stair prices come from a
table of ``cut ** n`` built once per run (the same values as ``pow``) and a bisection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from engine import rules
from engine._common import dynamic_threshold, switch_threshold
from engine._inputs import params_kwargs, screening_order, set_book_arrays
from engine._skeleton import (
    Mechanism,
    dynamic,
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
from engine.compound import best_purchase
from engine.errors import EngineError, check_range, coerce_numbers
from engine.market import DynamicThreshold, MarketConditions

_TOL = 1e-9  # relative screening margin, far above the rounding of ink * o / mat
_SECONDS_PER_YEAR = 365.0 * 86400.0


@dataclass(frozen=True)
class Params:
    """Liquidations 2.0 parameters of one collateral type, engine units (fractions, USD, seconds).

    mat: liquidation ratio (1.45 = 145 %); unsafe when ``ink * o / mat < debt``.
    chop: liquidation penalty factor (1.13); ``tab = debt * chop``.
    buf: starting price factor, ``top = o * buf``.
    tail: seconds before an auction needs a reset.
    cusp: price drop (price / top) below which an auction needs a reset.
    cut, step: StairstepExponentialDecrease, price ``top * cut ** floor(age / step)``;
        ``cut`` per-step factor in (0, 1], ``step`` seconds.
    chip: share of tab paid to the keeper at kick and redo; tip: flat USD paid then.
    hole: USD, most tab that may be in auctions at once for this collateral.
    dust: USD, smallest vault debt; a partial take may not leave less than ``dust * chop``.
    keeper_margin: keepers take only at an auction price <= ``p * (1 - keeper_margin)``.
    step_seconds: length of one engine step in the unit of ``tail`` and ``step``: seconds per
        step when they are given in seconds as on chain (3600 for hourly data); None takes a
        365-day year over ``market.steps_per_year``; 1.0 when the caller already converted
        ``tail`` and ``step`` to engine steps (backtests.params does).
    surplus_buffer: USD, the Vow's surplus at the start (covers bad debt first).
    dynamic: optional volatility-adjusted ``mat`` (margin-engine.md 2.5, sign +1,
        ``base`` = mat).
    """

    mat: float = 1.45
    chop: float = 1.13
    buf: float = 1.2
    tail: float = 8400.0
    cusp: float = 0.4
    cut: float = 0.99
    step: float = 90.0
    chip: float = 0.001
    tip: float = 300.0
    hole: float = 40_000_000.0
    dust: float = 7_500.0
    keeper_margin: float = 0.02
    step_seconds: float | None = None
    surplus_buffer: float = 0.0
    dynamic: DynamicThreshold | None = None

    def __post_init__(self) -> None:
        coerce_numbers(self)
        check_range("mat", self.mat, 1.0, None)
        check_range("chop", self.chop, 1.0, None)
        check_range("buf", self.buf, 1.0, None)
        check_range("tail", self.tail, 0.0, None, lo_open=True)
        check_range("cusp", self.cusp, 0.0, 1.0, hi_open=True)
        check_range("cut", self.cut, 0.0, 1.0, lo_open=True)
        check_range("step", self.step, 0.0, None, lo_open=True)
        check_range("chip", self.chip, 0.0, 1.0)
        check_range("tip", self.tip, 0.0, None)
        check_range("hole", self.hole, 0.0, None, lo_open=True)
        check_range("dust", self.dust, 0.0, None)
        check_range("keeper_margin", self.keeper_margin, 0.0, 1.0, hi_open=True)
        check_range("surplus_buffer", self.surplus_buffer, 0.0, None)
        if self.step_seconds is not None:
            check_range("step_seconds", self.step_seconds, 0.0, None, lo_open=True)
        rules.raise_first(
            rules.maker_clip(mat=self.mat, chop=self.chop, buf=self.buf, cut=self.cut, cusp=self.cusp)
        )
        for name in ("mat", "chop", "buf", "tail", "step", "tip", "hole", "dust", "surplus_buffer"):
            if not math.isfinite(getattr(self, name)):
                raise EngineError(f"{name} must be finite; got {getattr(self, name)!r}")
        if self.dynamic is not None and not isinstance(self.dynamic, DynamicThreshold):
            raise EngineError(f"dynamic must be a DynamicThreshold or None; got {self.dynamic!r}")

    def seconds_per_step(self, market: MarketConditions) -> float:
        """``step_seconds``, or a 365-day year divided by ``market.steps_per_year``."""
        if self.step_seconds is not None:
            return float(self.step_seconds)
        return _SECONDS_PER_YEAR / float(market.steps_per_year)


@dataclass(frozen=True)
class Book:
    """Vaults, one row each: ``ink`` (collateral units, >= 0) and ``debt`` (``art * rate``, USD, >= 0)."""

    ink: np.ndarray
    debt: np.ndarray

    def __post_init__(self) -> None:
        set_book_arrays(self, {"ink": 1, "debt": 1})

    def __len__(self) -> int:
        return int(self.ink.shape[0])


def params_from_dict(d: dict) -> Params:
    """Params from a plain dict (JSON); ``dynamic`` may be a dict of DynamicThreshold fields."""
    return Params(**params_kwargs(Params, d, "maker-clip"))


def book_from_arrays(d: dict[str, np.ndarray]) -> Book:
    """Book from arrays ``ink`` (or ``collateral``, the name the other mechanisms use) and ``debt``."""
    ink = d.get("ink", d.get("collateral"))
    if ink is None or "debt" not in d:
        raise EngineError(
            f"maker-clip book needs arrays 'ink' (or 'collateral') and 'debt'; got keys {sorted(d)}"
        )
    return Book(ink=np.asarray(ink, dtype=np.float64), debt=np.asarray(d["debt"], dtype=np.float64))


def borrowing_power(params: Params, book: Book, price0: float) -> float:
    """Debt the book's collateral supports at ``price0`` before any vault is unsafe, USD.

    ``sum(ink * price0 / mat)``.
    """
    return float(np.sum(book.ink * price0 / params.mat))


def _param_row(params: Params, market: MarketConditions) -> tuple:
    """The kernel's values of one parameter set, in the order ``_load`` reads them."""
    dyn = params.dynamic or DynamicThreshold()
    return (
        float(params.mat),
        float(params.chop),
        float(params.buf),
        float(params.tail),
        float(params.cusp),
        float(params.cut),
        float(params.step),
        float(params.chip),
        float(params.tip),
        float(params.hole),
        float(params.dust),
        float(params.dust * params.chop),
        float(params.keeper_margin),
        float(params.seconds_per_step(market)),
        float(params.surplus_buffer),
    ) + dyn.kernel_args()


def _prepare(params: Params, after: Params, book: Book, s: np.ndarray, market: MarketConditions) -> tuple:
    row0, row1 = _param_row(params, market), _param_row(after, market)
    order, keys, n_sorted = screening_order(book.ink, book.debt)
    # cut ** n for every stair an auction can reach before a reset (age <= tail), shared
    # read-only; one table per parameter set (section 4: the second from step ksw).
    cut_pow = _stair_table(row0[5], row0[3], row0[6], row0[13])
    cut_pow_b = _stair_table(row1[5], row1[3], row1[6], row1[13])
    data = (book.ink, book.debt, order, keys, n_sorted, cut_pow, cut_pow_b)
    return data, (row0, row1), market_tuple(market)


LEDGER_FIELDS = (
    "units_with_vaults",
    "units_to_keepers",
    "units_in_auctions",
    "n_kicks",
    "n_redos",
    "n_takes",
    "n_exhausted",
    "uncovered_with_collateral_left",
    "min_tab",
    "dirt_final",
    "vault_visits",
    "auction_visits",
)


def _detail_arrays(book: Book, s: np.ndarray, track: bool) -> tuple:
    m, n = (s.shape[0], len(book)) if track else (0, 0)
    return np.empty((m, n)), np.empty((m, n)), np.zeros((m, len(LEDGER_FIELDS) if track else 0))


def _detail_view(det: tuple) -> dict:
    fin_ink, fin_debt, ledger = det
    res = {"ink": fin_ink, "debt": fin_debt}
    return res | {name: ledger[:, j] for j, name in enumerate(LEDGER_FIELDS)}


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
        step k on, the book, paths, vaults and running auctions carried over (margin-engine.md
        section 4; docs/engine.md). ``k >= T`` never switches.
    full_scan: check every vault every step instead of screening (the tests' reference; same
        results, slower).

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
    """Like ``simulate`` but also returns vault states and where the collateral went (tests, audits).

    Returns a dict: ``per_path`` float64[M, F]; ``ink`` and ``debt`` float64[M, N] at the
    horizon; one float64[M] per name in LEDGER_FIELDS: collateral units in vaults, bought by
    keepers and still in auctions; counts of kicks, redos, takes and of auctions that ended
    with their collateral gone and debt left; the uncovered debt of auctions that ended with
    collateral left (0 by construction of clip.sol: a paid tab covers the debt); the smallest
    tab seen after a take; ``dirt`` at the horizon; vault and auction visits (work done);
    ``series`` with ``record_steps``. ``full_scan=True`` checks every vault every step instead
    of screening (the reference the tests compare the screen with). Memory is M * N * 16
    bytes: small books only.
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


_MAX_STAIRS = 1 << 16  # size limit of the table of cut ** n; beyond it, pow


@njit(cache=True)
def _stair_table(cut, tail, step, ss):
    """``cut ** n`` for every stair an auction can reach before a reset (age <= tail)."""
    n_tab = int(min(math.ceil((tail + ss) / step) + 2.0, float(_MAX_STAIRS)))
    cut_pow = np.empty(n_tab)
    for n in range(n_tab):
        cut_pow[n] = cut**n
    return cut_pow


@njit(cache=True, inline="always")
def _load(pv, row):
    """mat, chop, buf, tail, cusp, cut, step, chip, tip, hole, dust, dust * chop, keeper margin
    and seconds per step of one parameter set."""
    r = pv[row]
    return r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13]


@njit(cache=True)
def _stair_factor(cut_pow, cut, n):
    """``cut ** n``, from the kernel's table when it holds stair ``n`` (same value either way)."""
    if n < cut_pow.shape[0]:
        return cut_pow[n]
    return cut**n


@njit(cache=True)
def _first_stair_at_or_below(top, cut_pow, cut, target, n0, n1):
    """Smallest stair ``n`` in ``[n0, n1]`` whose price ``top * cut ** n`` is <= target, else -1.

    abaci.sol StairstepExponentialDecrease prices fall with ``n``, so a bisection on the exact
    stair prices finds it.
    """
    if top * _stair_factor(cut_pow, cut, n1) > target:
        return -1
    lo = n0
    hi = n1
    while lo < hi:
        mid = (lo + hi) // 2
        if top * _stair_factor(cut_pow, cut, mid) <= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True, parallel=True)
def _kernel(S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser):
    """The skeleton's kernel (engine._skeleton): paths in parallel."""
    M = S.shape[0]
    for m in prange(M):
        _path(m, S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser)


@njit(cache=True)
def _path(m, S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser):
    """Path ``m`` of the kernel: compiled once, the parallel loop only calls it."""
    ink0, debt0, order, keys, n_sorted, cut_pow, cut_pow_b = data
    fin_ink, fin_debt, ledger = det
    rational = mk[8]
    T = S.shape[1] - 1
    N = ink0.shape[0]
    # The parameter set in force: row 0 of pv, row 1 from step ksw (margin-engine.md section 4).
    mat, chop, buf, tail, cusp, cut, step, chip, tip, hole, dust, chost, km, ss = _load(pv, 0)
    k_vol, horizon, upd, lam, dfloor, dcap = dynamic(pv, 0, 15)
    # Starting amounts (the Vow's surplus) are those of the set in force at step 0.
    surplus0 = pv[1 if ksw == 0 else 0, 14]
    ink = ink0.copy()
    debt = debt0.copy()
    # Active vaults: screened in and still with debt.
    v_list = np.empty(n_sorted, np.int64)
    nv = 0
    vmax = -np.inf  # largest key in the list (may be stale high: a screen only)
    vmin_d = np.inf  # smallest debt in the list (may be stale low)
    # Running auctions (clip.sol Sale), grown on demand.
    cap = 64
    au_v = np.empty(cap, np.int64)
    au_tic = np.empty(cap, np.int64)
    au_tab = np.empty(cap)
    au_lot = np.empty(cap)
    au_due = np.empty(cap)
    au_top = np.empty(cap)
    au_unp = np.empty(cap, np.bool_)
    na = 0
    p_hist, ostate, dstate = path_state(T, mat)
    J = 1.0
    peak = 0.0
    dirt = 0.0
    buffer = surplus0
    bad = 0.0
    used = 0.0
    lost = 0.0
    nliq = 0.0
    vol = 0.0
    pen = 0.0
    kr = 0.0
    sold_usd = 0.0
    sold_units = 0.0
    n_unprof = 0.0
    n_redo = 0.0
    n_take = 0.0
    n_exh = 0.0
    uncovered_left = 0.0
    min_tab = np.inf
    v_visits = 0.0
    a_visits = 0.0
    ptr = 0
    if full_scan:
        # Reference mode for tests: every vault with debt is checked every step.
        for r in range(n_sorted):
            v_list[r] = order[r]
        nv = n_sorted
        ptr = n_sorted
    ri = 0  # pointer into rec: next step to record
    n_rec = rec.shape[0]  # recorded steps (record_step)
    for t in range(T):
        if ri < n_rec and rec[ri] < t:
            ri = record_step(rec, ri, t, ser, m, p_hist, vol, bad)
        if t == ksw:
            # Keys debt / ink do not involve the parameters, so the active list stays exact.
            # Vaults, dirt and running auctions carry over: as after Clipper.file / Dog.file on
            # chain, a running auction keeps its tab and top, and its price, reset and take
            # follow the new cut, step, tail and cusp (tail and step are steps' multiples of ss).
            kv_old, mat_old = k_vol, mat
            mat, chop, buf, tail, cusp, cut, step, chip, tip, hole, dust, chost, km, ss = _load(pv, 1)
            k_vol, horizon, upd, lam, dfloor, dcap = dynamic(pv, 1, 15)
            cut_pow = cut_pow_b
            switch_threshold(dstate, mat_old, mat, kv_old, dfloor, dcap)
        # 1. market price and oracle (margin-engine.md section 4).
        p, peak, po = market_step(S, m, t, J, peak, p_hist, ostate, mk)
        mat_t = dynamic_threshold(dstate, po, t, mat, 1.0, k_vol, horizon, upd, lam, dfloor, dcap)
        spot = po / mat_t  # spot.sol poke: spot = val / par / mat
        thr = spot * (1.0 - _TOL)
        while ptr < n_sorted and keys[ptr] >= thr:
            v_list[nv] = order[ptr]
            nv += 1
            if keys[ptr] > vmax:
                vmax = keys[ptr]
            if debt0[order[ptr]] < vmin_d:
                vmin_d = debt0[order[ptr]]
            ptr += 1
        # 2a. Dog.bark every unsafe vault while there is room under the hole. With less
        #     room than dust * chop only a vault with debt < dust + room / chop can go (whole).
        room = hole - dirt
        if nv > 0 and (
            full_scan or (vmax >= thr and room > 0.0 and (room >= chost or vmin_d < dust + room / chop))
        ):
            newmax = -np.inf
            newmin = np.inf
            full_pass = True
            # Stable filter (w <= j): the list stays in screening order, most unsafe first.
            w = 0
            j = 0
            while j < nv:
                v_visits += 1.0
                room = hole - dirt
                if room <= 0.0:
                    full_pass = False  # the rest cannot be barked this step
                    if w < j:
                        for r in range(j, nv):
                            v_list[w + r - j] = v_list[r]
                    w += nv - j
                    break
                i = v_list[j]
                di = debt[i]
                ci = ink[i]
                if ci * spot < di:
                    dart = min(di, room / chop)
                    ok = True
                    if di > dart:
                        if di - dart < dust:
                            dart = di  # leftover would be dusty: take the whole vault
                        elif dart < dust:
                            ok = False  # Dog/dusty-auction-from-partial-liquidation
                    dink = ci if dart == di else ci * dart / di
                    if ok and dink > 0.0:
                        if na == cap:
                            cap *= 2
                            au_v = _grow_i(au_v, cap)
                            au_tic = _grow_i(au_tic, cap)
                            au_tab = _grow_f(au_tab, cap)
                            au_lot = _grow_f(au_lot, cap)
                            au_due = _grow_f(au_due, cap)
                            au_top = _grow_f(au_top, cap)
                            au_unp = _grow_b(au_unp, cap)
                        tab = dart * chop
                        dirt += tab
                        au_v[na] = i
                        au_tic[na] = t
                        au_tab[na] = tab
                        au_lot[na] = dink
                        au_due[na] = dart
                        au_top[na] = po * buf
                        au_unp[na] = False
                        na += 1
                        reward = tip + chip * tab  # Clipper.kick: vat.suck(vow, kpr, tip + chip * tab)
                        kr += reward
                        buffer -= reward
                        nliq += 1.0
                        if dart == di:
                            debt[i] = 0.0
                            ink[i] = 0.0
                        else:
                            debt[i] = di - dart
                            ink[i] = ci - dink
                            if debt[i] < vmin_d:
                                vmin_d = debt[i]  # keep the screen conservative on an early break
                if debt[i] > 0.0:
                    key = debt[i] / ink[i] if ink[i] > 0.0 else np.inf
                    if key > newmax:
                        newmax = key
                    if debt[i] < newmin:
                        newmin = debt[i]
                    v_list[w] = i
                    w += 1
                j += 1
            nv = w
            if full_pass:
                vmax = newmax
                vmin_d = newmin
        # 2b. Clipper: reset (redo) when due, then a keeper takes at the first acceptable stair.
        sold = 0.0
        if na > 0:
            target = p * (1.0 - km)
            g = gas(mk, p, peak)
            j = 0
            while j < na:
                a_visits += 1.0
                top = au_top[j]
                age0 = (t - au_tic[j]) * ss
                n0 = int(math.floor(age0 / step))
                if age0 > tail or top * _stair_factor(cut_pow, cut, n0) / top < cusp:
                    # clip.sol redo: new top from the oracle, clock restarts.
                    top = po * buf
                    au_top[j] = top
                    au_tic[j] = t
                    age0 = 0.0
                    n0 = 0
                    n_redo += 1.0
                    if au_tab[j] >= chost and au_lot[j] * po >= chost:
                        reward = tip + chip * au_tab[j]
                        kr += reward
                        buffer -= reward
                n_hi = int(math.ceil((age0 + ss) / step)) - 1
                n = _first_stair_at_or_below(top, cut_pow, cut, target, n0, n_hi)
                if n < 0:
                    j += 1
                    continue
                price = top * _stair_factor(cut_pow, cut, n)
                if max(age0, n * step) > tail or price / top < cusp:
                    j += 1
                    continue  # the auction needs a reset before that stair
                tab = au_tab[j]
                lot = au_lot[j]
                if rational:
                    most = min(lot, tab / price)
                    amt = best_purchase(p, price, most, g, mk[3], mk[4], mk[5], mk[6], mk[7])
                    if amt >= most:
                        amt = lot
                else:
                    amt = lot
                slc = 0.0
                owe = 0.0
                if amt > 0.0:
                    # clip.sol take
                    slc = min(lot, amt)
                    owe = slc * price
                    if owe > tab:
                        owe = tab
                        slc = owe / price
                    elif owe < tab and slc < lot:
                        if tab - owe < chost:
                            if tab > chost:
                                owe = tab - chost
                                slc = owe / price
                            else:
                                # Clipper/no-partial-purchase: the whole lot or nothing.
                                slc = lot
                                owe = lot * price
                                if owe > tab:
                                    owe = tab
                                    slc = owe / price
                paid = slc > 0.0
                if paid and rational:
                    paid = pays(mk, slc, owe, p, g)
                if not paid:
                    if not au_unp[j]:
                        au_unp[j] = True
                        n_unprof += 1.0
                    j += 1
                    continue
                n_take += 1.0
                due = au_due[j]
                repaid = owe if owe < due else due
                vol += repaid
                pen += owe - repaid
                buffer += owe - repaid
                due -= repaid
                tab -= owe
                lot -= slc
                dirt -= owe
                sold += slc * p
                sold_units += slc
                if tab < min_tab:
                    min_tab = tab
                done = False
                if lot <= 0.0:
                    # Collateral gone: dog.digs(tab + owe) frees the rest; uncovered debt is bad debt.
                    dirt -= tab
                    if due > 0.0:
                        n_exh += 1.0
                        bad += due
                        cover = min(due, max(buffer, 0.0))
                        buffer -= cover
                        used += cover
                        lost += due - cover
                    done = True
                elif tab <= 0.0:
                    # Tab paid: the remaining lot goes back to the vault (vat.flux to usr).
                    v = au_v[j]
                    ink[v] += lot
                    uncovered_left += due
                    done = True
                if done:
                    na -= 1
                    au_v[j] = au_v[na]
                    au_tic[j] = au_tic[na]
                    au_tab[j] = au_tab[na]
                    au_lot[j] = au_lot[na]
                    au_due[j] = au_due[na]
                    au_top[j] = au_top[na]
                    au_unp[j] = au_unp[na]
                else:
                    au_tab[j] = tab
                    au_lot[j] = lot
                    au_due[j] = due
                    j += 1
        if sold > 0.0:
            sold_usd += sold
            J = impact(mk, J, sold)
    pT = S[m, T] * J
    ri = record_end(rec, ri, T, ser, m, p_hist, pT, vol, bad)
    unreal = 0.0
    for i in range(N):
        if debt[i] > ink[i] * pT:
            unreal += debt[i] - ink[i] * pT
    in_auctions = 0.0
    for j in range(na):
        in_auctions += au_lot[j]
        if au_due[j] > au_lot[j] * pT:
            unreal += au_due[j] - au_lot[j] * pT
    insolvent = 1.0 if lost > 0.0 else 0.0
    write_results(out, m, bad, unreal, nliq, vol, sold_usd, pen, pen, kr, used, lost, n_unprof, insolvent, pT)
    if track:
        with_vaults = 0.0
        for i in range(N):
            fin_ink[m, i] = ink[i]
            fin_debt[m, i] = debt[i]
            with_vaults += ink[i]
        ledger[m, 0] = with_vaults
        ledger[m, 1] = sold_units
        ledger[m, 2] = in_auctions
        ledger[m, 3] = nliq
        ledger[m, 4] = n_redo
        ledger[m, 5] = n_take
        ledger[m, 6] = n_exh
        ledger[m, 7] = uncovered_left
        ledger[m, 8] = min_tab
        ledger[m, 9] = dirt
        ledger[m, 10] = v_visits
        ledger[m, 11] = a_visits


@njit(cache=True)
def _grow_f(a, cap):
    b = np.empty(cap)
    b[: a.shape[0]] = a
    return b


@njit(cache=True)
def _grow_i(a, cap):
    b = np.empty(cap, np.int64)
    b[: a.shape[0]] = a
    return b


@njit(cache=True)
def _grow_b(a, cap):
    b = np.empty(cap, np.bool_)
    b[: a.shape[0]] = a
    return b


MECHANISM = Mechanism(
    name="maker-clip",
    params_cls=Params,
    kernel=_kernel,
    prepare=_prepare,
    detail_arrays=_detail_arrays,
    detail_view=_detail_view,
)
