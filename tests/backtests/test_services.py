"""Backtest services, pages and commands in this process (the worker tests run them through a
real broker; here the tasks' services are called directly, in the order the workers call them)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backtests import compute, inputs, params, progress, replay, risk_charts, services
from backtests.models import BacktestRun, RunStatus
from backtests.params import engine_params, engine_params_dict, simulated_asset, simulated_assets
from engine.results import RESULT_FIELDS
from governance.models import Member
from proposals.models import Proposal
from review.services import submit_proposal
from scenarios import services as scenario_services
from scenarios.models import Book, StressPack
from scenarios.services import decode_book
from tests.backtests.conftest import make_book, make_pack, scenario_spec, set_baseline
from tests.proposals.factories import PASSWORD, make_market, make_proposal, make_user


@pytest.fixture
def market(db):
    market = make_market("aave-v3")
    make_book(market, n=500)
    make_pack(market, [scenario_spec("calm", 0.6, 24), scenario_spec("storm", 2.5, 24, lam=40.0)])
    return market


@pytest.fixture
def author(db):
    return make_user("carol", Member.Role.CONTRIBUTOR)


@pytest.fixture
def voter(db):
    return make_user("vera", Member.Role.VOTER, power="10")


@pytest.fixture
def admin(db):
    return make_user("ada", Member.Role.ADMINISTRATOR, staff=True)


def submitted(market, author, settings, django_capture_on_commit_callbacks) -> BacktestRun:
    set_baseline(market, n_paths=12, chunk_paths=5)
    settings.BACKTEST_N_BOOT = 20
    # The mechanics of chunks, merges and resumes, counted on the scenarios alone (the sweeps'
    # chunks are tested in test_sweeps.py).
    settings.BACKTEST_SWEEP_PATHS = 0
    proposal = make_proposal(market, author, liquidation_threshold="0.80", ltv="0.78")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submit_proposal(proposal=proposal, actor=author)
    assert len(callbacks) == 1  # the dispatch task, sent once the submission commits
    return BacktestRun.objects.get(proposal=proposal)


def drive(run: BacktestRun, django_capture_on_commit_callbacks, *, until: str = "complete") -> BacktestRun:
    """What the workers do: dispatch, then every chunk (the chunk that completes a scenario merges
    it, and the last merge finishes the run)."""
    with django_capture_on_commit_callbacks(execute=False):
        services.dispatch_backtest(run_id=run.pk)
    run.refresh_from_db()
    if until == "dispatched":
        return run
    for chunk in services.chunks_of(run):
        assert services.run_chunk(
            run_id=run.pk, scenario_index=chunk.scenario_index, chunk_index=chunk.chunk_index
        )
        if until == "one chunk":
            break
    run.refresh_from_db()
    if until == "complete":
        assert run.status == RunStatus.COMPLETE, run.error
    return run


@pytest.fixture
def run(market, author, settings, django_capture_on_commit_callbacks):
    return submitted(market, author, settings, django_capture_on_commit_callbacks)


def test_submitting_a_proposal_creates_a_pending_run_of_its_two_versions(run):
    assert run.status == RunStatus.PENDING
    assert run.proposed_version_id == run.proposal.proposed_version_id
    assert run.live_version_id == run.proposal.live_version_id != run.proposed_version_id
    assert run.n_paths == 12


def test_starting_again_while_a_run_is_active_returns_that_run(run):
    assert services.start_backtest(proposal=run.proposal).pk == run.pk
    assert BacktestRun.objects.count() == 1


def test_a_run_driven_to_the_end_stores_results_and_opens_the_vote(run, django_capture_on_commit_callbacks):
    run = drive(run, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.COMPLETE
    assert (run.chunks_done, run.chunks_total) == (6, 6)  # 2 scenarios x chunks of 5, 5, 2 paths
    # live, proposed, and proposed after the governance delay (tests/backtests/test_delay.py)
    assert sorted(run.results.values_list("scenario_index", "role")) == [
        (0, "delayed"),
        (0, "live"),
        (0, "proposed"),
        (1, "delayed"),
        (1, "live"),
        (1, "proposed"),
    ]
    # the vote is scheduled: voting opens after the policy's delay (pending)
    assert run.proposal.__class__.objects.get(pk=run.proposal_id).status == Proposal.Status.PENDING
    assert replay.replay_backtest(run=run) == []


def test_the_manifest_records_what_reproduces_the_run(run, django_capture_on_commit_callbacks):
    run = drive(run, django_capture_on_commit_callbacks, until="dispatched")
    m = run.manifest
    assert m["seed"] == run.seed and m["engine_version"]
    assert m["book"]["sha256"] == run.proposal.market.books.get(is_default=True).sha256
    assert m["versions"]["proposed"]["engine_params"]["3600"]["liquidation_threshold"] == 0.80
    assert m["versions"]["live"]["engine_params"]["3600"]["liquidation_threshold"] == 0.83
    assert [s["spec"]["params"]["sigma"] for s in m["scenarios"]] == [0.6, 2.5]
    assert m["chunking"] == {"chunk_paths": 5, "chunks": 6, "n_paths": 12, "memory_mb": 64}
    assert "reserve_factor" in m["unmodelled_parameters"]


def test_a_chunk_stored_twice_is_one_row_with_the_same_figures(run, django_capture_on_commit_callbacks):
    run = drive(run, django_capture_on_commit_callbacks, until="one chunk")
    chunk = run.chunks.get()
    arrays = compute.unpack(chunk.data)
    assert services.store_chunk(run_id=run.pk, chunk=services.chunk_of(run, 0, 0), arrays=arrays, seconds=1.0)
    run.refresh_from_db()
    assert run.chunks.count() == 1 and run.chunks_done == 1
    again = run.chunks.get()
    assert again.attempts == 2 and bytes(again.data) == bytes(chunk.data)
    # A redelivered message for a chunk already stored is skipped without computing.
    assert services.run_chunk(run_id=run.pk, scenario_index=0, chunk_index=0) is False


def test_a_chunk_of_a_cancelled_run_is_discarded(run, author, django_capture_on_commit_callbacks):
    run = drive(run, django_capture_on_commit_callbacks, until="dispatched")
    with django_capture_on_commit_callbacks(execute=False):
        services.cancel_backtest(run=run, user=author)
    assert services.run_chunk(run_id=run.pk, scenario_index=0, chunk_index=1) is False
    arrays = {"live": np.zeros((5, 13)), "proposed": np.zeros((5, 13)), "price": np.zeros((5, 3))}
    assert (
        services.store_chunk(run_id=run.pk, chunk=services.chunk_of(run, 0, 1), arrays=arrays, seconds=0)
        == services.NOT_STORED
    )
    assert not run.chunks.exists()
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and "carol" in run.error


def test_a_book_changed_after_the_run_started_fails_the_run_saying_so(
    run, django_capture_on_commit_callbacks
):
    run = drive(run, django_capture_on_commit_callbacks, until="dispatched")
    inputs._cache.clear()
    run.proposal.market.books.filter(is_default=True).update(sha256="0" * 64)
    assert services.run_chunk(run_id=run.pk, scenario_index=0, chunk_index=0) is False
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "changed or was deleted since the run started" in run.error


def test_a_run_started_by_another_engine_version_fails_at_its_next_chunk(
    run, django_capture_on_commit_callbacks
):
    run = drive(run, django_capture_on_commit_callbacks, until="dispatched")
    inputs._cache.clear()
    run.manifest["engine_version"] = "0.0.1"
    run.save(update_fields=["manifest"])
    assert services.run_chunk(run_id=run.pk, scenario_index=0, chunk_index=0) is False
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "was computed by engine 0.0.1" in run.error and "start a new backtest" in run.error
    assert not run.chunks.exists()


def test_a_finished_run_cannot_be_cancelled(run, author, django_capture_on_commit_callbacks):
    run = drive(run, django_capture_on_commit_callbacks)
    with pytest.raises(services.BacktestError, match="already complete"):
        services.cancel_backtest(run=run, user=author)


def test_merging_before_every_chunk_is_stored_leaves_the_run_running(run, django_capture_on_commit_callbacks):
    run = drive(run, django_capture_on_commit_callbacks, until="one chunk")
    assert services.merge_backtest(run_id=run.pk) is False
    assert services.finish_backtest(run_id=run.pk) is False
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING


def test_progress_reports_chunks_elapsed_and_time_left(run, django_capture_on_commit_callbacks):
    run = drive(run, django_capture_on_commit_callbacks, until="one chunk")
    BacktestRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(seconds=10))
    run.refresh_from_db()
    p = progress.progress(run)
    assert (p["chunks_done"], p["chunks_total"], p["status"], p["complete"]) == (1, 6, "running", False)
    assert 10 <= p["elapsed_seconds"] < 20
    # 5 of the 24 paths (2 scenarios x 12) are done in the elapsed time: 19 are left at that pace.
    assert p["eta_seconds"] == pytest.approx(p["elapsed_seconds"] * 19 / 5, rel=1e-6)


def test_the_time_left_counts_a_slow_scenario_from_the_last_run_on_the_same_baseline(
    market, author, settings, django_capture_on_commit_callbacks
):
    """The first scenario is fast and the second slow: a run that has done the first alone
    must not promise the rest at the first one's pace."""
    before = drive(
        submitted(market, author, settings, django_capture_on_commit_callbacks),
        django_capture_on_commit_callbacks,
    )
    before.chunks.filter(scenario_index=0).update(seconds=0.1)  # 3 chunks, 12 paths: 0.025 s a path
    before.chunks.filter(scenario_index=1).update(seconds=2.0)  # 3 chunks, 12 paths: 0.5 s a path
    t0 = timezone.now()
    BacktestRun.objects.filter(pk=before.pk).update(started_at=t0, finished_at=t0 + timedelta(seconds=6.3))
    proposal = make_proposal(market, author, liquidation_bonus="0.06")
    with django_capture_on_commit_callbacks(execute=False):
        submit_proposal(proposal=proposal, actor=author)
    run = drive(
        BacktestRun.objects.get(proposal=proposal), django_capture_on_commit_callbacks, until="dispatched"
    )
    for chunk in services.chunks_of(run):
        if chunk.scenario_index == 0:
            services.run_chunk(run_id=run.pk, scenario_index=0, chunk_index=chunk.chunk_index)
    run.chunks.update(seconds=0.1)
    BacktestRun.objects.filter(pk=run.pk).update(started_at=t0)
    run.refresh_from_db()
    # 0.3 s of work in 0.3 s; the slow scenario's 12 paths at 0.5 s a path are 6 s of work left.
    assert progress.eta_seconds(run, now=t0 + timedelta(seconds=0.3)) == pytest.approx(6.0, rel=1e-6)


