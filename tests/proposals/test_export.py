"""The export workflow (proposals.services.export_proposal, review.services.export_proposal):
refused before approval, during the timelock, for a version no longer live or by a
non-administrator; a blocked decode-back leaves nothing; the stored export is immutable and
audited with its hashes; asked again it is the stored one; another nonce needs a reason; and
execution needs the export and the timelock."""

import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from backtests.models import ScenarioComparison, ScenarioResult
from backtests.panels import verdict_of, verdict_text
from governance.models import AuditLog
from proposals import export, services
from proposals.models import Export, IllegalTransitionError, Proposal
from review import services as review_services
from review.management.commands.seed_demo import DEMO_SAFE
from tests.proposals.factories import make_market, make_proposal

S = Proposal.Status
TX = "0x" + "ab" * 32


@pytest.fixture
def approved(aave, contributor):
    return make_proposal(aave, contributor, S.APPROVED, ltv="0.81", liquidation_threshold="0.835")


def export_at_end(proposal, **kwargs):
    kwargs.setdefault("nonce", 7)
    return services.export_proposal(proposal=proposal, actor=None, now=proposal.timelock_ends_at, **kwargs)


def test_a_proposal_is_exported_only_once_approved(aave, contributor):
    proposal = make_proposal(aave, contributor, S.VOTING, ltv="0.81")
    with pytest.raises(
        ValidationError, match=r"is voting: only an approved proposal is exported, after its timelock"
    ):
        services.export_proposal(proposal=proposal, actor=None, nonce=0)
    assert not Export.objects.exists()


def test_the_export_is_refused_during_the_timelock(approved):
    with pytest.raises(ValidationError) as exc:
        services.export_proposal(
            proposal=approved, actor=None, nonce=0, now=approved.timelock_ends_at - timedelta(seconds=1)
        )
    assert (
        f"is in its timelock until {approved.timelock_ends_at:%Y-%m-%d %H:%M:%S} UTC" in exc.value.messages[0]
    )
    assert Proposal.objects.get(pk=approved.pk).status == S.APPROVED and not Export.objects.exists()


def test_the_export_is_refused_when_the_version_it_changes_is_no_longer_live(approved, aave):
    newer = services.create_version(market=aave, values=aave.live_version.values, author=None, parent=None)
    services.set_live_version(version=newer, actor=None)
    with pytest.raises(ValidationError, match="changes v1, but v3 is live now: it cannot be exported"):
        export_at_end(approved)
    assert Proposal.objects.get(pk=approved.pk).status == S.APPROVED and not Export.objects.exists()


def test_only_administrators_export(approved, contributor, admin_user):
    with pytest.raises(PermissionDenied):
        services.export_proposal(proposal=approved, actor=contributor, nonce=0, now=approved.timelock_ends_at)
    stored = services.export_proposal(
        proposal=approved, actor=admin_user, nonce=0, now=approved.timelock_ends_at
    )
    assert stored.created_by == admin_user


def test_the_export_stores_what_build_export_gives_and_moves_the_proposal_to_exported(approved, aave):
    stored = export_at_end(approved)
    built = export.build_export(
        aave.export_config(),
        approved.live_version.values,
        approved.proposed_version.values,
        safe=DEMO_SAFE,
        chain_id=1,
        nonce=7,
        safe_version="1.3.0",
        created_at_ms=int(approved.timelock_ends_at.timestamp() * 1000),
        title=approved.title,
        description=f"Proposal #{approved.pk} on {aave.name}: v1 -> v2 (sha256 {approved.proposed_version.content_hash})",
    )
    assert stored.batch == built.batch_json() and stored.typed_data == built.typed_data_json()
    assert (stored.domain_hash, stored.message_hash, stored.safe_tx_hash) == (
        built.hashes.domain_hash,
        built.hashes.message_hash,
        built.hashes.safe_tx_hash,
    )
    assert (stored.safe, stored.chain_id, stored.nonce, stored.safe_version) == (DEMO_SAFE, 1, 7, "1.3.0")
    assert (stored.number, stored.version, stored.live_version) == (
        1,
        approved.proposed_version,
        aave.live_version,
    )
    assert [(c["signature"], [a["name"] for a in c["arguments"]]) for c in stored.calls] == [
        (
            "configureReserveAsCollateral(address,uint256,uint256,uint256)",
            ["asset", "ltv", "liquidationThreshold", "liquidationBonus"],
        )
    ]
    assert stored.calls[0]["arguments"][1]["value"] == "8100"
    assert [(r["key"], r["voted"], r["encoded"], r["raw"], r["ok"]) for r in stored.rows] == [
        ("ltv", "0.81", "0.81", "8100", True),
        ("liquidation_threshold", "0.835", "0.835", "8350", True),
        ("liquidation_bonus", "0.05", "0.05", "10500", True),
    ]
    assert stored.multisend == "" and stored.tx_operation == 0  # one call: a plain CALL
    assert stored.recheck() == ""
    assert Proposal.objects.get(pk=approved.pk).status == S.EXPORTED
    assert approved.proposed_version.is_locked() and approved.live_version.is_locked()


