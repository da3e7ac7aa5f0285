"""Backtests through a real broker and real worker processes (not eager mode)."""

from __future__ import annotations

import os
import signal
import time
import uuid

import numpy as np
import pytest

from backtests import compute, replay, services
from backtests.models import BacktestRun, ChunkResult, RunStatus
from backtests.tasks import run_chunk_task
from governance.models import Member
from proposals.models import Proposal
from review.services import submit_proposal
from scenarios import services as scenario_services
from tests.backtests.conftest import make_book, make_pack, scenario_spec, set_baseline, wait_for_run
from tests.proposals.factories import make_market, make_proposal, make_user

pytestmark = pytest.mark.worker


@pytest.fixture
def market(transactional_db):
    """Small: chunks take milliseconds."""
    market = make_market("aave-v3")
    make_book(market)
    make_pack(market, [scenario_spec("calm", 0.6, 48), scenario_spec("storm", 2.5, 48, lam=40.0)])
    return market


@pytest.fixture
def author(transactional_db):
    return make_user("carol", Member.Role.CONTRIBUTOR)


def submit(market, author, settings, n_paths: int = 30) -> BacktestRun:
    set_baseline(market, n_paths=n_paths, chunk_paths=10)
    proposal = make_proposal(market, author, liquidation_threshold="0.80", ltv="0.78")
    submit_proposal(proposal=proposal, actor=author)
    return BacktestRun.objects.get(proposal=proposal)


def test_submitting_a_proposal_runs_its_backtest_to_complete_stored_results(
    market, author, settings, start_worker
):
    # With the sweeps on their first chunk of 10 paths: more chunks of the same run.
    start_worker("w1", env={"BACKTEST_SWEEP_PATHS": "10"})
    run = wait_for_run(submit(market, author, settings))
    assert run.status == RunStatus.COMPLETE, run.error
    jobs = run.manifest["sweeps"]["jobs"]
    # 2 scenarios x 3 chunks of 10 paths, and one chunk per sweep job.
    assert (run.chunks_done, run.chunks_total) == (6 + len(jobs), 6 + len(jobs))
    assert sorted(int(k) for k in run.figures["sweeps"]) == [j["index"] for j in jobs]
    assert "collateral_at_risk" in run.figures and "worst" in run.figures["health"]
    assert run.results.count() == 6 and run.comparisons.count() == 2  # live, proposed, delayed
    assert all(c.delay["paired"] for c in run.comparisons.all())
    storm = run.results.get(scenario_index=1, role="proposed")
    per_path = compute.unpack(storm.per_path)["per_path"]
    assert per_path.shape == (30, len(run.manifest["fields"]))
    assert storm.summary["n_paths"] == 30 and storm.summary["mean_n_liq"] > 0
    manifest = run.manifest
    assert manifest["versions"]["proposed"]["content_hash"] == run.proposed_version.content_hash
    assert manifest["versions"]["live"]["content_hash"] == run.live_version.content_hash
    assert len(manifest["book"]["sha256"]) == 64 and manifest["chunking"]["chunk_paths"] == 10
    assert [s["name"] for s in manifest["scenarios"]] == [
        "aave-v3-ethereum-weth: calm",
        "aave-v3-ethereum-weth: storm",
    ]
    # A complete backtest schedules the vote: it opens after the policy's voting delay.
    assert Proposal.objects.get(pk=run.proposal_id).status == Proposal.Status.PENDING


def test_merged_figures_equal_a_single_process_run_bit_for_bit(market, author, settings, start_worker):
    start_worker("w1")
    run = wait_for_run(submit(market, author, settings))
    assert run.status == RunStatus.COMPLETE, run.error
    assert replay.replay_backtest(run=run) == []
    # The comparison has teeth: a stored figure changed by one ulp is reported.
    row = run.results.get(scenario_index=0, role="live")
    arrays = compute.unpack(row.per_path)
    arrays["per_path"][3, 0] = np.nextafter(arrays["per_path"][3, 0], np.inf)
    row.per_path = compute.pack(arrays)
    row.save()
    differences = replay.replay_backtest(run=run)
    assert [d.figure for d in differences] == ["live per-path bad_debt"]