def test_a_run_without_progress_for_the_configured_time_is_reported_stuck(
    run, settings, django_capture_on_commit_callbacks
):
    run = drive(run, django_capture_on_commit_callbacks, until="one chunk")
    settings.BACKTEST_STUCK_SECONDS = 60
    assert services.stuck_runs() == []
    BacktestRun.objects.filter(pk=run.pk).update(last_progress_at=timezone.now() - timedelta(seconds=61))
    assert [r.pk for r in services.stuck_runs()] == [run.pk]
    out = StringIO()
    call_command("backtest", "--stuck", stdout=out)
    assert f"run {run.pk} (proposal #{run.proposal_id}) running: 1/6 chunks" in out.getvalue()
    assert f"backtest --resume {run.pk}" in out.getvalue()


def test_resuming_a_stuck_run_sends_only_its_missing_chunks(run, django_capture_on_commit_callbacks):
    run = drive(run, django_capture_on_commit_callbacks, until="one chunk")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.resume_backtest(run=run) == 5
    assert len(callbacks) == 1


def test_the_chunk_that_completes_a_scenario_merges_it_and_the_last_merge_finishes_the_run(
    run, django_capture_on_commit_callbacks
):
    run = drive(run, django_capture_on_commit_callbacks, until="dispatched")
    chunks = services.chunks_of(run)  # scenario 0: chunks 0-2, scenario 1: chunks 0-2
    merged = []
    for b in chunks:
        with django_capture_on_commit_callbacks(execute=False):
            assert services.run_chunk(
                run_id=run.pk, scenario_index=b.scenario_index, chunk_index=b.chunk_index
            )
        merged.append(sorted(run.comparisons.values_list("scenario_index", flat=True)))
    assert merged == [[], [], [0], [0], [0], [0, 1]]
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETE
    # A chunk delivered again after the run completed computes and merges nothing.
    before = run.comparisons.get(scenario_index=0).paired
    assert services.run_chunk(run_id=run.pk, scenario_index=0, chunk_index=2) is False
    assert run.comparisons.get(scenario_index=0).paired == before and run.chunks.count() == 6


