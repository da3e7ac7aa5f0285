"""``manage.py import_prices FILE --symbol ETHUSDT`` or
``manage.py import_prices --download binance --symbol ETHUSDT --interval 1h --start 2020-01-01``."""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from engine.errors import EngineError
from engine.prices import FORMATS, INTERVALS
from scenarios import binance, services


class ProgressBar:
    """``[#########...........]  45%  31,000 bars`` on one terminal line."""

    def __init__(self, stream, label: str, width: int = 30) -> None:
        self.stream, self.label, self.width = stream, label, width

    def __call__(self, done: int, total: int, rows: int) -> None:
        frac = min(1.0, done / total) if total else 1.0
        filled = int(frac * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {frac:4.0%} {rows:,} bars")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = "Import a price file (OHLCV, Binance klines, CoinGecko) or download Binance klines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="CSV or JSON file to import")
        parser.add_argument("--symbol", required=True, help="e.g. ETHUSDT")
        parser.add_argument("--format", default="auto", choices=FORMATS)
        parser.add_argument(
            "--interval",
            choices=list(INTERVALS),
            help="bar interval: checked against the file; required with --download",
        )
        parser.add_argument("--replace", action="store_true", help="overwrite an existing series")
        parser.add_argument("--download", choices=["binance"], help="download instead of reading a file")
        parser.add_argument("--start", help="download from (ISO date/time, UTC)")
        parser.add_argument("--end", help="download up to (default: now)")
        parser.add_argument(
            "--base-url", help=f"exchange base URL (default: BINANCE_BASE_URL or {binance.DEFAULT_BASE_URL})"
        )

    def handle(self, *args, **opts) -> None:
        started = time.perf_counter()
        try:
            if opts["download"]:
                result = self._download(opts)
            else:
                if not opts["file"]:
                    raise CommandError("give a FILE to import, or --download binance")
                result = services.import_price_file(
                    path=opts["file"],
                    symbol=opts["symbol"],
                    fmt=opts["format"],
                    interval=opts["interval"],
                    replace=opts["replace"],
                )
        except (EngineError, ValueError, OSError, binance.DownloadError) as exc:
            raise CommandError(str(exc)) from None
        s = result.series
        self.stdout.write(
            f"{s.name}: {result.rows_added:,} rows added, {s.row_count:,} stored, "
            f"{services.iso(s.first_ts)} .. {services.iso(s.last_ts)}, {len(s.gaps)} gaps "
            f"({s.missing_bars} missing bars), {s.bytes_stored:,} bytes, sha256 {s.sha256[:16]}…, "
            f"{time.perf_counter() - started:.2f} s"
        )
        for note in result.notes:
            self.stdout.write(f"note: {note}")
        for first, last, n in s.gaps[:50]:  # the series page lists them all
            self.stdout.write(f"gap: {first} .. {last} ({n} bar{'s' if n != 1 else ''})")

    def _download(self, opts: dict) -> services.ImportResult:
        if opts["file"]:
            raise CommandError("give either a FILE or --download, not both")
        if not opts["interval"] or not opts["start"]:
            raise CommandError("--download needs --interval and --start")
        bar = ProgressBar(
            self.stderr._out if hasattr(self.stderr, "_out") else sys.stderr,
            f"{opts['symbol']} {opts['interval']}",
        )
        try:
            return services.download_binance(
                symbol=opts["symbol"],
                interval=opts["interval"],
                start=opts["start"],
                end=opts["end"],
                base_url=(opts["base_url"] or binance.base_url()),
                progress=bar,
            )
        finally:
            bar.close()
