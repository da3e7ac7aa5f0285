"""Workflows that cross apps: a proposal is written and submitted here, and submitting it starts
its backtest (proposals -> backtests, in one transaction)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from backtests.services import start_backtest
from proposals import services as proposal_services
from proposals.models import Market, Proposal


def submit_proposal(*, proposal: Proposal, actor: AbstractBaseUser, now: datetime | None = None) -> Proposal:
    """Draft -> backtesting (proposals.services.submit_draft: guardrails, invariants, audit),
    then start its backtest; the run's work is queued when the transaction commits."""
    with transaction.atomic():
        proposal = proposal_services.submit_draft(proposal=proposal, actor=actor, now=now)
        start_backtest(proposal=proposal, user=proposal.author)
    return proposal


def save_proposal(
    *,
    actor: AbstractBaseUser,
    market: Market,
    proposal: Proposal | None,
    title: str,
    rationale: str,
    values: Mapping[str, Any],
    submit: bool = False,
) -> Proposal:
    """Create or update a draft and, if asked, submit it: all or nothing."""
    with transaction.atomic():
        if proposal is None:
            proposal = proposal_services.create_draft(
                author=actor, market=market, title=title, rationale=rationale, values=values
            )
        else:
            proposal = proposal_services.update_draft(
                proposal=proposal, actor=actor, title=title, rationale=rationale, values=values
            )
        if submit:
            proposal = submit_proposal(proposal=proposal, actor=actor)
    return proposal
