"""Charts 6 and 7, from the run's sweeps (BacktestRun.figures["sweeps"], backtests.sweeps): the
sensitivity tornado, CVaR99 against volatility, and the frontier."""

from __future__ import annotations

from typing import Any

from backtests.models import BacktestRun
from backtests.risk_charts.base import (
    VERSION_COLOURS,
    all_zero,
    annotate_zero,
    base_layout,
    run_chart,
    zero_axis,
)


def sweep_sets(run: BacktestRun, scenario_index: int, multiplier: float) -> dict[str, dict]:
    """Every set's merged summary of the run's sweep jobs on one scenario at one multiplier."""
    out: dict[str, dict] = {}
    for job in (run.figures or {}).get("sweeps", {}).values():
        if job["scenario_index"] == scenario_index and job["multiplier"] == multiplier:
            out.update(job["sets"])
    return out


def figure_of(summary: dict | None, key: str) -> float | None:
    return None if summary is None else summary.get(key)


def minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def tornado_chart(run: BacktestRun, index: int, title: str, labels: dict[str, str]) -> dict | None:
    plan = run.manifest.get("sweeps") or {}
    sets = sweep_sets(run, index, 1.0)
    if not plan.get("tornado") or "proposed" not in sets:
        return None
    base = sets["proposed"]
    rows, data = [], []
    ys = [r["label"] for r in plan["tornado"]]
    for side, colour in (("down", "rgb(31,119,180)"), ("up", "rgb(214,39,40)")):
        for n, key in enumerate(("bad_debt_cvar99", "borrowing_power"), start=1):
            xs = [minus(figure_of(sets.get(r[side]["set"]), key), base.get(key)) for r in plan["tornado"]]
            data.append(
                {
                    "y": ys,
                    "x": xs,
                    "type": "bar",
                    "orientation": "h",
                    "name": f"one step {side}",
                    "legendgroup": side,
                    "showlegend": n == 1,
                    "marker": {"color": colour},
                    "customdata": [r[side]["value"] for r in plan["tornado"]],
                    "hovertemplate": "%{y} at %{customdata}: %{x:$,.0f}<extra></extra>",
                    "xaxis": "x" if n == 1 else "x2",
                    "yaxis": "y" if n == 1 else "y2",
                }
            )
    for r in plan["tornado"]:
        row = [r["label"], r["proposed"], r["step"]]
        for side in ("down", "up"):
            s = sets.get(r[side]["set"])
            row += [r[side]["value"], figure_of(s, "bad_debt_cvar99"), figure_of(s, "borrowing_power")]
        rows.append(row + [base.get("bad_debt_cvar99"), base.get("borrowing_power")])
    layout = base_layout(
        f"{title}: sensitivity to each changed parameter",
        "",
        "",
        barmode="group",
        height=max(300, 130 + 60 * len(ys)),
        xaxis={"title": {"text": "CVaR99 change (USD)"}, "domain": [0, 0.46], "zeroline": True},
        yaxis={"automargin": True},
        xaxis2={"title": {"text": "borrowing power change (USD)"}, "domain": [0.54, 1], "zeroline": True},
        yaxis2={"anchor": "x2", "matches": "y", "showticklabels": False},
        margin={"l": 160, "r": 10, "t": 40, "b": 90},
        legend={"orientation": "h", "y": -0.45},
    )
    cvar_changes = [x for t in data if t["xaxis"] == "x" for x in t["x"]]
    if all_zero(cvar_changes):
        # No bar to draw on the CVaR99 side: say so there, on an axis from 0 (not -1 to 1).
        layout["xaxis"] = {**zero_axis(layout["xaxis"], ""), "domain": [0, 0.46]}
        layout["xaxis"].pop("_note", None)
        layout["annotations"] = [
            {
                "text": "CVaR99 unchanged<br>one step either way",
                "xref": "paper",
                "yref": "paper",
                "x": 0.23,
                "y": 0.5,
                "showarrow": False,
            }
        ]
    return run_chart(
        run,
        f"tornado-{index}",
        f"{title}: sensitivity to each changed parameter",
        f"CVaR99 and borrowing power when one parameter moves one guardrail step from the proposal "
        f"({plan['paths']} paths): the longest bars are the "
        "parameters the answer hangs on. A missing bar is a set the protocol's rules refuse.",
        {"data": data, "layout": layout},
        [
            ("Parameter", "text"),
            ("Proposed", "text"),
            ("Guardrail step", "text"),
            ("One step down", "text"),
            ("CVaR99, down", "USD"),
            ("Borrowing power, down", "USD"),
            ("One step up", "text"),
            ("CVaR99, up", "USD"),
            ("Borrowing power, up", "USD"),
            (f"CVaR99, {labels['proposed']}", "USD"),
            (f"Borrowing power, {labels['proposed']}", "USD"),
        ],
        rows,
    )


