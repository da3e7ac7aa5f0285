"""Governance workflows used by every app: the hash-chained audit log, who may do what, voting
power (set by administrators or imported from a CSV snapshot), delegation, and the power
snapshot a proposal's votes are counted against."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from governance.audit import GENESIS, canonical_json, decimal_text
from governance.models import (
    AuditHead,
    AuditLog,
    Member,
    PowerEntry,
    PowerSnapshot,
    checked_address,
    delegation_problem,
)

# -- The audit log ------------------------------------------------------------------------------


def record(
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    obj: models.Model | None,
    data: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one entry: who (None for the system), what (``proposal.submitted``), on which
    object, with JSON-safe details (Decimals and datetimes as strings), chained to the entry
    before it. Appends are serialized by a lock on the head row, held to the end of the
    caller's transaction."""
    payload = json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder))
    with transaction.atomic():
        head = _lock_head()
        entry = AuditLog(
            seq=head.count + 1,
            prev_hash=head.hash,
            at=timezone.now(),
            actor=actor if actor is not None and actor.is_authenticated else None,
            action=action,
            content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
            object_id=str(obj.pk) if obj is not None else "",
            object_repr=str(obj)[:200] if obj is not None else "",
            data=payload,
        )
        entry.hash = entry.fields().hash()
        entry.save()
        AuditHead.objects.filter(pk=head.pk).update(count=entry.seq, hash=entry.hash)
    return entry


@dataclass(frozen=True)
class ChainHead:
    count: int
    hash: str


def audit_head() -> ChainHead:
    """The chain's head as the caller's transaction sees it (a frozen outcome records it)."""
    head = AuditHead.objects.filter(pk=1).first()
    return ChainHead(head.count, head.hash) if head else ChainHead(0, GENESIS)


def _lock_head() -> AuditHead:
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is not None:
        return head
    # First append on an empty table (a fresh database, or one a test flushed): the head starts
    # from the last entry, if any. Two first appends at once: one creates it, the other waits.
    last = AuditLog.objects.order_by("-seq").first()
    try:
        with transaction.atomic():
            AuditHead.objects.create(pk=1, count=last.seq if last else 0, hash=last.hash if last else GENESIS)
    except IntegrityError:
        pass
    return AuditHead.objects.select_for_update().get(pk=1)


def role_of(user: AbstractBaseUser | AnonymousUser) -> str | None:
    """The member role, ``administrator`` for staff without a profile, None for anonymous."""
    if not user.is_authenticated:
        return None
    member = Member.objects.filter(user=user).only("role").first()
    if member is not None:
        return member.role
    return Member.Role.ADMINISTRATOR if user.is_staff else None


def is_administrator(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_authenticated and (user.is_staff or role_of(user) == Member.Role.ADMINISTRATOR))


