"""Backtest runs, their chunks and their stored results.

A run compares the proposed version with the live version of a market's parameters
over the market's stress pack, on the same paths and the same book. It is split into chunks
(scenario x chunk of paths); each chunk's result is one row, unique per (run, scenario,
chunk), so a redelivered chunk overwrites instead of double-counting. The merged results
(per scenario and version) are what the proposal page shows; it never re-runs the engine.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETE = "complete", "Complete"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED = (RunStatus.COMPLETE, RunStatus.FAILED, RunStatus.CANCELLED)


class BacktestRun(models.Model):
    """One backtest of a proposal: proposed and live versions over the market's stress pack."""

    proposal = models.ForeignKey("proposals.Proposal", on_delete=models.CASCADE, related_name="backtest_runs")
    proposed_version = models.ForeignKey(
        "proposals.ParameterSetVersion", on_delete=models.PROTECT, related_name="+"
    )
    live_version = models.ForeignKey(
        "proposals.ParameterSetVersion", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.PENDING)
    seed = models.PositiveBigIntegerField()
    n_paths = models.PositiveIntegerField()
    chunk_paths = models.PositiveIntegerField()
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    # Everything needed to reproduce the figures: engine version, seeds, sha256 of every price
    # series and book, both versions' hashes, scenario definitions, chunking.
    manifest = models.JSONField(default=dict, blank=True)
    # Who the proposal hurts at the starting price (backtests.hurt: the positions it makes
    # liquidatable or moves 5 % closer), computed once when the run finishes.
    who_gets_hurt = models.JSONField(default=dict, blank=True)
    # The book's charts (backtests.bookrisk: collateral at risk by price drop, health
    # distributions at the start and at the worst step), computed once when the run finishes.
    figures = models.JSONField(default=dict, blank=True)
    # Celery ids of the chunk tasks, so that a cancel can revoke those still pending.
    task_ids = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    last_progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Backtest run {self.pk} of proposal {self.proposal_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def is_complete(self) -> bool:
        return self.status == RunStatus.COMPLETE

    def elapsed_seconds(self, now=None) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or now or timezone.now()
        return max((end - self.started_at).total_seconds(), 0.0)

    def is_stuck(self, now=None) -> bool:
        """No progress for BACKTEST_STUCK_SECONDS while not finished."""
        if self.is_finished:
            return False
        last = self.last_progress_at or self.started_at or self.created_at
        limit = timedelta(seconds=settings.BACKTEST_STUCK_SECONDS)
        return last is not None and (now or timezone.now()) - last > limit


class ChunkResult(models.Model):
    """One chunk's per-path results for both versions: ``data`` is an ``np.savez_compressed``
    archive (see backtests.compute.pack_chunk)."""

    run = models.ForeignKey(BacktestRun, on_delete=models.CASCADE, related_name="chunks")
    scenario_index = models.PositiveIntegerField()
    chunk_index = models.PositiveIntegerField()
    path_start = models.PositiveIntegerField()
    path_stop = models.PositiveIntegerField()
    data = models.BinaryField()
    seconds = models.FloatField(help_text="Time to compute the chunk (paths and engine), seconds.")
    # Where the chunk's time went, seconds: generate, engine, load (inputs), pack, store.
    timings = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=1, help_text="How many times this chunk was stored.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run", "scenario_index", "chunk_index"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "scenario_index", "chunk_index"], name="unique_chunk_per_run"
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} scenario {self.scenario_index} chunk {self.chunk_index}"


class Role(models.TextChoices):
    LIVE = "live", "Live"
    PROPOSED = "proposed", "Proposed"
    # Live until the governance delay's step, proposed from there (margin-engine.md section 4).
    DELAYED = "delayed", "Proposed after the governance delay"


class ScenarioResult(models.Model):
    """Merged results of one version over one scenario: per-path arrays and summary."""

    run = models.ForeignKey(BacktestRun, on_delete=models.CASCADE, related_name="results")
    scenario_index = models.PositiveIntegerField()
    scenario_name = models.CharField(max_length=120)
    role = models.CharField(max_length=10, choices=Role.choices)
    # np.savez_compressed of ``per_path`` (M, len(RESULT_FIELDS)) float64 and ``fields``.
    per_path = models.BinaryField()
    summary = models.JSONField(default=dict)

    class Meta:
        ordering = ["run", "scenario_index", "role"]
        constraints = [
            models.UniqueConstraint(fields=["run", "scenario_index", "role"], name="unique_result_per_role"),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} {self.scenario_name} {self.role}"


class ScenarioComparison(models.Model):
    """Proposed minus live over one scenario (paired, bootstrap CIs), the chart series and the
    cost of governance delay."""

    run = models.ForeignKey(BacktestRun, on_delete=models.CASCADE, related_name="comparisons")
    scenario_index = models.PositiveIntegerField()
    scenario_name = models.CharField(max_length=120)
    paired = models.JSONField(default=dict)
    series = models.JSONField(default=dict)
    # The cost of governance delay (backtests.compute.delay_of): the delay in steps and hours
    # and the paired differences delayed minus proposed from the start; {} for runs made
    # before it existed.
    delay = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "scenario_index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "scenario_index"], name="unique_comparison_per_scenario"),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} {self.scenario_name}"
