"""Pages: status codes and who may see and do what."""

import pytest
from django.test import Client
from django.urls import reverse

from proposals import schema, services
from proposals.models import Proposal
from review.forms import field_name
from tests.proposals.factories import (
    PASSWORD,
    complete_backtest,
    live_values,
    make_proposal,
    policy_over_at_once,
)

S = Proposal.Status


def client_for(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def form_data(market, title="Raise LT", action="submit", **changes) -> dict:
    flat = schema.flatten(
        market.mechanism, schema.normalize(market.mechanism, live_values(market, **changes))
    )
    data = {field_name(k): schema.fmt(v) for k, v in flat.items()}
    return {"title": title, "rationale": "Because **the data** says so.", "action": action, **data}


@pytest.mark.parametrize(
    "name,args",
    [
        ("review:home", []),
        ("review:list", []),
        ("review:new", []),
        ("review:markets", []),
        ("review:market", ["aave-v3-ethereum-weth"]),
        ("review:create", ["aave-v3-ethereum-weth"]),
    ],
)
def test_anonymous_visitors_are_sent_to_sign_in(aave, name, args):
    response = Client().get(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_anonymous_visitors_cannot_see_a_proposal(aave, contributor):
    proposal = make_proposal(aave, contributor, S.VOTING, ltv="0.8")
    assert Client().get(reverse("review:detail", args=[proposal.pk])).status_code == 302


def test_sign_in_page_signs_in(contributor):
    client = Client()
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "carol", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("review:list")).status_code == 200


def test_a_voter_cannot_open_or_post_the_proposal_form(aave, voter):
    client = client_for(voter)
    assert client.get(reverse("review:new")).status_code == 403
    assert client.get(reverse("review:create", args=[aave.slug])).status_code == 403
    assert (
        client.post(reverse("review:create", args=[aave.slug]), form_data(aave, ltv="0.8")).status_code == 403
    )
    assert Proposal.objects.count() == 0


def test_the_form_is_generated_from_the_schema_with_units_and_live_values(aave, contributor):
    response = client_for(contributor).get(reverse("review:create", args=[aave.slug]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Liquidation threshold (fraction)" in html and "Supply cap (tokens)" in html
    assert 'name="p__liquidation_threshold"' in html and 'value="0.83"' in html


def test_a_guardrail_breach_is_explained_and_nothing_is_saved(aave, contributor):
    response = client_for(contributor).post(
        reverse("review:create", args=[aave.slug]), form_data(aave, liquidation_bonus="0.1")
    )
    assert response.status_code == 200
    assert (
        "liquidation_bonus: the change from 0.05 to 0.1 (+0.05) exceeds the guardrail of 0.02 (absolute) "
        "per proposal."
    ) in response.content.decode()
    assert Proposal.objects.count() == 0


def test_an_invariant_breach_is_explained_on_the_field(aave, contributor):
    response = client_for(contributor).post(
        reverse("review:create", args=[aave.slug]), form_data(aave, ltv="0.85")
    )
    assert "ltv must be at most liquidation_threshold (0.83); it is 0.85." in response.content.decode()
    assert response.context["form"].errors["p__ltv"]


def test_a_contributor_submits_a_valid_proposal(aave, contributor):
    response = client_for(contributor).post(
        reverse("review:create", args=[aave.slug]), form_data(aave, liquidation_bonus="0.06")
    )
    proposal = Proposal.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "review:detail", args=[proposal.pk]
    )
    assert proposal.status == S.BACKTESTING
    assert proposal.proposed_version.values["liquidation_bonus"] == "0.06"


def test_a_draft_may_be_saved_with_a_guardrail_breach_and_shows_what_blocks_it(aave, contributor):
    client = client_for(contributor)
    client.post(
        reverse("review:create", args=[aave.slug]), form_data(aave, action="save", liquidation_bonus="0.1")
    )
    proposal = Proposal.objects.get()
    assert proposal.status == S.DRAFT
    page = client.get(reverse("review:detail", args=[proposal.pk])).content.decode()
    assert "This draft cannot be submitted yet" in page and "exceeds the guardrail of 0.02" in page
    client.post(reverse("review:submit", args=[proposal.pk]))
    assert Proposal.objects.get().status == S.DRAFT
    client.post(reverse("review:edit", args=[proposal.pk]), form_data(aave, liquidation_bonus="0.07"))
    assert Proposal.objects.get().status == S.BACKTESTING


def test_drafts_are_private_to_their_author_and_administrators(
    aave, contributor, other_contributor, voter, admin_user
):
    proposal = make_proposal(aave, contributor, ltv="0.8")
    url = reverse("review:detail", args=[proposal.pk])
    assert client_for(contributor).get(url).status_code == 200
    assert client_for(admin_user).get(url).status_code == 200
    assert client_for(voter).get(url).status_code == 404
    assert client_for(other_contributor).get(reverse("review:edit", args=[proposal.pk])).status_code == 404
    assert proposal.title not in client_for(voter).get(reverse("review:list")).content.decode()


def test_a_voter_sees_a_proposal_in_voting_with_its_diff_but_no_actions(aave, contributor, voter):
    proposal = make_proposal(aave, contributor, S.VOTING, liquidation_threshold="0.8466")
    response = client_for(voter).get(reverse("review:detail", args=[proposal.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "0.8466" in html and "+0.0166" in html and "+2.00 %" in html
    assert reverse("review:withdraw", args=[proposal.pk]) not in html
    assert client_for(voter).post(reverse("review:withdraw", args=[proposal.pk])).status_code == 403
    assert Proposal.objects.get(pk=proposal.pk).status == S.VOTING


def test_the_list_filters_by_market_and_status(aave, maker, contributor):
    a = make_proposal(aave, contributor, S.VOTING, ltv="0.8")
    m = make_proposal(maker, contributor, S.BACKTESTING, chop="1.12")
    client = client_for(contributor)
    by_market = client.get(reverse("review:list"), {"market": maker.slug}).context["proposals"]
    assert list(by_market) == [m]
    by_status = client.get(reverse("review:list"), {"status": "voting"}).context["proposals"]
    assert list(by_status) == [a]


def test_state_changes_need_the_csrf_token(aave, contributor):
    proposal = make_proposal(aave, contributor, ltv="0.8")
    client = Client(enforce_csrf_checks=True)
    client.login(username="carol", password=PASSWORD)
    assert client.post(reverse("review:submit", args=[proposal.pk])).status_code == 403
    assert (
        client.post(reverse("review:create", args=[aave.slug]), form_data(aave, ltv="0.8")).status_code == 403
    )
    assert Proposal.objects.get(pk=proposal.pk).status == S.DRAFT


def test_lifecycle_buttons_only_accept_post(aave, contributor):
    proposal = make_proposal(aave, contributor, ltv="0.8")
    assert client_for(contributor).get(reverse("review:submit", args=[proposal.pk])).status_code == 405


def test_only_administrators_open_voting_and_record_execution(aave, contributor, admin_user):
    proposal = make_proposal(aave, contributor, S.BACKTESTING, ltv="0.8")
    assert client_for(contributor).post(reverse("review:open_voting", args=[proposal.pk])).status_code == 403
    client_for(admin_user).post(reverse("review:open_voting", args=[proposal.pk]))
    assert Proposal.objects.get(pk=proposal.pk).status == S.BACKTESTING  # no complete backtest yet
    complete_backtest(proposal)
    client_for(admin_user).post(reverse("review:open_voting", args=[proposal.pk]))
    assert Proposal.objects.get(pk=proposal.pk).status == S.PENDING  # voting opens after the delay
    policy_over_at_once(aave)  # the page records the execution at the clock's time
    exported = make_proposal(aave, contributor, S.EXPORTED, reserve_factor="0.2")
    tx = {"tx_hash": "0x" + "12" * 32}
    assert client_for(contributor).post(reverse("review:execute", args=[exported.pk]), tx).status_code == 403
    client_for(admin_user).post(reverse("review:execute", args=[exported.pk]), tx)
    assert Proposal.objects.get(pk=exported.pk).status == S.EXECUTED
    assert Proposal.objects.get(pk=proposal.pk).status == S.SUPERSEDED


def test_the_rationale_is_rendered_as_markdown_without_scripts(aave, contributor):
    proposal = make_proposal(aave, contributor, ltv="0.8")
    Proposal.objects.filter(pk=proposal.pk).update(
        rationale=("**bold** <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>")
    )
    html = client_for(contributor).get(reverse("review:detail", args=[proposal.pk])).content.decode()
    assert "<strong>bold</strong>" in html
    assert "<script>alert" not in html and "javascript:" not in html and "onerror" not in html


def test_the_market_page_shows_the_live_version_history_and_guardrails(aave, contributor, voter):
    make_proposal(aave, contributor, S.VOTING, ltv="0.8")
    response = client_for(voter).get(reverse("review:market", args=[aave.slug]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Live parameters (v1)" in html and aave.live_version.content_hash in html
    assert "v2" in html and "0x64b761D848206f447Fe2dd461b0c635Ec39EbB27" in html
    assert "liquidation_bonus" in html
    assert "<td>supply_cap</td>" not in html  # parameter names are shown as code
    assert "100 %" in html and "3 days" in html  # relative cap guardrail, minimum delay


def test_any_two_versions_can_be_diffed(compound, contributor, voter):
    make_proposal(compound, contributor, S.VOTING, store_front_price_factor="0.55")
    response = client_for(voter).get(reverse("review:market_diff", args=[compound.slug]), {"a": 1, "b": 2})
    rows = response.context["rows"]
    assert [(r.key, str(r.before), str(r.after)) for r in rows] == [
        ("store_front_price_factor", "0.6", "0.55")
    ]
    assert "-8.33 %" in response.content.decode()
    assert (
        client_for(voter)
        .get(reverse("review:market_diff", args=[compound.slug]), {"a": 1, "b": 9})
        .status_code
        == 404
    )


def test_the_nested_compound_form_has_one_field_per_asset_parameter(compound, contributor):
    client = client_for(contributor)
    html = client.get(reverse("review:create", args=[compound.slug])).content.decode()
    assert "WBTC: Borrow collateral factor (fraction)" in html
    data = form_data(compound)
    data["p__assets__WBTC__borrow_collateral_factor"] = "0.78"
    response = client.post(reverse("review:create", args=[compound.slug]), data)
    assert (
        "WBTC: borrow_collateral_factor must be below liquidate_collateral_factor (0.77); it is 0.78."
        in response.content.decode()
    )


def test_a_stale_draft_page_says_it_must_be_rebased(aave, contributor, admin_user):
    stale = make_proposal(aave, contributor, reserve_factor="0.2")
    winner = make_proposal(aave, contributor, S.EXPORTED, ltv="0.8")
    services.execute_proposal(
        proposal=winner, actor=admin_user, tx_hash="0x" + "cd" * 32, now=winner.timelock_ends_at
    )
    html = client_for(contributor).get(reverse("review:detail", args=[stale.pk])).content.decode()
    assert "the live version changed since this draft was written (then v1, now v3)" in html


def test_the_proposal_page_shows_its_audit_history(aave, contributor, voter):
    proposal = make_proposal(aave, contributor, S.VOTING, ltv="0.8")
    history = client_for(voter).get(reverse("review:detail", args=[proposal.pk])).context["history"]
    assert [(row.action, row.data.get("to")) for row in history] == [
        ("proposal.created", None),
        ("proposal.submitted", None),
        ("proposal.transition", "pending"),
        ("proposal.transition", "voting"),
    ]


def test_the_list_is_paginated_and_keeps_its_filters(aave, contributor):
    for _ in range(51):
        make_proposal(aave, contributor, ltv="0.8")
    client = client_for(contributor)
    first = client.get(reverse("review:list"), {"market": aave.slug})
    assert len(first.context["proposals"]) == 50
    assert f"?market={aave.slug}&page=2" in first.content.decode()
    assert len(client.get(reverse("review:list"), {"market": aave.slug, "page": 2}).context["proposals"]) == 1