def test_the_export_is_audited_with_its_hashes_and_the_sha256_of_each_file(approved):
    stored = export_at_end(approved)
    entry = AuditLog.objects.get(action="proposal.exported")
    assert entry.object_id == str(approved.pk)
    assert entry.data["from"] == S.APPROVED and entry.data["to"] == S.EXPORTED
    assert entry.data["safe_tx_hash"] == stored.safe_tx_hash and entry.data["nonce"] == 7
    assert (
        entry.data["domain_hash"] == stored.domain_hash and entry.data["message_hash"] == stored.message_hash
    )
    for field in ("batch", "typed_data", "report"):
        assert entry.data[f"{field}_sha256"] == hashlib.sha256(getattr(stored, field).encode()).hexdigest()


def test_a_stored_export_cannot_be_changed_or_deleted(approved):
    stored = export_at_end(approved)
    stored.nonce = 8
    with pytest.raises(ValidationError, match="append-only"):
        stored.save()
    with pytest.raises(ValidationError, match="append-only"):
        stored.delete()
    with pytest.raises(ValidationError, match="append-only"):
        Export.objects.filter(pk=stored.pk).update(nonce=8)
    with pytest.raises(ValidationError, match="append-only"):
        Export.objects.all().delete()
    assert Export.objects.get(pk=stored.pk).nonce == 7


def test_asked_again_it_is_the_stored_export_and_another_nonce_needs_a_reason(approved, admin_user):
    first = export_at_end(approved)
    assert export_at_end(approved) == first
    assert Export.objects.count() == 1 and AuditLog.objects.filter(action__contains="exported").count() == 1
    with pytest.raises(ValidationError, match="was exported for nonce 7 .* needs a re-export with a reason"):
        export_at_end(approved, nonce=8)
    second = services.export_proposal(
        proposal=approved,
        actor=admin_user,
        nonce=8,
        reason="nonce 7 was used by another transaction",
        now=approved.timelock_ends_at + timedelta(hours=1),
    )
    assert (second.number, second.nonce, second.reason) == (2, 8, "nonce 7 was used by another transaction")
    assert second.safe_tx_hash != first.safe_tx_hash
    assert list(approved.exports.all()) == [second, first]  # the newest first: it is in force
    entry = AuditLog.objects.get(action="proposal.reexported")
    assert entry.data["replaces"] == 1 and entry.data["replaced_safe_tx_hash"] == first.safe_tx_hash
    assert entry.data["reason"] == "nonce 7 was used by another transaction" and entry.actor == admin_user
    services.execute_proposal(proposal=approved, actor=admin_user, tx_hash=TX, now=second.created_at)
    executed = AuditLog.objects.filter(action="proposal.transition", data__to=S.EXECUTED).get()
    assert (executed.data["export"], executed.data["safe_tx_hash"]) == (2, second.safe_tx_hash)


def test_a_change_no_call_carries_blocks_the_export_with_the_reason(db, contributor):
    maker = make_market("maker-clip")
    proposal = make_proposal(maker, contributor, S.APPROVED, chop="1.12", dust="8000")
    with pytest.raises(ValidationError) as exc:
        export_at_end(proposal)
    assert exc.value.messages == [
        f"proposal #{proposal.pk} cannot be exported: the export does not match the vote: dust: changed in "
        "the voted version, but no call sets it (this adapter has no call for it)."
    ]
    assert Proposal.objects.get(pk=proposal.pk).status == S.APPROVED and not Export.objects.exists()
    with pytest.raises(ValidationError, match="dust: changed in the voted version"):
        services.export_preview(proposal=proposal)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"nonce": -1}, "nonce: -1 is not the Safe's nonce"),
        ({"nonce": 2**63}, r"is not the Safe's nonce \(a whole number from 0 to 9223372036854775807\)"),
        (
            {"safe": DEMO_SAFE.replace("5afe5afE", "5afe5afe", 1)},
            "safe: .* has mixed case with a wrong EIP-55 checksum",
        ),
        ({"safe": "0x1234"}, "safe: '0x1234' is not an address"),
        ({"safe_version": "0.9.0"}, "0.9.0"),
        ({"reason": "x" * 301}, "reason: at most 300 characters; got 301"),
    ],
)
def test_bad_export_input_is_refused_by_name(approved, kwargs, message):
    with pytest.raises(ValidationError, match=message):
        export_at_end(approved, **kwargs)
    assert not Export.objects.exists()


