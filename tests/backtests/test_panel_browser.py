"""The proposal page's backtest panel in headless Chromium, with a real worker behind it."""

from __future__ import annotations

import pytest

from backtests.models import BacktestRun
from governance.models import Member
from tests.backtests.conftest import make_book, make_pack, scenario_spec, set_baseline
from tests.proposals.factories import PASSWORD, make_market, make_proposal, make_user

pytestmark = [pytest.mark.worker, pytest.mark.e2e]


def test_the_author_submits_and_watches_the_panel_fill_in_results_without_a_reload(
    transactional_db, settings, start_worker, logged_in_page
):
    market = make_market("aave-v3")
    make_book(market)
    make_pack(market, [scenario_spec("calm", 0.6, 48), scenario_spec("storm", 2.5, 48, lam=40.0)])
    set_baseline(market, n_paths=40, chunk_paths=10)
    author = make_user("carol", Member.Role.CONTRIBUTOR)
    proposal = make_proposal(market, author, liquidation_threshold="0.80", ltv="0.78")
    start_worker("w1")

    page = logged_in_page("carol", PASSWORD)
    page.goto(f"/proposals/{proposal.pk}/")
    page.click("form[action$='/submit/'] button")
    page.wait_for_selector("#backtest-panel[data-run]")
    page.evaluate("window.__notReloaded = true")
    assert page.inner_text("#proposal-status") == "Backtesting"
    # The panel polls and the page replaces its live parts: the verdict appears and the status
    # badge turns to Pending (the market's voting delay runs from the backtest's completion)
    # while the page stays the same.
    page.wait_for_selector("#verdict-table", timeout=90_000)
    page.wait_for_function("document.getElementById('proposal-status').dataset.status === 'pending'")
    assert page.inner_text("#proposal-status") == "Pending"
    assert page.evaluate("window.__notReloaded") is True
    run = BacktestRun.objects.get(proposal=proposal)
    assert run.status == "complete"
    assert "Complete" in page.inner_text("#backtest-status")
    page.click("#full-results summary")
    assert page.locator("table.backtest-results").count() == 2
    page.click("#charts summary")
    page.wait_for_selector(f"#run-{run.pk}-fan-1 .main-svg")  # Plotly, from our static files
    assert page.locator("#backtest-progress").count() == 0
