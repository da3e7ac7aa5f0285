"""The demo: the five demo voters vote on the demo proposal (two signed by test keys), it
passes quorum and threshold, the outcome is frozen with its timelock, both verifications
succeed, and one row changed behind the application's back makes each fail, naming it."""

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.db import connection

from backtests.services import open_voting
from governance.models import AuditLog, GovernancePolicy
from proposals.models import Proposal
from review.management.commands.seed_demo import DEMO_MARKET, DEMO_WALLETS
from tests.proposals.factories import complete_backtest
from tests.voting.test_verify import run
from voting.services import close_voting


def test_the_demo_vote_passes_and_verifies_and_a_changed_row_is_named(db):
    call_command("seed_demo", stdout=StringIO())
    policy = GovernancePolicy.objects.get(market__slug=DEMO_MARKET)
    assert (policy.voting_delay, policy.voting_period, policy.timelock) == (
        timedelta(seconds=30),
        timedelta(minutes=3),
        timedelta(minutes=2),
    )
    GovernancePolicy.objects.filter(pk=policy.pk).update(voting_delay=timedelta(0))  # no 30 s wait here
    proposal = (
        Proposal.objects.filter(market__slug=DEMO_MARKET, status=Proposal.Status.BACKTESTING)
        .order_by("pk")
        .first()
    )
    complete_backtest(proposal)  # the worker's run, on the demo site
    open_voting(proposal=proposal)
    out = StringIO()
    call_command("cast_demo_votes", stdout=out)
    assert f"voter1: for, signed by {DEMO_WALLETS['voter1']}" in out.getvalue()
    assert "voter3: against, unsigned" in out.getvalue()
    proposal.refresh_from_db()
    outcome = close_voting(proposal=proposal, now=proposal.closes_at)
    proposal.refresh_from_db()
    assert outcome.result == proposal.status == "approved"
    assert proposal.timelock_ends_at == proposal.decided_at + timedelta(minutes=2)
    code, text, _ = run("verify_votes", str(proposal.pk))
    assert code == 0 and "signed power 650000, unsigned power 350000" in text
    assert run("verify_audit_log")[0] == 0
    with connection.cursor() as cursor:
        cursor.execute("UPDATE voting_vote SET reason = 'changed' WHERE reason = ''")
    code, _, err = run("verify_votes", str(proposal.pk))
    assert (
        code == 1 and "(voter4) differs from audit entry" in err and "reason 'changed' in the database" in err
    )
    entry = AuditLog.objects.get(action="proposal.decided")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE governance_auditlog SET object_repr = 'x' WHERE id = %s", [entry.pk])
    code, _, err = run("verify_audit_log")
    assert code == 1 and f"entry #{entry.seq} (id {entry.pk}, proposal.decided" in err
