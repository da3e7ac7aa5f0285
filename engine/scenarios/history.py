"""Windows of real price history, their returns and their alignment across assets.

Conventions (shared/data/prices/README.md): a bar's timestamp is its *open* time and its
close is the price at the end of the bar, ``timestamp + interval_seconds``. Missing bars are
gaps: nothing is filled in the data itself.

Replays reach each bar's real extremes (margin-engine.md section 6): ``bar_steps`` turns a bar
into ``STEPS_PER_BAR`` = 4 steps of a quarter bar each, open, then low and high in the order
the bar's direction makes likely (low first when it closed up, ``close >= open``; high first
when it closed down), then close. The close ends the bar at its close time.

Gaps and returns: a log return ``log(close[i] / close[i - 1])`` is kept only when the two bars
are exactly one interval apart. A return spanning a gap is dropped for fitting and for the
bootstrap (it would be several intervals' move presented as one). The remaining returns are
concatenated; a GARCH variance recursion then runs straight across the (rare, short) gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from engine.errors import EngineError

STEPS_PER_BAR = 4


@dataclass(frozen=True)
class History:
    """A window of real history for one symbol.

    timestamps: int64 (T,), epoch seconds of each bar's open, strictly increasing, each
        difference a whole multiple of ``interval_seconds`` (a larger multiple is a gap).
    close: float64 (T,), closing prices (> 0, finite), USD per unit.
    interval_seconds: bar length in seconds (3600 for hourly).
    symbol: market symbol, e.g. ``"ETHUSDT"``.
    open, high, low: float64 (T,), the bars' other prices, ``low <= open, close <= high``; all
        three or none. None (a series of point prices, e.g. closes only): each is the close, so
        a replay's four steps of a bar are flat and the moves happen between bars.
    """

    timestamps: np.ndarray
    close: np.ndarray
    interval_seconds: int
    symbol: str
    open: np.ndarray | None = None
    high: np.ndarray | None = None
    low: np.ndarray | None = None

    def __post_init__(self) -> None:
        ts = np.array(self.timestamps, dtype=np.int64, copy=True).reshape(-1)
        close = np.array(self.close, dtype=np.float64, copy=True).reshape(-1)
        if int(self.interval_seconds) != self.interval_seconds or self.interval_seconds < 1:
            raise EngineError(
                f"history.interval_seconds must be a whole number >= 1; got {self.interval_seconds!r}"
            )
        if not isinstance(self.symbol, str) or not self.symbol:
            raise EngineError(f"history.symbol must be a non-empty string; got {self.symbol!r}")
        if ts.shape != close.shape:
            raise EngineError(
                f"history.close must have the shape of history.timestamps {ts.shape}; "
                f"got {close.shape} ({self.symbol})"
            )
        if ts.size < 1:
            raise EngineError(f"history of {self.symbol} must have at least 1 bar; got 0")
        bad = np.flatnonzero(~np.isfinite(close) | (close <= 0))
        if bad.size:
            raise EngineError(
                f"history.close of {self.symbol} must be finite and > 0; got "
                f"{float(close[bad[0]])!r} at index {int(bad[0])}"
            )
        d = np.diff(ts)
        bad = np.flatnonzero((d <= 0) | (d % int(self.interval_seconds) != 0))
        if bad.size:
            raise EngineError(
                f"history.timestamps of {self.symbol} must increase by whole multiples of "
                f"interval_seconds={self.interval_seconds}; got a step of {int(d[bad[0]])} s "
                f"after index {int(bad[0])}"
            )
        ohl = self._extremes(close)
        for arr in (ts, close, *ohl):
            arr.setflags(write=False)
        object.__setattr__(self, "timestamps", ts)
        object.__setattr__(self, "close", close)
        object.__setattr__(self, "interval_seconds", int(self.interval_seconds))
        for name, arr in zip(("open", "high", "low"), ohl, strict=True):
            object.__setattr__(self, name, arr)

    def _extremes(self, close: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """open, high, low checked against the closes (each the close when none is given)."""
        given = [x is not None for x in (self.open, self.high, self.low)]
        if not any(given):
            return close.copy(), close.copy(), close.copy()
        if not all(given):
            raise EngineError(
                f"history.open, high and low of {self.symbol} must be given together (or none, for "
                f"point prices); got {[n for n, g in zip(('open', 'high', 'low'), given, strict=True) if g]}"
            )
        o, h, lo = (
            np.array(x, dtype=np.float64, copy=True).reshape(-1) for x in (self.open, self.high, self.low)
        )
        for name, arr in (("open", o), ("high", h), ("low", lo)):
            if arr.shape != close.shape:
                raise EngineError(
                    f"history.{name} of {self.symbol} must have the shape of history.close "
                    f"{close.shape}; got {arr.shape}"
                )
            bad = np.flatnonzero(~np.isfinite(arr) | (arr <= 0))
            if bad.size:
                raise EngineError(
                    f"history.{name} of {self.symbol} must be finite and > 0; got "
                    f"{float(arr[bad[0]])!r} at index {int(bad[0])}"
                )
        bad = np.flatnonzero((lo > np.minimum(o, close)) | (h < np.maximum(o, close)))
        if bad.size:
            i = int(bad[0])
            raise EngineError(
                f"history of {self.symbol}: bar {i} must have low <= open, close <= high; got open "
                f"{o[i]!r}, high {h[i]!r}, low {lo[i]!r}, close {close[i]!r}"
            )
        return o, h, lo

    def window(self, start: int, end: int) -> History:
        """Bars whose open time is in ``[start, end]`` (epoch seconds, both ends included)."""
        lo = int(np.searchsorted(self.timestamps, start, side="left"))
        hi = int(np.searchsorted(self.timestamps, end, side="right"))
        if hi - lo < 2:
            raise EngineError(
                f"window [{iso(start)}, {iso(end)}] must hold at least 2 bars of {self.symbol}; "
                f"got {hi - lo} (history covers {iso(self.timestamps[0])} .. {iso(self.timestamps[-1])})"
            )
        return History(
            self.timestamps[lo:hi],
            self.close[lo:hi],
            self.interval_seconds,
            self.symbol,
            open=self.open[lo:hi],
            high=self.high[lo:hi],
            low=self.low[lo:hi],
        )

    def log_returns(self) -> tuple[np.ndarray, np.ndarray]:
        """Log returns over exactly one interval, gaps dropped.

        Returns ``(r, ts)``: float64 (n,) returns and int64 (n,) the open timestamp of the bar
        whose close ends each return.
        """
        ok = np.diff(self.timestamps) == self.interval_seconds
        r = np.diff(np.log(self.close))[ok]
        return r, self.timestamps[1:][ok]


def iso(ts: int | np.integer) -> str:
    """Epoch seconds -> ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(name: str, text: object) -> int:
    """``2020-03-11T00:00:00Z`` (UTC, explicit zone) -> epoch seconds; EngineError naming ``name``."""
    if not isinstance(text, str):
        raise EngineError(f"{name} must be an ISO-8601 UTC time like 2020-03-11T00:00:00Z; got {text!r}")
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise EngineError(
            f"{name} must be an ISO-8601 UTC time like 2020-03-11T00:00:00Z; got {text!r}"
        ) from None
    if dt.tzinfo is None:
        raise EngineError(f"{name} must carry a time zone (Z for UTC); got {text!r}")
    return int(dt.timestamp())


