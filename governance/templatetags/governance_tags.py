"""Who may do what, for templates (the views check again)."""

from __future__ import annotations

from django import template
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from governance import services

register = template.Library()


@register.filter
def can_propose(user: AbstractBaseUser | AnonymousUser) -> bool:
    return services.can_propose(user)


@register.filter
def is_administrator(user: AbstractBaseUser | AnonymousUser) -> bool:
    return services.is_administrator(user)


@register.filter
def role_label(user: AbstractBaseUser | AnonymousUser) -> str:
    role = services.role_of(user)
    return {"administrator": "Administrator", "contributor": "Risk contributor", "voter": "Voter"}.get(
        role or "", ""
    )
