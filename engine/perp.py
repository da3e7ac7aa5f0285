"""Perpetual futures with tiered margins (margin-engine.md section 2.4).

Position i: signed size ``q`` (units of the underlying, > 0 long, < 0 short), entry price
``E`` and margin ``m`` (USD, isolated margin). Parameters follow the venues:

- Margin tiers as on Hyperliquid (docs "Trading / Margin tiers") and dYdX v4 (IMF/MMF per
  liquidity tier): tier n applies from notional ``floor_n`` on, with an initial margin fraction
  ``imf_n`` (1 / max leverage) and a maintenance fraction ``mmf_n`` (on Hyperliquid half of the
  initial fraction at max leverage). The maintenance margin is
  ``MM(n) = n * mmf(tier) - deduction(tier)``, with Hyperliquid's "maintenance deduction"
  ``deduction_0 = 0``, ``deduction_n = deduction_{n-1} + floor_n * (mmf_n - mmf_{n-1})``
  (Binance's "maintenance amount" is the same construction), so MM is continuous in notional
  and each tier's extra notional is charged its own fraction.
- Equity ``e = m + q * (o - E)`` at the oracle (mark) price ``o``; liquidatable when
  ``e < MM(|q| * o)`` (Hyperliquid "Liquidations": account equity below maintenance margin).
- A liquidation closes the whole position by a market order (Hyperliquid sends the full size to
  the book first). The close trades at the market price less the order's own slippage:
  ``p * (1 - slip)`` for a long (a sale), ``p * (1 + slip)`` for a short (a purchase).
  ``liquidation_fee`` of the closed notional (dYdX v4 liquidation fee, paid to its insurance
  fund) is taken from what equity is left, never more; ``keeper_share`` of it goes to the
  keeper who triggered the liquidation (on-chain perps such as Perpetual Protocol v2 split the
  penalty between liquidator and insurance fund), the rest to the insurance fund.
- Negative equity after the close is the step's shortfall (``bad_debt``). The insurance fund
  pays it; what it cannot pay is socialised: the most profitable positions on the opposite side
  (ranked by unrealized profit at the oracle, as Hyperliquid's and dYdX v4's auto-deleveraging
  rank profitable opposite positions) give up profit in that order. We model this as a PnL
  haircut: the counterparty's profit is settled into its margin at the oracle price (entry
  reset to ``o``) and the haircut taken from it, so it never loses more than its profit and
  its size is kept. Real ADL also closes the counterparty at the bankrupt account's price;
  the USD transferred is the same, the book's exposure here stays (the conservative side).
  What even the opposite side's profit cannot cover stays uncovered (reported in detail).

Funding, the partial-liquidation cooldown and the backstop vault (margin-engine.md 2.4), all
off by default: funding is a cumulative index ``F`` (Hyperliquid docs "Funding", dYdX v4 docs
"Funding": hourly, rate = premium + interest clipped to a cap) that positions' equity reads
as ``m + q * ((o - F) - E)``; after a partial liquidation the position waits
``partial_cooldown`` steps (Hyperliquid "Liquidations": 30 seconds); below
``backstop_fraction`` of maintenance (Hyperliquid: 2/3) the liquidator vault takes the
position over at the oracle price with its equity. See ``Params`` and _path's comments.

Price impact is made symmetric: liquidated longs sell (the price falls by the linear or square
root model of margin-engine.md section 3), liquidated shorts buy (the price rises by the mirror
factor ``1 + impact``, capped at ``max_step_impact``). Within a step, sales and purchases are
netted first (they cross in the same book), then the net flow moves ``J``.

Rational keepers (margin-engine.md section 3): with ``market.liquidators.rational`` and a gas
cost, a keeper acts only if its reward ``keeper_share * fee`` exceeds the gas; otherwise the
position stays open and is counted unprofitable. With zero gas the liquidation always happens
(Hyperliquid and dYdX v4 liquidate inside the matching engine, without an outside keeper).

Speed (screening): a position's liquidation price, piecewise linear over the tiers and solved
per tier in ``liquidation_prices``, changes only when the position itself is touched. Longs
sorted by it descending and shorts ascending give two pointers per path: untouched positions
that can be liquidatable are a prefix of each order that grows as the oracle makes new lows
(longs) or new highs (shorts). Positions that joined the prefix, or whose margin was changed by
ADL, live in a per-path active list checked exactly every step. With a dynamic maintenance
fraction, keys are computed at the largest scale the screen covers (``_screen_scale``); in a step
whose scale exceeds it every untouched position is checked exactly, so results are always exact.
A position counted unprofitable whose keeper reward cannot pay the step's gas is parked out of
the pass (``_park``, ``_unpark``): the exact check could only leave it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from engine import rules
from engine._common import dynamic_threshold, switch_threshold
from engine._inputs import params_kwargs
from engine._parking import PK_N, bit_get, bit_move, bit_prev, bit_set, park, park_bucket
from engine._skeleton import (
    Mechanism,
    dynamic,
    gas,
    impact,
    market_step,
    market_tuple,
    path_state,
    record_end,
    record_step,
    run,
    slippage,
    write_results,
)
from engine.errors import EngineError, check_range, coerce_numbers
from engine.market import DynamicThreshold, MarketConditions

_TOL = 1e-9  # relative screening margin around a liquidation price
_MAX_SCALE = 2.0  # the screen covers dynamic maintenance fractions up to 2x the static ones
_MAX_FRACTION = 0.999  # a dynamic maintenance fraction is capped below 100 % of notional

# Columns of ``simulate_detail``'s ``extra`` array.
DETAIL_FIELDS = ("adl_events", "uncovered", "insurance_final")
# Per-path extra outputs (``simulate(..., extras=True)``): funding paid by the book's longs and
# by its shorts (USD, sum over funding events of rate * o * q; negative: received), the
# funding index F at the horizon (USD per unit; a position open throughout paid q * F), the
# backstop vault's profit and loss at the horizon (USD, including the margin it took over), how
# many positions it took over and the margin (equity) it took over with them, then the detail
# view's ADL events, shortfall nobody covered and insurance fund at the horizon.
EXTRA_FIELDS = (
    "funding_paid_longs",
    "funding_paid_shorts",
    "funding_index",
    "backstop_pnl",
    "backstop_takeovers",
    "backstop_margin",
    "adl_events",
    "uncovered",
    "insurance_final",
)

# Position status bits inside the kernel.
_ACTIVE = 1
_CLOSED = 2
_UNPROF = 4


@dataclass(frozen=True)
class Params:
    """Perp risk parameters, engine units (fractions of notional, USD).

    tier_floors: notional (USD) from which each tier applies; first 0, strictly increasing.
    tier_imf: initial margin fraction per tier (1 / max leverage), non-decreasing, <= 1.
    tier_mmf: maintenance margin fraction per tier, non-decreasing, ``0 < mmf < imf``.
    liquidation_fee: fraction of the closed notional (at the market price) charged on
        liquidation, taken from the equity left (never more).
    keeper_share: share of that fee paid to the keeper; the rest goes to the insurance fund.
    insurance_fund: starting insurance fund, USD.
    partial_fraction: share of the position a liquidation closes when its notional at the
        oracle is above ``partial_above_usd`` (Hyperliquid: 20 % at a time above 100,000 USDC,
        then a cooldown). 1 closes it whole.
    partial_above_usd: notional (USD) above which liquidations are partial; inf: never.
    partial_cooldown: steps that must pass after a partial liquidation before the position can
        be liquidated again (Hyperliquid "Liquidations": 30 seconds); it stays under watch
        meanwhile. Liquidated again at the earliest at step ``t + partial_cooldown``, so 0 and
        1 both mean the next step (the behaviour without it).
    funding_interval: steps between funding payments (Hyperliquid and dYdX v4: hourly); read
        only when funding is on.
    funding_interest: interest part of the funding rate, fraction per interval (Hyperliquid:
        0.01 % per 8 hours, 0.00125 % per hour).
    funding_cap: cap on the rate's size, fraction per interval (Hyperliquid: 4 % per hour);
        0 turns funding off (the default).
    funding_premium: a constant premium of the perp over its index, fraction per interval,
        added to the premium the liquidations' own impact makes and to ``simulate``'s optional
        ``premium`` series.
    backstop_fraction: a liquidatable position whose equity is below this share of its
        maintenance margin is taken over by the backstop vault at the oracle price with what
        margin it has left, instead of a market close (Hyperliquid's liquidator vault: 2/3);
        0 turns the backstop off (the default).
    dynamic: optional volatility-adjusted maintenance (margin-engine.md 2.5): the first tier's
        fraction is the threshold (``base``, sign +1) and every tier's fraction (and deduction)
        is scaled by ``threshold_t / mmf_0``, which keeps MM continuous across tiers.
    """

    tier_floors: tuple[float, ...] = (0.0,)
    tier_imf: tuple[float, ...] = (0.10,)
    tier_mmf: tuple[float, ...] = (0.05,)
    liquidation_fee: float = 0.0
    keeper_share: float = 0.0
    insurance_fund: float = 0.0
    partial_fraction: float = 1.0
    partial_above_usd: float = float("inf")
    dynamic: DynamicThreshold | None = None
    partial_cooldown: int = 0
    funding_interval: int = 1
    funding_interest: float = 0.0
    funding_cap: float = 0.0
    funding_premium: float = 0.0
    backstop_fraction: float = 0.0

    def __post_init__(self) -> None:
        coerce_numbers(self)
        for name in ("tier_floors", "tier_imf", "tier_mmf"):
            value = getattr(self, name)
            try:
                tup = tuple(float(x) for x in value)
            except TypeError:
                raise EngineError(f"{name} must be a sequence of numbers; got {value!r}") from None
            object.__setattr__(self, name, tup)
        fl, imf, mmf = self.tier_floors, self.tier_imf, self.tier_mmf
        if not fl or len(fl) != len(imf) or len(fl) != len(mmf):
            raise EngineError(
                "tier_floors, tier_imf and tier_mmf must be non-empty and of one length; "
                f"got lengths {len(fl)}, {len(imf)}, {len(mmf)}"
            )
        for n in range(len(fl)):
            check_range(f"tier_floors[{n}]", fl[n], 0.0, None)
            check_range(f"tier_imf[{n}]", imf[n], 0.0, 1.0, lo_open=True)
            check_range(f"tier_mmf[{n}]", mmf[n], 0.0, 1.0, lo_open=True)
        rules.raise_first(rules.perp_tiers(list(zip(fl, imf, mmf, strict=True))))
        check_range("liquidation_fee", self.liquidation_fee, 0.0, 1.0, hi_open=True)
        check_range("keeper_share", self.keeper_share, 0.0, 1.0)
        check_range("insurance_fund", self.insurance_fund, 0.0, None)
        if self.insurance_fund == float("inf"):
            raise EngineError("insurance_fund must be finite; got inf")
        check_range("partial_fraction", self.partial_fraction, 0.0, 1.0, lo_open=True)
        check_range("partial_above_usd", self.partial_above_usd, 0.0, None)
        for name in ("partial_cooldown", "funding_interval"):
            value = getattr(self, name)
            low = 1 if name == "funding_interval" else 0
            if not float(value).is_integer() or value < low:
                raise EngineError(f"{name} must be a whole number of steps >= {low}; got {value!r}")
            object.__setattr__(self, name, int(value))
        check_range("funding_interest", self.funding_interest, -1.0, 1.0, lo_open=True, hi_open=True)
        check_range("funding_cap", self.funding_cap, 0.0, 1.0, hi_open=True)
        check_range("funding_premium", self.funding_premium, -1.0, 1.0, lo_open=True, hi_open=True)
        check_range("backstop_fraction", self.backstop_fraction, 0.0, 1.0, hi_open=True)
        rules.raise_first(
            rules.perp_liquidation(
                partial_fraction=self.partial_fraction,
                backstop_fraction=self.backstop_fraction,
                funding_interval=self.funding_interval,
            )
        )
        if self.dynamic is not None and not isinstance(self.dynamic, DynamicThreshold):
            raise EngineError(f"dynamic must be a DynamicThreshold or None; got {self.dynamic!r}")

    @property
    def deductions(self) -> np.ndarray:
        """Maintenance deduction per tier, USD (Hyperliquid's recursion), float64[K]."""
        return maintenance_deductions(self.tier_floors, self.tier_mmf)


@dataclass(frozen=True)
class Book:
    """Positions, one row each, float64[N]: ``size`` (signed units, != 0), ``entry_price``
    (USD per unit, > 0) and ``margin`` (USD, >= 0)."""

    size: np.ndarray
    entry_price: np.ndarray
    margin: np.ndarray

    def __post_init__(self) -> None:
        arrs = {}
        for name in ("size", "entry_price", "margin"):
            a = np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            if a.ndim != 1:
                raise EngineError(f"book.{name} must be a 1-d array; got shape {a.shape}")
            if not np.all(np.isfinite(a)):
                raise EngineError(f"book.{name} must be finite; got {a[~np.isfinite(a)][0]!r}")
            arrs[name] = a
        n = arrs["size"].shape[0]
        if n == 0 or any(a.shape[0] != n for a in arrs.values()):
            raise EngineError(
                "book.size, book.entry_price and book.margin must be non-empty and of one "
                f"length; got {[a.shape[0] for a in arrs.values()]}"
            )
        if np.any(arrs["size"] == 0):
            raise EngineError("book.size must be != 0 (signed units; > 0 long, < 0 short); got 0.0")
        if np.any(arrs["entry_price"] <= 0):
            raise EngineError(f"book.entry_price must be in (0, inf); got {arrs['entry_price'].min()!r}")
        if np.any(arrs["margin"] < 0):
            raise EngineError(f"book.margin must be in [0, inf); got {arrs['margin'].min()!r}")
        for name, a in arrs.items():
            object.__setattr__(self, name, a)

    def __len__(self) -> int:
        return int(self.size.shape[0])


def params_from_dict(d: dict) -> Params:
    """Params from a plain dict (JSON).

    Tiers either as ``tiers: [{"floor": 0, "imf": 0.1, "mmf": 0.05}, ...]`` or as the three
    lists ``tier_floors``, ``tier_imf``, ``tier_mmf``; ``dynamic`` may be a dict of
    DynamicThreshold fields.
    """
    kw = params_kwargs(Params, d, "perp", extra=frozenset({"tiers"}))
    tiers = kw.pop("tiers", None)
    if tiers is not None:
        if any(k in kw for k in ("tier_floors", "tier_imf", "tier_mmf")):
            raise EngineError(
                "give perp tiers either as 'tiers' or as tier_floors/tier_imf/tier_mmf, not both"
            )
        try:
            kw["tier_floors"] = tuple(t["floor"] for t in tiers)
            kw["tier_imf"] = tuple(t["imf"] for t in tiers)
            kw["tier_mmf"] = tuple(t["mmf"] for t in tiers)
        except (KeyError, TypeError):
            raise EngineError(f"tiers must be a list of {{'floor', 'imf', 'mmf'}}; got {tiers!r}") from None
    return Params(**kw)


def book_from_arrays(d: dict[str, np.ndarray]) -> Book:
    """Book from arrays ``size``, ``entry_price`` and ``margin``."""
    for key in ("size", "entry_price", "margin"):
        if key not in d:
            raise EngineError(f"perp book needs array {key!r}; got keys {sorted(d)}")
    return Book(
        size=np.asarray(d["size"], dtype=np.float64),
        entry_price=np.asarray(d["entry_price"], dtype=np.float64),
        margin=np.asarray(d["margin"], dtype=np.float64),
    )


def maintenance_deductions(floors: tuple[float, ...], mmf: tuple[float, ...]) -> np.ndarray:
    """Hyperliquid's maintenance deduction per tier (docs "Margin tiers"), USD, float64[K]:
    ``deduction_0 = 0``, ``deduction_n = deduction_{n-1} + floor_n * (mmf_n - mmf_{n-1})``."""
    ded = np.zeros(len(floors))
    for n in range(1, len(floors)):
        ded[n] = ded[n - 1] + floors[n] * (mmf[n] - mmf[n - 1])
    return ded


def maintenance_margin(params: Params, notional: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Maintenance margin ``scale * (n * mmf(tier(n)) - deduction(tier(n)))``, USD, same shape as
    ``notional`` (USD, >= 0). ``scale`` is the dynamic factor (1 when static)."""
    n = np.asarray(notional, dtype=np.float64)
    fl = np.asarray(params.tier_floors)
    tier = np.searchsorted(fl, n, side="right") - 1
    mmf = np.asarray(params.tier_mmf)
    return scale * (n * mmf[tier] - params.deductions[tier])


def liquidation_prices(params: Params, book: Book, scale: float = 1.0) -> np.ndarray:
    """Oracle price at which each position's equity meets its maintenance margin, float64[N].

    A long is liquidatable when ``o`` is below its price (0: never, it is not levered enough),
    a short when ``o`` is above its price. ``e - MM`` is monotone in ``o`` (increasing for a
    long while ``scale * mmf < 1``, decreasing for a short), so the root is found by locating
    the tier whose boundaries bracket it and solving that tier's linear equation:
    long ``o = (q E - m - s D_k) / (q (1 - s mmf_k))``,
    short ``o = (m + a E + s D_k) / (a (1 + s mmf_k))`` with ``a = |q|``.
    """
    q, E, m = book.size, book.entry_price, book.margin
    a = np.abs(q)
    fl = np.asarray(params.tier_floors)
    mmf = np.asarray(params.tier_mmf) * scale
    ded = params.deductions * scale
    ob = fl[None, :] / a[:, None]  # tier boundaries in price, (N, K)
    mm_b = fl[None, :] * mmf[None, :] - ded[None, :]  # MM at each boundary, (N, K)
    e_b = m[:, None] + q[:, None] * (ob - E[:, None])  # equity at each boundary
    gap = e_b - mm_b
    long = q > 0
    # The root's tier: the last boundary still on the liquidatable side (gap < 0 for a long,
    # gap > 0 for a short: below the root a short is safe).
    k = np.where(long, np.sum(gap < 0, axis=1), np.sum(gap > 0, axis=1)) - 1
    kk = np.maximum(k, 0)
    mk, dk = mmf[kk], ded[kk]
    with np.errstate(divide="ignore", invalid="ignore"):
        lp_long = (q * E - m - dk) / (q * (1.0 - mk))
        lp_short = (m + a * E + dk) / (a * (1.0 + mk))
    out = np.where(long, lp_long, lp_short)
    return np.where(long & (k < 0), 0.0, out)


def _screen_scale(params: Params) -> tuple[float, float]:
    """(largest dynamic scale used, largest scale the screen's keys cover)."""
    mmf = params.tier_mmf
    s_max = _MAX_FRACTION / mmf[-1]
    dyn = params.dynamic
    if dyn is None or dyn.k_vol == 0.0:
        return s_max, 1.0
    bound = min(dyn.cap / mmf[0], _MAX_SCALE, s_max)
    return s_max, max(1.0, bound)


def _screening(params: Params, book: Book, scale: float) -> tuple:
    lp = liquidation_prices(params, book, scale)
    q = book.size
    longs = np.flatnonzero(q > 0)
    shorts = np.flatnonzero(q < 0)
    lo = longs[np.argsort(-lp[longs], kind="stable")].astype(np.int64)
    so = shorts[np.argsort(lp[shorts], kind="stable")].astype(np.int64)
    # Keys widened by the tolerance so that rounding in the exact check cannot escape the screen.
    lk = np.ascontiguousarray(lp[lo] * (1.0 + _TOL) + 1e-300)
    sk = np.ascontiguousarray(lp[so] * (1.0 - _TOL))
    return lo, lk, so, sk


def _set_args(params: Params, book: Book) -> tuple[tuple, tuple]:
    """One parameter set for the kernel: its scalars (the order ``_load`` reads them) and its
    arrays (tiers, deductions, and the screen built on its liquidation prices)."""
    s_max, s_bound = _screen_scale(params)
    dyn = params.dynamic or DynamicThreshold()
    row = (
        float(params.liquidation_fee),
        float(params.keeper_share),
        float(params.insurance_fund),
        float(params.partial_fraction),
        float(params.partial_above_usd),
        s_max,
        s_bound,
    ) + dyn.kernel_args()
    # The funding index's slopes (see _path): a key moves by at most these multiples of F.
    mmf_lo, mmf_hi = s_bound * params.tier_mmf[0], s_bound * params.tier_mmf[-1]
    row += (
        float(params.funding_interval),
        float(params.funding_interest),
        float(params.funding_cap),
        float(params.funding_premium),
        float(params.partial_cooldown),
        float(params.backstop_fraction),
        1.0 / (1.0 - mmf_hi),
        1.0 / (1.0 - mmf_lo),
        1.0 / (1.0 + mmf_hi),
        1.0 / (1.0 + mmf_lo),
    )
    arrays = (np.asarray(params.tier_floors), np.asarray(params.tier_mmf), params.deductions)
    return row, arrays + _screening(params, book, s_bound)


def _prepare(
    params: Params,
    after: Params,
    book: Book,
    s: np.ndarray,
    market: MarketConditions,
    premium: np.ndarray | None = None,
) -> tuple:
    sets = [_set_args(params, book), _set_args(after, book)]
    if premium is None:
        prem = np.zeros((0, 0))
    else:
        prem = np.ascontiguousarray(premium, dtype=np.float64)
        want = (s.shape[0], s.shape[1] - 1)
        if prem.shape != want:
            raise EngineError(
                f"premium must be float64[M, T] = {want} (one value per path and step); got {prem.shape}"
            )
        if not np.all(np.isfinite(prem)):
            raise EngineError("premium must be finite")
    data = (book.size, book.entry_price, book.margin, *sets[0][1], *sets[1][1], *_adl_order(book), prem)
    return data, (sets[0][0], sets[1][0]), market_tuple(market)


def _detail_arrays(book: Book, s: np.ndarray, track: bool) -> tuple:
    """``det``: float64[M, len(EXTRA_FIELDS)] per-path extras (always), float64[M, N] margin,
    entry price, size, payout, exec price and realized PnL, int8[M, N] status and float64[M, 3]
    ``extra`` (all but the first empty when not tracking)."""
    m, n = (s.shape[0], len(book)) if track else (0, 0)
    fin_m, fin_e, fin_q = np.zeros((m, n)), np.zeros((m, n)), np.zeros((m, n))
    payout, px, realized = np.zeros((m, n)), np.zeros((m, n)), np.zeros((m, n))
    extra = np.zeros((m, len(DETAIL_FIELDS) if track else 0))
    ex = np.zeros((s.shape[0], len(EXTRA_FIELDS)))
    return ex, fin_m, fin_e, fin_q, payout, px, realized, np.zeros((m, n), np.int8), extra


def _detail_view(det: tuple) -> dict:
    _, fin_m, fin_e, fin_q, payout, px, realized, status, extra = det
    return {
        "extra": extra,
        "margin": fin_m,
        "entry_price": fin_e,
        "size": fin_q,
        "payout": payout,
        "exec_price": px,
        "realized": realized,
        "status": status,
    }


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
    premium: np.ndarray | None = None,
) -> np.ndarray | tuple:
    """Run the book of perp positions over every price path.

    Parameters
    ----------
    params, book, market: see Params, Book, engine.market.MarketConditions.
    prices: float64[M, T+1], exogenous market price S (USD per unit).
    switch: optional ``(k, params_after)``: ``params`` on steps 0..k-1, ``params_after`` from
        step k on, the book, paths and state carried over (margin-engine.md section 4;
        docs/engine.md). ``k >= T`` never switches.
    full_scan: re-examine every position counted unprofitable at every step instead of skipping
        the ones whose keeper reward provably cannot pay the gas (the tests' reference).
    extras: also return the per-path extras (``EXTRA_FIELDS``: funding paid, the backstop
        vault's profit and loss and takeovers, ADL events, uncovered shortfall, insurance fund
        at the horizon) as a dict of float64[M], last in the returned tuple.
    premium: optional float64[M, T], the perp's premium over its index at each step
        (fraction), a scenario's series; a funding payment averages it over the interval's
        steps, with the liquidations' own premium and ``params.funding_premium``.

    Returns
    -------
    float64[M, len(RESULT_FIELDS)], columns in the order of ``engine._common.RESULT_FIELDS``:
    ``bad_debt`` is the negative equity left by liquidations (USD, before anyone covers it);
    ``insurance_used`` and ``socialized_loss`` (ADL) are the parts covered; ``liq_volume`` is
    the notional closed at the oracle price and ``collateral_sold_usd`` at the market price;
    ``penalty`` the liquidation fees paid, split into ``protocol_fees`` (insurance fund) and
    ``keeper_rewards``; ``unrealized_bad_debt`` the negative equity of open positions at the
    horizon's market price; ``insolvent`` 1 when a shortfall exceeded the insurance fund.
    Rows depend only on their own path: ``prices[a:b]`` alone gives rows ``a:b`` bit for bit.
    With ``record_steps`` (optional int64[K], sorted steps in 0..T): ``(per_path, series)``,
    series a dict of float64[M, K] by ``engine._common.SERIES_FIELDS`` (market price,
    cumulative ``liq_volume`` and ``bad_debt``, USD, at the end of each recorded step).
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
        premium=premium,
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
    extras: bool = False,
    premium: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """``simulate`` plus each position's state at the horizon (tests, audits; memory M * N * 49 bytes).

    Returns a dict: ``per_path`` float64[M, F]; ``extra`` float64[M, 3] (``DETAIL_FIELDS``: ADL
    events, shortfall nobody covered, insurance fund at the horizon); float64[M, N]
    ``margin``, ``entry_price`` and ``size`` (after ADL settlements and partial liquidations;
    as at closing for closed positions), ``payout`` (USD returned to the trader at the final
    liquidation), ``exec_price`` (last close price, 0 if never liquidated), ``realized``
    (sum over its liquidations of units closed times ``exec - entry_price0``: trading PnL
    against the original entry); int8[M, N] ``status`` (bit 1 active, 2 closed, 4 counted
    unprofitable). With ``extras``, ``"extras"`` as in ``simulate``.
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
        extras=extras,
        premium=premium,
    )


@njit(cache=True, inline="always")
def _load(pv, row):
    """Liquidation fee, keeper share, partial fraction and threshold, the dynamic scale's
    largest value and the screen's (the insurance fund, index 2, is read once)."""
    r = pv[row]
    return r[0], r[1], r[3], r[4], r[5], r[6]


@njit(cache=True, inline="always")
def _load_more(pv, row):
    """Funding interval (steps), interest, cap and constant premium; the partial cooldown
    (steps); the backstop fraction; the funding index's slopes for the screen (long when F > 0,
    long when F < 0, short when F > 0, short when F < 0)."""
    r = pv[row]
    return int(r[13]), r[14], r[15], r[16], int(r[17]), r[18], r[19], r[20], r[21], r[22]


@njit(cache=True, inline="always")
def _tier(floors, n):
    k = floors.shape[0] - 1
    while k > 0 and floors[k] > n:
        k -= 1
    return k


def _adl_order(book: Book) -> tuple:
    """Per side, positions by ``|size|`` descending (stable) with those sizes, and the entry
    bound: the highest short entry (a short's entry only falls when ADL settles it) and the
    lowest long entry (a long's only rises)."""
    q, E = book.size, book.entry_price
    out = []
    for sel in (q > 0, q < 0):
        idx = np.flatnonzero(sel)
        idx = idx[np.argsort(-np.abs(q[idx]), kind="stable")].astype(np.int64)
        out += [idx, np.ascontiguousarray(np.abs(q[idx]))]
    e_min_long = float(E[q > 0].min()) if np.any(q > 0) else 0.0
    e_max_short = float(E[q < 0].max()) if np.any(q < 0) else 0.0
    return (*out, e_min_long, e_max_short)


@njit(cache=True)
def _screen_key(qi, Ei, mi, floors, mmf, ded, s):
    """One position's liquidation price at scale ``s`` (as ``liquidation_prices``), widened by
    the screening tolerance: a long can be liquidatable only at ``o <= key``, a short only at
    ``o >= key``."""
    a = abs(qi)
    cnt = 0
    for k in range(floors.shape[0]):
        gap = mi + qi * (floors[k] / a - Ei) - s * (floors[k] * mmf[k] - ded[k])
        if (qi > 0.0 and gap < 0.0) or (qi < 0.0 and gap > 0.0):
            cnt += 1
    k = max(cnt - 1, 0)
    if qi > 0.0:
        if cnt == 0:
            return 0.0
        return (qi * Ei - mi - s * ded[k]) / (qi * (1.0 - s * mmf[k])) * (1.0 + _TOL) + 1e-300
    return (mi + a * Ei + s * ded[k]) / (a * (1.0 + s * mmf[k])) * (1.0 - _TOL)


@njit(cache=True, inline="always")
def _before(pa, ia, pb, ib):
    """ADL rank: larger profit first, then lower index."""
    return pa > pb or (pa == pb and ia < ib)


@njit(cache=True)
def _heap_push(hp, hi, n, pr, idx):
    j = n
    hp[j] = pr
    hi[j] = idx
    while j > 0:
        parent = (j - 1) // 2
        if _before(hp[j], hi[j], hp[parent], hi[parent]):
            hp[j], hp[parent] = hp[parent], hp[j]
            hi[j], hi[parent] = hi[parent], hi[j]
            j = parent
        else:
            break
    return n + 1


@njit(cache=True)
def _heap_pop(hp, hi, n):
    n -= 1
    hp[0] = hp[n]
    hi[0] = hi[n]
    j = 0
    while True:
        left = 2 * j + 1
        if left >= n:
            break
        best = left
        if left + 1 < n and _before(hp[left + 1], hi[left + 1], hp[left], hi[left]):
            best = left + 1
        if _before(hp[best], hi[best], hp[j], hi[j]):
            hp[j], hp[best] = hp[best], hp[j]
            hi[j], hi[best] = hi[best], hi[j]
            j = best
        else:
            break
    return n


@njit(cache=True)
def _adl(rem, side, q, E, m, status, o, by_size, size0, bound_price, hp, hi, touched):
    """Haircut the most profitable open positions of sign ``side`` until ``rem`` USD is covered.

    Counterparties are taken in descending order of unrealized profit ``q * (o - E)`` (ties:
    lowest index); each one's profit is settled into its margin at ``o`` (entry reset to
    ``o``) and the haircut taken from it, so it never loses more than its profit. Returns
    (covered, events); the touched positions' indices are written to ``touched[:events]``.

    Without sorting the whole side: positions are visited by original size ``|q0|``
    descending into a heap, and a position's profit is at most ``|q0| * bound`` (``bound`` =
    o minus the lowest long entry, or the highest short entry minus o: entries only move
    towards o, sizes only shrink). The heap's best is taken once it beats that bound for every
    position not yet visited, which gives exactly the order of a full sort.
    """
    B = (o - bound_price) if side > 0 else (bound_price - o)
    n_side = by_size.shape[0]
    covered = 0.0
    events = 0
    if not B > 0.0:
        return covered, events
    ptr = 0
    nh = 0
    while rem > 0.0:
        while ptr < n_side and (nh == 0 or not hp[0] > size0[ptr] * B):
            i = by_size[ptr]
            ptr += 1
            if (status[i] & _CLOSED) == 0:
                pr = q[i] * (o - E[i])
                if pr > 0.0:
                    nh = _heap_push(hp, hi, nh, pr, i)
        if nh == 0:
            break
        i = hi[0]
        pr = hp[0]
        nh = _heap_pop(hp, hi, nh)
        h = min(rem, pr)
        m[i] = m[i] + pr - h
        E[i] = o
        rem -= h
        covered += h
        touched[events] = i
        events += 1
    return covered, events


# Positions counted unprofitable whose keeper reward cannot pay the step's gas are "parked":
# taken out of the active-list pass (their bit cleared) and filed by size, so a step does not
# visit them; the list and its order (a step's sums run in it) are unchanged. A step first
# unparks the sizes its bound no longer covers. Parked positions are no-ops of the pass
# (the buckets and bits: engine/_parking.py, shared with engine/cross.py).
@njit(cache=True)
def _unpark(pk, vis, slot, a_key, a_side, skip_q, max_long, min_short, pst):
    """Unpark every position whose size may reach ``skip_q``; returns (max_long, min_short)
    widened by their keys."""
    n = pk.shape[0] - PK_N
    b0 = max(park_bucket(skip_q) - 1, pst[1])
    for b in range(b0, pst[2] + 1):
        head = n + b
        x = pk[head, 0]
        while x != head:
            j = slot[x]
            bit_set(vis, j)
            if a_side[j] > 0.0:
                if a_key[j] > max_long:
                    max_long = a_key[j]
            elif a_key[j] < min_short:
                min_short = a_key[j]
            pst[0] -= 1
            x = pk[x, 0]
        pk[head, 0] = head
        pk[head, 1] = head
    if b0 <= pst[2]:
        pst[2] = b0 - 1
    if pst[0] == 0:
        pst[1] = PK_N
        pst[2] = -1
    return max_long, min_short


def _kernel(S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser):
    """The skeleton's kernel (engine._skeleton): paths in parallel.

    Two compiled variants of one path function: ``_paths_extended`` when either parameter set
    has funding (a cap above 0), a partial cooldown or a backstop, ``_paths_plain`` otherwise.
    In the plain one those branches are removed at compile time (``ext`` is None, numba prunes
    ``ext is not None``); carried while off, they made the default run 24-27 % slower
    (benchmarks/engine.py, one thread's CPU time). Both give the same results when they are off.
    """
    extended = bool(np.any(pv[:, 15] > 0.0) or np.any(pv[:, 17] > 0.0) or np.any(pv[:, 18] > 0.0))
    kernel = _paths_extended if extended else _paths_plain
    kernel(S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser)


@njit(cache=True, parallel=True)
def _paths_plain(S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser):
    """``_kernel`` without funding, cooldown and backstop: paths in parallel."""
    M = S.shape[0]
    for mi in prange(M):
        _path(mi, S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser, None)


@njit(cache=True, parallel=True)
def _paths_extended(S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser):
    """``_kernel`` with funding, cooldown and backstop: paths in parallel."""
    M = S.shape[0]
    for mi in prange(M):
        _path(mi, S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser, 1)


@njit(cache=True)
def _path(mi, S, data, pv, ksw, mk, full_scan, track, det, out, rec, ser, ext):
    """Path ``mi`` of the kernel: compiled once per variant, the parallel loop only calls it.
    ``ext`` None: funding, the partial cooldown and the backstop are off and their branches are
    not compiled (``ext is not None`` is decided by the argument's type)."""
    (
        q0,
        E0,
        m0,
        floors_a,
        mmf_a,
        ded_a,
        lo_a,
        lk_a,
        so_a,
        sk_a,
        floors_b,
        mmf_b,
        ded_b,
        lo_b,
        lk_b,
        so_b,
        sk_b,
        adl_long,
        adl_long_q,
        adl_short,
        adl_short_q,
        e_min_long,
        e_max_short,
        prem,
    ) = data
    ex, fin_m, fin_e, fin_q, payout, px_out, realized, st_out, extra = det
    rational = mk[8]
    T = S.shape[1] - 1
    N = q0.shape[0]
    nL = lo_a.shape[0]
    nS = so_a.shape[0]
    # The parameter set in force: row 0 of pv with the first arrays, row 1 with the second
    # from step ksw (margin-engine.md section 4).
    floors, mmf, ded, lo, lk, so, sk = floors_a, mmf_a, ded_a, lo_a, lk_a, so_a, sk_a
    liq_fee, keeper_share, part_f, part_above, s_max, s_bound = _load(pv, 0)
    k_vol, horizon, upd, lam, dfloor, dcap = dynamic(pv, 0, 7)
    f_int, f_rate0, f_cap, f_prem, cool, bs_f, cl_pos, cl_neg, cs_pos, cs_neg = _load_more(pv, 0)
    mmf0 = mmf[0]
    dyn = k_vol != 0.0
    # Funding (margin-engine.md 2.4) is a cumulative index F, USD per unit of size, as the
    # venues keep it (Hyperliquid "Funding", dYdX v4 "Funding": paid hourly): a position's
    # equity is m + q * ((o - F) - E), E being the entry net of the index when the position was
    # opened or last settled, so a payment touches no position. Funding is on when either set
    # has a cap above 0; off, F stays 0.0 and o - F is o itself, bit for bit.
    fund_any = pv[0, 15] > 0.0 or pv[1, 15] > 0.0
    has_prem = prem.shape[1] > 0
    F = 0.0
    psum = 0.0  # premium summed over the interval's steps so far
    n_since = 0  # steps since the last payment
    J_prev = 1.0
    q_long = 0.0  # open size of the book's longs and shorts (the funding they pay)
    q_short = 0.0
    for i in range(N):
        if q0[i] > 0.0:
            q_long += q0[i]
        else:
            q_short += q0[i]
    paid_long = 0.0
    paid_short = 0.0
    # The backstop vault (Hyperliquid "Liquidations", backstop liquidation by the liquidator
    # vault): its net size, the cost of what it took over at the effective price o - F, and
    # the equity it took over with it.
    v_q = 0.0
    v_cost = 0.0
    v_margin = 0.0
    n_bs = 0.0
    bs_any = pv[0, 18] > 0.0 or pv[1, 18] > 0.0
    last_part = np.full(N, -(1 << 40), np.int64)  # step of each position's last partial close
    # Starting amounts (the insurance fund) are those of the set in force at step 0.
    if0 = pv[1 if ksw == 0 else 0, 2]
    m = m0.copy()
    E = E0.copy()
    q = q0.copy()
    status = np.zeros(N, np.int8)
    # Without gas nothing is parked; with the backstop neither (it needs no keeper, so a
    # position whose keeper reward cannot pay the gas may still be taken over).
    parking = rational and not full_scan and mk[9] > 0.0 and not bs_any
    npk = N if parking else 0
    vis = np.zeros((N >> 6) + 1, np.uint64)  # bit j: active entry j is visited
    pk = np.empty((npk + PK_N, 2), np.int64)  # parked by size: next, prev; heads at npk + b
    for b in range(PK_N):
        pk[npk + b, 0] = npk + b
        pk[npk + b, 1] = npk + b
    pst = np.zeros(3, np.int64)  # parked count, lowest and highest bucket used
    pst[1] = PK_N
    pst[2] = -1
    # Active list, contiguous: index, screening key (liquidation price at s_bound), side.
    act = np.empty(N, np.int64)
    a_key = np.empty(N)
    a_side = np.empty(N)
    slot = np.empty(N, np.int64)  # where an active position sits in the list
    na = 0
    # Bounds on the active keys: no active long can be liquidatable while o > max_long,
    # no active short while o < min_short (kept conservative, tightened at each pass).
    max_long = -np.inf
    min_short = np.inf
    heap_p = np.empty(N)
    heap_i = np.empty(N, np.int64)
    touched = np.empty(N, np.int64)
    p_hist, ostate, dstate = path_state(T, mmf0)
    J = 1.0
    peak = 0.0
    ins = if0
    bad = 0.0
    nliq = 0.0
    vol = 0.0
    sold_usd = 0.0
    pen = 0.0
    prot = 0.0
    keep = 0.0
    ins_used = 0.0
    social = 0.0
    uncovered = 0.0
    n_unprof = 0.0
    adl_events = 0.0
    insolvent = 0.0
    lp = 0
    sp = 0
    ri = 0  # pointer into rec: next step to record
    n_rec = rec.shape[0]  # recorded steps (record_step)
    for t in range(T):
        if ri < n_rec and rec[ri] < t:
            ri = record_step(rec, ri, t, ser, mi, p_hist, vol, bad)
        if t == ksw:
            kv_old, mmf0_old = k_vol, mmf0
            floors, mmf, ded, lo, lk, so, sk = floors_b, mmf_b, ded_b, lo_b, lk_b, so_b, sk_b
            liq_fee, keeper_share, part_f, part_above, s_max, s_bound = _load(pv, 1)
            k_vol, horizon, upd, lam, dfloor, dcap = dynamic(pv, 1, 7)
            f_int, f_rate0, f_cap, f_prem, cool, bs_f, cl_pos, cl_neg, cs_pos, cs_neg = _load_more(pv, 1)
            mmf0 = mmf[0]
            dyn = k_vol != 0.0
            switch_threshold(dstate, mmf0_old, mmf0, kv_old, dfloor, dcap)
            # The screen's keys are liquidation prices under the tiers, so they change
            # with the set: the untouched positions are screened again from the start of
            # the new set's orders, and the active ones get keys under the new tiers.
            lp = 0
            sp = 0
            max_long = -np.inf
            min_short = np.inf
            for j in range(na):
                i = act[j]
                a_key[j] = _screen_key(q[i], E[i], m[i], floors, mmf, ded, s_bound)
                if a_side[j] > 0.0:
                    max_long = max(max_long, a_key[j])
                else:
                    min_short = min(min_short, a_key[j])
        # 1. market price and oracle (margin-engine.md section 4).
        p, peak, o = market_step(S, mi, t, J, peak, p_hist, ostate, mk)
        s = 1.0
        if dyn:
            th = dynamic_threshold(dstate, o, t, mmf0, 1.0, k_vol, horizon, upd, lam, dfloor, dcap)
            s = min(th / mmf0, s_max)
        if ext is not None and fund_any:
            # The interval's premium: the move of J that the last step's net liquidation flow
            # made (the perp against its index, margin-engine.md 2.4), plus the scenario's.
            if t > 0:
                psum += J / J_prev - 1.0
                if has_prem:
                    psum += prem[mi, t - 1]
                n_since += 1
            J_prev = J
            if n_since >= f_int:
                if f_cap > 0.0:
                    rate = min(max(psum / n_since + f_prem + f_rate0, -f_cap), f_cap)
                    F += rate * o
                    paid_long += rate * o * q_long
                    paid_short += rate * o * q_short
                psum = 0.0
                n_since = 0
        oe = o - F  # the effective price every position's equity is marked at
        x_long = o
        x_short = o
        # The screen's keys are liquidation prices at F = 0; a key moves with F by a slope
        # within the tiers' range (1 / (1 - mmf) for a long, 1 / (1 + mmf) for a short), so
        # o - slope * F, with the slope that makes it the lower (long) or upper (short) bound,
        # is compared with the keys. F = 0: both are o.
        if ext is not None:
            x_long = o - (cl_pos if F > 0.0 else cl_neg) * F
            x_short = o - (cs_pos if F > 0.0 else cs_neg) * F
        # Untouched positions whose liquidation price the oracle reached join the active list.
        while lp < nL and lk[lp] >= x_long:
            i = lo[lp]
            if status[i] == 0:
                status[i] = _ACTIVE
                act[na] = i
                a_key[na] = lk[lp]
                a_side[na] = 1.0
                slot[i] = na
                if parking:
                    bit_set(vis, na)
                na += 1
                if lk[lp] > max_long:
                    max_long = lk[lp]
            lp += 1
        while sp < nS and sk[sp] <= x_short:
            i = so[sp]
            if status[i] == 0:
                status[i] = _ACTIVE
                act[na] = i
                a_key[na] = sk[sp]
                a_side[na] = -1.0
                slot[i] = na
                if parking:
                    bit_set(vis, na)
                na += 1
                if sk[sp] < min_short:
                    min_short = sk[sp]
            sp += 1
        wide = s > s_bound
        if wide:
            # The dynamic fraction went beyond what the keys cover: check the rest exactly.
            for i in range(N):
                if status[i] == 0:
                    a = abs(q[i])
                    n = a * o
                    kt = _tier(floors, n)
                    if m[i] + q[i] * (oe - E[i]) < s * (n * mmf[kt] - ded[kt]):
                        status[i] = _ACTIVE
                        act[na] = i
                        a_key[na] = _screen_key(q[i], E[i], m[i], floors, mmf, ded, s_bound)
                        a_side[na] = 1.0 if q[i] > 0.0 else -1.0
                        slot[i] = na
                        if parking:
                            bit_set(vis, na)
                        na += 1
        # A position already counted unprofitable whose size is under this cannot pay now:
        # the keeper's reward is at most keeper_share * liquidation_fee * |q| * p. The pass
        # would do nothing with it, liquidatable or not: such positions are parked (not
        # visited); those the bound no longer covers are unparked first.
        skip_q = -1.0
        if parking:
            gas_t = gas(mk, p, peak)
            per_unit = keeper_share * liq_fee * p * (1.0 + 1e-9)
            skip_q = gas_t * (1.0 - 1e-9) / per_unit if per_unit > 0.0 else np.inf
            if pst[0] > 0 and skip_q < np.inf:
                max_long, min_short = _unpark(pk, vis, slot, a_key, a_side, skip_q, max_long, min_short, pst)
        if na == 0 or (not wide and x_long > max_long and x_short < min_short):
            continue
        # 2. exact check of the active positions, all against the same o and p.
        g = gas(mk, p, peak)
        sells = 0.0
        buys = 0.0
        short_l = 0.0  # shortfall left by liquidated longs (covered by shorts' profit)
        short_s = 0.0
        fee_if = 0.0
        new_max = -np.inf
        new_min = np.inf
        j = na - 1
        while j >= 0:
            if parking and not bit_get(vis, j):
                j = bit_prev(vis, j)  # the next entry below that is not parked
                if j < 0:
                    break
            # Quick screen on the cached liquidation price (valid while s <= s_bound).
            xo = x_long if a_side[j] > 0.0 else x_short
            if not wide and (xo - a_key[j]) * a_side[j] > 0.0:
                if a_side[j] > 0.0:
                    if a_key[j] > new_max:
                        new_max = a_key[j]
                elif a_key[j] < new_min:
                    new_min = a_key[j]
                j -= 1
                continue
            i = act[j]
            if abs(q[i]) < skip_q and (status[i] & _UNPROF) != 0:
                park(pk, vis, pst, i, j, abs(q[i]))
                j -= 1
                continue
            qi = q[i]
            a = abs(qi)
            n = a * o
            kt = _tier(floors, n)
            e = m[i] + qi * (oe - E[i])
            keep_open = True
            mm_i = s * (n * mmf[kt] - ded[kt])
            if ext is not None and e < mm_i and bs_f > 0.0 and e < bs_f * mm_i:
                # Backstop liquidation (Hyperliquid: equity below 2/3 of the maintenance
                # margin): the vault takes the position over at the oracle price with the
                # equity left, no market order and no impact. Negative equity taken over is
                # the vault's loss, not bad debt: the insurance fund and ADL are not called.
                nliq += 1.0
                vol += n
                n_bs += 1.0
                v_q += qi
                v_cost += qi * oe
                v_margin += e
                if qi > 0.0:
                    q_long -= qi
                else:
                    q_short -= qi
                if track:
                    realized[mi, i] += qi * (o - E0[i])
                    px_out[mi, i] = o
                status[i] = (status[i] & _UNPROF) | _CLOSED
                keep_open = False
                na -= 1
                act[j] = act[na]
                a_key[j] = a_key[na]
                a_side[j] = a_side[na]
                slot[act[j]] = j
                if parking:
                    bit_move(vis, na, j)
            elif ext is not None and e < mm_i and t - last_part[i] < cool:
                pass  # partially liquidated less than the cooldown ago: stays under watch
            elif e < mm_i:
                # Partial close (Hyperliquid: 20 % of a large position at a time) unless the
                # position would be bankrupt at the partial's price: then it closes whole.
                f = 1.0
                if part_f < 1.0 and n > part_above:
                    f = part_f
                val = f * a * p
                slip = slippage(mk, val)
                pxi = p * (1.0 - slip) if qi > 0.0 else p * (1.0 + slip)
                if f < 1.0 and not m[i] + qi * ((pxi - F) - E[i]) > 0.0:
                    f = 1.0
                    val = a * p
                    slip = slippage(mk, val)
                    pxi = p * (1.0 - slip) if qi > 0.0 else p * (1.0 + slip)
                ec = m[i] + f * qi * ((pxi - F) - E[i])  # margin after the closed part's PnL
                fee = min(liq_fee * val, max(ec, 0.0))
                reward = keeper_share * fee
                if rational and g > 0.0 and not reward > g:
                    if (status[i] & _UNPROF) == 0:
                        status[i] |= _UNPROF
                        n_unprof += 1.0
                else:
                    nliq += 1.0
                    vol += f * n
                    sold_usd += val
                    pen += fee
                    keep += reward
                    fee_if += fee - reward
                    if qi > 0.0:
                        sells += val
                    else:
                        buys += val
                    if track:
                        realized[mi, i] += f * qi * (pxi - E0[i])
                        px_out[mi, i] = pxi
                    if qi > 0.0:
                        q_long -= f * qi
                    else:
                        q_short -= f * qi
                    if f < 1.0:
                        m[i] = ec - fee  # > 0: the rest stays open with this margin
                        q[i] = qi - f * qi
                        last_part[i] = t
                        a_key[j] = _screen_key(q[i], E[i], m[i], floors, mmf, ded, s_bound)
                    else:
                        if ec < 0.0:
                            if qi > 0.0:
                                short_l -= ec
                            else:
                                short_s -= ec
                        if track:
                            payout[mi, i] = max(ec - fee, 0.0)
                        status[i] = (status[i] & _UNPROF) | _CLOSED
                        keep_open = False
                        na -= 1
                        act[j] = act[na]
                        a_key[j] = a_key[na]
                        a_side[j] = a_side[na]
                        slot[act[j]] = j
                        if parking:
                            bit_move(vis, na, j)
            if keep_open:
                if a_side[j] > 0.0:
                    if a_key[j] > new_max:
                        new_max = a_key[j]
                elif a_key[j] < new_min:
                    new_min = a_key[j]
            j -= 1
        max_long = new_max
        min_short = new_min
        # 3. insurance fund: this step's fees come in, then it pays the step's shortfall.
        prot += fee_if
        ins += fee_if
        short = short_l + short_s
        if short > 0.0:
            bad += short
            pay = min(ins, short)
            ins -= pay
            ins_used += pay
            rem = short - pay
            if rem > 0.0:
                insolvent = 1.0
                rem_l = rem * (short_l / short)
                for side in (-1.0, 1.0):
                    part = rem_l if side < 0.0 else rem - rem_l
                    if not part > 0.0:
                        continue
                    if side < 0.0:
                        cov, ev = _adl(
                            part,
                            side,
                            q,
                            E,
                            m,
                            status,
                            oe,
                            adl_short,
                            adl_short_q,
                            e_max_short,
                            heap_p,
                            heap_i,
                            touched,
                        )
                    else:
                        cov, ev = _adl(
                            part,
                            side,
                            q,
                            E,
                            m,
                            status,
                            oe,
                            adl_long,
                            adl_long_q,
                            e_min_long,
                            heap_p,
                            heap_i,
                            touched,
                        )
                    social += cov
                    adl_events += ev
                    uncovered += part - cov
                    # Settled positions: new margin and entry, so a new key; into the list.
                    for r in range(ev):
                        i = touched[r]
                        key = _screen_key(q[i], E[i], m[i], floors, mmf, ded, s_bound)
                        if (status[i] & _ACTIVE) == 0:
                            status[i] |= _ACTIVE
                            act[na] = i
                            a_side[na] = side
                            slot[i] = na
                            if parking:
                                bit_set(vis, na)
                            na += 1
                        a_key[slot[i]] = key
                        if side > 0.0:
                            if key > max_long:
                                max_long = key
                        elif key < min_short:
                            min_short = key
        # Net flow moves the price: sales push it down, purchases up (mirror factor).
        net = sells - buys
        if net > 0.0:
            J = impact(mk, J, net)
        elif net < 0.0:
            J = J * (1.0 + slippage(mk, -net))
    pT = S[mi, T] * J
    ri = record_end(rec, ri, T, ser, mi, p_hist, pT, vol, bad)
    unreal = 0.0
    for i in range(N):
        if (status[i] & _CLOSED) == 0:
            e = m[i] + q[i] * ((pT - F) - E[i])
            if e < 0.0:
                unreal -= e
    write_results(
        out, mi, bad, unreal, nliq, vol, sold_usd, pen, prot, keep, ins_used, social, n_unprof, insolvent, pT
    )
    ex[mi, 0] = paid_long
    ex[mi, 1] = paid_short
    ex[mi, 2] = F
    # The vault marked at the horizon's market price (the price unrealized bad debt uses).
    ex[mi, 3] = v_margin + v_q * (pT - F) - v_cost
    ex[mi, 4] = n_bs
    ex[mi, 5] = v_margin
    ex[mi, 6] = adl_events
    ex[mi, 7] = uncovered
    ex[mi, 8] = ins
    if track:
        extra[mi, 0] = adl_events
        extra[mi, 1] = uncovered
        extra[mi, 2] = ins
        for i in range(N):
            fin_m[mi, i] = m[i]
            fin_e[mi, i] = E[i]
            fin_q[mi, i] = q[i]
            st_out[mi, i] = status[i]


def synthetic_book(
    params: Params,
    n_positions: int,
    price0: float,
    rng: np.random.Generator,
    *,
    notional_median: float = 20_000.0,
    notional_sigma: float = 1.5,
) -> Book:
    """A small book for tests: half long, half short, opened at ``price0``.

    Notional is log-normal (median ``notional_median`` USD); each position posts between its
    tier's initial margin and three times it, so leverage spans the tiers' range. (The
    project's book generator is ``engine.books.perp_book``.)
    """
    n = int(n_positions)
    side = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    notional = notional_median * np.exp(notional_sigma * rng.standard_normal(n))
    tier = np.searchsorted(np.asarray(params.tier_floors), notional, side="right") - 1
    imf = np.asarray(params.tier_imf)[tier]
    margin = notional * imf * (1.0 + 2.0 * rng.random(n))
    return Book(size=side * notional / price0, entry_price=np.full(n, float(price0)), margin=margin)


MECHANISM = Mechanism(
    name="perp",
    params_cls=Params,
    kernel=_kernel,
    prepare=_prepare,
    detail_arrays=_detail_arrays,
    detail_view=_detail_view,
    extra_fields=EXTRA_FIELDS,
)
