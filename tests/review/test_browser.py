"""The proposal page as a voter sees it, in headless Chromium: the demo's two Aave proposals with
finished runs (computed in this process, the way the workers do, on a smaller baseline), the
verdict and its table against the stored figures, the formats, who gets hurt, draft privacy,
a console without errors, a phone's width, and the bytes a first visit transfers. Screenshots
go to var/test-output/screenshots/ (tests/browser.py)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest

from backtests import panels, services
from backtests.models import BacktestRun
from governance import numbers
from governance.models import GovernancePolicy
from proposals.models import Market, Proposal
from review.management.commands.seed_demo import DEMO_MARKET, DEMO_PASSWORD
from tests.backtests.conftest import set_baseline
from tests.browser import screenshot

pytestmark = pytest.mark.e2e

TIGHTER = "Lower WETH liquidation threshold to 78 % and LTV to 76 %"
LOOSER = "Raise WETH liquidation threshold to 83.5 % and LTV to 81 %"
MB = 1_000_000
# What a figure for people looks like: $1.23M, +$400.0K, −4.2 %, +1.2 pp, 427, 0.4, —.
FIGURE = re.compile(r"^[+\u2212]?(\$[\d,]+(\.\d+)?[KMB]?|[\d,]+(\.\d+)? (%|pp)|[\d,]+(\.\d)?|\u2014)$")


def finish_runs() -> dict[str, BacktestRun]:
    """Drive the demo's submitted Aave runs to the end here (dispatch, every chunk, merges), on a
    baseline of 60 paths so that it takes seconds; no worker, no broker."""
    aave = Market.objects.get(slug="aave-v3-ethereum-weth")
    set_baseline(aave, n_paths=60, chunk_paths=30)
    return {
        proposal.title: finish(BacktestRun.objects.get(proposal=proposal))
        for proposal in Proposal.objects.filter(market=aave)
    }


def finish(run: BacktestRun) -> BacktestRun:
    """Drive a run to the end in this process (dispatch, every chunk, merges): no worker."""
    with mock.patch("backtests.services._send_chunks"):
        services.dispatch_backtest(run_id=run.pk)
        run.refresh_from_db()
        for chunk in services.chunks_of(run):
            services.run_chunk(
                run_id=run.pk, scenario_index=chunk.scenario_index, chunk_index=chunk.chunk_index
            )
    run.refresh_from_db()
    assert run.is_complete, run.error
    return run


@pytest.fixture
def demo_runs(demo_site: None, settings: Any) -> dict[str, BacktestRun]:
    # The verdict and the page's weight: the runs without their sweeps (the charts of the sweeps
    # are checked in test_charts_browser.py).
    settings.BACKTEST_SWEEP_PATHS = 0
    return finish_runs()


def watch_console(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    return errors


def test_a_voter_reads_the_verdict_and_who_gets_hurt_from_the_first_screen(demo_runs, logged_in_page):
    run = demo_runs[TIGHTER]
    page = logged_in_page("voter1")
    errors = watch_console(page)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/proposals/{run.proposal_id}/")
    screenshot(page, "proposal-verdict-laptop")

    assert (
        page.inner_text("#proposal-status") == Proposal.objects.get(pk=run.proposal_id).get_status_display()
    )
    verdict = panels.verdict_of(run)
    assert page.inner_text("#verdict-sentence") == verdict.sentence
    assert page.inner_text("#verdict-label") == verdict.label_text
    # The sentence and the table are on the first screen of a laptop.
    assert page.locator("#verdict-sentence").bounding_box()["y"] < 900
    assert page.locator("#verdict-table").bounding_box()["y"] < 900

    # Every cell of the verdict table is the stored paired difference, in a format for people.
    stored = {c.scenario_index: c.paired for c in run.comparisons.all()}
    cells = page.locator("#verdict-table tbody td")
    assert cells.count() == len(stored) * 7
    for i in range(cells.count()):
        cell = cells.nth(i)
        scenario = int(cell.locator("xpath=..").get_attribute("data-scenario"))
        key = cell.get_attribute("data-key")
        diff = cell.locator("span.n")
        assert diff.get_attribute("data-exact") == numbers.exact(stored[scenario][key]["diff"])
        assert FIGURE.match(diff.inner_text()), diff.inner_text()
        colour = cell.get_attribute("class").split()[-1]
        p = stored[scenario][key]
        if colour != "effect-none":  # coloured only where the interval excludes zero
            assert (p["ci_low"] > 0 and p["ci_high"] > 0) or (p["ci_low"] < 0 and p["ci_high"] < 0)

    # Who gets hurt: the stored count and the largest positions, newly liquidatable first.
    hurt = run.who_gets_hurt
    assert hurt["newly_liquidatable"]["count"] > 0
    assert numbers.count(hurt["newly_liquidatable"]["count"]) in page.inner_text("#verdict-hurt")
    rows = page.locator("#hurt-top tbody tr")
    assert rows.count() == len(hurt["top"]) == 20
    assert rows.first.get_attribute("data-position") == str(hurt["top"][0]["position"])
    assert "makes it liquidatable" in rows.first.inner_text()
    page.locator("#who-gets-hurt").scroll_into_view_if_needed()
    screenshot(page, "proposal-who-gets-hurt")

    # The full tables are one click away, and the CSV of a table holds the exact values.
    assert not page.locator("#full-results").evaluate("d => d.open")
    with page.expect_download() as download:
        page.locator("#verdict-table").locator("xpath=../following-sibling::button[1]").click()
    csv_text = open(download.value.path(), encoding="utf-8").read()
    first = stored[0]["bad_debt_cvar99"]
    assert numbers.exact(first["diff"]) in csv_text
    assert errors == []


def test_a_voter_reads_the_cost_of_governance_delay_beside_the_verdict(demo_site, logged_in_page):
    # A 4-day vote and timelock (1 day before the vote, 2 of voting, 1 of timelock).
    day = timedelta(days=1)
    GovernancePolicy.objects.filter(market__slug=DEMO_MARKET).update(
        voting_delay=day, voting_period=2 * day, timelock=day
    )
    run = finish_runs()[TIGHTER]
    page = logged_in_page("voter1")
    errors = watch_console(page)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/proposals/{run.proposal_id}/")
    page.locator("#cost-of-delay").scroll_into_view_if_needed()
    screenshot(page, "proposal-cost-of-delay")

    found = panels.cost_of_delay(run)
    assert found.available and found.delay_text == "4 days"
    assert page.inner_text("#delay-sentence") == found.sentence
    # Every number is the stored figure: from the start (a), after the delay (b), the difference.
    stored = {c.scenario_index: c.delay for c in run.comparisons.all()}
    cells = page.locator("#delay-table tbody td.num")
    assert cells.count() == len(stored) * 6
    which = {"from-start": "a", "after-delay": "b", "difference": "diff"}
    for i in range(cells.count()):
        cell = cells.nth(i)
        scenario = int(cell.locator("xpath=..").get_attribute("data-scenario"))
        figure, part = cell.get_attribute("data-key").split("-", 1)
        value = stored[scenario]["paired"][figure][which[part]]
        number = cell.locator("span.n")
        assert number.get_attribute("data-exact") == numbers.exact(value)
        assert FIGURE.match(number.inner_text()), number.inner_text()
    # The demo's synthetic scenarios last 30 days: the 4-day delay is inside each of them (a
    # scenario shorter than the delay is tested on the server's page, tests/backtests/test_delay.py).
    assert not any(d["beyond_horizon"] for d in stored.values())
    assert [d["steps"] for d in stored.values()] == [96] * len(stored)
    assert "after delay = live" not in page.inner_text("#delay-table")
    # The table's CSV holds the exact values.
    with page.expect_download() as download:
        page.locator("#delay-table").locator("xpath=../following-sibling::button[1]").click()
    csv_text = open(download.value.path(), encoding="utf-8").read()
    assert numbers.exact(stored[0]["paired"]["mean_bad_debt"]["diff"]) in csv_text
    assert errors == []


def test_two_proposals_of_the_market_show_the_same_live_figures(demo_runs, logged_in_page):
    page = logged_in_page("voter2")
    errors = watch_console(page)
    live = []
    for title in (TIGHTER, LOOSER):
        page.goto(f"/proposals/{demo_runs[title].proposal_id}/")
        page.click("#full-results summary")
        live.append(
            page.locator("table.backtest-results tbody tr td:nth-child(2) span.n").evaluate_all(
                "spans => spans.map(s => s.dataset.exact)"
            )
        )
    assert live[0] and live[0] == live[1]
    screenshot(page, "proposal-full-results")
    page.click("#charts summary")
    page.wait_for_selector("#charts .chart[data-rendered]")
    screenshot(page, "proposal-charts")
    assert errors == []


def test_drafts_stay_private_and_the_scenarios_are_readable(demo_runs, logged_in_page):
    draft = Proposal.objects.get(status=Proposal.Status.DRAFT)
    page = logged_in_page("voter1")
    errors = watch_console(page)
    page.goto("/proposals/")
    assert draft.title not in page.inner_text("main")
    assert page.locator("tr[data-proposal] .headline").count() == 2
    screenshot(page, "proposal-list")
    page.goto(f"/markets/{draft.market.slug}/")
    assert f"#{draft.pk}" not in page.inner_text("#versions")
    assert page.locator(f'#versions tr[data-version="{draft.proposed_version.number}"]').count() == 0
    errors.clear()  # the 404s below are expected
    assert page.goto(f"/proposals/{draft.pk}/").status == 404
    assert "URLconf" not in page.content()
    url = f"/markets/{draft.market.slug}/diff/?a=1&b={draft.proposed_version.number}"
    assert page.goto(url).status == 404
    errors.clear()
    page.goto("/proposals/")
    page.click("header nav >> text=Scenarios")
    assert page.url.endswith("/scenarios/") and page.inner_text("h1") == "Scenario library"
    page.click("text=Synthetic stress pack >> nth=0")
    page.wait_for_selector("[data-testid=fan-chart] .main-svg")
    screenshot(page, "scenario-pack")
    assert errors == []


def test_the_page_fits_a_phone(demo_runs, new_page):
    page = new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    errors = watch_console(page)
    page.goto("/accounts/login/")
    page.fill("#id_username", "voter3")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"/proposals/{demo_runs[TIGHTER].proposal_id}/")
    # Nothing but the tables' own scroll boxes is wider than the screen.
    wide = page.evaluate(
        """() => Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > 391
             && !e.closest('.table-wrap')).map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 10)"""
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide
    assert page.inner_text("#verdict-sentence").startswith("Across 6 scenarios")
    screenshot(page, "proposal-phone")
    assert errors == []


def test_a_first_visit_transfers_under_two_megabytes_with_the_charts(
    demo_site, production_server, chromium_browser
):
    run = finish_runs()[TIGHTER]
    context = chromium_browser.new_context(base_url=production_server)
    try:
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("#id_username", "voter1")
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/proposals/")
        sizes: list[int] = []
        encodings: dict[str, str] = {}

        def finished(request: Any) -> None:
            s = request.sizes()
            sizes.append(s["responseBodySize"] + s["responseHeadersSize"])
            response = request.response()
            if response is not None and "/static/" in request.url:
                encodings[request.url] = response.headers.get("content-encoding", "")

        page.on("requestfinished", finished)
        page.goto(f"/proposals/{run.proposal_id}/", wait_until="networkidle")
        first_visit = sum(sizes)
        page.click("#charts summary")
        page.wait_for_selector("#charts .chart[data-rendered]")
        page.wait_for_load_state("networkidle")
        with_charts = sum(sizes)
    finally:
        context.close()
    print(f"first visit {first_visit} bytes; with the charts opened {with_charts} bytes")
    assert first_visit < 2 * MB
    assert with_charts < 2 * MB
    plotly = [u for u in encodings if "plotly-basic" in u]
    assert plotly and encodings[plotly[0]] in ("gzip", "br")
