"""A proposal's lifecycle: drafts, submission, the vote's schedule and outcome, withdrawal and
execution (each step atomic and audited)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from governance.models import GovernancePolicy
from governance.services import can_propose, record, take_proposal_snapshot
from proposals.models import (
    OPEN_STATUSES,
    OUTCOME_STATUSES,
    IllegalTransitionError,
    Market,
    Proposal,
)
from proposals.services.common import (
    CompletedBacktest,
    ProposalRefused,
    Status,
    live_for_update,
    lock_proposal,
    require_editor,
)
from proposals.services.versions import create_version, set_live_version, submission_blockers, valid_values

# -- Proposals ----------------------------------------------------------------------------------


def create_draft(
    *, author: AbstractBaseUser, market: Market, title: str, rationale: str, values: Mapping[str, Any]
) -> Proposal:
    """A draft against the market's live version (bounds and invariants must hold)."""
    if not can_propose(author):
        raise PermissionDenied("only risk contributors and administrators write proposals")
    with transaction.atomic():
        live = live_for_update(market)
        version = create_version(
            market=market, values=values, author=author, parent=live, note=f"proposed: {title}"[:200]
        )
        proposal = Proposal.objects.create(
            title=title,
            rationale=rationale,
            author=author,
            market=market,
            live_version=live,
            proposed_version=version,
        )
        record(author, "proposal.created", proposal, {"market": market.slug, "version": version.number})
    return proposal


def update_draft(
    *, proposal: Proposal, actor: AbstractBaseUser, title: str, rationale: str, values: Mapping[str, Any]
) -> Proposal:
    """Edit a draft in place; it is rebased on the current live version."""
    with transaction.atomic():
        proposal = lock_proposal(proposal)
        require_editor(proposal, actor)
        if proposal.status != Status.DRAFT:
            raise ValidationError(f"proposal #{proposal.pk} is {proposal.status}: only drafts can be edited")
        normalized = valid_values(proposal.market, values)
        live = live_for_update(proposal.market)
        version = proposal.proposed_version
        version.values, version.parent = normalized, live
        version.save()
        proposal.title, proposal.rationale, proposal.live_version = title, rationale, live
        proposal.save()
        record(actor, "proposal.updated", proposal, {"version": version.number, "hash": version.content_hash})
    return proposal


def submit_draft(*, proposal: Proposal, actor: AbstractBaseUser, now: datetime | None = None) -> Proposal:
    """Draft -> backtesting, if the version it changes is still live and it breaks no bound, invariant or
    guardrail (ProposalRefused lists the violations). review.services.submit_proposal calls
    this and then starts the backtest, in one transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal = lock_proposal(proposal)
        require_editor(proposal, actor)
        live = live_for_update(proposal.market)
        if proposal.status != Status.DRAFT:
            raise ValidationError(
                f"proposal #{proposal.pk} is {proposal.status}: only a draft can be submitted"
            )
        problems = submission_blockers(proposal=proposal, now=now)
        if problems:
            raise ProposalRefused(problems)
        proposal.set_status(Status.BACKTESTING)
        proposal.submitted_at = now
        proposal.save()
        record(
            actor,
            "proposal.submitted",
            proposal,
            {
                "live": live.number,
                "proposed": proposal.proposed_version.number,
                "hash": proposal.proposed_version.content_hash,
            },
        )
    return proposal


# Moves with a service of their own: voting is scheduled on a complete backtest, opened when
# its delay has passed, and decided by the count of the votes; the export builds what the Safe
# signs; execution records a transaction.
OWN_SERVICE = {
    Status.PENDING: "schedule_voting (on a complete backtest)",
    Status.VOTING: "schedule_voting or start_voting",
    Status.APPROVED: "close_voting: the outcome is computed from the votes",
    Status.REJECTED: "close_voting: the outcome is computed from the votes",
    Status.NO_QUORUM: "close_voting: the outcome is computed from the votes",
    Status.EXPORTED: "export_proposal: the export stores the batch file and hashes, decoded back and compared with the vote",
    Status.EXECUTED: "execute_proposal: execution records a transaction hash and changes the live version",
}


def transition_proposal(
    *,
    proposal: Proposal,
    to: str,
    actor: AbstractBaseUser | None,
    data: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Proposal:
    """The moves without a service of their own (withdrawn, superseded); refused when illegal."""
    if to in OWN_SERVICE:
        raise ValidationError(f"proposal #{proposal.pk}: the move to {to} is made by {OWN_SERVICE[to]}")
    with transaction.atomic():
        proposal = lock_proposal(proposal)
        before = proposal.status
        proposal.set_status(to)
        proposal.save()
        record(actor, "proposal.transition", proposal, {"from": before, "to": to, **(data or {})})
    return proposal


def require_timelock_passed(proposal: Proposal, now: datetime, action: str = "exported") -> None:
    """The export (and the execution after it) waits for the end of the approval's timelock."""
    if proposal.timelock_ends_at is None or now < proposal.timelock_ends_at:
        when = (
            f"{proposal.timelock_ends_at:%Y-%m-%d %H:%M:%S} UTC" if proposal.timelock_ends_at else "unknown"
        )
        raise ValidationError(
            f"proposal #{proposal.pk} is in its timelock until {when}: it can be {action} only after that"
        )


