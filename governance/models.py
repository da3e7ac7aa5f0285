"""The governance domain: members and their roles, addresses and delegation, voting power
snapshots, per-market policy, guardrails, the hash-chained audit log."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from eth_utils import is_address, is_checksum_address, to_checksum_address

from governance.audit import EntryFields, object_key
from governance.guardrails import GuardrailKind, GuardrailRule

# Voting power in tokens, exact to 18 decimals (an ERC-20's smallest unit).
POWER = {"max_digits": 40, "decimal_places": 18}


def checked_address(value: str, what: str = "address") -> str:
    """The EIP-55 form of an Ethereum address; a mixed-case address must already be correctly
    checksummed (a typo in one is caught), an all-lower or all-upper one is accepted."""
    value = (value or "").strip()
    if not is_address(value):
        raise ValidationError(f"{what}: {value!r} is not an Ethereum address (0x and 40 hex digits)")
    body = value[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(value):
        raise ValidationError(
            f"{what}: {value} has a wrong EIP-55 checksum (mixed case must match "
            f"{to_checksum_address(value)}); check for a typo"
        )
    return to_checksum_address(value)


class Member(models.Model):
    """A user's role on the platform, Ethereum address and delegation.

    ``voting_power`` shows the member's power in the power snapshot in force; it is written
    only by ``governance.services.set_power`` and ``import_power_snapshot``, which also write
    the snapshot that counts. ``delegate`` is one level: a delegate does not delegate in turn.
    """

    class Role(models.TextChoices):
        ADMINISTRATOR = "administrator", "Administrator"
        CONTRIBUTOR = "contributor", "Risk contributor"
        VOTER = "voter", "Voter"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VOTER)
    voting_power = models.DecimalField(
        **POWER, default=Decimal(0), validators=[MinValueValidator(Decimal(0))]
    )
    address = models.CharField(
        "Ethereum address",
        max_length=42,
        blank=True,
        help_text="For Sign-In with Ethereum and signed votes; links the member to a power snapshot's address.",
    )
    delegate = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="delegators"
    )

    class Meta:
        ordering = ["user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["address"], condition=~models.Q(address=""), name="one_member_per_address"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()})"

    @property
    def name(self) -> str:
        return self.user.get_username()

    def clean(self) -> None:
        if self.address:
            try:
                self.address = checked_address(self.address)
            except ValidationError as exc:
                raise ValidationError({"address": exc.messages}) from exc
        if self.delegate_id is not None:
            problem = delegation_problem(self, self.delegate)
            if problem:
                raise ValidationError({"delegate": problem})


def delegation_problem(member: Member, delegate: Member) -> str | None:
    """Why ``member`` may not delegate to ``delegate`` (one level: no cycle, no chain), or None."""
    if delegate.pk == member.pk:
        return f"{member.name} cannot delegate to themselves"
    if delegate.role != Member.Role.VOTER:
        return f"{delegate.name} is not a voter: only voters vote, so only a voter can be a delegate"
    if delegate.delegate_id is not None:
        if delegate.delegate_id == member.pk:
            return f"{delegate.name} already delegates to {member.name}: delegating back would make a cycle"
        return (
            f"{delegate.name} delegates to {delegate.delegate.name}: a delegate cannot delegate in turn "
            "(delegation is one level), choose a member who votes themselves"
        )
    others = Member.objects.filter(delegate_id=member.pk).exclude(pk=delegate.pk)
    if member.pk is not None and others.exists():
        names = ", ".join(sorted(m.name for m in others.select_related("user")))
        return (
            f"{member.name} is the delegate of {names}: a delegate cannot delegate in turn "
            "(delegation is one level)"
        )
    return None


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk paths (queryset.update/delete, admin bulk delete) refuse like save() and delete()."""

    def update(self, **kwargs: Any) -> int:
        raise ValidationError(f"{self.model._meta.verbose_name} rows are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValidationError(f"{self.model._meta.verbose_name} rows are append-only")


class AppendOnly(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and type(self).objects.filter(pk=self.pk).exists():
            raise ValidationError(f"{self._meta.verbose_name} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValidationError(f"{self._meta.verbose_name} rows are append-only")


class PowerSnapshot(AppendOnly):
    """Voting power at a block or a date: every holder (an address, a member, or both) and its
    power. Immutable once written. The latest snapshot that is not a proposal's is in force;
    when a proposal's voting is scheduled a copy is taken for it (``source=proposal``), with the
    members linked to its addresses and the delegations of that moment, and its votes are
    counted against that copy only (as Governor and Snapshot read power at the proposal's block).
    """

    class Source(models.TextChoices):
        IMPORTED = "imported", "Imported from a CSV file"
        ADMINISTRATORS = "administrators", "Set by administrators"
        PROPOSAL = "proposal", "Taken for a proposal when its voting was scheduled"

    source = models.CharField(max_length=20, choices=Source.choices)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    taken_at = models.DateTimeField(help_text="The snapshot's date (for a CSV: the date it was taken on).")
    label = models.CharField(max_length=200, blank=True)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    total_power = models.DecimalField(**POWER)
    content_hash = models.CharField(max_length=64, help_text="sha256 of the entries' canonical JSON.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        at = (
            f"block {self.block_number}"
            if self.block_number is not None
            else f"{self.taken_at:%Y-%m-%d %H:%M}"
        )
        return f"power snapshot #{self.pk} ({self.get_source_display().lower()}, {at})"


class PowerEntry(AppendOnly):
    """One holder's power in a snapshot. ``delegate`` is set only in a proposal's snapshot: the
    member this entry's member had delegated to when the snapshot was taken."""

    snapshot = models.ForeignKey(PowerSnapshot, on_delete=models.PROTECT, related_name="entries")
    address = models.CharField(max_length=42, blank=True)
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    power = models.DecimalField(**POWER, validators=[MinValueValidator(Decimal(0))])
    label = models.CharField(max_length=100, blank=True)
    delegate = models.ForeignKey(Member, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["snapshot", "id"]
        verbose_name_plural = "power entries"
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "address"], condition=~models.Q(address=""), name="one_entry_per_address"
            ),
            models.UniqueConstraint(
                fields=["snapshot", "member"],
                condition=models.Q(member__isnull=False),
                name="one_entry_per_member",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.address or self.member} {self.power}"


class GovernancePolicy(models.Model):
    """How a market's proposals are decided: the voting wave reads these."""

    market = models.OneToOneField("proposals.Market", on_delete=models.CASCADE, related_name="policy")
    quorum = models.DecimalField(
        max_digits=7,
        decimal_places=6,
        default=Decimal("0.2"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
        help_text="Share of the total voting power that must vote (0.2 = 20 %).",
    )
    approval_threshold = models.DecimalField(
        max_digits=7,
        decimal_places=6,
        default=Decimal("0.5"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
        help_text="Share of the votes cast (for / (for + against)) needed to approve; strictly above.",
    )
    voting_delay = models.DurationField(
        default=timedelta(days=1),
        help_text="From the backtest's completion to the opening of the vote (0 opens it at once).",
    )
    voting_period = models.DurationField(default=timedelta(days=3))
    vote_extension = models.DurationField(
        default=timedelta(days=1),
        help_text=(
            "If quorum is first reached within this much of the end, the vote ends this long after "
            "that moment (OpenZeppelin GovernorPreventLateQuorum). 0 turns it off."
        ),
    )
    timelock = models.DurationField(default=timedelta(days=1), help_text="Delay between approval and export.")

    class Meta:
        verbose_name_plural = "governance policies"

    def __str__(self) -> str:
        return f"Policy of {self.market}"

    def clean(self) -> None:
        errors = {}
        for name in ("voting_delay", "voting_period", "vote_extension", "timelock"):
            value = getattr(self, name)
            if value is not None and value < timedelta(0):
                errors[name] = f"{name} cannot be negative; got {value}"
        if self.voting_period is not None and self.voting_period <= timedelta(0):
            errors["voting_period"] = f"the voting period must be longer than 0; got {self.voting_period}"
        if errors:
            raise ValidationError(errors)

    def frozen_copy(self) -> dict[str, Any]:
        """What a proposal copies when its voting is scheduled (later edits do not reach it)."""
        return {
            name: getattr(self, name)
            for name in (
                "quorum",
                "approval_threshold",
                "voting_delay",
                "voting_period",
                "vote_extension",
                "timelock",
            )
        }


class Guardrail(models.Model):
    """Per market and parameter name: the largest change one proposal may make (absolute for
    fractions and ratios, relative for caps and amounts: see proposals.schema.GuardrailKind),
    and the minimum delay since the parameter last changed on the live version."""

    market = models.ForeignKey("proposals.Market", on_delete=models.CASCADE, related_name="guardrails")
    parameter = models.CharField(max_length=60)
    max_change = models.DecimalField(
        max_digits=40,
        decimal_places=18,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text="Absolute for fractions and ratios; relative (0.5 = 50 %) for caps.",
    )
    min_delay = models.DurationField(null=True, blank=True, help_text="e.g. 3 days, 0:00:00")

    class Meta:
        ordering = ["market", "parameter"]
        constraints = [
            models.UniqueConstraint(fields=["market", "parameter"], name="one_guardrail_per_parameter")
        ]

    def __str__(self) -> str:
        return f"{self.market.slug}: {self.parameter}"

    @property
    def kind(self) -> GuardrailKind:
        """Absolute or relative: follows the parameter's unit (Market.guardrail_kind)."""
        return self.market.guardrail_kind(self.parameter)

    def clean(self) -> None:
        if self.market_id is not None:
            names = self.market.parameter_names()
            if self.parameter not in names:
                raise ValidationError(
                    {
                        "parameter": f"{self.parameter!r} is not a parameter of "
                        f"{self.market.mechanism}; expected one of {', '.join(names)}"
                    }
                )

    def rule(self) -> GuardrailRule:
        return GuardrailRule(max_change=self.max_change, min_delay=self.min_delay)


class AuditLog(AppendOnly):
    """One entry per governance action, append-only and hash-chained (governance/audit.py):
    ``seq`` counts from 1 with no gap, ``prev_hash`` is the previous entry's ``hash``."""

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=60, db_index=True)
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        return f"#{self.seq} {self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_repr}"

    def fields(self) -> EntryFields:
        ct = ContentType.objects.get_for_id(self.content_type_id) if self.content_type_id else None
        return EntryFields(
            seq=self.seq,
            prev_hash=self.prev_hash,
            at=self.at,
            actor_id=self.actor_id,
            action=self.action,
            obj=object_key(ct.app_label if ct else None, ct.model if ct else None, self.object_id),
            object_repr=self.object_repr,
            data=self.data,
        )


class AuditHead(models.Model):
    """The chain's head (one row): the count of entries and the last hash. Appending locks it,
    so entries are numbered one at a time; verify_audit_log checks it against the last entry."""

    count = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"audit head: {self.count} entries, {self.hash[:12]}"
