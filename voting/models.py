"""Votes on proposals, the frozen outcome of each vote, and Sign-In with Ethereum nonces."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from governance.models import POWER, AppendOnly, Member
from proposals.models import Proposal


class Choice(models.TextChoices):
    FOR = "for", "For"
    AGAINST = "against", "Against"
    ABSTAIN = "abstain", "Abstain"


class VoteQuerySet(models.QuerySet):
    # A vote changes only through Vote.save() (voting.services.cast_vote), which checks the
    # proposal is still voting; bulk paths would skip that check.
    def update(self, **kwargs: Any) -> int:
        raise ValidationError("votes change only through cast_vote")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValidationError("votes are never deleted")


class Vote(models.Model):
    """One member's vote on one proposal (at most one: a changed vote replaces it, and the
    audit log keeps every version). Its power is not stored: it is counted at the tally from
    the proposal's power snapshot and the delegations recorded there. A signed vote carries
    its EIP-712 signature, the signer and the timestamp it signed."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="votes")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="votes")
    choice = models.CharField(max_length=10, choices=Choice.choices)
    reason = models.TextField(blank=True, max_length=1000)
    signer = models.CharField(max_length=42, blank=True)
    signature = models.CharField(max_length=132, blank=True)
    timestamp = models.PositiveBigIntegerField(null=True, blank=True, help_text="Signed votes: unix seconds.")
    cast_at = models.DateTimeField(default=timezone.now)
    changes = models.PositiveIntegerField(default=0)

    objects = VoteQuerySet.as_manager()

    class Meta:
        ordering = ["proposal", "cast_at", "id"]
        constraints = [models.UniqueConstraint(fields=["proposal", "member"], name="one_vote_per_member")]

    def __str__(self) -> str:
        return f"{self.member.name} {self.choice} on #{self.proposal_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        status = Proposal.objects.filter(pk=self.proposal_id).values_list("status", flat=True).first()
        if status != Proposal.Status.VOTING:
            raise ValidationError(f"proposal #{self.proposal_id} is {status}: its votes can no longer change")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValidationError("votes are never deleted")

    @property
    def is_signed(self) -> bool:
        return bool(self.signature)


class Outcome(AppendOnly):
    """The frozen result of a proposal's vote, computed once at the close: the tally, the
    outcome, and the audit chain's head just after the decision was recorded (entry count and
    hash), so that removing the newest entries of the log is detected too."""

    proposal = models.OneToOneField(Proposal, on_delete=models.PROTECT, related_name="outcome")
    result = models.CharField(
        max_length=20,
        choices=[
            (s.value, s.label)
            for s in (Proposal.Status.APPROVED, Proposal.Status.REJECTED, Proposal.Status.NO_QUORUM)
        ],
    )
    for_power = models.DecimalField(**POWER)
    against_power = models.DecimalField(**POWER)
    abstain_power = models.DecimalField(**POWER)
    for_count = models.PositiveIntegerField()
    against_count = models.PositiveIntegerField()
    abstain_count = models.PositiveIntegerField()
    total_power = models.DecimalField(**POWER)
    quorum_power = models.DecimalField(**POWER)
    signed_power = models.DecimalField(**POWER)
    unsigned_power = models.DecimalField(**POWER)
    decided_at = models.DateTimeField()
    audit_count = models.PositiveBigIntegerField()
    audit_hash = models.CharField(max_length=64)
    tally = models.JSONField()

    class Meta:
        ordering = ["-decided_at"]

    def __str__(self) -> str:
        return f"#{self.proposal_id}: {self.result}"


class SiweNonce(models.Model):
    """A Sign-In with Ethereum nonce: issued for one message, used once, expiring."""

    nonce = models.CharField(max_length=64, unique=True)
    address = models.CharField(max_length=42)
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.nonce} for {self.address}"
