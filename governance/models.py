"""The governance domain: members and their roles, per-market policy, guardrails, audit log."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from governance.guardrails import GuardrailKind, GuardrailRule


class Member(models.Model):
    """A user's role on the platform and voting power."""

    class Role(models.TextChoices):
        ADMINISTRATOR = "administrator", "Administrator"
        CONTRIBUTOR = "contributor", "Risk contributor"
        VOTER = "voter", "Voter"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VOTER)
    voting_power = models.DecimalField(
        max_digits=30, decimal_places=6, default=Decimal(0), validators=[MinValueValidator(Decimal(0))]
    )

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()})"


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
    voting_period = models.DurationField(default=timedelta(days=3))
    timelock = models.DurationField(
        default=timedelta(days=1), help_text="Delay between approval and execution."
    )

    class Meta:
        verbose_name_plural = "governance policies"

    def __str__(self) -> str:
        return f"Policy of {self.market}"


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


class AuditLog(models.Model):
    """One row per governance action (append-only)."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=60, db_index=True)
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_repr}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValidationError("audit log rows are append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValidationError("audit log rows are append-only")
