"""The count of a vote: pure functions of the proposal's power snapshot, its votes and the
policy copied onto it (no database).

Rules (docs/voting.md):
- A holder's power goes to their own vote if they voted; otherwise, if the snapshot records a
  delegate for them and the delegate voted, to the delegate's vote (one level); otherwise it
  is not cast. A delegator's direct vote overrides the delegation for their own power.
- Quorum: For + Abstain >= quorum x total power, the total being the snapshot's whole power
  (every address in it, linked to a member or not): OpenZeppelin GovernorCountingSimple's
  ``_quorumReached`` (``quorum(timepoint) <= forVotes + abstainVotes``).
- Approval: For / (For + Against) strictly greater than the threshold, computed without
  division as ``For > threshold x (For + Against)``; no For and no Against is not approved.
- Outcome: no quorum if quorum is not reached; else approved or rejected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from governance.audit import decimal_text

CHOICES = ("for", "against", "abstain")


@dataclass(frozen=True)
class Holder:
    member_id: int | None
    power: Decimal
    delegate_id: int | None = None


@dataclass(frozen=True)
class Cast:
    member_id: int
    choice: str
    signed: bool


@dataclass(frozen=True)
class Tally:
    power: dict[str, Decimal]
    count: dict[str, int]
    total_power: Decimal
    quorum_power: Decimal
    signed_power: Decimal
    unsigned_power: Decimal
    delegated_power: Decimal
    threshold: Decimal
    per_voter: dict[int, Decimal] = field(default_factory=dict)

    @property
    def quorum_reached(self) -> bool:
        return self.power["for"] + self.power["abstain"] >= self.quorum_power

    @property
    def approved(self) -> bool:
        decisive = self.power["for"] + self.power["against"]
        return self.quorum_reached and decisive > 0 and self.power["for"] > self.threshold * decisive

    @property
    def outcome(self) -> str:
        if not self.quorum_reached:
            return "no_quorum"
        return "approved" if self.approved else "rejected"

    @property
    def cast_power(self) -> Decimal:
        return sum(self.power.values(), Decimal(0))

    def share_for(self) -> Decimal | None:
        decisive = self.power["for"] + self.power["against"]
        return self.power["for"] / decisive if decisive else None

    def document(self) -> dict[str, Any]:
        """JSON-safe (exact decimals as strings): stored in the outcome and the audit log."""
        return {
            "power": {c: decimal_text(self.power[c]) for c in CHOICES},
            "count": dict(self.count),
            "total_power": decimal_text(self.total_power),
            "quorum_power": decimal_text(self.quorum_power),
            "quorum_reached": self.quorum_reached,
            "signed_power": decimal_text(self.signed_power),
            "unsigned_power": decimal_text(self.unsigned_power),
            "delegated_power": decimal_text(self.delegated_power),
            "threshold": decimal_text(self.threshold),
            "outcome": self.outcome,
        }


def count_votes(
    holders: Iterable[Holder], votes: Iterable[Cast], *, quorum: Decimal, threshold: Decimal
) -> Tally:
    """The tally of ``votes`` against the snapshot's ``holders`` (exact decimals)."""
    by_member = {v.member_id: v for v in votes}
    power = dict.fromkeys(CHOICES, Decimal(0))
    count = {c: sum(1 for v in by_member.values() if v.choice == c) for c in CHOICES}
    total = signed = unsigned = delegated = Decimal(0)
    per_voter = dict.fromkeys(by_member, Decimal(0))
    for holder in holders:
        total += holder.power
        vote = by_member.get(holder.member_id) if holder.member_id is not None else None
        via_delegate = False
        if vote is None and holder.delegate_id is not None:
            vote, via_delegate = by_member.get(holder.delegate_id), True
        if vote is None:
            continue
        power[vote.choice] += holder.power
        per_voter[vote.member_id] += holder.power
        delegated += holder.power if via_delegate else Decimal(0)
        if vote.signed:
            signed += holder.power
        else:
            unsigned += holder.power
    return Tally(
        power=power,
        count=count,
        total_power=total,
        quorum_power=quorum * total,
        signed_power=signed,
        unsigned_power=unsigned,
        delegated_power=delegated,
        threshold=threshold,
        per_voter=per_voter,
    )
