"""Casting, changing and closing votes: windows, late quorum, the frozen outcome, delegation,
signed votes, and the power snapshot a vote is counted against."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from backtests.services import open_voting
from governance.models import AuditLog, GovernancePolicy, Member
from governance.services import set_delegate, set_power
from proposals.models import Proposal
from tests.proposals.factories import complete_backtest, make_proposal, make_user
from tests.voting.conftest import at, open_proposal, signed
from voting.models import Outcome, Vote
from voting.services import VoteRefused, advance_votes, cast_vote, close_if_due, close_voting, tally_of

S = Proposal.Status


def test_a_voter_votes_and_changes_their_vote_until_the_close_leaving_one_vote(proposal, voters):
    cast_vote(proposal=proposal, user=voters["voter3"], choice="for", reason="ok", now=at(proposal, 1))
    cast_vote(
        proposal=proposal,
        user=voters["voter3"],
        choice="against",
        reason="on reflection",
        now=at(proposal, 2),
    )
    vote = Vote.objects.get(proposal=proposal)
    assert (vote.choice, vote.reason, vote.changes) == ("against", "on reflection", 1)
    actions = list(
        AuditLog.objects.filter(action__startswith="vote.", object_id=str(proposal.pk)).values_list(
            "action", "data__choice"
        )
    )
    assert actions == [("vote.changed", "against"), ("vote.cast", "for")]
    assert tally_of(proposal).power["against"] == D(200000)


def test_only_voters_vote(proposal, contributor, admin_user):
    for user in (contributor, admin_user):
        with pytest.raises(PermissionDenied, match="only voters vote"):
            cast_vote(proposal=proposal, user=user, choice="for", now=at(proposal, 1))
    assert not Vote.objects.exists()


def test_a_bad_choice_or_a_long_reason_is_refused_by_name(proposal, voters):
    with pytest.raises(VoteRefused, match="choice 'yes': expected one of for, against, abstain"):
        cast_vote(proposal=proposal, user=voters["voter3"], choice="yes", now=at(proposal, 1))
    with pytest.raises(VoteRefused, match="the reason is 1001 characters; at most 1000"):
        cast_vote(
            proposal=proposal, user=voters["voter3"], choice="for", reason="x" * 1001, now=at(proposal, 1)
        )


def test_a_vote_before_the_opening_is_refused_and_one_at_the_opening_opens_it(aave, contributor, voters):
    proposal = make_proposal(aave, contributor, S.BACKTESTING, ltv="0.8")
    complete_backtest(proposal)
    proposal = open_voting(proposal=proposal)
    assert proposal.status == S.PENDING
    with pytest.raises(VoteRefused, match="voting opens at"):
        cast_vote(
            proposal=proposal,
            user=voters["voter3"],
            choice="for",
            now=proposal.voting_opens_at - timedelta(seconds=1),
        )
    cast_vote(proposal=proposal, user=voters["voter3"], choice="for", now=proposal.voting_opens_at)
    proposal.refresh_from_db()
    assert proposal.status == S.VOTING and Vote.objects.count() == 1


def test_a_vote_after_the_close_is_rejected(proposal, voters):
    with pytest.raises(VoteRefused, match="voting ended at"):
        cast_vote(proposal=proposal, user=voters["voter3"], choice="for", now=proposal.closes_at)


def test_the_close_is_refused_before_the_end_then_freezes_the_outcome_once(proposal, voters):
    cast_vote(proposal=proposal, user=voters["voter1"], choice="for", now=at(proposal, 1))
    cast_vote(proposal=proposal, user=voters["voter3"], choice="against", now=at(proposal, 2))
    with pytest.raises(Exception, match="ends at"):
        close_voting(proposal=proposal, now=proposal.closes_at - timedelta(seconds=1))
    outcome = close_voting(proposal=proposal, now=proposal.closes_at)
    proposal.refresh_from_db()
    assert (outcome.result, outcome.for_power, outcome.against_power, outcome.total_power) == (
        "approved",
        D(400000),
        D(200000),
        D(1000000),
    )
    assert proposal.status == S.APPROVED and proposal.decided_at == proposal.closes_at
    assert proposal.timelock_ends_at == proposal.decided_at + proposal.timelock
    assert close_voting(proposal=proposal, now=proposal.closes_at + timedelta(days=1)) == outcome
    assert Outcome.objects.count() == 1
    head = AuditLog.objects.order_by("-seq").first()
    assert (outcome.audit_count, outcome.audit_hash) == (head.seq, head.hash)
    assert head.action == "proposal.decided" and head.data["to"] == "approved"
    with pytest.raises(VoteRefused, match="is approved: no vote is open"):
        cast_vote(proposal=proposal, user=voters["voter4"], choice="for", now=proposal.closes_at)


def test_votes_cannot_change_once_the_outcome_is_frozen_even_bypassing_the_services(proposal, voters):
    cast_vote(proposal=proposal, user=voters["voter1"], choice="for", now=at(proposal, 1))
    close_voting(proposal=proposal, now=proposal.closes_at)
    vote = Vote.objects.get()
    vote.choice = "against"
    with pytest.raises(Exception, match="its votes can no longer change"):
        vote.save()
    with pytest.raises(Exception, match="votes change only through cast_vote"):
        Vote.objects.filter(pk=vote.pk).update(choice="against")
    with pytest.raises(Exception, match="never deleted"):
        vote.delete()
    outcome = Outcome.objects.get()
    with pytest.raises(Exception, match="append-only"):
        outcome.save()


@pytest.mark.parametrize(
    "votes,result",
    [
        ({"voter3": "against", "voter4": "for", "voter1": "abstain"}, "rejected"),
        ({"voter5": "for"}, "no_quorum"),
        ({}, "no_quorum"),
    ],
)
def test_the_outcome_is_rejected_or_no_quorum_by_the_rules(proposal, voters, votes, result):
    for name, choice in votes.items():
        cast_vote(proposal=proposal, user=voters[name], choice=choice, now=at(proposal, 1))
    outcome = close_voting(proposal=proposal, now=proposal.closes_at)
    proposal.refresh_from_db()
    assert outcome.result == proposal.status == result
    assert proposal.timelock_ends_at is None


def test_quorum_first_reached_in_the_last_extension_extends_the_vote(proposal, voters):
    ends = proposal.voting_ends_at
    late = ends - timedelta(hours=1)  # the extension is 1 day
    cast_vote(proposal=proposal, user=voters["voter5"], choice="for", now=at(proposal, 1))  # 5 %: no quorum
    cast_vote(proposal=proposal, user=voters["voter1"], choice="for", now=late)  # quorum reached late
    proposal.refresh_from_db()
    assert proposal.quorum_reached_at == late
    assert proposal.closes_at == late + proposal.vote_extension > ends
    cast_vote(proposal=proposal, user=voters["voter3"], choice="against", now=ends + timedelta(minutes=1))
    with pytest.raises(Exception, match="ends at"):
        close_voting(proposal=proposal, now=ends + timedelta(minutes=2))
    assert close_voting(proposal=proposal, now=proposal.closes_at).against_count == 1


def test_quorum_reached_early_does_not_extend_and_is_recorded_once(proposal, voters):
    cast_vote(proposal=proposal, user=voters["voter1"], choice="for", now=at(proposal, 10))
    cast_vote(
        proposal=proposal, user=voters["voter1"], choice="against", now=at(proposal, 20)
    )  # below quorum
    cast_vote(
        proposal=proposal,
        user=voters["voter1"],
        choice="for",
        now=proposal.voting_ends_at - timedelta(minutes=1),
    )
    proposal.refresh_from_db()
    assert proposal.quorum_reached_at == at(proposal, 10)
    assert proposal.closes_at == proposal.voting_ends_at
    assert AuditLog.objects.filter(action="proposal.quorum_reached").count() == 1


def test_the_beat_opens_due_votes_and_closes_ended_ones(aave, maker, contributor, voters):
    pending = make_proposal(aave, contributor, S.BACKTESTING, ltv="0.8")
    complete_backtest(pending)
    pending = open_voting(proposal=pending)
    assert advance_votes(now=pending.voting_opens_at - timedelta(seconds=1)) == {"opened": [], "closed": []}
    assert advance_votes(now=pending.voting_opens_at) == {"opened": [pending.pk], "closed": []}
    pending.refresh_from_db()
    assert advance_votes(now=pending.closes_at) == {"opened": [], "closed": [pending.pk]}
    assert Proposal.objects.get(pk=pending.pk).status == S.NO_QUORUM


def test_close_on_demand_runs_the_normal_computation_only_when_its_time_has_come(
    proposal, voters, admin_user
):
    assert "the outcome is computed then" in close_if_due(
        proposal=proposal, actor=admin_user, now=at(proposal, 5)
    )
    assert Proposal.objects.get(pk=proposal.pk).status == S.VOTING
    assert "Voting closed: no quorum" in close_if_due(
        proposal=proposal, actor=admin_user, now=proposal.closes_at
    )


def test_power_and_delegations_are_those_of_the_snapshot_taken_when_voting_was_scheduled(
    aave, contributor, voters, admin_user
):
    GovernancePolicy.objects.filter(market=aave).update(voting_delay=timedelta(0))
    set_delegate(member=voters["voter4"].member, delegate=voters["voter3"].member, actor=None)
    proposal = open_proposal(aave, contributor)
    # After scheduling: voter5's power grows, voter4 takes their delegation back. Neither counts.
    set_power(member=voters["voter5"].member, power=D(10**7), actor=admin_user)
    set_delegate(member=voters["voter4"].member, delegate=None, actor=None)
    cast_vote(proposal=proposal, user=voters["voter3"], choice="for", now=at(proposal, 1))
    cast_vote(proposal=proposal, user=voters["voter5"], choice="against", now=at(proposal, 2))
    t = tally_of(proposal)
    assert (t.power["for"], t.power["against"], t.total_power, t.delegated_power) == (
        D(300000),
        D(50000),
        D(1000000),
        D(100000),
    )
    # The delegator votes directly: their own power follows their vote.
    cast_vote(proposal=proposal, user=voters["voter4"], choice="against", now=at(proposal, 3))
    t = tally_of(proposal)
    assert (t.power["for"], t.power["against"]) == (D(200000), D(150000))


def test_a_delegation_cycle_or_chain_is_refused_with_a_clear_message(voters):
    v = {name: user.member for name, user in voters.items()}
    set_delegate(member=v["voter2"], delegate=v["voter1"], actor=None)
    with pytest.raises(
        Exception, match="voter2 already delegates to voter1: delegating back would make a cycle"
    ):
        set_delegate(member=v["voter1"], delegate=v["voter2"], actor=None)
    with pytest.raises(Exception, match="voter2 delegates to voter1: a delegate cannot delegate in turn"):
        set_delegate(member=v["voter3"], delegate=v["voter2"], actor=None)
    with pytest.raises(
        Exception, match="voter1 is the delegate of voter2: a delegate cannot delegate in turn"
    ):
        set_delegate(member=v["voter1"], delegate=v["voter3"], actor=None)
    with pytest.raises(Exception, match="cannot delegate to themselves"):
        set_delegate(member=v["voter3"], delegate=v["voter3"], actor=None)
    assert Member.objects.filter(delegate__isnull=False).count() == 1
    assert AuditLog.objects.filter(action="member.delegated").count() == 1


def test_only_a_voter_can_be_a_delegate(voters, contributor):
    with pytest.raises(Exception, match="carol is not a voter"):
        set_delegate(member=voters["voter1"].member, delegate=contributor.member, actor=None)


def test_a_signed_vote_is_verified_and_stored_with_its_signer(proposal, voters):
    vote = cast_vote(
        proposal=proposal, user=voters["voter1"], **signed(proposal, voters["voter1"], "for", "backtests ok")
    )
    assert vote.signer == voters["voter1"].member.address and vote.is_signed
    t = tally_of(proposal)
    assert (t.signed_power, t.unsigned_power) == (D(400000), D(0))


def test_a_signature_by_another_key_or_for_another_choice_is_refused(proposal, voters):
    theirs = signed(proposal, voters["voter2"], "for")
    with pytest.raises(VoteRefused, match="was signed by 0x[0-9a-fA-F]{40}, not by 0xf39F"):
        cast_vote(proposal=proposal, user=voters["voter1"], **theirs)
    mine = signed(proposal, voters["voter1"], "for")
    with pytest.raises(VoteRefused, match="was signed by 0x"):
        cast_vote(proposal=proposal, user=voters["voter1"], **{**mine, "choice": "against"})
    with pytest.raises(VoteRefused, match="0x and 130 hex digits"):
        cast_vote(proposal=proposal, user=voters["voter1"], **{**mine, "signature": "0x1234"})
    assert not Vote.objects.exists()


def test_a_stale_signed_timestamp_or_a_member_without_address_is_refused(proposal, voters):
    old = int(timezone.now().timestamp()) - 3600
    with pytest.raises(VoteRefused, match="within 600 s of the server's clock"):
        cast_vote(
            proposal=proposal,
            user=voters["voter1"],
            **signed(proposal, voters["voter1"], "for", timestamp=old),
        )
    with pytest.raises(VoteRefused, match="needs an Ethereum address"):
        cast_vote(proposal=proposal, user=voters["voter3"], **signed(proposal, voters["voter1"], "for"))


def test_a_member_without_power_votes_with_none(proposal, voters):
    newcomer = make_user("nora", Member.Role.VOTER)
    cast_vote(proposal=proposal, user=newcomer, choice="for", now=at(proposal, 1))
    t = tally_of(proposal)
    assert (t.count["for"], t.power["for"]) == (1, D(0))
