"""The trust defects a new user found: a decimal comma read as a thousands separator, drafts
leaking to voters, and voters sent to a 403 by the Scenarios link."""

import pytest
from django.urls import reverse

from proposals.models import Proposal
from tests.proposals.factories import complete_backtest, make_proposal
from tests.review.test_pages import client_for, form_data

S = Proposal.Status


@pytest.mark.parametrize(
    "key,raw,message",
    [
        (
            "supply_cap",
            "1800,5",
            "supply_cap: &#x27;1800,5&#x27; is not a plain number; write digits with a point for decimals "
            "and no thousands separators: &quot;1800.5&quot;.",
        ),
        ("liquidation_bonus", "0,06", "no thousands separators: &quot;0.06&quot;."),
    ],
)
def test_a_decimal_comma_is_refused_on_its_field_and_nothing_is_saved(aave, contributor, key, raw, message):
    data = form_data(aave, action="save")
    data[f"p__{key}"] = raw
    response = client_for(contributor).post(reverse("review:create", args=[aave.slug]), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["form"].errors[f"p__{key}"]
    assert Proposal.objects.count() == 0


def test_the_market_page_hides_other_authors_drafts_and_their_versions(
    aave, contributor, other_contributor, voter, admin_user
):
    draft = make_proposal(aave, other_contributor, S.DRAFT, ltv="0.79")
    number = draft.proposed_version.number
    for user in (voter, contributor):
        html = client_for(user).get(reverse("review:market", args=[aave.slug])).content.decode()
        assert f'data-version="{number}"' not in html
        assert reverse("review:detail", args=[draft.pk]) not in html
    for user in (other_contributor, admin_user):
        html = client_for(user).get(reverse("review:market", args=[aave.slug])).content.decode()
        assert f'data-version="{number}"' in html
        assert reverse("review:detail", args=[draft.pk]) in html


def test_the_version_diff_of_a_draft_is_private_to_its_author_and_administrators(
    aave, contributor, other_contributor, voter, admin_user
):
    draft = make_proposal(aave, other_contributor, S.DRAFT, ltv="0.79")
    url = reverse("review:market_diff", args=[aave.slug]) + f"?a=1&b={draft.proposed_version.number}"
    for user in (voter, contributor):
        response = client_for(user).get(url)
        assert response.status_code == 404
        assert "0.79" not in response.content.decode()
    for user in (other_contributor, admin_user):
        response = client_for(user).get(url)
        assert response.status_code == 200 and "0.79" in response.content.decode()


def test_a_submitted_proposals_versions_are_public_to_members(aave, contributor, voter):
    proposal = make_proposal(aave, contributor, S.BACKTESTING, ltv="0.79")
    url = reverse("review:market_diff", args=[aave.slug]) + f"?a=1&b={proposal.proposed_version.number}"
    assert client_for(voter).get(url).status_code == 200


def test_a_drafts_backtest_pages_and_downloads_are_private(aave, contributor, other_contributor, voter):
    draft = make_proposal(aave, other_contributor, S.DRAFT, ltv="0.79")
    run = complete_backtest(draft)
    for name, args in (
        ("backtests:progress", [run.pk]),
        ("backtests:manifest", [run.pk]),
        ("backtests:results_csv", [run.pk]),
        ("backtests:charts", [run.pk]),
        ("backtests:chart_csv", [run.pk, "paired"]),
        ("backtests:panel", [draft.pk]),
        ("review:detail", [draft.pk]),
    ):
        for user in (voter, contributor):
            assert client_for(user).get(reverse(name, args=args)).status_code == 404, (name, user)
    assert client_for(other_contributor).get(reverse("backtests:manifest", args=[run.pk])).status_code == 200
    other = make_proposal(aave, contributor, S.BACKTESTING, ltv="0.78")
    compare = reverse("review:compare") + f"?ids={other.pk}&ids={draft.pk}"
    assert client_for(voter).get(compare).status_code == 404
    assert (
        client_for(voter)
        .get(reverse("review:compare_csv", args=["paired"]) + compare[compare.index("?") :])
        .status_code
        == 404
    )


def test_a_missing_page_outside_debug_is_the_sites_plain_404(voter, settings):
    assert settings.DEBUG is False
    response = client_for(voter).get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in html and "URLconf" not in html and "review.urls" not in html


def test_the_site_has_a_favicon(voter):
    html = client_for(voter).get(reverse("review:list")).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    response = client_for(voter).get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == "/static/favicon.svg"