def schedule_voting(
    *,
    proposal: Proposal,
    backtest: CompletedBacktest | None,
    actor: AbstractBaseUser | None,
    now: datetime | None = None,
) -> Proposal:
    """Backtesting -> pending (or straight to voting when the policy's voting delay is 0), on
    the complete run of exactly the proposal's versions. The market's policy is copied onto the
    proposal, a power snapshot is taken for it (governance.services.take_proposal_snapshot:
    the power and delegations of this moment), and its window is fixed:
    ``voting_opens_at = now + voting_delay``, ``voting_ends_at = voting_opens_at + voting_period``."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal = lock_proposal(proposal)
        if proposal.status != Status.BACKTESTING:
            raise IllegalTransitionError(
                f"proposal #{proposal.pk} is {proposal.status}: voting is scheduled only after its backtest"
            )
        _require_complete_backtest(proposal, backtest)
        policy = GovernancePolicy.objects.filter(market_id=proposal.market_id).first()
        if policy is None:
            raise ValidationError(
                f"{proposal.market} has no governance policy: an administrator must set one"
            )
        for name, value in policy.frozen_copy().items():
            setattr(proposal, name, value)
        proposal.power_snapshot = take_proposal_snapshot(label=f"proposal #{proposal.pk}", actor=actor)
        proposal.voting_opens_at = now + policy.voting_delay
        proposal.voting_ends_at = proposal.voting_opens_at + policy.voting_period
        to = Status.VOTING if policy.voting_delay <= timedelta(0) else Status.PENDING
        proposal.set_status(to)
        if to == Status.VOTING:
            proposal.voting_started_at = now
        proposal.save()
        record(
            actor,
            "proposal.transition",
            proposal,
            {
                "from": Status.BACKTESTING,
                "to": to,
                "run": getattr(backtest, "pk", None),
                "policy": policy.frozen_copy(),
                "snapshot": proposal.power_snapshot_id,
                "snapshot_hash": proposal.power_snapshot.content_hash,
                "total_power": proposal.power_snapshot.total_power,
                "opens_at": proposal.voting_opens_at,
                "ends_at": proposal.voting_ends_at,
            },
        )
    return proposal


def start_voting(
    *, proposal: Proposal, actor: AbstractBaseUser | None, now: datetime | None = None
) -> Proposal:
    """Pending -> voting once ``voting_opens_at`` has come (the beat task and a vote cast do it)."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal = lock_proposal(proposal)
        if proposal.status != Status.PENDING:
            raise IllegalTransitionError(f"proposal #{proposal.pk} is {proposal.status}, not pending")
        if now < proposal.voting_opens_at:
            raise ValidationError(
                f"voting on proposal #{proposal.pk} opens at {proposal.voting_opens_at:%Y-%m-%d %H:%M:%S} UTC"
            )
        proposal.set_status(Status.VOTING)
        proposal.voting_started_at = now
        proposal.save()
        record(actor, "proposal.transition", proposal, {"from": Status.PENDING, "to": Status.VOTING})
    return proposal


def record_quorum_reached(*, proposal: Proposal, at: datetime) -> Proposal:
    """The first moment the votes reached quorum (set once; it may extend the vote). Called by
    voting.services.cast_vote with the proposal already locked."""
    if proposal.quorum_reached_at is None:
        proposal.quorum_reached_at = at
        proposal.save(update_fields=["quorum_reached_at", "updated_at"])
    return proposal


