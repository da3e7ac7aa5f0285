"""The demo's two-asset Comet market as a contributor and a voter use it, in headless Chromium:
the demo proposal on WBTC's factors and a second one a contributor writes in the form, both
backtested on WETH and WBTC together (finished in this process on a small baseline), the
proposal page with its verdict and each asset's price chart drawn, and the two compared side by
side. Screenshots go to var/test-output/screenshots/ (tests/browser.py)."""

from __future__ import annotations

from typing import Any

import pytest

from backtests import risk_charts
from backtests.models import BacktestRun
from proposals.models import Market, Proposal
from tests.backtests.conftest import set_baseline
from tests.browser import screenshot
from tests.review.test_browser import finish, watch_console
from tests.review.test_charts_browser import check_charts

pytestmark = pytest.mark.e2e

SLUG = "compound-v3-ethereum-usdc"
SECOND = "Lower WETH's liquidation factor to 93 %"


def test_a_contributor_writes_and_a_voter_compares_two_asset_comet_proposals(
    demo_site, logged_in_page, settings: Any
):
    settings.BACKTEST_SWEEP_PATHS = 0
    market = Market.objects.get(slug=SLUG)
    set_baseline(market, n_paths=40, chunk_paths=20)
    # A contributor writes the second proposal in the form: one nested field per asset.
    page = logged_in_page("contributor")
    errors = watch_console(page)
    page.goto(f"/markets/{SLUG}/propose/")
    page.fill("input[name=title]", SECOND)
    page.fill(
        "textarea[name=rationale]", "A smaller credit for absorbed WETH leaves the reserves less short."
    )
    page.fill("input[name=p__assets__WETH__liquidation_factor]", "0.93")
    page.click("button[name=action][value=submit]")
    page.wait_for_url("**/proposals/*/")
    second = Proposal.objects.get(title=SECOND)
    assert second.status == Proposal.Status.BACKTESTING
    runs = [finish(r) for r in BacktestRun.objects.filter(proposal__market=market).order_by("pk")]
    assert len(runs) == 2
    for run in runs:
        assert run.manifest["engine_mechanism"] == "compound-v3-accounts"
        assert run.manifest["collateral_assets"] == ["WETH", "WBTC"]
    # A voter reads the demo proposal: verdict, and the charts with each asset's prices.
    first = runs[0]
    page = logged_in_page("voter1")
    errors += watch_console(page)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/proposals/{first.proposal_id}/")
    assert "WBTC" in page.inner_text("h1")
    assert page.inner_text("#verdict-sentence").strip()
    assert page.locator("#verdict-table tbody tr").count() == first.comparisons.count()
    screenshot(page, "proposal-comet-two-assets")
    charts = risk_charts.all_charts(first)
    assert sum(c["key"].startswith("assets-") for c in charts) == first.comparisons.count()
    page.click("#charts summary")
    check_charts(page, charts, "chart-comet")
    legend = page.locator(f"#{next(c['id'] for c in charts if c['key'] == 'assets-5')}").inner_text()
    assert "WETH median" in legend and "WBTC median" in legend
    screenshot(page, "proposal-comet-assets-chart")
    # Both proposals side by side.
    page.click("#compare-link a")
    page.wait_for_url("**/proposals/compare/**")
    ids = page.locator("#compare-table thead th[data-proposal]").evaluate_all(
        "ths => ths.map(th => Number(th.dataset.proposal))"
    )
    assert sorted(ids) == sorted(r.proposal_id for r in runs)
    screenshot(page, "compare-comet")
    assert errors == []