def test_of_two_writes_of_a_scenarios_last_chunk_only_the_first_completes_it(
    run, django_capture_on_commit_callbacks
):
    run = drive(run, django_capture_on_commit_callbacks, until="dispatched")
    inputs_ = services.run_inputs.load_inputs(run)
    results = []
    for b in services.chunks_of(run)[:3] + services.chunks_of(run)[2:3]:
        arrays = compute.compute_chunk(inputs_, run.seed, b)
        results.append(services.store_chunk(run_id=run.pk, chunk=b, arrays=arrays, seconds=0.0))
    assert results == [services.STORED, services.STORED, services.COMPLETES_SCENARIO, services.STORED]


def test_a_scenario_whose_merge_was_lost_is_merged_when_the_run_is_resumed(
    run, django_capture_on_commit_callbacks
):
    run = drive(run, django_capture_on_commit_callbacks, until="dispatched")
    with mock.patch("backtests.services.merge_scenario") as merge:  # the merging worker died
        for b in services.chunks_of(run)[:3]:
            services.run_chunk(run_id=run.pk, scenario_index=b.scenario_index, chunk_index=b.chunk_index)
        merge.assert_called_once_with(run_id=run.pk, scenario_index=0)
    assert not run.comparisons.exists()
    with (
        mock.patch("backtests.services._send_chunks") as send_chunks,
        mock.patch("backtests.services._send_merges") as send_merges,
    ):
        with django_capture_on_commit_callbacks(execute=True):
            assert services.resume_backtest(run=run) == 3
    assert [(b.scenario_index, b.chunk_index) for b in send_chunks.call_args.args[1]] == [
        (1, 0),
        (1, 1),
        (1, 2),
    ]
    send_merges.assert_called_once_with(run.pk, [0])
    # The merge task, as the worker runs it, then the resent chunks: the run completes.
    assert services.merge_scenario(run_id=run.pk, scenario_index=0)
    for b in services.chunks_of(run)[3:]:
        services.run_chunk(run_id=run.pk, scenario_index=b.scenario_index, chunk_index=b.chunk_index)
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETE
    assert replay.replay_backtest(run=run) == []


