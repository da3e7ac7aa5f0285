"""Template filters: safe Markdown, exact decimals, relative changes."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import markdown as md
import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe

from proposals import schema

register = template.Library()

# What a rationale may contain once rendered: text formatting, lists, tables, code, links.
ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "b",
    "i",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "sup",
    "sub",
    "del",
}


@register.filter(name="markdown")
def render_markdown(text: str) -> SafeString:
    """Markdown to HTML, then sanitized with nh3 (scripts, handlers and javascript: URLs removed)."""
    html = md.markdown(text or "", extensions=["extra", "sane_lists"], output_format="html")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitized by nh3 just above


@register.filter
def dec(value: Decimal | None) -> str:
    """An exact decimal, without exponent or trailing zeros; an em dash for none."""
    if value is None:
        return "—"
    return schema.fmt(value)


@register.filter
def signed(value: Decimal | None) -> str:
    if value is None:
        return "—"
    text = schema.fmt(value)
    return text if text.startswith("-") or text == "0" else "+" + text


@register.filter
def percent(value: Decimal | None) -> str:
    """A relative change as a signed percentage with two decimals (0.0241 -> +2.41 %)."""
    if value is None:
        return "—"
    pct = (value * 100).quantize(Decimal("0.01"))
    return "0.00 %" if pct == 0 else f"{pct:+.2f} %"


@register.filter
def duration(value: timedelta | None) -> str:
    """3 days, 12 hours, 90 seconds; an em dash for none."""
    if value is None:
        return "—"
    return schema.human_duration(value)


@register.filter
def guardrail_limit(guardrail: Any) -> str:
    """A guardrail's max change as people read it: 0.05 (absolute) or 100 % (relative)."""
    if guardrail.max_change is None:
        return "—"
    if guardrail.kind == schema.GuardrailKind.RELATIVE:
        return f"{schema.fmt(guardrail.max_change * 100)} %"
    return schema.fmt(guardrail.max_change)


@register.filter
def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
