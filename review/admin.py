"""Admin of proposals: read-only records whose lifecycle moves are admin actions that call the
services (never a status field). No action approves or rejects: the outcome is computed from
the votes at the close ("close voting now" runs that same computation once the time has come),
and none exports: the export needs the Safe's nonce (the proposal page or export_proposal)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from backtests import services as backtest_services
from proposals.models import Proposal
from voting import services as voting_services


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["__str__", "market", "status", "author", "created_at", "submitted_at"]
    list_filter = ["status", "market"]
    search_fields = ["title", "rationale"]
    readonly_fields = [
        "status",
        "market",
        "author",
        "live_version",
        "proposed_version",
        "superseded_by",
        "tx_hash",
        "created_at",
        "updated_at",
        "submitted_at",
        "voting_started_at",
        "decided_at",
        "executed_at",
        "power_snapshot",
        "quorum",
        "approval_threshold",
        "voting_delay",
        "voting_period",
        "vote_extension",
        "timelock",
        "voting_opens_at",
        "voting_ends_at",
        "quorum_reached_at",
        "timelock_ends_at",
    ]
    fields = ["title", "rationale", *readonly_fields]
    actions = ["open_voting", "close_voting_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # proposals are written on the site, against the live version

    def has_delete_permission(self, request: HttpRequest, obj: Proposal | None = None) -> bool:
        return False  # withdraw instead: the record stays

    def get_readonly_fields(self, request: HttpRequest, obj: Proposal | None = None) -> list[str]:
        if obj is not None and obj.status != Proposal.Status.DRAFT:
            return ["title", "rationale", *self.readonly_fields]
        return list(self.readonly_fields)

    @admin.action(description="Schedule voting (backtesting -> pending or voting, on a complete backtest)")
    def open_voting(self, request: HttpRequest, queryset: QuerySet[Proposal]) -> None:
        for proposal in queryset:
            try:
                backtest_services.open_voting(proposal=proposal, actor=request.user)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                proposal.refresh_from_db()
                self.message_user(
                    request, f"{proposal}: {proposal.get_status_display().lower()}.", messages.SUCCESS
                )

    @admin.action(description="Close voting now (opens or closes a vote whose time has come)")
    def close_voting_now(self, request: HttpRequest, queryset: QuerySet[Proposal]) -> None:
        for proposal in queryset:
            try:
                text = voting_services.close_if_due(proposal=proposal, actor=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{proposal}: " + " ".join(exc.messages), messages.ERROR)
            else:
                self.message_user(request, f"{proposal}: {text}", messages.INFO)