def aligned_returns(histories: list[History]) -> tuple[np.ndarray, np.ndarray]:
    """Returns of several assets at the same timestamps, for joint bootstraps and correlations.

    Keeps the timestamps where every asset has a one-interval return (a gap in any asset drops
    that row for all). Returns ``(R, ts)``: float64 (A, n) and int64 (n,).
    """
    rs = [h.log_returns() for h in histories]
    common = rs[0][1]
    for _, ts in rs[1:]:
        common = np.intersect1d(common, ts, assume_unique=True)
    if common.size < 2:
        raise EngineError(
            f"assets {[h.symbol for h in histories]} must share at least 2 returns "
            f"at the same timestamps in the window; got {common.size}"
        )
    R = np.stack([r[np.searchsorted(ts, common)] for r, ts in rs])
    return R, common


def grid_bars(histories: list[History]) -> tuple[np.ndarray, int]:
    """Bars of several assets on one regular time grid (for replays).

    The grid runs from the latest first bar to the earliest last bar, one bar per interval;
    a missing bar is the previous close four times (the market is shown flat where there is no
    data; the stress windows have no gaps). Returns float64 (A, 4, n), rows open, high, low,
    close, and the open time of the grid's first bar.
    """
    step = histories[0].interval_seconds
    t0 = max(int(h.timestamps[0]) for h in histories)
    t1 = min(int(h.timestamps[-1]) for h in histories)
    if t1 - t0 < step:
        raise EngineError(
            f"assets {[h.symbol for h in histories]} must overlap by at least 2 bars in the window"
        )
    grid = np.arange(t0, t1 + 1, step, dtype=np.int64)
    out = np.empty((len(histories), 4, grid.size))
    for a, h in enumerate(histories):
        idx = np.searchsorted(h.timestamps, grid, side="right") - 1
        present = h.timestamps[idx] == grid
        for row, prices in enumerate((h.open, h.high, h.low, h.close)):
            out[a, row] = np.where(present, prices[idx], h.close[idx])
    return out, t0


def bar_steps(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """Bars as the replay's steps: ``STEPS_PER_BAR`` = 4 steps per bar (margin-engine.md s. 6).

    Each bar gives open, then low and high in the order its direction makes likely (low first
    when it closed up or flat, ``close >= open``; high first when it closed down), then close.

    Parameters
    ----------
    open_, high, low, close : float64 (..., n), the bars in time order.

    Returns
    -------
    float64 (..., 4 n): step ``4 i + k`` is the price of bar ``i``'s quarter ``k``.
    """
    o, h, lo, c = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (open_, high, low, close)))
    up = c >= o
    steps = np.stack([o, np.where(up, lo, h), np.where(up, h, lo), c], axis=-1)
    return steps.reshape(*o.shape[:-1], STEPS_PER_BAR * o.shape[-1])


def max_drawdown(prices: np.ndarray) -> float:
    """The largest fall from the running peak along a path, as a fraction (0.577 = 57.7 %).

    prices: float64 (T+1,) or (M, T+1); for several paths, the largest over them.
    """
    p = np.asarray(prices, dtype=np.float64)
    return float((1.0 - p / np.maximum.accumulate(p, axis=-1)).max())
