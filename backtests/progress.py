"""A run's progress as the panel and the terminal show it, and the time left."""

from __future__ import annotations

from django.db.models import F, Sum
from django.utils import timezone

from backtests import sweeps
from backtests.models import (
    BacktestRun,
    ChunkResult,
    RunStatus,
)


def progress(run: BacktestRun) -> dict:
    """What the progress panel and the terminal show."""
    now = timezone.now()
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": run.get_status_display(),
        "proposal_status": run.proposal.status,
        "proposal_status_label": run.proposal.get_status_display(),
        "complete": run.is_complete,
        "finished": run.is_finished,
        "chunks_done": run.chunks_done,
        "chunks_total": run.chunks_total,
        "elapsed_seconds": run.elapsed_seconds(now),
        "eta_seconds": eta_seconds(run, now),
        "stuck": run.is_stuck(now),
        "error": run.error,
    }


def _seconds_per_path(run_id: int) -> tuple[dict[int, float], dict[int, int], float]:
    """Of a run's stored chunks: compute seconds per path by scenario, paths stored by
    scenario, and the seconds summed over every chunk."""
    rows = (
        ChunkResult.objects.filter(run_id=run_id)
        .values("scenario_index")
        .annotate(seconds=Sum("seconds"), paths=Sum(F("path_stop") - F("path_start")))
    )
    cost = {r["scenario_index"]: r["seconds"] / max(r["paths"], 1) for r in rows}
    paths = {r["scenario_index"]: r["paths"] for r in rows}
    return cost, paths, sum(r["seconds"] for r in rows)


def _prior_run(run: BacktestRun) -> BacktestRun | None:
    """The latest complete run of the market on the same baseline: its chunks took as long."""
    sha = (run.manifest.get("pack") or {}).get("sha256")
    if not sha:
        return None
    return (
        BacktestRun.objects.filter(
            status=RunStatus.COMPLETE, proposal__market_id=run.proposal.market_id, manifest__pack__sha256=sha
        )
        .exclude(pk=run.pk)
        .order_by("-finished_at", "-pk")
        .first()
    )


def eta_seconds(run: BacktestRun, now=None) -> float | None:
    """Time left: the work left, scenario by scenario, over the rate the workers do work.

    A scenario's cost per path is this run's own where a chunk of it is stored, else the last
    complete run's on the same baseline (scaled by how much faster or slower this run goes on
    the scenarios both have), else this run's mean; the rate is the compute seconds stored per
    second elapsed. Extrapolating from the chunks done alone promised seconds for what took
    minutes when a slow scenario (a thin-depth shock) came last. None before anything is known.
    """
    elapsed = run.elapsed_seconds(now)
    if run.is_finished or elapsed is None or not run.manifest.get("scenarios"):
        return None
    cost, stored, work_done = _seconds_per_path(run.pk)
    prior = _prior_run(run)
    prior_cost, _, prior_work = _seconds_per_path(prior.pk) if prior is not None else ({}, {}, 0.0)
    shared = [s for s in cost if s in prior_cost and prior_cost[s] > 0]
    speed = sum(cost[s] for s in shared) / sum(prior_cost[s] for s in shared) if shared else 1.0
    mean = work_done / max(sum(stored.values()), 1) if stored else None
    left = 0.0
    for s in [*run.manifest["scenarios"], *sweeps.jobs_of(run.manifest)]:
        paths_left = s["n_paths"] - stored.get(s["index"], 0)
        if paths_left <= 0:
            continue
        per_path = cost.get(s["index"])
        if per_path is None:
            per_path = prior_cost[s["index"]] * speed if s["index"] in prior_cost else mean
        if per_path is None:
            return None
        left += per_path * paths_left
    if work_done > 0 and elapsed > 0:
        rate = work_done / elapsed
    elif prior is not None and prior_work > 0 and prior.elapsed_seconds():
        rate = prior_work / prior.elapsed_seconds()
    else:
        return None
    return left / rate
