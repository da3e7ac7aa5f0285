"""``manage.py create_stress_pack MARKET_SLUG --series ETHUSDT-1h``: the standard stress pack."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from engine.errors import EngineError
from proposals.models import Market
from scenarios import services


class Command(BaseCommand):
    help = "Build a market's standard stress pack (engine.scenarios.standard_pack) from a price series."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("market", help="market slug")
        parser.add_argument(
            "--series", required=True, help="price series as SYMBOL-INTERVAL, e.g. ETHUSDT-1h"
        )
        parser.add_argument(
            "--depth-usd",
            type=float,
            default=50_000_000.0,
            help="the market's normal liquidity depth in USD (default 50,000,000)",
        )
        parser.add_argument(
            "--start-price",
            type=float,
            default=None,
            help="rescale every scenario to start at this price (default: history's levels)",
        )
        parser.add_argument(
            "--n-steps",
            type=int,
            default=720,
            help="horizon of simulated scenarios, in bars (replays: their windows, four steps a bar)",
        )
        parser.add_argument(
            "--seed", type=int, default=20200312, help="seed of the first scenario (then +1 each)"
        )
        parser.add_argument("--name", default="Standard stress pack")
        parser.add_argument("--replace", action="store_true", help="rebuild an existing pack of that name")

    def handle(self, *args, **opts) -> None:
        market = Market.objects.filter(slug=opts["market"]).first()
        if market is None:
            have = ", ".join(Market.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"no market {opts['market']!r}; markets: {have}")
        try:
            series = services.get_series(opts["series"])
            pack = services.create_stress_pack(
                market=market,
                series=series,
                depth_usd=opts["depth_usd"],
                start_price=opts["start_price"],
                n_steps=opts["n_steps"],
                seed=opts["seed"],
                name=opts["name"],
                replace=opts["replace"],
            )
        except (EngineError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{pack}: {pack.entries.count()} scenarios (default pack of {market.slug})")
        for sc in pack.ordered_scenarios():
            self.stdout.write(f"  {sc.spec['kind']:9s} seed {sc.seed}  {sc.name}")
