"""Fixtures of the voting tests: five voters with the demo's powers (1,000,000 in all), two of
them with wallets (the demo's public test keys), and a proposal whose vote is open."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from backtests.services import open_voting
from governance.models import GovernancePolicy, Member
from governance.services import set_address
from proposals import services
from proposals.models import Proposal
from review.management.commands.seed_demo import DEMO_WALLET_KEYS, DEMO_WALLETS
from tests.proposals.factories import complete_backtest, make_proposal, make_user
from voting import signatures
from voting.services import typed_data_for

POWERS = {"voter1": "400000", "voter2": "250000", "voter3": "200000", "voter4": "100000", "voter5": "50000"}


@pytest.fixture
def voters(db) -> dict[str, Any]:
    users = {name: make_user(name, Member.Role.VOTER, power=power) for name, power in POWERS.items()}
    for name, address in DEMO_WALLETS.items():
        set_address(member=users[name].member, address=address, actor=None)
        users[name].member.refresh_from_db()
    return users


def open_proposal(market: Any, author: Any, **changes: Any) -> Proposal:
    """A proposal whose vote is open: scheduled on a complete backtest and started."""
    proposal = make_proposal(market, author, Proposal.Status.BACKTESTING, **(changes or {"ltv": "0.8"}))
    complete_backtest(proposal)
    proposal = open_voting(proposal=proposal)
    if proposal.status == Proposal.Status.PENDING:
        proposal = services.start_voting(proposal=proposal, actor=None, now=proposal.voting_opens_at)
    return proposal


@pytest.fixture
def proposal(aave, contributor, voters) -> Proposal:
    """Open now (the market's voting delay set to 0), so that signed timestamps are fresh."""
    GovernancePolicy.objects.filter(market=aave).update(voting_delay=timedelta(0))
    return open_proposal(aave, contributor)


def at(proposal: Proposal, seconds: float = 0) -> Any:
    """A moment of the vote: ``seconds`` after it opened."""
    return proposal.voting_opens_at + timedelta(seconds=seconds)


def signed(
    proposal: Proposal, user: Any, choice: str, reason: str = "", timestamp: int | None = None
) -> dict:
    """The keyword arguments of a vote signed by the user's test key."""
    timestamp = timestamp if timestamp is not None else int(timezone.now().timestamp())
    typed = typed_data_for(proposal, user.member, choice, reason, timestamp)
    return {
        "choice": choice,
        "reason": reason,
        "signature": signatures.sign_vote(typed, DEMO_WALLET_KEYS[user.username]),
        "timestamp": timestamp,
    }


D = Decimal
