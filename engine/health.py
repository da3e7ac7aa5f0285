"""How close each position of a book is to liquidation, per mechanism, at one price.

One number per position, the **health**: the mechanism's own liquidation test written as a
ratio that is 1 exactly at the liquidation point, so that ``health < 1`` is "liquidatable" for
every mechanism and ``after / before`` measures how much closer a parameter change brings a
position to its liquidation:

- ``aave-v3``: the health factor ``c * p * LT / d`` (aave-v3-core ``GenericLogic
  .calculateUserAccountData``: total collateral in the base currency times the average
  liquidation threshold over total debt; ``ValidationLogic.validateLiquidationCall`` allows a
  liquidation when it is below ``HEALTH_FACTOR_LIQUIDATION_THRESHOLD`` = 1e18, i.e. 1).
- ``aave-v4``: the health factor ``c * p * cf / d`` (aave/aave-v4 ``LiquidationLogic
  ._validateLiquidationCall``: liquidatable when it is below
  ``HEALTH_FACTOR_LIQUIDATION_THRESHOLD``, i.e. 1).
- ``compound-v3``: the ratio of the account's liquidation margin, ``c * p *
  liquidateCollateralFactor / borrow`` (compound-finance/comet ``Comet.isLiquidatable``: the
  account is liquidatable when ``sum(collateral * price * liquidateCollateralFactor) - borrow``
  is negative, i.e. the ratio is below 1).
- ``maker-clip``: collateralization over ``mat``, ``ink * p / (debt * mat)`` (makerdao/dss
  ``Spotter.poke`` sets ``spot = price / mat``; ``Dog.bark`` requires ``ink * spot < art * rate``,
  i.e. the ratio below 1).
- ``perp``: equity over maintenance margin, ``(m + q * (p - E)) / MM(|q| * p)`` with the tiered
  maintenance of ``engine.perp.maintenance_margin`` (Hyperliquid docs "Liquidations": account
  equity below the maintenance margin; dYdX v4 ``IsLiquidatable``: net collateral below the
  maintenance margin requirement).
- ``cross``: ``sum_a c_a * p_a * LT_a / d`` (``engine.cross.health_factors``).
- ``compound-v3-accounts``: ``sum_a c_a * p_a * liquidateCollateralFactor_a / borrow``
  (``Comet.isLiquidatable`` summed over the account's assets, margin-engine.md 2.8).

Thresholds are the static ones: a volatility-adjusted threshold (margin-engine.md 2.5) starts
from its base. Units: price in USD per unit of collateral; debt, notional and margin in USD.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine import cross, morpho, perp
from engine._common import RESULT_FIELDS
from engine.api import load_mechanism
from engine.books import MULTI_ASSET
from engine.errors import EngineError

MECHANISMS = (
    "aave-v3",
    "compound-v3",
    "maker-clip",
    "perp",
    "cross",
    "morpho-blue",
    "aave-v4",
    "compound-v3-accounts",
)
# Mechanisms whose detail view gives each position's collateral and debt at the horizon
# (simulate_detail's "collateral" and "debt"), so that book_at_step reads them alike.
LENDING_DETAIL = ("aave-v3", "aave-v4", "morpho-blue")
# The mechanisms book_at_step takes (MULTI_ASSET, engine.books': price is float64[A] for them).
STEPPED = ("compound-v3", "compound-v3-accounts", "maker-clip", "perp", *LENDING_DETAIL)
# A position is "moved closer to liquidation" when its health after the change is at most this
# share of its health before (5 % closer or more).
CLOSER_RATIO = 0.95


def _resolve(mechanism: str, params: Any, book: Any) -> tuple[Any, Any]:
    if mechanism not in MECHANISMS:
        raise EngineError(f"mechanism must be one of {MECHANISMS}; got {mechanism!r}")
    mod = load_mechanism(mechanism)
    if isinstance(params, dict):
        params = mod.params_from_dict(params)
    if isinstance(book, dict):
        book = mod.book_from_arrays(book)
    if not isinstance(params, mod.Params):
        raise EngineError(f"params must be {mod.__name__}.Params or a dict; got {type(params).__name__}")
    if not isinstance(book, mod.Book):
        raise EngineError(f"book must be {mod.__name__}.Book or a dict of arrays; got {type(book).__name__}")
    return params, book


def _price(mechanism: str, price: Any) -> float | np.ndarray:
    p = np.asarray(price, dtype=np.float64)
    if mechanism in MULTI_ASSET:
        if p.ndim != 1 or not np.all(np.isfinite(p)) or np.any(p <= 0):
            raise EngineError(f"price must be float64[A], finite and > 0 per asset; got {price!r}")
        return p
    if p.ndim != 0 or not np.isfinite(p) or p <= 0:
        raise EngineError(f"price must be a finite number > 0 (USD per unit); got {price!r}")
    return float(p)


def health(mechanism: str, params: Any, book: Any, price: float | np.ndarray) -> np.ndarray:
    """Each position's health at ``price``: 1 at the liquidation point, below 1 liquidatable.

    Parameters
    ----------
    mechanism : str
        One of MECHANISMS.
    params : the mechanism's ``Params`` (or a dict for its ``params_from_dict``)
        Only the liquidation threshold is read (LT, liquidate collateral factor, LLTV, mat, the
        maintenance tiers).
    book : the mechanism's ``Book`` (or a dict of arrays for its ``book_from_arrays``)
        N positions.
    price : float, or float64[A] for ``cross`` and ``compound-v3-accounts``
        Price of the collateral (perp: of the underlying), USD per unit.

    Returns
    -------
    float64[N]
        The health of each position (module docstring); ``inf`` for a position without debt.
        A perp position with negative equity has a negative health.
    """
    params, book = _resolve(mechanism, params, book)
    p = _price(mechanism, price)
    if mechanism == "cross":
        return cross.health_factors(params, book, p)
    if mechanism == "compound-v3-accounts":
        with np.errstate(divide="ignore", invalid="ignore"):
            num = book.collateral @ (p * np.asarray(params.liquidate_collateral_factor))
            return np.where(book.debt > 0, num / book.debt, np.inf)
    if mechanism == "morpho-blue":
        # Morpho.sol _isHealthy: maxBorrow = collateral * price * lltv against the debt.
        with np.errstate(divide="ignore", invalid="ignore"):
            # Each position at its own market's LLTV.
            num, den = book.collateral * p * morpho.position_lltv(params, book), book.debt
            return np.where(den > 0, num / den, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        if mechanism == "aave-v3":
            num, den = book.collateral * p * params.liquidation_threshold, book.debt
        elif mechanism == "aave-v4":
            num, den = book.collateral * p * params.collateral_factor, book.debt
        elif mechanism == "compound-v3":
            num, den = book.collateral * p * params.liquidate_collateral_factor, book.debt
        elif mechanism == "maker-clip":
            num, den = book.ink * p, book.debt * params.mat
        else:  # perp: size != 0 for every position (perp.Book), so the maintenance is > 0
            num = book.margin + book.size * (p - book.entry_price)
            den = perp.maintenance_margin(params, np.abs(book.size) * p)
        return np.where(den > 0, num / den, np.inf)


def exposure(mechanism: str, book: Any, price: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each position's size in USD at ``price``: ``(debt, collateral)``, float64[N] each.

    Lending and Maker: the debt, and the collateral valued at ``price``. Perp: the notional
    ``|q| * price`` and the margin ``m``. Cross: the debt and ``sum_a c_a * p_a``.
    """
    mod = load_mechanism(mechanism) if mechanism in MECHANISMS else None
    if mod is None:
        raise EngineError(f"mechanism must be one of {MECHANISMS}; got {mechanism!r}")
    if isinstance(book, dict):
        book = mod.book_from_arrays(book)
    p = _price(mechanism, price)
    if mechanism == "perp":
        return np.abs(book.size) * p, book.margin.copy()
    if mechanism == "maker-clip":
        return book.debt.copy(), book.ink * p
    if mechanism in MULTI_ASSET:
        return book.debt.copy(), book.collateral @ p
    return book.debt.copy(), book.collateral * p