def test_a_worker_killed_mid_chunk_leaves_the_chunk_to_another_and_the_figures_are_identical(
    heavy_market, author, settings, start_worker
):
    first = start_worker("w1")
    run = submit(heavy_market, author, settings, n_paths=20)
    first.wait_for(f"chunk run={run.pk} scenario=0 chunk=1 started", timeout=60)
    children = first.child_pids()
    assert len(children) == 1
    os.kill(children[0], signal.SIGKILL)
    first.wait_for("signal 9 (SIGKILL)", timeout=30)
    assert f"chunk run={run.pk} scenario=0 chunk=1 stored" not in first.text()
    first.stop()
    second = start_worker("w2")
    run = wait_for_run(run)
    assert run.status == RunStatus.COMPLETE, run.error
    assert (
        f"chunk run={run.pk} scenario=0 chunk=1 started" in second.text()
        or first.text().count(f"chunk run={run.pk} scenario=0 chunk=1 started") == 2
    )
    assert ChunkResult.objects.filter(run=run).count() == 4
    assert replay.replay_backtest(run=run) == []


def test_a_redelivered_chunk_does_not_double_count(market, author, settings, start_worker):
    worker = start_worker("w1")
    run = wait_for_run(submit(market, author, settings))
    assert run.status == RunStatus.COMPLETE, run.error
    # The last chunk's task merges and finishes the run: let it end before the test reopens
    # the run (6 chunks).
    deadline = time.monotonic() + 30
    while sum("run_chunk_task[" in line and "succeeded" in line for line in worker.text().splitlines()) < 6:
        assert time.monotonic() < deadline, worker.text()[-3000:]
        time.sleep(0.05)
    before = {(c.scenario_index, c.chunk_index): bytes(c.data) for c in run.chunks.all()}
    # The broker delivers the same chunk again (as after a lost acknowledgement), and the
    # chunk's write itself is repeated (two deliveries racing): one row, same figures.

    BacktestRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    task_id = str(uuid.uuid4())
    run_chunk_task.apply_async((run.pk, 1, 2), task_id=task_id)
    worker.wait_for(f"run_chunk_task[{task_id}] succeeded", timeout=60)
    assert f"chunk run={run.pk} scenario=1 chunk=2 already stored" in worker.text()
    chunk = services.chunk_of(run, 1, 2)
    assert services.store_chunk(
        run_id=run.pk, chunk=chunk, arrays=compute.unpack(before[(1, 2)]), seconds=0.0
    )
    run.refresh_from_db()
    assert run.chunks.count() == 6 and run.chunks_done == 6
    assert run.chunks.get(scenario_index=1, chunk_index=2).attempts == 2
    assert {(c.scenario_index, c.chunk_index): bytes(c.data) for c in run.chunks.all()} == before


def test_a_cancelled_run_stops_and_shows_cancelled(heavy_market, author, settings, start_worker):
    run = submit(heavy_market, author, settings, n_paths=100)  # 20 chunks of about a second
    worker = start_worker("w1")
    worker.wait_for(f"chunk run={run.pk} scenario=0 chunk=0 stored", timeout=60)
    services.cancel_backtest(run=run, user=author)
    time.sleep(2)
    run.refresh_from_db()
    done = run.chunks.count()
    time.sleep(2)
    assert run.status == RunStatus.CANCELLED and run.chunks.count() == done < 20
    assert not run.results.exists()
    assert Proposal.objects.get(pk=run.proposal_id).status == Proposal.Status.BACKTESTING


def test_bad_input_fails_the_run_with_the_engines_message_and_is_not_retried(
    market, author, settings, start_worker
):
    # A book with a negative debt (stored consistently, hash and all) is bad input: the engine
    # refuses it when a chunk loads it.
    book = scenario_services.default_book(market)
    arrays = scenario_services.decode_book(book.data)
    arrays["debt"][5] = -5.0
    book.data = scenario_services.encode_book(arrays)
    book.sha256 = scenario_services.book_sha256(arrays)
    book.save()
    worker = start_worker("w1")
    run = wait_for_run(submit(market, author, settings))
    assert run.status == RunStatus.FAILED
    assert "paths 0-9" in run.error and "debt" in run.error and "-5.0" in run.error, run.error
    assert "Retry in" not in worker.text()
    assert not run.chunks.exists() and not run.results.exists()
    assert Proposal.objects.get(pk=run.proposal_id).status == Proposal.Status.BACKTESTING