def test_chunks_are_sent_scenario_by_scenario_the_largest_scenarios_first():
    chunks = compute.plan_chunks(paths_per_scenario=[1, 5, 1, 9], chunk_paths=4)
    order = [(chunks[i].scenario_index, chunks[i].chunk_index) for i in services.send_order(chunks)]
    assert order == [(3, 0), (3, 1), (3, 2), (1, 0), (1, 1), (0, 0), (2, 0)]
    # Sweep jobs (weighted) go first, the heaviest first.
    chunks = compute.plan_chunks(paths_per_scenario=[5, 1, 4, 4], chunk_paths=4)
    order = [
        (chunks[i].scenario_index, chunks[i].chunk_index)
        for i in services.send_order(chunks, {2: 1.0, 3: 6.0})
    ]
    assert order == [(3, 0), (2, 0), (0, 0), (0, 1), (1, 0)]


def test_a_pending_run_whose_dispatch_was_lost_is_resumed_automatically(
    run, settings, django_capture_on_commit_callbacks
):
    settings.BACKTEST_STUCK_SECONDS = 60
    BacktestRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(seconds=120))

    with mock.patch("backtests.services._send_dispatch") as send:
        assert services.resume_stuck_backtests() == [run.pk]
        send.assert_called_once_with(run.pk)
        # Resuming counts as progress: not resumed again until another period passes.
        assert services.resume_stuck_backtests() == []
        send.assert_called_once_with(run.pk)


