"""``python manage.py seed_backtests --prices FILE``: give every market the standard stress pack
on real history (idempotent).

``seed_demo`` gives each market a synthetic pack (the product ships no price history). This
command imports the given price file (any layout ``import_prices`` reads) under ``--symbol``
unless that series is stored already, then builds the standard pack
(``scenarios.services.create_stress_pack``, rescaled to ``--price``) for every market that
does not have it yet, where it becomes the default; and a synthetic book valued at the same
price with the live version's threshold for every market that has no book. Every market is
backtested on the one series given: the demo's markets are ETH markets (a Comet market
backtested on several collateral assets is skipped: it needs a path per asset).
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from proposals.models import Market
from proposals.schema.market import backtest_assets
from scenarios import services as scenario_services
from scenarios.models import StressPack

STANDARD = "Standard stress pack"


class Command(BaseCommand):
    help = "Build the standard stress pack on real history for every market, and a book where none exists."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--prices", type=Path, help="price file to import if the series is not stored yet"
        )
        parser.add_argument("--symbol", default="ETHUSDT", help="symbol of the series (default ETHUSDT)")
        parser.add_argument("--interval", default="1h", help="interval of the series (default 1h)")
        parser.add_argument(
            "--price", type=float, default=2000.0, help="start price of scenarios and book (USD)"
        )
        parser.add_argument("--positions", type=int, default=10_000)
        parser.add_argument("--total-usd", type=float, default=1e8, help="book's total debt / notional (USD)")
        parser.add_argument("--depth-multiple", type=float, default=5.0, help="market depth = this x total")
        parser.add_argument("--steps", type=int, default=720, help="hourly steps of simulated scenarios")

    def handle(self, *args, **opts) -> None:
        series = self.series(opts)
        for market in Market.objects.all():
            if market.live_version is None:
                self.stdout.write(f"{market.slug}: no live version, skipped")
                continue
            assets = backtest_assets(market.mechanism, market.target)
            if assets and len(assets) > 1:
                # The standard pack replays one series; this market's accounts hold several
                # collateral assets, backtested together on a path per asset.
                self.stdout.write(
                    f"{market.slug}: backtested on {', '.join(assets)} together, and the standard pack "
                    f"is built on one series: skipped (it keeps its pack; target.backtest_asset would "
                    f"backtest one asset)"
                )
                continue
            if not StressPack.objects.filter(market=market, name=STANDARD).exists():
                pack = scenario_services.create_stress_pack(
                    market=market,
                    series=series,
                    depth_usd=opts["depth_multiple"] * opts["total_usd"],
                    start_price=opts["price"],
                    n_steps=opts["steps"],
                )
                self.stdout.write(
                    f"{market.slug}: stress pack {pack.name!r} ({pack.scenarios.count()} scenarios)"
                )
            if scenario_services.default_book(market) is None:
                generator = scenario_services.live_book_generator(
                    market, price=opts["price"], total_usd=opts["total_usd"]
                )
                book = scenario_services.generate_book(
                    market=market, n=opts["positions"], seed=1, generator=generator
                )
                self.stdout.write(f"{market.slug}: book {book.name!r} ({book.n_positions} positions)")

    def series(self, opts: dict):
        name = f"{opts['symbol']}-{opts['interval']}"
        try:
            return scenario_services.get_series(name)
        except Exception:  # not stored yet (get_series raises its own not-found error)
            if opts["prices"] is None:
                raise CommandError(
                    f"no price series {name} is stored: give --prices FILE to import it "
                    f"(or run import_prices first)"
                ) from None
            if not opts["prices"].exists():
                raise CommandError(f"--prices: {opts['prices']} does not exist") from None
            return scenario_services.import_price_file(path=opts["prices"], symbol=opts["symbol"]).series
