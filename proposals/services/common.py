"""What every proposal workflow shares: the locks (market first, then proposal), the refusal
of a proposal that breaks a rule, and who may edit."""

from __future__ import annotations

from typing import Protocol

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError

from governance.services import is_administrator
from proposals import schema
from proposals.models import (
    Market,
    ParameterSetVersion,
    Proposal,
)

Status = Proposal.Status


class CompletedBacktest(Protocol):
    """What the move to voting needs to know of a backtest run (backtests.models.BacktestRun;
    the backtests app sits above this one, so it passes its run in rather than being imported)."""

    proposal_id: int
    live_version_id: int
    proposed_version_id: int

    @property
    def is_complete(self) -> bool: ...


class ProposalRefused(ValidationError):
    """A proposal breaks a bound, an invariant or a guardrail; ``violations`` says which."""

    def __init__(self, violations: list[schema.Violation]):
        super().__init__([v.message for v in violations])
        self.violations = violations


def lock_proposal(proposal: Proposal) -> Proposal:
    """Lock the proposal's market, then the proposal, and return it fresh from the database.

    Every workflow locks in this order (market, then proposals), so two concurrent workflows on
    one market serialize instead of deadlocking, and each sees the other's committed result.
    """
    market_id = Proposal.objects.values_list("market_id", flat=True).get(pk=proposal.pk)
    Market.objects.select_for_update().get(pk=market_id)
    return Proposal.objects.select_for_update().get(pk=proposal.pk)


def live_for_update(market: Market) -> ParameterSetVersion:
    Market.objects.select_for_update().get(pk=market.pk)
    live = ParameterSetVersion.objects.filter(market=market, is_live=True).first()
    if live is None:
        raise ValidationError(f"{market} has no live version yet: an administrator must set one first.")
    return live


def require_editor(proposal: Proposal, actor: AbstractBaseUser) -> None:
    if not (actor.pk == proposal.author_id or is_administrator(actor)):
        raise PermissionDenied("only the proposal's author or an administrator may do this")
