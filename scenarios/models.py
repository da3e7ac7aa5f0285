"""The scenario library: price series, scenarios, stress packs and position books."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from engine.scenarios import validate_spec


def normalize_spec(spec: dict) -> dict:
    """engine.scenarios.validate_spec, with the engine's error as a ValueError (EngineError is one)."""
    if not isinstance(spec, dict):
        raise ValueError(f"spec must be a JSON object; got {type(spec).__name__}")
    return validate_spec(spec)


class PriceSeries(models.Model):
    """One symbol at one bar interval; its rows live in :class:`PriceBlock` blocks.

    ``gaps`` lists the missing bars as ``[first missing open time, last missing open time,
    count]`` (ISO-8601 UTC). ``sha256`` is the digest of the canonical row bytes
    (engine.prices.content_sha256) of the whole series, for run manifests.
    """

    class Source(models.TextChoices):
        FILE = "file", "Imported file"
        BINANCE = "binance", "Downloaded from Binance"

    symbol = models.CharField(max_length=40)
    interval = models.CharField(max_length=8, help_text="Bar interval, e.g. 1h")
    interval_seconds = models.PositiveIntegerField()
    source = models.CharField(max_length=10, choices=Source.choices)
    source_detail = models.CharField(max_length=300, blank=True, help_text="File name and format, or URL")
    first_time = models.DateTimeField()
    last_time = models.DateTimeField()
    row_count = models.PositiveIntegerField()
    gaps = models.JSONField(default=list, blank=True)
    missing_bars = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    bytes_stored = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol", "interval_seconds"]
        verbose_name_plural = "price series"
        constraints = [
            models.UniqueConstraint(fields=["symbol", "interval"], name="scenarios_series_symbol_interval")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """``ETHUSDT-1h``: how commands and scenario specs refer to a series."""
        return f"{self.symbol}-{self.interval}"

    @property
    def first_ts(self) -> int:
        return int(self.first_time.timestamp())

    @property
    def last_ts(self) -> int:
        return int(self.last_time.timestamp())


class PriceBlock(models.Model):
    """A calendar month (intraday bars) or year (daily bars) of one series, compressed.

    ``data`` is engine.prices.encode_block of the rows; ``first_ts`` / ``last_ts`` (epoch
    seconds, bar open times) let a window query read only the blocks it overlaps.
    """

    series = models.ForeignKey(PriceSeries, on_delete=models.CASCADE, related_name="blocks")
    period_start = models.BigIntegerField()
    first_ts = models.BigIntegerField()
    last_ts = models.BigIntegerField()
    row_count = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["series", "first_ts"]
        constraints = [
            models.UniqueConstraint(fields=["series", "period_start"], name="scenarios_block_period")
        ]
        indexes = [models.Index(fields=["series", "first_ts", "last_ts"], name="scenarios_block_window")]

    def __str__(self) -> str:
        start = datetime.fromtimestamp(self.period_start, tz=UTC)
        return f"{self.series} from {start:%Y-%m-%d} ({self.row_count} rows)"


class Scenario(models.Model):
    """A scenario definition (engine.scenarios spec) and the seed that makes it reproducible.

    ``spec`` is stored as engine.scenarios.validate_spec returned it; ``series`` are the price
    series the spec's history refers to (by ``PriceSeries.name``).
    """

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    spec = models.JSONField()
    seed = models.PositiveBigIntegerField()
    series = models.ManyToManyField(PriceSeries, blank=True, related_name="scenarios")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            self.spec = normalize_spec(self.spec)
        except ValueError as exc:
            raise ValidationError({"spec": str(exc)}) from None


def new_pack_seed() -> int:
    """A fresh seed for a new stress pack (63 bits, so that it fits a signed 64-bit column)."""
    return int(np.random.SeedSequence().entropy % 2**63)


def default_pack_paths() -> int:
    return settings.BACKTEST_PATHS


def default_pack_chunk_paths() -> int:
    return settings.BACKTEST_CHUNK_PATHS


class StressPack(models.Model):
    """An ordered list of scenarios for a market, and the market's **baseline**: the default
    pack is what every proposal of the market is backtested on, with the pack's seed, number of
    paths, chunk size and book, so that every run of the market draws the same paths on the same
    book and the live version's figures are the same on every proposal page (docs/review.md).
    Changing any of them (or the scenarios) starts a new baseline; runs on the old one say so."""

    market = models.ForeignKey("proposals.Market", on_delete=models.CASCADE, related_name="stress_packs")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=True)
    scenarios = models.ManyToManyField(Scenario, through="PackEntry", related_name="packs")
    seed = models.PositiveBigIntegerField(
        default=new_pack_seed,
        help_text="Seed of every run on this pack: the paths of scenario s, chunk c are "
        "default_rng([seed, 0, s, c]).",
    )
    n_paths = models.PositiveIntegerField(
        "paths per scenario",
        default=default_pack_paths,
        help_text="Paths of every simulated scenario (a replay of history is one path).",
    )
    chunk_paths = models.PositiveIntegerField(
        "paths per chunk",
        default=default_pack_chunk_paths,
        help_text="Paths a worker computes per task; part of the baseline (other chunks, other paths).",
    )
    book = models.ForeignKey(
        "Book",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="packs",
        help_text="The book every run on this pack uses; blank: the market's default book.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["market__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["market", "name"], name="scenarios_pack_market_name"),
            models.UniqueConstraint(
                fields=["market"], condition=Q(is_default=True), name="scenarios_pack_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.market.slug}: {self.name}"

    def ordered_scenarios(self) -> list[Scenario]:
        return [e.scenario for e in self.entries.select_related("scenario").order_by("position", "id")]

    def clean(self) -> None:
        errors = {}
        if self.book_id is not None and self.market_id is not None and self.book.market_id != self.market_id:
            errors["book"] = f"{self.book} is a book of another market; choose one of {self.market.slug}'s."
        if not self.n_paths:
            errors["n_paths"] = "a pack needs at least 1 path per scenario."
        if not self.chunk_paths:
            errors["chunk_paths"] = "a chunk needs at least 1 path."
        if errors:
            raise ValidationError(errors)


class PackEntry(models.Model):
    pack = models.ForeignKey(StressPack, on_delete=models.CASCADE, related_name="entries")
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="entries")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["pack", "position", "id"]
        verbose_name_plural = "pack entries"
        constraints = [models.UniqueConstraint(fields=["pack", "scenario"], name="scenarios_entry_once")]

    def __str__(self) -> str:
        return f"{self.pack} #{self.position}: {self.scenario}"


