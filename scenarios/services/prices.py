"""Price series: import, download, store and load (windows read only the blocks they need)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from django.db import transaction

from engine import prices as ep
from engine.scenarios.history import History
from scenarios import binance
from scenarios.models import PriceBlock, PriceSeries

# ---------------------------------------------------------------------------------------------
# Times


def to_epoch(value: datetime | str | int | float | None, *, name: str = "time") -> int | None:
    """Epoch seconds from a datetime, an ISO-8601 date/time (UTC unless it says otherwise) or a
    number of seconds."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, float):
        return int(value)
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        try:
            dt = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            raise ValueError(
                f"{name} must be an ISO-8601 date or time such as 2020-01-01 or "
                f"2020-03-12T00:00:00Z; got {value!r}"
            ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def from_epoch(ts: int) -> datetime:
    return datetime.fromtimestamp(int(ts), tz=UTC)


def iso(ts: int) -> str:
    return from_epoch(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------
# Storing prices


@dataclass(frozen=True)
class ImportResult:
    series: PriceSeries
    rows_added: int
    notes: tuple[str, ...] = ()


def series_name(symbol: str, interval: str) -> str:
    return f"{symbol}-{interval}"


def get_series(name: str) -> PriceSeries:
    """``"ETHUSDT-1h"`` -> the PriceSeries; ValueError naming what exists otherwise."""
    symbol, _, interval = name.rpartition("-")
    found = PriceSeries.objects.filter(symbol=symbol, interval=interval).first()
    if found is None:
        have = ", ".join(s.name for s in PriceSeries.objects.all()) or "none"
        raise ValueError(f"no price series {name!r} (SYMBOL-INTERVAL); stored: {have}")
    return found


def import_price_file(
    *, path: Path | str, symbol: str, fmt: str = "auto", interval: str | None = None, replace: bool = False
) -> ImportResult:
    """Parse, validate and store a price file as the series ``symbol``-``interval``.

    Nothing is written unless the whole file is valid (engine.prices.PriceFileError names the
    line otherwise). An existing series of that symbol and interval is replaced only when
    ``replace`` is set.
    """
    path = Path(path)
    expected = ep.parse_interval(interval) if interval else None
    data = ep.parse_prices(path.read_text(encoding="utf-8"), fmt=fmt, interval_seconds=expected)
    series = store_prices(
        symbol=symbol,
        data=data,
        source=PriceSeries.Source.FILE,
        source_detail=f"{path.name} ({data.format})",
        replace=replace,
    )
    return ImportResult(series, len(data), data.notes)


def _validate_symbol(symbol: str) -> str:
    s = symbol.strip()
    if not s or "-" in s or len(s) > 40 or not s.replace("_", "").replace(".", "").isalnum():
        raise ValueError(f"symbol must be letters and digits (e.g. ETHUSDT), at most 40; got {symbol!r}")
    return s


@transaction.atomic
def store_prices(
    *, symbol: str, data: ep.PriceData, source: str, source_detail: str = "", replace: bool = False
) -> PriceSeries:
    """Write a whole series (its blocks, gaps, hash) in one transaction."""
    symbol = _validate_symbol(symbol)
    interval = data.interval
    existing = PriceSeries.objects.select_for_update().filter(symbol=symbol, interval=interval).first()
    if existing is not None:
        if not replace:
            raise ValueError(
                f"series {series_name(symbol, interval)} already exists "
                f"({existing.row_count} rows); pass --replace to overwrite it"
            )
        existing.delete()
    series = PriceSeries(
        symbol=symbol,
        interval=interval,
        interval_seconds=data.interval_seconds,
        source=source,
        source_detail=source_detail[:300],
    )
    _set_summary(series, data.timestamps[0], data.timestamps[-1], data.gaps, 0, "", 0)
    series.save()
    _write_blocks(series, data)
    _refresh_totals(series)
    return series


@transaction.atomic
def append_prices(*, series: PriceSeries, data: ep.PriceData) -> int:
    """Add rows after the series' last bar (downloads, resumes). Returns rows added.

    The last stored block is rewritten with the new rows of its period; later periods get new
    blocks. A gap between the old last bar and the new first bar is recorded.
    """
    series = PriceSeries.objects.select_for_update().get(pk=series.pk)
    if data.interval_seconds != series.interval_seconds:
        raise ValueError(f"interval of the new rows must be {series.interval}; got {data.interval}")
    if len(data) == 0:
        return 0
    if data.timestamps[0] <= series.last_ts:
        raise ValueError(
            f"new rows must start after the last stored bar {iso(series.last_ts)}; "
            f"got {iso(data.timestamps[0])}"
        )
    last = series.blocks.order_by("-first_ts").first()
    ts, cols = ep.decode_block(last.data)
    old = ep.PriceData(ts, *cols, interval_seconds=series.interval_seconds)
    merged = ep.concat([old, data])
    boundary_gaps = ep.find_gaps(
        np.array([series.last_ts, data.timestamps[0]], dtype=np.int64), series.interval_seconds
    )
    last.delete()
    _write_blocks(series, merged)
    series.gaps = list(series.gaps) + [_gap_json(g) for g in boundary_gaps + data.gaps]
    series.missing_bars = sum(g[2] for g in series.gaps)
    series.last_time = from_epoch(data.timestamps[-1])
    _refresh_totals(series)
    return len(data)


def _gap_json(g: tuple[int, int, int]) -> list:
    return [iso(g[0]), iso(g[1]), int(g[2])]


def _set_summary(
    series: PriceSeries, first: int, last: int, gaps: list, rows: int, sha: str, size: int
) -> None:
    series.first_time = from_epoch(first)
    series.last_time = from_epoch(last)
    series.gaps = [_gap_json(g) for g in gaps]
    series.missing_bars = sum(g[2] for g in gaps)
    series.row_count = rows
    series.sha256 = sha
    series.bytes_stored = size


def _write_blocks(series: PriceSeries, data: ep.PriceData) -> None:
    cols = tuple(getattr(data, c) for c in ep.COLUMNS)
    blocks = []
    for period, a, b in ep.block_bounds(data.timestamps, data.interval_seconds):
        blocks.append(
            PriceBlock(
                series=series,
                period_start=period,
                first_ts=int(data.timestamps[a]),
                last_ts=int(data.timestamps[b - 1]),
                row_count=b - a,
                data=ep.encode_block(data.timestamps[a:b], tuple(c[a:b] for c in cols)),
            )
        )
    PriceBlock.objects.bulk_create(blocks, batch_size=200)


def _refresh_totals(series: PriceSeries) -> None:
    """Row count, stored bytes and the content hash, streamed over the blocks in time order."""
    h = hashlib.sha256()
    rows = size = 0
    for blob, n in series.blocks.order_by("first_ts").values_list("data", "row_count").iterator():
        ts, cols = ep.decode_block(blob)
        ep.content_sha256(ts, cols, h)
        rows += n
        size += len(blob)
    series.row_count, series.bytes_stored, series.sha256 = rows, size, h.hexdigest()
    series.save()


# ---------------------------------------------------------------------------------------------
# Loading prices


def load_window(series: PriceSeries, start=None, end=None) -> ep.PriceData:
    """Bars whose open time lies in ``[start, end]`` (either end open when None).

    Reads only the stored blocks that overlap the window.
    """
    lo, hi = to_epoch(start, name="start"), to_epoch(end, name="end")
    q = series.blocks.all()
    if lo is not None:
        q = q.filter(last_ts__gte=lo)
    if hi is not None:
        q = q.filter(first_ts__lte=hi)
    parts = [ep.decode_block(blob) for blob in q.order_by("first_ts").values_list("data", flat=True)]
    if not parts:
        ts = np.empty(0, dtype=np.int64)
        cols = tuple(np.empty(0) for _ in ep.COLUMNS)
    else:
        ts = np.concatenate([p[0] for p in parts])
        cols = tuple(np.concatenate([p[1][i] for p in parts]) for i in range(len(ep.COLUMNS)))
    a = 0 if lo is None else int(np.searchsorted(ts, lo, side="left"))
    b = ts.size if hi is None else int(np.searchsorted(ts, hi, side="right"))
    return ep.PriceData(ts[a:b], *(c[a:b] for c in cols), interval_seconds=series.interval_seconds)


def load_history(series: PriceSeries | str, start=None, end=None):
    """The window as an ``engine.scenarios.History`` (open, high, low and close: a replay steps
    through each bar's extremes), for scenario generation."""
    if isinstance(series, str):
        series = get_series(series)
    data = load_window(series, start, end)
    if len(data) == 0:
        raise ValueError(
            f"{series.name} has no bars in [{start}, {end}]; it covers "
            f"{iso(series.first_ts)} .. {iso(series.last_ts)}"
        )
    return History(
        data.timestamps,
        data.close,
        series.interval_seconds,
        series.symbol,
        open=data.open,
        high=data.high,
        low=data.low,
    )


def window_sha256(series: PriceSeries, start=None, end=None) -> str:
    """sha256 of the canonical rows of a window (the whole series: equals ``series.sha256``)."""
    data = load_window(series, start, end)
    return ep.content_sha256(data.timestamps, tuple(getattr(data, c) for c in ep.COLUMNS)).hexdigest()


# ---------------------------------------------------------------------------------------------
# Downloading from Binance


def download_binance(
    *,
    symbol: str,
    interval: str,
    start,
    end=None,
    base_url: str,
    fetch: Callable | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    now_ms: int | None = None,
    pages_per_commit: int = 5,
) -> ImportResult:
    """Download klines into the series ``symbol``-``interval``, resuming after its last bar.

    Pages of up to 1,000 bars are fetched from ``start`` (or from the bar after the last stored
    one, whichever is later) to ``end`` (default: now; a date alone includes that whole day).
    Every ``pages_per_commit`` pages are written in their own transaction, so an interrupted
    download keeps what it stored and the next run continues from there. The still-open
    current bar is never stored.
    """
    symbol = _validate_symbol(symbol)
    step = ep.parse_interval(interval)
    fetch = fetch or binance.fetch_klines
    now_ms = now_ms if now_ms is not None else binance.now_ms()
    start_s = to_epoch(start, name="start")
    end_s = to_epoch(end, name="end") if end is not None else now_ms // 1000
    if isinstance(end, str) and len(end.strip()) == 10:
        end_s += 86400 - 1  # a date alone means "through that day"
    series = PriceSeries.objects.filter(symbol=symbol, interval=interval).first()
    cursor = start_s if series is None else max(start_s, series.last_ts + step)
    cursor = -(-cursor // step) * step  # the first bar open at or after the start
    added, pending = 0, []
    total = max(1, end_s - cursor + step)
    first_cursor = cursor
    try:
        while cursor <= end_s:
            rows = fetch(base_url, symbol, interval, cursor * 1000, end_s * 1000 + step * 1000 - 1, 1000)
            full_page = len(rows) >= 1000
            rows = [r for r in rows if int(r[6]) < now_ms]  # a bar still open is not a bar yet
            if not rows:
                break
            page = ep.parse_klines(rows, interval_seconds=step)
            page = page.slice(0, int(np.count_nonzero(page.timestamps <= end_s)))
            if len(page) == 0:
                break
            pending.append(page)
            cursor = int(page.timestamps[-1]) + step
            if len(pending) >= pages_per_commit:
                series, n = _flush(series, symbol, pending, base_url)
                added, pending = added + n, []
            if progress:
                progress(
                    min(cursor, end_s + step) - first_cursor, total, added + sum(len(p) for p in pending)
                )
            if not full_page:
                break
    finally:
        # Whatever was fetched is valid: keep it even when a later page fails, so that the
        # next run resumes after it.
        if pending:
            series, n = _flush(series, symbol, pending, base_url)
            added += n
    if progress:
        progress(total, total, added)
    if series is None:
        raise ValueError(
            f"Binance returned no {interval} klines for {symbol} from {iso(start_s)} to {iso(end_s)}"
        )
    return ImportResult(series, added)


def _flush(series: PriceSeries | None, symbol: str, pages: list[ep.PriceData], base_url: str):
    data = ep.concat(pages)
    if series is None:
        series = store_prices(
            symbol=symbol,
            data=data,
            source=PriceSeries.Source.BINANCE,
            source_detail=f"{base_url}/api/v3/klines",
        )
        return series, len(data)
    n = append_prices(series=series, data=data)
    series.refresh_from_db()
    return series, n