def test_replay_run_exits_non_zero_and_names_the_figure_that_differs(run, django_capture_on_commit_callbacks):
    run = drive(run, django_capture_on_commit_callbacks)
    out = StringIO()
    call_command("replay_run", str(run.pk), stdout=out)
    assert "identical" in out.getvalue()
    comp = run.comparisons.get(scenario_index=1)
    comp.paired["mean_bad_debt"]["diff"] += 1.0
    comp.save()
    err = StringIO()
    with pytest.raises(CommandError, match="1 figure"):
        call_command("replay_run", str(run.pk), stdout=StringIO(), stderr=err)
    assert "paired differences mean_bad_debt.diff" in err.getvalue()


def test_replay_of_an_incomplete_run_is_refused(run):
    with pytest.raises(CommandError, match="only a complete run can be replayed"):
        call_command("replay_run", str(run.pk), stdout=StringIO())


# -- pages ----------------------------------------------------------------------------------


def login(client, user) -> None:
    assert client.login(username=user.username, password=PASSWORD)


def test_the_proposal_page_shows_progress_but_no_results_while_running(
    client, voter, run, django_capture_on_commit_callbacks
):
    run = drive(run, django_capture_on_commit_callbacks, until="one chunk")
    login(client, voter)
    html = client.get(reverse("review:detail", args=[run.proposal_id])).content.decode()
    assert "Running" in html and '<progress id="backtest-progress"' in html
    assert "results are shown only for a complete run" in html
    assert "backtest-results" not in html
    assert "Cancel backtest" not in html  # a voter may not cancel


def test_the_proposal_page_shows_stored_results_of_a_complete_run(
    client, voter, run, django_capture_on_commit_callbacks
):
    run = drive(run, django_capture_on_commit_callbacks)
    login(client, voter)
    html = client.get(reverse("review:detail", args=[run.proposal_id])).content.decode()
    assert html.count('class="backtest-results data"') == 2
    assert "aave-v3-ethereum-weth: storm" in html and 'data-key="bad_debt_var99"' in html
    assert "js/plotly-basic.min.js" in html and reverse("backtests:charts", args=[run.pk]) in html
    charts = client.get(reverse("backtests:charts", args=[run.pk]) + "?fragment=1").content.decode()
    assert f"run-{run.pk}-fan-1-data" in charts
    assert f"run-{run.pk}-cdf-1-data" in charts and f"run-{run.pk}-paired-data" in charts
    assert "are not charted" not in html
    assert '<progress id="backtest-progress"' not in html


def test_the_price_chart_plots_the_stored_fan_each_versions_impacted_price_and_volume(
    run, django_capture_on_commit_callbacks
):
    run = drive(run, django_capture_on_commit_callbacks)
    comp = run.comparisons.get(scenario_index=1)
    fig = risk_charts.chart_of(run, "fan-1")["figure"]
    traces = {t["name"]: t for t in fig["data"]}
    assert traces["price median"]["y"] == comp.series["price"]["p50"]
    assert traces["price median"]["x"] == comp.series["hours"]
    for version, number in (("live", run.live_version.number), ("proposed", run.proposed_version.number)):
        label = f"{version} v{number}"
        impacted = traces[f"impacted price 5th pct, {label}"]
        assert impacted["y"] == comp.series["market_price"][version]["p05"]
        assert traces[f"impacted price median, {label}"]["y"] == comp.series["market_price"][version]["p50"]
        volume = traces[f"liquidated per interval (mean), {label}"]
        assert volume["type"] == "bar" and volume["y"] == comp.series["liq_volume_step"][version]


def test_the_panel_of_a_failed_run_shows_the_engines_message(client, voter, run):
    services.fail_backtest(
        run_id=run.pk, message="Scenario 'storm', paths 0-4: prices must be finite and > 0"
    )
    login(client, voter)
    html = client.get(reverse("backtests:panel", args=[run.proposal_id])).content.decode()
    assert (
        "The backtest failed: Scenario &#x27;storm&#x27;, paths 0-4: prices must be finite and &gt; 0" in html
    )


def test_progress_json_is_for_members_who_may_see_the_proposal(client, voter, run):
    url = reverse("backtests:progress", args=[run.pk])
    assert client.get(url).status_code == 302  # to the login page
    login(client, voter)
    data = client.get(url).json()
    assert data["status"] == "pending" and data["chunks_total"] == 0 and data["complete"] is False


