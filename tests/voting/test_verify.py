"""verify_votes and verify_audit_log: they succeed on an honest vote, and a row changed, removed
or reordered behind the application's back makes them fail, naming it."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from governance.models import AuditLog, PowerEntry
from tests.voting.conftest import at, signed
from voting.models import Outcome, Vote
from voting.services import cast_vote, close_voting


@pytest.fixture
def decided(proposal, voters):
    """The demo's votes: two signed, three unsigned; approved and frozen."""
    cast_vote(proposal=proposal, user=voters["voter1"], **signed(proposal, voters["voter1"], "for", "ok"))
    cast_vote(proposal=proposal, user=voters["voter2"], **signed(proposal, voters["voter2"], "for"))
    cast_vote(proposal=proposal, user=voters["voter3"], choice="against", now=at(proposal, 3))
    cast_vote(proposal=proposal, user=voters["voter4"], choice="for", now=at(proposal, 4))
    cast_vote(proposal=proposal, user=voters["voter5"], choice="abstain", now=at(proposal, 5))
    close_voting(proposal=proposal, now=proposal.closes_at)
    proposal.refresh_from_db()
    return proposal


def run(command, *args):
    out, err = StringIO(), StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


def behind_the_back(sql, *params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_an_honest_vote_verifies_with_signed_and_unsigned_power_apart(decided):
    code, out, err = run("verify_votes", str(decided.pk))
    assert code == 0, err
    assert "5 votes, 2 signed" in out
    assert "signed power 650000, unsigned power 350000" in out
    assert "outcome recomputed: approved" in out
    code, out, err = run("verify_audit_log")
    assert code == 0, err
    assert f"{AuditLog.objects.count()} entries" in out and "1 outcome(s) agree" in out


def test_an_unsigned_vote_changed_in_the_database_is_named_by_verify_votes(decided):
    vote = Vote.objects.get(member__user__username="voter3")
    behind_the_back("UPDATE voting_vote SET choice = 'for' WHERE id = %s", vote.pk)
    code, _, err = run("verify_votes", str(decided.pk))
    assert code == 1
    assert f"vote id {vote.pk} (voter3) differs from audit entry #" in err
    assert "choice 'for' in the database, 'against' in the log" in err
    assert "outcome id" in err and "for power is 750000" in err


def test_a_signed_vote_changed_in_the_database_fails_its_signature(decided):
    vote = Vote.objects.get(member__user__username="voter1")
    behind_the_back("UPDATE voting_vote SET choice = 'against' WHERE id = %s", vote.pk)
    _, _, err = run("verify_votes", str(decided.pk))
    assert f"vote id {vote.pk} (voter1): the signature is not" in err and "changed after it was signed" in err


def test_a_vote_removed_from_the_database_is_named_from_the_audit_log(decided):
    vote = Vote.objects.get(member__user__username="voter5")
    behind_the_back("DELETE FROM voting_vote WHERE id = %s", vote.pk)
    code, _, err = run("verify_votes", str(decided.pk))
    assert (
        code == 1 and f"records a vote by voter5 (vote id {vote.pk}) that the database no longer has" in err
    )


def test_a_power_entry_changed_in_the_database_is_named(decided):
    entry = PowerEntry.objects.filter(snapshot=decided.power_snapshot, member__user__username="voter4").get()
    behind_the_back("UPDATE governance_powerentry SET power = 900000 WHERE id = %s", entry.pk)
    code, _, err = run("verify_votes", str(decided.pk))
    assert code == 1
    assert f"power entry id {entry.pk}" in err and "900000" in err
    assert "no longer match its hash" in err


def test_a_frozen_outcome_changed_in_the_database_is_named(decided):
    outcome = Outcome.objects.get()
    behind_the_back("UPDATE voting_outcome SET result = 'rejected' WHERE id = %s", outcome.pk)
    _, _, err = run("verify_votes", str(decided.pk))
    assert f"outcome id {outcome.pk}: result is rejected frozen, approved recomputed" in err


def test_verify_votes_usage_errors_exit_2(db, contributor, aave):
    assert run("verify_votes", "999")[0] == 2
    from tests.proposals.factories import make_proposal  # noqa: PLC0415 - only here

    draft = make_proposal(aave, contributor, ltv="0.8")
    code, _, err = run("verify_votes", str(draft.pk))
    assert code == 2 and "never scheduled" in err


def test_an_audit_entry_changed_in_the_database_is_named_by_verify_audit_log_and_verify_votes(decided):
    entry = AuditLog.objects.get(action="vote.cast", data__voter="voter3")
    data = dict(entry.data, choice="for")
    behind_the_back(
        "UPDATE governance_auditlog SET data = %s WHERE id = %s", __import__("json").dumps(data), entry.pk
    )
    code, _, err = run("verify_audit_log")
    assert code == 1 and f"entry #{entry.seq} (id {entry.pk}, vote.cast" in err and "was changed" in err
    _, _, err = run("verify_votes", str(decided.pk))
    assert "choice 'against' in the database, 'for' in the log" in err


def test_a_removed_audit_entry_is_named(decided):
    entry = AuditLog.objects.get(action="vote.cast", data__voter="voter4")
    behind_the_back("DELETE FROM governance_auditlog WHERE id = %s", entry.pk)
    code, _, err = run("verify_audit_log")
    assert code == 1 and f"entry #{entry.seq} is missing" in err


def test_reordered_audit_entries_are_named(decided):
    a, b = AuditLog.objects.filter(action="vote.cast").order_by("seq")[:2]
    behind_the_back("UPDATE governance_auditlog SET seq = 999999999 WHERE id = %s", a.pk)
    behind_the_back("UPDATE governance_auditlog SET seq = %s WHERE id = %s", a.seq, b.pk)
    behind_the_back("UPDATE governance_auditlog SET seq = %s WHERE id = %s", b.seq, a.pk)
    code, _, err = run("verify_audit_log")
    assert code == 1 and f"entry #{a.seq} (id {b.pk}" in err


def test_removing_the_newest_entries_and_the_head_is_caught_by_the_frozen_outcome(decided):
    outcome = Outcome.objects.get()
    newest = AuditLog.objects.order_by("-seq").first()
    assert newest.seq == outcome.audit_count
    behind_the_back("DELETE FROM governance_auditlog WHERE seq >= %s", newest.seq - 1)
    behind_the_back(
        "UPDATE governance_audithead SET count = %s, hash = %s",
        newest.seq - 2,
        AuditLog.objects.get(seq=newest.seq - 2).hash,
    )
    code, _, err = run("verify_audit_log")
    assert code == 1
    assert f"the outcome of proposal #{decided.pk} recorded the chain at entry #{outcome.audit_count}" in err


def test_a_rewritten_chain_is_caught_by_the_frozen_outcome(decided):
    # Rewrite an early entry and recompute every hash after it, as someone with database access
    # and this code could: the chain is consistent again, but the outcome's head is not.
    first = AuditLog.objects.order_by("seq").first()
    behind_the_back("UPDATE governance_auditlog SET object_repr = 'rewritten' WHERE id = %s", first.pk)
    previous = first.prev_hash
    for entry in AuditLog.objects.order_by("seq"):
        fields = entry.fields()
        new = type(fields)(**{**fields.__dict__, "prev_hash": previous}).hash()
        behind_the_back(
            "UPDATE governance_auditlog SET prev_hash = %s, hash = %s WHERE id = %s", previous, new, entry.pk
        )
        previous = new
    behind_the_back("UPDATE governance_audithead SET hash = %s", previous)
    code, _, err = run("verify_audit_log")
    assert code == 1 and "the chain up to it was rewritten" in err


def test_the_audit_log_refuses_updates_and_deletes_below_the_views(decided):
    entry = AuditLog.objects.first()
    with pytest.raises(Exception, match="append-only"):
        AuditLog.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(Exception, match="append-only"):
        AuditLog.objects.filter(pk=entry.pk).delete()
    with pytest.raises(Exception, match="append-only"):
        entry.save()