def decide_proposal(
    *,
    proposal: Proposal,
    outcome: str,
    actor: AbstractBaseUser | None,
    data: Mapping[str, Any],
    now: datetime | None = None,
) -> Proposal:
    """Voting -> approved, rejected or no quorum, at or after ``closes_at``: ``decided_at`` is
    set and, for an approval, ``timelock_ends_at = decided_at + timelock`` (the export refuses
    before it). Called once by voting.services.close_voting, which computed ``outcome``."""
    now = now or timezone.now()
    if outcome not in OUTCOME_STATUSES:
        raise ValidationError(f"{outcome!r} is not an outcome; expected one of {sorted(OUTCOME_STATUSES)}")
    with transaction.atomic():
        proposal = lock_proposal(proposal)
        if proposal.status != Status.VOTING:
            raise IllegalTransitionError(f"proposal #{proposal.pk} is {proposal.status}, not voting")
        if now < proposal.closes_at:
            raise ValidationError(
                f"voting on proposal #{proposal.pk} ends at {proposal.closes_at:%Y-%m-%d %H:%M:%S} UTC"
            )
        proposal.set_status(outcome)
        proposal.decided_at = now
        if outcome == Status.APPROVED:
            proposal.timelock_ends_at = now + proposal.timelock
        proposal.save()
        record(
            actor,
            "proposal.decided",
            proposal,
            {"from": Status.VOTING, "to": outcome, "timelock_ends_at": proposal.timelock_ends_at, **data},
        )
    return proposal


def _require_complete_backtest(proposal: Proposal, backtest: CompletedBacktest | None) -> None:
    """Voters never vote on a proposal whose backtest is missing, running, failed or cancelled:
    voting opens only on a complete run of exactly the proposal's live and proposed versions."""
    if not (
        backtest is not None
        and backtest.is_complete
        and backtest.proposal_id == proposal.pk
        and backtest.proposed_version_id == proposal.proposed_version_id
        and backtest.live_version_id == proposal.live_version_id
    ):
        raise ValidationError(
            f"proposal #{proposal.pk} has no complete backtest run: voting opens when its backtest is complete"
        )


def withdraw_proposal(*, proposal: Proposal, actor: AbstractBaseUser) -> Proposal:
    require_editor(proposal, actor)
    return transition_proposal(proposal=proposal, to=Status.WITHDRAWN, actor=actor)


def execute_proposal(
    *, proposal: Proposal, actor: AbstractBaseUser | None, tx_hash: str, now: datetime | None = None
) -> Proposal:
    """Exported -> executed: record the transaction hash, make the proposed version live, and
    supersede every other open proposal of the market (the version they change is no longer live).
    Refused unless the proposal was exported (a stored Export: what the Safe signed) and its
    timelock has passed, and while the version it changes is still live."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal = lock_proposal(proposal)
        live = live_for_update(proposal.market)
        signed = proposal.exports.first()
        if proposal.status != Status.EXPORTED or signed is None:
            raise IllegalTransitionError(
                f"proposal #{proposal.pk} is {proposal.get_status_display().lower()}: only an exported "
                "proposal is executed (its export holds the batch file and the hashes the Safe signs)"
            )
        require_timelock_passed(proposal, now, action="executed")
        proposal.set_status(Status.EXECUTED)
        if live.pk != proposal.live_version_id:
            raise ValidationError(
                f"proposal #{proposal.pk} was written against v{proposal.live_version.number} "
                f"but v{live.number} is live: it cannot be executed"
            )
        proposal.tx_hash, proposal.executed_at = tx_hash.strip(), now
        proposal.save()
        record(
            actor,
            "proposal.transition",
            proposal,
            {
                "from": Status.EXPORTED,
                "to": Status.EXECUTED,
                "tx_hash": proposal.tx_hash,
                "export": signed.number,
                "nonce": signed.nonce,
                "safe_tx_hash": signed.safe_tx_hash,
            },
        )
        set_live_version(version=proposal.proposed_version, actor=actor, now=now)
        others = (
            Proposal.objects.select_for_update()
            .filter(market=proposal.market, status__in=list(OPEN_STATUSES))
            .exclude(pk=proposal.pk)
        )
        for other in others:
            was = other.status
            other.set_status(Status.SUPERSEDED)
            other.superseded_by = proposal
            other.save()
            record(
                actor, "proposal.transition", other, {"from": was, "to": Status.SUPERSEDED, "by": proposal.pk}
            )
    return proposal
