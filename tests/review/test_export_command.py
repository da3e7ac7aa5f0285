"""``export_proposal``: the batch file written and the hashes printed as ``safe_hashes`` prints
them, the stored export written again when asked again, refusals with their reasons and exit
status 1 (nothing exported, no file written), and exit status 2 on a usage error."""

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from governance.models import AuditLog
from proposals import services
from proposals.models import Export, Proposal
from review.management.commands.seed_demo import DEMO_SAFE
from tests.proposals.factories import make_market, make_proposal, policy_over_at_once

S = Proposal.Status
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = StringIO()
    call_command("export_proposal", *args, stdout=out)
    return out.getvalue()


def refused(*args: str) -> str:
    with pytest.raises(CommandError) as exc:
        run(*args)
    assert exc.value.returncode == 1
    return str(exc.value)


@pytest.fixture
def approved(aave, contributor):
    policy_over_at_once(aave)  # the command uses the clock: the timelock is over
    return make_proposal(aave, contributor, S.APPROVED, ltv="0.81", reserve_factor="0.2")


def test_it_writes_the_batch_file_and_prints_the_hashes_safe_hashes_prints(approved, tmp_path):
    batch, report, typed = tmp_path / "batch.json", tmp_path / "report.md", tmp_path / "typed.json"
    out = run(
        str(approved.pk),
        *("--safe", DEMO_SAFE.lower(), "--nonce", "12", "--out", str(batch)),
        *("--report", str(report), "--typed-data", str(typed)),
    )
    stored = Export.objects.get()
    assert batch.read_text() == stored.batch and report.read_text() == stored.report
    assert typed.read_text() == stored.typed_data
    assert f"Proposal #{approved.pk}: exported (export 1" in out
    out_file = StringIO()
    safe_args = ("--batch", str(batch), "--safe", DEMO_SAFE, "--chain-id", "1", "--nonce", "12")
    call_command("safe_hashes", *safe_args, stdout=out_file)
    assert out_file.getvalue().strip() in out  # the same lines, hashes included
    for label, value in stored.ledger():
        assert f"{label}: {value}\n" in out
    assert "--nonce 12 --safe-version 1.3.0" in out and f"Wrote {batch}" in out
    assert Proposal.objects.get(pk=approved.pk).status == S.EXPORTED
    assert AuditLog.objects.filter(action="proposal.exported", data__nonce=12, actor=None).count() == 1
    umask = os.umask(0)
    os.umask(umask)
    assert batch.stat().st_mode & 0o777 == 0o666 & ~umask  # as any file the user writes, not private


def test_asked_again_it_writes_the_stored_export_again(approved, tmp_path):
    first, again = tmp_path / "first.json", tmp_path / "again.json"
    run(str(approved.pk), "--safe", DEMO_SAFE, "--nonce", "3", "--out", str(first))
    out = run(str(approved.pk), "--safe", DEMO_SAFE, "--nonce", "3", "--out", str(again))
    assert "the stored export, written again" in out
    assert first.read_bytes() == again.read_bytes()
    assert Export.objects.count() == 1 and AuditLog.objects.filter(action="proposal.exported").count() == 1


def test_another_nonce_needs_a_reason_and_then_is_a_reexport(approved, tmp_path, admin_user):
    batch = tmp_path / "batch.json"
    run(str(approved.pk), "--safe", DEMO_SAFE, "--nonce", "3", "--out", str(batch))
    written = batch.read_bytes()
    message = refused(str(approved.pk), "--safe", DEMO_SAFE, "--nonce", "4", "--out", str(batch))
    assert (
        f"proposal #{approved.pk} was exported for nonce 3" in message
        and "re-export with a reason" in message
    )
    assert batch.read_bytes() == written  # untouched
    out = run(
        str(approved.pk),
        *("--safe", DEMO_SAFE, "--nonce", "4", "--out", str(batch)),
        *("--reason", "nonce 3 was used", "--actor", admin_user.username),
    )
    assert "exported (export 2" in out and Export.objects.get(number=2).nonce == 4
    assert batch.read_text() == Export.objects.get(number=2).batch
    entry = AuditLog.objects.get(action="proposal.reexported")
    assert entry.actor == admin_user and entry.data["reason"] == "nonce 3 was used"


