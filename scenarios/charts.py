"""Plotly figures of the scenario library, as plain dicts for ``json_script``.

Figures are built from paths the engine generated (seeded) or from stored prices; nothing
here simulates.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import plotly.graph_objects as go

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
BAND_FILL = ("rgba(31,119,180,0.15)", "rgba(31,119,180,0.30)")
MAX_POINTS = 3000


def _as_dict(fig: go.Figure) -> dict:
    # Round-trip through plotly's encoder: numpy arrays and datetimes become plain JSON.
    return json.loads(fig.to_json())


def fan_bands(prices: np.ndarray) -> dict[float, np.ndarray]:
    """Per-step quantiles over paths: ``{q: (T+1,) array}`` for q in QUANTILES; prices (M, T+1)."""
    qs = np.quantile(prices, QUANTILES, axis=0)
    return dict(zip(QUANTILES, qs, strict=False))


def _x_axis(n: int, interval_seconds: int, start: datetime | None) -> tuple[list, str]:
    if start is not None:
        return [start + timedelta(seconds=interval_seconds * i) for i in range(n)], "time (UTC)"
    hours = interval_seconds / 3600.0
    if hours >= 24:
        return (np.arange(n) * hours / 24).tolist(), "days from start"
    return (np.arange(n) * hours).tolist(), "hours from start"


def fan_chart(
    prices: np.ndarray,
    *,
    interval_seconds: int,
    start: datetime | None = None,
    title: str = "",
    n_samples: int = 5,
    asset: str = "",
) -> dict:
    """Fan chart of paths (M, T+1): median, 5-95 % and 25-75 % bands, and the first
    ``n_samples`` paths (the first paths of a seeded run, so the same ones every time)."""
    prices = np.asarray(prices, dtype=np.float64)
    x, x_title = _x_axis(prices.shape[1], interval_seconds, start)
    fig = go.Figure()
    if prices.shape[0] > 1:
        bands = fan_bands(prices)
        for (lo, hi), fill in zip(((0.05, 0.95), (0.25, 0.75)), BAND_FILL, strict=False):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=bands[hi],
                    mode="lines",
                    line={"width": 0},
                    showlegend=False,
                    hoverinfo="skip",
                    name=f"{hi:.0%}",
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=bands[lo],
                    mode="lines",
                    line={"width": 0},
                    fill="tonexty",
                    fillcolor=fill,
                    name=f"{lo:.0%}-{hi:.0%}",
                )
            )
        for i in range(min(n_samples, prices.shape[0])):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=prices[i],
                    mode="lines",
                    line={"width": 1, "color": "rgba(90,90,90,0.55)"},
                    name="sample paths",
                    legendgroup="samples",
                    showlegend=i == 0,
                )
            )
        fig.add_trace(
            go.Scatter(x=x, y=bands[0.5], mode="lines", line={"width": 2, "color": "#1f77b4"}, name="median")
        )
    else:
        fig.add_trace(
            go.Scatter(
                x=x, y=prices[0], mode="lines", line={"width": 2, "color": "#1f77b4"}, name="replayed path"
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title=x_title,
        yaxis_title=f"{asset} price (USD)".strip(),
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        height=420,
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
    )
    return _as_dict(fig)


def scenario_figures(paths) -> list[dict]:
    """One fan chart per asset of an engine.scenarios.ScenarioPaths."""
    p = paths.prices if paths.prices.ndim == 3 else paths.prices[None]
    title = paths.spec.get("name", paths.spec["kind"])
    return [
        fan_chart(
            p[a],
            interval_seconds=paths.interval_seconds,
            start=paths.start,
            asset=asset,
            title=f"{title}: {asset}" if len(paths.assets) > 1 else title,
        )
        for a, asset in enumerate(paths.assets)
    ]


def price_chart(timestamps: np.ndarray, close: np.ndarray, *, interval_seconds: int, title: str) -> dict:
    """Close prices over time, at most MAX_POINTS points (every k-th bar); a gap in the data is
    a break in the line, not a straight segment across it."""
    ts = np.asarray(timestamps, dtype=np.int64)
    y = np.asarray(close, dtype=np.float64)
    k = max(1, int(np.ceil(ts.size / MAX_POINTS)))
    idx = np.arange(0, ts.size, k)
    xs, ys = ts[idx], y[idx]
    breaks = np.flatnonzero(np.diff(xs) > k * interval_seconds) + 1
    x_list = (xs.astype("datetime64[s]")).astype(str).astype(object)
    y_list = ys.astype(object)
    x_list = np.insert(x_list, breaks, None)
    y_list = np.insert(y_list, breaks, None)
    fig = go.Figure(
        go.Scatter(
            x=x_list.tolist(),
            y=y_list.tolist(),
            mode="lines",
            connectgaps=False,
            line={"width": 1.2},
            name="close",
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title="time (UTC)",
        yaxis_title="close",
        template="plotly_white",
        height=380,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
    )
    return _as_dict(fig)


def histogram(edges: list[float], counts: list[int], *, title: str, x_title: str) -> dict:
    """Bar chart of counts already binned (edges has one more entry than counts)."""
    labels = [f"{a:g}–{b:g}" for a, b in zip(edges[:-1], edges[1:], strict=False)]
    fig = go.Figure(go.Bar(x=labels, y=list(counts), name="positions"))
    fig.update_layout(
        title=title,
        xaxis_title=x_title,
        yaxis_title="positions",
        template="plotly_white",
        height=360,
        margin={"l": 60, "r": 20, "t": 50, "b": 80},
    )
    return _as_dict(fig)
