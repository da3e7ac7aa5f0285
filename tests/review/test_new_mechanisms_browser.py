"""The demo's Aave v4 spoke and Morpho vault proposals as a voter reads them, in headless
Chromium: each run finished in this process on a small baseline, the verdict and its table
with the mechanism's own figures (the vault's loss), who gets hurt, and a console without
errors. Screenshots go to var/test-output/screenshots/ (tests/browser.py)."""

from __future__ import annotations

from typing import Any

import pytest

from backtests import panels, verdict
from backtests.models import BacktestRun
from proposals.models import Market, Proposal
from tests.backtests.conftest import set_baseline
from tests.browser import screenshot
from tests.review.test_browser import finish

pytestmark = pytest.mark.e2e

MARKETS = {"aave-v4": "aave-v4-spoke-weth", "morpho-blue": "morpho-vault-usdc-wsteth"}


def finish_run(slug: str) -> BacktestRun:
    """Drive the market's submitted proposal's run to the end here (dispatch, every chunk,
    merges), on a baseline of 40 paths; no worker, no broker."""
    market = Market.objects.get(slug=slug)
    set_baseline(market, n_paths=40, chunk_paths=20)
    proposal = Proposal.objects.filter(market=market, status=Proposal.Status.BACKTESTING).get()
    return finish(BacktestRun.objects.get(proposal=proposal))


@pytest.mark.parametrize("mechanism", sorted(MARKETS))
def test_a_voter_reads_the_new_mechanisms_proposal_with_its_own_figures(
    mechanism, demo_site, logged_in_page, settings: Any
):
    settings.BACKTEST_SWEEP_PATHS = 0
    run = finish_run(MARKETS[mechanism])
    page = logged_in_page("voter1")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/proposals/{run.proposal_id}/")
    screenshot(page, f"proposal-{mechanism}")
    v = panels.verdict_of(run)
    assert page.inner_text("#verdict-sentence") == v.sentence
    headers = page.locator("#verdict-table thead th").all_inner_texts()[1:]
    assert headers == [f.label for f in verdict.figures_for(mechanism)]
    cells = page.locator("#verdict-table tbody td")
    assert cells.count() == run.comparisons.count() * len(headers)
    if mechanism == "morpho-blue":
        # The vault's loss is a figure of its own, read from the run's per-path extras.
        paired = run.comparisons.first().paired
        assert "mean_vault_loss" in paired and "vault_loss_cvar99" in paired
        assert (
            page.locator('#verdict-table td[data-key="mean_vault_loss"]').count() == run.comparisons.count()
        )
    assert page.locator("#verdict-hurt").count() == 1
    assert errors == []
