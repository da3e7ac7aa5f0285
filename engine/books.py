"""Position books: synthetic generators, CSV import and summaries (pure numpy).

Every function returns plain dicts of float64 arrays shaped for the mechanisms'
``book_from_arrays``:

- lending (``aave-v3``, ``aave-v4``, ``compound-v3``): ``{"collateral": (N,) units, "debt": (N,) USD}``
- maker (``maker-clip``): ``{"ink": (N,) units, "debt": (N,) USD}``
- perp: ``{"size": (N,) signed units, "entry_price": (N,) USD, "margin": (N,) USD}``
- cross, compound-v3-accounts: ``{"collateral": (N, A) units, "debt": (N,) USD}``

Synthetic books: debt (or notional) sizes are lognormal or Pareto; the share of the total
held by the ten largest positions can be set exactly; health factors start at the
mechanism's minimum ``h_min`` and spread upward (``h = h_min + (h_median - h_min) * X``,
X lognormal with median 1), so the book's most fragile position sits at ``h_min``.
"""

from __future__ import annotations

import csv
import math
import re

import numpy as np

from engine.errors import EngineError, check_range

MECHANISMS = (
    "aave-v3",
    "aave-v4",
    "compound-v3",
    "compound-v3-accounts",
    "maker-clip",
    "perp",
    "cross",
    "morpho-blue",
)
MULTI_ASSET = ("cross", "compound-v3-accounts")  # collateral (N, A), one column per asset
CSV_HEADER = ("account", "collateral_asset", "collateral_amount", "debt_amount")
TOP = 10


# ---------------------------------------------------------------------------------------------
# Sizes and health factors


def debt_sizes(
    n: int,
    *,
    rng: np.random.Generator,
    total_usd: float,
    dist: str = "lognormal",
    sigma: float = 1.5,
    alpha: float = 1.3,
    top10_share: float | None = None,
) -> np.ndarray:
    """Position sizes (N,) in USD summing to ``total_usd``.

    dist: ``lognormal`` (log sizes normal with std ``sigma``) or ``pareto`` (tail index
    ``alpha``, minimum 1 before scaling). top10_share: if given, the ten largest positions
    hold exactly this share of the total. Reaching it keeps the ranking of positions: a lower
    share than drawn mixes every size toward the mean (``(1 - w) d + w mean``), a higher one
    scales the ten largest up and the rest down.
    """
    _check_count(n)
    check_range("total_usd", total_usd, 0.0, None, lo_open=True)
    if dist == "lognormal":
        check_range("sigma", sigma, 0.0, 10.0)
        d = rng.lognormal(0.0, sigma, size=n)
    elif dist == "pareto":
        check_range("alpha", alpha, 0.0, 100.0, lo_open=True)
        d = 1.0 + rng.pareto(alpha, size=n)
    else:
        raise EngineError(f"dist must be one of ('lognormal', 'pareto'); got {dist!r}")
    d *= total_usd / d.sum()
    if top10_share is not None:
        d = _set_top_share(d, float(top10_share))
    return d


def _set_top_share(d: np.ndarray, share: float) -> np.ndarray:
    n = d.size
    lo = min(TOP, n) / n
    if n <= TOP:
        raise EngineError(f"top10_share needs more than {TOP} positions; got n = {n}")
    check_range("top10_share", share, lo, 1.0, lo_open=True, hi_open=True)
    total = d.sum()
    top = np.argsort(d)[-TOP:]
    mask = np.zeros(n, dtype=bool)
    mask[top] = True
    now = d[mask].sum() / total
    if share <= now:
        # share(w) = (1 - w) now + w lo  ->  w
        w = (now - share) / (now - lo)
        return (1.0 - w) * d + w * total / n
    a = share * total / d[mask].sum()
    b = (1.0 - share) * total / d[~mask].sum()
    return np.where(mask, d * a, d * b)


