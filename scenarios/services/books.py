"""Position books: synthetic (generator + seed) or imported CSV, stored compressed, summarized."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from django.db import transaction

from engine.books import book_arrays, parse_book_csv, summarize_book, synthetic_book
from governance import numbers
from proposals import schema
from proposals.schema.market import backtest_assets, engine_mechanism
from scenarios import charts
from scenarios.models import Book, StressPack


def encode_book(arrays: dict[str, np.ndarray]) -> bytes:
    """Compressed ``.npz`` of the book's float64 arrays."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.ascontiguousarray(v, dtype=np.float64) for k, v in arrays.items()})
    return buf.getvalue()


def decode_book(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(bytes(blob)), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def book_sha256(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over the arrays in name order: name, shape and little-endian float64 bytes."""
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k], dtype="<f8")
        h.update(f"{k}:{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def book_mechanism(market) -> str:
    """The engine mechanism of the market's books: a Comet market backtested on several
    collateral assets holds accounts with a column per asset (``compound-v3-accounts``)."""
    return engine_mechanism(market.mechanism, backtest_assets(market.mechanism, market.target))


def _floats(x: float | list[float]) -> float | list[float]:
    return [float(v) for v in x] if isinstance(x, list | tuple | np.ndarray) else float(x)


def _summarize(
    arrays: dict[str, np.ndarray],
    mechanism: str,
    price: float | list[float],
    threshold: float | list[float],
) -> dict:
    multi = isinstance(price, list | tuple | np.ndarray)
    p = np.asarray(price, dtype=np.float64) if multi else price
    t = np.asarray(threshold, dtype=np.float64) if multi else threshold
    summary = summarize_book(arrays, mechanism, price=p, threshold=t)
    # A Morpho Blue vault's book has one LLTV per market; a Comet book on several collateral
    # assets one price and one liquidate collateral factor per asset.
    return {**summary, "price": _floats(price), "threshold": _floats(threshold)}


@transaction.atomic
def _store_book(
    *,
    market,
    name: str,
    kind: str,
    arrays: dict[str, np.ndarray],
    price: float | list[float],
    threshold: float | list[float],
    generator: dict | None = None,
    seed: int | None = None,
    source_detail: str = "",
    make_default: bool = True,
    replace: bool = False,
):
    old = Book.objects.select_for_update().filter(market=market, name=name).first()
    if old is not None:
        if not replace:
            raise ValueError(f"{market.slug} already has a book {name!r}; pass --replace to overwrite it")
        old.delete()
    if make_default:
        Book.objects.filter(market=market, is_default=True).update(is_default=False)
    n = int(next(iter(arrays.values())).shape[0])
    blob = encode_book(arrays)
    book = Book.objects.create(
        market=market,
        name=name,
        kind=kind,
        generator=generator or {},
        seed=seed,
        source_detail=source_detail[:300],
        is_default=make_default or not Book.objects.filter(market=market, is_default=True).exists(),
        columns=sorted(arrays),
        n_positions=n,
        data=blob,
        bytes_stored=len(blob),
        sha256=book_sha256(arrays),
        summary=_summarize(arrays, book_mechanism(market), price, threshold),
    )
    if book.is_default:
        # The market's default book is the one its runs use from now on: the default pack's
        # book changes, and with it the market's baseline (docs/review.md).
        StressPack.objects.filter(market=market, is_default=True).update(book=book)
    return book


def import_book(
    *,
    market,
    path: Path | str,
    price: float | list[float],
    threshold: float | list[float],
    name: str | None = None,
    make_default: bool = True,
    replace: bool = False,
):
    """Parse a book CSV (engine.books.parse_book_csv: the error names the line; nothing is
    written on error) into the arrays of the market's mechanism and store it."""
    path = Path(path)
    mechanism = book_mechanism(market)
    # A Comet market on several assets: one column per collateral asset, in the market's order.
    assets = backtest_assets(market.mechanism, market.target) if mechanism != market.mechanism else None
    if assets:
        for what, x in (("price", price), ("threshold", threshold)):
            if not isinstance(x, list | tuple) or len(x) != len(assets):
                raise ValueError(
                    f"{market.slug} is backtested on {', '.join(assets)} together: give one {what} per "
                    f"collateral asset, in that order; got {x!r}"
                )
    arrays = book_arrays(parse_book_csv(path.read_text(encoding="utf-8")), mechanism, assets=assets)
    return _store_book(
        market=market,
        name=name or path.stem,
        kind="imported",
        arrays=arrays,
        price=price,
        threshold=threshold,
        source_detail=path.name,
        make_default=make_default,
        replace=replace,
    )


def generate_book(
    *,
    market,
    n: int,
    seed: int,
    generator: dict,
    name: str | None = None,
    make_default: bool = True,
    replace: bool = False,
):
    """A synthetic book: engine.books.synthetic_book(mechanism, n, rng=default_rng(seed),
    **generator), the mechanism of the market's books (``book_mechanism``); the same generator
    and seed always give the same book."""
    kw = dict(generator)
    arrays = synthetic_book(book_mechanism(market), int(n), rng=np.random.default_rng(seed), **kw)
    price = kw.get("price", kw.get("prices"))
    threshold = kw.get("threshold", kw.get("thresholds", kw.get("mat", kw.get("mmf"))))
    if price is None or threshold is None:
        raise ValueError(
            "generator must give price (prices) and the mechanism's threshold (threshold(s), mat or mmf)"
        )
    return _store_book(
        market=market,
        name=name or f"synthetic {n} seed {seed}",
        kind="synthetic",
        arrays=arrays,
        price=price,
        threshold=threshold,
        generator={"n": int(n), **kw},
        seed=seed,
        make_default=make_default,
        replace=replace,
    )


def default_book(market):
    return Book.objects.filter(market=market, is_default=True).first()


def book_for_market(market) -> dict[str, np.ndarray]:
    """The arrays of the market's default book (engine ``book_from_arrays`` input)."""
    book = default_book(market)
    if book is None:
        raise ValueError(f"market {market.slug} has no default book: run import_book or generate_book")
    return decode_book(book.data)


def book_manifest(book) -> dict:
    return {
        "book": book.name,
        "book_id": book.pk,
        "kind": book.kind,
        "seed": book.seed,
        "generator": book.generator,
        "n_positions": book.n_positions,
        "sha256": book.sha256,
    }


def book_page(book) -> dict:
    """Rows of facts and figures for the book summary page (from the stored summary)."""
    s = book.summary
    total_coll = s.get("total_collateral")
    money = "Total notional" if book.market.mechanism == "perp" else "Total debt"
    th = s.get("threshold")
    # A Morpho Blue vault's book: one LLTV per market; a Comet book on several collateral
    # assets: one price and one liquidate collateral factor per asset, in the market's order.
    th_text = ", ".join(f"{x:g}" for x in th) if isinstance(th, list) else f"{th:g}"
    pr = s.get("price")
    assets = backtest_assets(book.market.mechanism, book.market.target) or []
    if isinstance(pr, list):
        names = assets if len(assets) == len(pr) else [f"asset {i + 1}" for i in range(len(pr))]
        pr_text = "prices " + ", ".join(f"{a} {numbers.price(x)}" for a, x in zip(names, pr, strict=True))
    else:
        pr_text = f"price {numbers.price(pr)}"
    rows = [
        ("Valued at", f"{pr_text}, threshold {th_text}"),
        (
            "Total collateral",
            ", ".join(f"{v:,.4f}" for v in total_coll)
            if isinstance(total_coll, list)
            else f"{total_coll:,.4f} units",
        ),
        ("Total collateral (USD)", numbers.usd(s.get("total_collateral_usd", 0))),
        (money, numbers.usd(s.get("total_debt_usd", 0))),
        ("Top-10 share", numbers.share(s.get("top10_share", 0))),
        ("Liquidatable now (h < 1)", numbers.count(s.get("n_liquidatable"))),
        ("Lowest health factor", "—" if s.get("min_health") is None else f"{s['min_health']:.4f}"),
    ]
    figures = (
        [
            charts.histogram(
                s["hf_bins"],
                s["hf_counts"],
                title="Health factors",
                x_title="health factor (last bin: this value and above)",
            )
        ]
        if s.get("hf_bins")
        else []
    )
    return {"rows": rows, "figures": figures}


def live_book_generator(market, *, price: float | dict[str, float], total_usd: float) -> dict:
    """Generator keywords for a synthetic book of ``market`` valued at ``price`` with its live
    version's threshold (Aave v3 LT, Aave v4 collateral factor, Comet liquidate CF of each
    collateral asset backtested, Maker mat, the perp's first-tier maintenance fraction, each
    Morpho market's LLTV), so that every position starts healthy. A Comet market backtested on
    several collateral assets needs ``price`` as a dict by asset (its accounts hold them all)."""
    v = market.live_version.decimal_values()
    if market.mechanism == "aave-v3":
        return {"price": price, "threshold": float(v["liquidation_threshold"]), "total_debt_usd": total_usd}
    if market.mechanism == "aave-v4":
        return {"price": price, "threshold": float(v["collateral_factor"]), "total_debt_usd": total_usd}
    if market.mechanism == "compound-v3":
        # The collateral assets backtests simulate (proposals.schema backtest_assets).
        symbols = backtest_assets(market.mechanism, market.target)
        lcf = [float(v["assets"][a]["liquidate_collateral_factor"]) for a in symbols]
        if len(symbols) == 1:
            one = price[symbols[0]] if isinstance(price, dict) else price
            return {"price": float(one), "threshold": lcf[0], "total_debt_usd": total_usd}
        missing = [a for a in symbols if not isinstance(price, dict) or a not in price]
        if missing:
            raise ValueError(
                f"{market.slug} is backtested on {', '.join(symbols)} together: give a price for each "
                f"(price of {missing[0]} missing)"
            )
        return {
            "prices": [float(price[a]) for a in symbols],
            "thresholds": lcf,
            "total_debt_usd": total_usd,
        }
    if market.mechanism == "maker-clip":
        return {"price": price, "mat": float(v["mat"]), "total_debt_usd": total_usd}
    if market.mechanism == "morpho-blue":
        # One LLTV per market in the engine's order (proposals.schema.vault_markets), positions
        # spread over the markets by their supply (engine.books.morpho_vault_book).
        markets = [v["markets"][label] for label in schema.vault_markets(v)]
        return {
            "price": price,
            "threshold": [float(m["lltv"]) for m in markets],
            "market_supply_usd": [float(m["market_supply"]) for m in markets],
            "total_debt_usd": total_usd,
        }
    if market.mechanism == "perp":
        tiers = sorted(v["tiers"], key=lambda t: t["notional_floor"])
        return {
            "price": price,
            "mmf": float(tiers[0]["maintenance_margin_fraction"]),
            "total_notional_usd": total_usd,
        }
    raise ValueError(f"no book generator for mechanism {market.mechanism!r}")
