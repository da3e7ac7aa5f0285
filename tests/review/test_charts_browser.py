"""The review's charts in headless Chromium on the demo's finished Aave runs: every chart drawn
with data (not an empty div), its table equal to the stored figures, its CSV download (the
server's response) equal to the table, its PNG download (Plotly's, in the browser) a PNG, no
console errors; the compare page for three proposals; a screenshot of every chart under the
test output (tests/browser.py)."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from backtests import compare, risk_charts
from governance import numbers
from proposals import services as proposal_services
from proposals.models import Market, Proposal
from review.services import submit_proposal
from tests.browser import SCREENSHOTS, screenshot
from tests.review.test_browser import TIGHTER, finish_runs, watch_console

pytestmark = pytest.mark.e2e

PNG = b"\x89PNG\r\n\x1a\n"
MB = 1_000_000


def exact_row(row: list) -> list[str]:
    return [v if isinstance(v, str) else numbers.exact(v) for v in row]


def check_charts(page, charts: list[dict], shots: str) -> None:
    """Every chart drawn with data, its table the given rows, its CSV and PNG downloads."""
    page.wait_for_function(
        f"document.querySelectorAll('.review-chart .chart[data-rendered]').length === {len(charts)}"
    )
    for chart in charts:
        box = page.locator(f"#{chart['id']}-box")
        # Drawn with data: Plotly's SVG holds at least one trace with points, lines or bars.
        traces = page.locator(f"#{chart['id']} .scatterlayer .trace, #{chart['id']} .barlayer .trace")
        assert traces.count() >= 1, chart["key"]
        marks = f"#{chart['id']} .point, #{chart['id']} path.js-line, #{chart['id']} path.js-fill"
        assert page.locator(marks).count() > 0, chart["key"]
        box.locator("details.chart-numbers summary").click()
        shown = box.locator("table.chart-table tbody tr").evaluate_all(
            "rows => rows.map(r => Array.from(r.cells).map(c => {"
            " const n = c.querySelector('[data-exact]'); return n ? n.dataset.exact : c.textContent.trim(); }))"
        )
        assert shown == [exact_row(r) for r in chart["rows"]], chart["key"]
        # CSV: the server's response, saved by the browser.
        with page.expect_download() as d:
            box.locator("a.csv").click()
        rows = list(csv.reader(io.StringIO(open(d.value.path(), encoding="utf-8").read())))
        assert rows[0] == [c["label"] for c in chart["columns"]] and rows[1:] == shown
        # PNG: Plotly's own export in the page.
        with page.expect_download() as d:
            box.locator("button.png").click()
        assert d.value.suggested_filename == f"{chart['filename']}.png"
        assert open(d.value.path(), "rb").read(8) == PNG
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.locator(f"#{chart['id']}").screenshot(path=str(SCREENSHOTS / f"{shots}-{chart['key']}.png"))


@pytest.fixture
def demo_runs(demo_site, settings):
    # The sweeps on one chunk of the demo's baseline (30 paths), to keep the test short.
    settings.BACKTEST_SWEEP_PATHS = 30
    return finish_runs()


def test_every_chart_is_drawn_with_its_stored_numbers_and_both_downloads(demo_runs, logged_in_page):
    run = demo_runs[TIGHTER]
    charts = risk_charts.all_charts(run)
    # The seven charts: 1 cdf, 2 paired, 3 fan, 4 car, 5 health, 6 tornado and vol, 7 frontier.
    kinds = {c["key"].split("-")[0] for c in charts}
    assert kinds == {"cdf", "paired", "fan", "car", "health", "tornado", "vol", "frontier"}
    page = logged_in_page("voter1")
    errors = watch_console(page)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/proposals/{run.proposal_id}/")
    # The page comes without its charts; they come, with their tables, when the box is opened.
    first = len(page.content().encode())
    fragment = page.request.get(f"/backtests/runs/{run.pk}/charts/?fragment=1").body()
    print(
        f"proposal page {first} bytes of HTML; its {len(charts)} charts and their tables {len(fragment)} bytes"
    )
    assert first < 0.2 * MB and len(fragment) < 2 * MB
    page.click("#charts summary")
    check_charts(page, charts, "chart")
    screenshot(page, "proposal-review-charts")
    assert errors == []


THIRD = "Lower WETH liquidation threshold to 80 % and LTV to 78 %"


@pytest.fixture
def three_runs(demo_site, settings):
    settings.BACKTEST_SWEEP_PATHS = 30
    aave = Market.objects.get(slug="aave-v3-ethereum-weth")
    contributor = User.objects.get(username="contributor")
    values = {**aave.live_version.values, "liquidation_threshold": "0.80", "ltv": "0.78"}
    draft = proposal_services.create_draft(
        author=contributor, market=aave, title=THIRD, values=values, rationale="Halfway."
    )
    submit_proposal(proposal=draft, actor=contributor)
    return finish_runs()


def test_a_voter_compares_three_proposals_of_the_market_on_one_page(three_runs, logged_in_page):
    runs = three_runs
    assert len(runs) == 3
    first = runs[TIGHTER]
    page = logged_in_page("voter2")
    errors = watch_console(page)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/proposals/{first.proposal_id}/")
    page.click("#compare-link a")
    page.wait_for_url("**/proposals/compare/**")
    ids = page.locator("#compare-table thead th[data-proposal]").evaluate_all(
        "ths => ths.map(th => Number(th.dataset.proposal))"
    )
    assert sorted(ids) == sorted(r.proposal_id for r in runs.values()) and ids[0] == first.proposal_id
    by_id = {r.proposal_id: r for r in runs.values()}
    # Every cell is that proposal's stored difference.
    cells = page.locator("#compare-table tbody tr").evaluate_all(
        "rows => rows.map(r => [Number(r.dataset.scenario), r.dataset.key,"
        " Array.from(r.querySelectorAll('td[data-key] > span.n')).map(s => s.dataset.exact)])"
    )
    assert cells
    for scenario, key, diffs in cells:
        want = [by_id[i].comparisons.get(scenario_index=scenario).paired[key]["diff"] for i in ids]
        assert diffs == [numbers.exact(w) for w in want], (scenario, key)
    selection = Proposal.objects.filter(pk__in=ids)
    entries = compare.entries_of(sorted(selection, key=lambda p: ids.index(p.pk)))
    query = "&".join(f"ids={i}" for i in ids)
    charts = compare.compare_charts(entries, reverse("review:compare_csv", args=["KEY"]) + "?" + query)
    check_charts(page, charts, "compare")
    screenshot(page, "compare-three-proposals")
    assert errors == []
