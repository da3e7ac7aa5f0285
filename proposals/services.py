"""Workflows on markets, versions and proposals (each one atomic, audited)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from governance.models import GovernancePolicy, Guardrail
from governance.services import can_propose, is_administrator, record, take_proposal_snapshot
from proposals import export, schema
from proposals.models import (
    OPEN_STATUSES,
    OUTCOME_STATUSES,
    Export,
    IllegalTransitionError,
    Market,
    ParameterSetVersion,
    Proposal,
)

Status = Proposal.Status


class CompletedBacktest(Protocol):
    """What the move to voting needs to know of a backtest run (backtests.models.BacktestRun;
    the backtests app sits above this one, so it passes its run in rather than being imported)."""

    proposal_id: int
    live_version_id: int
    proposed_version_id: int

    @property
    def is_complete(self) -> bool: ...


class ProposalRefused(ValidationError):
    """A proposal breaks a bound, an invariant or a guardrail; ``violations`` says which."""

    def __init__(self, violations: list[schema.Violation]):
        super().__init__([v.message for v in violations])
        self.violations = violations


# -- Versions -----------------------------------------------------------------------------------


def create_version(
    *,
    market: Market,
    values: Mapping[str, Any],
    author: AbstractBaseUser | None,
    parent: ParameterSetVersion | None,
    note: str = "",
) -> ParameterSetVersion:
    """A new version numbered after the market's last one; refused if it breaks a bound or an
    invariant (ProposalRefused)."""
    normalized = _valid_values(market, values)
    with transaction.atomic():
        Market.objects.select_for_update().get(pk=market.pk)  # serialize numbering per market
        last = market.versions.aggregate(n=Max("number"))["n"] or 0
        version = ParameterSetVersion.objects.create(
            market=market, number=last + 1, parent=parent, author=author, values=normalized, note=note
        )
        record(author, "version.created", version, {"market": market.slug, "hash": version.content_hash})
    return version


def set_live_version(
    *, version: ParameterSetVersion, actor: AbstractBaseUser | None, now: datetime | None = None
) -> ParameterSetVersion:
    """Make ``version`` its market's live version (the previous one stops being live)."""
    now = now or timezone.now()
    with transaction.atomic():
        Market.objects.select_for_update().get(pk=version.market_id)
        previous = ParameterSetVersion.objects.filter(market_id=version.market_id, is_live=True).first()
        if previous is not None and previous.pk == version.pk:
            return previous
        if previous is not None:
            previous.is_live = False
            previous.save(update_fields=["is_live"])
        version.refresh_from_db()
        version.is_live = True
        version.made_live_at = now
        version.save()
        record(
            actor,
            "version.live_changed",
            version,
            {
                "market": version.market.slug,
                "from": previous.number if previous else None,
                "to": version.number,
                "hash": version.content_hash,
            },
        )
    return version


def bootstrap_live_version(
    *, version: ParameterSetVersion, actor: AbstractBaseUser | None
) -> ParameterSetVersion:
    """Administrators set the first live version of a market; later changes go through proposals."""
    if ParameterSetVersion.objects.filter(market_id=version.market_id, is_live=True).exists():
        raise ValidationError(f"{version.market} already has a live version: change it with a proposal.")
    return set_live_version(version=version, actor=actor)


def live_history(market: Market) -> list[tuple[datetime, dict[str, Any]]]:
    versions = market.versions.filter(made_live_at__isnull=False).order_by("made_live_at", "number")
    return [(v.made_live_at, v.values) for v in versions]


# -- Validation of proposed values -------------------------------------------------------------


def _valid_values(market: Market, values: Mapping[str, Any]) -> dict[str, Any]:
    try:
        normalized = schema.normalize(market.mechanism, values)
    except schema.SchemaError as exc:
        raise ProposalRefused([schema.Violation("", str(exc))]) from exc
    problems = schema.validate(market.mechanism, normalized) or schema.check_target(
        market.mechanism, normalized, market.target
    )
    if problems:
        raise ProposalRefused(problems)
    return normalized


