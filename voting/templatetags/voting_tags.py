"""Numbers for people on the voting pages: power with thousands separators (exact in hover
text), shares as percentages."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from django import template

register = template.Library()


@register.filter
def power(value: object) -> str:
    """``1234567.891`` -> ``1,234,567.89`` (as the panel's script writes it)."""
    if value in (None, ""):
        return "-"
    number = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    text = f"{number:,.2f}"
    return text.removesuffix(".00")


@register.filter
def percent(value: object) -> str:
    if value in (None, ""):
        return "-"
    return f"{Decimal(str(value)) * 100:.1f} %"
