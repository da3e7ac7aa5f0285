"""A backtest over a replay of real history, end to end through the services and the database:
the replay steps four times a bar and every time parameter is converted with that step
(margin-engine.md section 6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backtests import compute, inputs, replay
from backtests.models import BacktestRun, RunStatus
from engine.scenarios import max_drawdown, standard_pack
from governance.models import Member
from review.services import submit_proposal
from scenarios import services as scenario_services
from scenarios.models import PackEntry, StressPack
from tests.backtests.conftest import set_baseline
from tests.backtests.test_services import drive
from tests.proposals.factories import make_market, make_proposal, make_user

SHARED_ETH = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "prices" / "ETHUSDT_1h_binance_spot.csv"
)


@pytest.fixture
def maker_on_black_thursday(db):
    """MakerDAO ETH-A backtested on the standard pack's Black Thursday replay of the real ETH
    hourly bars, rescaled to start at 2,000 USD."""
    market = make_market("maker-clip")
    eth = scenario_services.import_price_file(path=SHARED_ETH, symbol="ETHUSDT").series
    scenario_services.generate_book(
        market=market, n=400, seed=5, generator={"price": 2000.0, "mat": 1.45, "total_debt_usd": 5e7}
    )
    spec = next(
        s
        for s in standard_pack("ETHUSDT", start_price=2000.0, depth_usd=5e7)
        if s["name"].startswith("Black Thursday")
    )
    pack = StressPack.objects.create(market=market, name="Replay pack", is_default=True)
    scenario = scenario_services.save_scenario(name="Black Thursday", spec=spec, seed=1, series=[eth])
    PackEntry.objects.create(pack=pack, scenario=scenario, position=0)
    set_baseline(market, n_paths=8, chunk_paths=4)
    return market


def test_a_backtest_over_a_replay_steps_four_times_a_bar_with_times_converted(
    maker_on_black_thursday, settings, django_capture_on_commit_callbacks
):
    settings.BACKTEST_N_BOOT = 10
    author = make_user("carol", Member.Role.CONTRIBUTOR)
    # The proposal lengthens the auction's tail from 8,400 s to 3 hours: a time.
    proposal = make_proposal(maker_on_black_thursday, author, tail="10800")
    with django_capture_on_commit_callbacks(execute=False):
        submit_proposal(proposal=proposal, actor=author)
    run = drive(BacktestRun.objects.get(proposal=proposal), django_capture_on_commit_callbacks)
    assert run.status == RunStatus.COMPLETE, run.error

    (described,) = run.manifest["scenarios"]
    # 73 hourly bars, four quarter-hour steps each; one path, as any replay.
    assert (described["steps"], described["interval_seconds"], described["n_paths"]) == (291, 900, 1)
    live = run.manifest["versions"]["live"]["engine_params"]["900"]
    proposed = run.manifest["versions"]["proposed"]["engine_params"]["900"]
    # Clipper's seconds become steps of 900 s: the same auction in time as on hourly steps.
    assert live["tail"] == pytest.approx(8400 / 900) and live["step"] == pytest.approx(90 / 900)
    assert proposed["tail"] == pytest.approx(12.0)

    loaded = inputs.load_inputs(run, cached=False)
    (scenario,) = loaded.scenarios
    assert scenario.live.tail == pytest.approx(8400 / 900) and scenario.proposed.tail == pytest.approx(12.0)
    prices, market, premium = scenario.generate(1, np.random.default_rng(0))
    assert premium is None  # its spec has no premium
    # The oracle is an hour late with a 24-hour heartbeat: 4 and 96 quarter-hour steps.
    assert (market.oracle.latency, market.oracle.heartbeat) == (4, 96)
    assert market.steps_per_year == pytest.approx(4 * 8760)
    # The path reaches the real low: 86.00 on a window opening at 200.70, rescaled to 2,000.
    assert prices.shape == (1, 292) and prices.min() == pytest.approx(2000.0 * 86.0 / 200.7)
    assert round(100 * max_drawdown(prices[0]), 1) == 57.7

    stored = compute.unpack(run.results.get(role="live").per_path)["per_path"]
    assert stored.shape[0] == 1 and np.isfinite(stored).all()
    series = run.comparisons.get(scenario_index=0).series
    assert series["hours"][-1] == pytest.approx(291 * 0.25)  # the chart's time axis is in hours
    assert replay.replay_backtest(run=run) == []