def vol_chart(run: BacktestRun, index: int, title: str, labels: dict[str, str]) -> dict | None:
    plan = run.manifest.get("sweeps") or {}
    ms = plan.get("multipliers") or []
    by_m = {m: sweep_sets(run, index, m) for m in ms}
    if not ms or not all("live" in by_m[m] and "proposed" in by_m[m] for m in ms):
        return None
    data = [
        {
            "x": ms,
            "y": [by_m[m][v].get("bad_debt_cvar99") for m in ms],
            "type": "scatter",
            "mode": "lines+markers",
            "name": labels[v],
            "line": {"color": VERSION_COLOURS[v]},
        }
        for v in ("live", "proposed")
    ]
    values = [y for t in data for y in t["y"]]
    yaxis: dict[str, Any] = {"title": {"text": "CVaR99 of bad debt (USD)"}}
    if all_zero(values):
        yaxis = zero_axis(yaxis, "No bad debt at any volatility")
    layout = annotate_zero(
        base_layout(
            f"{title}: CVaR99 against volatility",
            "",
            "",
            xaxis={"title": {"text": "volatility multiplier"}, "tickvals": ms},
            yaxis=yaxis,
        )
    )
    rows = [
        [
            m,
            by_m[m]["live"].get("bad_debt_cvar99"),
            by_m[m]["proposed"].get("bad_debt_cvar99"),
            minus(by_m[m]["proposed"].get("bad_debt_cvar99"), by_m[m]["live"].get("bad_debt_cvar99")),
        ]
        for m in ms
    ]
    return run_chart(
        run,
        f"vol-{index}",
        f"{title}: CVaR99 against volatility",
        f"The same {plan['paths']} paths with their volatility scaled: where the lines part as volatility "
        "rises, the proposal's risk is more (or less) fragile than live's.",
        {"data": data, "layout": layout},
        [
            ("Volatility multiplier", "decimal"),
            (f"CVaR99, {labels['live']}", "USD"),
            (f"CVaR99, {labels['proposed']}", "USD"),
            ("Proposed minus live", "USD"),
        ],
        rows,
    )


def frontier_chart(run: BacktestRun, index: int, title: str, labels: dict[str, str]) -> dict | None:
    plan = run.manifest.get("sweeps") or {}
    frontier = plan.get("frontier")
    sets = sweep_sets(run, index, 1.0)
    if not frontier or "live" not in sets or "proposed" not in sets:
        return None
    points = [(p["value"], sets.get(p["set"])) for p in frontier["points"]]
    run_points = [(v, s) for v, s in points if s is not None]
    data = [
        {
            "x": [s.get("bad_debt_cvar99") for _, s in run_points],
            "y": [s.get("borrowing_power") for _, s in run_points],
            "text": [v for v, _ in run_points],
            "type": "scatter",
            "mode": "lines+markers+text",
            "textposition": "top center",
            "name": f"{frontier['label']} across its guardrail range",
            "line": {"color": "rgb(110,110,110)"},
        }
    ]
    for v, symbol in (("live", "circle"), ("proposed", "diamond")):
        data.append(
            {
                "x": [sets[v].get("bad_debt_cvar99")],
                "y": [sets[v].get("borrowing_power")],
                "type": "scatter",
                "mode": "markers",
                "marker": {"color": VERSION_COLOURS[v], "size": 13, "symbol": symbol},
                "name": labels[v],
            }
        )
    layout = base_layout(
        f"{title}: borrowing power against CVaR99",
        "CVaR99 of bad debt (USD)",
        "borrowing power (USD)",
    )
    if all_zero([x for t in data for x in t["x"]]):
        layout["xaxis"] = zero_axis(layout["xaxis"], "No bad debt at any value")
        layout = annotate_zero(layout)
    rows = [
        [f"{frontier['label']} {v}", figure_of(s, "bad_debt_cvar99"), figure_of(s, "borrowing_power")]
        for v, s in points
    ]
    rows += [
        [labels[v], sets[v].get("bad_debt_cvar99"), sets[v].get("borrowing_power")]
        for v in ("live", "proposed")
    ]
    return run_chart(
        run,
        f"frontier-{index}",
        f"{title}: borrowing power against CVaR99",
        f"{frontier['label']} at {len(frontier['points'])} values across its guardrail range (the other "
        "parameters as proposed): up and to the left is better; a proposal below the line gives up "
        "borrowing power for nothing.",
        {"data": data, "layout": layout},
        [("Parameter set", "text"), ("CVaR99 of bad debt", "USD"), ("Borrowing power", "USD")],
        rows,
    )
