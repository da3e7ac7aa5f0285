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

from backtests.models import BacktestRun
from backtests.risk_charts.base import (
    PAIRED_FIGURES,
    TABLE_LEVELS,
    VERSION_COLOURS,
    all_zero,
    annotate_zero,
    base_layout,
    labels_of,
    make_chart,
    scenario_title,
    short_label,
    zero_axis,
)
from backtests.risk_charts.book import collateral_at_risk_chart, health_chart
from backtests.risk_charts.paths import assets_chart, cdf_chart, fan_chart, paired_chart
from backtests.risk_charts.sensitivity import (
    figure_of,
    frontier_chart,
    minus,
    sweep_sets,
    tornado_chart,
    vol_chart,
)

__all__ = [
    "PAIRED_FIGURES",
    "TABLE_LEVELS",
    "VERSION_COLOURS",
    "all_charts",
    "all_zero",
    "annotate_zero",
    "base_layout",
    "chart_of",
    "figure_of",
    "make_chart",
    "minus",
    "review_charts",
    "scenario_title",
    "short_label",
    "sweep_sets",
    "zero_axis",
]


def review_charts(run: BacktestRun) -> dict[str, list[dict]]:
    """The charts of a complete run, grouped as the page shows them: ``across`` (2), ``scenarios``
    (per scenario: its title and charts 1, 3, 6 and 7) and ``book`` (4, 5)."""
    slug = run.proposal.market.slug
    labels = labels_of(run)
    comparisons = list(run.comparisons.only("scenario_index", "scenario_name", "paired", "series"))
    scenarios = []
    for c in comparisons:
        title = scenario_title(c.scenario_name, slug)
        charts = [
            cdf_chart(run, c.scenario_index, title, c.series, labels),
            fan_chart(run, c.scenario_index, title, c.series, labels),
            assets_chart(run, c.scenario_index, title, c.series),
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
