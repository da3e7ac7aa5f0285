"""Price files: parsing, validation, gaps, compact blocks and content hashes (pure numpy).

Three input layouts are read (the scenario library's importer, margin-engine.md section 6):

- generic OHLCV CSV with a header ``timestamp,open,high,low,close,volume`` (the layout of
  ../shared/data/prices); the timestamp is ISO-8601 UTC or epoch seconds / milliseconds;
- Binance kline CSV: the 12 columns of the public data dumps and of ``GET /api/v3/klines``
  (open time, open, high, low, close, volume, close time, quote volume, trades, taker base
  volume, taker quote volume, ignore), no header (an optional header row is accepted);
- CoinGecko's market-chart export, CSV (``snapped_at,price,market_cap,total_volume``) or JSON
  (``{"prices": [[ms, price], ...], "total_volumes": [[ms, volume], ...]}``). CoinGecko gives
  a point price, not a bar, so open = high = low = close = price.

Timestamps are the bar's open time in whole epoch seconds (int64). A malformed file raises
:class:`PriceFileError` naming the line and the problem; nothing is half-parsed.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field

import numpy as np

from engine.errors import EngineError

FORMATS = ("auto", "ohlcv", "binance", "coingecko")
COLUMNS = ("open", "high", "low", "close", "volume")

# Binance's kline intervals (https://developers.binance.com/docs/binance-spot-api-docs/rest-api,
# "Kline/Candlestick data"), minus 1M whose length varies.
INTERVALS: dict[str, int] = {
    "1s": 1,
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14400,
    "6h": 21600,
    "8h": 28800,
    "12h": 43200,
    "1d": 86400,
    "3d": 259200,
    "1w": 604800,
}
INTERVAL_LABELS = {v: k for k, v in INTERVALS.items()}

_TIME_NAMES = ("timestamp", "time", "date", "datetime", "open_time", "unix", "snapped_at")
_BINANCE_HEADER = ("open_time", "open", "high", "low", "close", "volume", "close_time")
_ROW_DTYPE = np.dtype(
    [("t", "<i8"), ("open", "<f8"), ("high", "<f8"), ("low", "<f8"), ("close", "<f8"), ("volume", "<f8")]
)
_BLOCK_MAGIC = b"RGP2"


class PriceFileError(EngineError):
    """A malformed price file; ``line`` is the 1-based line of the file (0: the whole file)."""

    def __init__(self, line: int, problem: str) -> None:
        self.line = line
        self.problem = problem
        super().__init__(f"line {line}: {problem}" if line else problem)


@dataclass(frozen=True)
class PriceData:
    """A validated bar series.

    timestamps: (N,) int64 epoch seconds, strictly increasing, on the ``interval_seconds`` grid.
    open, high, low, close: (N,) float64 price in the quote currency, > 0, low <= open, close
        <= high. volume: (N,) float64 >= 0 (base asset for Binance, USD for CoinGecko).
    duplicates_dropped: rows that repeated an earlier row exactly and were left out.
    """

    timestamps: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    interval_seconds: int
    format: str = "ohlcv"
    duplicates_dropped: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        n = self.timestamps.shape[0]
        if self.timestamps.dtype != np.int64 or self.timestamps.ndim != 1:
            raise EngineError("timestamps must be a 1-d int64 array of epoch seconds")
        for name in COLUMNS:
            arr = getattr(self, name)
            if arr.dtype != np.float64 or arr.shape != (n,):
                raise EngineError(
                    f"{name} must be a float64 array of shape ({n},); got {arr.dtype} {arr.shape}"
                )
        if self.interval_seconds <= 0:
            raise EngineError(f"interval_seconds must be > 0; got {self.interval_seconds!r}")

    def __len__(self) -> int:
        return int(self.timestamps.shape[0])

    @property
    def interval(self) -> str:
        return interval_label(self.interval_seconds)

    @property
    def gaps(self) -> list[tuple[int, int, int]]:
        return find_gaps(self.timestamps, self.interval_seconds)

    def slice(self, start: int, stop: int) -> PriceData:
        """Rows ``start:stop`` as a new PriceData (same interval and format)."""
        return PriceData(
            self.timestamps[start:stop],
            *(getattr(self, c)[start:stop] for c in COLUMNS),
            interval_seconds=self.interval_seconds,
            format=self.format,
        )


def interval_label(seconds: int) -> str:
    """``3600 -> "1h"``; an interval Binance does not name is written in seconds (``"90s"``)."""
    return INTERVAL_LABELS.get(int(seconds), f"{int(seconds)}s")


def parse_interval(label: str) -> int:
    """``"1h" -> 3600``; raises EngineError naming the allowed labels."""
    try:
        return INTERVALS[label]
    except KeyError:
        raise EngineError(f"interval must be one of {', '.join(INTERVALS)}; got {label!r}") from None


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_prices(text: str, *, fmt: str = "auto", interval_seconds: int | None = None) -> PriceData:
    """Parse and validate a price file.

    Parameters
    ----------
    text: the whole file.
    fmt: ``auto`` (detected from the first line), ``ohlcv``, ``binance`` or ``coingecko``.
    interval_seconds: if given, the detected bar interval must equal it.

    Returns a :class:`PriceData`. Raises :class:`PriceFileError` naming the line and problem.
    """
    if fmt not in FORMATS:
        raise EngineError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    if fmt == "auto":
        fmt = detect_format(text)
    if fmt == "coingecko":
        lines, ts, cols = _read_coingecko(text)
    else:
        rows, lines = _split_csv(text)
        if fmt == "binance":
            lines, ts, cols = _read_binance(rows, lines)
        else:
            lines, ts, cols = _read_ohlcv(rows, lines)
    return _validate(lines, ts, cols, fmt=fmt, interval_seconds=interval_seconds)


def detect_format(text: str) -> str:
    """Guess the layout from the first non-blank line (or a JSON object)."""
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("{"):
        return "coingecko"
    first = head.split("\n", 1)[0].strip().lower()
    cells = [c.strip().strip('"') for c in first.split(",")]
    if cells and cells[0] == "snapped_at":
        return "coingecko"
    if cells[: len(_BINANCE_HEADER)] == list(_BINANCE_HEADER) or (len(cells) == 12 and _is_number(cells[0])):
        return "binance"
    if cells and cells[0] in _TIME_NAMES:
        return "ohlcv"
    raise PriceFileError(
        1,
        "unknown layout: expected a header 'timestamp,open,high,low,close,volume', "
        "a CoinGecko export ('snapped_at,price,...' or JSON) or 12-column Binance klines",
    )


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _split_csv(text: str) -> tuple[list[str], list[int]]:
    """Non-blank lines (stripped) and their 1-based line numbers; cells are split later."""
    rows: list[str] = []
    lines: list[int] = []
    for i, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        s = raw.strip()
        if s:
            rows.append(s)
            lines.append(i)
    if not rows:
        raise PriceFileError(0, "the file is empty")
    return rows, lines


def _cells(row: str) -> list[str]:
    return [c.strip().strip('"') for c in row.split(",")]


def _columns(rows: list[str], lines: list[int], width: int) -> list[list[str]]:
    """Columns of ``width`` fields; a row of another width is an error naming its line.

    Every row's comma count is checked first; then all rows are split at once and each column
    is every ``width``-th cell.
    """
    if not rows:
        return [[] for _ in range(width)]
    for row, line in zip(rows, lines, strict=False):
        if row.count(",") != width - 1:
            raise PriceFileError(line, f"expected {width} comma-separated fields, found {row.count(',') + 1}")
    joined = ",".join(rows)
    flat = joined.split(",")
    if " " in joined or '"' in joined or "\t" in joined:
        flat = [c.strip().strip('"') for c in flat]
    return [flat[j::width] for j in range(width)]


def _read_ohlcv(rows: list[str], lines: list[int]):
    header = [c.lower() for c in _cells(rows[0])]
    if header[0] not in _TIME_NAMES:
        raise PriceFileError(
            lines[0],
            f"the first column must be the time ({'/'.join(_TIME_NAMES[:3])}); got {_cells(rows[0])[0]!r}",
        )
    missing = [c for c in ("open", "high", "low", "close") if c not in header]
    if missing:
        # A replay steps through each bar's open, high, low and close (margin-engine.md s. 6):
        # a file of closes alone would hide the crash inside the bars.
        raise PriceFileError(
            lines[0],
            f"header lacks column(s) {', '.join(missing)}; expected timestamp,open,high,low,close,volume "
            "(replays step through each bar's open, high, low and close; for point prices with no "
            "bars, write the price in all four columns or import CoinGecko's export)",
        )
    cols = _columns(rows[1:], lines[1:], len(header))
    data_lines = lines[1:]
    if not data_lines:
        raise PriceFileError(0, "the file has a header but no rows")
    ts = _parse_times(cols[0], data_lines)
    out = {c: _parse_numbers(cols[header.index(c)], data_lines, c) for c in ("open", "high", "low", "close")}
    if "volume" in header:
        out["volume"] = _parse_numbers(cols[header.index("volume")], data_lines, "volume")
    else:
        out["volume"] = np.zeros(len(data_lines))
    return np.asarray(data_lines), ts, out


def _read_binance(rows: list[str], lines: list[int]):
    if not _is_number(_cells(rows[0])[0]):
        rows, lines = rows[1:], lines[1:]  # the optional header of newer data dumps
    if not rows:
        raise PriceFileError(0, "the file has no kline rows")
    cols = _columns(rows, lines, 12)
    open_raw = _parse_integers(cols[0], lines, "open time")
    close_raw = _parse_integers(cols[6], lines, "close time")
    unit = _epoch_unit(open_raw, lines)
    out = {c: _parse_numbers(cols[i + 1], lines, c) for i, c in enumerate(COLUMNS)}
    # A kline covers [open time, close time] with close time = next open - 1 (ms, or us in the
    # 2025+ dumps); the bar length must agree with the grid detected later.
    out["_span"] = (close_raw - open_raw + 1) // (unit if unit > 1 else 1)
    return np.asarray(lines), open_raw // unit, out


def _read_coingecko(text: str):
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("{"):
        try:
            doc = json.loads(head)
            prices = np.asarray(doc["prices"], dtype=np.float64)
            vols = np.asarray(doc.get("total_volumes", []), dtype=np.float64)
        except (ValueError, KeyError, TypeError) as exc:
            raise PriceFileError(
                0, f"CoinGecko JSON must be an object with 'prices': [[ms, price], ...]; {exc}"
            ) from None
        if prices.ndim != 2 or prices.shape[1] != 2 or prices.shape[0] == 0:
            raise PriceFileError(0, "CoinGecko JSON 'prices' must be a non-empty list of [ms, price] pairs")
        lines = np.arange(1, prices.shape[0] + 1)  # JSON has no lines: number the points instead
        ts_raw = prices[:, 0].astype(np.int64)
        unit = _epoch_unit(ts_raw, lines)
        volume = np.zeros(prices.shape[0])
        if vols.ndim == 2 and vols.shape[0] == prices.shape[0] and np.array_equal(vols[:, 0], prices[:, 0]):
            volume = np.nan_to_num(vols[:, 1])
        ts = _snap(ts_raw // unit, lines)
        price = prices[:, 1]
        if ts.shape[0] > 1 and ts[-1] == ts[-2]:
            # The live "now" point rounded onto the last grid time: keep the settled one.
            lines, ts, price, volume = lines[:-1], ts[:-1], price[:-1], volume[:-1]
        bad = np.flatnonzero(~np.isfinite(price))
        if bad.size:
            raise PriceFileError(
                int(lines[bad[0]]),
                f"price is not a finite number: {float(price[bad[0]])!r} (point {bad[0] + 1})",
            )
        return lines, ts, {"open": price, "high": price, "low": price, "close": price, "volume": volume}
    rows, lines = _split_csv(text)
    header = [c.lower() for c in _cells(rows[0])]
    if header[:2] != ["snapped_at", "price"]:
        raise PriceFileError(
            lines[0], "CoinGecko CSV must start with the header 'snapped_at,price,market_cap,total_volume'"
        )
    cols = _columns(rows[1:], lines[1:], len(header))
    data_lines = lines[1:]
    if not data_lines:
        raise PriceFileError(0, "the file has a header but no rows")
    ts = _snap(_parse_times(cols[0], data_lines), np.asarray(data_lines))
    price = _parse_numbers(cols[1], data_lines, "price")
    volume = np.zeros(len(data_lines))
    if "total_volume" in header:
        volume = _parse_numbers(
            [v or "0" for v in cols[header.index("total_volume")]], data_lines, "total_volume"
        )
    lines_arr = np.asarray(data_lines)
    if ts.shape[0] > 1 and ts[-1] == ts[-2]:
        lines_arr, ts, price, volume = lines_arr[:-1], ts[:-1], price[:-1], volume[:-1]
    return lines_arr, ts, {"open": price, "high": price, "low": price, "close": price, "volume": volume}


def _snap(ts: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """CoinGecko stamps its points a few seconds to minutes off the grid: round to the grid.

    The grid is the most common spacing rounded to a Binance interval; points are moved to the
    nearest grid time. The live last point (e.g. 14:20 on an hourly series) may land on the
    same grid time as the one before it; the caller then leaves it out.
    """
    if ts.shape[0] < 2:
        return ts
    step = int(np.median(np.diff(ts)))
    grid = min(INTERVALS.values(), key=lambda s: abs(s - step))
    return (ts + grid // 2) // grid * grid


def _epoch_unit(raw: np.ndarray, lines) -> int:
    """Seconds per raw unit from the magnitude of the first value: s, ms or us."""
    first = int(raw[0])
    if first < 10**11:
        return 1
    if first < 10**14:
        return 1000
    if first < 10**17:
        return 1_000_000
    raise PriceFileError(
        int(lines[0]), f"timestamp {first} is not epoch seconds, milliseconds or microseconds"
    )


def _parse_numbers(values: list[str], lines: list[int], name: str) -> np.ndarray:
    try:
        arr = np.array(values, dtype=np.float64)
    except ValueError:
        for v, line in zip(values, lines, strict=False):
            try:
                float(v)
            except ValueError:
                raise PriceFileError(line, f"{name} is not a number: {v!r}") from None
        raise
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise PriceFileError(lines[bad[0]], f"{name} is not a finite number: {values[bad[0]]!r}")
    return arr


def _parse_integers(values: list[str], lines: list[int], name: str) -> np.ndarray:
    try:
        return np.array(values, dtype=np.int64)
    except ValueError:
        for v, line in zip(values, lines, strict=False):
            try:
                int(v)
            except ValueError:
                raise PriceFileError(line, f"{name} is not a whole number: {v!r}") from None
        raise


def _parse_times(values: list[str], lines: list[int]) -> np.ndarray:
    """ISO-8601 UTC (``Z``, ``+00:00``, `` UTC`` or none; ``T`` or space) or epoch s / ms."""
    first = values[0]
    if first.lstrip("-").isdigit():
        raw = _parse_integers(values, lines, "timestamp")
        unit = _epoch_unit(raw, lines)
        if unit > 1:
            off = np.flatnonzero(raw % unit)
            if off.size:
                raise PriceFileError(lines[off[0]], f"timestamp {raw[off[0]]} is not a whole second")
        return raw // unit
    cleaned = []
    for v, line in zip(values, lines, strict=False):
        s = v.replace(" UTC", "").replace(" ", "T", 1) if " " in v else v
        if s.endswith("Z"):
            s = s[:-1]
        elif s.endswith("+00:00"):
            s = s[:-6]
        elif len(s) > 19 and s[-6] in "+-" and s[-3] == ":":
            raise PriceFileError(line, f"timestamp {v!r} is not in UTC; write it with Z or +00:00")
        if "." in s and s.rsplit(".", 1)[1].strip("0"):
            raise PriceFileError(line, f"timestamp {v!r} is not a whole second")
        cleaned.append(s)
    try:
        arr = np.array(cleaned, dtype="datetime64[s]")
    except ValueError:
        for s, v, line in zip(cleaned, values, lines, strict=False):
            try:
                np.datetime64(s, "s")
            except ValueError:
                raise PriceFileError(
                    line, f"timestamp {v!r} is not ISO-8601 UTC or epoch seconds/ms"
                ) from None
        raise
    nat = np.flatnonzero(np.isnat(arr))
    if nat.size:
        raise PriceFileError(lines[nat[0]], f"timestamp {values[nat[0]]!r} is not a date")
    return arr.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Validation


def _validate(
    lines: np.ndarray,
    ts: np.ndarray,
    cols: dict,
    *,
    fmt: str,
    interval_seconds: int | None,
    grid_only: bool = False,
) -> PriceData:
    o, h, lo, c, v = (cols[k] for k in COLUMNS)
    for name, arr in (("open", o), ("high", h), ("low", lo), ("close", c)):
        bad = np.flatnonzero(arr <= 0)
        if bad.size:
            raise PriceFileError(int(lines[bad[0]]), f"{name} must be > 0; got {float(arr[bad[0]])!r}")
    bad = np.flatnonzero(v < 0)
    if bad.size:
        raise PriceFileError(int(lines[bad[0]]), f"volume must be >= 0; got {float(v[bad[0]])!r}")
    bad = np.flatnonzero(h < lo)
    if bad.size:
        i = bad[0]
        raise PriceFileError(int(lines[i]), f"high {float(h[i])!r} is below low {float(lo[i])!r}")
    bad = np.flatnonzero((h < np.maximum(o, c)) | (lo > np.minimum(o, c)))
    if bad.size:
        i = bad[0]
        raise PriceFileError(
            int(lines[i]),
            f"open {float(o[i])!r} / close {float(c[i])!r} lie outside [low {float(lo[i])!r}, high {float(h[i])!r}]",
        )
    keep, dropped = _check_order(lines, ts, np.column_stack([o, h, lo, c, v]))
    notes: list[str] = []
    if not keep.all():
        lines, ts = lines[keep], ts[keep]
        o, h, lo, c, v = (a[keep] for a in (o, h, lo, c, v))
        if "_span" in cols:
            cols = {**cols, "_span": cols["_span"][keep]}
        notes.append(f"{dropped} exact duplicate row(s) left out")
    step = _detect_interval(lines, ts, interval_seconds, grid_only=grid_only)
    if "_span" in cols:
        bad = np.flatnonzero(cols["_span"] != step)
        if bad.size:
            i = bad[0]
            raise PriceFileError(
                int(lines[i]),
                f"close time gives a {int(cols['_span'][i])} s bar, but the rows are {step} s apart",
            )
    return PriceData(
        ts.astype(np.int64),
        *(np.ascontiguousarray(a, dtype=np.float64) for a in (o, h, lo, c, v)),
        interval_seconds=step,
        format=fmt,
        duplicates_dropped=dropped,
        notes=tuple(notes),
    )


def _check_order(lines: np.ndarray, ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, int]:
    """Times must increase; an exact repeat of the previous row is dropped, any other repeat is an error."""
    d = np.diff(ts)
    back = np.flatnonzero(d < 0)
    if back.size:
        i = back[0] + 1
        raise PriceFileError(
            int(lines[i]),
            f"time goes backwards: {_iso(ts[i])} comes after {_iso(ts[i - 1])} "
            f"(line {int(lines[i - 1])}); rows must be in ascending time order",
        )
    same = np.flatnonzero(d == 0) + 1
    differ = same[np.any(values[same] != values[same - 1], axis=1)]
    if differ.size:
        i = differ[0]
        raise PriceFileError(
            int(lines[i]),
            f"duplicate timestamp {_iso(ts[i])} (also on line {int(lines[i - 1])}) with different values",
        )
    keep = np.ones(ts.shape[0], dtype=bool)
    keep[same] = False
    return keep, int(same.size)


def _detect_interval(
    lines: np.ndarray, ts: np.ndarray, expected: int | None, *, grid_only: bool = False
) -> int:
    """The bar interval is the most common spacing; every spacing must be a whole multiple of it.

    ``grid_only`` (a page of downloaded klines, whose interval was asked for): the interval is
    ``expected`` and only the grid is checked, since a short page may hold only a gap's two sides.
    """
    if grid_only and expected is not None:
        off = np.flatnonzero(np.diff(ts) % expected)
        if off.size:
            i = off[0] + 1
            raise PriceFileError(
                int(lines[i]), f"timestamp {_iso(ts[i])} is not on the {interval_label(expected)} grid"
            )
        return int(expected)
    if ts.shape[0] < 2:
        if expected is None:
            raise PriceFileError(0, "at least two rows are needed to detect the bar interval")
        return int(expected)
    d = np.diff(ts)
    values, counts = np.unique(d, return_counts=True)
    step = int(values[np.argmax(counts)])
    if expected is not None and step != expected:
        raise PriceFileError(
            0, f"the rows are {interval_label(step)} apart, but {interval_label(expected)} was expected"
        )
    off = np.flatnonzero(d % step)
    if off.size:
        i = off[0] + 1
        raise PriceFileError(
            int(lines[i]),
            f"timestamp {_iso(ts[i])} is {int(d[off[0]])} s after the previous row, "
            f"not a whole number of {interval_label(step)} bars",
        )
    return step


def _iso(t: int) -> str:
    return str(np.datetime64(int(t), "s")) + "Z"


def find_gaps(timestamps: np.ndarray, interval_seconds: int) -> list[tuple[int, int, int]]:
    """Missing bars as ``(first missing open time, last missing open time, count)``, epoch s."""
    d = np.diff(timestamps)
    at = np.flatnonzero(d > interval_seconds)
    return [
        (
            int(timestamps[i] + interval_seconds),
            int(timestamps[i + 1] - interval_seconds),
            int(d[i] // interval_seconds - 1),
        )
        for i in at
    ]


# ---------------------------------------------------------------------------------------------
# Compact storage and hashes


def rows_of(ts: np.ndarray, cols: tuple[np.ndarray, ...]) -> np.ndarray:
    """The canonical row records: (N,) structured ``<i8`` time and five ``<f8`` columns."""
    rec = np.empty(ts.shape[0], dtype=_ROW_DTYPE)
    rec["t"] = ts
    for name, arr in zip(COLUMNS, cols, strict=False):
        rec[name] = arr
    return rec


def content_sha256(ts: np.ndarray, cols: tuple[np.ndarray, ...], h=None):
    """sha256 of the canonical row bytes (little-endian records, in time order).

    Hashing is by rows so that feeding consecutive blocks to one ``hashlib`` object (pass it as
    ``h``) gives the same digest as hashing the whole series at once. Returns the hash object.
    """
    h = h or hashlib.sha256()
    h.update(rows_of(ts, cols).tobytes())
    return h


def encode_block(ts: np.ndarray, cols: tuple[np.ndarray, ...]) -> bytes:
    """Compress one block of rows, losslessly.

    Times are stored as deltas (almost all equal to the interval). A price column whose values
    are all decimals with at most 10 places (``x == round(x * 10**k) / 10**k`` exactly, which is
    how a parsed decimal string round-trips) is stored as deltas of those integers; any other
    column as raw float64. Either way the 8-byte words are byte-shuffled (all first bytes, then
    all second bytes, ...) before zlib: small deltas are mostly zero bytes, which compress to
    almost nothing.
    """
    n = ts.shape[0]
    parts = [_pack_column(np.diff(ts, prepend=np.int64(0)).astype("<i8"), 0)]
    for c in cols:
        parts.append(_encode_column(np.asarray(c, dtype=np.float64)))
    body = b"".join(parts)
    return _BLOCK_MAGIC + np.int64(n).tobytes() + zlib.compress(body, 6)


def _encode_column(x: np.ndarray) -> bytes:
    for k in range(11):
        q = np.round(x * 10.0**k)
        if np.all(np.abs(q) < 2**53) and np.array_equal(q / 10.0**k, x):
            return _pack_column(np.diff(q.astype(np.int64), prepend=np.int64(0)).astype("<i8"), k + 1)
    return _pack_column(x.astype("<f8").view("<i8"), 255)


def _pack_column(words: np.ndarray, kind: int) -> bytes:
    shuffled = words.view(np.uint8).reshape(-1, 8).T
    return bytes([kind]) + np.ascontiguousarray(shuffled).tobytes()


def decode_block(blob: bytes) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Inverse of :func:`encode_block`: ``(timestamps (N,) int64, (open, high, low, close, volume))``."""
    blob = bytes(blob)
    if blob[:4] != _BLOCK_MAGIC:
        raise EngineError("price block has an unknown encoding (expected RGP2)")
    n = int(np.frombuffer(blob[4:12], dtype="<i8")[0])
    body = zlib.decompress(blob[12:])
    size = 1 + 8 * n
    out = []
    for i in range(6):
        kind = body[i * size]
        words = np.frombuffer(body[i * size + 1 : (i + 1) * size], dtype=np.uint8).reshape(8, n).T
        w = np.ascontiguousarray(words).view("<i8").reshape(n)
        if kind == 255:
            out.append(w.view("<f8").astype(np.float64))
        elif kind == 0:
            out.append(np.cumsum(w).astype(np.int64))
        else:
            out.append(np.cumsum(w).astype(np.float64) / 10.0 ** (kind - 1))
    return out[0], tuple(out[1:])


