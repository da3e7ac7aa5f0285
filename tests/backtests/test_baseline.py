"""One baseline per market: every proposal of a market is backtested on the same paths and book
as long as its stress pack is unchanged, so the live version's figures are the same on every
proposal page."""

from __future__ import annotations

import numpy as np
import pytest

from backtests import compute
from backtests.models import BacktestRun, RunStatus
from governance.models import Member
from review.services import submit_proposal
from scenarios import services as scenario_services
from scenarios.models import StressPack
from tests.backtests.conftest import make_book, make_pack, scenario_spec, set_baseline
from tests.backtests.test_services import drive
from tests.proposals.factories import make_market, make_proposal, make_user


@pytest.fixture
def market(db, settings):
    settings.BACKTEST_N_BOOT = 20
    market = make_market("aave-v3")
    make_book(market, n=400)
    make_pack(market, [scenario_spec("calm", 0.6, 24), scenario_spec("storm", 2.5, 24, lam=40.0)])
    set_baseline(market, n_paths=10, chunk_paths=4, seed=424242)
    return market


@pytest.fixture
def author(db):
    return make_user("carol", Member.Role.CONTRIBUTOR)


def run_of(market, author, django_capture_on_commit_callbacks, **changes) -> BacktestRun:
    proposal = make_proposal(market, author, **changes)
    with django_capture_on_commit_callbacks(execute=False):
        submit_proposal(proposal=proposal, actor=author)
    return drive(BacktestRun.objects.get(proposal=proposal), django_capture_on_commit_callbacks)


def live_per_path(run: BacktestRun, scenario: int) -> np.ndarray:
    return compute.unpack(run.results.get(scenario_index=scenario, role="live").per_path)["per_path"]


def test_two_proposals_of_a_market_get_the_same_live_figures(
    market, author, django_capture_on_commit_callbacks
):
    a = run_of(market, author, django_capture_on_commit_callbacks, liquidation_threshold="0.80", ltv="0.78")
    b = run_of(market, author, django_capture_on_commit_callbacks, liquidation_bonus="0.06")
    pack = StressPack.objects.get(market=market)
    for run in (a, b):
        assert (run.seed, run.n_paths, run.chunk_paths) == (424242, 10, 4)
        assert run.manifest["pack"] == scenario_services.baseline(pack)
    for s in (0, 1):
        assert live_per_path(a, s).tobytes() == live_per_path(b, s).tobytes()
        assert (
            a.results.get(scenario_index=s, role="live").summary
            == b.results.get(scenario_index=s, role="live").summary
        )
    # ... while the proposed versions, which differ, give other figures on the same paths.
    assert (
        a.results.get(scenario_index=1, role="proposed").summary
        != b.results.get(scenario_index=1, role="proposed").summary
    )


def test_the_baseline_changes_with_the_packs_seed_paths_chunks_book_and_scenarios(market):
    pack = StressPack.objects.get(market=market)
    first = scenario_services.baseline(pack)["sha256"]
    assert scenario_services.baseline(pack)["sha256"] == first  # a pure function of the pack
    seen = {first}
    for field, value in (("seed", 1), ("n_paths", 11), ("chunk_paths", 5)):
        setattr(pack, field, value)
        pack.save()
        seen.add(scenario_services.baseline(pack)["sha256"])
    make_book(market, n=300, seed=9)  # a new default book becomes the pack's book
    pack.refresh_from_db()
    assert pack.book.n_positions == 300
    seen.add(scenario_services.baseline(pack)["sha256"])
    entry = pack.entries.first()
    entry.scenario.seed += 1
    entry.scenario.save()
    seen.add(scenario_services.baseline(pack)["sha256"])
    assert len(seen) == 6


def test_a_pack_with_chunks_too_large_for_the_memory_budget_fails_the_run_saying_what_fits(
    market, author, settings, django_capture_on_commit_callbacks
):
    settings.BACKTEST_CHUNK_MEMORY_MB = 1
    set_baseline(market, n_paths=5000, chunk_paths=5000)
    proposal = make_proposal(market, author, liquidation_bonus="0.06")
    with django_capture_on_commit_callbacks(execute=False):
        submit_proposal(proposal=proposal, actor=author)
    run = drive(
        BacktestRun.objects.get(proposal=proposal), django_capture_on_commit_callbacks, until="dispatched"
    )
    assert run.status == RunStatus.FAILED
    assert "paths per chunk of 24 steps do not fit BACKTEST_CHUNK_MEMORY_MB (1)" in run.error
    assert "set the pack's paths per chunk to at most" in run.error
