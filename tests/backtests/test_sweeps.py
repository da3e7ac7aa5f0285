"""Sweeps as more chunks of the same run: the sensitivity (each changed parameter one guardrail
step each way), the volatility multipliers and the frontier are planned in the manifest, computed
as chunks on the scenarios' own paths (common random numbers) and merged like the scenarios; the
run completes only with every sweep merged."""

from __future__ import annotations

import numpy as np
import pytest

from backtests import compute, services, sweeps
from backtests import inputs as run_inputs
from backtests.models import BacktestRun, RunStatus
from engine.results import summarize
from governance.models import Member
from review.services import submit_proposal
from tests.backtests.conftest import make_book, make_pack, scenario_spec, set_baseline
from tests.backtests.test_services import drive
from tests.proposals.factories import make_market, make_proposal, make_user


@pytest.fixture
def run(db, settings, django_capture_on_commit_callbacks) -> BacktestRun:
    settings.BACKTEST_N_BOOT = 20
    settings.BACKTEST_SWEEP_PATHS = 8
    market = make_market("aave-v3")
    make_book(market, n=400)
    spec = scenario_spec("storm", 2.5, 24, lam=40.0)
    spec["kind"] = "gbm"
    spec["params"] = {"mu": 0.0, "sigma": 2.5}
    make_pack(market, [scenario_spec("calm", 0.6, 24), spec])
    set_baseline(market, n_paths=12, chunk_paths=4)
    author = make_user("carol", Member.Role.CONTRIBUTOR)
    proposal = make_proposal(market, author, liquidation_threshold="0.80", ltv="0.78")
    with django_capture_on_commit_callbacks(execute=False):
        submit_proposal(proposal=proposal, actor=author)
    return drive(BacktestRun.objects.get(proposal=proposal), django_capture_on_commit_callbacks)


def test_the_sweeps_are_planned_in_the_manifest_one_guardrail_step_each_way(run):
    plan = run.manifest["sweeps"]
    assert plan["paths"] == 8 and plan["multipliers"] == [0.5, 1.0, 1.5, 2.0, 3.0]
    rows = {r["key"]: r for r in plan["tornado"]}
    # The demo's Aave guardrail: 0.05 (absolute) per proposal; proposed LT 0.80, LTV 0.78.
    assert rows["liquidation_threshold"]["down"]["value"] == "0.75"
    assert rows["liquidation_threshold"]["up"]["value"] == "0.85"
    # LT 0.75 under an LTV of 0.78 breaks the protocol's invariant: not run, and said why.
    assert (
        rows["liquidation_threshold"]["down"]["set"] is None and rows["liquidation_threshold"]["down"]["why"]
    )
    assert (
        plan["sets"][rows["liquidation_threshold"]["up"]["set"]]["values"]["liquidation_threshold"] == "0.85"
    )
    frontier = plan["frontier"]
    assert frontier["key"] == "liquidation_threshold"  # the change using most of its guardrail
    assert [p["value"] for p in frontier["points"]] == [
        "0.78",
        "0.7967",
        "0.8133",
        "0.83",
        "0.8467",
        "0.8633",
        "0.88",
    ]
    assert run.chunks_total == 6 + len(plan["jobs"]) * 2


def test_every_sweep_job_is_merged_before_the_run_completes(run):
    assert run.status == RunStatus.COMPLETE
    stored = run.figures["sweeps"]
    assert sorted(int(k) for k in stored) == [j["index"] for j in run.manifest["sweeps"]["jobs"]]
    assert run.chunks.count() == run.chunks_total


def test_at_the_multiplier_one_the_sweep_sees_the_main_runs_own_first_paths(run):
    """Common random numbers: the sweep's live and proposed figures equal the main run's over
    the same first paths, bit for bit."""
    jobs = [j for j in run.manifest["sweeps"]["jobs"] if j["multiplier"] == 1.0 and "live" in j["sets"]]
    assert jobs
    for job in jobs:
        merged = run.figures["sweeps"][str(job["index"])]
        for role in ("live", "proposed"):
            row = run.results.get(scenario_index=job["scenario_index"], role=role)
            per_path = compute.unpack(row.per_path)["per_path"][: job["n_paths"]]
            want = compute.to_json(summarize(per_path))
            got = {k: v for k, v in merged["sets"][role].items() if k != "borrowing_power"}
            assert got == want


def test_a_volatility_multiplier_scales_the_same_random_numbers(run):
    inputs = run_inputs.load_inputs(run, cached=False)
    gbm = [j for j in inputs.sweeps if j.scenario_index == 1 and "live" in dict(j.sets)]
    by_m = {j.multiplier: j for j in gbm}
    rng = lambda: compute.path_rng(run.seed, 1, 0)  # noqa: E731
    one, _, _ = by_m[1.0].generate(4, rng())
    three, _, _ = by_m[3.0].generate(4, rng())
    r1, r3 = np.diff(np.log(one), axis=1), np.diff(np.log(three), axis=1)
    # GBM: the same normal draws, scaled by 3 (the drift term aside): perfectly correlated moves.
    assert np.corrcoef(r1.ravel(), r3.ravel())[0, 1] == pytest.approx(1.0, abs=1e-9)
    assert r3.std() == pytest.approx(3 * r1.std(), rel=0.02)
    main, _, _ = compute.generate_chunk(inputs, run.seed, compute.Chunk(1, 0, 0, 4))
    assert np.array_equal(main, one)


def test_a_lost_sweep_merge_is_merged_when_the_run_is_resumed(run, django_capture_on_commit_callbacks):
    index = run.manifest["sweeps"]["jobs"][0]["index"]
    figures = dict(run.figures)
    figures["sweeps"] = {k: v for k, v in figures["sweeps"].items() if k != str(index)}
    BacktestRun.objects.filter(pk=run.pk).update(figures=figures, status=RunStatus.RUNNING)
    run.refresh_from_db()
    assert services.scenario_ready_to_merge(run, index)
    services.merge_scenario(run_id=run.pk, scenario_index=index)
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETE and str(index) in run.figures["sweeps"]
    assert sweeps.MULTIPLIERS[0] == 0.5


def test_the_frontier_never_sweeps_a_parameter_the_model_does_not_read(
    db, settings, django_capture_on_commit_callbacks
):
    # Aave's LTV moves most of its guardrail (0.805 -> 0.765: 80 % of 0.05) but the model
    # liquidates at the threshold and measures borrowing power there: its frontier would be a
    # single point. The threshold (0.83 -> 0.835) is the frontier's parameter instead.
    settings.BACKTEST_SWEEP_PATHS = 4
    market = make_market("aave-v3")
    make_book(market, n=50)
    spec = scenario_spec("storm", 1.5, 6)
    spec["kind"] = "gbm"
    spec["params"] = {"mu": 0.0, "sigma": 1.5}
    make_pack(market, [spec])
    set_baseline(market, n_paths=4, chunk_paths=4)
    author = make_user("carol", Member.Role.CONTRIBUTOR)
    proposal = make_proposal(market, author, liquidation_threshold="0.835", ltv="0.765")
    with django_capture_on_commit_callbacks(execute=False):
        submit_proposal(proposal=proposal, actor=author)
    run = drive(
        BacktestRun.objects.get(proposal=proposal), django_capture_on_commit_callbacks, until="dispatched"
    )
    plan = run.manifest["sweeps"]
    assert plan["frontier"]["key"] == "liquidation_threshold"
    assert {r["key"] for r in plan["tornado"]} == {"ltv", "liquidation_threshold"}
    assert any("not read by the liquidation model" in n for n in plan["notes"])
