"""Workflows that cross apps: a proposal is written and submitted here, and submitting it starts
its backtest (proposals -> backtests, in one transaction); an approved proposal is exported
with its backtest's verdict and manifest in the report (backtests -> proposals)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.urls import reverse

from backtests.panels import verdict_text
from backtests.services import complete_run, start_backtest
from proposals import services as proposal_services
from proposals.models import Export, Market, Proposal


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


def export_proposal(
    *,
    proposal: Proposal,
    actor: AbstractBaseUser | None,
    nonce: int,
    safe: str | None = None,
    safe_version: str | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Export:
    """proposals.services.export_proposal (approved, after the timelock; stored, audited), with
    the backtest's evidence for the change report: the verdict of the proposal's complete
    run and the address of its manifest."""
    run = complete_run(proposal)
    return proposal_services.export_proposal(
        proposal=proposal,
        actor=actor,
        nonce=nonce,
        safe=safe,
        safe_version=safe_version,
        verdict=verdict_text(run) if run else "No complete backtest run of these versions was found.",
        manifest_url=settings.SITE_URL + reverse("backtests:manifest", args=[run.pk]) if run else "",
        reason=reason,
        now=now,
    )
