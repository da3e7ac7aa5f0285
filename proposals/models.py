"""Markets, parameter sets and their versions, proposals."""
from django.db import models


class Mechanism(models.TextChoices):
    AAVE_V3 = "aave-v3", "Aave v3 lending"
    COMPOUND_V3 = "compound-v3", "Compound v3 lending"
    MAKER_CLIP = "maker-clip", "MakerDAO Liquidations 2.0"
    PERP = "perp", "Perpetuals with margin tiers"


class Market(models.Model):
    """A protocol market whose risk parameters the DAO governs.

    ``contracts`` holds the addresses the export needs (spec/export.md: e.g.
    ``{"pool_configurator": "0x…"}``); ``target`` names what is configured
    (``{"asset": "0x…"}``, ``{"comet", "asset", "decimals"}``, ``{"ilk": "ETH-A"}``).
    """

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=120)
    mechanism = models.CharField(max_length=20, choices=Mechanism.choices)
    chain_id = models.PositiveBigIntegerField(default=1)
    contracts = models.JSONField(default=dict, blank=True)
    target = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
