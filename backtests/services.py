"""Backtest workflows: start, dispatch (a Celery group of chunk tasks), store, merge, cancel,
fail, resume, replay.

State lives in the database, never in Celery: a chunk's result is a row unique per (run,
scenario, chunk) written with an upsert, the run's progress is the count of those rows, and
the merge reads the rows. So a chunk delivered twice (worker killed after writing, broker
redelivery) changes nothing, and a run can be resumed by sending its missing chunks again.

What happens next is decided from those rows, not by a chord's callback: the chunk whose write
completes its scenario merges that scenario in the same task, while the other workers go on
with other scenarios' chunks, and the merge that completes the run (the final merge) finishes
it. So no worker waits at a barrier between the chunks and the merges, and no chord
bookkeeping (which the database result backend does by polling, and which a broker restart can
lose) sits between a run's last chunk and its results.
"""

from __future__ import annotations

import logging
import time
import uuid

import numpy as np
from celery import group
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

# backtests.tasks imports this module too: a task's body calls its service, and a service sends
# the next tasks. The one cycle between modules of an app, named in .importlinter.
from backtests import bookrisk, compute, hurt, sweeps, tasks
from backtests import inputs as run_inputs
from backtests.models import (
    FINISHED,
    BacktestRun,
    ChunkResult,
    Role,
    RunStatus,
    ScenarioComparison,
    ScenarioResult,
)
from backtests.params import run_mechanism
from engine.errors import EngineError
from proposals import services as proposal_services
from proposals.models import IllegalTransitionError, Proposal
from scenarios import services as scenario_services

log = logging.getLogger(__name__)


class BacktestError(Exception):
    """A request about a run that cannot be honoured (e.g. cancel a finished run)."""


# -- start and dispatch ---------------------------------------------------------------------


def start_backtest(*, proposal, user=None) -> BacktestRun:
    """Create a PENDING run of the proposal (proposed vs live version) and queue its dispatch on
    commit. If a run of this proposal is already pending or running, return it instead.

    The run takes its seed, paths and chunk size from the market's default stress pack (the
    market's baseline: every proposal of the market runs on the same paths and book); the
    dispatch fixes them in the manifest."""
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
        running = proposal.backtest_runs.exclude(status__in=FINISHED).first()
        if running is not None:
            return running
        pack = scenario_services.default_pack(proposal.market)
        run = BacktestRun.objects.create(
            proposal=proposal,
            proposed_version=proposal.proposed_version,
            live_version=proposal.live_version,
            # Without a pack the dispatch fails the run, saying so.
            seed=pack.seed if pack else 0,
            n_paths=pack.n_paths if pack else 0,
            chunk_paths=pack.chunk_paths if pack else 0,
            created_by=user,
        )
        transaction.on_commit(lambda: _send_dispatch(run.pk))
    return run


def _send_dispatch(run_id: int) -> None:
    tasks.dispatch_backtest_task.delay(run_id)


def dispatch_backtest(*, run_id: int) -> None:
    """Fix the run's inputs in its manifest, plan its chunks and send them as one Celery group
    (the chunk completing a scenario merges it: see the module docstring). Runs in a worker
    (loading the book and the history can take a while)."""
    run = BacktestRun.objects.filter(pk=run_id).first()
    if run is None or run.status != RunStatus.PENDING:
        return
    # Built outside the transaction: it takes seconds, and on SQLite a write transaction
    # would hold the database's write lock all that time.
    try:
        manifest = run_inputs.build_manifest(run)
    except (EngineError, ValueError) as exc:  # scenario services raise ValueError for missing data
        fail_backtest(run_id=run_id, message=f"The backtest's inputs are invalid: {exc}")
        return
    with transaction.atomic():
        run = BacktestRun.objects.select_for_update().get(pk=run_id)
        if run.status != RunStatus.PENDING:
            return
        run.manifest = manifest
        run.seed = manifest["seed"]
        run.n_paths = manifest["chunking"]["n_paths"]
        run.chunk_paths = manifest["chunking"]["chunk_paths"]
        chunks = chunks_of(run)
        run.chunks_total = len(chunks)
        run.chunks_done = 0
        run.task_ids = [str(uuid.uuid4()) for _ in chunks]
        run.status = RunStatus.RUNNING
        run.started_at = run.last_progress_at = timezone.now()
        run.save()
        weights = sweeps.job_weights(run.manifest)
        transaction.on_commit(lambda: _send_chunks(run.pk, chunks, run.task_ids, weights))