def guardrail_violations(
    *, market: Market, before: Mapping[str, Any], after: Mapping[str, Any], now: datetime | None = None
) -> list[schema.Violation]:
    rules = {g.parameter: g.rule() for g in Guardrail.objects.filter(market=market)}
    last = schema.last_changed_keys(market.mechanism, live_history(market))
    return schema.check_guardrails(
        market.mechanism,
        schema.normalize(market.mechanism, before),
        schema.normalize(market.mechanism, after),
        rules,
        last,
        now or timezone.now(),
    )


def check_proposal_values(
    *, market: Market, live: ParameterSetVersion, values: Mapping[str, Any], now: datetime | None = None
) -> list[schema.Violation]:
    """Everything that would stop a submission: shape, bounds, invariants, then guardrails."""
    try:
        normalized = _valid_values(market, values)
    except ProposalRefused as exc:
        return exc.violations
    return guardrail_violations(market=market, before=live.values, after=normalized, now=now)


def submission_blockers(*, proposal: Proposal, now: datetime | None = None) -> list[schema.Violation]:
    """Why this draft could not be submitted now (empty when it could)."""
    live = ParameterSetVersion.objects.filter(market_id=proposal.market_id, is_live=True).first()
    if live is None or proposal.live_version_id != live.pk:
        return [
            schema.Violation(
                "",
                (
                    f"the live version changed since this draft was written (then v{proposal.live_version.number}, "
                    f"now v{live.number if live else 'none'}): edit the draft to rebase it, then submit."
                ),
            )
        ]
    return check_proposal_values(
        market=proposal.market, live=live, values=proposal.proposed_version.values, now=now
    )


# -- Proposals ----------------------------------------------------------------------------------


def create_draft(
    *, author: AbstractBaseUser, market: Market, title: str, rationale: str, values: Mapping[str, Any]
) -> Proposal:
    """A draft against the market's live version (bounds and invariants must hold)."""
    if not can_propose(author):
        raise PermissionDenied("only risk contributors and administrators write proposals")
    with transaction.atomic():
        live = _live_for_update(market)
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
        proposal = _lock_proposal(proposal)
        _require_editor(proposal, actor)
        if proposal.status != Status.DRAFT:
            raise ValidationError(f"proposal #{proposal.pk} is {proposal.status}: only drafts can be edited")
        normalized = _valid_values(proposal.market, values)
        live = _live_for_update(proposal.market)
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
        proposal = _lock_proposal(proposal)
        _require_editor(proposal, actor)
        live = _live_for_update(proposal.market)
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
        proposal = _lock_proposal(proposal)
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
        proposal = _lock_proposal(proposal)
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
        proposal = _lock_proposal(proposal)
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
        proposal = _lock_proposal(proposal)
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
    _require_editor(proposal, actor)
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
        proposal = _lock_proposal(proposal)
        live = _live_for_update(proposal.market)
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


# -- Export -------------------------------------------------------------------------------------

# The nonce column is a signed 64-bit integer; a Safe's nonce counts its transactions, far below.
MAX_NONCE = 2**63 - 1
REASON_LENGTH = Export._meta.get_field("reason").max_length


