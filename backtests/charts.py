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
            rows.append({"key": key, "label": label, "unit": unit, "live": p["a"], "proposed": p["b"],
                         "diff": p["diff"], "ci_low": p["ci_low"], "ci_high": p["ci_high"],
                         "significant": p["ci_low"] is not None and p["ci_high"] is not None
                         and (p["ci_low"] > 0 or p["ci_high"] < 0)})
        out.append({"index": comp.scenario_index, "name": comp.scenario_name,
                    "n_paths": live.get("n_paths"), "rows": rows})
    return out


def price_band_figure(series: dict, title: str) -> dict[str, Any]:
    """Plotly figure (dict): the median price and its 5-95 % band over time."""
    x, band = series["hours"], series["price"]
    return {
        "data": [
            {"x": x, "y": band["p95"], "type": "scatter", "mode": "lines", "line": {"width": 0},
             "name": "95th percentile", "showlegend": False},
            {"x": x, "y": band["p05"], "type": "scatter", "mode": "lines", "line": {"width": 0},
             "fill": "tonexty", "fillcolor": "rgba(31,119,180,0.2)", "name": "5-95 % band"},
            {"x": x, "y": band["p50"], "type": "scatter", "mode": "lines", "name": "median",
             "line": {"color": "rgb(31,119,180)"}},
        ],
        "layout": {"title": {"text": title}, "xaxis": {"title": {"text": "hours"}},
                   "yaxis": {"title": {"text": "price (USD)"}}, "height": 280,
                   "margin": {"l": 60, "r": 10, "t": 40, "b": 40}},
    }


def price_band_figures(run: BacktestRun) -> list[dict[str, Any]]:
    return [{"id": f"bt-chart-{run.pk}-{c.scenario_index}", "data_id": f"bt-chart-{run.pk}-{c.scenario_index}-data",
             "figure": price_band_figure(c.series, c.scenario_name)}
            for c in run.comparisons.all() if c.series.get("price")]