def test_during_the_timelock_it_is_refused_and_nothing_is_written(aave, contributor, tmp_path):
    proposal = make_proposal(aave, contributor, S.APPROVED, ltv="0.81")  # a day of timelock, after the close
    batch = tmp_path / "batch.json"
    message = refused(str(proposal.pk), "--safe", DEMO_SAFE, "--nonce", "0", "--out", str(batch))
    assert message == (
        f"proposal #{proposal.pk} is in its timelock until {proposal.timelock_ends_at:%Y-%m-%d %H:%M:%S} UTC: "
        "it can be exported only after that"
    )
    assert not batch.exists() and not Export.objects.exists()
    assert Proposal.objects.get(pk=proposal.pk).status == S.APPROVED


@pytest.mark.parametrize(
    "status,message", [(S.VOTING, "is voting: only an approved proposal is exported"), (S.DRAFT, "is draft")]
)
def test_a_proposal_that_is_not_approved_is_refused(aave, contributor, tmp_path, status, message):
    proposal = make_proposal(aave, contributor, status, ltv="0.81")
    assert message in refused(
        str(proposal.pk), "--safe", DEMO_SAFE, "--nonce", "0", "--out", str(tmp_path / "b")
    )
    assert not (tmp_path / "b").exists()


def test_bad_input_is_refused_by_name_before_anything_is_exported(approved, tmp_path, contributor):
    batch = str(tmp_path / "batch.json")
    base = ("--nonce", "0", "--out", batch)
    assert refused("999", "--safe", DEMO_SAFE, *base) == "no proposal #999"
    wrong_case = DEMO_SAFE.replace("5afe5afE", "5afe5afe", 1)
    assert "has mixed case with a wrong EIP-55 checksum" in refused(
        str(approved.pk), "--safe", wrong_case, *base
    )
    assert "is not a supported Safe version" in refused(
        str(approved.pk), "--safe", DEMO_SAFE, *base, "--safe-version", "0.9"
    )
    assert refused(str(approved.pk), "--safe", DEMO_SAFE, "--nonce", "-2", "--out", batch).startswith(
        "nonce: -2 is not the Safe's nonce"
    )
    missing = str(tmp_path / "no-such-folder" / "batch.json")
    assert refused(str(approved.pk), "--safe", DEMO_SAFE, "--nonce", "0", "--out", missing) == (
        f"--out: the folder {tmp_path / 'no-such-folder'} does not exist"
    )
    assert refused(str(approved.pk), "--safe", DEMO_SAFE, "--nonce", "0", "--out", str(tmp_path)).endswith(
        "is a folder; give a file name"
    )
    assert refused(str(approved.pk), "--safe", DEMO_SAFE, *base, "--actor", contributor.username) == (
        f"--actor: {contributor.username!r} is not an administrator's user name"
    )
    assert not Export.objects.exists() and not Path(batch).exists()
    assert Proposal.objects.get(pk=approved.pk).status == S.APPROVED


def test_a_blocked_export_names_the_reason(db, contributor, tmp_path):
    maker = make_market("maker-clip")
    policy_over_at_once(maker)
    proposal = make_proposal(maker, contributor, S.APPROVED, chop="1.12", dust="8000")
    message = refused(
        str(proposal.pk), "--safe", DEMO_SAFE, "--nonce", "0", "--out", str(tmp_path / "b.json")
    )
    assert message.endswith(
        "dust: changed in the voted version, but no call sets it (this adapter has no call for it)."
    )
    assert not (tmp_path / "b.json").exists()


def test_an_executed_proposal_cannot_be_exported_again_for_another_nonce(approved, tmp_path, admin_user):
    run(str(approved.pk), "--safe", DEMO_SAFE, "--nonce", "3", "--out", str(tmp_path / "a.json"))
    services.execute_proposal(
        proposal=approved,
        actor=admin_user,
        tx_hash="0x" + "ab" * 32,
        now=approved.timelock_ends_at + timedelta(1),
    )
    message = refused(
        str(approved.pk),
        "--safe",
        DEMO_SAFE,
        "--nonce",
        "4",
        "--out",
        str(tmp_path / "b.json"),
        "--reason",
        "x",
    )
    assert "is executed: only an approved proposal is exported" in message


def test_a_missing_option_is_a_usage_error_with_exit_status_2(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "export_proposal",
            "1",
            "--safe",
            DEMO_SAFE,
            "--out",
            str(tmp_path / "b"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "the following arguments are required: --nonce" in result.stderr
    assert not (tmp_path / "b").exists()


def test_a_refusal_exits_with_status_1_as_a_process(tmp_path):
    # A fresh database of its own: no proposal #1 there.
    env = {"VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "export_proposal", "1", "--safe", DEMO_SAFE, "--nonce", "0"]
        + ["--out", str(tmp_path / "b.json")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "no proposal #1" in result.stderr
    assert not (tmp_path / "b.json").exists()
