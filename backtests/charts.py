"""Tables and Plotly figures built from a COMPLETE run's stored results (never re-computed)."""

from __future__ import annotations

from typing import Any

from backtests.models import BacktestRun

# The figures the panel shows per scenario: (summary key, label, unit).
HEADLINE = (
    ("mean_bad_debt", "Mean realized bad debt", "USD"),
    ("bad_debt_var99", "Bad debt VaR 99 %", "USD"),
    ("bad_debt_cvar99", "Bad debt CVaR 99 %", "USD"),
    ("mean_unrealized_bad_debt", "Mean unrealized bad debt at horizon", "USD"),
    ("p_bad_debt", "Probability of any bad debt", "share"),
    ("p_insolvency", "Probability of insolvency", "share"),
    ("liquidations_at_risk", "Liquidations at risk (95th pct of volume)", "USD"),
    ("mean_n_liq", "Mean liquidations per path", "count"),
    ("mean_penalty", "Mean penalty paid by borrowers", "USD"),
    ("mean_n_unprofitable", "Mean liquidatable but unprofitable", "count"),
    ("borrowing_power", "Borrowing power at the start price (no interval: not path-dependent)", "USD"),
)


def scenario_tables(run: BacktestRun) -> list[dict[str, Any]]:
    """Per scenario: live, proposed, difference and its 95 % bootstrap interval per figure."""
    results = {(r.scenario_index, r.role): r for r in run.results.defer("per_path")}
    out = []
    for comp in run.comparisons.all():
        live = results[(comp.scenario_index, "live")].summary
        rows = []
        for key, label, unit in HEADLINE:
            p = comp.paired.get(key)
            if p is None:
                continue
            rows.append(
                {
                    "key": key,
                    "label": label,
                    "unit": unit,
                    "live": p["a"],
                    "proposed": p["b"],
                    "diff": p["diff"],
                    "ci_low": p["ci_low"],
                    "ci_high": p["ci_high"],
                    "significant": p["ci_low"] is not None
                    and p["ci_high"] is not None
                    and (p["ci_low"] > 0 or p["ci_high"] < 0),
                }
            )
        out.append(
            {
                "index": comp.scenario_index,
                "name": comp.scenario_name,
                "n_paths": live.get("n_paths"),
                "rows": rows,
            }
        )
    return out


# The figures the export's verdict sentence counts: (summary key, words).
VERDICT_FIGURES = (("mean_bad_debt", "mean realized bad debt"), ("bad_debt_cvar99", "bad debt CVaR 99 %"))


def verdict_sentence(run: BacktestRun) -> str:
    """The run's verdict in one plain sentence, for the export's change report: in how many
    scenarios the proposed version's bad debt is significantly higher or lower than the live
    version's (the paired difference's 95 % bootstrap interval clear of 0), naming those
    where it is higher."""
    tables = scenario_tables(run)
    if not tables:
        return f"Backtest run #{run.pk} stored no scenario results."
    parts = []
    for key, words in VERDICT_FIGURES:
        rows = [(table["name"], row) for table in tables for row in table["rows"] if row["key"] == key]
        higher = [name for name, row in rows if row["significant"] and row["diff"] > 0]
        lower = [name for name, row in rows if row["significant"] and row["diff"] < 0]
        named = f" ({', '.join(higher)})" if higher else ""
        parts.append(
            f"{words} is significantly higher in {len(higher)}{named} and significantly lower in {len(lower)}"
        )
    return (
        f"Backtest run #{run.pk} (seed {run.seed}; {len(tables)} scenarios, the proposed version "
        f"against the live one on the same paths, 95 % bootstrap intervals): {'; '.join(parts)}; "
        "elsewhere the difference is not significant."
    )


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
