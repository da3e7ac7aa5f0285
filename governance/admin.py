"""Admin: members on the user page, governance policies, guardrails, the audit log (read-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from governance.models import AuditLog, GovernancePolicy, Guardrail, Member
from governance.services import record

User = get_user_model()


def guardrail_data(obj: Guardrail) -> dict[str, object]:
    return {
        "market": obj.market.slug,
        "parameter": obj.parameter,
        "max_change": obj.max_change,
        "min_delay": obj.min_delay,
    }


def policy_data(obj: GovernancePolicy) -> dict[str, object]:
    return {
        "market": obj.market.slug,
        "quorum": obj.quorum,
        "approval_threshold": obj.approval_threshold,
        "voting_period": obj.voting_period,
        "timelock": obj.timelock,
    }


def record_rule_change(request: HttpRequest, obj: object, deleted: bool = False) -> None:
    """Guardrails and policies decide what may pass: every change to them is audited."""
    if isinstance(obj, Guardrail):
        record(request.user, "guardrail.deleted" if deleted else "guardrail.saved", obj, guardrail_data(obj))
    elif isinstance(obj, GovernancePolicy):
        record(request.user, "policy.deleted" if deleted else "policy.saved", obj, policy_data(obj))


class AuditedRulesAdmin(admin.ModelAdmin):
    def save_model(self, request: HttpRequest, obj: object, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        record_rule_change(request, obj)

    def delete_model(self, request: HttpRequest, obj: object) -> None:
        record_rule_change(request, obj, deleted=True)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: object) -> None:
        for obj in queryset:  # type: ignore[attr-defined]
            record_rule_change(request, obj, deleted=True)
        super().delete_queryset(request, queryset)


class MemberInline(admin.StackedInline):
    model = Member
    can_delete = False
    extra = 0
    max_num = 1


admin.site.unregister(User)


@admin.register(User)
class MemberUserAdmin(UserAdmin):
    inlines = [MemberInline]
    list_display = ["username", "email", "is_staff", "member_role", "member_power"]

    @admin.display(description="role")
    def member_role(self, user: object) -> str:
        member = getattr(user, "member", None)
        return member.get_role_display() if member else ""

    @admin.display(description="voting power")
    def member_power(self, user: object) -> str:
        member = getattr(user, "member", None)
        return str(member.voting_power) if member else ""


class GovernancePolicyInline(admin.StackedInline):
    model = GovernancePolicy
    can_delete = False
    extra = 0
    max_num = 1


class GuardrailForm(forms.ModelForm):
    class Meta:
        model = Guardrail
        fields = ["market", "parameter", "max_change", "min_delay"]


class GuardrailInline(admin.TabularInline):
    model = Guardrail
    form = GuardrailForm
    extra = 0


@admin.register(GovernancePolicy)
class GovernancePolicyAdmin(AuditedRulesAdmin):
    list_display = ["market", "quorum", "approval_threshold", "voting_period", "timelock"]


@admin.register(Guardrail)
class GuardrailAdmin(AuditedRulesAdmin):
    form = GuardrailForm
    list_display = ["market", "parameter", "kind", "max_change", "min_delay"]
    list_filter = ["market"]


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "voting_power"]
    list_filter = ["role"]


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "object_repr"]
    list_filter = ["action"]
    search_fields = ["object_repr", "action"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False
