"""The review's charts of a COMPLETE run, from its stored results (never re-computed): each a
Plotly figure (dict), a one-line caption saying what to look for, and its numbers as a table
(columns with their units, rows of exact values) that the page shows under the chart and the
chart's CSV download writes (backtests.views.chart_csv), so the table, the CSV and the stored
figures are the same numbers.

1. ``cdf-<s>``: the bad-debt distribution of scenario s, live vs proposed (ScenarioComparison
   .series["bad_debt_quantiles"], backtests.compute.risk_series).
2. ``paired``: proposed minus live per scenario with its 95 % interval, CVaR99 and expected bad
   debt (ScenarioComparison.paired).
3. ``fan-<s>``: the exogenous price fan, each version's own impacted price, and the liquidated
   volume per interval beneath (series "price", "market_price", "liq_volume_step").
4. ``car``: debt liquidatable as the price drops 10 % ... 60 % (BacktestRun.figures).
5. ``health-start``, ``health-worst``: the book's health distribution at the start and at the
   worst step of the worst scenario (BacktestRun.figures, backtests.bookrisk).
6. ``tornado-<s>``: CVaR99 and borrowing power when each changed parameter moves one guardrail
   step each way; ``vol-<s>``: CVaR99 of live and proposed against the volatility multiplier
   (the run's sweeps, BacktestRun.figures["sweeps"], backtests.sweeps).
7. ``frontier-<s>``: borrowing power against CVaR99 along the main changed parameter's guardrail
   range, live and proposed marked.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from backtests.models import BacktestRun
from backtests.verdict import LOWER, Figure, cell_of

VERSION_COLOURS = {"live": "rgb(31,119,180)", "proposed": "rgb(214,39,40)"}
PRICE_COLOURS = ("rgb(90,90,90)", "rgba(90,90,90,0.18)")
EFFECT_COLOURS = {"better": "rgb(26,127,55)", "worse": "rgb(200,30,30)", None: "rgb(110,110,110)"}
# The distribution table's levels (the chart draws all of CDF_LEVELS).
TABLE_LEVELS = (0.0, 0.5, 0.75, 0.9, 0.95, 0.975, 0.99, 0.995, 1.0)
PAIRED_FIGURES = (
    Figure("bad_debt_cvar99", "CVaR99 of bad debt", "USD", LOWER, ""),
    Figure("mean_bad_debt", "Expected bad debt", "USD", LOWER, ""),
)


def scenario_title(name: str, market_slug: str) -> str:
    """A scenario's name without the market's slug it is saved under ("<slug>: GBM calm",
    "<slug> / Synthetic stress pack: GBM calm")."""
    for prefix in (f"{market_slug}: ", f"{market_slug} / "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def short_label(title: str, width: int = 18) -> str:
    """A scenario's title for a category axis: the part after the pack's name, wrapped."""
    words, lines = title.rsplit(": ", 1)[-1].split(), [""]
    for word in words:
        if lines[-1] and len(lines[-1]) + len(word) > width:
            lines.append("")
        lines[-1] = f"{lines[-1]} {word}".strip()
    return "<br>".join(lines[:3])


def make_chart(
    *, key: str, prefix: str, csv_url: str, title: str, caption: str, figure: dict, columns: list, rows: list
) -> dict:
    """A chart as the page shows it (templates/backtests/_chart.html): ``columns`` are (label,
    unit) pairs (a unit of governance.numbers, or "text"), ``rows`` lists of exact values."""
    return {
        "key": key,
        "id": f"{prefix}-{key}",
        "data_id": f"{prefix}-{key}-data",
        "title": title,
        "caption": caption,
        "figure": figure,
        "columns": [{"label": label, "unit": unit} for label, unit in columns],
        "rows": rows,
        "cells": [[{"value": v, "unit": u} for v, (_, u) in zip(row, columns, strict=True)] for row in rows],
        "filename": f"{prefix}-{key}",
        "csv_url": csv_url,
    }


def _chart(
    run: BacktestRun, key: str, title: str, caption: str, figure: dict, columns: list, rows: list
) -> dict:
    return make_chart(
        key=key,
        prefix=f"run-{run.pk}",
        csv_url=reverse("backtests:chart_csv", args=[run.pk, key]),
        title=title,
        caption=caption,
        figure=figure,
        columns=columns,
        rows=rows,
    )


def base_layout(title: str, x_title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    layout = {
        "title": {"text": title},
        "xaxis": {"title": {"text": x_title}},
        "yaxis": {"title": {"text": y_title}},
        "height": 320,
        "margin": {"l": 70, "r": 10, "t": 40, "b": 50},
        "legend": {"orientation": "h", "y": -0.25},
    }
    layout.update(extra)
    return layout


def all_zero(values: list) -> bool:
    return all((v or 0.0) == 0.0 for v in values)


def zero_axis(axis: dict[str, Any], note: str) -> dict[str, Any]:
    """An axis whose values are all zero: from 0 to 1 with a single tick at 0 (Plotly would draw
    -1 to 1, as if some value were negative), and the note said on the chart."""
    return {**axis, "range": [0, 1], "tickvals": [0], "ticktext": ["0"], "zeroline": True, "_note": note}


def annotate_zero(layout: dict[str, Any]) -> dict[str, Any]:
    notes = [a.pop("_note") for a in (layout["xaxis"], layout["yaxis"]) if "_note" in a]
    if notes:
        layout["annotations"] = [
            {"text": notes[0], "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5, "showarrow": False}
        ]
    return layout


def labels_of(run: BacktestRun) -> dict[str, str]:
    return {
        "live": f"live v{run.live_version.number}",
        "proposed": f"proposed v{run.proposed_version.number}",
    }


# -- 1. the bad-debt distribution -----------------------------------------------------------


def cdf_chart(run: BacktestRun, index: int, title: str, series: dict, labels: dict[str, str]) -> dict | None:
    q = series.get("bad_debt_quantiles")
    if not q:
        return None
    levels = q["levels"]
    versions = [v for v in ("live", "proposed") if v in q]
    positive = [x for v in versions for x in q[v] if (x or 0) > 0]
    log = bool(positive) and max(positive) / min(positive) > 100
    data = []
    for v in versions:
        # Log axis: a point at $0 cannot be drawn; the curve starts at P(bad debt = 0).
        pts = [(x, p) for x, p in zip(q[v], levels, strict=True) if not log or (x or 0) > 0]
        data.append(
            {
                "x": [x for x, _ in pts],
                "y": [p for _, p in pts],
                "type": "scatter",
                "mode": "lines",
                "line": {"shape": "hv", "color": VERSION_COLOURS[v]},
                "name": labels[v],
                "hovertemplate": "P(bad debt ≤ $%{x:,.0f}) = %{y:.1%}<extra>" + labels[v] + "</extra>",
            }
        )
    xaxis: dict[str, Any] = {"title": {"text": "bad debt per path (USD)" + (", log scale" if log else "")}}
    if log:
        xaxis["type"] = "log"
    elif not positive:
        xaxis = zero_axis(xaxis, "No bad debt on any path under either version")
    layout = annotate_zero(
        base_layout(
            f"{title}: bad-debt distribution",
            "",
            "share of paths",
            xaxis=xaxis,
            yaxis={"title": {"text": "share of paths at or below"}, "range": [0, 1.02], "tickformat": ".0%"},
        )
    )
    rows = []
    for level in TABLE_LEVELS:
        i = min(range(len(levels)), key=lambda j: abs(levels[j] - level))
        rows.append([levels[i], *(q[v][i] for v in versions)])
    return _chart(
        run,
        f"cdf-{index}",
        f"{title}: bad-debt distribution",
        "Share of paths with at most a given bad debt: the further right and lower a curve, the more "
        "bad debt; compare the right ends, the worst paths.",
        {"data": data, "layout": layout},
        [("Share of paths at or below", "share"), *((f"Bad debt, {labels[v]}", "USD") for v in versions)],
        rows,
    )


# -- 2. the paired differences --------------------------------------------------------------


def paired_chart(run: BacktestRun, comparisons: list, market_slug: str) -> dict | None:
    if not comparisons:
        return None
    names = [scenario_title(c.scenario_name, market_slug) for c in comparisons]
    ticks = [short_label(n) for n in names]
    data, rows, all_diffs = [], [], []
    for n, figure in enumerate(PAIRED_FIGURES, start=1):
        diffs, plus, minus, colours = [], [], [], []
        for c, name in zip(comparisons, names, strict=True):
            p = c.paired.get(figure.key) or {}
            cell = cell_of(figure, p)
            d, lo, hi = p.get("diff"), p.get("ci_low"), p.get("ci_high")
            diffs.append(d)
            plus.append(None if hi is None or d is None else hi - d)
            minus.append(None if lo is None or d is None else d - lo)
            colours.append(EFFECT_COLOURS[cell.effect or None])
            rows.append(
                [name, figure.label, p.get("a"), p.get("b"), d, lo, hi, cell.effect or "no clear difference"]
            )
        all_diffs += diffs + [x for x in plus + minus if x is not None]
        axis = "" if n == 1 else str(n)
        data.append(
            {
                "x": ticks,
                "y": diffs,
                "type": "scatter",
                "mode": "markers",
                "marker": {"color": colours, "size": 10},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": plus,
                    "arrayminus": minus,
                    "color": "rgb(80,80,80)",
                },
                "name": figure.label,
                "xaxis": f"x{axis}",
                "yaxis": f"y{axis}",
                "customdata": names,
                "hovertemplate": "%{customdata}: %{y:$,.0f}<extra>" + figure.label + "</extra>",
            }
        )
    y1: dict[str, Any] = {"title": {"text": "CVaR99 change (USD)"}, "domain": [0.56, 1], "zeroline": True}
    y2: dict[str, Any] = {"title": {"text": "expected change (USD)"}, "domain": [0, 0.44], "zeroline": True}
    layout = base_layout(
        "Proposed minus live, per scenario (95 % interval)",
        "",
        "",
        height=500,
        showlegend=False,
        margin={"l": 70, "r": 10, "t": 40, "b": 80},
        xaxis={"anchor": "y", "showticklabels": False},
        yaxis=y1,
        xaxis2={"anchor": "y2"},
        yaxis2=y2,
    )
    if all_zero(all_diffs):
        layout["annotations"] = [
            {
                "text": "No difference in any scenario",
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
            }
        ]
        for axis in (y1, y2):
            axis.update(range=[-1, 1], tickvals=[0], ticktext=["0"])
    return _chart(
        run,
        "paired",
        "Proposed minus live, per scenario",
        "Each dot is the change in that scenario on the same paths, its bar the 95 % interval: a bar "
        "clear of zero is a change we can be sure of (green lower, red higher bad debt).",
        {"data": data, "layout": layout},
        [
            ("Scenario", "text"),
            ("Figure", "text"),
            ("Live", "USD"),
            ("Proposed", "USD"),
            ("Difference", "USD"),
            ("95 % low", "USD"),
            ("95 % high", "USD"),
            ("Effect", "text"),
        ],
        rows,
    )


# -- 3. the price fan, impacted prices and liquidated volume ---------------------------------


def fan_chart(run: BacktestRun, index: int, title: str, series: dict, labels: dict[str, str]) -> dict | None:
    price, hours = series.get("price"), series.get("hours")
    if not price or not hours:
        return None
    line, fill = PRICE_COLOURS
    data: list[dict[str, Any]] = [
        {
            "x": hours,
            "y": price["p95"],
            "type": "scatter",
            "mode": "lines",
            "line": {"width": 0},
            "showlegend": False,
            "name": "price 95th percentile",
        },
        {
            "x": hours,
            "y": price["p05"],
            "type": "scatter",
            "mode": "lines",
            "line": {"width": 0},
            "fill": "tonexty",
            "fillcolor": fill,
            "name": "price 5-95 %",
        },
        {
            "x": hours,
            "y": price["p50"],
            "type": "scatter",
            "mode": "lines",
            "line": {"color": line},
            "name": "price median",
        },
    ]
    impacted = series.get("market_price") or {}
    volume = series.get("liq_volume_step") or {}
    for v in ("live", "proposed"):
        if v in impacted:
            for q, dash, what in (("p50", "dash", "median"), ("p05", "dot", "5th pct")):
                data.append(
                    {
                        "x": hours,
                        "y": impacted[v][q],
                        "type": "scatter",
                        "mode": "lines",
                        "line": {"color": VERSION_COLOURS[v], "dash": dash, "width": 1.5},
                        "name": f"impacted price {what}, {labels[v]}",
                    }
                )
        if v in volume:
            data.append(
                {
                    "x": hours,
                    "y": volume[v],
                    "type": "bar",
                    "marker": {"color": VERSION_COLOURS[v]},
                    "name": f"liquidated per interval (mean), {labels[v]}",
                    "xaxis": "x2",
                    "yaxis": "y2",
                }
            )
    y2: dict[str, Any] = {"title": {"text": "liquidated (USD)"}, "domain": [0, 0.28]}
    all_volume = [x for v in volume.values() for x in v]
    if volume and all_zero(all_volume):
        y2 = zero_axis(y2, "")
        y2.pop("_note")
    layout = base_layout(
        f"{title}: price and liquidations",
        "",
        "",
        height=460,
        barmode="group",
        xaxis={"anchor": "y", "showticklabels": False},
        yaxis={"title": {"text": "price (USD)"}, "domain": [0.36, 1]},
        xaxis2={"anchor": "y2", "matches": "x", "title": {"text": "hours"}},
        yaxis2=y2,
    )
    columns = [
        ("Hours", "decimal"),
        ("Price 5th pct", "price"),
        ("Price median", "price"),
        ("Price 95th pct", "price"),
    ]
    columns += [
        (f"Impacted price {what}, {labels[v]}", "price")
        for v in ("live", "proposed")
        if v in impacted
        for what in ("median", "5th pct")
    ]
    columns += [
        (f"Liquidated in the interval (mean), {labels[v]}", "USD")
        for v in ("live", "proposed")
        if v in volume
    ]
    rows = []
    for i, h in enumerate(hours):
        row = [h, price["p05"][i], price["p50"][i], price["p95"][i]]
        row += [impacted[v][q][i] for v in ("live", "proposed") if v in impacted for q in ("p50", "p05")]
        row += [volume[v][i] for v in ("live", "proposed") if v in volume]
        rows.append(row)
    return _chart(
        run,
        f"fan-{index}",
        f"{title}: price and liquidations",
        "The grey fan is the market price without liquidations (median, 5-95 %); the dashed and dotted "
        "lines, the median and 5th percentile of the price once each version's liquidations are sold "
        "into it; the bars "
        "beneath, the debt liquidated in each interval: look for where they part.",
        {"data": data, "layout": layout},
        columns,
        rows,
    )


# -- 4. collateral at risk -----------------------------------------------------------------


def collateral_at_risk_chart(run: BacktestRun, labels: dict[str, str]) -> dict | None:
    car = (run.figures or {}).get("collateral_at_risk")
    if not car:
        return None
    drops = car["drops"]
    x = ["at the start" if d == 0 else f"-{round(d * 100)} %" for d in drops]
    data = [
        {
            "x": x,
            "y": car[v]["debt"],
            "type": "bar",
            "name": labels[v],
            "marker": {"color": VERSION_COLOURS[v]},
            "customdata": car[v]["share_of_debt"],
            "hovertemplate": "%{x}: %{y:$,.0f} (%{customdata:.1%} of the debt)<extra>"
            + labels[v]
            + "</extra>",
        }
        for v in ("live", "proposed")
    ]
    yaxis: dict[str, Any] = {"title": {"text": "debt liquidatable (USD)"}}
    if all_zero(car["live"]["debt"] + car["proposed"]["debt"]):
        yaxis = zero_axis(yaxis, "Nothing liquidatable down to -60 %")
    layout = annotate_zero(
        base_layout(
            "Debt liquidatable as the price drops",
            "",
            "",
            barmode="group",
            xaxis={"title": {"text": "price drop from the start"}, "type": "category"},
            yaxis=yaxis,
        )
    )
    rows = [
        [
            d,
            *(
                car[v][k][i]
                for v in ("live", "proposed")
                for k in ("count", "debt", "collateral", "share_of_debt")
            ),
        ]
        for i, d in enumerate(drops)
    ]
    columns = [("Price drop", "share")]
    for v in ("live", "proposed"):
        columns += [
            (f"Positions, {labels[v]}", "count"),
            (f"Debt, {labels[v]}", "USD"),
            (f"Collateral, {labels[v]}", "USD"),
            (f"Share of the debt, {labels[v]}", "share"),
        ]
    return _chart(
        run,
        "car",
        "Collateral at risk as the price drops",
        "How much of the book becomes liquidatable if the price falls this far from the start (no "
        "cascade): a taller red bar means the proposal liquidates more at that drop.",
        {"data": data, "layout": layout},
        columns,
        rows,
    )


# -- 5. the book's health distribution --------------------------------------------------------


def health_chart(
    run: BacktestRun, moment: str, labels: dict[str, str], measure: str, market_slug: str
) -> dict | None:
    h = (run.figures or {}).get("health") or {}
    at = h.get(moment)
    if not at:
        return None
    bins = h["labels"]
    if moment == "start":
        title = f"Health of the book at the start ({measure})"
        caption = (
            "Debt per band of health at the starting price; below 1 is liquidatable: a proposal that "
            "shifts debt to the left brings positions closer to liquidation."
        )
        prices = dict.fromkeys(("live", "proposed"), at["price"])
    else:
        name = scenario_title(at["scenario"], market_slug)
        title = f"{name}: health at the worst step (hour {at['hours']:g})"
        caption = (
            f"The worst path of {name} at its lowest price, each version's book after its own "
            "liquidations, at its own impacted price: debt still below 1 is waiting to be liquidated."
        )
        prices = {v: at[v]["price"] for v in ("live", "proposed")}
    data = [
        {
            "x": bins,
            "y": at[v]["debt"],
            "type": "bar",
            "name": labels[v],
            "marker": {"color": VERSION_COLOURS[v]},
            "customdata": at[v]["count"],
            "hovertemplate": "%{x}: %{y:$,.0f} in %{customdata} positions<extra>" + labels[v] + "</extra>",
        }
        for v in ("live", "proposed")
    ]
    yaxis: dict[str, Any] = {"title": {"text": "debt (USD)"}}
    if all_zero(at["live"]["debt"] + at["proposed"]["debt"]):
        yaxis = zero_axis(yaxis, "No position with debt left")
    layout = annotate_zero(
        base_layout(
            title,
            measure,
            "",
            barmode="group",
            yaxis=yaxis,
            xaxis={"title": {"text": measure}, "type": "category"},
        )
    )
    rows = [
        [b, *(at[v][k][i] for v in ("live", "proposed") for k in ("count", "debt"))]
        for i, b in enumerate(bins)
    ]
    columns = [("Health", "text")]
    for v in ("live", "proposed"):
        columns += [(f"Positions, {labels[v]}", "count"), (f"Debt, {labels[v]}", "USD")]
    chart = _chart(run, f"health-{moment}", title, caption, {"data": data, "layout": layout}, columns, rows)
    chart["prices"] = prices
    return chart


# -- all of them ---------------------------------------------------------------------------


def review_charts(run: BacktestRun) -> dict[str, list[dict]]:
    """The charts of a complete run, grouped as the page shows them: ``across`` (2), ``scenarios``
    (per scenario: its title and charts 1 and 3) and ``book`` (4, 5)."""
    slug = run.proposal.market.slug
    labels = labels_of(run)
    comparisons = list(run.comparisons.only("scenario_index", "scenario_name", "paired", "series"))
    scenarios = []
    for c in comparisons:
        title = scenario_title(c.scenario_name, slug)
        charts = [
            cdf_chart(run, c.scenario_index, title, c.series, labels),
            fan_chart(run, c.scenario_index, title, c.series, labels),
            tornado_chart(run, c.scenario_index, title, labels),
            vol_chart(run, c.scenario_index, title, labels),
            frontier_chart(run, c.scenario_index, title, labels),
        ]
        scenarios.append({"index": c.scenario_index, "title": title, "charts": [x for x in charts if x]})
    measure = (run.who_gets_hurt or {}).get("measure") or "health"
    book = [
        collateral_at_risk_chart(run, labels),
        health_chart(run, "start", labels, measure, slug),
        health_chart(run, "worst", labels, measure, slug),
    ]
    return {
        "across": [x for x in [paired_chart(run, comparisons, slug)] if x],
        "scenarios": scenarios,
        "book": [x for x in book if x],
    }


def all_charts(run: BacktestRun) -> list[dict]:
    grouped = review_charts(run)
    return grouped["across"] + [c for s in grouped["scenarios"] for c in s["charts"]] + grouped["book"]


def chart_of(run: BacktestRun, key: str) -> dict | None:
    return next((c for c in all_charts(run) if c["key"] == key), None)


# -- 6. sensitivity: the tornado and the volatility sweep; 7. the frontier ------------------


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
    return _chart(
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
    return _chart(
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
    return _chart(
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
