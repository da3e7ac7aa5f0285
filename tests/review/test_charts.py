"""The review's charts on the proposal page, against the stored results: every chart has a
caption, a table equal to the stored figures and a CSV download equal to the table; the book's
figures (collateral at risk, health distributions) are those of engine.health; an all-zero
chart has an axis from 0, not from -1."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from django.urls import reverse
from django.utils.html import escape

from backtests import bookrisk, compute, risk_charts
from backtests import inputs as run_inputs
from backtests.models import BacktestRun
from engine import health
from governance import numbers
from governance.models import Member
from proposals.models import Proposal
from tests.proposals.factories import make_user
from tests.review.test_pages import client_for
from tests.review.test_proposal_page import TIGHTER, finished
from tests.review.test_proposal_page import market as _market

market = _market


@pytest.fixture
def author(db):
    return make_user("carol", Member.Role.CONTRIBUTOR)


@pytest.fixture
def run(market, author, django_capture_on_commit_callbacks) -> BacktestRun:
    return finished(market, author, django_capture_on_commit_callbacks, TIGHTER)


def csv_rows(response) -> list[list[str]]:
    return list(
        csv.reader(
            io.StringIO(
                b"".join(response.streaming_content).decode()
                if response.streaming
                else response.content.decode()
            )
        )
    )


def test_the_page_shows_every_chart_with_its_caption_table_and_downloads(run, author):
    charts = risk_charts.all_charts(run)
    keys = [c["key"] for c in charts]
    # 2 across scenarios; 1, 3, 6 and 7 per scenario (two scenarios); 4 and 5 (start, worst step).
    per_scenario = ["cdf-{}", "fan-{}", "tornado-{}", "vol-{}", "frontier-{}"]
    assert keys == [
        "paired",
        *(k.format(0) for k in per_scenario),
        *(k.format(1) for k in per_scenario),
        "car",
        "health-start",
        "health-worst",
    ]
    client = client_for(author)
    page = client.get(reverse("review:detail", args=[run.proposal_id])).content.decode()
    # The proposal page links to the charts (and loads them when the box is opened): its first
    # visit does not carry them.
    url = reverse("backtests:charts", args=[run.pk])
    assert f'data-charts-url="{url}?fragment=1"' in page and f'href="{url}"' in page
    assert charts[0]["data_id"] not in page
    html = client.get(url).content.decode()
    assert client.get(url + "?fragment=1").content.decode().strip() in html
    for c in charts:
        assert f'id="{c["id"]}"' in html and escape(c["caption"]) in html
        assert f'data-chart="{c["key"]}"' in html and f'data-png="{c["id"]}"' in html
        assert (
            c["csv_url"] == reverse("backtests:chart_csv", args=[run.pk, c["key"]]) and c["csv_url"] in html
        )
    # Titles name the scenario, not the market's slug again.
    assert run.proposal.market.slug not in " ".join(c["title"] for c in charts)


def test_each_charts_csv_is_its_table_with_exact_values(run, author):
    client = client_for(author)
    for c in risk_charts.all_charts(run):
        response = client.get(reverse("backtests:chart_csv", args=[run.pk, c["key"]]))
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        rows = csv_rows(response)
        assert rows[0] == [col["label"] for col in c["columns"]]
        assert len(rows) == len(c["rows"]) + 1
        for got, want in zip(rows[1:], c["rows"], strict=True):
            assert got == [v if isinstance(v, str) else numbers.exact(v) for v in want]


def test_the_distribution_and_the_differences_are_the_stored_figures(run):
    comps = {c.scenario_index: c for c in run.comparisons.all()}
    cdf = risk_charts.chart_of(run, "cdf-1")
    q = comps[1].series["bad_debt_quantiles"]
    last = cdf["rows"][-1]
    assert last == [1.0, q["live"][-1], q["proposed"][-1]]
    per_path = {r.role: compute.unpack(r.per_path)["per_path"] for r in run.results.filter(scenario_index=1)}
    assert q["live"][-1] == per_path["live"][:, 0].max()  # bad_debt is column 0
    paired = risk_charts.chart_of(run, "paired")
    row = next(r for r in paired["rows"] if r[1] == "CVaR99 of bad debt" and r[0] == "storm")
    p = comps[1].paired["bad_debt_cvar99"]
    assert row[2:7] == [p["a"], p["b"], p["diff"], p["ci_low"], p["ci_high"]]


def test_collateral_at_risk_and_health_are_the_engines(run):
    inputs = run_inputs.load_inputs(run, cached=False)
    live = inputs.scenarios[0].live
    car = run.figures["collateral_at_risk"]
    p = car["price0"] * (1 - 0.3)
    h = health.health("aave-v3", live, inputs.book, p)
    debt, _ = health.exposure("aave-v3", inputs.book, p)
    assert car["drops"][3] == 0.3 and car["live"]["debt"][3] == pytest.approx(debt[h < 1].sum(), rel=1e-12)
    # More is at risk the further the price falls.
    assert car["live"]["debt"] == sorted(car["live"]["debt"])
    start = run.figures["health"]["start"]
    assert sum(start["live"]["count"]) == int(
        np.sum(np.isfinite(health.health("aave-v3", live, inputs.book, car["price0"])))
    )
    worst = run.figures["health"]["worst"]
    assert worst["scenario"].endswith("storm") and 0 <= worst["step"] <= 48
    assert len(worst["live"]["count"]) == len(bookrisk.HEALTH_EDGES) - 1


def test_an_all_zero_axis_starts_at_zero(run):
    axis = risk_charts.zero_axis({"title": {"text": "bad debt"}}, "none")
    assert axis["range"] == [0, 1] and axis["tickvals"] == [0]
    calm = risk_charts.chart_of(run, "cdf-0")
    if all(v == 0 for v in calm["rows"][-1][1:]):  # the calm scenario has no bad debt
        assert calm["figure"]["layout"]["xaxis"]["range"] == [0, 1]


def test_a_chart_of_another_members_draft_is_not_found(run):
    Proposal.objects.filter(pk=run.proposal_id).update(status="draft")
    other = client_for(make_user("olga", Member.Role.VOTER))
    assert other.get(reverse("backtests:chart_csv", args=[run.pk, "paired"])).status_code == 404
    assert other.get(reverse("backtests:charts", args=[run.pk])).status_code == 404


def test_the_sensitivity_volatility_and_frontier_charts_are_the_stored_sweeps(run):
    plan = run.manifest["sweeps"]
    sets = risk_charts.sweep_sets(run, 1, 1.0)
    tornado = risk_charts.chart_of(run, "tornado-1")
    lt = next(r for r in tornado["rows"] if r[0] == "Liquidation threshold")
    up = next(t for t in plan["tornado"] if t["key"] == "liquidation_threshold")["up"]
    assert lt[6] == up["value"] and lt[7] == sets[up["set"]]["bad_debt_cvar99"]
    assert lt[9] == sets["proposed"]["bad_debt_cvar99"]
    vol = risk_charts.chart_of(run, "vol-1")
    assert [r[0] for r in vol["rows"]] == [0.5, 1.0, 1.5, 2.0, 3.0]
    at3 = risk_charts.sweep_sets(run, 1, 3.0)
    assert vol["rows"][-1][1:3] == [at3["live"]["bad_debt_cvar99"], at3["proposed"]["bad_debt_cvar99"]]
    frontier = risk_charts.chart_of(run, "frontier-1")
    assert len(frontier["rows"]) == 7 + 2
    assert frontier["rows"][-1][1:] == [
        sets["proposed"]["bad_debt_cvar99"],
        sets["proposed"]["borrowing_power"],
    ]
    # Borrowing power grows with the threshold along the frontier.
    power = [r[2] for r in frontier["rows"][:7] if r[2] is not None]
    assert power == sorted(power) and len(power) >= 2


def test_a_tornado_without_any_cvar_change_says_so_on_an_axis_from_zero(run):
    for index in (0, 1):
        tornado = risk_charts.chart_of(run, f"tornado-{index}")
        if tornado is None:
            continue
        layout = tornado["figure"]["layout"]
        base = tornado["rows"][0][9]
        changes = [r[k] - base for r in tornado["rows"] for k in (4, 7) if r[k] is not None]
        if all(c == 0 for c in changes):
            assert layout["xaxis"]["range"] == [0, 1]
            assert "CVaR99 unchanged" in layout["annotations"][0]["text"]
        else:
            assert "range" not in layout["xaxis"]
