"""Guardrails: how far one proposal may move a parameter, and how often (Aave Risk Steward style).

The rule is governance's; which kind of limit a parameter takes follows its unit, which the
parameter schema (proposals.schema) knows, and the schema applies these rules to a change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum


class GuardrailKind(StrEnum):
    """How a guardrail's maximum change is measured (Aave Risk Steward style)."""

    ABSOLUTE = "absolute"  # |after - before| <= max_change   (fractions, ratios)
    RELATIVE = "relative"  # |after - before| / before <= max_change   (caps, amounts)


@dataclass(frozen=True)
class GuardrailRule:
    """Per parameter name: the largest change one proposal may make, and the minimum delay
    since the parameter (at that key) last changed on the live version."""

    max_change: Decimal | None
    min_delay: timedelta | None
