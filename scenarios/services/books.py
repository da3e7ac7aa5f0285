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


def _summarize(
    arrays: dict[str, np.ndarray], mechanism: str, price: float, threshold: float | list[float]
) -> dict:
    summary = summarize_book(arrays, mechanism, price=price, threshold=threshold)
    # A Morpho Blue vault's book has one LLTV per market.
    kept = [float(x) for x in threshold] if isinstance(threshold, list | tuple) else float(threshold)
    return {**summary, "price": float(price), "threshold": kept}


@transaction.atomic
def _store_book(
    *,
    market,
    name: str,
    kind: str,
    arrays: dict[str, np.ndarray],
    price: float,
    threshold: float,
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
        summary=_summarize(arrays, market.mechanism, price, threshold),
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
    price: float,
    threshold: float,
    name: str | None = None,
    make_default: bool = True,
    replace: bool = False,
):
    """Parse a book CSV (engine.books.parse_book_csv: the error names the line; nothing is
    written on error) into the arrays of the market's mechanism and store it."""
    path = Path(path)
    arrays = book_arrays(parse_book_csv(path.read_text(encoding="utf-8")), market.mechanism)
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
    """A synthetic book: engine.books.synthetic_book(market.mechanism, n, rng=default_rng(seed),
    **generator); the same generator and seed always give the same book."""
    kw = dict(generator)
    arrays = synthetic_book(market.mechanism, int(n), rng=np.random.default_rng(seed), **kw)
    price = kw.get("price")
    threshold = kw.get("threshold", kw.get("mat", kw.get("mmf")))
    if price is None or threshold is None:
        raise ValueError("generator must give price and the mechanism's threshold (threshold, mat or mmf)")
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
    # A Morpho Blue vault's book: one LLTV per market.
    th_text = ", ".join(f"{x:g}" for x in th) if isinstance(th, list) else f"{th:g}"
    rows = [
        ("Valued at", f"price {numbers.price(s.get('price'))}, threshold {th_text}"),
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


def live_book_generator(market, *, price: float, total_usd: float) -> dict:
    """Generator keywords for a synthetic book of ``market`` valued at ``price`` with its live
    version's threshold (Aave v3 LT, Aave v4 collateral factor, Comet liquidate CF of the simulated
    collateral asset, Maker mat, the perp's first-tier maintenance fraction, each Morpho market's
    LLTV), so that every position starts healthy."""
    v = market.live_version.decimal_values()
    if market.mechanism == "aave-v3":
        return {"price": price, "threshold": float(v["liquidation_threshold"]), "total_debt_usd": total_usd}
    if market.mechanism == "aave-v4":
        return {"price": price, "threshold": float(v["collateral_factor"]), "total_debt_usd": total_usd}
    if market.mechanism == "compound-v3":
        # The collateral backtests simulate (backtests.params.simulated_asset).
        symbol = market.target.get("backtest_asset") or sorted(v["assets"])[0]
        asset = v["assets"][symbol]
        return {
            "price": price,
            "threshold": float(asset["liquidate_collateral_factor"]),
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