def send_order(chunks: list[compute.Chunk], weights: dict[int, float] | None = None) -> list[int]:
    """Positions of ``chunks`` in the order their tasks are sent: the sweep jobs' first, the
    heaviest first (``weights``: their estimated cost by index), then scenario by scenario, the
    scenarios with the most chunks first (stable).

    The heaviest sweep jobs first (their chunks run several parameter sets, at up to three times
    the volatility), so that what is left at the end is the lighter work that evens out the
    workers.

    Scenario by scenario, so that each scenario is complete, and merged by the worker that
    stored its last chunk, while the others go on with the next scenario's chunks; the largest
    first, so that what is left for the end, while one worker merges the last big scenario, is
    the small chunks (one-path replays of history) that keep the others busy.
    """
    per_scenario: dict[int, int] = {}
    for b in chunks:
        per_scenario[b.scenario_index] = per_scenario.get(b.scenario_index, 0) + 1
    weights = weights or {}
    return sorted(
        range(len(chunks)),
        key=lambda i: (
            chunks[i].scenario_index not in weights,
            -weights.get(chunks[i].scenario_index, 0.0),
            -per_scenario[chunks[i].scenario_index],
            chunks[i].scenario_index,
            chunks[i].chunk_index,
        ),
    )


def _send_chunks(
    run_id: int, chunks: list[compute.Chunk], task_ids: list[str], weights: dict[int, float] | None = None
) -> None:
    """The chunks as one Celery group (no callback: see the module docstring), in send_order."""
    group(
        tasks.run_chunk_task.si(run_id, chunks[i].scenario_index, chunks[i].chunk_index).set(
            task_id=task_ids[i]
        )
        for i in send_order(chunks, weights)
    ).apply_async()


def chunks_of(run: BacktestRun) -> list[compute.Chunk]:
    """The run's chunks: the scenarios', then the sweep jobs' (numbered after the scenarios)."""
    sizes = [s["n_paths"] for s in run.manifest["scenarios"]]
    sizes += [j["n_paths"] for j in sweeps.jobs_of(run.manifest)]
    return compute.plan_chunks(paths_per_scenario=sizes, chunk_paths=run.chunk_paths)


def is_sweep(run: BacktestRun, index: int) -> bool:
    return index >= len(run.manifest["scenarios"])


def part_name(run: BacktestRun, index: int) -> str:
    """What a scenario index names: a scenario of the pack, or a sweep job."""
    if not is_sweep(run, index):
        return run.manifest["scenarios"][index]["name"]
    job = sweeps.jobs_of(run.manifest)[index - len(run.manifest["scenarios"])]
    name = run.manifest["scenarios"][job["scenario_index"]]["name"]
    return f"{name} (sweep at volatility x{job['multiplier']:g}: {', '.join(job['sets'])})"


def n_parts(run: BacktestRun) -> int:
    return len(run.manifest["scenarios"]) + len(sweeps.jobs_of(run.manifest))


def is_merged(run: BacktestRun, index: int) -> bool:
    if is_sweep(run, index):
        return BacktestRun.objects.filter(pk=run.pk, figures__sweeps__has_key=str(index)).exists()
    return run.comparisons.filter(scenario_index=index).exists()


def all_merged(run: BacktestRun) -> bool:
    """Every scenario's results and every sweep job's stored (``run`` read under its lock)."""
    return run.comparisons.count() == len(run.manifest["scenarios"]) and len(
        (run.figures or {}).get("sweeps", {})
    ) == len(sweeps.jobs_of(run.manifest))


def chunk_of(run: BacktestRun, scenario_index: int, chunk_index: int) -> compute.Chunk:
    for b in chunks_of(run):
        if b.scenario_index == scenario_index and b.chunk_index == chunk_index:
            return b
    raise EngineError(f"run {run.pk} has no chunk (scenario {scenario_index}, chunk {chunk_index})")


