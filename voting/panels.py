"""The voting panel of the proposal page (review.views.proposal_detail includes
templates/voting/_panel.html with this context) and the JSON tally it polls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from governance.audit import decimal_text
from governance.services import can_vote, is_administrator, member_of
from proposals.models import Proposal
from voting import services, signatures
from voting.models import Choice, Outcome, Vote
from voting.tally import CHOICES, Tally

Status = Proposal.Status


def voting_panel(*, proposal: Proposal, user: Any, now: datetime | None = None) -> dict[str, Any]:
    """Everything the panel shows: the window, the live tally, the member's vote and power,
    the frozen outcome and the timelock."""
    now = now or timezone.now()
    if proposal.power_snapshot_id is None:
        return {"proposal": proposal, "scheduled": False}
    member = member_of(user)
    vote = Vote.objects.filter(proposal=proposal, member=member).first() if member else None
    tally = services.tally_of(proposal)
    is_open = (
        proposal.status in (Status.PENDING, Status.VOTING)
        and proposal.voting_opens_at <= now < proposal.closes_at
    )
    return {
        "proposal": proposal,
        "scheduled": True,
        "state": tally_state(proposal, tally, now),
        "is_open": is_open,
        "may_vote": is_open and can_vote(user),
        "may_close": is_administrator(user) and proposal.status in (Status.PENDING, Status.VOTING),
        "member": member,
        "my_vote": vote,
        "my_power": tally.per_voter.get(member.pk) if (tally and member and vote) else None,
        "delegators": list(member.delegators.select_related("user")) if member else [],
        "choices": Choice.choices,
        "outcome": Outcome.objects.filter(proposal=proposal).first(),
        "timelock_passed": proposal.timelock_ends_at is not None and now >= proposal.timelock_ends_at,
        "domain": signatures.vote_domain(),
        "snapshot": proposal.power_snapshot,
    }


def tally_state(proposal: Proposal, tally: Tally | None, now: datetime) -> dict[str, Any]:
    """The live tally as JSON-safe data (the panel's first render and the polled endpoint)."""
    state: dict[str, Any] = {"status": proposal.status, "status_label": proposal.get_status_display()}
    if tally is None:
        return state
    closes_at = proposal.closes_at
    decisive = tally.power["for"] + tally.power["against"]
    state.update(
        {
            "opens_at": _iso(proposal.voting_opens_at),
            "closes_at": _iso(closes_at),
            "scheduled_end": _iso(proposal.voting_ends_at),
            "extended": closes_at != proposal.voting_ends_at,
            "seconds_to_open": max(0, int((proposal.voting_opens_at - now).total_seconds())),
            "seconds_left": max(0, int((closes_at - now).total_seconds())),
            "power": {c: decimal_text(tally.power[c]) for c in CHOICES},
            "count": tally.count,
            "total_power": decimal_text(tally.total_power),
            "quorum_power": decimal_text(tally.quorum_power),
            "quorum_reached": tally.quorum_reached,
            "share_for": None if not decisive else float(tally.power["for"] / decisive),
            "threshold": decimal_text(tally.threshold),
            "signed_power": decimal_text(tally.signed_power),
            "unsigned_power": decimal_text(tally.unsigned_power),
            "outcome_if_closed_now": tally.outcome,
            "decided_at": _iso(proposal.decided_at),
            "timelock_ends_at": _iso(proposal.timelock_ends_at),
            "seconds_to_export": (
                max(0, int((proposal.timelock_ends_at - now).total_seconds()))
                if proposal.timelock_ends_at
                else None
            ),
        }
    )
    return state


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None
