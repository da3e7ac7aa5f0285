"""Voting workflows: cast (or change) a vote, the live tally, the close that freezes the
outcome, the beat's advance of due votes, Sign-In with Ethereum, and verify_votes.

Locks: a vote locks the proposal's market, then the proposal (the order every proposal
workflow uses), then the member's vote row; so fifty members voting at once, or one member
twice at once, are serialized and each leaves exactly one vote.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from eth_utils import to_checksum_address

from governance.audit import decimal_text
from governance.models import AuditLog, Member, PowerSnapshot
from governance.services import (
    audit_head,
    can_vote,
    holdings_of,
    member_of,
    record,
    snapshot_hash,
)
from proposals import services as proposal_services
from proposals.models import Market, Proposal
from voting import signatures
from voting.models import Choice, Outcome, SiweNonce, Vote
from voting.tally import Cast, Holder, Tally, count_votes

Status = Proposal.Status
MAX_REASON = 1000


class VoteRefused(ValidationError):
    """A vote was refused; the message says why (closed, not open yet, bad signature...)."""


# -- The tally ------------------------------------------------------------------------------------


def holders_of(snapshot: PowerSnapshot) -> list[Holder]:
    return [Holder(h.member_id, h.power, h.delegate_id) for h in holdings_of(snapshot)]


def casts_of(proposal: Proposal) -> list[Cast]:
    return [
        Cast(member_id, choice, bool(signature))
        for member_id, choice, signature in proposal.votes.values_list("member_id", "choice", "signature")
    ]


def tally_of(proposal: Proposal) -> Tally | None:
    """The count of the proposal's votes now (None before its voting is scheduled)."""
    if proposal.power_snapshot_id is None:
        return None
    return count_votes(
        holders_of(proposal.power_snapshot),
        casts_of(proposal),
        quorum=proposal.quorum,
        threshold=proposal.approval_threshold,
    )


# -- Casting a vote -------------------------------------------------------------------------------------


def cast_vote(
    *,
    proposal: Proposal,
    user: AbstractBaseUser | AnonymousUser,
    choice: str,
    reason: str = "",
    signature: str = "",
    timestamp: int | None = None,
    now: datetime | None = None,
) -> Vote:
    """Cast or change the user's vote while the proposal is voting. A signed vote carries the
    EIP-712 signature of ``signatures.vote_typed_data`` by the member's linked address, with a
    ``timestamp`` within VOTE_SIGNATURE_MAX_AGE of now. The first time the votes reach quorum
    is recorded (it may extend the vote: Proposal.closes_at)."""
    now = now or timezone.now()
    if not can_vote(user):
        raise PermissionDenied("only voters vote")
    member = member_of(user)
    assert member is not None
    if choice not in Choice.values:
        raise VoteRefused(f"choice {choice!r}: expected one of {', '.join(Choice.values)}")
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise VoteRefused(f"the reason is {len(reason)} characters; at most {MAX_REASON}")
    with transaction.atomic():
        proposal = _lock(proposal)
        proposal = _open_if_due(proposal, now)
        _require_open(proposal, now)
        signer = (
            _check_signature(proposal, member, choice, reason, signature, timestamp, now) if signature else ""
        )
        vote = Vote.objects.select_for_update().filter(proposal=proposal, member=member).first()
        if vote is not None and (vote.choice, vote.reason, vote.signature) == (choice, reason, signature):
            return vote  # the same vote again (a double click): nothing changes
        if vote is not None and signature and vote.timestamp and timestamp <= vote.timestamp:
            raise VoteRefused("this signed vote is older than the one it would replace")
        action = "vote.changed" if vote is not None else "vote.cast"
        if vote is None:
            vote = Vote(proposal=proposal, member=member)
        else:
            vote.changes += 1
        vote.choice, vote.reason, vote.cast_at = choice, reason, now
        vote.signer, vote.signature, vote.timestamp = signer, signature, timestamp if signature else None
        vote.save()
        record(user, action, proposal, vote_record(vote))
        tally = tally_of(proposal)
        if tally is not None and tally.quorum_reached and proposal.quorum_reached_at is None:
            proposal_services.record_quorum_reached(proposal=proposal, at=now)
            record(
                None,
                "proposal.quorum_reached",
                proposal,
                {"at": now, "closes_at": proposal.closes_at, "tally": tally.document()},
            )
    return vote


