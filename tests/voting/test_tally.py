"""The count: quorum, threshold, delegation, signed and unsigned power (pure, no database)."""

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voting.tally import Cast, Holder, count_votes


def tally(holders, votes, quorum="0.2", threshold="0.5"):
    return count_votes(holders, votes, quorum=D(quorum), threshold=D(threshold))


H = [Holder(1, D(400)), Holder(2, D(250)), Holder(3, D(200)), Holder(4, D(100)), Holder(5, D(50))]


def test_for_and_abstain_count_toward_quorum_but_against_does_not():
    assert not tally(H, [Cast(1, "against", False)]).quorum_reached  # 400 of 1000, quorum 200
    assert tally(H, [Cast(3, "abstain", False)]).quorum_reached  # 200 >= 200
    assert not tally(H, [Cast(4, "for", False), Cast(5, "abstain", False)]).quorum_reached  # 150 < 200


def test_every_address_of_the_snapshot_counts_in_the_total_linked_or_not():
    holders = [*H, Holder(None, D(1000))]  # an address no member is linked to
    t = tally(holders, [Cast(3, "for", False)])
    assert (t.total_power, t.quorum_power, t.quorum_reached) == (D(2000), D(400), False)


def test_approval_needs_strictly_more_than_the_threshold():
    even = tally(
        H,
        [
            Cast(2, "for", False),
            Cast(4, "against", False),
            Cast(5, "against", False),
            Cast(1, "abstain", False),
        ],
    )
    assert even.power["for"] == even.power["against"] + 100  # 250 vs 150: 62.5 %
    assert even.outcome == "approved"
    split = [Holder(1, D(200)), Holder(2, D(200)), Holder(3, D(600))]
    half = tally(split, [Cast(1, "for", False), Cast(2, "against", False), Cast(3, "abstain", False)])
    assert half.power["for"] == half.power["against"] == D(200)  # exactly 50 %
    assert half.quorum_reached and half.outcome == "rejected"


def test_no_for_and_no_against_is_not_approved():
    abstain_only = tally(H, [Cast(1, "abstain", False)])
    assert abstain_only.quorum_reached and abstain_only.outcome == "rejected"
    nobody = tally(H, [], quorum="0")
    assert nobody.quorum_reached and nobody.outcome == "rejected"


def test_without_quorum_the_outcome_is_no_quorum_even_if_all_votes_are_for():
    assert tally(H, [Cast(5, "for", False)]).outcome == "no_quorum"


def test_a_delegate_votes_with_both_powers_unless_the_delegator_votes_directly():
    holders = [Holder(1, D(400)), Holder(2, D(250), delegate_id=1), Holder(3, D(350))]
    both = tally(holders, [Cast(1, "for", False)])
    assert (both.power["for"], both.delegated_power, both.count["for"]) == (D(650), D(250), 1)
    overridden = tally(holders, [Cast(1, "for", False), Cast(2, "against", False)])
    assert (overridden.power["for"], overridden.power["against"], overridden.delegated_power) == (
        D(400),
        D(250),
        D(0),
    )


def test_delegation_is_one_level_a_delegates_delegate_gets_nothing():
    # The snapshot never holds a chain (refused when set), and the count follows one hop only.
    holders = [Holder(1, D(100), delegate_id=2), Holder(2, D(100), delegate_id=3), Holder(3, D(100))]
    t = tally(holders, [Cast(3, "for", False)])
    assert t.power["for"] == D(200)  # 3's own and 2's; 1's power went to 2, who did not vote


def test_signed_and_unsigned_power_are_counted_apart_delegated_power_follows_the_delegate():
    holders = [Holder(1, D(400)), Holder(2, D(250), delegate_id=1), Holder(3, D(200))]
    t = tally(holders, [Cast(1, "for", True), Cast(3, "against", False)])
    assert (t.signed_power, t.unsigned_power) == (D(650), D(200))


def test_a_voter_outside_the_snapshot_is_counted_with_no_power():
    t = tally(H, [Cast(99, "for", False)])
    assert (t.count["for"], t.power["for"]) == (1, D(0))


powers = st.lists(st.decimals(min_value=0, max_value=10**6, places=6), min_size=1, max_size=8)


@given(powers, st.lists(st.sampled_from(["for", "against", "abstain", None]), min_size=8, max_size=8))
def test_the_cast_power_never_exceeds_the_total_and_each_holder_counts_once(ps, choices):
    holders = [Holder(i, p) for i, p in enumerate(ps)]
    votes = [Cast(i, c, False) for i, c in enumerate(choices[: len(ps)]) if c]
    t = tally(holders, votes)
    assert t.cast_power == sum(p for i, p in enumerate(ps) if choices[i]) <= t.total_power
    assert t.signed_power + t.unsigned_power == t.cast_power


@pytest.mark.parametrize(
    "threshold,outcome", [("0.6", "approved"), ("0.625", "rejected"), ("0.7", "rejected")]
)
def test_the_threshold_is_compared_exactly(threshold, outcome):
    # For 250, Against 150: 0.625 exactly.
    votes = [
        Cast(2, "for", False),
        Cast(4, "against", False),
        Cast(5, "against", False),
        Cast(1, "abstain", False),
    ]
    assert tally(H, votes, threshold=threshold).outcome == outcome