def resume_backtest(*, run: BacktestRun) -> int:
    """Send again what a RUNNING run is missing: the chunks with no stored result (e.g. after a
    worker's main process was killed on the SQLite broker, which does not redeliver), and the
    merges of the scenarios whose chunks are all stored but whose results are not; with every
    scenario merged, finish it. Safe while the old messages are still around: every write is
    an upsert. Returns the number of chunks sent."""
    if run.status == RunStatus.PENDING:
        # The dispatch message was lost (e.g. broker restarted before a worker took it).
        BacktestRun.objects.filter(pk=run.pk).update(last_progress_at=timezone.now())
        _send_dispatch(run.pk)
        return 0
    with transaction.atomic():
        run = BacktestRun.objects.select_for_update().get(pk=run.pk)
        if run.status != RunStatus.RUNNING:
            raise BacktestError(f"only a running run can be resumed; run {run.pk} is {run.status}")
        done = set(run.chunks.values_list("scenario_index", "chunk_index"))
        missing = [b for b in chunks_of(run) if (b.scenario_index, b.chunk_index) not in done]
        ids = [str(uuid.uuid4()) for _ in missing]
        run.task_ids = list(run.task_ids) + ids
        run.last_progress_at = timezone.now()
        run.save(update_fields=["task_ids", "last_progress_at"])
        if missing:
            transaction.on_commit(
                lambda: _send_chunks(run.pk, missing, ids, sweeps.job_weights(run.manifest))
            )
    merge_backtest(run_id=run.pk)
    return len(missing)


# -- chunks ---------------------------------------------------------------------------------


def run_chunk(*, run_id: int, scenario_index: int, chunk_index: int) -> bool:
    """Compute one chunk and store it; if that completes its scenario, merge the scenario, and
    if that completes the run, finish it. Returns False when there was no chunk to compute
    (run gone, cancelled, failed, or the chunk already stored). Bad input (EngineError) fails
    the run; it is not retried. Transient database errors propagate to the task, which retries:
    the retry finds the chunk stored and does what is left (the merge, the finish)."""
    run = BacktestRun.objects.filter(pk=run_id).first()
    if run is None or run.status != RunStatus.RUNNING:
        return False
    if run.chunks.filter(scenario_index=scenario_index, chunk_index=chunk_index).exists():
        log.info("chunk run=%s scenario=%s chunk=%s already stored", run_id, scenario_index, chunk_index)
        # A redelivery (or a retry after the merge failed): merge if nobody has.
        if scenario_ready_to_merge(run, scenario_index):
            merge_scenario(run_id=run_id, scenario_index=scenario_index)
        return False
    chunk = chunk_of(run, scenario_index, chunk_index)
    log.info("chunk run=%s scenario=%s chunk=%s started", run_id, scenario_index, chunk_index)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    try:
        run_inputs.check_manifest(run)
        inputs = run_inputs.load_inputs(run)
        timings["load"] = time.perf_counter() - t0
        if is_sweep(run, scenario_index):
            job = inputs.sweeps[scenario_index - len(inputs.scenarios)]
            arrays = compute.compute_sweep_chunk(inputs, run.seed, job, chunk, timings)
        else:
            arrays = compute.compute_chunk(inputs, run.seed, chunk, timings)
    except EngineError as exc:
        name = part_name(run, scenario_index)
        fail_backtest(
            run_id=run_id, message=f"Scenario {name!r}, paths {chunk.start}-{chunk.stop - 1}: {exc}"
        )
        return False
    seconds = time.perf_counter() - t0
    stored = store_chunk(run_id=run_id, chunk=chunk, arrays=arrays, seconds=seconds, timings=timings)
    if stored == COMPLETES_SCENARIO:
        merge_scenario(run_id=run_id, scenario_index=scenario_index)
    return bool(stored)


def scenario_complete(run: BacktestRun, scenario_index: int) -> bool:
    """Every chunk of the scenario stored."""
    expected = sum(1 for b in chunks_of(run) if b.scenario_index == scenario_index)
    return run.chunks.filter(scenario_index=scenario_index).count() == expected


def scenario_ready_to_merge(run: BacktestRun, scenario_index: int) -> bool:
    """Every chunk of the scenario stored and its results not yet."""
    return scenario_complete(run, scenario_index) and not is_merged(run, scenario_index)


# store_chunk's results (truthy when the chunk was stored).
NOT_STORED, STORED, COMPLETES_SCENARIO = 0, 1, 2