def test_a_market_without_a_safe_cannot_export_without_one(approved, aave):
    type(aave).objects.filter(pk=aave.pk).update(safe_address="")
    with pytest.raises(ValidationError, match="has no Safe address"):
        export_at_end(approved)
    assert export_at_end(approved, safe=DEMO_SAFE.lower()).safe == DEMO_SAFE


def test_execution_is_refused_until_the_proposal_is_exported(approved, admin_user):
    with pytest.raises(IllegalTransitionError, match="is approved: only an exported proposal is executed"):
        services.execute_proposal(
            proposal=approved, actor=admin_user, tx_hash=TX, now=approved.timelock_ends_at
        )
    assert Proposal.objects.get(pk=approved.pk).status == S.APPROVED


def test_execution_is_refused_before_the_end_of_the_timelock(approved, admin_user):
    export_at_end(approved)
    with pytest.raises(
        ValidationError, match="is in its timelock until .*: it can be executed only after that"
    ):
        services.execute_proposal(
            proposal=approved,
            actor=admin_user,
            tx_hash=TX,
            now=approved.timelock_ends_at - timedelta(seconds=1),
        )
    assert Proposal.objects.get(pk=approved.pk).status == S.EXPORTED


def test_execution_is_audited_with_the_safe_transaction_it_executed(approved, admin_user, aave):
    stored = export_at_end(approved)
    services.execute_proposal(proposal=approved, actor=admin_user, tx_hash=TX, now=approved.timelock_ends_at)
    entry = AuditLog.objects.get(action="proposal.transition", data__to=S.EXECUTED)
    assert entry.data == {
        "from": S.EXPORTED,
        "to": S.EXECUTED,
        "tx_hash": TX,
        "export": 1,
        "nonce": 7,
        "safe_tx_hash": stored.safe_tx_hash,
    }
    assert aave.live_version == approved.proposed_version


def test_the_report_carries_the_backtest_verdict_and_the_manifest_link(approved, settings):
    settings.SITE_URL = "https://riskgov.example"
    run = approved.backtest_runs.get(status="complete")
    add_comparison(run, 0, "Shock -45 %", mean_bad_debt=(100.0, 250.0, 120.0, 180.0))
    add_comparison(run, 1, "GBM calm", mean_bad_debt=(0.0, 0.0, 0.0, 0.0))
    stored = review_services.export_proposal(
        proposal=approved, actor=None, nonce=3, now=approved.timelock_ends_at
    )
    sentence = verdict_text(run)
    # The page's verdict (docs/review.md): the report says what the proposal page says.
    verdict = verdict_of(run)
    assert verdict.label_text in sentence and verdict.sentence in sentence
    shock = next(row for row in verdict.rows if row.name == "Shock -45 %").cell("mean_bad_debt")
    assert (shock.diff, shock.significant, shock.effect) == (150.0, True, "worse")
    assert sentence in stored.report
    assert f"https://riskgov.example/backtests/runs/{run.pk}/manifest/" in stored.report


def test_without_a_complete_run_the_report_says_so(aave, contributor):
    proposal = make_proposal(aave, contributor, S.APPROVED, ltv="0.81")
    proposal.backtest_runs.update(status="failed")
    stored = review_services.export_proposal(
        proposal=proposal, actor=None, nonce=0, now=proposal.timelock_ends_at
    )
    assert "No complete backtest run of these versions was found." in stored.report


def add_comparison(run, index: int, name: str, *, mean_bad_debt: tuple[float, float, float, float]) -> None:
    live, proposed, low, high = mean_bad_debt
    for role in ("live", "proposed"):
        ScenarioResult.objects.create(
            run=run,
            scenario_index=index,
            scenario_name=name,
            role=role,
            per_path=b"",
            summary={"n_paths": 10},
        )
    paired = {
        "mean_bad_debt": {"a": live, "b": proposed, "diff": proposed - live, "ci_low": low, "ci_high": high}
    }
    ScenarioComparison.objects.create(run=run, scenario_index=index, scenario_name=name, paired=paired)


def test_a_perp_funding_change_exports_one_set_funding_call_with_the_other_values_live(db, contributor):
    perp = make_market("perp")
    proposal = make_proposal(perp, contributor, S.APPROVED, funding_cap="0.05")
    stored = export_at_end(proposal)
    assert [c["signature"] for c in stored.calls] == ["setFunding(uint32,uint64,uint64)"]
    args = {a["name"]: a["value"] for a in stored.calls[0]["arguments"]}
    assert args == {"intervalSeconds": "3600", "interestPpb": "12500", "capPpb": "50000000"}
