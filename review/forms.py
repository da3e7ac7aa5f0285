"""The proposal form, generated from the mechanism's schema (one field per parameter key)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from proposals import export, schema
from proposals.models import Market, ParameterSetVersion, Proposal
from proposals.services import MAX_NONCE, REASON_LENGTH, guardrail_violations


def field_name(key: str) -> str:
    return "p__" + key.replace(".", "__")


class ProposalForm(forms.Form):
    title = forms.CharField(max_length=200)
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Markdown: why this change, what the backtests should show.",
    )

    def __init__(
        self,
        *args: Any,
        market: Market,
        live: ParameterSetVersion,
        values: Mapping[str, Any],
        check_guardrails: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.market, self.live, self.check_guardrails = market, live, check_guardrails
        mechanism = market.mechanism
        self.keys = list(schema.flatten(mechanism, schema.normalize(mechanism, values)))
        live_values = schema.flatten(mechanism, live.decimal_values())
        initial = schema.flatten(mechanism, schema.normalize(mechanism, values))
        for key in self.keys:
            spec = schema.spec_for_key(mechanism, key)
            bounds = (
                f"{schema.fmt(spec.min) if spec.min is not None else '-inf'} to "
                f"{schema.fmt(spec.max) if spec.max is not None else 'inf'}"
            )
            live_text = schema.fmt(live_values[key]) if key in live_values else "none"
            self.fields[field_name(key)] = forms.CharField(
                label=f"{schema.label_for_key(mechanism, key)} ({spec.unit})",
                initial=schema.fmt(initial[key]),
                help_text=f"{spec.name}. Live: {live_text}. Range {bounds}. {spec.description}",
                widget=forms.TextInput(
                    attrs={
                        "inputmode": "decimal",
                        "autocomplete": "off",
                        "data-key": key,
                        "data-live": live_text,
                    }
                ),
            )

    def parameter_fields(self) -> list[forms.BoundField]:
        return [self[field_name(k)] for k in self.keys]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        mechanism = self.market.mechanism
        flat: dict[str, Any] = {}
        for key in self.keys:
            raw = cleaned.get(field_name(key))
            if raw is None:
                continue
            try:
                flat[key] = schema.parse_decimal(raw, schema.label_key(mechanism, key))
            except schema.SchemaError as exc:
                self.add_error(field_name(key), str(exc))
        if len(flat) != len(self.keys):
            return cleaned
        values = schema.normalize(mechanism, schema.unflatten(mechanism, flat), new=True)
        problems = schema.validate(mechanism, values) or schema.check_target(
            mechanism, values, self.market.target
        )
        if not problems and self.check_guardrails:
            problems = guardrail_violations(market=self.market, before=self.live.values, after=values)
        for problem in problems:
            self.add_error(field_name(problem.key) if problem.key in self.keys else None, problem.message)
        cleaned["values"] = values
        return cleaned


class ProposalFilterForm(forms.Form):
    market = forms.ModelChoiceField(
        queryset=Market.objects.all(), required=False, to_field_name="slug", empty_label="All markets"
    )
    status = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", "All statuses"), *Proposal.Status.choices]


class ExecuteForm(forms.Form):
    tx_hash = forms.RegexField(
        regex=r"^0x[0-9a-fA-F]{64}$",
        label="Transaction hash",
        error_messages={"invalid": "A transaction hash is 0x followed by 64 hex digits."},
    )


class ExportForm(forms.Form):
    """The export of an approved proposal: the Safe's next nonce, the Safe and its version (the
    market's by default), and for a re-export the reason."""

    nonce = forms.IntegerField(
        min_value=0, max_value=MAX_NONCE, help_text="The Safe's next nonce (from the Safe app or its API)."
    )
    safe = forms.CharField(label="Safe address", max_length=42)
    safe_version = forms.ChoiceField(choices=[(v, v) for v in export.SAFE_VERSIONS])
    reason = forms.CharField(
        max_length=REASON_LENGTH,
        required=False,
        help_text="Only for a re-export: why (e.g. the nonce was used by another transaction).",
    )