def store_chunk(
    *,
    run_id: int,
    chunk: compute.Chunk,
    arrays: dict[str, np.ndarray],
    seconds: float,
    timings: dict[str, float] | None = None,
) -> int:
    """Upsert one chunk's result and update the run's progress from the stored rows.

    Returns NOT_STORED (the run is no longer running), STORED, or COMPLETES_SCENARIO when this
    write created the last missing chunk of its scenario: decided under the run's row lock, so
    of two chunks of a scenario stored at once exactly one completes it."""
    t0 = time.perf_counter()
    data = compute.pack(arrays)
    timings = {**(timings or {}), "pack": time.perf_counter() - t0}
    t0 = time.perf_counter()
    with transaction.atomic():
        run = BacktestRun.objects.select_for_update().get(pk=run_id)
        if run.status != RunStatus.RUNNING:
            return NOT_STORED
        row, created = ChunkResult.objects.update_or_create(
            run=run,
            scenario_index=chunk.scenario_index,
            chunk_index=chunk.chunk_index,
            defaults={
                "path_start": chunk.start,
                "path_stop": chunk.stop,
                "data": data,
                "seconds": seconds,
                "timings": timings,
            },
        )
        if not created:
            ChunkResult.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        run.chunks_done = run.chunks.count()
        run.last_progress_at = timezone.now()
        run.save(update_fields=["chunks_done", "last_progress_at"])
        completes = created and scenario_complete(run, chunk.scenario_index)
    # The write's own time, recorded after the fact (a second, tiny update).
    ChunkResult.objects.filter(pk=row.pk).update(timings={**timings, "store": time.perf_counter() - t0})
    log.info(
        "chunk run=%s scenario=%s chunk=%s stored (%.2f s)",
        run_id,
        chunk.scenario_index,
        chunk.chunk_index,
        seconds,
    )
    return COMPLETES_SCENARIO if completes else STORED


# -- merge ----------------------------------------------------------------------------------
# A scenario is merged by the task that stored its last chunk (run_chunk). merge_backtest is
# the safety net, used when resuming: it sends the merges nobody did.


def merge_backtest(*, run_id: int) -> bool:
    """Send a merge for every scenario of a RUNNING run whose chunks are all stored and whose
    results are not; with every scenario merged, finish the run. Returns whether it sent or
    finished anything."""
    run = BacktestRun.objects.filter(pk=run_id).first()
    if run is None or run.status != RunStatus.RUNNING:
        return False
    pending = [s for s in range(n_parts(run)) if scenario_ready_to_merge(run, s)]
    if pending:
        transaction.on_commit(lambda: _send_merges(run_id, pending))
        return True
    if all_merged(run):
        return finish_backtest(run_id=run_id)  # merged, but the finish was lost
    return False


def _send_merges(run_id: int, scenario_indexes: list[int]) -> None:
    for s in scenario_indexes:
        tasks.merge_scenario_task.delay(run_id, s)


def merge_scenario(*, run_id: int, scenario_index: int) -> bool:
    """Merge one scenario's chunks into its results (upsert: a repeated merge changes nothing);
    if every scenario then has its results, finish the run (in this task: no message between
    the last merge and the vote)."""
    run = BacktestRun.objects.filter(pk=run_id).first()
    if run is None or run.status != RunStatus.RUNNING:
        return False
    chunks = list(run.chunks.filter(scenario_index=scenario_index).order_by("chunk_index"))
    if is_sweep(run, scenario_index):
        return merge_sweep(run, scenario_index, chunks)
    t0 = time.perf_counter()
    try:
        inputs = run_inputs.load_inputs(run)
        results = compute.merge_scenario(
            inputs, run.seed, scenario_index, [compute.unpack(c.data) for c in chunks]
        )
    except EngineError as exc:
        fail_backtest(run_id=run_id, message=f"Merging scenario {scenario_index} failed: {exc}")
        return False
    packed = pack_results(run, results)  # before taking the run's lock, which chunks wait for
    with transaction.atomic():
        run = BacktestRun.objects.select_for_update().get(pk=run_id)
        if run.status != RunStatus.RUNNING:
            return False
        save_results(run, results, packed)
        run.last_progress_at = timezone.now()
        run.save(update_fields=["last_progress_at"])
        merged_all = all_merged(run)
    log.info("scenario run=%s scenario=%s merged (%.2f s)", run_id, scenario_index, time.perf_counter() - t0)
    if merged_all:
        finish_backtest(run_id=run_id)
    return True


