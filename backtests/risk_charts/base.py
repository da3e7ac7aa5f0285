"""What every chart of the review shares: its stored form (``make_chart``), colours, layouts,
the all-zero axis and the scenario's title."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from backtests.models import BacktestRun
from backtests.verdict import LOWER, Figure

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


def run_chart(
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
