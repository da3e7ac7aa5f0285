"""Two to four proposals of one market side by side, from their stored results: the verdict
table with a column per proposal, and the bad-debt distributions and the paired differences
overlaid, and the sensitivity (chart 6: the tornado and the volatility sweep) per scenario
(backtests.risk_charts). Every proposal of a market runs on the
market's one baseline (the same paths and book), so their live figures are the same numbers and
one live curve serves them all; a run on another baseline is named in ``baseline_note``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backtests import panels, risk_charts, services, verdict
from backtests.models import BacktestRun, RunStatus

MIN_PROPOSALS, MAX_PROPOSALS = 2, 4
COLOURS = ("rgb(214,39,40)", "rgb(255,127,14)", "rgb(148,103,189)", "rgb(44,160,44)")
LIVE_COLOUR = risk_charts.VERSION_COLOURS["live"]
# The verdict's figures the compare table shows, per scenario.


@dataclass(frozen=True)
class Entry:
    """One proposal of the comparison and the run its figures come from (None: no complete run)."""

    proposal: Any
    run: BacktestRun | None
    verdict: verdict.Verdict | None
    label: str
    colour: str


def run_of(proposal: Any) -> BacktestRun | None:
    """The proposal's run the page shows: the one its vote was scheduled on, else its latest
    complete run."""
    run = services.complete_run(proposal) or (
        BacktestRun.objects.filter(proposal=proposal, status=RunStatus.COMPLETE)
        .order_by("-finished_at", "-pk")
        .first()
    )
    if run is not None:
        run = BacktestRun.objects.select_related("proposal__market", "live_version", "proposed_version").get(
            pk=run.pk
        )
    return run


def entries_of(proposals: list[Any]) -> list[Entry]:
    out = []
    for i, p in enumerate(proposals):
        run = run_of(p)
        out.append(
            Entry(
                proposal=p,
                run=run,
                verdict=panels.verdict_of(run) if run is not None else None,
                label=f"#{p.pk} proposed v{p.proposed_version.number}",
                colour=COLOURS[i % len(COLOURS)],
            )
        )
    return out


def baseline_note(entries: list[Entry]) -> str:
    """Empty when every run is on one baseline; else which proposals' runs differ."""
    runs = [e for e in entries if e.run is not None]
    hashes = {(e.run.manifest.get("pack") or {}).get("sha256") for e in runs}
    if len(hashes) <= 1 and None not in hashes:
        return ""
    first = (runs[0].run.manifest.get("pack") or {}).get("sha256") if runs else None
    odd = [e.label for e in runs if (e.run.manifest.get("pack") or {}).get("sha256") != first]
    return (
        f"Not every run is on the same baseline ({', '.join(odd)} differ from {runs[0].label}): "
        "their live figures differ and the comparison is not on the same paths."
    )


def verdict_rows(entries: list[Entry]) -> list[dict[str, Any]]:
    """Per scenario (of the first proposal with a verdict) and figure: the live value and each
    proposal's cell (proposed minus live, interval, effect), None where a proposal has none."""
    judged = [e for e in entries if e.verdict is not None]
    if not judged:
        return []
    out = []
    for row in judged[0].verdict.rows:
        per_entry = [
            next((r for r in e.verdict.rows if r.index == row.index), None) if e.verdict else None
            for e in entries
        ]
        figures = []
        # The verdict's own figures: FIGURES and the mechanism's extra outputs' figures.
        for f in judged[0].verdict.figures:
            cells = [r.cell(f.key) if r is not None else None for r in per_entry]
            live = next((c.live for c in cells if c is not None), None)
            figures.append({"figure": f, "live": live, "cells": cells})
        out.append({"index": row.index, "name": row.short_name, "n_paths": row.n_paths, "figures": figures})
    return out


# -- the overlaid charts -------------------------------------------------------------------


