"""Governance: roles, guardrail validation, policy defaults, the append-only audit log."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError

from governance.models import AuditLog, Guardrail, Member
from governance.services import can_propose, is_administrator, record
from tests.proposals.factories import make_proposal


def test_roles_decide_who_may_propose(contributor, voter, admin_user):
    assert [can_propose(u) for u in (contributor, voter, admin_user, AnonymousUser())] == [
        True,
        False,
        True,
        False,
    ]
    assert [is_administrator(u) for u in (contributor, voter, admin_user)] == [False, False, True]


def test_record_writes_who_did_what_to_which_object_with_json_safe_data(aave, contributor):
    row = record(contributor, "test.action", aave, {"value": Decimal("0.83"), "delay": timedelta(days=1)})
    row.refresh_from_db()
    assert (row.actor, row.action, row.object_id, row.object_repr) == (
        contributor,
        "test.action",
        str(aave.pk),
        str(aave),
    )
    assert row.content_type.model == "market"
    assert row.data == {"value": "0.83", "delay": "P1DT00H00M00S"}


def test_the_audit_log_is_append_only(aave):
    row = record(None, "test.action", aave)
    row.action = "rewritten"
    with pytest.raises(ValidationError):
        row.save()
    with pytest.raises(ValidationError):
        row.delete()


def test_every_governance_action_leaves_an_audit_row(aave, contributor):
    make_proposal(aave, contributor, "voting", ltv="0.8")
    actions = list(AuditLog.objects.order_by("id").values_list("action", flat=True))
    assert actions == [
        "version.created",
        "version.live_changed",
        "version.created",
        "proposal.created",
        "proposal.submitted",
        "proposal.transition",
        "proposal.transition",
    ]


def test_a_guardrail_must_name_a_parameter_of_the_markets_mechanism(aave, maker):
    with pytest.raises(ValidationError, match="'chop' is not a parameter of aave-v3"):
        Guardrail(market=aave, parameter="chop", max_change=Decimal("0.1")).full_clean()
    Guardrail(market=maker, parameter="tip", max_change=Decimal("0.1")).full_clean()


def test_a_guardrails_kind_follows_the_parameters_unit(aave):
    assert Guardrail.objects.get(market=aave, parameter="ltv").kind == "absolute"
    assert Guardrail.objects.get(market=aave, parameter="supply_cap").kind == "relative"


def test_the_governance_policy_has_sane_defaults(aave):
    policy = aave.policy
    assert (policy.quorum, policy.approval_threshold, policy.voting_period) == (
        Decimal("0.2"),
        Decimal("0.5"),
        timedelta(days=3),
    )


def test_a_member_without_profile_but_staff_counts_as_administrator(db, django_user_model):
    staff = django_user_model.objects.create_user(username="root", password="x", is_staff=True)
    assert is_administrator(staff) and can_propose(staff)
    assert not Member.objects.filter(user=staff).exists()