def test_only_the_author_or_an_administrator_may_cancel_and_only_by_post(client, voter, author, admin, run):
    url = reverse("backtests:cancel", args=[run.pk])
    login(client, voter)
    assert client.post(url).status_code == 403
    login(client, author)
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED


def test_after_a_failed_run_the_author_may_start_another_and_a_voter_may_not(
    client, voter, author, run, django_capture_on_commit_callbacks
):
    services.fail_backtest(run_id=run.pk, message="boom")
    url = reverse("backtests:start", args=[run.proposal_id])
    login(client, voter)
    assert client.post(url).status_code == 403
    login(client, author)
    html = client.get(reverse("review:detail", args=[run.proposal_id])).content.decode()
    assert "Run the backtest again" in html
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert client.post(url).status_code == 302
    assert len(callbacks) == 1
    newest = BacktestRun.objects.filter(proposal_id=run.proposal_id).first()
    assert newest.pk != run.pk and newest.status == RunStatus.PENDING


def test_the_progress_json_says_when_a_run_is_stuck(client, voter, run, settings):
    settings.BACKTEST_STUCK_SECONDS = 60
    BacktestRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(seconds=61))
    login(client, voter)
    assert client.get(reverse("backtests:progress", args=[run.pk])).json()["stuck"] is True
    html = client.get(reverse("review:detail", args=[run.proposal_id])).content.decode()
    assert '<p id="backtest-stuck" class="error">' in html  # shown, not hidden


def test_cancel_requires_the_csrf_token(author, run):
    client = Client(enforce_csrf_checks=True)
    login(client, author)
    assert client.post(reverse("backtests:cancel", args=[run.pk])).status_code == 403
    run.refresh_from_db()
    assert run.status == RunStatus.PENDING


# -- parameters -----------------------------------------------------------------------------


def test_maker_tail_and_step_in_seconds_become_steps_of_the_scenario():
    values = {
        "mat": Decimal("1.45"),
        "chop": Decimal("1.13"),
        "hole": Decimal("1e7"),
        "buf": Decimal("1.2"),
        "tail": Decimal("7200"),
        "cusp": Decimal("0.4"),
        "chip": Decimal("0.001"),
        "tip": Decimal("300"),
        "cut": Decimal("0.99"),
        "step": Decimal("90"),
        "dust": Decimal("7500"),
    }
    hourly = params.engine_params_dict("maker-clip", values, interval_seconds=3600)
    minutely = params.engine_params_dict("maker-clip", values, interval_seconds=60)
    assert (hourly["tail"], hourly["step"]) == (2.0, 0.025)
    assert (minutely["tail"], minutely["step"]) == (120.0, 1.5)
    assert hourly["mat"] == 1.45 and hourly["step_seconds"] == 1.0  # engine.maker: already in steps
    engine = params.engine_params("maker-clip", values, interval_seconds=3600)
    assert (engine.tail, engine.step, engine.step_seconds) == (2.0, 0.025, 1.0)


def test_aave_values_map_to_engine_fractions():
    values = {
        "ltv": Decimal("0.805"),
        "liquidation_threshold": Decimal("0.83"),
        "liquidation_bonus": Decimal("0.05"),
        "reserve_factor": Decimal("0.15"),
        "liquidation_protocol_fee": Decimal("0.10"),
        "supply_cap": Decimal("1"),
        "borrow_cap": Decimal("1"),
    }
    p = params.engine_params("aave-v3", values, interval_seconds=3600)
    assert (p.ltv, p.liquidation_threshold, p.liquidation_bonus, p.protocol_fee) == (0.805, 0.83, 0.05, 0.10)