def health_factors(
    n: int, *, rng: np.random.Generator, h_min: float = 1.05, h_median: float = 1.6, spread: float = 0.6
) -> np.ndarray:
    """Health factors (N,) >= h_min: ``h_min + (h_median - h_min) * X``, X lognormal(0, spread).

    The smallest is set to exactly ``h_min`` (the book's edge case is always present).
    """
    _check_count(n)
    check_range("h_min", h_min, 0.0, None, lo_open=True)
    check_range("h_median", h_median, h_min, None, lo_open=True)
    check_range("spread", spread, 0.0, 10.0)
    h = h_min + (h_median - h_min) * rng.lognormal(0.0, spread, size=n)
    h[np.argmin(h)] = h_min
    return h


def _check_count(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise EngineError(f"n (number of positions) must be a whole number >= 1; got {n!r}")


# ---------------------------------------------------------------------------------------------
# Synthetic books per mechanism


def lending_book(
    n: int,
    *,
    rng: np.random.Generator,
    price: float,
    threshold: float,
    total_debt_usd: float = 1e8,
    h_min: float = 1.05,
    h_median: float = 1.6,
    spread: float = 0.6,
    dist: str = "lognormal",
    sigma: float = 1.5,
    alpha: float = 1.3,
    top10_share: float | None = None,
) -> dict[str, np.ndarray]:
    """Aave v3 / Compound v3 / Morpho Blue book: ``{"collateral", "debt"}``.

    threshold: the liquidation threshold (Aave LT; Comet liquidate_collateral_factor; Morpho
    lltv), so that ``h = c * price * threshold / d``; h_min is the healthiest allowed at the
    limit (e.g. LT / LTV for positions opened at the maximum loan-to-value).
    """
    check_range("price", price, 0.0, None, lo_open=True)
    check_range("threshold", threshold, 0.0, 1.0, lo_open=True)
    d = debt_sizes(
        n, rng=rng, total_usd=total_debt_usd, dist=dist, sigma=sigma, alpha=alpha, top10_share=top10_share
    )
    h = health_factors(n, rng=rng, h_min=h_min, h_median=h_median, spread=spread)
    return {"collateral": h * d / (price * threshold), "debt": d}


def morpho_vault_book(
    n: int,
    *,
    rng: np.random.Generator,
    price: float,
    threshold: float | list[float] | tuple[float, ...],
    market_supply_usd: list[float] | tuple[float, ...] | None = None,
    total_debt_usd: float = 1e8,
    **kw: object,
) -> dict[str, np.ndarray]:
    """Morpho Blue book of a vault's markets of one collateral: ``{"collateral", "debt",
    "market"}``, ``market`` the index of each position's market (float64, whole numbers).

    threshold: the LLTV of each market (a number: one market); market_supply_usd: each market's
    total supply (USD), by which the positions are spread: a position is in market k with
    probability ``supply_k / sum(supply)`` (None: evenly). Debt sizes and health factors as
    ``lending_book`` (its keywords pass through), each health ``h = c * price * lltv_k / d`` at
    its own market's LLTV, so every position starts healthy in its market.
    """
    lltv = np.atleast_1d(np.asarray(threshold, dtype=np.float64))
    supply = (
        np.ones(lltv.size) if market_supply_usd is None else np.asarray(market_supply_usd, dtype=np.float64)
    )
    if lltv.ndim != 1 or supply.shape != lltv.shape:
        raise EngineError(
            f"threshold (LLTV per market) and market_supply_usd must have one value per market; "
            f"got {lltv.size} and {supply.size}"
        )
    for k, x in enumerate(lltv):
        check_range(f"threshold[{k}]", x, 0.0, 1.0, lo_open=True)
    if not np.all(np.isfinite(supply)) or np.any(supply < 0) or supply.sum() <= 0:
        raise EngineError(f"market_supply_usd must be finite amounts >= 0, not all 0; got {supply.tolist()}")
    book = lending_book(n, rng=rng, price=price, threshold=1.0, total_debt_usd=total_debt_usd, **kw)  # type: ignore[arg-type]
    market = rng.choice(lltv.size, size=int(n), p=supply / supply.sum())
    return {
        "collateral": book["collateral"] / lltv[market],
        "debt": book["debt"],
        "market": market.astype(np.float64),
    }


def maker_book(
    n: int,
    *,
    rng: np.random.Generator,
    price: float,
    mat: float,
    total_debt_usd: float = 1e8,
    h_min: float = 1.05,
    h_median: float = 1.6,
    spread: float = 0.6,
    dist: str = "lognormal",
    sigma: float = 1.5,
    alpha: float = 1.3,
    top10_share: float | None = None,
) -> dict[str, np.ndarray]:
    """Maker vaults: ``{"ink", "debt"}`` with collateralization ``ink * price / debt = h * mat``
    (safe while ``ink * o / mat >= debt``, i.e. h >= 1)."""
    check_range("price", price, 0.0, None, lo_open=True)
    check_range("mat", mat, 1.0, 100.0)
    d = debt_sizes(
        n, rng=rng, total_usd=total_debt_usd, dist=dist, sigma=sigma, alpha=alpha, top10_share=top10_share
    )
    h = health_factors(n, rng=rng, h_min=h_min, h_median=h_median, spread=spread)
    return {"ink": h * mat * d / price, "debt": d}


def perp_book(
    n: int,
    *,
    rng: np.random.Generator,
    price: float,
    mmf: float,
    total_notional_usd: float = 1e8,
    long_share: float = 0.5,
    entry_spread: float = 0.05,
    h_min: float = 1.05,
    h_median: float = 2.0,
    spread: float = 0.6,
    dist: str = "lognormal",
    sigma: float = 1.5,
    alpha: float = 1.3,
    top10_share: float | None = None,
) -> dict[str, np.ndarray]:
    """Perp positions: ``{"size", "entry_price", "margin"}``.

    Notional ``|q| * price`` sized like debt; ``long_share`` of positions long; entries spread
    lognormally around ``price`` (std ``entry_spread``); margin set so that equity
    ``m + q (price - entry)`` is ``h`` times the maintenance ``mmf * notional`` (a flat
    fraction: with tier deductions the real maintenance is lower, so the real health is at
    least h). A position whose unrealized profit alone exceeds that equity keeps a margin of
    zero (its health is then above h).
    """
    check_range("price", price, 0.0, None, lo_open=True)
    check_range("mmf", mmf, 0.0, 1.0, lo_open=True, hi_open=True)
    check_range("long_share", long_share, 0.0, 1.0)
    check_range("entry_spread", entry_spread, 0.0, 1.0)
    notional = debt_sizes(
        n, rng=rng, total_usd=total_notional_usd, dist=dist, sigma=sigma, alpha=alpha, top10_share=top10_share
    )
    h = health_factors(n, rng=rng, h_min=h_min, h_median=h_median, spread=spread)
    side = np.where(rng.random(n) < long_share, 1.0, -1.0)
    entry = price * rng.lognormal(0.0, entry_spread, size=n)
    q = side * notional / price
    margin = np.maximum(h * mmf * notional - q * (price - entry), 0.0)
    return {"size": q, "entry_price": entry, "margin": margin}


def cross_book(
    n: int,
    *,
    rng: np.random.Generator,
    prices: np.ndarray,
    thresholds: np.ndarray,
    total_debt_usd: float = 1e8,
    concentration: float = 1.0,
    h_min: float = 1.05,
    h_median: float = 1.6,
    spread: float = 0.6,
    dist: str = "lognormal",
    sigma: float = 1.5,
    alpha: float = 1.3,
    top10_share: float | None = None,
) -> dict[str, np.ndarray]:
    """Cross-collateral accounts: ``{"collateral": (N, A), "debt": (N,)}``.

    prices, thresholds: (A,) per collateral asset; ``h = sum_a c_a p_a LT_a / d``. Each
    account's threshold-weighted collateral value is split across assets by a Dirichlet draw
    with parameter ``concentration`` (small: one asset dominates; large: even mix).
    """
    p = np.asarray(prices, dtype=np.float64).reshape(-1)
    lt = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if p.shape != lt.shape or p.size < 1:
        raise EngineError(
            f"prices and thresholds must be (A,) arrays of one length >= 1; got {p.shape} and {lt.shape}"
        )
    for a in range(p.size):
        check_range(f"prices[{a}]", p[a], 0.0, None, lo_open=True)
        check_range(f"thresholds[{a}]", lt[a], 0.0, 1.0, lo_open=True)
    check_range("concentration", concentration, 0.0, None, lo_open=True)
    d = debt_sizes(
        n, rng=rng, total_usd=total_debt_usd, dist=dist, sigma=sigma, alpha=alpha, top10_share=top10_share
    )
    h = health_factors(n, rng=rng, h_min=h_min, h_median=h_median, spread=spread)
    w = rng.dirichlet(np.full(p.size, concentration), size=n)
    return {"collateral": (h * d)[:, None] * w / (p * lt)[None, :], "debt": d}


def synthetic_book(mechanism: str, n: int, *, rng: np.random.Generator, **kw) -> dict[str, np.ndarray]:
    """Dispatch to the generator of ``mechanism`` (see MECHANISMS); keyword arguments pass through."""
    makers = {
        "aave-v3": lending_book,
        "aave-v4": lending_book,
        "compound-v3": lending_book,
        "maker-clip": maker_book,
        "perp": perp_book,
        "cross": cross_book,
        # Comet accounts: the same account book, thresholds the liquidate collateral factors.
        "compound-v3-accounts": cross_book,
        "morpho-blue": morpho_vault_book,
    }
    if mechanism not in makers:
        raise EngineError(f"mechanism must be one of {MECHANISMS}; got {mechanism!r}")
    return makers[mechanism](n, rng=rng, **kw)


# ---------------------------------------------------------------------------------------------
# CSV import


class BookFileError(EngineError):
    """A malformed book file; ``line`` is the 1-based line (0: the whole file)."""

    def __init__(self, line: int, problem: str) -> None:
        self.line = line
        self.problem = problem
        super().__init__(f"line {line}: {problem}" if line else problem)


_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def parse_book_csv(text: str) -> dict[str, np.ndarray]:
    """Parse ``account,collateral_asset,collateral_amount,debt_amount[,extra...]``.

    Returns ``{"account": str (R,), "collateral_asset": str (R,), "collateral": float64 (R,),
    "debt": float64 (R,), <extra>: float64 (R,)}``, one entry per row. Extra columns are
    numeric (e.g. ``size,entry_price`` for perps). An account may have several rows, one per
    collateral asset (cross-collateral books, see ``book_arrays``), but not two rows for the
    same asset. Raises BookFileError naming the line and the problem; nothing is half-parsed.
    """
    if not isinstance(text, str):
        raise BookFileError(0, f"the book must be text; got {type(text).__name__}")
    lines = text.lstrip("\ufeff").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise BookFileError(
            0, f"the file is empty; expected the header {','.join(CSV_HEADER)}[,extra columns]"
        )
    header = [c.strip() for c in next(csv.reader([lines[0]]))]
    if tuple(header[:4]) != CSV_HEADER:
        raise BookFileError(1, f"the header must start with {','.join(CSV_HEADER)}; got {lines[0]!r}")
    extras = header[4:]
    for name in extras:
        if not _NAME.match(name) or name in ("collateral", "debt") or header.count(name) > 1:
            raise BookFileError(
                1,
                f"extra column {name!r} must be a unique lower-case name "
                "(letters, digits, _) other than collateral/debt",
            )
    if len(lines) < 2:
        raise BookFileError(0, "the file has a header but no positions")
    cols: list[list] = [[] for _ in header]
    seen: dict[tuple[str, str], int] = {}
    for i, row in enumerate(csv.reader(lines[1:]), start=2):
        if not row or not any(c.strip() for c in row):
            raise BookFileError(i, "blank line inside the file")
        if len(row) != len(header):
            raise BookFileError(i, f"expected {len(header)} fields ({','.join(header)}); got {len(row)}")
        account, asset = row[0].strip(), row[1].strip()
        if not account:
            raise BookFileError(i, "account is empty")
        if not asset:
            raise BookFileError(i, "collateral_asset is empty")
        if (account, asset) in seen:
            raise BookFileError(
                i, f"account {account!r} already has a row for {asset!r} (line {seen[account, asset]})"
            )
        seen[account, asset] = i
        cols[0].append(account)
        cols[1].append(asset)
        for j in range(2, len(header)):
            cols[j].append(_amount(i, header[j], row[j], nonnegative=j < 4))
    out: dict[str, np.ndarray] = {
        "account": np.array(cols[0], dtype=str),
        "collateral_asset": np.array(cols[1], dtype=str),
        "collateral": np.array(cols[2], dtype=np.float64),
        "debt": np.array(cols[3], dtype=np.float64),
    }
    for j, name in enumerate(extras, start=4):
        out[name] = np.array(cols[j], dtype=np.float64)
    return out


def _amount(line: int, name: str, text: str, *, nonnegative: bool) -> float:
    try:
        v = float(text.strip())
    except ValueError:
        raise BookFileError(line, f"{name} must be a number; got {text!r}") from None
    if not math.isfinite(v):
        raise BookFileError(line, f"{name} must be finite; got {text!r}")
    if nonnegative and v < 0:
        raise BookFileError(line, f"{name} must be >= 0; got {text!r}")
    return v


def book_arrays(
    parsed: dict[str, np.ndarray], mechanism: str, *, assets: list[str] | None = None
) -> dict[str, np.ndarray]:
    """Turn ``parse_book_csv`` rows into a mechanism's ``book_from_arrays`` input.

    lending / maker: one row per account, one collateral asset in the file. perp: extra
    columns ``size`` and ``entry_price``; ``collateral_amount`` is the margin in USD, debt must
    be 0. cross and compound-v3-accounts: rows pivoted to (N, A) in the order of ``assets`` (default: sorted asset
    names); an account's debt is the sum of its rows' debt_amount.
    """
    acc, asset = parsed["account"], parsed["collateral_asset"]
    if mechanism in MULTI_ASSET:
        names = sorted(set(asset.tolist())) if assets is None else list(assets)
        unknown = sorted(set(asset.tolist()) - set(names))
        if unknown:
            raise EngineError(f"collateral_asset {unknown[0]!r} is not one of the assets {names}")
        accounts, row_acc = np.unique(acc, return_inverse=True)
        col = (
            np.searchsorted(np.array(names), asset)
            if names == sorted(names)
            else np.array([names.index(a) for a in asset.tolist()])
        )
        c = np.zeros((accounts.size, len(names)))
        np.add.at(c, (row_acc, col), parsed["collateral"])
        return {"collateral": c, "debt": np.bincount(row_acc, parsed["debt"], accounts.size)}
    if mechanism not in MECHANISMS:
        raise EngineError(f"mechanism must be one of {MECHANISMS}; got {mechanism!r}")
    kinds = sorted(set(asset.tolist()))
    if len(kinds) != 1:
        raise EngineError(f"a {mechanism} book must have one collateral_asset; got {kinds}")
    if np.unique(acc).size != acc.size:
        raise EngineError(
            f"a {mechanism} book must have one row per account; account {_first_duplicate(acc)!r} repeats"
        )
    if mechanism == "perp":
        for key in ("size", "entry_price"):
            if key not in parsed:
                raise EngineError(f"a perp book needs the extra column {key!r}; got {sorted(parsed)}")
        if np.any(parsed["debt"] != 0):
            raise EngineError("a perp book's debt_amount must be 0 (margin goes in collateral_amount)")
        return {
            "size": parsed["size"].copy(),
            "entry_price": parsed["entry_price"].copy(),
            "margin": parsed["collateral"].copy(),
        }
    if mechanism == "maker-clip":
        return {"ink": parsed["collateral"].copy(), "debt": parsed["debt"].copy()}
    return {"collateral": parsed["collateral"].copy(), "debt": parsed["debt"].copy()}


def _first_duplicate(a: np.ndarray) -> str:
    u, counts = np.unique(a, return_counts=True)
    return str(u[counts > 1][0])


# ---------------------------------------------------------------------------------------------
# Summaries


def health(
    book: dict[str, np.ndarray], mechanism: str, *, price: float | np.ndarray, threshold: float | np.ndarray
) -> np.ndarray:
    """Health factor per position (N,); liquidatable below 1, inf without debt.

    threshold: aave-v3 LT, aave-v4 collateral factor, compound-v3 liquidate_collateral_factor,
    morpho-blue lltv (or one per market (K,) for a book with ``market``), maker-clip mat, perp the
    maintenance fraction (flat), cross LT per asset (A,) with price (A,), compound-v3-accounts
    liquidate_collateral_factor per asset likewise.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if mechanism == "morpho-blue" and "market" in book and np.ndim(threshold) == 1:
            # A vault's book: each position at its market's LLTV (threshold: one per market).
            lltv = np.asarray(threshold, dtype=np.float64)[np.asarray(book["market"]).astype(np.int64)]
            num, den = book["collateral"] * price * lltv, book["debt"]
        elif mechanism in ("aave-v3", "aave-v4", "compound-v3", "morpho-blue"):
            num, den = book["collateral"] * price * threshold, book["debt"]
        elif mechanism == "maker-clip":
            num, den = book["ink"] * price, book["debt"] * threshold
        elif mechanism == "perp":
            q = book["size"]
            num = book["margin"] + q * (price - book["entry_price"])
            den = np.abs(q) * price * threshold
        elif mechanism in MULTI_ASSET:
            num = book["collateral"] @ (np.asarray(price) * np.asarray(threshold))
            den = book["debt"]
        else:
            raise EngineError(f"mechanism must be one of {MECHANISMS}; got {mechanism!r}")
        return np.where(den > 0, num / den, np.inf)


def top_share(sizes: np.ndarray, k: int = TOP) -> float:
    """Share of ``sum(sizes)`` held by the ``k`` largest."""
    s = np.sort(np.asarray(sizes, dtype=np.float64))[::-1]
    total = s.sum()
    return float(s[:k].sum() / total) if total > 0 else 0.0


# Health-factor histogram edges. Values are clipped into [first, last] before counting, so the
# first bin also holds h < 0 (perps with negative equity) and the last every h >= 5 (edges stay
# finite: strict JSON has no infinity).
HF_BINS = (0.0, 1.0, 1.05, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)


def summarize_book(
    book: dict[str, np.ndarray],
    mechanism: str,
    *,
    price: float | np.ndarray,
    threshold: float | np.ndarray,
    bins: tuple[float, ...] = HF_BINS,
) -> dict:
    """Totals and shape of a book at ``price``.

    Returns ``{"n_positions", "total_collateral" (units; (A,) list for cross),
    "total_collateral_usd", "total_debt_usd" (perp: total notional), "top10_share" (of debt,
    perp: of notional), "hf_bins" (edges), "hf_counts" (positions with debt), "n_liquidatable",
    "n_without_debt", "min_health"}``, all JSON-serializable.
    """
    h = health(book, mechanism, price=price, threshold=threshold)
    if mechanism == "perp":
        size = np.abs(book["size"]) * price
        coll = book["margin"]
        coll_usd = float(coll.sum())
    else:
        size = book["debt"]
        coll = book["ink"] if mechanism == "maker-clip" else book["collateral"]
        coll_usd = float(np.sum(coll * price)) if coll.ndim == 1 else float(np.sum(coll @ np.asarray(price)))
    edges = np.asarray(bins, dtype=np.float64)
    finite = np.isfinite(h)
    counts, _ = np.histogram(np.clip(h[finite], edges[0], edges[-1]), bins=edges)
    total_coll = coll.sum(axis=0)
    return {
        "n_positions": int(size.size),
        "total_collateral": total_coll.tolist() if np.ndim(total_coll) else float(total_coll),
        "total_collateral_usd": coll_usd,
        "total_debt_usd": float(size.sum()),
        "top10_share": top_share(size),
        "hf_bins": [float(b) for b in bins],
        "hf_counts": counts.astype(int).tolist(),
        "n_liquidatable": int(np.count_nonzero(h < 1.0)),
        "n_without_debt": int(np.count_nonzero(~finite)),
        "min_health": float(h[finite].min()) if finite.any() else None,
    }
