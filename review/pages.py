"""The pieces the review pages compose (the views stay thin): the parameter diff with each
change's guardrail headroom, the market's history of approved changes, the versions a member
may see, the selection of the compare page."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse

from backtests.compare import MAX_PROPOSALS as MAX_COMPARE
from backtests.compare import MIN_PROPOSALS as MIN_COMPARE
from backtests.panels import headlines
from governance.models import Guardrail
from proposals import schema
from proposals.models import Market, ParameterSetVersion, Proposal

# Proposals whose change was approved (and, later, exported and executed).
APPROVED = (Proposal.Status.APPROVED, Proposal.Status.EXPORTED, Proposal.Status.EXECUTED)


@dataclass(frozen=True)
class DiffLine:
    """One changed parameter: the schema's diff row and how much of its guardrail is left."""

    row: schema.DiffRow
    guardrail: str  # the limit as people read it: "±0.02" or "±100 %"; "" without one
    used: Decimal | None  # the share of the limit this change uses (0.5 = half)
    left: str  # what is left: "0.01" or "40 %"

    @property
    def over(self) -> bool:
        return self.used is not None and self.used > 1


def parameter_diff(proposal: Proposal, *, only_changed: bool = True) -> list[DiffLine]:
    """The proposal's changes (live -> proposed) with the guardrail each one is held to."""
    mechanism = proposal.market.mechanism
    rows = schema.diff(
        mechanism,
        proposal.live_version.decimal_values(),
        proposal.proposed_version.decimal_values(),
        only_changed=only_changed,
    )
    limits = {g.parameter: g for g in Guardrail.objects.filter(market_id=proposal.market_id)}
    return [_line(row, limits.get(schema.spec_for_key(mechanism, row.key).name)) for row in rows]


@schema.exact
def _line(row: schema.DiffRow, guardrail: Guardrail | None) -> DiffLine:
    if guardrail is None or guardrail.max_change is None or not row.changed:
        return DiffLine(
            row, "" if guardrail is None or guardrail.max_change is None else _limit(guardrail), None, ""
        )
    limit = guardrail.max_change
    if guardrail.kind == schema.GuardrailKind.ABSOLUTE:
        moved = abs(row.change) if row.change is not None else None
        left = None if moved is None else schema.fmt(max(limit - moved, Decimal(0)))
    else:
        moved = abs(row.relative_change) if row.relative_change is not None else None
        # A relative change of a third leaves a repeating decimal: shown to 0.01 %, rounded
        # down (never more headroom than there is).
        left = None
        if moved is not None:
            pct = (max(limit - moved, Decimal(0)) * 100).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
            left = f"{schema.fmt(pct)} %"
    if moved is None:
        return DiffLine(row, _limit(guardrail), None, "")
    used = moved / limit if limit else None
    return DiffLine(row, _limit(guardrail), used, left or "")


def _limit(guardrail: Guardrail) -> str:
    if guardrail.kind == schema.GuardrailKind.RELATIVE:
        return f"\u00b1{schema.fmt(guardrail.max_change * 100)} %"
    return f"\u00b1{schema.fmt(guardrail.max_change)}"


def visible_versions(market: Market, user: Any) -> QuerySet[ParameterSetVersion]:
    return ParameterSetVersion.objects.visible_to(user).filter(market=market)


def approved_history(market: Market, user: Any) -> list[dict[str, Any]]:
    """The market's approved changes, newest first, each with its verdict's headline."""
    proposals = list(
        Proposal.objects.visible_to(user)
        .filter(market=market, status__in=APPROVED)
        .select_related("author", "live_version", "proposed_version")
        .order_by("-decided_at", "-pk")
    )
    heads = headlines(p.pk for p in proposals)
    return [{"proposal": p, "headline": heads.get(p.pk)} for p in proposals]


# Proposals still on the table: compared with each other on the compare page.
OPEN = (
    Proposal.Status.BACKTESTING,
    Proposal.Status.PENDING,
    Proposal.Status.VOTING,
    Proposal.Status.APPROVED,
)


class CompareError(ValueError):
    """What is wrong with a comparison's selection, said to the member."""


def compare_selection(user: Any, ids: list[str]) -> list[Proposal]:
    """The proposals to compare, in the order asked, among those the member may see: 2 to 4
    distinct ids of one market (CompareError otherwise; Http404 for one the member may not see)."""
    try:
        wanted = list(dict.fromkeys(int(i) for i in ids))
    except ValueError:
        raise CompareError("proposal ids are whole numbers, for example ?ids=3&ids=4") from None
    if not MIN_COMPARE <= len(wanted) <= MAX_COMPARE:
        raise CompareError(f"choose {MIN_COMPARE} to {MAX_COMPARE} proposals; {len(wanted)} chosen")
    found = Proposal.objects.visible_to(user).select_related("market", "live_version", "proposed_version")
    by_id = {p.pk: p for p in found.filter(pk__in=wanted)}
    if len(by_id) != len(wanted):
        raise Http404("no such proposal")
    proposals = [by_id[i] for i in wanted]
    if len({p.market_id for p in proposals}) != 1:
        raise CompareError(
            "proposals of different markets cannot be compared: choose proposals of one market"
        )
    return proposals


def compare_candidates(proposal: Proposal, user: Any) -> list[Proposal]:
    """The other open proposals of the proposal's market the member may see, newest first (at
    most three, so that with this one they fill the compare page)."""
    return list(
        Proposal.objects.visible_to(user)
        .filter(market_id=proposal.market_id, status__in=OPEN)
        .exclude(pk=proposal.pk)
        .order_by("-pk")[: MAX_COMPARE - 1]
    )


def compare_url(proposal: Proposal, user: Any) -> str:
    """The compare page of this proposal with the other open ones of its market; "" without any."""
    others = compare_candidates(proposal, user)
    if not others:
        return ""
    query = "&".join(f"ids={p.pk}" for p in [proposal, *others])
    return f"{reverse('review:compare')}?{query}"
