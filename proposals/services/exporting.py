"""The export of an approved proposal: calls, Safe batch and hashes, stored once (proposals.Export)
after the timelock, decoded back and compared with the vote before it is offered."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from governance.services import is_administrator, record
from proposals import export
from proposals.models import (
    Export,
    Market,
    Proposal,
)
from proposals.services.common import Status, live_for_update, lock_proposal
from proposals.services.lifecycle import require_timelock_passed

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
        proposal = lock_proposal(proposal)
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
    live = live_for_update(proposal.market)
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
