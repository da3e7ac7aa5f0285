"""Admin: members (role, power, address, delegation: each change through its audited service),
governance policies, guardrails, power snapshots and the audit log (both read-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from governance import services
from governance.models import AuditLog, GovernancePolicy, Guardrail, Member, PowerEntry, PowerSnapshot
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
        "voting_delay": obj.voting_delay,
        "voting_period": obj.voting_period,
        "vote_extension": obj.vote_extension,
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
    """The role on the user page; power, address and delegation are changed on the member's
    own page, where each goes through its service (a new power snapshot, an audited link)."""

    model = Member
    can_delete = False
    extra = 0
    max_num = 1
    fields = ["role", "voting_power", "address", "delegate"]
    readonly_fields = ["voting_power", "address", "delegate"]


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

    def save_formset(
        self, request: HttpRequest, form: forms.ModelForm, formset: object, change: bool
    ) -> None:
        super().save_formset(request, form, formset, change)
        for inline_form in formset.forms:  # type: ignore[attr-defined]
            if isinstance(inline_form.instance, Member) and inline_form.has_changed():
                member = inline_form.instance
                record(request.user, "member.saved", member, {"user": member.name, "role": member.role})


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
    list_display = [
        "market",
        "quorum",
        "approval_threshold",
        "voting_delay",
        "voting_period",
        "vote_extension",
        "timelock",
    ]


@admin.register(Guardrail)
class GuardrailAdmin(AuditedRulesAdmin):
    form = GuardrailForm
    list_display = ["market", "parameter", "kind", "max_change", "min_delay"]
    list_filter = ["market"]


class MemberForm(forms.ModelForm):
    class Meta:
        model = Member
        fields = ["user", "role", "voting_power", "address", "delegate"]


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    """Each change goes through its service: the power makes a new power snapshot (the one in
    force), the address and the delegation are checked and audited."""

    form = MemberForm
    list_display = ["user", "role", "voting_power", "address", "delegate"]
    list_filter = ["role"]
    search_fields = ["user__username", "address"]

    def save_model(self, request: HttpRequest, obj: Member, form: forms.ModelForm, change: bool) -> None:
        before = Member.objects.filter(pk=obj.pk).first() if change else None
        wanted = {name: getattr(obj, name) for name in ("voting_power", "address", "delegate_id")}
        if before is None:
            obj.voting_power, obj.address, obj.delegate_id = 0, "", None
            obj.save()
            record(request.user, "member.saved", obj, {"user": obj.name, "role": obj.role})
            before = Member.objects.get(pk=obj.pk)
        elif before.role != obj.role:
            Member.objects.filter(pk=obj.pk).update(role=obj.role)
            record(
                request.user, "member.saved", obj, {"user": obj.name, "from": before.role, "role": obj.role}
            )
        if wanted["address"] != before.address:
            services.set_address(member=before, address=wanted["address"], actor=request.user)
        if wanted["delegate_id"] != before.delegate_id:
            delegate = Member.objects.get(pk=wanted["delegate_id"]) if wanted["delegate_id"] else None
            services.set_delegate(member=before, delegate=delegate, actor=request.user)
        if wanted["voting_power"] != before.voting_power:
            services.set_power(member=before, power=wanted["voting_power"], actor=request.user)
        obj.refresh_from_db()


class PowerEntryInline(admin.TabularInline):
    model = PowerEntry
    fields = ["address", "member", "power", "label", "delegate"]
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PowerSnapshot)
class PowerSnapshotAdmin(admin.ModelAdmin):
    """Read-only: snapshots are written by the services (import_power, a member's power)."""

    list_display = ["__str__", "source", "block_number", "taken_at", "total_power", "label"]
    list_filter = ["source"]
    inlines = [PowerEntryInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PowerSnapshot | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PowerSnapshot | None = None) -> bool:
        return False


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["seq", "at", "actor", "action", "object_repr", "short_hash"]
    list_filter = ["action"]
    search_fields = ["object_repr", "action"]

    @admin.display(description="hash")
    def short_hash(self, entry: AuditLog) -> str:
        return entry.hash[:16]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False
