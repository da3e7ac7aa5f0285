"""Tables and Plotly figures built from a COMPLETE run's stored results (never re-computed)."""

from __future__ import annotations

from typing import Any

from backtests.models import BacktestRun
from backtests.verdict import HIGHER, LOWER, NEITHER, Figure, cell_of

# The figures the full table of a scenario shows: (summary key, label, unit, which way is better).
HEADLINE = (
    ("mean_bad_debt", "Expected bad debt (mean realized)", "USD", LOWER),
    ("bad_debt_var99", "Bad debt VaR 99 %", "USD", LOWER),
    ("bad_debt_cvar99", "Bad debt CVaR 99 %", "USD", LOWER),
    ("mean_unrealized_bad_debt", "Mean unrealized bad debt at horizon", "USD", LOWER),
    ("p_bad_debt", "Probability of any bad debt", "share", LOWER),
    ("p_insolvency", "Probability of insolvency", "share", LOWER),
    ("liquidations_at_risk", "Liquidations at risk (95th pct of volume)", "USD", LOWER),
    ("mean_n_liq", "Mean liquidations per path", "count", LOWER),
    ("mean_penalty", "Mean penalty paid by borrowers", "USD", LOWER),
    ("mean_n_unprofitable", "Mean liquidatable but unprofitable", "count", LOWER),
    ("borrowing_power", "Borrowing power at the start price (exact: no paths)", "USD", HIGHER),
    # The perp's per-path extras (runs that computed them): funding is a transfer between
    # traders, neither better nor worse; the backstop vault's PnL is the protocol's.
    ("mean_funding_paid_longs", "Mean funding paid by longs (USD; < 0: received)", "USD", NEITHER),
    ("mean_backstop_takeovers", "Mean positions taken over by the backstop", "count", NEITHER),
    ("mean_backstop_pnl", "Mean backstop vault PnL at horizon (incl. margin taken over)", "USD", HIGHER),
)


def scenario_tables(run: BacktestRun) -> list[dict[str, Any]]:
    """Per scenario: live, proposed, difference and its 95 % bootstrap interval per figure,
    coloured by backtests.verdict's rule (better or worse only where the interval excludes 0)."""
    n_paths = {s["index"]: s["n_paths"] for s in run.manifest.get("scenarios", [])}
    out = []
    for comp in run.comparisons.only("scenario_index", "scenario_name", "paired"):
        rows = []
        for key, label, unit, better in HEADLINE:
            p = comp.paired.get(key)
            if p is None:
                continue
            rows.append({"label": label, "cell": cell_of(Figure(key, label, unit, better, ""), p)})
        out.append(
            {
                "index": comp.scenario_index,
                "name": comp.scenario_name,
                "n_paths": n_paths.get(comp.scenario_index),
                "rows": rows,
            }
        )
    return out


# The figures the export's verdict sentence counts: (summary key, words).
# Engine series charted per version: (key in the stored series, id suffix, title, axis label).
VERSION_CHARTS = (
    ("liq_volume_cum", "liq", "liquidated volume, cumulative", "debt repaid (USD)"),
    ("bad_debt_cum", "bad", "realized bad debt, accumulated", "bad debt (USD)"),
)
# Colours: (line, band fill) per trace group.
COLOURS = {
    "price": ("rgb(31,119,180)", "rgba(31,119,180,0.2)"),
    "live": ("rgb(31,119,180)", "rgba(31,119,180,0.18)"),
    "proposed": ("rgb(214,39,40)", "rgba(214,39,40,0.18)"),
}


def _band_traces(x: list, band: dict, label: str, colours: tuple[str, str]) -> list[dict[str, Any]]:
    """Three Plotly traces: the 95th percentile (invisible edge), the 5th filled up to it, the median."""
    line, fill = colours
    return [
        {
            "x": x,
            "y": band["p95"],
            "type": "scatter",
            "mode": "lines",
            "line": {"width": 0},
            "name": f"{label} 95th percentile",
            "showlegend": False,
            "legendgroup": label,
        },
        {
            "x": x,
            "y": band["p05"],
            "type": "scatter",
            "mode": "lines",
            "line": {"width": 0},
            "fill": "tonexty",
            "fillcolor": fill,
            "name": f"{label} 5-95 % band",
            "legendgroup": label,
        },
        {
            "x": x,
            "y": band["p50"],
            "type": "scatter",
            "mode": "lines",
            "name": f"{label} median",
            "line": {"color": line},
            "legendgroup": label,
        },
    ]


def _layout(title: str, y_label: str) -> dict[str, Any]:
    return {
        "title": {"text": title},
        "xaxis": {"title": {"text": "hours"}},
        "yaxis": {"title": {"text": y_label}},
        "height": 280,
        "margin": {"l": 60, "r": 10, "t": 40, "b": 40},
    }


def price_band_chart(series: dict, title: str) -> dict[str, Any]:
    """Plotly figure (dict): the median price and its 5-95 % band over time."""
    x, band = series["hours"], series["price"]
    data = _band_traces(x, band, "", COLOURS["price"])
    data[0]["name"], data[1]["name"], data[2]["name"] = "95th percentile", "5-95 % band", "median"
    for trace in data:
        trace.pop("legendgroup")
    return {"data": data, "layout": _layout(title, "price (USD)")}


def version_band_chart(
    series: dict, key: str, title: str, y_label: str, labels: dict[str, str]
) -> dict[str, Any]:
    """Plotly figure (dict): live and proposed medians of an engine series with their 5-95 % bands."""
    x = series["hours"]
    data = []
    for version in ("live", "proposed"):
        data.extend(_band_traces(x, series[key][version], labels[version], COLOURS[version]))
    return {"data": data, "layout": _layout(title, y_label)}


def price_band_charts(run: BacktestRun) -> list[dict[str, Any]]:
    """Every chart of a COMPLETE run, per scenario: the price bands, then (runs stored since the
    engine records per-step series) liquidated volume and accumulated bad debt, live vs proposed."""
    labels = {
        "live": f"live v{run.live_version.number}",
        "proposed": f"proposed v{run.proposed_version.number}",
    }
    out = []
    for c in run.comparisons.all():
        base = f"bt-chart-{run.pk}-{c.scenario_index}"
        if c.series.get("price"):
            out.append(
                {
                    "id": base,
                    "data_id": f"{base}-data",
                    "figure": price_band_chart(c.series, c.scenario_name),
                }
            )
        for key, suffix, what, y_label in VERSION_CHARTS:
            if c.series.get(key):
                out.append(
                    {
                        "id": f"{base}-{suffix}",
                        "data_id": f"{base}-{suffix}-data",
                        "figure": version_band_chart(
                            c.series, key, f"{c.scenario_name}: {what}", y_label, labels
                        ),
                    }
                )
    return out