def export_proposal(
    *,
    proposal: Proposal,
    actor: AbstractBaseUser | None,
    nonce: int,
    safe: str | None = None,
    safe_version: str | None = None,
    verdict: str = "",
    manifest_url: str = "",
    reason: str = "",
    now: datetime | None = None,
) -> Export:
    """Approved -> exported: once the timelock has passed and while the version the proposal
    changes is still live, ``proposals.export.build_export`` turns the live and the voted
    version into calls, the Transaction Builder file, the hashes, the typed data and the report
    (every call decoded back and compared with the vote; a mismatch refuses, naming it), which
    are stored as an immutable Export and audit-logged with the hashes.

    ``safe`` and ``safe_version`` default to the market's. ``verdict`` and ``manifest_url`` (the
    backtest's sentence and its run's manifest, for the report) come from the caller: the
    backtests app sits above this one. ``actor`` None is the command line.

    Asked again with the same Safe, version and nonce it returns the stored export. Another
    nonce (the Safe's nonce was used meanwhile) needs ``reason``: a re-export, numbered after the
    last, audited with the one it replaces; the earlier ones stay on record."""
    now = now or timezone.now()
    if actor is not None and not is_administrator(actor):
        raise PermissionDenied("only administrators export a proposal")
    reason = reason.strip()
    if len(reason) > REASON_LENGTH:
        raise ValidationError(f"reason: at most {REASON_LENGTH} characters; got {len(reason)}")
    with transaction.atomic():
        proposal = _lock_proposal(proposal)
        market = proposal.market
        target = _export_target(market, safe=safe, safe_version=safe_version, nonce=nonce)
        last = proposal.exports.first()
        if last is not None and not reason and (last.safe, last.safe_version, last.nonce) == target:
            return last
        _require_exportable(proposal, last, reason, now)
        try:
            built = _build_export(proposal, target, verdict=verdict, manifest_url=manifest_url, now=now)
        except export.ExportError as exc:
            raise ValidationError(f"proposal #{proposal.pk} cannot be exported: {exc}") from None
        stored = _store_export(
            proposal,
            built,
            number=last.number + 1 if last else 1,
            reason=reason if last else "",
            actor=actor,
            now=now,
        )
        before = proposal.status
        if before == Status.APPROVED:
            proposal.set_status(Status.EXPORTED)
            proposal.save()
        record(
            actor,
            "proposal.reexported" if last else "proposal.exported",
            proposal,
            {
                "from": before,
                "to": Status.EXPORTED,
                **_export_facts(stored),
                **(
                    {"replaces": last.number, "replaced_safe_tx_hash": last.safe_tx_hash, "reason": reason}
                    if last
                    else {}
                ),
            },
        )
    return stored


def export_preview(*, proposal: Proposal, now: datetime | None = None) -> list[dict[str, Any]]:
    """The decode-back rows export_proposal would store now (for the market's Safe, nonce 0),
    stored nowhere: the proposal page shows them before the export, or, raised as a
    ValidationError, the reason the export is blocked."""
    # The rows do not depend on the Safe: a market without one still shows them (the form asks).
    safe = proposal.market.safe_address or "0x" + "0" * 40
    target = _export_target(proposal.market, safe=safe, safe_version=None, nonce=0)
    try:
        built = _build_export(proposal, target, verdict="", manifest_url="", now=now or timezone.now())
    except export.ExportError as exc:
        raise ValidationError(f"proposal #{proposal.pk} cannot be exported: {exc}") from None
    return built.row_documents()


def _export_target(
    market: Market, *, safe: str | None, safe_version: str | None, nonce: int
) -> tuple[str, str, int]:
    """The Safe (EIP-55), its version and the nonce, checked, defaults from the market."""
    safe = safe or market.safe_address
    if not safe:
        raise ValidationError(
            f"{market} has no Safe address: an administrator sets it on the market, or give one for this export"
        )
    if isinstance(nonce, bool) or not isinstance(nonce, int) or not 0 <= nonce <= MAX_NONCE:
        raise ValidationError(
            f"nonce: {nonce!r} is not the Safe's nonce (a whole number from 0 to {MAX_NONCE})"
        )
    try:
        return (
            export.checksum_address("safe", safe),
            export.safe_version(safe_version or market.safe_version),
            nonce,
        )
    except export.ExportError as exc:
        raise ValidationError(str(exc)) from None


def _require_exportable(proposal: Proposal, last: Export | None, reason: str, now: datetime) -> None:
    """Approved (or exported, for a re-export with a reason), after the timelock, and the version
    it changes still live."""
    if last is not None and proposal.status == Status.EXPORTED and not reason:
        raise ValidationError(
            f"proposal #{proposal.pk} was exported for nonce {last.nonce} (Safe {last.safe}, version "
            f"{last.safe_version}; safeTxHash {last.safe_tx_hash}): another Safe, version or nonce needs a "
            "re-export with a reason (the stored export stays on record)"
        )
    if proposal.status not in (Status.APPROVED, Status.EXPORTED):
        raise ValidationError(
            f"proposal #{proposal.pk} is {proposal.get_status_display().lower()}: only an approved proposal "
            "is exported, after its timelock"
        )
    require_timelock_passed(proposal, now)
    live = _live_for_update(proposal.market)
    if live.pk != proposal.live_version_id:
        raise ValidationError(
            f"proposal #{proposal.pk} changes v{proposal.live_version.number}, but v{live.number} is live now: "
            "it cannot be exported"
        )


