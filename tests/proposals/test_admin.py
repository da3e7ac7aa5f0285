"""The Django admin: administrators only; locked versions are read-only and cannot be deleted."""

from decimal import Decimal

from django.test import Client
from django.urls import reverse

from governance.models import AuditLog, Guardrail
from proposals import services
from proposals.models import Market, ParameterSetVersion, Proposal
from tests.proposals.factories import PASSWORD, complete_backtest, make_proposal


def admin_client(user) -> Client:
    client = Client()
    client.login(username=user.username, password=PASSWORD)
    return client


def test_non_staff_members_are_kept_out_of_the_admin(contributor):
    response = admin_client(contributor).get(reverse("admin:index"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_every_admin_list_opens_for_an_administrator(admin_user, aave, contributor):
    make_proposal(aave, contributor, ltv="0.8")
    client = admin_client(admin_user)
    for name in [
        "proposals_market",
        "proposals_parametersetversion",
        "proposals_proposal",
        "auth_user",
        "governance_guardrail",
        "governance_governancepolicy",
        "governance_auditlog",
        "governance_member",
    ]:
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name
    assert client.get(reverse("admin:proposals_market_change", args=[aave.pk])).status_code == 200
    assert client.get(reverse("admin:auth_user_change", args=[contributor.pk])).status_code == 200


def test_a_live_version_is_read_only_in_the_admin_and_cannot_be_deleted(admin_user, aave):
    live = aave.live_version
    client = admin_client(admin_user)
    page = client.get(reverse("admin:proposals_parametersetversion_change", args=[live.pk]))
    assert page.status_code == 200 and 'name="values"' not in page.content.decode()
    assert (
        client.get(reverse("admin:proposals_parametersetversion_delete", args=[live.pk])).status_code == 403
    )
    client.post(
        reverse("admin:proposals_parametersetversion_changelist"),
        {"action": "delete_selected", "_selected_action": [live.pk], "post": "yes"},
    )
    assert ParameterSetVersion.objects.filter(pk=live.pk).exists()


def test_an_administrator_adds_a_validated_version(admin_user, aave):
    client = admin_client(admin_user)
    url = reverse("admin:proposals_parametersetversion_add")
    bad = dict(aave.live_version.values, ltv="0.9")
    response = client.post(url, {"market": aave.pk, "values": __import__("json").dumps(bad), "note": ""})
    assert "ltv must be at most liquidation_threshold" in response.content.decode()
    good = dict(aave.live_version.values, ltv="0.8")
    client.post(url, {"market": aave.pk, "values": __import__("json").dumps(good), "note": "by hand"})
    assert aave.versions.get(number=2).values["ltv"] == "0.8"


def test_proposals_move_in_the_admin_only_through_legal_transitions(admin_user, aave, contributor):
    proposal = make_proposal(aave, contributor, Proposal.Status.BACKTESTING, ltv="0.8")
    client = admin_client(admin_user)
    url = reverse("admin:proposals_proposal_changelist")
    client.post(url, {"action": "open_voting", "_selected_action": [proposal.pk]})
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.BACKTESTING  # no complete backtest
    complete_backtest(proposal)
    client.post(url, {"action": "open_voting", "_selected_action": [proposal.pk]})
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.PENDING  # the policy's delay
    response = client.post(
        url, {"action": "close_voting_now", "_selected_action": [proposal.pk]}, follow=True
    )
    assert "Voting opens at" in response.content.decode()
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.PENDING


def test_the_admin_has_no_action_that_approves_or_rejects_by_hand(admin_user, aave, contributor):
    proposal = make_proposal(aave, contributor, Proposal.Status.VOTING, ltv="0.8")
    client = admin_client(admin_user)
    url = reverse("admin:proposals_proposal_changelist")
    page = client.get(url).content.decode()
    assert 'value="approve"' not in page and 'value="reject"' not in page
    assert 'value="close_voting_now"' in page
    client.post(url, {"action": "approve", "_selected_action": [proposal.pk]})
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.VOTING


def test_a_drafts_version_is_edited_on_the_site_not_in_the_admin(admin_user, aave, contributor):
    proposal = make_proposal(aave, contributor, ltv="0.8")
    page = admin_client(admin_user).get(
        reverse("admin:proposals_parametersetversion_change", args=[proposal.proposed_version_id])
    )
    assert page.status_code == 200 and 'name="values"' not in page.content.decode()


def test_an_unused_version_stays_editable_in_the_admin(admin_user, aave):
    v = services.create_version(
        market=aave, values=dict(aave.live_version.values, ltv="0.8"), author=None, parent=None
    )
    page = admin_client(admin_user).get(reverse("admin:proposals_parametersetversion_change", args=[v.pk]))
    assert 'name="values"' in page.content.decode()


def test_guardrail_and_policy_changes_in_the_admin_are_audited(admin_user, aave):
    client = admin_client(admin_user)
    guardrail = Guardrail.objects.get(market=aave, parameter="ltv")
    response = client.post(
        reverse("admin:governance_guardrail_change", args=[guardrail.pk]),
        {"market": aave.pk, "parameter": "ltv", "max_change": "0.03", "min_delay": "3 00:00:00"},
    )
    assert response.status_code == 302
    row = AuditLog.objects.get(action="guardrail.saved")
    assert (row.actor, row.data["parameter"], Decimal(row.data["max_change"])) == (
        admin_user,
        "ltv",
        Decimal("0.03"),
    )
    client.post(reverse("admin:governance_guardrail_delete", args=[guardrail.pk]), {"post": "yes"})
    assert AuditLog.objects.filter(action="guardrail.deleted", data__parameter="ltv").exists()
    assert not Guardrail.objects.filter(pk=guardrail.pk).exists()


def test_the_admin_refuses_a_market_whose_addresses_the_export_could_not_use(admin_user):
    response = admin_client(admin_user).post(
        reverse("admin:proposals_market_add"),
        {
            "slug": "aave-x",
            "name": "Aave X",
            "mechanism": "aave-v3",
            "chain_id": 1,
            "contracts": '{"pool_configurator": "0x64b761D848206f447Fe2dd461b0c635Ec39EbB28"}',
            "target": '{"asset": "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"}',
            "description": "",
            "policy-TOTAL_FORMS": 0,
            "policy-INITIAL_FORMS": 0,
            "guardrails-TOTAL_FORMS": 0,
            "guardrails-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert "has mixed case with a wrong EIP-55 checksum" in response.content.decode()
    assert not Market.objects.filter(slug="aave-x").exists()