def month_starts(ts: np.ndarray) -> np.ndarray:
    """(N,) int64 epoch seconds of the start of each row's UTC calendar month."""
    return ts.astype("datetime64[s]").astype("datetime64[M]").astype("datetime64[s]").astype(np.int64)


def year_starts(ts: np.ndarray) -> np.ndarray:
    """(N,) int64 epoch seconds of the start of each row's UTC calendar year."""
    return ts.astype("datetime64[s]").astype("datetime64[Y]").astype("datetime64[s]").astype(np.int64)


def block_bounds(ts: np.ndarray, interval_seconds: int) -> list[tuple[int, int, int]]:
    """Split rows into storage blocks: ``(period start, row start, row stop)``.

    Intraday bars go in calendar-month blocks (720 hourly or 43,200 minute rows), daily and
    longer bars in calendar-year blocks, so a week's window touches one or two blocks.
    """
    keys = month_starts(ts) if interval_seconds < 86400 else year_starts(ts)
    if keys.size == 0:
        return []
    cut = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate([[0], cut])
    stops = np.concatenate([cut, [keys.size]])
    return [(int(keys[a]), int(a), int(b)) for a, b in zip(starts, stops, strict=False)]


def parse_klines(rows: list[list], *, interval_seconds: int | None = None) -> PriceData:
    """Validate klines as returned by Binance's ``GET /api/v3/klines`` (an array of 12-field
    arrays; numbers as JSON strings or numbers). Rows are numbered from 1 in error messages."""
    if not rows:
        raise PriceFileError(0, "no klines")
    text_rows = [",".join(str(x) for x in r) for r in rows]
    lines, ts, cols = _read_binance(text_rows, list(range(1, len(rows) + 1)))
    return _validate(
        lines,
        ts,
        cols,
        fmt="binance",
        interval_seconds=interval_seconds,
        grid_only=interval_seconds is not None,
    )


def concat(parts: list[PriceData]) -> PriceData:
    """Join consecutive PriceData of one interval (each later part strictly after the earlier)."""
    step = parts[0].interval_seconds
    for a, b in zip(parts, parts[1:], strict=False):
        if b.interval_seconds != step:
            raise EngineError(f"interval must be {step} s in every part; got {b.interval_seconds}")
        if len(a) and len(b) and b.timestamps[0] <= a.timestamps[-1]:
            raise EngineError(
                f"parts must follow each other in time; {_iso(b.timestamps[0])} "
                f"is not after {_iso(a.timestamps[-1])}"
            )
    ts = np.concatenate([p.timestamps for p in parts])
    cols = [np.concatenate([getattr(p, c) for p in parts]) for c in COLUMNS]
    off = np.flatnonzero(np.diff(ts) % step)
    if off.size:
        raise EngineError(f"timestamp {_iso(ts[off[0] + 1])} is not on the {interval_label(step)} grid")
    return PriceData(ts, *cols, interval_seconds=step, format=parts[0].format)
