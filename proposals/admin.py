"""Admin for the platform's administrators: markets and versions (read-only once locked).

Proposals are in review/admin.py: their lifecycle moves cross apps (voting opens on a backtest).
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from governance.admin import GovernancePolicyInline, GuardrailInline, record_rule_change
from proposals import schema, services
from proposals.models import Export, Market, ParameterSetVersion
from proposals.schema.market import check_market_config


class MarketForm(forms.ModelForm):
    class Meta:
        model = Market
        fields = [
            "slug",
            "name",
            "mechanism",
            "chain_id",
            "contracts",
            "target",
            "description",
            "safe_address",
            "safe_version",
            "safe_multisend",
            "custom_adapter",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        mechanism = cleaned.get("mechanism") or getattr(self.instance, "mechanism", None)
        contracts, target = cleaned.get("contracts"), cleaned.get("target")
        if mechanism and isinstance(contracts, dict) and isinstance(target, dict):
            problems = check_market_config(mechanism, contracts, target)
            if problems:
                raise ValidationError(problems)
        return cleaned


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin):
    form = MarketForm
    list_display = ["name", "slug", "mechanism", "chain_id", "safe_address", "safe_version"]
    list_filter = ["mechanism", "chain_id"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [GovernancePolicyInline, GuardrailInline]

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        for deleted in formset.deleted_forms:
            if deleted.instance.pk is not None:
                record_rule_change(request, deleted.instance, deleted=True)
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects + [o for o, _ in formset.changed_objects]:
            record_rule_change(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Market | None = None) -> list[str]:
        # Versions are validated against the mechanism's schema: it cannot change under them.
        return ["mechanism"] if obj is not None and obj.versions.exists() else []


class VersionForm(forms.ModelForm):
    values = forms.JSONField(
        help_text='Decimals as strings, e.g. {"ltv": "0.805", ...} (see proposals/schema.py).'
    )

    class Meta:
        model = ParameterSetVersion
        fields = ["market", "parent", "values", "note"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        market, values = cleaned.get("market"), cleaned.get("values")
        if market is not None and values is not None:
            try:
                normalized = schema.normalize(market.mechanism, values, new=True)
            except schema.SchemaError as exc:
                raise ValidationError({"values": str(exc)}) from exc
            problems = schema.validate(market.mechanism, normalized)
            if problems:
                raise ValidationError({"values": [p.message for p in problems]})
            cleaned["values"] = schema.to_jsonable(normalized)
        return cleaned


@admin.register(ParameterSetVersion)
class ParameterSetVersionAdmin(admin.ModelAdmin):
    form = VersionForm
    list_display = [
        "__str__",
        "market",
        "number",
        "is_live",
        "made_live_at",
        "author",
        "short_hash",
        "created_at",
    ]
    list_filter = ["market", "is_live"]
    readonly_fields = [
        "number",
        "content_hash",
        "is_live",
        "made_live_at",
        "author",
        "created_at",
        "pretty_values",
    ]
    actions = ["make_first_live_version"]

    @admin.display(description="sha256")
    def short_hash(self, obj: ParameterSetVersion) -> str:
        return obj.content_hash[:16]

    @admin.display(description="values")
    def pretty_values(self, obj: ParameterSetVersion) -> str:
        return json.dumps(obj.values, indent=2, sort_keys=True)

    @staticmethod
    def _frozen(obj: ParameterSetVersion | None) -> bool:
        # Stricter than the model's lock: a draft's version is edited through its proposal's
        # page (which rebases and audits it), never here.
        return obj is not None and (
            obj.is_locked() or obj.proposing_proposals.exists() or obj.changing_proposals.exists()
        )

    def get_readonly_fields(self, request: HttpRequest, obj: ParameterSetVersion | None = None) -> list[str]:
        if self._frozen(obj):
            return ["market", "parent", "note", *self.readonly_fields]
        return list(self.readonly_fields)

    def get_fields(self, request: HttpRequest, obj: ParameterSetVersion | None = None) -> list[str]:
        if self._frozen(obj):
            return [
                "market",
                "number",
                "parent",
                "note",
                "pretty_values",
                "content_hash",
                "is_live",
                "made_live_at",
                "author",
                "created_at",
            ]
        return [
            "market",
            "parent",
            "values",
            "note",
            "number",
            "content_hash",
            "is_live",
            "made_live_at",
            "author",
        ]

    def has_delete_permission(self, request: HttpRequest, obj: ParameterSetVersion | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not self._frozen(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ParameterSetVersion]) -> None:
        try:
            queryset.delete()
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)

    def save_model(
        self, request: HttpRequest, obj: ParameterSetVersion, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            obj.save()
            return
        created = services.create_version(
            market=obj.market, values=obj.values, author=request.user, parent=obj.parent, note=obj.note
        )
        obj.pk, obj.number = created.pk, created.number

    @admin.action(
        description="Make live (only a market's first live version; later ones go through proposals)"
    )
    def make_first_live_version(self, request: HttpRequest, queryset: QuerySet[ParameterSetVersion]) -> None:
        for version in queryset:
            try:
                services.bootstrap_live_version(version=version, actor=request.user)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                self.message_user(request, f"{version} is live.", messages.SUCCESS)


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    """Read-only: an export is written once by export_proposal (the proposal page or the command)."""

    list_display = ["__str__", "safe", "chain_id", "nonce", "safe_tx_hash", "created_by", "created_at"]
    list_filter = ["chain_id", "safe_version"]
    search_fields = ["safe_tx_hash", "safe", "proposal__title"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Export | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Export | None = None) -> bool:
        return False