class Book(models.Model):
    """A book of positions for a market: synthetic (generator spec + seed) or imported CSV.

    ``data`` holds the mechanism's position arrays as a compressed ``.npz``
    (scenarios.services.encode_book); ``sha256`` is the digest of their names, shapes and
    little-endian bytes (book_sha256); ``summary`` is engine.books.summarize_book at the
    ``price`` and ``threshold`` it records.
    """

    class Kind(models.TextChoices):
        SYNTHETIC = "synthetic", "Synthetic (generator + seed)"
        IMPORTED = "imported", "Imported CSV"

    market = models.ForeignKey("proposals.Market", on_delete=models.CASCADE, related_name="books")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    generator = models.JSONField(default=dict, blank=True, help_text="Generator spec (synthetic books)")
    seed = models.PositiveBigIntegerField(null=True, blank=True)
    source_detail = models.CharField(max_length=300, blank=True)
    is_default = models.BooleanField(default=True)
    columns = models.JSONField(default=list)
    n_positions = models.PositiveIntegerField(default=0)
    data = models.BinaryField(editable=False)
    bytes_stored = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["market__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["market", "name"], name="scenarios_book_market_name"),
            models.UniqueConstraint(
                fields=["market"], condition=Q(is_default=True), name="scenarios_book_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.market.slug}: {self.name}"