def vote_record(vote: Vote) -> dict[str, object]:
    """What the audit log keeps of each version of a vote; verify_votes compares the stored
    vote with the last of these."""
    return {
        "vote": vote.pk,
        "member": vote.member_id,
        "voter": vote.member.name,
        "choice": vote.choice,
        "reason": vote.reason,
        "signer": vote.signer,
        "signature": vote.signature,
        "timestamp": vote.timestamp,
        "snapshot": vote.proposal.power_snapshot_id,
    }


def _lock(proposal: Proposal) -> Proposal:
    market_id = Proposal.objects.values_list("market_id", flat=True).get(pk=proposal.pk)
    Market.objects.select_for_update().get(pk=market_id)
    return Proposal.objects.select_for_update().select_related("proposed_version").get(pk=proposal.pk)


def _open_if_due(proposal: Proposal, now: datetime) -> Proposal:
    if proposal.status == Status.PENDING and now >= proposal.voting_opens_at:
        return proposal_services.start_voting(proposal=proposal, actor=None, now=proposal.voting_opens_at)
    return proposal


def _require_open(proposal: Proposal, now: datetime) -> None:
    if proposal.status == Status.PENDING:
        raise VoteRefused(f"voting opens at {proposal.voting_opens_at:%Y-%m-%d %H:%M:%S} UTC")
    if proposal.status != Status.VOTING:
        raise VoteRefused(
            f"proposal #{proposal.pk} is {proposal.get_status_display().lower()}: no vote is open"
        )
    if now >= proposal.closes_at:
        raise VoteRefused(f"voting ended at {proposal.closes_at:%Y-%m-%d %H:%M:%S} UTC")


def typed_data_for(proposal: Proposal, member: Member, choice: str, reason: str, timestamp: int) -> dict:
    return signatures.vote_typed_data(
        voter=member.address,
        proposal_id=proposal.pk,
        version_hash=proposal.proposed_version.content_hash,
        choice=choice,
        snapshot_id=proposal.power_snapshot_id,
        reason=reason,
        timestamp=timestamp,
    )


def _check_signature(
    proposal: Proposal,
    member: Member,
    choice: str,
    reason: str,
    signature: str,
    timestamp: int | None,
    now: datetime,
) -> str:
    if not member.address:
        raise VoteRefused("a signed vote needs an Ethereum address linked to your membership")
    if timestamp is None or abs(now.timestamp() - timestamp) > settings.VOTE_SIGNATURE_MAX_AGE:
        raise VoteRefused(
            f"the signed timestamp must be within {settings.VOTE_SIGNATURE_MAX_AGE} s of the server's clock"
        )
    typed = typed_data_for(proposal, member, choice, reason, timestamp)
    try:
        signer = signatures.vote_signer(typed, signature)
    except signatures.SignatureError as exc:
        raise VoteRefused(str(exc)) from None
    if signer != member.address:
        raise VoteRefused(
            f"the vote was signed by {signer}, not by {member.address} (the address linked to you)"
        )
    return signer


# -- Opening and closing on time ---------------------------------------------------------------------


