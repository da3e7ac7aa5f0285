"""Governance workflows used by every app: the audit log and who may do what."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from governance.models import AuditLog, Member


def record(
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    obj: models.Model | None,
    data: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one audit row: who (None for the system), what (``proposal.submitted``), on which
    object, with JSON-safe details (Decimals and datetimes as strings)."""
    payload = json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder))
    return AuditLog.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        data=payload,
    )


def role_of(user: AbstractBaseUser | AnonymousUser) -> str | None:
    """The member role, ``administrator`` for staff without a profile, None for anonymous."""
    if not user.is_authenticated:
        return None
    member = Member.objects.filter(user=user).only("role").first()
    if member is not None:
        return member.role
    return Member.Role.ADMINISTRATOR if user.is_staff else None


def is_administrator(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_authenticated and (user.is_staff or role_of(user) == Member.Role.ADMINISTRATOR))


def can_propose(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Risk contributors and administrators write proposals; voters do not."""
    return is_administrator(user) or role_of(user) == Member.Role.CONTRIBUTOR


def history_of(obj: models.Model) -> models.QuerySet[AuditLog]:
    """The audit rows about one object, oldest first."""
    return (
        AuditLog.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk))
        .select_related("actor")
        .order_by("at", "id")
    )
