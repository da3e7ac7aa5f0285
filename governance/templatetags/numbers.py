"""Numbers for people in every app's templates (``{% load numbers %}``).

Filters give the text alone (``{{ x|usd }}``, ``{{ x|pct }}``, ``{{ x|count }}``,
``{{ x|fig:"USD" }}``); the tags give a ``<span>`` whose ``title`` holds the exact value (hover)
and whose ``data-exact`` is what the CSV download of the table writes:

    {% num value "USD" %}                 $169.5M   (title "169530260.2404 USD")
    {% num diff "share" signed=True %}    +1.2 pp
    {% num_interval low high "USD" %}     [+$0.12M, +$0.75M]

Rules: governance/numbers.py.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from governance import numbers

register = template.Library()

UNIT_NAMES = {"USD": "USD", "price": "USD", "share": "(share)", "count": "", "decimal": ""}


def _float(x: Any) -> float | None:
    # A missing template variable resolves to "": no value, not an error.
    return None if x is None or x == "" else float(x)


@register.filter
def usd(x: Any) -> str:
    return numbers.usd(_float(x))


@register.filter
def pct(x: Any) -> str:
    return numbers.share(_float(x))


@register.filter
def count(x: Any) -> str:
    return numbers.count(_float(x))


@register.filter
def fig(x: Any, unit: str) -> str:
    return numbers.number(None if x == "" else x, unit)


@register.filter
def exact(x: Any) -> str:
    return numbers.exact(x)


def _title(x: Any, unit: str) -> str:
    text = numbers.exact(x)
    if not text:
        return "not computed"
    suffix = UNIT_NAMES.get(unit, unit)
    return f"{text} {suffix}".strip()


@register.simple_tag
def num(x: Any, unit: str, signed: bool = False) -> SafeString:
    """The figure for people, its exact value on hover and in the table's CSV."""
    x = None if x == "" else x
    return format_html(
        '<span class="n" title="{}" data-exact="{}">{}</span>',
        _title(x, unit),
        numbers.exact(x),
        numbers.number(x, unit, signed=signed),
    )


@register.simple_tag
def num_interval(low: Any, high: Any, unit: str) -> SafeString:
    """A 95 % interval in its figure's unit and scale; nothing when there is none."""
    if low is None or high is None:
        return format_html("")
    return format_html(
        '<span class="ci" title="95 % interval: [{}, {}] {}" data-exact="[{}, {}]">{}</span>',
        numbers.exact(low),
        numbers.exact(high),
        UNIT_NAMES.get(unit, unit),
        numbers.exact(low),
        numbers.exact(high),
        numbers.interval(low, high, unit),
    )
