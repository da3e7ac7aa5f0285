"""Admin: votes and outcomes, read-only (they change only through the voting services)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from voting.models import Outcome, Vote


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdmin):
    list_display = ["proposal", "member", "choice", "is_signed", "cast_at", "changes"]
    list_filter = ["choice"]


@admin.register(Outcome)
class OutcomeAdmin(ReadOnlyAdmin):
    list_display = ["proposal", "result", "for_power", "against_power", "abstain_power", "decided_at"]
