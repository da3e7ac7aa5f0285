"""Fifty members voting at once, and one member voting twice at once, end with exactly one vote
each and an exact tally.

PostgreSQL only: the test needs concurrent transactions with row locks. On SQLite every
write transaction takes the one database lock (``transaction_mode=IMMEDIATE``), so threads
would only queue behind each other and the test would show nothing about the locks; it runs
in the CI pass on PostgreSQL."""

import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import connection
from eth_utils import to_checksum_address

from governance.models import AuditLog, GovernancePolicy, Member
from governance.services import import_power_snapshot
from tests.proposals.factories import make_market, make_user
from tests.voting.conftest import open_proposal
from voting.models import Vote
from voting.services import cast_vote, tally_of

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: on SQLite one database lock serializes every writer, so there is no race to test",
)


def race(calls: list[Callable[[], object]]) -> list[object]:
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


@pytest.fixture
def fifty(transactional_db):
    market = make_market("aave-v3")
    GovernancePolicy.objects.filter(market=market).update(voting_delay=timedelta(0))
    author = make_user("carol")
    users = [make_user(f"member{i:02}", Member.Role.VOTER) for i in range(50)]
    addresses = [to_checksum_address(f"0x{i + 1:040x}") for i in range(50)]
    for user, address in zip(users, addresses, strict=True):
        Member.objects.filter(pk=user.member.pk).update(address=address)
    text = "\n".join(f"{a},{i + 1}" for i, a in enumerate(addresses))  # powers 1..50: 1275 in all
    import_power_snapshot(text=text, actor=None, block_number=1)
    return open_proposal(market, author), users


def test_fifty_members_voting_at_once_leave_fifty_votes_and_an_exact_tally(fifty):
    proposal, users = fifty
    choices = ["for", "against", "abstain"]
    results = race(
        [
            lambda u=u, i=i: cast_vote(proposal=proposal, user=u, choice=choices[i % 3])
            for i, u in enumerate(users)
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Vote.objects.filter(proposal=proposal).count() == 50
    t = tally_of(proposal)
    expected = {c: sum(D(i + 1) for i in range(50) if i % 3 == k) for k, c in enumerate(choices)}
    assert t.power == expected and t.count == {"for": 17, "against": 17, "abstain": 16}
    assert AuditLog.objects.filter(action="vote.cast").count() == 50
    seqs = list(AuditLog.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))  # the chain stayed gapless under the race


def test_one_member_voting_twice_at_once_leaves_one_vote(fifty):
    proposal, users = fifty
    member = users[49]
    results = race(
        [
            lambda: cast_vote(proposal=proposal, user=member, choice="for"),
            lambda: cast_vote(proposal=proposal, user=member, choice="against"),
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    vote = Vote.objects.get(proposal=proposal)
    assert vote.changes == 1
    t = tally_of(proposal)
    assert t.power[vote.choice] == D(50) and sum(t.count.values()) == 1
