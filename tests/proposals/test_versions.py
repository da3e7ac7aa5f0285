"""Versions: numbering, canonical storage and hash, immutability once used, one live per market."""

import pytest
from django.db import IntegrityError, transaction

from proposals import schema, services
from proposals.models import ImmutableVersionError, ParameterSetVersion, Proposal
from tests.proposals.factories import live_values, make_proposal


def test_versions_are_numbered_per_market_with_parent_and_hash(aave, compound, contributor):
    v2 = services.create_version(
        market=aave, values=live_values(aave, ltv="0.8"), author=contributor, parent=aave.live_version
    )
    assert (v2.number, v2.parent.number, v2.author) == (2, 1, contributor)
    assert compound.live_version.number == 1
    assert v2.content_hash == schema.content_hash("aave-v3", live_values(aave, ltv="0.80"))


def test_values_are_stored_canonically_so_equal_sets_hash_equally(aave):
    v = services.create_version(market=aave, values=live_values(aave, ltv="0.8000"), author=None, parent=None)
    assert v.values["ltv"] == "0.8"
    v.refresh_from_db()
    assert v.content_hash == schema.content_hash("aave-v3", v.values)


def test_a_version_breaking_an_invariant_is_not_created(aave):
    with pytest.raises(services.ProposalRefused) as exc:
        services.create_version(market=aave, values=live_values(aave, ltv="0.9"), author=None, parent=None)
    assert exc.value.violations[0].key == "ltv"
    assert aave.versions.count() == 1


def test_a_draft_only_version_may_still_change_and_its_hash_follows(aave, contributor):
    proposal = make_proposal(aave, contributor, ltv="0.8")
    old_hash = proposal.proposed_version.content_hash
    services.update_draft(
        proposal=proposal, actor=contributor, title="t", rationale="r", values=live_values(aave, ltv="0.79")
    )
    version = ParameterSetVersion.objects.get(pk=proposal.proposed_version_id)
    assert version.values["ltv"] == "0.79"
    assert version.content_hash != old_hash


def test_the_live_version_cannot_be_changed_or_deleted(aave):
    live = aave.live_version
    live.values = live_values(aave, ltv="0.5")
    with pytest.raises(ImmutableVersionError):
        live.save()
    with pytest.raises(ImmutableVersionError):
        aave.live_version.delete()
    with pytest.raises(ImmutableVersionError):
        ParameterSetVersion.objects.filter(pk=live.pk).update(note="edited")
    with pytest.raises(ImmutableVersionError):
        ParameterSetVersion.objects.filter(pk=live.pk).delete()
    assert ParameterSetVersion.objects.get(pk=live.pk).values == aave.live_version.values


def test_a_version_of_a_submitted_proposal_is_frozen(aave, contributor):
    proposal = make_proposal(aave, contributor, Proposal.Status.BACKTESTING, ltv="0.8")
    version = proposal.proposed_version
    assert version.is_locked()
    version.values = live_values(aave, ltv="0.7")
    with pytest.raises(ImmutableVersionError):
        version.save()
    with pytest.raises(ImmutableVersionError):
        ParameterSetVersion.objects.filter(pk=version.pk).update(values={})


def test_a_version_of_a_draft_is_not_locked_and_can_be_deleted_with_it_gone(aave):
    v = services.create_version(market=aave, values=live_values(aave, ltv="0.8"), author=None, parent=None)
    assert not v.is_locked()
    v.delete()
    assert aave.versions.count() == 1


def test_making_a_version_live_leaves_exactly_one_live(aave):
    v2 = services.create_version(
        market=aave, values=live_values(aave, ltv="0.8"), author=None, parent=aave.live_version
    )
    services.set_live_version(version=v2, actor=None)
    assert list(aave.versions.filter(is_live=True)) == [v2]
    assert aave.versions.get(number=1).made_live_at is not None  # was live: stays locked
    assert aave.versions.get(number=1).is_locked()


def test_the_database_refuses_a_second_live_version(aave):
    with pytest.raises(IntegrityError), transaction.atomic():
        ParameterSetVersion.objects.create(market=aave, number=9, values=live_values(aave), is_live=True)


def test_a_second_bootstrap_is_refused_changes_go_through_proposals(aave):
    v2 = services.create_version(market=aave, values=live_values(aave, ltv="0.8"), author=None, parent=None)
    with pytest.raises(Exception, match="already has a live version"):
        services.bootstrap_live_version(version=v2, actor=None)
