"""Two requests racing on one proposal or market: the locks let exactly one win."""

import threading
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from governance.models import AuditLog
from proposals import services
from proposals.models import Export, Proposal
from review.services import submit_proposal
from tests.proposals.factories import make_market, make_proposal, make_user

S = Proposal.Status


def race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads released together; each result is a return value or an exception."""
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
        t.join(60)
    return results


@pytest.fixture
def setup(transactional_db):
    return make_market("aave-v3"), make_user("carol"), make_user("ada", "administrator", staff=True)


def test_two_simultaneous_submits_of_one_draft_submit_it_once(setup):
    aave, carol, _ = setup
    draft = make_proposal(aave, carol, ltv="0.8")
    results = race(
        lambda: submit_proposal(proposal=draft, actor=carol),
        lambda: submit_proposal(proposal=draft, actor=carol),
    )
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1 and isinstance(failures[0], ValidationError), results
    assert "only a draft can be submitted" in str(failures[0])
    assert Proposal.objects.get(pk=draft.pk).status == S.BACKTESTING
    assert AuditLog.objects.filter(action="proposal.submitted").count() == 1


def test_two_simultaneous_executions_on_one_market_leave_one_winner(setup):
    aave, carol, ada = setup
    a = make_proposal(aave, carol, S.EXPORTED, ltv="0.8")
    b = make_proposal(aave, carol, S.EXPORTED, reserve_factor="0.2")
    now = max(a.timelock_ends_at, b.timelock_ends_at)
    results = race(
        lambda: services.execute_proposal(proposal=a, actor=ada, tx_hash="0x" + "aa" * 32, now=now),
        lambda: services.execute_proposal(proposal=b, actor=ada, tx_hash="0x" + "bb" * 32, now=now),
    )
    statuses = sorted(Proposal.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True))
    assert statuses == [S.EXECUTED, S.SUPERSEDED]
    assert sum(isinstance(r, ValidationError) for r in results) == 1, results
    winner = Proposal.objects.get(status=S.EXECUTED)
    assert list(aave.versions.filter(is_live=True)) == [winner.proposed_version]


def test_two_simultaneous_exports_store_one_export(setup):
    aave, carol, ada = setup
    proposal = make_proposal(aave, carol, S.APPROVED, ltv="0.8")
    now = proposal.timelock_ends_at
    results = race(
        lambda: services.export_proposal(proposal=proposal, actor=ada, nonce=4, now=now),
        lambda: services.export_proposal(proposal=proposal, actor=ada, nonce=4, now=now),
    )
    assert all(isinstance(r, Export) for r in results), results
    assert results[0].pk == results[1].pk and Export.objects.count() == 1
    assert AuditLog.objects.filter(action="proposal.exported").count() == 1
    assert Proposal.objects.get(pk=proposal.pk).status == S.EXPORTED