def _build_export(
    proposal: Proposal, target: tuple[str, str, int], *, verdict: str, manifest_url: str, now: datetime
) -> export.Export:
    market, (safe, safe_version, nonce) = proposal.market, target
    live, voted = proposal.live_version, proposal.proposed_version
    return export.build_export(
        market.export_config(),
        live.values,
        voted.values,
        safe=safe,
        chain_id=market.chain_id,
        nonce=nonce,
        safe_version=safe_version,
        multisend=market.safe_multisend or None,
        created_at_ms=int(now.timestamp() * 1000),
        title=proposal.title,
        description=(
            f"Proposal #{proposal.pk} on {market.name}: v{live.number} -> v{voted.number} "
            f"(sha256 {voted.content_hash})"
        ),
        verdict=verdict,
        manifest_url=manifest_url,
    )


def _store_export(
    proposal: Proposal,
    built: export.Export,
    *,
    number: int,
    reason: str,
    actor: AbstractBaseUser | None,
    now: datetime,
) -> Export:
    return Export.objects.create(
        proposal=proposal,
        number=number,
        live_version_id=proposal.live_version_id,
        version_id=proposal.proposed_version_id,
        adapter=built.adapter,
        safe=built.safe,
        safe_version=built.safe_version,
        chain_id=built.chain_id,
        nonce=built.nonce,
        multisend=built.multisend or "",
        tx_to=built.tx.to,
        tx_operation=built.tx.operation,
        domain_hash=built.hashes.domain_hash,
        message_hash=built.hashes.message_hash,
        safe_tx_hash=built.hashes.safe_tx_hash,
        calls=built.call_documents(),
        rows=built.row_documents(),
        batch=built.batch_json(),
        typed_data=built.typed_data_json(),
        report=built.report,
        reason=reason,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        created_at=now,
    )


def _export_facts(stored: Export) -> dict[str, Any]:
    """What the audit entry of an export records: where it goes, its hashes, and the sha256 of
    each file as stored (the downloads must match them)."""
    return {
        "export": stored.number,
        "version": stored.version.number,
        "version_hash": stored.version.content_hash,
        "safe": stored.safe,
        "safe_version": stored.safe_version,
        "chain_id": stored.chain_id,
        "nonce": stored.nonce,
        "calls": len(stored.calls),
        "domain_hash": stored.domain_hash,
        "message_hash": stored.message_hash,
        "safe_tx_hash": stored.safe_tx_hash,
        "batch_sha256": sha256_text(stored.batch),
        "typed_data_sha256": sha256_text(stored.typed_data),
        "report_sha256": sha256_text(stored.report),
    }


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _lock_proposal(proposal: Proposal) -> Proposal:
    """Lock the proposal's market, then the proposal, and return it fresh from the database.

    Every workflow locks in this order (market, then proposals), so two concurrent workflows on
    one market serialize instead of deadlocking, and each sees the other's committed result.
    """
    market_id = Proposal.objects.values_list("market_id", flat=True).get(pk=proposal.pk)
    Market.objects.select_for_update().get(pk=market_id)
    return Proposal.objects.select_for_update().get(pk=proposal.pk)


def _live_for_update(market: Market) -> ParameterSetVersion:
    Market.objects.select_for_update().get(pk=market.pk)
    live = ParameterSetVersion.objects.filter(market=market, is_live=True).first()
    if live is None:
        raise ValidationError(f"{market} has no live version yet: an administrator must set one first.")
    return live


def _require_editor(proposal: Proposal, actor: AbstractBaseUser) -> None:
    if not (actor.pk == proposal.author_id or is_administrator(actor)):
        raise PermissionDenied("only the proposal's author or an administrator may do this")
