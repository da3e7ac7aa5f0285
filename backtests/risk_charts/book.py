"""Charts 4 and 5, from the book's figures stored when the run finished (backtests.bookrisk):
collateral at risk as the price drops, the book's health at the start and at the worst step."""

from __future__ import annotations

from typing import Any

from backtests.models import BacktestRun
from backtests.risk_charts.base import (
    VERSION_COLOURS,
    all_zero,
    annotate_zero,
    base_layout,
    run_chart,
    scenario_title,
    zero_axis,
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
    return run_chart(
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
            # Room for the last band's slanted label ("3.0 or more").
            margin={"l": 70, "r": 50, "t": 40, "b": 70},
        )
    )
    rows = [
        [b, *(at[v][k][i] for v in ("live", "proposed") for k in ("count", "debt"))]
        for i, b in enumerate(bins)
    ]
    columns = [("Health", "text")]
    for v in ("live", "proposed"):
        columns += [(f"Positions, {labels[v]}", "count"), (f"Debt, {labels[v]}", "USD")]
    chart = run_chart(
        run, f"health-{moment}", title, caption, {"data": data, "layout": layout}, columns, rows
    )
    chart["prices"] = prices
    return chart
