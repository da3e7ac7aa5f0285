"""The export section of the proposal page (review.views.proposal_detail includes
templates/review/_export.html with this context): when the export becomes possible, the form
administrators export with, and once exported what the signers check (Safe, chain, nonce, the
hashes as a Ledger shows them, the calls decoded, the decode-back table) with the downloads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from governance.services import is_administrator
from proposals import services as proposal_services
from proposals.models import Proposal
from review.forms import ExportForm

Status = Proposal.Status
# The statuses whose page has an export section: approved (waiting or exportable), and after.
SHOWN = (Status.APPROVED, Status.EXPORTED, Status.EXECUTED, Status.SUPERSEDED)


def export_panel(*, proposal: Proposal, user: Any, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    exports = list(proposal.exports.select_related("created_by"))  # the newest first
    if proposal.status not in SHOWN or (proposal.status == Status.SUPERSEDED and not exports):
        return {"shown": False}
    timelock_passed = proposal.timelock_ends_at is not None and now >= proposal.timelock_ends_at
    current = exports[0] if exports else None
    may_export = (
        is_administrator(user)
        and timelock_passed
        and (proposal.status == Status.APPROVED or (proposal.status == Status.EXPORTED and current))
    )
    context: dict[str, Any] = {
        "shown": True,
        "timelock_passed": timelock_passed,
        "seconds_to_export": max(0, int((proposal.timelock_ends_at - now).total_seconds()))
        if proposal.timelock_ends_at
        else None,
        "current": current,
        "earlier": exports[1:],
        "recheck": current.recheck() if current else "",
        "may_export": may_export,
    }
    if current is None and proposal.status == Status.APPROVED:
        try:
            context["preview"] = proposal_services.export_preview(proposal=proposal, now=now)
        except ValidationError as exc:
            context["blocked"] = " ".join(exc.messages)
            context["may_export"] = False
    if context["may_export"]:
        market = proposal.market
        initial = {"safe": market.safe_address, "safe_version": market.safe_version}
        if current is not None:
            initial = {"safe": current.safe, "safe_version": current.safe_version, "nonce": current.nonce + 1}
        context["form"] = ExportForm(initial=initial)
    return context
