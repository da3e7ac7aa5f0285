"""Celery tasks of a backtest: each takes ids and calls its service.

A run is one ``run_chunk_task`` per chunk; the task that stores a scenario's last chunk merges
the scenario, and the one that merges the last scenario finishes the run (backtests.services).
``merge_scenario_task`` is sent when a run is resumed.

Every task is ``acks_late`` with ``reject_on_worker_lost`` (settings): a worker process killed
in the middle of a chunk leaves the message to be delivered again, and the chunk's upsert
makes the second delivery harmless. Transient errors (database locked or gone, broker
connection) retry with exponential backoff; bad input (EngineError) is handled by the
service, which fails the run without retrying.
"""

from __future__ import annotations

import logging

import numba
from celery import Task, shared_task
from celery.signals import worker_init, worker_process_init
from django.conf import settings
from django.db import InterfaceError, OperationalError
from numba import njit

# The scenario models (scipy) are imported here, so a worker's main process loads them before it
# forks its pool (see _prepare_engine).
import engine.scenarios  # noqa: F401
from backtests import services
from engine.api import MECHANISMS, load_mechanism

log = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
# ignore_result: a run's state is in the database; nothing reads these tasks' Celery results,
# so no task writes one (one write less per chunk, and no dependence on the result backend).
RETRY = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 6,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
}


class RunTask(Task):
    """Fails the run (with the error) when a task gives up after its retries."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        run_id = args[0] if args else kwargs.get("run_id")
        if run_id is not None:
            services.fail_backtest(run_id=run_id, message=f"{type(exc).__name__}: {exc}")


@worker_init.connect
def _prepare_engine(**_: object) -> None:
    """In the worker's main process, before it forks its pool: every pool process then starts
    with the engine's mechanisms and the scenario models (scipy) imported and numba's compiler
    initialized, instead of spending about 1.5 s and 0.35 s on them in its first chunk.

    Numba is initialized by compiling a trivial function: no parallel code runs here, so no
    thread is started before the fork. The kernels themselves are loaded from numba's cache by
    each pool process on first use (0.02 s); compiling them here, the first time, would hold
    the worker's start for minutes.
    """
    for name in MECHANISMS:
        load_mechanism(name)

    @njit(cache=False)
    def _one(x: int) -> int:
        return x + 1

    _one(1)


@worker_process_init.connect
def _limit_engine_threads(**_: object) -> None:
    # One engine thread per worker process: a worker's concurrency (and the number of workers)
    # is the parallelism, and the numba pool would otherwise oversubscribe the cores.
    numba.set_num_threads(min(settings.BACKTEST_ENGINE_THREADS, numba.config.NUMBA_NUM_THREADS))


@shared_task(base=RunTask, **RETRY)
def dispatch_backtest_task(run_id: int) -> None:
    services.dispatch_backtest(run_id=run_id)


@shared_task(base=RunTask, **RETRY)
def run_chunk_task(run_id: int, scenario_index: int, chunk_index: int) -> bool:
    return services.run_chunk(run_id=run_id, scenario_index=scenario_index, chunk_index=chunk_index)


@shared_task(base=RunTask, **RETRY)
def merge_scenario_task(run_id: int, scenario_index: int) -> bool:
    return services.merge_scenario(run_id=run_id, scenario_index=scenario_index)


@shared_task(acks_late=True, ignore_result=True)
def resume_stuck_backtests_task() -> list[int]:
    return services.resume_stuck_backtests()
