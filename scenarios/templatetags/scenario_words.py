"""Words for a scenario's definition (``{% load scenario_words %}``)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def duration(seconds: Any) -> str:
    """A time in seconds as people write it: ``3600 -> "1 h"``, ``900 -> "15 min"``, ``90 -> "90 s"``."""
    if seconds is None or seconds == "":
        return ""
    s = float(seconds)
    if s and s % 3600 == 0:
        return f"{s / 3600:g} h"
    if s and s % 60 == 0:
        return f"{s / 60:g} min"
    return f"{s:g} s"