@dataclass(frozen=True)
class HealthChange:
    """Health of every position under two parameter sets at one price, float64[N] / bool[N].

    ``newly_liquidatable``: healthy before (>= 1), liquidatable after (< 1).
    ``closer``: healthy both before and after, and ``after / before <= closer_ratio``.
    A position already liquidatable before, or without debt, is in neither.
    """

    before: np.ndarray
    after: np.ndarray
    newly_liquidatable: np.ndarray
    closer: np.ndarray


def compare_health(
    mechanism: str,
    params_before: Any,
    params_after: Any,
    book: Any,
    price: float | np.ndarray,
    *,
    closer_ratio: float = CLOSER_RATIO,
) -> HealthChange:
    """Which positions a parameter change makes liquidatable, or moves closer to liquidation.

    Parameters
    ----------
    mechanism, book, price : as for ``health``.
    params_before, params_after : the two parameter sets (the live and the proposed version).
    closer_ratio : float in (0, 1)
        ``after / before`` at or below which a healthy position counts as moved closer.

    Returns
    -------
    HealthChange
    """
    if not 0.0 < closer_ratio < 1.0:
        raise EngineError(f"closer_ratio must be in (0, 1); got {closer_ratio!r}")
    before = health(mechanism, params_before, book, price)
    after = health(mechanism, params_after, book, price)
    healthy = np.isfinite(before) & (before >= 1.0)
    newly = healthy & (after < 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        closer = healthy & (after >= 1.0) & (after / before <= closer_ratio)
    return HealthChange(before=before, after=after, newly_liquidatable=newly, closer=closer)


def book_at_step(
    mechanism: str,
    params: Any,
    book: Any,
    path: np.ndarray,
    market: Any,
    step: int,
    premium: np.ndarray | None = None,
) -> tuple[Any, float]:
    """The positions still open after ``step`` steps of one price path, and the market price then.

    Runs the mechanism's public detail function (``simulate_detail``) over ``path[: step + 1]``: a path's state at step t
    depends only on the prices up to t, so the horizon of that shorter run is the full run's
    state at ``step``.

    Parameters
    ----------
    mechanism : one of "aave-v3", "aave-v4", "compound-v3", "compound-v3-accounts", "maker-clip",
        "perp", "morpho-blue"
    params, book : as for ``health``.
    path : float64[T+1], the exogenous price of one path (USD per unit); float64[A, T+1] for
        ``compound-v3-accounts``.
    market : engine.market.MarketConditions
    step : int in 0..T
    premium : optional float64[T], the path's premium over its index (perp only: the
        scenario's series its funding reads, as in ``engine.perp.simulate``).

    Returns
    -------
    (book, price): the mechanism's Book of the positions open after ``step`` (partially
    liquidated ones with what is left; absorbed, closed or emptied ones left out; None when no
    position is open), and the market price ``S[step] * J[step]`` (USD per unit) after the
    step's liquidations moved it (float64[A] for ``compound-v3-accounts``).
    """
    if mechanism not in STEPPED:
        raise EngineError(
            f"mechanism must be one of {', '.join(STEPPED)} for book_at_step; got {mechanism!r}"
        )
    params, book = _resolve(mechanism, params, book)
    p = np.asarray(path, dtype=np.float64)
    want = 2 if mechanism == "compound-v3-accounts" else 1
    if p.ndim != want or not 0 <= int(step) < p.shape[-1]:
        shape = "float64[A, T+1]" if want == 2 else "float64[T+1]"
        raise EngineError(f"path must be {shape} and step in 0..T; got shape {p.shape}, step {step!r}")
    if premium is not None and (mechanism != "perp" or np.shape(premium) != (p.shape[-1] - 1,)):
        raise EngineError(
            f"premium must be float64[T] = ({p.shape[-1] - 1},) and is read by perp only; got shape "
            f"{np.shape(premium)} for {mechanism!r}"
        )
    prices = np.ascontiguousarray(p[..., None, : int(step) + 1])
    mod = load_mechanism(mechanism)
    if mechanism in LENDING_DETAIL:
        d = mod.simulate_detail(params, book, prices, market)
        arrays = {"collateral": d["collateral"][0], "debt": d["debt"][0]}
        if mechanism == "morpho-blue":
            arrays["market"] = book.market
        open_ = arrays["debt"] > 0
    elif mechanism in ("compound-v3", "compound-v3-accounts"):
        d = mod.simulate_detail(params, book, prices, market)
        arrays = {"collateral": book.collateral, "debt": book.debt}
        open_ = ~d["absorbed"][0] & (book.debt > 0)
    elif mechanism == "maker-clip":
        d = mod.simulate_detail(params, book, prices, market)
        arrays = {"ink": d["ink"][0], "debt": d["debt"][0]}
        open_ = arrays["debt"] > 0
    else:
        kw = {} if premium is None else {"premium": np.asarray(premium, dtype=np.float64)[None, : int(step)]}
        d = mod.simulate_detail(params, book, prices, market, **kw)
        arrays = {k: d[k][0] for k in ("size", "entry_price", "margin")}
        # status bit 2: closed (bit 1 only says the position entered the screen's active list)
        open_ = ((d["status"][0] & 2) == 0) & (arrays["size"] != 0)
    price = float(d["per_path"][0, RESULT_FIELDS.index("final_price")])
    if mechanism == "compound-v3-accounts":
        # final_price is the first asset's alone (engine.comet): with several assets every
        # asset is valued at its exogenous price of the step, without the liquidations' impact.
        price = p[:, int(step)].copy()
    if not np.any(open_):
        return None, price
    return mod.book_from_arrays({k: np.ascontiguousarray(v[open_]) for k, v in arrays.items()}), price
