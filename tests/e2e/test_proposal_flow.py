"""The "done when" flow in a real browser: the demo contributor writes a proposal that breaks a
guardrail, is told exactly why, fixes it and submits it."""

import pytest

from proposals.models import Proposal

pytestmark = pytest.mark.e2e


def test_contributor_is_told_why_a_guardrail_blocks_then_fixes_and_submits(demo_site, logged_in_page):
    page = logged_in_page("contributor")
    page.click("text=New proposal")
    page.click("text=Aave v3 Ethereum · WETH")
    page.fill("input[name=title]", "Raise the WETH liquidation bonus")
    page.fill("textarea[name=rationale]", "Liquidators need more margin when **gas** spikes.")
    page.fill("input[name=p__liquidation_bonus]", "0.10")
    page.click("button[value=submit]")

    error = page.locator("tr.has-error .errorlist")
    assert error.inner_text().strip() == (
        "liquidation_bonus: the change from 0.05 to 0.1 (+0.05) exceeds the guardrail of 0.02 (absolute) per proposal."
    )
    assert not Proposal.objects.filter(title="Raise the WETH liquidation bonus").exists()

    page.fill("input[name=p__liquidation_bonus]", "0.06")
    page.click("button[value=submit]")
    page.wait_for_url("**/proposals/*/")
    assert "Submitted" in page.inner_text(".messages")
    assert page.inner_text(".status") == "Backtesting"
    assert "+0.01" in page.inner_text("table.diff tr[data-key=liquidation_bonus]")
    proposal = Proposal.objects.get(title="Raise the WETH liquidation bonus")
    assert proposal.status == Proposal.Status.BACKTESTING
    assert proposal.proposed_version.values["liquidation_bonus"] == "0.06"


def test_a_voter_sees_the_proposals_but_no_new_proposal_link(demo_site, logged_in_page):
    page = logged_in_page("voter1")
    page.goto("/proposals/")
    assert "Raise WETH liquidation threshold" in page.inner_text("table.list")
    assert page.locator("text=New proposal").count() == 0
    response = page.goto("/proposals/new/")
    assert response.status == 403
