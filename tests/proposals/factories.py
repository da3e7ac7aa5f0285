"""Builders shared by the proposals, governance and e2e tests (they go through the services)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model

from backtests.models import BacktestRun, RunStatus
from backtests.services import open_voting
from governance.models import GovernancePolicy, Guardrail, Member
from proposals import services
from proposals.models import Market, Proposal
from review.management.commands.seed_demo import MARKETS
from review.services import submit_proposal

PASSWORD = "pw-for-tests-123"


def make_user(
    username: str, role: str = Member.Role.CONTRIBUTOR, *, staff: bool = False, power: str = "0"
) -> Any:
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, is_staff=staff, is_superuser=staff
    )
    Member.objects.create(user=user, role=role, voting_power=Decimal(power))
    return user


def make_market(mechanism: str, *, guardrails: bool = True, slug: str | None = None) -> Market:
    """A market as seeded for ``mechanism``, with its live version v1 (and its guardrails)."""
    spec = next(m for m in MARKETS if m["mechanism"] == mechanism)
    market = Market.objects.create(
        slug=slug or spec["slug"],
        name=spec["name"],
        mechanism=mechanism,
        contracts=spec["contracts"],
        target=spec["target"],
        **spec["safe"],
    )
    version = services.create_version(market=market, values=spec["values"], author=None, parent=None)
    services.bootstrap_live_version(version=version, actor=None)
    GovernancePolicy.objects.create(market=market)
    if guardrails:
        for parameter, (max_change, days) in spec["guardrails"].items():
            Guardrail.objects.create(
                market=market,
                parameter=parameter,
                max_change=Decimal(max_change),
                min_delay=timedelta(days=days),
            )
    return market


def live_values(market: Market, **changes: Any) -> dict[str, Any]:
    live = market.live_version
    assert live is not None
    return {**live.values, **changes}


def make_proposal(
    market: Market, author: Any, status: str = Proposal.Status.DRAFT, **changes: Any
) -> Proposal:
    """A proposal driven through the real services up to ``status`` (draft .. exported)."""
    proposal = services.create_draft(
        author=author,
        market=market,
        title="A change",
        rationale="Because.",
        values=live_values(market, **changes),
    )
    path = [
        Proposal.Status.BACKTESTING,
        Proposal.Status.VOTING,
        Proposal.Status.APPROVED,
        Proposal.Status.EXPORTED,
    ]
    if status == Proposal.Status.DRAFT:
        return proposal
    submit_proposal(proposal=proposal, actor=author)
    for step in path[1:]:
        if Proposal.objects.get(pk=proposal.pk).status == status:
            break
        if step == Proposal.Status.VOTING:
            complete_backtest(proposal)
            open_voting(proposal=proposal)
            continue
        services.transition_proposal(proposal=proposal, to=step, actor=None)
    proposal.refresh_from_db()
    assert proposal.status == status
    return proposal


def complete_backtest(proposal: Proposal) -> Any:
    """A COMPLETE backtest run of the proposal's versions, standing for one the workers finished
    (the backtests tests run real ones); voting opens only after one."""
    proposal.refresh_from_db()
    return BacktestRun.objects.create(
        proposal=proposal,
        proposed_version_id=proposal.proposed_version_id,
        live_version_id=proposal.live_version_id,
        status=RunStatus.COMPLETE,
        seed=1,
        n_paths=1,
        chunk_paths=1,
    )