def cdf_chart(entries: list[Entry], index: int, title: str, csv_url: str) -> dict | None:
    qs = []
    for e in entries:
        comp = e.run.comparisons.filter(scenario_index=index).only("series").first() if e.run else None
        q = (comp.series or {}).get("bad_debt_quantiles") if comp else None
        qs.append(q)
    present = [(e, q) for e, q in zip(entries, qs, strict=True) if q]
    if not present:
        return None
    levels = present[0][1]["levels"]
    curves = [("live", LIVE_COLOUR, present[0][1]["live"])] + [
        (e.label, e.colour, q["proposed"]) for e, q in present
    ]
    positive = [x for _, _, c in curves for x in c if (x or 0) > 0]
    log = bool(positive) and max(positive) / min(positive) > 100
    data = []
    for name, colour, values in curves:
        pts = [(x, p) for x, p in zip(values, levels, strict=True) if not log or (x or 0) > 0]
        data.append(
            {
                "x": [x for x, _ in pts],
                "y": [p for _, p in pts],
                "type": "scatter",
                "mode": "lines",
                "line": {"shape": "hv", "color": colour},
                "name": name,
            }
        )
    xaxis: dict[str, Any] = {"title": {"text": "bad debt per path (USD)" + (", log scale" if log else "")}}
    if log:
        xaxis["type"] = "log"
    elif not positive:
        xaxis = risk_charts.zero_axis(xaxis, "No bad debt on any path under any version")
    layout = risk_charts.annotate_zero(
        risk_charts.base_layout(
            f"{title}: bad-debt distribution",
            "",
            "",
            xaxis=xaxis,
            yaxis={"title": {"text": "share of paths at or below"}, "range": [0, 1.02], "tickformat": ".0%"},
        )
    )
    rows = []
    for level in risk_charts.TABLE_LEVELS:
        i = min(range(len(levels)), key=lambda j: abs(levels[j] - level))
        rows.append([levels[i], *(c[i] for _, _, c in curves)])
    return risk_charts.make_chart(
        key=f"cdf-{index}",
        prefix="compare",
        csv_url=csv_url.replace("KEY", f"cdf-{index}"),
        title=f"{title}: bad-debt distribution",
        caption="Live (blue) and each proposal on the same paths: the curve furthest right at the top "
        "has the worst paths.",
        figure={"data": data, "layout": layout},
        columns=[
            ("Share of paths at or below", "share"),
            *((f"Bad debt, {name}", "USD") for name, _, _ in curves),
        ],
        rows=rows,
    )


def paired_chart(entries: list[Entry], slug: str, csv_url: str) -> dict | None:
    judged = [e for e in entries if e.run is not None]
    if not judged:
        return None
    names = {}
    per_entry = {}
    for e in judged:
        comps = list(e.run.comparisons.only("scenario_index", "scenario_name", "paired"))
        per_entry[e.label] = {c.scenario_index: c.paired for c in comps}
        for c in comps:
            names.setdefault(c.scenario_index, risk_charts.scenario_title(c.scenario_name, slug))
    order = sorted(names)
    width = 0.6 / max(len(judged), 1)
    data, rows = [], []
    for n, figure in enumerate(risk_charts.PAIRED_FIGURES, start=1):
        axis = "" if n == 1 else str(n)
        for k, e in enumerate(judged):
            xs, ys, plus, minus = [], [], [], []
            for pos, s in enumerate(order):
                p = per_entry[e.label].get(s, {}).get(figure.key) or {}
                d, lo, hi = p.get("diff"), p.get("ci_low"), p.get("ci_high")
                xs.append(pos + (k - (len(judged) - 1) / 2) * width)
                ys.append(d)
                plus.append(None if hi is None or d is None else hi - d)
                minus.append(None if lo is None or d is None else d - lo)
                rows.append([names[s], figure.label, e.label, d, lo, hi])
            data.append(
                {
                    "x": xs,
                    "y": ys,
                    "type": "scatter",
                    "mode": "markers",
                    "marker": {"color": e.colour, "size": 9},
                    "error_y": {
                        "type": "data",
                        "symmetric": False,
                        "array": plus,
                        "arrayminus": minus,
                        "color": e.colour,
                    },
                    "name": e.label,
                    "legendgroup": e.label,
                    "showlegend": n == 1,
                    "xaxis": f"x{axis}",
                    "yaxis": f"y{axis}",
                }
            )
    ticks = {
        "tickvals": list(range(len(order))),
        "ticktext": [risk_charts.short_label(names[s]) for s in order],
    }
    layout = risk_charts.base_layout(
        "Proposed minus live, per scenario and proposal (95 % interval)",
        "",
        "",
        height=520,
        margin={"l": 70, "r": 10, "t": 40, "b": 110},
        xaxis={"anchor": "y", "showticklabels": False, "zeroline": False, **ticks},
        yaxis={"title": {"text": "CVaR99 change (USD)"}, "domain": [0.56, 1], "zeroline": True},
        xaxis2={"anchor": "y2", "zeroline": False, **ticks},
        yaxis2={"title": {"text": "expected change (USD)"}, "domain": [0, 0.44], "zeroline": True},
        legend={"orientation": "h", "y": -0.3},
    )
    return risk_charts.make_chart(
        key="paired",
        prefix="compare",
        csv_url=csv_url.replace("KEY", "paired"),
        title="Proposed minus live, per scenario and proposal",
        caption="Each proposal's change in CVaR99 and expected bad debt on the same paths, with its 95 % "
        "interval: a bar clear of zero is a change we can be sure of; lower is safer.",
        figure={"data": data, "layout": layout},
        columns=[
            ("Scenario", "text"),
            ("Figure", "text"),
            ("Proposal", "text"),
            ("Difference", "USD"),
            ("95 % low", "USD"),
            ("95 % high", "USD"),
        ],
        rows=rows,
    )


