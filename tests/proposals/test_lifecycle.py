"""The proposal lifecycle: every transition allowed or refused by the model, and the services."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from backtests.models import BacktestRun, RunStatus
from backtests.services import open_voting
from governance.models import AuditLog, GovernancePolicy
from governance.services import take_proposal_snapshot
from proposals import services
from proposals.models import TRANSITIONS, Export, IllegalTransitionError, Proposal
from review.services import submit_proposal
from tests.proposals.factories import complete_backtest, live_values, make_proposal

S = Proposal.Status
TX = "0x" + "ab" * 32
PAIRS = [(a, b) for a, b in itertools.product(S.values, S.values) if a != b]


def test_the_lifecycle_table_is_the_documented_one():
    assert {k: set(v) for k, v in TRANSITIONS.items() if v} == {
        "draft": {"backtesting", "withdrawn"},
        "backtesting": {"pending", "voting", "withdrawn", "superseded"},
        "pending": {"voting", "withdrawn", "superseded"},
        "voting": {"approved", "rejected", "no_quorum", "withdrawn", "superseded"},
        "approved": {"exported", "superseded"},
        "exported": {"executed", "superseded"},
    }
    assert {k for k, v in TRANSITIONS.items() if not v} == {
        "rejected",
        "no_quorum",
        "executed",
        "withdrawn",
        "superseded",
    }


@pytest.mark.parametrize("before,after", PAIRS)
def test_every_transition_is_allowed_or_refused_by_the_model_layer(aave, contributor, before, after):
    proposal = make_proposal(aave, contributor, ltv="0.8")
    Proposal.objects.filter(pk=proposal.pk).update(status=before)  # put it there, bypassing the rules
    proposal.refresh_from_db()
    proposal.status = after  # a caller that skips set_status and the services
    if after in TRANSITIONS[before]:
        give_what_the_status_needs(proposal, after)
        proposal.save()
        assert Proposal.objects.get(pk=proposal.pk).status == after
    else:
        with pytest.raises(IllegalTransitionError):
            proposal.save()
        assert Proposal.objects.get(pk=proposal.pk).status == before


def give_what_the_status_needs(proposal: Proposal, status: str) -> None:
    """Voting needs its window and snapshot; an outcome its decision time; approval its timelock."""
    now = timezone.now()
    if status in (S.PENDING, S.VOTING):
        proposal.power_snapshot = take_proposal_snapshot(label="test")
        proposal.voting_opens_at, proposal.voting_ends_at = now, now + timedelta(days=3)
    if status in (S.APPROVED, S.REJECTED, S.NO_QUORUM):
        proposal.decided_at = now
    if status == S.APPROVED:
        proposal.timelock_ends_at = now + timedelta(days=1)
    if status == S.EXPORTED:
        store_an_export(proposal)


def store_an_export(proposal: Proposal) -> Export:
    """An Export row as export_proposal stores it (the contents do not matter here)."""
    return Export.objects.create(
        proposal=proposal,
        live_version_id=proposal.live_version_id,
        version_id=proposal.proposed_version_id,
        adapter="aave-v3",
        safe="0x" + "11" * 20,
        safe_version="1.3.0",
        chain_id=1,
        nonce=0,
        tx_to="0x" + "22" * 20,
        tx_operation=0,
        domain_hash="0x" + "00" * 32,
        message_hash="0x" + "00" * 32,
        safe_tx_hash="0x" + "00" * 32,
        calls=[],
        rows=[],
        batch="{}",
        typed_data="{}",
        report="",
        created_at=timezone.now(),
    )


@pytest.mark.parametrize(
    "status,message",
    [
        (S.PENDING, "without its power snapshot and voting window"),
        (S.VOTING, "without its power snapshot and voting window"),
        (S.APPROVED, "without a decision time"),
        (S.REJECTED, "without a decision time"),
        (S.NO_QUORUM, "without a decision time"),
        (S.EXPORTED, "without its stored export"),
    ],
)
def test_the_model_refuses_a_status_without_what_it_needs(aave, contributor, status, message):
    proposal = make_proposal(aave, contributor, ltv="0.8")
    before = {S.PENDING: S.BACKTESTING, S.VOTING: S.PENDING, S.EXPORTED: S.APPROVED}.get(status, S.VOTING)
    Proposal.objects.filter(pk=proposal.pk).update(status=before)
    proposal.refresh_from_db()
    proposal.status = status
    with pytest.raises(IllegalTransitionError, match=message):
        proposal.save()


def test_an_approval_needs_the_end_of_its_timelock(aave, contributor):
    proposal = make_proposal(aave, contributor, S.VOTING, ltv="0.8")
    proposal.status, proposal.decided_at = S.APPROVED, timezone.now()
    with pytest.raises(IllegalTransitionError, match="without the end of its timelock"):
        proposal.save()


def test_the_votes_rules_and_times_are_written_once(aave, contributor):
    proposal = make_proposal(aave, contributor, S.VOTING, ltv="0.8")
    proposal.quorum = Decimal("0.01")
    with pytest.raises(IllegalTransitionError, match="quorum is fixed once set"):
        proposal.save()
    proposal.refresh_from_db()
    proposal.voting_ends_at += timedelta(days=30)
    with pytest.raises(IllegalTransitionError, match="voting_ends_at is fixed once set"):
        proposal.save()


def test_set_status_names_where_it_may_go(aave, contributor):
    proposal = make_proposal(aave, contributor)
    with pytest.raises(
        IllegalTransitionError,
        match="cannot go from draft to voting; allowed from draft: backtesting, withdrawn",
    ):
        proposal.set_status(S.VOTING)


def test_submitting_a_valid_draft_moves_it_to_backtesting_and_audits(aave, contributor):
    proposal = make_proposal(aave, contributor, liquidation_threshold="0.84")
    submit_proposal(proposal=proposal, actor=contributor)
    proposal.refresh_from_db()
    assert proposal.status == S.BACKTESTING and proposal.submitted_at is not None
    assert AuditLog.objects.filter(
        action="proposal.submitted", object_id=str(proposal.pk), actor=contributor
    ).exists()


def test_submitting_starts_the_backtest_and_queues_it_when_the_submission_commits(
    aave, contributor, django_capture_on_commit_callbacks
):
    proposal = make_proposal(aave, contributor, ltv="0.8")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submit_proposal(proposal=proposal, actor=contributor)
    run = BacktestRun.objects.get(proposal=proposal)
    assert (run.status, run.live_version_id, run.proposed_version_id) == (
        RunStatus.PENDING,
        proposal.live_version_id,
        proposal.proposed_version_id,
    )
    assert len(callbacks) == 1  # the dispatch task, sent once the submission commits


def test_a_draft_breaking_a_guardrail_cannot_be_submitted(aave, contributor):
    proposal = make_proposal(aave, contributor, liquidation_bonus="0.1")
    with pytest.raises(services.ProposalRefused) as exc:
        submit_proposal(proposal=proposal, actor=contributor)
    assert [v.key for v in exc.value.violations] == ["liquidation_bonus"]
    assert "exceeds the guardrail of 0.02 (absolute)" in exc.value.violations[0].message
    assert Proposal.objects.get(pk=proposal.pk).status == S.DRAFT


def test_a_draft_whose_base_is_no_longer_live_must_be_rebased(aave, contributor, admin_user):
    stale = make_proposal(aave, contributor, reserve_factor="0.2")
    winner = make_proposal(aave, contributor, S.EXPORTED, ltv="0.8")
    services.execute_proposal(proposal=winner, actor=admin_user, tx_hash=TX, now=winner.timelock_ends_at)
    with pytest.raises(
        services.ProposalRefused, match="the live version changed since this draft was written"
    ):
        submit_proposal(proposal=stale, actor=contributor)
    services.update_draft(
        proposal=stale,
        actor=contributor,
        title="t",
        rationale="r",
        values=live_values(aave, reserve_factor="0.2"),
    )
    stale.refresh_from_db()
    assert stale.live_version_id == winner.proposed_version_id
    submit_proposal(proposal=stale, actor=contributor)
    assert Proposal.objects.get(pk=stale.pk).status == S.BACKTESTING


def test_a_second_submit_is_refused(aave, contributor):
    proposal = make_proposal(aave, contributor, S.BACKTESTING, ltv="0.8")
    with pytest.raises(ValidationError, match="only a draft can be submitted"):
        submit_proposal(proposal=proposal, actor=contributor)


def test_a_voter_cannot_write_a_proposal(aave, voter):
    with pytest.raises(PermissionDenied):
        services.create_draft(author=voter, market=aave, title="t", rationale="r", values=live_values(aave))


def test_only_the_author_or_an_administrator_submits_or_withdraws(
    aave, contributor, other_contributor, admin_user
):
    proposal = make_proposal(aave, contributor, ltv="0.8")
    with pytest.raises(PermissionDenied):
        submit_proposal(proposal=proposal, actor=other_contributor)
    with pytest.raises(PermissionDenied):
        services.withdraw_proposal(proposal=proposal, actor=other_contributor)
    services.withdraw_proposal(proposal=proposal, actor=admin_user)
    assert Proposal.objects.get(pk=proposal.pk).status == S.WITHDRAWN


def test_a_submitted_proposal_cannot_be_edited_even_bypassing_the_services(aave, contributor):
    proposal = make_proposal(aave, contributor, S.VOTING, ltv="0.8")
    proposal.title = "Something else"
    with pytest.raises(IllegalTransitionError, match="has left draft; refused change of title"):
        proposal.save()
    with pytest.raises(ValidationError, match="only drafts can be edited"):
        services.update_draft(
            proposal=proposal, actor=contributor, title="x", rationale="y", values=live_values(aave)
        )


def test_voting_does_not_open_before_the_backtest_is_complete(aave, contributor):
    proposal = make_proposal(aave, contributor, S.BACKTESTING, ltv="0.8")
    with pytest.raises(ValidationError, match="no complete backtest run"):
        open_voting(proposal=proposal)
    run = complete_backtest(proposal)
    run.status = RunStatus.RUNNING
    run.save()
    with pytest.raises(ValidationError, match="no complete backtest run"):
        open_voting(proposal=proposal)
    with pytest.raises(ValidationError, match="no complete backtest run"):
        services.schedule_voting(proposal=proposal, actor=None, backtest=run)
    with pytest.raises(ValidationError, match="made by schedule_voting"):
        services.transition_proposal(proposal=proposal, to=S.VOTING, actor=None)
    assert Proposal.objects.get(pk=proposal.pk).status == S.BACKTESTING


def test_a_complete_backtest_schedules_voting_after_the_policys_delay(aave, contributor):
    proposal = make_proposal(aave, contributor, S.BACKTESTING, ltv="0.8")
    complete_backtest(proposal)
    before = timezone.now()
    open_voting(proposal=proposal)
    proposal.refresh_from_db()
    policy = aave.policy
    assert proposal.status == S.PENDING and proposal.voting_started_at is None
    assert before + policy.voting_delay <= proposal.voting_opens_at <= timezone.now() + policy.voting_delay
    assert proposal.voting_ends_at == proposal.voting_opens_at + policy.voting_period
    assert (proposal.quorum, proposal.approval_threshold, proposal.timelock) == (
        policy.quorum,
        policy.approval_threshold,
        policy.timelock,
    )
    with pytest.raises(ValidationError, match="opens at"):
        services.start_voting(
            proposal=proposal, actor=None, now=proposal.voting_opens_at - timedelta(seconds=1)
        )
    services.start_voting(proposal=proposal, actor=None, now=proposal.voting_opens_at)
    proposal.refresh_from_db()
    assert proposal.status == S.VOTING and proposal.voting_started_at == proposal.voting_opens_at


def test_a_zero_voting_delay_opens_the_vote_at_once(aave, contributor):
    GovernancePolicy.objects.filter(market=aave).update(voting_delay=timedelta(0))
    proposal = make_proposal(aave, contributor, S.BACKTESTING, ltv="0.8")
    complete_backtest(proposal)
    open_voting(proposal=proposal)
    proposal.refresh_from_db()
    assert proposal.status == S.VOTING and proposal.voting_started_at == proposal.voting_opens_at


def test_a_later_policy_edit_does_not_reach_a_running_vote(aave, contributor):
    proposal = make_proposal(aave, contributor, S.VOTING, ltv="0.8")
    GovernancePolicy.objects.filter(market=aave).update(quorum=Decimal("0.9"), timelock=timedelta(days=30))
    proposal.refresh_from_db()
    assert (proposal.quorum, proposal.timelock) == (Decimal("0.2"), timedelta(days=1))


def test_the_export_waits_for_the_end_of_the_timelock(aave, contributor):
    proposal = make_proposal(aave, contributor, S.APPROVED, ltv="0.8")
    assert proposal.timelock_ends_at == proposal.decided_at + proposal.timelock
    with pytest.raises(ValidationError, match="is in its timelock until"):
        services.export_proposal(
            proposal=proposal, actor=None, nonce=0, now=proposal.timelock_ends_at - timedelta(seconds=1)
        )
    assert Proposal.objects.get(pk=proposal.pk).status == S.APPROVED
    services.export_proposal(proposal=proposal, actor=None, nonce=0, now=proposal.timelock_ends_at)
    assert Proposal.objects.get(pk=proposal.pk).status == S.EXPORTED


def test_only_the_export_moves_a_proposal_to_exported(aave, contributor):
    proposal = make_proposal(aave, contributor, S.APPROVED, ltv="0.8")
    with pytest.raises(ValidationError, match="the move to exported is made by export_proposal"):
        services.transition_proposal(proposal=proposal, to=S.EXPORTED, actor=None)
    assert Proposal.objects.get(pk=proposal.pk).status == S.APPROVED


@pytest.mark.parametrize("to", [S.APPROVED, S.REJECTED, S.NO_QUORUM])
def test_no_service_approves_or_rejects_by_hand(aave, contributor, to):
    proposal = make_proposal(aave, contributor, S.VOTING, ltv="0.8")
    with pytest.raises(ValidationError, match="computed from the votes"):
        services.transition_proposal(proposal=proposal, to=to, actor=None)
    assert Proposal.objects.get(pk=proposal.pk).status == S.VOTING


def test_executing_makes_the_version_live_and_supersedes_the_other_open_proposals(
    aave, contributor, admin_user
):
    winner = make_proposal(aave, contributor, S.EXPORTED, ltv="0.8")
    voting = make_proposal(aave, contributor, S.VOTING, ltv="0.79")
    draft = make_proposal(aave, contributor, ltv="0.78")
    services.execute_proposal(proposal=winner, actor=admin_user, tx_hash=TX, now=winner.timelock_ends_at)
    winner.refresh_from_db(), voting.refresh_from_db(), draft.refresh_from_db()
    assert (winner.status, winner.tx_hash) == (S.EXECUTED, TX)
    assert aave.live_version == winner.proposed_version
    assert (voting.status, voting.superseded_by) == (S.SUPERSEDED, winner)
    assert draft.status == S.DRAFT
    assert AuditLog.objects.filter(
        action="version.live_changed", data__to=winner.proposed_version.number
    ).exists()


def test_execution_needs_a_well_formed_transaction_hash(aave, contributor, admin_user):
    proposal = make_proposal(aave, contributor, S.EXPORTED, ltv="0.8")
    with pytest.raises(ValidationError, match="0x and 64 hex digits"):
        services.execute_proposal(
            proposal=proposal, actor=admin_user, tx_hash="0x1234", now=proposal.timelock_ends_at
        )
    assert Proposal.objects.get(pk=proposal.pk).status == S.EXPORTED
    assert aave.live_version.number == 1


def test_execution_is_refused_before_export(aave, contributor, admin_user):
    proposal = make_proposal(aave, contributor, S.APPROVED, ltv="0.8")
    with pytest.raises(IllegalTransitionError):
        services.execute_proposal(proposal=proposal, actor=admin_user, tx_hash=TX)


def test_a_recently_changed_parameter_waits_for_its_minimum_delay(aave, contributor, admin_user):
    first = make_proposal(aave, contributor, S.EXPORTED, ltv="0.8")
    services.execute_proposal(proposal=first, actor=admin_user, tx_hash=TX, now=first.timelock_ends_at)
    again = make_proposal(aave, contributor, ltv="0.79")
    with pytest.raises(
        services.ProposalRefused, match="ltv last changed on .* requires 3 days between changes"
    ):
        submit_proposal(proposal=again, actor=contributor)
