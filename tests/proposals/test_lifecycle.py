"""The proposal lifecycle: every transition allowed or refused by the model, and the services."""

import itertools

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from backtests.models import BacktestRun, RunStatus
from backtests.services import open_voting
from governance.models import AuditLog
from proposals import services
from proposals.models import TRANSITIONS, IllegalTransitionError, Proposal
from review.services import submit_proposal
from tests.proposals.factories import complete_backtest, live_values, make_proposal

S = Proposal.Status
TX = "0x" + "ab" * 32
PAIRS = [(a, b) for a, b in itertools.product(S.values, S.values) if a != b]


def test_the_lifecycle_table_is_the_documented_one():
    assert {k: set(v) for k, v in TRANSITIONS.items() if v} == {
        "draft": {"backtesting", "withdrawn"},
        "backtesting": {"voting", "withdrawn", "superseded"},
        "voting": {"approved", "rejected", "withdrawn", "superseded"},
        "approved": {"exported", "superseded"},
        "exported": {"executed", "superseded"},
    }
    assert {k for k, v in TRANSITIONS.items() if not v} == {"rejected", "executed", "withdrawn", "superseded"}


@pytest.mark.parametrize("before,after", PAIRS)
def test_every_transition_is_allowed_or_refused_by_the_model_layer(aave, contributor, before, after):
    proposal = make_proposal(aave, contributor, ltv="0.8")
    Proposal.objects.filter(pk=proposal.pk).update(status=before)  # put it there, bypassing the rules
    proposal.refresh_from_db()
    proposal.status = after  # a caller that skips set_status and the services
    if after in TRANSITIONS[before]:
        proposal.save()
        assert Proposal.objects.get(pk=proposal.pk).status == after
    else:
        with pytest.raises(IllegalTransitionError):
            proposal.save()
        assert Proposal.objects.get(pk=proposal.pk).status == before


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
    services.execute_proposal(proposal=winner, actor=admin_user, tx_hash=TX)
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
        services.transition_proposal(proposal=proposal, to=S.VOTING, actor=None, backtest=run)
    assert Proposal.objects.get(pk=proposal.pk).status == S.BACKTESTING


def test_open_voting_records_when_voting_started(aave, contributor):
    proposal = make_proposal(aave, contributor, S.BACKTESTING, ltv="0.8")
    complete_backtest(proposal)
    open_voting(proposal=proposal)
    proposal.refresh_from_db()
    assert proposal.status == S.VOTING and proposal.voting_started_at is not None


def test_executing_makes_the_version_live_and_supersedes_the_other_open_proposals(
    aave, contributor, admin_user
):
    winner = make_proposal(aave, contributor, S.EXPORTED, ltv="0.8")
    voting = make_proposal(aave, contributor, S.VOTING, ltv="0.79")
    draft = make_proposal(aave, contributor, ltv="0.78")
    services.execute_proposal(proposal=winner, actor=admin_user, tx_hash=TX)
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
        services.execute_proposal(proposal=proposal, actor=admin_user, tx_hash="0x1234")
    assert Proposal.objects.get(pk=proposal.pk).status == S.EXPORTED
    assert aave.live_version.number == 1


def test_execution_is_refused_before_export(aave, contributor, admin_user):
    proposal = make_proposal(aave, contributor, S.APPROVED, ltv="0.8")
    with pytest.raises(IllegalTransitionError):
        services.execute_proposal(proposal=proposal, actor=admin_user, tx_hash=TX)


def test_a_recently_changed_parameter_waits_for_its_minimum_delay(aave, contributor, admin_user):
    first = make_proposal(aave, contributor, S.EXPORTED, ltv="0.8")
    services.execute_proposal(proposal=first, actor=admin_user, tx_hash=TX)
    again = make_proposal(aave, contributor, ltv="0.79")
    with pytest.raises(
        services.ProposalRefused, match="ltv last changed on .* requires 3 days between changes"
    ):
        submit_proposal(proposal=again, actor=contributor)