@pytest.mark.parametrize(
    "mechanism, generator",
    [
        ("compound-v3", {"price": 2000.0, "threshold": 0.77, "total_debt_usd": 5e7}),
        ("maker-clip", {"price": 2000.0, "mat": 1.45, "total_debt_usd": 5e7}),
        ("perp", {"price": 2000.0, "mmf": 0.02, "total_notional_usd": 5e7}),
    ],
)
def test_every_mechanism_runs_from_its_versions_to_stored_results(
    mechanism, generator, author, settings, django_capture_on_commit_callbacks
):
    market = make_market(mechanism)
    if mechanism == "compound-v3":
        # Restricted to one collateral asset (engine compound-v3); the market on both assets at
        # once is tests/backtests/test_comet_accounts.py's.
        market.target = {**market.target, "backtest_asset": "WBTC"}
        market.save()
    scenario_services.generate_book(market=market, n=300, seed=3, generator=generator)
    make_pack(market, [scenario_spec("storm", 2.5, 24, lam=40.0)])
    set_baseline(market, n_paths=6, chunk_paths=3)
    settings.BACKTEST_N_BOOT = 10
    proposal = make_proposal(market, author)
    with django_capture_on_commit_callbacks(execute=False):
        submit_proposal(proposal=proposal, actor=author)
    run = drive(BacktestRun.objects.get(proposal=proposal), django_capture_on_commit_callbacks)
    assert run.status == RunStatus.COMPLETE, run.error
    live = compute.unpack(run.results.get(role="live").per_path)["per_path"]
    # RESULT_FIELDS, then the mechanism's per-path extras (the perp's funding and backstop).
    assert live.shape == (6, len(run.manifest["fields"])) and np.isfinite(live).all()
    assert run.manifest["fields"][:13] == list(RESULT_FIELDS)
    assert replay.replay_backtest(run=run) == []


SHARED_ETH = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "prices" / "ETHUSDT_1h_binance_spot.csv"
)


def test_seed_backtests_without_history_names_the_missing_file(db):
    make_market("aave-v3")
    with pytest.raises(CommandError, match="give --prices FILE"):
        call_command("seed_backtests", stdout=StringIO())


def test_seed_backtests_gives_every_market_a_pack_and_a_book_once(db):
    aave, perp = make_market("aave-v3"), make_market("perp")
    call_command(
        "seed_backtests",
        "--prices",
        str(SHARED_ETH),
        "--positions",
        "200",
        "--steps",
        "48",
        stdout=StringIO(),
    )
    for market in (aave, perp):
        assert StressPack.objects.get(market=market, is_default=True).scenarios.count() == 8
        assert Book.objects.get(market=market, is_default=True).n_positions == 200
    call_command("seed_backtests", "--positions", "200", "--steps", "48", stdout=StringIO())
    assert StressPack.objects.count() == 2 and Book.objects.count() == 2
    # The book is valued at the live threshold: Aave's health factors start above 1.
    arrays = Book.objects.get(market=aave).data

    book = decode_book(arrays)
    assert (book["collateral"] * 2000.0 * 0.83 / book["debt"]).min() > 1.0


def test_a_compound_market_is_backtested_on_all_its_collateral_assets_unless_one_is_chosen(db):
    market = make_market("compound-v3")
    values = market.live_version.decimal_values()
    market.target = {k: v for k, v in market.target.items() if k != "backtest_asset"}
    # None chosen: every collateral asset, in the market's order, on compound-v3-accounts.
    assert simulated_assets(market) == ["WETH", "WBTC"] == market.target["asset_order"]
    assert simulated_asset(market) is None
    both = engine_params_dict("compound-v3", values, interval_seconds=3600, assets=["WETH", "WBTC"])
    assert both["liquidate_collateral_factor"] == (0.90, 0.77)
    assert both["liquidation_factor"] == (0.95, 0.95)
    assert both["borrow_collateral_factor"] == (0.83, 0.70)
    params = engine_params("compound-v3", values, interval_seconds=3600, assets=["WETH", "WBTC"])
    assert type(params).__module__ == "engine.comet" and params.n_assets == 2
    # One chosen: that asset alone, on compound-v3 as before.
    market.target = {**market.target, "backtest_asset": "WBTC"}
    assert simulated_assets(market) == ["WBTC"] and simulated_asset(market) == "WBTC"
    chosen = engine_params_dict("compound-v3", values, interval_seconds=3600, assets=["WBTC"])
    assert chosen["liquidate_collateral_factor"] == float(
        values["assets"]["WBTC"]["liquidate_collateral_factor"]
    )
    assert type(engine_params("compound-v3", values, interval_seconds=3600, assets=["WBTC"])).__module__ == (
        "engine.compound"
    )
    with pytest.raises(Exception, match="collateral asset 'NOPE' is not a collateral asset"):
        engine_params_dict("compound-v3", values, interval_seconds=3600, assets=["NOPE"])
