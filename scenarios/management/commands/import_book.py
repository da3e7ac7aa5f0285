"""``manage.py import_book MARKET FILE --price 2000 --threshold 0.825``: a position book from CSV.

A Comet market backtested on several collateral assets takes one price and one threshold per
asset, in the market's order: ``--price 2000 60000 --threshold 0.90 0.77``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from engine.errors import EngineError
from proposals.models import Market
from scenarios import services


def get_market(slug: str) -> Market:
    market = Market.objects.filter(slug=slug).first()
    if market is None:
        have = ", ".join(Market.objects.values_list("slug", flat=True)) or "none"
        raise CommandError(f"no market {slug!r}; markets: {have}")
    return market


class Command(BaseCommand):
    help = "Import a book CSV (account,collateral_asset,collateral_amount,debt_amount[,...]) for a market."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("market", help="market slug")
        parser.add_argument("file")
        parser.add_argument(
            "--price",
            type=float,
            nargs="+",
            required=True,
            help="collateral price (USD) for the summary; one per collateral asset, in the market's order, "
            "for a Comet market backtested on several",
        )
        parser.add_argument(
            "--threshold",
            type=float,
            nargs="+",
            required=True,
            help="liquidation threshold for the summary's health factors (Aave v3 LT, Aave v4 CF, Comet "
            "liquidate CF, Maker mat, perp maintenance fraction)",
        )
        parser.add_argument("--name", help="book name (default: the file name)")
        parser.add_argument(
            "--not-default", action="store_true", help="keep the market's current default book"
        )
        parser.add_argument("--replace", action="store_true", help="overwrite a book of the same name")

    def handle(self, *args, **opts) -> None:
        market = get_market(opts["market"])
        try:
            book = services.import_book(
                market=market,
                path=opts["file"],
                price=opts["price"][0] if len(opts["price"]) == 1 else opts["price"],
                threshold=opts["threshold"][0] if len(opts["threshold"]) == 1 else opts["threshold"],
                name=opts["name"],
                make_default=not opts["not_default"],
                replace=opts["replace"],
            )
        except (EngineError, ValueError, OSError) as exc:
            raise CommandError(str(exc)) from None
        write_summary(self.stdout, book)


def write_summary(out, book) -> None:
    s = book.summary
    out.write(
        f"{book}: {book.n_positions:,} positions, debt {s['total_debt_usd']:,.0f} USD, collateral "
        f"{s['total_collateral_usd']:,.0f} USD, top-10 share {s['top10_share']:.1%}, "
        f"{s['n_liquidatable']} liquidatable, {book.bytes_stored:,} bytes, sha256 {book.sha256[:16]}…"
    )
