"""Diffs between two parameter sets and guardrails on the change (Aave Risk Steward style)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from governance.guardrails import GuardrailKind, GuardrailRule
from proposals.schema.base import ParameterSpec, Unit, Violation, exact, fmt
from proposals.schema.values import flatten, label_for_key, label_key, spec_for_key

# -- Diff ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffRow:
    key: str
    label: str
    unit: Unit
    before: Decimal | None
    after: Decimal | None

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    @exact
    def change(self) -> Decimal | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    @exact
    def relative_change(self) -> Decimal | None:
        """(after - before) / before; None when before is 0 or absent."""
        if self.change is None or not self.before:
            return None
        return self.change / self.before


def diff(
    mechanism: str, before: Mapping[str, Any], after: Mapping[str, Any], *, only_changed: bool = True
) -> list[DiffRow]:
    """Rows in schema order; keys present on one side only (a new asset or tier) have None."""
    a, b = flatten(mechanism, before), flatten(mechanism, after)
    keys = list(a) + [k for k in b if k not in a]
    rows = [
        DiffRow(k, label_for_key(mechanism, k), spec_for_key(mechanism, k).unit, a.get(k), b.get(k))
        for k in keys
    ]
    return [r for r in rows if r.changed] if only_changed else rows


# -- Guardrails (Aave Risk Steward style) -------------------------------------------------------


@exact
def check_guardrails(
    mechanism: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    rules: Mapping[str, GuardrailRule],
    last_changed: Mapping[str, datetime],
    now: datetime,
) -> list[Violation]:
    """Violations of the rules by the change before -> after.

    As in Aave's RiskSteward (``_validateParamUpdate``): fractions and ratios are limited in
    absolute terms, caps and amounts relative to the current value, and a relative limit refuses
    a change from or to 0 (no cap) since no relative change can be measured.
    """
    out = []
    for row in diff(mechanism, before, after):
        spec = spec_for_key(mechanism, row.key)
        rule = rules.get(spec.name)
        if rule is None:
            continue
        name = label_key(mechanism, row.key)
        if row.before is None or row.after is None:
            out.append(Violation(row.key, f"{name}: adding or removing a parameter is beyond the guardrail."))
            continue
        if rule.max_change is not None:
            out.extend(_check_change(row, spec, rule.max_change, name))
        when = last_changed.get(row.key)
        if rule.min_delay is not None and when is not None and now - when < rule.min_delay:
            out.append(
                Violation(
                    row.key,
                    f"{name} last changed on {when:%Y-%m-%d %H:%M} UTC; the guardrail requires "
                    f"{human_duration(rule.min_delay)} between changes (possible from {when + rule.min_delay:%Y-%m-%d %H:%M} UTC).",
                )
            )
    return out


def _check_change(row: DiffRow, spec: ParameterSpec, limit: Decimal, name: str) -> list[Violation]:
    assert row.before is not None and row.after is not None
    move = f"from {fmt(row.before)} to {fmt(row.after)}"
    if spec.guardrail is GuardrailKind.ABSOLUTE:
        if abs(row.after - row.before) > limit:
            return [
                Violation(
                    row.key,
                    f"{name}: the change {move} ({_signed(row.after - row.before)}) exceeds "
                    f"the guardrail of {fmt(limit)} (absolute) per proposal.",
                )
            ]
        return []
    if row.before == 0 or row.after == 0:
        return [
            Violation(
                row.key,
                f"{name}: the change {move} cannot be measured against the relative "
                f"guardrail of {fmt(limit * 100)} % (0 means no cap).",
            )
        ]
    rel = (row.after - row.before) / row.before
    if abs(rel) > limit:
        return [
            Violation(
                row.key,
                f"{name}: the change {move} ({_signed(rel * 100, 4)} %) exceeds the guardrail "
                f"of {fmt(limit * 100)} % (relative) per proposal.",
            )
        ]
    return []


def _signed(value: Decimal, places: int | None = None) -> str:
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places))
    text = fmt(value)
    return text if text.startswith("-") else "+" + text


def human_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{seconds} seconds"


def last_changed_keys(
    mechanism: str, live_history: Iterable[tuple[datetime, Mapping[str, Any]]]
) -> dict[str, datetime]:
    """Key -> when it last changed, from the live versions in the order they went live.

    The first version is the starting point, not a change.
    """
    out: dict[str, datetime] = {}
    previous: dict[str, Decimal] | None = None
    for when, values in live_history:
        flat = flatten(mechanism, values)
        if previous is not None:
            for key in set(flat) | set(previous):
                if flat.get(key) != previous.get(key):
                    out[key] = when
        previous = flat
    return out