def close_voting(
    *, proposal: Proposal, actor: AbstractBaseUser | None = None, now: datetime | None = None
) -> Outcome:
    """At or after the close (Proposal.closes_at): count the votes once and freeze the outcome
    (approved, rejected or no quorum), with ``decided_at`` and, if approved, ``timelock_ends_at``
    on the proposal, and the audit chain's head in the Outcome. A second call returns the
    frozen outcome; before the close it is refused (an administrator's "close voting now"
    runs this same computation)."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal = _lock(proposal)
        existing = Outcome.objects.filter(proposal=proposal).first()
        if existing is not None:
            return existing
        tally = tally_of(proposal)
        if proposal.status != Status.VOTING or tally is None:
            raise VoteRefused(
                f"proposal #{proposal.pk} is {proposal.get_status_display().lower()}, not voting"
            )
        proposal = proposal_services.decide_proposal(
            proposal=proposal,
            outcome=tally.outcome,
            actor=actor,
            now=now,
            data={"snapshot": proposal.power_snapshot_id, "tally": tally.document()},
        )
        head = audit_head()
        return Outcome.objects.create(
            proposal=proposal,
            result=tally.outcome,
            for_power=tally.power["for"],
            against_power=tally.power["against"],
            abstain_power=tally.power["abstain"],
            for_count=tally.count["for"],
            against_count=tally.count["against"],
            abstain_count=tally.count["abstain"],
            total_power=tally.total_power,
            quorum_power=tally.quorum_power,
            signed_power=tally.signed_power,
            unsigned_power=tally.unsigned_power,
            decided_at=now,
            audit_count=head.count,
            audit_hash=head.hash,
            tally=tally.document(),
        )


def advance_votes(*, now: datetime | None = None) -> dict[str, list[int]]:
    """What the beat runs: open the votes whose delay has passed, close those whose period has
    ended. Each move is its own transaction; one that fails is left for the next beat."""
    now = now or timezone.now()
    opened, closed = [], []
    for proposal in Proposal.objects.filter(status=Status.PENDING, voting_opens_at__lte=now):
        proposal_services.start_voting(proposal=proposal, actor=None, now=now)
        opened.append(proposal.pk)
    for proposal in Proposal.objects.filter(status=Status.VOTING):
        if proposal.closes_at is not None and now >= proposal.closes_at:
            close_voting(proposal=proposal, now=now)
            closed.append(proposal.pk)
    return {"opened": opened, "closed": closed}


def close_if_due(*, proposal: Proposal, actor: AbstractBaseUser | None, now: datetime | None = None) -> str:
    """On demand (an administrator's "close voting now"): open or close the vote if its time
    has come, by the same computation as the beat; otherwise say when it will."""
    now = now or timezone.now()
    proposal.refresh_from_db()
    if proposal.status == Status.PENDING:
        if now < proposal.voting_opens_at:
            return f"Voting opens at {proposal.voting_opens_at:%Y-%m-%d %H:%M:%S} UTC; nothing to do yet."
        proposal_services.start_voting(proposal=proposal, actor=actor, now=now)
        return "Voting is open."
    if proposal.status == Status.VOTING:
        if now < proposal.closes_at:
            return f"Voting ends at {proposal.closes_at:%Y-%m-%d %H:%M:%S} UTC; the outcome is computed then."
        outcome = close_voting(proposal=proposal, actor=actor, now=now)
        return f"Voting closed: {outcome.get_result_display().lower()}."
    return f"Proposal #{proposal.pk} is {proposal.get_status_display().lower()}: no vote to open or close."


# -- Sign-In with Ethereum ---------------------------------------------------------------------


def siwe_message(*, address: str, domain: str, uri: str, now: datetime | None = None) -> str:
    """The EIP-4361 message the wallet signs to sign in: a fresh single-use nonce, this site's
    domain and chain id, expiring after SIWE_NONCE_SECONDS."""
    now = (now or timezone.now()).replace(microsecond=0)
    try:
        address = to_checksum_address(address)
    except ValueError:
        raise signatures.SignatureError(f"{address!r} is not an Ethereum address") from None
    message = signatures.SiweMessage(
        domain=domain,
        address=address,
        statement="Sign in to vote on risk parameter proposals. Externally owned accounts only.",
        uri=uri,
        version="1",
        chain_id=settings.VOTING_CHAIN_ID,
        nonce=secrets.token_hex(16),
        issued_at=now,
        expiration_time=now + timedelta(seconds=settings.SIWE_NONCE_SECONDS),
    )
    text = message.text()
    SiweNonce.objects.create(
        nonce=message.nonce, address=address, message=text, created_at=now, expires_at=message.expiration_time
    )
    return text


def verify_siwe(*, message: str, signature: str, domain: str, now: datetime | None = None) -> Member:
    """Check a signed sign-in message and return the member linked to its address: the
    grammar, the domain (this site's host), the chain id, the time window, the nonce (issued
    here, unused, unexpired: it is used up now) and the signer (EIP-191 recovery)."""
    now = now or timezone.now()
    parsed = signatures.parse_siwe(message)
    if parsed.domain != domain:
        raise signatures.SignatureError(f"the message is for {parsed.domain}, not for this site ({domain})")
    if parsed.chain_id != settings.VOTING_CHAIN_ID:
        raise signatures.SignatureError(
            f"chain id {parsed.chain_id}: this site signs in on chain {settings.VOTING_CHAIN_ID}"
        )
    if parsed.expiration_time is not None and now >= parsed.expiration_time:
        raise signatures.SignatureError("the sign-in message has expired: sign in again")
    if parsed.not_before is not None and now < parsed.not_before:
        raise signatures.SignatureError("the sign-in message is not valid yet")
    if parsed.issued_at > now + timedelta(seconds=60):
        raise signatures.SignatureError("the sign-in message is issued in the future")
    signer = signatures.siwe_signer(message, signature)
    if signer != parsed.address:
        raise signatures.SignatureError(f"the message names {parsed.address} but was signed by {signer}")
    used = SiweNonce.objects.filter(
        nonce=parsed.nonce, address=parsed.address, message=message, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if used != 1:
        raise signatures.SignatureError("this sign-in nonce is unknown, used or expired: sign in again")
    member = Member.objects.filter(address=parsed.address).select_related("user").first()
    if member is None or not member.user.is_active:
        raise signatures.SignatureError(f"no active member is linked to {parsed.address}")
    return member


# -- verify_votes ---------------------------------------------------------------------------------------


@dataclass
class VoteReport:
    proposal: Proposal
    tally: Tally | None = None
    problems: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_votes(*, proposal: Proposal) -> VoteReport:
    """Check every signed vote against its signer, every vote (signed or not) against the
    audit log, the power snapshot against its hash and its source, and recompute the tally from
    the votes and the snapshot; compare it with the frozen outcome. Each difference is named."""
    report = VoteReport(proposal=proposal)
    snapshot = proposal.power_snapshot
    if snapshot is None:
        report.problems.append(
            f"proposal #{proposal.pk} has no power snapshot: its voting was never scheduled"
        )
        return report
    report.problems += _check_snapshot(snapshot)
    votes = list(proposal.votes.select_related("member__user").order_by("id"))
    for vote in votes:
        report.problems += _check_vote_signature(proposal, vote)
    report.problems += _check_against_audit_log(proposal, votes)
    tally = report.tally = tally_of(proposal)
    assert tally is not None
    n = {k: decimal_text(v) for k, v in tally.power.items()}
    report.lines += [
        f"proposal #{proposal.pk}: {len(votes)} votes, {sum(v.is_signed for v in votes)} signed",
        f"power: for {n['for']}, against {n['against']}, abstain {n['abstain']} of "
        f"{decimal_text(tally.total_power)} (quorum {decimal_text(tally.quorum_power)}: "
        f"{'reached' if tally.quorum_reached else 'not reached'})",
        f"signed power {decimal_text(tally.signed_power)}, unsigned power {decimal_text(tally.unsigned_power)}"
        f" (delegated {decimal_text(tally.delegated_power)})",
        f"outcome recomputed: {tally.outcome}",
    ]
    report.problems += _check_outcome(proposal, tally)
    return report


def _check_snapshot(snapshot: PowerSnapshot) -> list[str]:
    problems = []
    entries = list(snapshot.entries.order_by("id"))
    holdings = holdings_of(snapshot)
    if snapshot_hash(holdings) != snapshot.content_hash:
        problems.append(f"{snapshot}: its entries no longer match its hash {snapshot.content_hash[:16]}…")
    total = sum((e.power for e in entries), Decimal(0))
    if total != snapshot.total_power:
        problems.append(f"{snapshot}: its entries sum to {total}, it records {snapshot.total_power}")
    source = snapshot.based_on
    if source is not None:
        # A proposal's copy holds the source's powers by address (members may be relinked).
        theirs = {(e.address or f"member {e.member_id}"): e.power for e in source.entries.all()}
        for entry in entries:
            key = entry.address or f"member {entry.member_id}"
            if key in theirs and theirs[key] != entry.power:
                problems.append(
                    f"power entry id {entry.pk} ({key}) of {snapshot}: power {decimal_text(entry.power)}, but "
                    f"{decimal_text(theirs[key])} in the snapshot it was copied from (#{source.pk})"
                )
    recorded = AuditLog.objects.filter(action="proposal.transition", data__snapshot=snapshot.pk).first()
    if recorded is not None and recorded.data.get("snapshot_hash") != snapshot.content_hash:
        problems.append(
            f"{snapshot}: its hash differs from the one audit entry #{recorded.seq} recorded when voting was scheduled"
        )
    return problems


def _check_vote_signature(proposal: Proposal, vote: Vote) -> list[str]:
    if not vote.is_signed:
        return []
    typed = signatures.vote_typed_data(
        voter=vote.signer,
        proposal_id=proposal.pk,
        version_hash=proposal.proposed_version.content_hash,
        choice=vote.choice,
        snapshot_id=proposal.power_snapshot_id,
        reason=vote.reason,
        timestamp=vote.timestamp or 0,
    )
    try:
        signer = signatures.vote_signer(typed, vote.signature)
    except signatures.SignatureError as exc:
        return [f"vote id {vote.pk} ({vote.member.name}): {exc}"]
    if signer != vote.signer:
        return [
            f"vote id {vote.pk} ({vote.member.name}): the signature is not {vote.signer}'s for "
            f"{vote.choice!r} (it recovers to {signer}): the vote was changed after it was signed"
        ]
    return []


def _check_against_audit_log(proposal: Proposal, votes: list[Vote]) -> list[str]:
    problems = []
    entries = AuditLog.objects.filter(
        content_type__app_label="proposals",
        content_type__model="proposal",
        object_id=str(proposal.pk),
        action__in=["vote.cast", "vote.changed"],
    ).order_by("seq")
    last: dict[int, AuditLog] = {}
    for entry in entries:
        last[entry.data.get("member")] = entry
    stored = {vote.member_id: vote for vote in votes}
    for vote in votes:
        entry = last.get(vote.member_id)
        if entry is None:
            problems.append(f"vote id {vote.pk} ({vote.member.name}): no audit log entry records it")
            continue
        expected = vote_record(vote)
        differing = [
            k
            for k in ("vote", "choice", "reason", "signer", "signature", "timestamp")
            if entry.data.get(k) != expected[k]
        ]
        if differing:
            detail = ", ".join(
                f"{k} {expected[k]!r} in the database, {entry.data.get(k)!r} in the log" for k in differing
            )
            problems.append(
                f"vote id {vote.pk} ({vote.member.name}) differs from audit entry #{entry.seq}: {detail}"
            )
    for member_id, entry in last.items():
        if member_id not in stored:
            problems.append(
                f"audit entry #{entry.seq} records a vote by {entry.data.get('voter')} (vote id "
                f"{entry.data.get('vote')}) that the database no longer has"
            )
    return problems


def _check_outcome(proposal: Proposal, tally: Tally) -> list[str]:
    outcome = Outcome.objects.filter(proposal=proposal).first()
    if outcome is None:
        if proposal.status in (Status.APPROVED, Status.REJECTED, Status.NO_QUORUM):
            return [f"proposal #{proposal.pk} is {proposal.status} but has no frozen outcome"]
        return []
    problems = []
    pairs = [
        ("result", outcome.result, tally.outcome),
        ("for power", outcome.for_power, tally.power["for"]),
        ("against power", outcome.against_power, tally.power["against"]),
        ("abstain power", outcome.abstain_power, tally.power["abstain"]),
        ("for count", outcome.for_count, tally.count["for"]),
        ("against count", outcome.against_count, tally.count["against"]),
        ("abstain count", outcome.abstain_count, tally.count["abstain"]),
        ("total power", outcome.total_power, tally.total_power),
        ("signed power", outcome.signed_power, tally.signed_power),
        ("unsigned power", outcome.unsigned_power, tally.unsigned_power),
    ]
    for what, frozen, recomputed in pairs:
        if frozen != recomputed:
            show = [decimal_text(x) if isinstance(x, Decimal) else x for x in (frozen, recomputed)]
            problems.append(f"outcome id {outcome.pk}: {what} is {show[0]} frozen, {show[1]} recomputed")
    if outcome.tally != tally.document():
        problems.append(f"outcome id {outcome.pk}: its stored tally differs from the recomputed one")
    decided = (
        proposal.status if proposal.status in (Status.APPROVED, Status.REJECTED, Status.NO_QUORUM) else None
    )
    if decided is not None and decided != outcome.result:
        problems.append(
            f"proposal #{proposal.pk} is {proposal.status} but its frozen outcome is {outcome.result}"
        )
    return problems
