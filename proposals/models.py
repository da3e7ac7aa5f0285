"""Markets, parameter sets and their versions, proposals."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import models

from governance.guardrails import GuardrailKind
from governance.models import AppendOnly
from governance.services import is_administrator
from proposals import export, schema


class Mechanism(models.TextChoices):
    AAVE_V3 = "aave-v3", "Aave v3 lending"
    AAVE_V4 = "aave-v4", "Aave v4 lending (spoke)"
    COMPOUND_V3 = "compound-v3", "Compound v3 lending"
    MAKER_CLIP = "maker-clip", "MakerDAO Liquidations 2.0"
    PERP = "perp", "Perpetuals with margin tiers"
    MORPHO_BLUE = "morpho-blue", "Morpho Blue vault"


class Market(models.Model):
    """A protocol market whose risk parameters the DAO governs.

    ``contracts`` holds the addresses the export needs (spec/export.md: e.g.
    ``{"pool_configurator": "0x…"}``); ``target`` names what is configured
    (``{"asset": "0x…"}``, ``{"ilk": "ETH-A"}``). A compound-v3 market is one Comet with
    several collateral assets: ``{"comet": "0x…", "base": {"symbol", "asset", "decimals"},
    "assets": {"WETH": {"asset": "0x…", "decimals": 18}, ...}}``; ``collateral_target(symbol)``
    gives the export's per-asset ``{"comet", "asset", "decimals"}``.
    """

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=120)
    mechanism = models.CharField(max_length=20, choices=Mechanism.choices)
    chain_id = models.PositiveBigIntegerField(default=1)
    contracts = models.JSONField(default=dict, blank=True)
    target = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The multisig that executes the market's changes (spec/export.md "What the signer checks").
    safe_address = models.CharField(
        "Safe address", max_length=42, blank=True, help_text="EIP-55 mixed case or lower-case."
    )
    safe_version = models.CharField(
        max_length=10, choices=[(v, v) for v in export.SAFE_VERSIONS], default="1.3.0"
    )
    safe_multisend = models.CharField(
        "MultiSendCallOnly address",
        max_length=42,
        blank=True,
        help_text="Blank: the canonical MultiSendCallOnly deployment of the Safe's version.",
    )
    custom_adapter = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            'For markets without a standard adapter: {"abi": [...], "contract": "0x…", "mapping": '
            '{parameter: {"function", "argument", "scale"}}, "fixed": {call: {argument: value}}} '
            "(docs/export.md)."
        ),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        for name in ("safe_address", "safe_multisend"):
            value = getattr(self, name)
            if value:
                try:
                    export.checksum_address(name, value)
                except export.ExportError as exc:
                    errors[name] = str(exc)
        try:
            export.safe_version(self.safe_version)
        except export.ExportError as exc:
            errors["safe_version"] = str(exc)
        problems = export.check_custom_adapter(self.custom_adapter, self.mechanism)
        if problems:
            errors["custom_adapter"] = problems
        if errors:
            raise ValidationError(errors)

    @property
    def multisend_address(self) -> str | None:
        """The MultiSendCallOnly a batch is sent through (the version's canonical one by default)."""
        return self.safe_multisend or export.default_multisend(self.safe_version)

    def export_config(self) -> dict[str, Any]:
        """The plain configuration ``proposals.export.build_export`` takes."""
        return {
            "slug": self.slug,
            "name": self.name,
            "mechanism": self.mechanism,
            "chain_id": self.chain_id,
            "contracts": self.contracts,
            "target": self.target,
            "custom_adapter": self.custom_adapter,
        }

    @property
    def live_version(self) -> ParameterSetVersion | None:
        return self.versions.filter(is_live=True).first()

    def parameter_names(self) -> list[str]:
        """The names of the mechanism's parameters (what a guardrail may name)."""
        return schema.parameter_names(self.mechanism)

    def guardrail_kind(self, parameter: str) -> GuardrailKind:
        """How a guardrail on ``parameter`` is measured: absolute for fractions and ratios,
        relative for caps and amounts."""
        return schema.spec_by_name(self.mechanism, parameter).guardrail

    def collateral_target(self, symbol: str) -> dict[str, Any]:
        """For compound-v3: the export target of one collateral asset, ``{"comet", "asset",
        "decimals"}`` (spec/export.md), from ``target = {"comet", "assets": {symbol: {"asset",
        "decimals"}}}``."""
        assets = self.target.get("assets", {})
        if symbol not in assets:
            raise KeyError(f"{self.slug} has no collateral asset {symbol!r}; it has {sorted(assets)}")
        return {"comet": self.target["comet"], **assets[symbol]}


class ImmutableVersionError(ValidationError):
    """A version that a submitted proposal, a vote or the live chain depends on was changed."""


class IllegalTransitionError(ValidationError):
    """A proposal was asked to move to a status its lifecycle does not allow from where it is."""


# The fields that make a version what it is. Only the live flag may change once it is locked.
VERSION_CONTENT_FIELDS = ("market_id", "number", "parent_id", "author_id", "values", "content_hash", "note")


class VersionQuerySet(models.QuerySet):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> VersionQuerySet:
        """A version that belongs only to someone else's draft is as private as the draft: a
        member sees the versions that are or were live, their own, and those of the proposals
        they may see (Proposal.objects.visible_to); administrators see every version."""
        if is_administrator(user):
            return self
        proposals = Proposal.objects.visible_to(user)
        q = (
            models.Q(is_live=True)
            | models.Q(made_live_at__isnull=False)
            | models.Exists(proposals.filter(proposed_version=models.OuterRef("pk")))
            | models.Exists(proposals.filter(live_version=models.OuterRef("pk")))
        )
        if user.is_authenticated:
            q |= models.Q(author=user)
        return self.filter(q)

    # Bulk paths (admin bulk delete, queryset.update) bypass Model.save()/delete(): guard them too.
    def update(self, **kwargs: Any) -> int:
        content = {f.removesuffix("_id") for f in VERSION_CONTENT_FIELDS} | {"made_live_at"}
        touched = {f.removesuffix("_id") for f in kwargs}
        if touched & content and any(v.is_locked() for v in self):
            raise ImmutableVersionError("a locked parameter set version cannot be changed")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        for version in self:
            version.check_deletable()
        return super().delete()


class ParameterSetVersion(models.Model):
    """An immutable, numbered snapshot of a market's risk parameters.

    ``values`` is the canonical JSON document of proposals.schema (decimals as strings);
    ``content_hash`` is the sha256 of its canonical JSON. Exactly one version per market is
    live (the constraint ensures at most one; proposals.services keeps it at one).
    """

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    values = models.JSONField()
    content_hash = models.CharField(max_length=64, editable=False)
    note = models.CharField(max_length=200, blank=True)
    is_live = models.BooleanField(default=False)
    made_live_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = VersionQuerySet.as_manager()

    class Meta:
        ordering = ["market", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["market", "number"], name="version_number_unique_per_market"),
            models.UniqueConstraint(
                fields=["market"], condition=models.Q(is_live=True), name="one_live_version_per_market"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.market.slug} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Store the canonical form, so the stored JSON and the hash cannot disagree.
        mechanism = self.market.mechanism
        self.values = schema.stored_form(mechanism, self.values)
        self.content_hash = schema.content_hash(mechanism, self.values)
        if self.pk is not None:
            self._refuse_content_change()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        self.check_deletable()
        return super().delete(*args, **kwargs)

    @property
    def mechanism(self) -> str:
        return self.market.mechanism

    def decimal_values(self) -> dict[str, Any]:
        """The values with Decimals (the stored JSON keeps them as strings)."""
        return schema.normalize(self.market.mechanism, self.values)

    def is_locked(self) -> bool:
        """Once live (now or before), or referenced by a proposal that left draft, it is frozen."""
        if self.pk is None:
            return False
        stored = ParameterSetVersion.objects.filter(pk=self.pk).values_list("is_live", "made_live_at").first()
        if stored and (stored[0] or stored[1] is not None):
            return True
        return (
            Proposal.objects.filter(models.Q(proposed_version_id=self.pk) | models.Q(live_version_id=self.pk))
            .exclude(status=Proposal.Status.DRAFT)
            .exists()
        )

    def check_deletable(self) -> None:
        if self.is_locked():
            raise ImmutableVersionError(
                f"{self} is live, was live or belongs to a submitted proposal: it cannot be deleted"
            )

    def clean(self) -> None:
        try:
            normalized = schema.normalize(self.market.mechanism, self.values)
        except schema.SchemaError as exc:
            raise ValidationError({"values": str(exc)}) from exc
        problems = schema.validate(self.market.mechanism, normalized)
        if problems:
            raise ValidationError({"values": [p.message for p in problems]})

    def _refuse_content_change(self) -> None:
        before = ParameterSetVersion.objects.filter(pk=self.pk).first()
        if before is None:
            return
        changed = [f for f in VERSION_CONTENT_FIELDS if getattr(before, f) != getattr(self, f)]
        if before.made_live_at is not None and before.made_live_at != self.made_live_at:
            changed.append("made_live_at")
        if changed and before.is_locked():
            raise ImmutableVersionError(f"{before} is locked; refused change of {', '.join(changed)}")


TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")


class ProposalQuerySet(models.QuerySet):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> ProposalQuerySet:
        """Drafts are private to their author and administrators; the rest is public to members."""
        if is_administrator(user):
            return self
        if not user.is_authenticated:
            return self.exclude(status=Proposal.Status.DRAFT)
        return self.filter(~models.Q(status=Proposal.Status.DRAFT) | models.Q(author=user))


class Proposal(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        BACKTESTING = "backtesting", "Backtesting"
        PENDING = "pending", "Pending"
        VOTING = "voting", "Voting"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        NO_QUORUM = "no_quorum", "No quorum"
        EXPORTED = "exported", "Exported"
        EXECUTED = "executed", "Executed"
        WITHDRAWN = "withdrawn", "Withdrawn"
        SUPERSEDED = "superseded", "Superseded"

    title = models.CharField(max_length=200)
    rationale = models.TextField(help_text="Markdown.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposals")
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="proposals")
    live_version = models.ForeignKey(
        ParameterSetVersion, on_delete=models.PROTECT, related_name="changing_proposals"
    )
    proposed_version = models.ForeignKey(
        ParameterSetVersion, on_delete=models.PROTECT, related_name="proposing_proposals"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tx_hash = models.CharField(max_length=66, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    voting_started_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    # The market's policy, copied when voting is scheduled (later edits of the policy do not
    # reach a running vote), the power snapshot its votes count against, and its window.
    power_snapshot = models.ForeignKey(
        "governance.PowerSnapshot", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    quorum = models.DecimalField(max_digits=7, decimal_places=6, null=True, blank=True)
    approval_threshold = models.DecimalField(max_digits=7, decimal_places=6, null=True, blank=True)
    voting_delay = models.DurationField(null=True, blank=True)
    voting_period = models.DurationField(null=True, blank=True)
    vote_extension = models.DurationField(null=True, blank=True)
    timelock = models.DurationField(null=True, blank=True)
    voting_opens_at = models.DateTimeField(null=True, blank=True)
    voting_ends_at = models.DateTimeField(
        null=True, blank=True, help_text="The scheduled end; a late quorum may extend it (closes_at)."
    )
    quorum_reached_at = models.DateTimeField(null=True, blank=True)
    timelock_ends_at = models.DateTimeField(
        null=True, blank=True, help_text="Approved proposals: the export is refused before this moment."
    )

    objects = ProposalQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The model layer refuses illegal transitions and edits of a submitted proposal even
        # when a caller bypasses the services (shell, admin, another app).
        if self.pk is not None:
            before = (
                Proposal.objects.filter(pk=self.pk)
                .values(
                    "status",
                    "title",
                    "rationale",
                    "market_id",
                    "live_version_id",
                    "proposed_version_id",
                    "author_id",
                )
                .first()
            )
            if before is not None:
                if before["status"] != self.status and self.status not in TRANSITIONS[before["status"]]:
                    raise IllegalTransitionError(
                        f"proposal #{self.pk} cannot go from {before['status']} to {self.status}"
                    )
                frozen = [k for k, v in before.items() if k != "status" and getattr(self, k) != v]
                if before["status"] != self.Status.DRAFT and frozen:
                    raise IllegalTransitionError(
                        f"proposal #{self.pk} has left draft; refused change of {', '.join(frozen)}"
                    )
            if before is not None:
                self._refuse_rewrite_of_the_vote()
                if before["status"] != self.status:
                    self._require_what_the_status_needs()
        if self.tx_hash and not TX_HASH.match(self.tx_hash):
            raise ValidationError(
                {"tx_hash": f"a transaction hash is 0x and 64 hex digits; got {self.tx_hash!r}"}
            )
        super().save(*args, **kwargs)

    def _require_what_the_status_needs(self) -> None:
        """An outcome carries its decision time; an approval the end of its timelock (which the
        export reads); voting its window."""
        if self.status in OUTCOME_STATUSES and self.decided_at is None:
            raise IllegalTransitionError(
                f"proposal #{self.pk} cannot be {self.status} without a decision time"
            )
        if self.status == self.Status.APPROVED and self.timelock_ends_at is None:
            raise IllegalTransitionError(
                f"proposal #{self.pk} cannot be approved without the end of its timelock"
            )
        if self.status == self.Status.EXPORTED and not Export.objects.filter(proposal_id=self.pk).exists():
            raise IllegalTransitionError(
                f"proposal #{self.pk} cannot be exported without its stored export (export_proposal)"
            )
        if self.status in (self.Status.PENDING, self.Status.VOTING) and (
            self.voting_opens_at is None or self.voting_ends_at is None or self.power_snapshot_id is None
        ):
            raise IllegalTransitionError(
                f"proposal #{self.pk} cannot be {self.status} without its power snapshot and voting window"
            )

    def _refuse_rewrite_of_the_vote(self) -> None:
        """The copied policy, the snapshot and the times of the vote are written once."""
        stored = Proposal.objects.filter(pk=self.pk).values(*SET_ONCE_FIELDS).first() or {}
        changed = [k for k, v in stored.items() if v is not None and getattr(self, k) != v]
        if changed:
            raise IllegalTransitionError(
                f"proposal #{self.pk}: {', '.join(changed)} {'is' if len(changed) == 1 else 'are'} "
                "fixed once set (the vote's rules, snapshot and times)"
            )

    @property
    def closes_at(self) -> datetime | None:
        """When voting ends: the scheduled end, or, if quorum was first reached within the last
        ``vote_extension``, that moment plus ``vote_extension`` (GovernorPreventLateQuorum)."""
        if self.voting_ends_at is None:
            return None
        if self.quorum_reached_at is not None and self.vote_extension:
            return max(self.voting_ends_at, self.quorum_reached_at + self.vote_extension)
        return self.voting_ends_at

    def can_transition(self, to: str) -> bool:
        return to in TRANSITIONS[self.status]

    def set_status(self, to: str) -> None:
        """Move to ``to`` (not saved); IllegalTransitionError if the lifecycle forbids it."""
        if not self.can_transition(to):
            raise IllegalTransitionError(
                f"proposal #{self.pk} cannot go from {self.status} to {to}; "
                f"allowed from {self.status}: {', '.join(sorted(TRANSITIONS[self.status])) or 'none'}"
            )
        self.status = to

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


S = Proposal.Status
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.BACKTESTING, S.WITHDRAWN}),
    # pending: the backtest is complete and voting opens after the policy's voting delay (straight
    # to voting when the delay is 0).
    S.BACKTESTING: frozenset({S.PENDING, S.VOTING, S.WITHDRAWN, S.SUPERSEDED}),
    S.PENDING: frozenset({S.VOTING, S.WITHDRAWN, S.SUPERSEDED}),
    S.VOTING: frozenset({S.APPROVED, S.REJECTED, S.NO_QUORUM, S.WITHDRAWN, S.SUPERSEDED}),
    S.APPROVED: frozenset({S.EXPORTED, S.SUPERSEDED}),
    S.EXPORTED: frozenset({S.EXECUTED, S.SUPERSEDED}),
    S.REJECTED: frozenset(),
    S.NO_QUORUM: frozenset(),
    S.EXECUTED: frozenset(),
    S.WITHDRAWN: frozenset(),
    S.SUPERSEDED: frozenset(),
}
# Submitted and still able to change the live version: superseded when another proposal does first.
OPEN_STATUSES = frozenset({S.BACKTESTING, S.PENDING, S.VOTING, S.APPROVED, S.EXPORTED})
# The outcomes of a vote, computed at its close (voting.services.close_voting).
OUTCOME_STATUSES = frozenset({S.APPROVED, S.REJECTED, S.NO_QUORUM})
# Written once: the copied policy, the snapshot, the vote's times and its outcome's times.
SET_ONCE_FIELDS = (
    "power_snapshot_id",
    "quorum",
    "approval_threshold",
    "voting_delay",
    "voting_period",
    "vote_extension",
    "timelock",
    "voting_opens_at",
    "voting_ends_at",
    "quorum_reached_at",
    "voting_started_at",
    "decided_at",
    "timelock_ends_at",
)


class Export(AppendOnly):
    """An approved proposal's export exactly as it was offered to the signers: the calls, the
    decode-back rows, the Transaction Builder file, the typed data and the report as written,
    the Safe, chain and nonce they are for, and the hashes. Written once by
    ``proposals.services.export_proposal`` and never changed (save of an existing row, delete
    and the queryset's update and delete refuse). A proposal has one, or several when an
    administrator re-exported it for another nonce (``number`` 2, 3, … with the ``reason``);
    the highest number is the one in force."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="exports")
    number = models.PositiveIntegerField(default=1)
    live_version = models.ForeignKey(ParameterSetVersion, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(
        ParameterSetVersion,
        on_delete=models.PROTECT,
        related_name="exports",
        help_text="The voted version (the proposal's proposed version).",
    )
    adapter = models.CharField(max_length=20)
    safe = models.CharField("Safe address", max_length=42)
    safe_version = models.CharField(max_length=10)
    chain_id = models.PositiveBigIntegerField()
    nonce = models.PositiveBigIntegerField()
    multisend = models.CharField(
        "MultiSendCallOnly address", max_length=42, blank=True, help_text="Blank for a single call."
    )
    tx_to = models.CharField("executes", max_length=42)
    tx_operation = models.PositiveSmallIntegerField(help_text="0 CALL, 1 DELEGATECALL.")
    domain_hash = models.CharField(max_length=66)
    message_hash = models.CharField(max_length=66)
    safe_tx_hash = models.CharField("safeTxHash", max_length=66)
    calls = models.JSONField(help_text="Per call: to, value, signature, contract, arguments, data.")
    rows = models.JSONField(
        help_text="Decode-back rows: the voted value, the encoded value, the raw argument."
    )
    batch = models.TextField(help_text="The Transaction Builder batch file, as written.")
    typed_data = models.TextField(help_text="The eth_signTypedData_v4 JSON.")
    report = models.TextField(help_text="The change report (Markdown).")
    reason = models.CharField(
        max_length=300, blank=True, help_text="Why a re-export replaced the one before."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["proposal", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "number"], name="export_number_unique_per_proposal"),
        ]

    def __str__(self) -> str:
        return f"#{self.proposal_id} export {self.number} (nonce {self.nonce})"

    def ledger(self) -> list[tuple[str, str]]:
        """The hashes as a Ledger shows them (``SafeHashes.ledger``)."""
        return export.SafeHashes(self.domain_hash, self.message_hash, self.safe_tx_hash).ledger()

    def recheck(self) -> str:
        """Why the stored batch file no longer gives the stored hashes, or "" when it does:
        the file is read back as ``safe_hashes`` reads it (checksum, calls, MultiSendCallOnly)."""
        try:
            batch = json.loads(self.batch)
            if export.checksum_status(batch) != "valid":
                return "the stored batch file's checksum does not validate: it was modified."
            tx = export.safe_transaction(
                export.batch_transactions(batch), nonce=self.nonce, multisend=self.multisend or None
            )
            hashes = export.safe_hashes(tx, safe=self.safe, chain_id=self.chain_id, version=self.safe_version)
        except (ValueError, TypeError) as exc:
            return f"the stored batch file does not read back: {exc}"
        stored = export.SafeHashes(self.domain_hash, self.message_hash, self.safe_tx_hash)
        if hashes != stored:
            return f"the stored batch file gives safeTxHash {hashes.safe_tx_hash}, not {self.safe_tx_hash}."
        return ""
