"""Voting power: CSV snapshots (line-numbered errors, nothing written on error), power set by
administrators, snapshots append-only, the import command."""

from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from governance.models import AuditLog, Member, PowerEntry, PowerSnapshot
from governance.services import (
    PowerImportError,
    import_power_snapshot,
    power_in_force,
    set_address,
    set_power,
)

A = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
B = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
C = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


@pytest.fixture
def vera(voter):
    set_address(member=voter.member, address=A.lower(), actor=None)
    return Member.objects.get(user=voter)


def test_a_csv_snapshot_links_members_by_address_and_counts_every_address(vera):
    snapshot = import_power_snapshot(
        text=f"address,power,label\n{A},400000,vera\n{B},250000.5\n# a comment\n\n{C},0.000000000000000001,dust\n",
        actor=None,
        block_number=21000000,
    )
    assert (snapshot.source, snapshot.block_number, snapshot.total_power) == (
        "imported",
        21000000,
        D("650000.500000000000000001"),
    )
    assert list(snapshot.entries.values_list("address", "member_id", "label")) == [
        (A, vera.pk, "vera"),
        (B, None, ""),
        (C, None, "dust"),
    ]
    assert Member.objects.get(pk=vera.pk).voting_power == D(400000)
    assert power_in_force() == snapshot
    assert AuditLog.objects.filter(action="power.imported", data__hash=snapshot.content_hash).exists()


def test_a_bad_csv_names_every_bad_line_and_writes_nothing(vera):
    before = (PowerSnapshot.objects.count(), PowerEntry.objects.count(), AuditLog.objects.count())
    text = "\n".join(
        [
            "address,power",
            f"{A},100",
            "0x123,5",
            f"{B},-1",
            f"{C},lots",
            f"{A},3",
            "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266X,1",
            f"{B.replace('7099', '7O99')},1",
            f"{'0x70997970c51812dc3a010c7d01b50e0d17dc79c8'.replace('c5', 'C5')},1",
            f"{C},1.0000000000000000001",
            f"{C},1,label,extra",
        ]
    )
    with pytest.raises(PowerImportError) as exc:
        import_power_snapshot(text=text, actor=None, block_number=1)
    problems = exc.value.problems
    assert [p.split(":")[0] for p in problems] == [f"line {n}" for n in (3, 4, 5, 6, 7, 8, 9, 10, 11)]
    assert "line 4: power '-1' must be a number of at least 0" in problems
    assert "line 5: power 'lots' is not a number" in problems
    assert "line 6: 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 is already on line 2" in problems
    assert any(p.startswith("line 9") and "wrong EIP-55 checksum" in p for p in problems)
    assert "line 10: power '1.0000000000000000001' needs at most 18 decimals" in problems[7]
    assert "line 11: expected address,power[,label]; got 4 fields" in problems
    assert (PowerSnapshot.objects.count(), PowerEntry.objects.count(), AuditLog.objects.count()) == before


def test_an_import_needs_a_block_or_a_date_and_some_line(db):
    with pytest.raises(PowerImportError, match="a block number or a date"):
        import_power_snapshot(text=f"{A},1", actor=None)
    with pytest.raises(PowerImportError, match="no address,power line"):
        import_power_snapshot(text="address,power\n", actor=None, block_number=1)


def test_an_administrator_setting_power_writes_a_new_snapshot_on_the_one_in_force(vera, admin_user):
    imported = import_power_snapshot(text=f"{A},100\n{B},50", actor=None, block_number=5)
    newer = set_power(member=vera, power=D(70), actor=admin_user)
    assert (newer.source, newer.based_on, newer.total_power) == ("administrators", imported, D(120))
    assert dict(newer.entries.values_list("address", "power")) == {A: D(70), B: D(50)}
    assert AuditLog.objects.filter(action="power.set", actor=admin_user, data__to="70").exists()


def test_snapshots_are_append_only(vera):
    snapshot = import_power_snapshot(text=f"{A},100", actor=None, block_number=5)
    entry = snapshot.entries.get()
    for action in (lambda: entry.save(), lambda: entry.delete(), lambda: snapshot.entries.update(power=1)):
        with pytest.raises(Exception, match="append-only"):
            action()


def test_an_address_is_linked_to_one_member_and_checked(vera, contributor):
    with pytest.raises(Exception, match="already linked to vera"):
        set_address(member=contributor.member, address=A, actor=None)
    with pytest.raises(Exception, match="wrong EIP-55 checksum"):
        set_address(member=contributor.member, address=B.replace("C51812dc", "c51812DC"), actor=None)


def call(*args):
    out = StringIO()
    call_command("import_power", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_import_command_needs_an_administrator_and_reports_the_snapshot(
    tmp_path, vera, admin_user, contributor
):
    path = tmp_path / "power.csv"
    path.write_text(f"address,power\n{A},400000\n{B},250000\n")
    with pytest.raises(CommandError, match="only an administrator imports voting power"):
        call(str(path), "--block", "7", "--actor", contributor.username)
    assert "2 addresses (1 linked to members), total power 650000" in call(
        str(path), "--date", "2026-01-31", "--actor", admin_user.username
    )
    path.write_text(f"{A},1\n{A},2\n")
    with pytest.raises(CommandError, match="line 2: .* is already on line 1"):
        call(str(path), "--block", "8", "--actor", admin_user.username)
    assert PowerSnapshot.objects.filter(source="imported").count() == 1