def can_propose(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Risk contributors and administrators write proposals; voters do not."""
    return is_administrator(user) or role_of(user) == Member.Role.CONTRIBUTOR


def history_of(obj: models.Model) -> models.QuerySet[AuditLog]:
    """The audit rows about one object, oldest first."""
    return (
        AuditLog.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk))
        .select_related("actor")
        .order_by("at", "id")
    )


@dataclass(frozen=True)
class Anchor:
    """A chain head recorded elsewhere (a frozen outcome): ``label`` names where."""

    label: str
    count: int
    hash: str


@dataclass
class ChainReport:
    count: int
    head_hash: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_audit_chain(*, anchors: list[Anchor] = ()) -> ChainReport:  # type: ignore[assignment]
    """Recompute the chain: the first entry changed (its hash), removed (a gap in ``seq``) or
    reordered (a ``prev_hash`` that is not its predecessor's hash) is named; then the head row
    and every anchor must agree with the entries, which catches removed newest entries."""
    problems: list[str] = []
    previous, expected, hashes = GENESIS, 1, {}
    wanted = {anchor.count for anchor in anchors}
    for entry in AuditLog.objects.order_by("seq").iterator():
        where = f"entry #{entry.seq} (id {entry.pk}, {entry.action}, {entry.at:%Y-%m-%d %H:%M:%S})"
        if entry.seq != expected:
            problems.append(
                f"entry #{expected} is missing: the next stored entry is {where}; an entry was removed"
                if entry.seq > expected
                else f"{where} is out of order after entry #{expected - 1}: entries were reordered or duplicated"
            )
            break
        if entry.fields().hash() != entry.hash:
            problems.append(f"{where} was changed: its content no longer matches its hash {entry.hash[:16]}…")
            break
        if entry.prev_hash != previous:
            problems.append(
                f"{where} does not follow entry #{expected - 1}: its prev_hash is not that entry's hash "
                "(entries were reordered, or one before it was replaced)"
            )
            break
        previous = entry.hash
        if entry.seq in wanted:
            hashes[entry.seq] = entry.hash
        expected += 1
    count = expected - 1
    if not problems:
        head = AuditHead.objects.filter(pk=1).first()
        if head is not None and (head.count, head.hash) != (count, previous):
            problems.append(
                f"the head records {head.count} entries ending in {head.hash[:16]}… but the log has {count} "
                f"ending in {previous[:16]}…: the newest entries were removed, or the head was changed"
            )
        for anchor in anchors:
            if anchor.count > count:
                problems.append(
                    f"{anchor.label} recorded the chain at entry #{anchor.count}, but the log ends at "
                    f"#{count}: entries after #{count} were removed"
                )
            elif anchor.count and hashes.get(anchor.count) != anchor.hash:
                problems.append(
                    f"{anchor.label} recorded entry #{anchor.count} with hash {anchor.hash[:16]}…, the log has "
                    f"{(hashes.get(anchor.count) or '')[:16]}…: the chain up to it was rewritten"
                )
    return ChainReport(count=count, head_hash=previous, problems=problems)


# -- Voting power ---------------------------------------------------------------------------------


class PowerImportError(ValueError):
    """A power CSV was refused; ``problems`` lists each bad line by number. Nothing was written."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Holding:
    """One holder of power, as a snapshot is written."""

    address: str
    member_id: int | None
    power: Decimal
    label: str = ""
    delegate_id: int | None = None


def snapshot_hash(holdings: list[Holding]) -> str:
    """sha256 of the canonical JSON of a snapshot's entries, ordered by address then member;
    ``verify_votes`` recomputes it from the stored rows."""
    rows = sorted(
        (
            {
                "address": h.address,
                "member": h.member_id,
                "power": decimal_text(h.power),
                "delegate": h.delegate_id,
            }
            for h in holdings
        ),
        key=lambda r: (r["address"], r["member"] or 0),
    )
    return hashlib.sha256(canonical_json(rows)).hexdigest()


def holdings_of(snapshot: PowerSnapshot) -> list[Holding]:
    return [
        Holding(e.address, e.member_id, e.power, e.label, e.delegate_id)
        for e in snapshot.entries.order_by("id")
    ]


def power_in_force() -> PowerSnapshot | None:
    """The latest snapshot imported or set by administrators (proposals' copies excluded)."""
    return PowerSnapshot.objects.exclude(source=PowerSnapshot.Source.PROPOSAL).order_by("-id").first()


def write_snapshot(
    *,
    source: str,
    holdings: list[Holding],
    taken_at: datetime,
    block_number: int | None = None,
    label: str = "",
    based_on: PowerSnapshot | None = None,
    actor: AbstractBaseUser | None = None,
) -> PowerSnapshot:
    snapshot = PowerSnapshot.objects.create(
        source=source,
        block_number=block_number,
        taken_at=taken_at,
        label=label[:200],
        based_on=based_on,
        total_power=sum((h.power for h in holdings), Decimal(0)),
        content_hash=snapshot_hash(holdings),
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    PowerEntry.objects.bulk_create(
        PowerEntry(
            snapshot=snapshot,
            address=h.address,
            member_id=h.member_id,
            power=h.power,
            label=h.label[:100],
            delegate_id=h.delegate_id,
        )
        for h in holdings
    )
    return snapshot


def _mirror_powers(holdings: list[Holding]) -> None:
    """Members' ``voting_power`` shows the power in force (0 for those not in it)."""
    powers = {h.member_id: h.power for h in holdings if h.member_id is not None}
    by_address = {h.address: h.power for h in holdings if h.address}
    for member in Member.objects.select_for_update().order_by("pk"):
        power = powers.get(
            member.pk, by_address.get(member.address, Decimal(0)) if member.address else Decimal(0)
        )
        if member.voting_power != power:
            Member.objects.filter(pk=member.pk).update(voting_power=power)


def set_power(
    *, member: Member, power: Decimal, actor: AbstractBaseUser | None, now: datetime | None = None
) -> PowerSnapshot:
    """An administrator sets one member's power: a new snapshot, the one in force with that
    member's holding changed (or added); audited as ``power.set``."""
    if not isinstance(power, Decimal) or not power.is_finite() or power < 0:
        raise ValidationError(f"voting power must be a decimal of at least 0; got {power!r}")
    now = now or timezone.now()
    with transaction.atomic():
        _lock_power()
        member = Member.objects.select_for_update().get(pk=member.pk)
        current = power_in_force()
        holdings = holdings_of(current) if current else _members_as_holdings()
        mine = [
            h
            for h in holdings
            if h.member_id == member.pk or (member.address and h.address == member.address)
        ]
        rest = [h for h in holdings if h not in mine]
        before = sum((h.power for h in mine), Decimal(0))
        holdings = [*rest, Holding(member.address, member.pk, power, mine[0].label if mine else "")]
        snapshot = write_snapshot(
            source=PowerSnapshot.Source.ADMINISTRATORS,
            holdings=[h for h in holdings if h.power > 0 or h.address],
            taken_at=now,
            label=f"{member.name}: {decimal_text(before)} -> {decimal_text(power)}",
            based_on=current,
            actor=actor,
        )
        _mirror_powers(holdings)
        record(
            actor,
            "power.set",
            member,
            {"from": before, "to": power, "snapshot": snapshot.pk, "hash": snapshot.content_hash},
        )
    return snapshot


def _members_as_holdings() -> list[Holding]:
    """Before any snapshot exists, the members' stored powers are the starting point."""
    return [
        Holding(m.address, m.pk, m.voting_power)
        for m in Member.objects.filter(voting_power__gt=0).order_by("pk")
    ]


def _lock_power() -> None:
    # Snapshots are written one at a time: the audit head is the site-wide lock they share.
    _lock_head()


def parse_power_csv(text: str) -> list[Holding]:
    """``address,power[,label]`` per line (a header line ``address,power[,label]`` is allowed;
    blank lines and lines starting with # are skipped). Every problem is reported with its
    line number, and nothing is returned unless the whole file is valid."""
    holdings: list[Holding] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in row]
        if number == 1 and cells[0].lower() == "address":
            continue
        if len(cells) not in (2, 3):
            problems.append(f"line {number}: expected address,power[,label]; got {len(cells)} fields")
            continue
        try:
            address = checked_address(cells[0])
        except ValidationError as exc:
            problems.append(f"line {number}: {exc.messages[0]}")
            continue
        try:
            power = Decimal(cells[1])
        except InvalidOperation:
            problems.append(f"line {number}: power {cells[1]!r} is not a number")
            continue
        if not power.is_finite() or power < 0:
            problems.append(f"line {number}: power {cells[1]!r} must be a number of at least 0")
            continue
        if power != power.quantize(Decimal(1).scaleb(-18), rounding=ROUND_DOWN) or power >= Decimal(10) ** 22:
            problems.append(
                f"line {number}: power {cells[1]!r} needs at most 18 decimals and 22 digits before the point"
            )
            continue
        if address in seen:
            problems.append(f"line {number}: {address} is already on line {seen[address]}")
            continue
        seen[address] = number
        holdings.append(Holding(address, None, power, cells[2] if len(cells) == 3 else ""))
    if not holdings and not problems:
        problems.append("the file has no address,power line")
    if problems:
        raise PowerImportError(problems)
    return holdings


def import_power_snapshot(
    *,
    text: str,
    actor: AbstractBaseUser | None,
    block_number: int | None = None,
    taken_at: datetime | None = None,
    label: str = "",
) -> PowerSnapshot:
    """A CSV snapshot (``address,power[,label]``) at a block or a date becomes the power in
    force: every address counts toward the total; members are linked by their address. All or
    nothing: a bad line refuses the file (PowerImportError naming each line)."""
    if block_number is None and taken_at is None:
        raise PowerImportError(["say when the snapshot was taken: a block number or a date"])
    if block_number is not None and block_number < 0:
        raise PowerImportError([f"block number {block_number} must be 0 or more"])
    holdings = parse_power_csv(text)
    with transaction.atomic():
        _lock_power()
        members = dict(Member.objects.exclude(address="").values_list("address", "pk"))
        holdings = [Holding(h.address, members.get(h.address), h.power, h.label) for h in holdings]
        snapshot = write_snapshot(
            source=PowerSnapshot.Source.IMPORTED,
            holdings=holdings,
            taken_at=taken_at or timezone.now(),
            block_number=block_number,
            label=label,
            based_on=None,
            actor=actor,
        )
        _mirror_powers(holdings)
        record(
            actor,
            "power.imported",
            snapshot,
            {
                "entries": len(holdings),
                "total": snapshot.total_power,
                "block": block_number,
                "taken_at": snapshot.taken_at,
                "hash": snapshot.content_hash,
            },
        )
    return snapshot


def take_proposal_snapshot(*, label: str, actor: AbstractBaseUser | None = None) -> PowerSnapshot:
    """The copy of the power in force that a proposal's votes are counted against: its holders
    with the members linked to their addresses and each member's delegate, as of now. Called
    by ``proposals.services.schedule_voting`` inside its transaction."""
    _lock_power()
    current = power_in_force()
    holdings = holdings_of(current) if current else _members_as_holdings()
    members = {m.pk: m for m in Member.objects.all()}
    by_address = {m.address: m for m in members.values() if m.address}
    frozen: dict[object, Holding] = {}
    for h in holdings:
        # An address's power goes to whoever is linked to it now; power set on a member without
        # an address stays with that member. A member holding both gets their sum.
        member = by_address.get(h.address) if h.address else members.get(h.member_id)
        key = member.pk if member else h.address
        held = frozen.get(key)
        frozen[key] = Holding(
            h.address or (held.address if held else ""),
            member.pk if member else None,
            h.power + (held.power if held else Decimal(0)),
            h.label or (held.label if held else ""),
            member.delegate_id if member else None,
        )
    frozen_holdings = list(frozen.values())
    return write_snapshot(
        source=PowerSnapshot.Source.PROPOSAL,
        holdings=frozen_holdings,
        taken_at=timezone.now(),
        block_number=current.block_number if current else None,
        label=label,
        based_on=current,
        actor=actor,
    )


# -- Members: addresses and delegation ---------------------------------------------------------------


def set_address(*, member: Member, address: str, actor: AbstractBaseUser | None) -> Member:
    """Link a member to an Ethereum address (blank unlinks it); refused if another member has it."""
    address = checked_address(address, "address") if address.strip() else ""
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        if address and Member.objects.filter(address=address).exclude(pk=member.pk).exists():
            other = Member.objects.get(address=address)
            raise ValidationError(f"{address} is already linked to {other.name}")
        before = member.address
        member.address = address
        member.save(update_fields=["address"])
        record(actor, "member.address_changed", member, {"from": before, "to": address})
    return member


def set_delegate(*, member: Member, delegate: Member | None, actor: AbstractBaseUser | None) -> Member:
    """``member`` delegates to ``delegate`` (None: votes for themselves). One level: a cycle or
    a chain is refused with the reason. Takes effect for proposals whose voting is scheduled
    afterwards (their snapshot records the delegations of that moment)."""
    with transaction.atomic():
        _lock_power()
        member = Member.objects.select_for_update().get(pk=member.pk)
        before = member.delegate.name if member.delegate_id else None
        if delegate is not None:
            delegate = Member.objects.select_related("user", "delegate__user").get(pk=delegate.pk)
            problem = delegation_problem(member, delegate)
            if problem:
                raise ValidationError(problem)
        member.delegate = delegate
        member.save(update_fields=["delegate"])
        record(
            actor,
            "member.delegated" if delegate else "member.undelegated",
            member,
            {"from": before, "to": delegate.name if delegate else None},
        )
    return member


def can_vote(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Voters vote (their own power and their delegators'); other roles do not."""
    return role_of(user) == Member.Role.VOTER and Member.objects.filter(user=user).exists()


def member_of(user: AbstractBaseUser | AnonymousUser) -> Member | None:
    if not user.is_authenticated:
        return None
    return Member.objects.filter(user=user).select_related("user").first()