def merge_sweep(run: BacktestRun, index: int, chunks: list[ChunkResult]) -> bool:
    """Merge a sweep job's chunks (compute.merge_sweep) into ``run.figures["sweeps"]`` (an upsert
    under the run's lock); if that completes the run, finish it."""
    t0 = time.perf_counter()
    try:
        inputs = run_inputs.load_inputs(run)
        job = inputs.sweeps[index - len(inputs.scenarios)]
        merged = compute.merge_sweep(inputs, job, [compute.unpack(c.data) for c in chunks])
    except EngineError as exc:
        fail_backtest(run_id=run.pk, message=f"Merging {part_name(run, index)} failed: {exc}")
        return False
    with transaction.atomic():
        run = BacktestRun.objects.select_for_update().get(pk=run.pk)
        if run.status != RunStatus.RUNNING:
            return False
        figures = dict(run.figures or {})
        figures["sweeps"] = {**figures.get("sweeps", {}), str(index): merged}
        run.figures = figures
        run.last_progress_at = timezone.now()
        run.save(update_fields=["figures", "last_progress_at"])
        merged_all = all_merged(run)
    log.info("sweep run=%s job=%s merged (%.2f s)", run.pk, index, time.perf_counter() - t0)
    if merged_all:
        finish_backtest(run_id=run.pk)
    return True


def finish_backtest(*, run_id: int) -> bool:
    """Mark the run COMPLETE once every scenario's results are stored, and schedule the vote;
    first store who the proposal hurts at the starting price (outside the run's lock)."""
    run = BacktestRun.objects.filter(pk=run_id).first()
    if run is not None and run.status == RunStatus.RUNNING and not run.who_gets_hurt:
        try:
            store_who_gets_hurt(run)
        except (EngineError, ValueError) as exc:
            # The run's results stand without it; the page says it is missing.
            log.warning("run %s: who gets hurt not computed: %s", run_id, exc)
    if run is not None and run.status == RunStatus.RUNNING and "health" not in (run.figures or {}):
        try:
            bookrisk.store_book_risk(run)
        except (EngineError, ValueError) as exc:
            log.warning("run %s: the book's charts not computed: %s", run_id, exc)
    with transaction.atomic():
        run = BacktestRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status != RunStatus.RUNNING:
            return False
        n = len(run.manifest["scenarios"])
        # A third result for each scenario merged with the delayed version (its comparison has
        # the cost of delay; not a run made before it, nor chunks computed by older workers).
        expected = 2 * n + run.comparisons.exclude(delay={}).count()
        if not all_merged(run) or run.results.count() != expected:
            log.warning(
                "run %s: %s of %s scenarios merged; it stays running", run_id, run.comparisons.count(), n
            )
            return False
        run.status = RunStatus.COMPLETE
        run.finished_at = run.last_progress_at = timezone.now()
        run.save(update_fields=["status", "finished_at", "last_progress_at"])
        _open_voting(run)
    return True


def store_who_gets_hurt(run: BacktestRun) -> dict:
    """Compute and store who the proposal hurts (backtests.hurt) at the starting price: the
    price the run's book is valued at, else the first scenario's median start price."""
    inputs = run_inputs.load_inputs(run)
    price = run_inputs.start_price(run)
    first = inputs.scenarios[0]
    mechanism = run_mechanism(run.manifest)
    data = hurt.who_gets_hurt(mechanism, first.live, first.proposed, inputs.book, price)
    BacktestRun.objects.filter(pk=run.pk).update(who_gets_hurt=data)
    run.who_gets_hurt = data
    return data


def pack_results(run: BacktestRun, f: compute.ScenarioResults) -> dict[str, bytes]:
    """The stored form of each version's per-path results (compressed arrays)."""
    fields = np.array(list(run.manifest.get("fields", [])))
    packed = {
        Role.LIVE: compute.pack({"per_path": f.live, "fields": fields}),
        Role.PROPOSED: compute.pack({"per_path": f.proposed, "fields": fields}),
    }
    if f.delayed is not None:
        packed[Role.DELAYED] = compute.pack({"per_path": f.delayed, "fields": fields})
    return packed


def save_results(run: BacktestRun, f: compute.ScenarioResults, packed: dict[str, bytes]) -> None:
    """Upsert a scenario's results; ``packed`` is pack_results(run, f)."""
    roles = [(Role.LIVE, f.live_summary), (Role.PROPOSED, f.proposed_summary)]
    if f.delayed is not None:
        roles.append((Role.DELAYED, f.delayed_summary))
    for role, summary in roles:
        ScenarioResult.objects.update_or_create(
            run=run,
            scenario_index=f.index,
            role=role,
            defaults={"scenario_name": f.name, "summary": summary, "per_path": packed[role]},
        )
    ScenarioComparison.objects.update_or_create(
        run=run,
        scenario_index=f.index,
        defaults={"scenario_name": f.name, "paired": f.paired, "series": f.series, "delay": f.delay or {}},
    )


