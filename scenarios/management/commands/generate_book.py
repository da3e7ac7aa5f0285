"""``manage.py generate_book MARKET --positions 10000 --seed 7 --set price=2000 --set threshold=0.825``."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from engine.errors import EngineError
from scenarios import services
from scenarios.management.commands.import_book import get_market, write_summary


def parse_setting(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise CommandError(f"--set takes KEY=VALUE (JSON value); got {text!r}")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


class Command(BaseCommand):
    help = "Generate a synthetic book (engine.books.synthetic_book for the market's mechanism) from a seed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("market", help="market slug")
        parser.add_argument("--positions", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="generator argument, e.g. price=2000 threshold=0.825 top10_share=0.3",
        )
        parser.add_argument("--name")
        parser.add_argument("--not-default", action="store_true")
        parser.add_argument("--replace", action="store_true")

    def handle(self, *args, **opts) -> None:
        market = get_market(opts["market"])
        generator = dict(parse_setting(s) for s in opts["set"])
        try:
            book = services.generate_book(
                market=market,
                n=opts["positions"],
                seed=opts["seed"],
                generator=generator,
                name=opts["name"],
                make_default=not opts["not_default"],
                replace=opts["replace"],
            )
        except (EngineError, ValueError, TypeError) as exc:
            raise CommandError(str(exc)) from None
        write_summary(self.stdout, book)
