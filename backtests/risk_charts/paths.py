"""Charts 1-3, from each scenario's stored results: the bad-debt distribution, the paired
differences per scenario, the price fan with each version's impacted price and the volume
liquidated beneath it."""

from __future__ import annotations

from typing import Any

from backtests.models import BacktestRun
from backtests.risk_charts.base import (
    EFFECT_COLOURS,
    PAIRED_FIGURES,
    PRICE_COLOURS,
    TABLE_LEVELS,
    VERSION_COLOURS,
    all_zero,
    annotate_zero,
    base_layout,
    run_chart,
    scenario_title,
    short_label,
    zero_axis,
)
from backtests.verdict import cell_of

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
    return run_chart(
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
    return run_chart(
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
    first = (series.get("asset_prices") or [{"asset": ""}])[0]["asset"]
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
        # A run on several collateral assets: the fan is the first asset's (assets_chart: all).
        yaxis={"title": {"text": f"{first} price (USD)".lstrip()}, "domain": [0.36, 1]},
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
    return run_chart(
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


# -- 3b. a run on several collateral assets: every asset's price --------------------------

# One colour per collateral asset (Plotly's default sequence after the versions' two).
ASSET_COLOURS = ("rgb(44,160,44)", "rgb(148,103,189)", "rgb(140,86,75)", "rgb(227,119,194)")


def assets_chart(run: BacktestRun, index: int, title: str, series: dict) -> dict | None:
    """The price of each collateral asset of a run on several (a Comet market's accounts hold
    them all, margin-engine.md 2.8), relative to its start so that the assets share an axis:
    median and 5-95 % band. The fan above shows the first asset's in USD; the CSV has every
    asset's in USD."""
    assets, hours = series.get("asset_prices"), series.get("hours")
    if not assets or not hours or len(assets) < 2:
        return None
    data: list[dict[str, Any]] = []
    for i, band in enumerate(assets):
        name = band["asset"]
        colour = ASSET_COLOURS[i % len(ASSET_COLOURS)]
        start = band["p50"][0] or 1.0
        rel = {q: [None if v is None else v / start for v in band[q]] for q in ("p05", "p50", "p95")}
        data += [
            {"x": hours, "y": rel["p95"], "type": "scatter", "mode": "lines", "line": {"width": 0},
             "showlegend": False, "legendgroup": name, "name": f"{name} 95th percentile"},
            {"x": hours, "y": rel["p05"], "type": "scatter", "mode": "lines", "line": {"width": 0},
             "fill": "tonexty", "fillcolor": colour.replace("rgb", "rgba").replace(")", ",0.15)"),
             "legendgroup": name, "name": f"{name} 5-95 %"},
            {"x": hours, "y": rel["p50"], "type": "scatter", "mode": "lines", "line": {"color": colour},
             "legendgroup": name, "name": f"{name} median"},
        ]  # fmt: skip
    layout = base_layout(
        f"{title}: the collateral assets' prices", "hours", "price / start price", yaxis={"tickformat": ".0%"}
    )
    layout["yaxis"]["title"] = {"text": "price, share of its start"}
    columns = [("Hours", "decimal")] + [
        (f"{b['asset']} {what}", "price") for b in assets for what in ("5th pct", "median", "95th pct")
    ]
    rows = [[h] + [b[q][i] for b in assets for q in ("p05", "p50", "p95")] for i, h in enumerate(hours)]
    return run_chart(
        run,
        f"assets-{index}",
        f"{title}: the collateral assets' prices",
        "Each collateral asset's market price without liquidations, as a share of its start (median and "
        "5-95 % band over the paths): the backtest moves them together, so an account holding both is "
        "checked on the sum. The fan above is the first asset's in USD.",
        {"data": data, "layout": layout},
        columns,
        rows,
    )