def open_voting(*, proposal: Proposal, actor: AbstractBaseUser | None = None) -> Proposal:
    """Backtesting -> pending (voting opens after the policy's delay; at once when it is 0), on
    the proposal's complete run of exactly its live and proposed versions (ValidationError when
    it has none): proposals.services.schedule_voting copies the policy and takes the snapshot."""
    return proposal_services.schedule_voting(proposal=proposal, backtest=complete_run(proposal), actor=actor)


def complete_run(proposal: Proposal) -> BacktestRun | None:
    """The proposal's latest complete run of exactly its live and proposed versions: the one its
    vote was scheduled on, and the one its export's report cites."""
    return (
        BacktestRun.objects.filter(
            proposal=proposal,
            status=RunStatus.COMPLETE,
            proposed_version_id=proposal.proposed_version_id,
            live_version_id=proposal.live_version_id,
        )
        .order_by("-finished_at", "-pk")
        .first()
    )


def _open_voting(run: BacktestRun) -> None:
    """Schedule the proposal's vote when its run completes; a proposal in another state
    (withdrawn meanwhile) is left alone."""
    # No lock here: schedule_voting locks the market, then the proposal (the order every
    # proposal workflow uses), and refuses the move if the proposal left backtesting meanwhile.
    proposal = Proposal.objects.get(pk=run.proposal_id)
    if proposal.status != Proposal.Status.BACKTESTING:
        return
    try:
        proposal_services.schedule_voting(proposal=proposal, backtest=run, actor=None)
    except IllegalTransitionError:
        pass  # withdrawn or superseded while the run finished


# -- cancel, fail, stuck --------------------------------------------------------------------


def cancel_backtest(*, run: BacktestRun, user) -> BacktestRun:
    """Cancel a pending or running run (the caller checked that ``user`` may) and revoke its
    pending chunks. A chunk already computing finishes but its result is discarded."""
    with transaction.atomic():
        run = BacktestRun.objects.select_for_update().get(pk=run.pk)
        if run.is_finished:
            raise BacktestError(
                f"run {run.pk} is already {run.status}; only a pending or running run can be cancelled"
            )
        run.status = RunStatus.CANCELLED
        run.error = f"Cancelled by {user.get_username()}."
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        ids = list(run.task_ids)
        transaction.on_commit(lambda: _revoke(ids))
    return run


def fail_backtest(*, run_id: int, message: str) -> None:
    with transaction.atomic():
        run = BacktestRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.is_finished:
            return
        _mark_failed(run, message)
        ids = list(run.task_ids)
        transaction.on_commit(lambda: _revoke(ids))


def _mark_failed(run: BacktestRun, message: str) -> None:
    log.error("run %s failed: %s", run.pk, message)
    run.status = RunStatus.FAILED
    run.error = message[:5000]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])


def _revoke(task_ids: list[str]) -> None:
    """Best effort: workers drop revoked tasks they have not started. Chunks check the run's
    status before computing and before storing, so a missed revoke only costs time."""
    if not task_ids:
        return
    try:
        tasks.run_chunk_task.app.control.revoke(task_ids)
    except Exception:  # the broker may not support broadcast (or be down): status check suffices
        log.warning("could not broadcast revoke of %s tasks", len(task_ids), exc_info=True)


def stuck_runs(now=None) -> list[BacktestRun]:
    """Pending or running runs with no progress for BACKTEST_STUCK_SECONDS."""
    now = now or timezone.now()
    return [r for r in BacktestRun.objects.exclude(status__in=FINISHED) if r.is_stuck(now)]


def resume_stuck_backtests() -> list[int]:
    """Resume every stuck run (the periodic task; resuming marks progress, so a run is resumed
    at most once per BACKTEST_STUCK_SECONDS). Returns the ids resumed."""
    resumed = []
    for run in stuck_runs():
        try:
            resume_backtest(run=run)
        except BacktestError:
            continue  # finished meanwhile
        log.warning("run %s had no progress for %s s: resumed", run.pk, settings.BACKTEST_STUCK_SECONDS)
        resumed.append(run.pk)
    return resumed
