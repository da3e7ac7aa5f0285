"""``manage.py bench_prices FILE``: measure price storage (import time, window load time, bytes).

It imports FILE under a throw-away symbol, times loads of random one-week windows and of the
whole series, imports ten years of synthetic hourly bars, then deletes what it wrote.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandParser

from engine import prices as ep
from scenarios import services
from scenarios.models import PriceSeries


class Command(BaseCommand):
    help = "Measure import time, one-week window load time and stored bytes of a price file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--windows", type=int, default=50, help="one-week windows to load")

    def handle(self, *args, **opts) -> None:
        path = Path(opts["file"])
        symbol = "BENCHPRICES"
        PriceSeries.objects.filter(symbol__in=[symbol, "BENCHSYNTH"]).delete()
        try:
            self._bench_file(path, symbol, opts["windows"])
            self._bench_synthetic()
        finally:
            PriceSeries.objects.filter(symbol__in=[symbol, "BENCHSYNTH"]).delete()

    def _bench_file(self, path: Path, symbol: str, n_windows: int) -> None:
        t0 = time.perf_counter()
        data = ep.parse_prices(path.read_text())
        t_parse = time.perf_counter() - t0
        t0 = time.perf_counter()
        series = services.store_prices(symbol=symbol, data=data, source=PriceSeries.Source.FILE)
        t_store = time.perf_counter() - t0
        raw = len(data) * 48
        self.stdout.write(
            f"{path.name}: {len(data):,} rows; parse {t_parse:.3f} s + store {t_store:.3f} s "
            f"= import {t_parse + t_store:.3f} s"
        )
        self.stdout.write(
            f"stored {series.bytes_stored:,} bytes in {series.blocks.count()} blocks "
            f"(file {path.stat().st_size:,} bytes, raw int64+5xfloat64 {raw:,} bytes, "
            f"{raw / series.bytes_stored:.1f}x smaller)"
        )
        rng = np.random.default_rng(0)
        week = 7 * 86400
        starts = rng.integers(series.first_ts, series.last_ts - week, n_windows)
        # The first call imports engine.scenarios (scipy): keep that out of the figures.
        services.load_history(series, series.first_ts, series.first_ts + week)
        times = []
        for s in starts:
            t0 = time.perf_counter()
            services.load_history(series, int(s), int(s) + week - series.interval_seconds)
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        services.load_window(series)
        t_all = time.perf_counter() - t0
        self.stdout.write(
            f"one-week window: median {np.median(times) * 1000:.2f} ms, max {max(times) * 1000:.2f} ms "
            f"over {n_windows} windows; whole series {t_all * 1000:.1f} ms"
        )

    def _bench_synthetic(self) -> None:
        n = 10 * 8760
        rng = np.random.default_rng(1)
        ts = 1_262_304_000 + 3600 * np.arange(n, dtype=np.int64)  # 2010-01-01, hourly
        close = np.round(1000 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), 2)
        open_ = np.concatenate([[1000.0], close[:-1]])
        high, low = np.maximum(open_, close) + 0.5, np.minimum(open_, close) - 0.5
        vol = np.round(rng.uniform(0, 1e4, n), 4)
        lines = ["timestamp,open,high,low,close,volume"] + [
            f"{t},{o!r},{h!r},{lo!r},{c!r},{v!r}"
            for t, o, h, lo, c, v in zip(
                ts.tolist(),
                open_.tolist(),
                high.tolist(),
                low.tolist(),
                close.tolist(),
                vol.tolist(),
                strict=False,
            )
        ]
        text = "\n".join(lines)
        t0 = time.perf_counter()
        data = ep.parse_prices(text)
        series = services.store_prices(symbol="BENCHSYNTH", data=data, source=PriceSeries.Source.FILE)
        t = time.perf_counter() - t0
        self.stdout.write(
            f"ten years of hourly bars ({n:,} rows, {len(text):,} bytes of CSV): import {t:.3f} s, "
            f"{series.bytes_stored:,} bytes stored"
        )
