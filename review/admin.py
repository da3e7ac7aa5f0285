"""Admin of proposals: read-only records whose lifecycle moves are admin actions that call the
services (never a status field)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from backtests import services as backtest_services
from proposals import services as proposal_services
from proposals.models import Proposal


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
    ]
    fields = ["title", "rationale", *readonly_fields]
    actions = ["open_voting", "approve", "reject", "mark_exported"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # proposals are written on the site, against the live version

    def has_delete_permission(self, request: HttpRequest, obj: Proposal | None = None) -> bool:
        return False  # withdraw instead: the record stays

    def get_readonly_fields(self, request: HttpRequest, obj: Proposal | None = None) -> list[str]:
        if obj is not None and obj.status != Proposal.Status.DRAFT:
            return ["title", "rationale", *self.readonly_fields]
        return list(self.readonly_fields)

    def _move(self, request: HttpRequest, queryset: QuerySet[Proposal], to: str) -> None:
        for proposal in queryset:
            try:
                proposal_services.transition_proposal(proposal=proposal, to=to, actor=request.user)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                self.message_user(request, f"{proposal}: {to}.", messages.SUCCESS)

    @admin.action(description="Open voting (backtesting -> voting, on a complete backtest)")
    def open_voting(self, request: HttpRequest, queryset: QuerySet[Proposal]) -> None:
        for proposal in queryset:
            try:
                backtest_services.open_voting(proposal=proposal, actor=request.user)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                self.message_user(request, f"{proposal}: voting.", messages.SUCCESS)

    @admin.action(description="Approve (voting -> approved)")
    def approve(self, request: HttpRequest, queryset: QuerySet[Proposal]) -> None:
        self._move(request, queryset, Proposal.Status.APPROVED)

    @admin.action(description="Reject (voting -> rejected)")
    def reject(self, request: HttpRequest, queryset: QuerySet[Proposal]) -> None:
        self._move(request, queryset, Proposal.Status.REJECTED)

    @admin.action(description="Mark exported (approved -> exported)")
    def mark_exported(self, request: HttpRequest, queryset: QuerySet[Proposal]) -> None:
        self._move(request, queryset, Proposal.Status.EXPORTED)