def compare_charts(entries: list[Entry], csv_url: str) -> list[dict]:
    """The overlaid charts; ``csv_url`` has ``KEY`` where each chart's key goes."""
    first = next((e for e in entries if e.run is not None), None)
    if first is None:
        return []
    slug = first.proposal.market.slug
    charts = [paired_chart(entries, slug, csv_url)]
    for c in first.run.comparisons.only("scenario_index", "scenario_name"):
        title = risk_charts.scenario_title(c.scenario_name, slug)
        charts.append(cdf_chart(entries, c.scenario_index, title, csv_url))
        charts.append(tornado_chart(entries, c.scenario_index, title, csv_url))
        charts.append(vol_chart(entries, c.scenario_index, title, csv_url))
    return [c for c in charts if c]


def vol_chart(entries: list[Entry], index: int, title: str, csv_url: str) -> dict | None:
    """Chart 6's volatility sweep overlaid: live once, each proposal's proposed line."""
    curves, ms = [], None
    for e in entries:
        if e.run is None:
            continue
        plan = e.run.manifest.get("sweeps") or {}
        ms = ms or plan.get("multipliers")
        by_m = {m: risk_charts.sweep_sets(e.run, index, m) for m in plan.get("multipliers", [])}
        if not by_m or not all("proposed" in s for s in by_m.values()):
            continue
        if not curves:
            curves.append(("live", LIVE_COLOUR, [by_m[m]["live"].get("bad_debt_cvar99") for m in ms]))
        curves.append((e.label, e.colour, [by_m[m]["proposed"].get("bad_debt_cvar99") for m in ms]))
    if len(curves) < 2:
        return None
    data = [
        {
            "x": ms,
            "y": ys,
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "line": {"color": colour},
        }
        for name, colour, ys in curves
    ]
    yaxis: dict[str, Any] = {"title": {"text": "CVaR99 of bad debt (USD)"}}
    if risk_charts.all_zero([y for _, _, ys in curves for y in ys]):
        yaxis = risk_charts.zero_axis(yaxis, "No bad debt at any volatility")
    layout = risk_charts.annotate_zero(
        risk_charts.base_layout(
            f"{title}: CVaR99 against volatility",
            "",
            "",
            xaxis={"title": {"text": "volatility multiplier"}, "tickvals": ms},
            yaxis=yaxis,
        )
    )
    return risk_charts.make_chart(
        key=f"vol-{index}",
        prefix="compare",
        csv_url=csv_url.replace("KEY", f"vol-{index}"),
        title=f"{title}: CVaR99 against volatility",
        caption="Live and each proposal on the same paths with their volatility scaled: the line that "
        "rises least is the least fragile.",
        figure={"data": data, "layout": layout},
        columns=[
            ("Volatility multiplier", "decimal"),
            *((f"CVaR99, {name}", "USD") for name, _, _ in curves),
        ],
        rows=[[m, *(ys[i] for _, _, ys in curves)] for i, m in enumerate(ms)],
    )


def tornado_chart(entries: list[Entry], index: int, title: str, csv_url: str) -> dict | None:
    """Chart 6's sensitivity overlaid: each proposal's changed parameters one guardrail step each
    way, the change in CVaR99 from that proposal's own, one bar per proposal and direction."""
    data, rows, ys_all = [], [], []
    for e in entries:
        plan = (e.run.manifest.get("sweeps") or {}) if e.run else {}
        sets = risk_charts.sweep_sets(e.run, index, 1.0) if e.run else {}
        if not plan.get("tornado") or "proposed" not in sets:
            continue
        base = sets["proposed"].get("bad_debt_cvar99")
        ys = [f"{e.label}: {r['label']}" for r in plan["tornado"]]
        ys_all += ys
        for side in ("down", "up"):
            xs = [
                risk_charts.minus(risk_charts.figure_of(sets.get(r[side]["set"]), "bad_debt_cvar99"), base)
                for r in plan["tornado"]
            ]
            data.append(
                {
                    "y": ys,
                    "x": xs,
                    "type": "bar",
                    "orientation": "h",
                    "name": f"{e.label}, one step {side}",
                    "marker": {"color": e.colour, "opacity": 0.55 if side == "down" else 1.0},
                }
            )
            rows += [[y, side, r[side]["value"], x] for y, r, x in zip(ys, plan["tornado"], xs, strict=True)]
    if not data:
        return None
    layout = risk_charts.base_layout(
        f"{title}: sensitivity of each proposal",
        "CVaR99 change from the proposal's own (USD)",
        "",
        barmode="group",
        height=max(280, 100 + 50 * len(ys_all)),
        yaxis={"automargin": True},
        margin={"l": 220, "r": 10, "t": 40, "b": 50},
    )
    return risk_charts.make_chart(
        key=f"tornado-{index}",
        prefix="compare",
        csv_url=csv_url.replace("KEY", f"tornado-{index}"),
        title=f"{title}: sensitivity of each proposal",
        caption="Each proposal's changed parameters moved one guardrail step each way (pale: down): the "
        "longer the bars, the more that proposal's CVaR99 hangs on getting the parameter exactly right.",
        figure={"data": data, "layout": layout},
        columns=[
            ("Proposal: parameter", "text"),
            ("Direction", "text"),
            ("Value", "text"),
            ("CVaR99 change", "USD"),
        ],
        rows=rows,
    )
