"""Builders shared by the proposals, governance and e2e tests (they go through the services)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model

from backtests.models import BacktestRun, RunStatus
from backtests.services import open_voting
from governance.models import GovernancePolicy, Guardrail, Member
from governance.services import set_power
from proposals import services
from proposals.models import Market, Proposal
from review.management.commands.seed_demo import MARKETS
from review.services import submit_proposal
from voting.services import cast_vote, close_voting

PASSWORD = "pw-for-tests-123"


def make_user(
    username: str, role: str = Member.Role.CONTRIBUTOR, *, staff: bool = False, power: str = "0"
) -> Any:
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, is_staff=staff, is_superuser=staff
    )
    member = Member.objects.create(user=user, role=role)
    if Decimal(power) > 0:
        set_power(member=member, power=Decimal(power), actor=None)
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
    """A proposal driven through the real services up to ``status`` (draft .. exported): the
    backtest stands completed, voting is scheduled and opened, and for an outcome a voter of
    the factory votes (For to approve, Against to reject, nobody for no quorum) and the vote
    is closed at its end; the export (Safe nonce 0) happens when the timelock has passed (times
    simulated)."""
    S = Proposal.Status
    proposal = services.create_draft(
        author=author,
        market=market,
        title="A change",
        rationale="Because.",
        values=live_values(market, **changes),
    )
    if status == S.DRAFT:
        return proposal
    submit_proposal(proposal=proposal, actor=author)
    if status == S.BACKTESTING:
        return proposal
    voter = factory_voter() if status in (S.APPROVED, S.EXPORTED, S.REJECTED) else None
    complete_backtest(proposal)
    proposal = open_voting(proposal=proposal)
    if status == S.PENDING:
        return proposal
    if proposal.status == S.PENDING:
        proposal = services.start_voting(proposal=proposal, actor=None, now=proposal.voting_opens_at)
    if status == S.VOTING:
        return proposal
    choice = None if voter is None else "against" if status == S.REJECTED else "for"
    proposal = decide_by_vote(proposal, choice, voter)
    if status == S.EXPORTED:
        services.export_proposal(proposal=proposal, actor=None, nonce=0, now=proposal.timelock_ends_at)
    proposal.refresh_from_db()
    assert proposal.status == status, (proposal.status, status)
    return proposal


def decide_by_vote(proposal: Proposal, choice: str | None, voter: Any = None) -> Proposal:
    """Open the proposal's vote if it is pending, let ``voter`` (the factory's decisive voter by
    default) vote ``choice`` (nobody votes for None: no quorum), and close the vote at its end."""
    proposal.refresh_from_db()
    if proposal.status == Proposal.Status.PENDING:
        proposal = services.start_voting(proposal=proposal, actor=None, now=proposal.voting_opens_at)
    if choice is not None:
        cast_vote(
            proposal=proposal, user=voter or factory_voter(), choice=choice, now=proposal.voting_opens_at
        )
    proposal.refresh_from_db()
    close_voting(proposal=proposal, now=proposal.closes_at)
    proposal.refresh_from_db()
    return proposal


def policy_over_at_once(market: Market) -> None:
    """No voting delay, a one-microsecond vote, no extension and no timelock: a proposal that
    make_proposal then drives to approved or exported has its times already past, so a page
    (which uses the clock, not simulated times) may export or execute it."""
    GovernancePolicy.objects.filter(market=market).update(
        voting_delay=timedelta(0),
        voting_period=timedelta(microseconds=1),
        vote_extension=timedelta(0),
        timelock=timedelta(0),
    )


def factory_voter() -> Any:
    """A voter holding at least half of the power in force, so that their vote decides."""
    user = get_user_model().objects.filter(username="factory-voter").first()
    if user is None:
        user = make_user("factory-voter", Member.Role.VOTER)
    member = user.member
    others = sum(m.voting_power for m in Member.objects.exclude(pk=member.pk))
    if member.voting_power < max(others, Decimal(1000)):
        set_power(member=member, power=max(others, Decimal(1000)), actor=None)
    return user


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
