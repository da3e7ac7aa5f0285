"""Versions: numbered, immutable parameter sets of a market, the live one, and the checks a
proposed set must pass (bounds, invariants, guardrails)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from governance.models import Guardrail
from governance.services import record
from proposals import schema
from proposals.models import (
    Market,
    ParameterSetVersion,
    Proposal,
)
from proposals.services.common import ProposalRefused

# -- Versions -----------------------------------------------------------------------------------


def create_version(
    *,
    market: Market,
    values: Mapping[str, Any],
    author: AbstractBaseUser | None,
    parent: ParameterSetVersion | None,
    note: str = "",
) -> ParameterSetVersion:
    """A new version numbered after the market's last one; refused if it breaks a bound or an
    invariant (ProposalRefused)."""
    normalized = valid_values(market, values)
    with transaction.atomic():
        Market.objects.select_for_update().get(pk=market.pk)  # serialize numbering per market
        last = market.versions.aggregate(n=Max("number"))["n"] or 0
        version = ParameterSetVersion.objects.create(
            market=market, number=last + 1, parent=parent, author=author, values=normalized, note=note
        )
        record(author, "version.created", version, {"market": market.slug, "hash": version.content_hash})
    return version


def set_live_version(
    *, version: ParameterSetVersion, actor: AbstractBaseUser | None, now: datetime | None = None
) -> ParameterSetVersion:
    """Make ``version`` its market's live version (the previous one stops being live)."""
    now = now or timezone.now()
    with transaction.atomic():
        Market.objects.select_for_update().get(pk=version.market_id)
        previous = ParameterSetVersion.objects.filter(market_id=version.market_id, is_live=True).first()
        if previous is not None and previous.pk == version.pk:
            return previous
        if previous is not None:
            previous.is_live = False
            previous.save(update_fields=["is_live"])
        version.refresh_from_db()
        version.is_live = True
        version.made_live_at = now
        version.save()
        record(
            actor,
            "version.live_changed",
            version,
            {
                "market": version.market.slug,
                "from": previous.number if previous else None,
                "to": version.number,
                "hash": version.content_hash,
            },
        )
    return version


def bootstrap_live_version(
    *, version: ParameterSetVersion, actor: AbstractBaseUser | None
) -> ParameterSetVersion:
    """Administrators set the first live version of a market; later changes go through proposals."""
    if ParameterSetVersion.objects.filter(market_id=version.market_id, is_live=True).exists():
        raise ValidationError(f"{version.market} already has a live version: change it with a proposal.")
    return set_live_version(version=version, actor=actor)


def live_history(market: Market) -> list[tuple[datetime, dict[str, Any]]]:
    versions = market.versions.filter(made_live_at__isnull=False).order_by("made_live_at", "number")
    return [(v.made_live_at, v.values) for v in versions]


# -- Validation of proposed values -------------------------------------------------------------


def valid_values(market: Market, values: Mapping[str, Any]) -> dict[str, Any]:
    try:
        normalized = schema.normalize(market.mechanism, values, new=True)
    except schema.SchemaError as exc:
        raise ProposalRefused([schema.Violation("", str(exc))]) from exc
    problems = schema.validate(market.mechanism, normalized) or schema.check_target(
        market.mechanism, normalized, market.target
    )
    if problems:
        raise ProposalRefused(problems)
    return normalized


def guardrail_violations(
    *, market: Market, before: Mapping[str, Any], after: Mapping[str, Any], now: datetime | None = None
) -> list[schema.Violation]:
    rules = {g.parameter: g.rule() for g in Guardrail.objects.filter(market=market)}
    last = schema.last_changed_keys(market.mechanism, live_history(market))
    return schema.check_guardrails(
        market.mechanism,
        schema.normalize(market.mechanism, before),
        schema.normalize(market.mechanism, after),
        rules,
        last,
        now or timezone.now(),
    )


def check_proposal_values(
    *, market: Market, live: ParameterSetVersion, values: Mapping[str, Any], now: datetime | None = None
) -> list[schema.Violation]:
    """Everything that would stop a submission: shape, bounds, invariants, then guardrails."""
    try:
        normalized = valid_values(market, values)
    except ProposalRefused as exc:
        return exc.violations
    return guardrail_violations(market=market, before=live.values, after=normalized, now=now)


def submission_blockers(*, proposal: Proposal, now: datetime | None = None) -> list[schema.Violation]:
    """Why this draft could not be submitted now (empty when it could)."""
    live = ParameterSetVersion.objects.filter(market_id=proposal.market_id, is_live=True).first()
    if live is None or proposal.live_version_id != live.pk:
        return [
            schema.Violation(
                "",
                (
                    f"the live version changed since this draft was written (then v{proposal.live_version.number}, "
                    f"now v{live.number if live else 'none'}): edit the draft to rebase it, then submit."
                ),
            )
        ]
    return check_proposal_values(
        market=proposal.market, live=live, values=proposal.proposed_version.values, now=now
    )
