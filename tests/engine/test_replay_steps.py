"""A replayed bar as four steps, and times converted to steps (margin-engine.md section 6)."""

import numpy as np
import pytest

from engine.errors import EngineError
from engine.market import DynamicThreshold, Oracle, steps_for_seconds
from engine.scenarios import History, bar_steps, generate, max_drawdown
from engine.scenarios.history import parse_iso
from engine.scenarios.spec import market_conditions, validate_spec

T0 = parse_iso("t0", "2020-01-01T00:00:00Z")


# --- one bar, four steps ------------------------------------------------------------------


def test_a_bar_that_closed_up_goes_to_its_low_first() -> None:
    np.testing.assert_array_equal(bar_steps([100.0], [130.0], [90.0], [120.0]), [100.0, 90.0, 130.0, 120.0])


def test_a_bar_that_closed_down_goes_to_its_high_first() -> None:
    np.testing.assert_array_equal(bar_steps([100.0], [110.0], [70.0], [80.0]), [100.0, 110.0, 70.0, 80.0])


def test_a_doji_counts_as_closed_up_and_goes_to_its_low_first() -> None:
    np.testing.assert_array_equal(bar_steps([100.0], [105.0], [95.0], [100.0]), [100.0, 95.0, 105.0, 100.0])


def test_a_bar_whose_extreme_is_its_open_repeats_the_open() -> None:
    # Closed down from its high: the high step is the open itself.
    np.testing.assert_array_equal(bar_steps([100.0], [100.0], [80.0], [90.0]), [100.0, 100.0, 80.0, 90.0])
    # Closed up from its low: the low step is the open itself.
    np.testing.assert_array_equal(bar_steps([100.0], [120.0], [100.0], [110.0]), [100.0, 100.0, 120.0, 110.0])
    # Closed at its low, down: high first, then the low the close repeats.
    np.testing.assert_array_equal(bar_steps([100.0], [104.0], [90.0], [90.0]), [100.0, 104.0, 90.0, 90.0])
    # A flat bar stays flat.
    np.testing.assert_array_equal(bar_steps([5.0], [5.0], [5.0], [5.0]), [5.0] * 4)


def test_bars_keep_their_order_and_each_asset_its_own_direction() -> None:
    o = np.array([[10.0, 11.0], [50.0, 40.0]])
    h = np.array([[12.0, 13.0], [55.0, 41.0]])
    lo = np.array([[9.0, 10.5], [39.0, 30.0]])
    c = np.array([[11.0, 10.8], [40.0, 35.0]])
    out = bar_steps(o, h, lo, c)
    assert out.shape == (2, 8)
    np.testing.assert_array_equal(out[0], [10.0, 9.0, 12.0, 11.0, 11.0, 13.0, 10.5, 10.8])
    np.testing.assert_array_equal(out[1], [50.0, 55.0, 39.0, 40.0, 40.0, 41.0, 30.0, 35.0])


def test_the_largest_fall_is_measured_from_the_running_peak() -> None:
    assert max_drawdown(np.array([100.0, 120.0, 60.0, 90.0, 30.0 * 4])) == pytest.approx(0.5)
    assert max_drawdown(np.array([1.0, 2.0, 3.0])) == 0.0
    assert max_drawdown(np.array([[100.0, 50.0], [100.0, 80.0]])) == pytest.approx(0.5)


def test_history_checks_its_bars_extremes() -> None:
    ts = T0 + 3600 * np.arange(2)
    c = np.array([100.0, 101.0])
    with pytest.raises(EngineError, match=r"bar 1 must have low <= open, close <= high"):
        History(ts, c, 3600, "X", open=c, high=c, low=np.array([99.0, 101.5]))
    with pytest.raises(EngineError, match=r"must be given together"):
        History(ts, c, 3600, "X", open=c, high=c)
    h = History(ts, c, 3600, "X")
    np.testing.assert_array_equal(h.low, c)  # point prices: every price is the close


def test_a_replay_steps_through_each_bars_extremes_in_time_order() -> None:
    ts = T0 + 3600 * np.arange(3)
    hist = History(
        ts,
        np.array([105.0, 90.0, 95.0]),
        3600,
        "ETHUSDT",
        open=np.array([100.0, 105.0, 90.0]),
        high=np.array([110.0, 106.0, 99.0]),
        low=np.array([98.0, 80.0, 89.0]),
    )
    spec = {
        "kind": "replay",
        "assets": ["ETHUSDT"],
        "window": {"start": "2020-01-01T00:00:00Z", "end": "2020-01-01T02:00:00Z"},
    }
    p = generate(spec, history={"ETHUSDT": hist}, n_paths=3, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(p.prices[0], [100, 98, 110, 105, 105, 106, 80, 90, 90, 89, 99, 95])
    assert p.n_steps == 11 and p.interval_seconds == 900


def test_a_replay_needs_bars_that_split_into_whole_seconds() -> None:
    ts = T0 + 2 * np.arange(3)
    hist = History(ts, np.array([1.0, 2.0, 3.0]), 2, "X")
    spec = {
        "kind": "replay",
        "assets": ["X"],
        "window": {"start": "2020-01-01T00:00:00Z", "end": "2020-01-01T00:00:04Z"},
    }
    with pytest.raises(EngineError, match=r"interval_seconds must be a multiple of 4; got 2"):
        generate(spec, history={"X": hist}, n_paths=1, rng=np.random.default_rng(0))


# --- times to steps -------------------------------------------------------------------------


def test_an_hour_is_four_quarter_hour_steps() -> None:
    assert steps_for_seconds("heartbeat", 3600, 900) == 4
    assert steps_for_seconds("heartbeat", 3600, 3600) == 1
    assert steps_for_seconds("heartbeat", 86400, 900) == 96
    assert steps_for_seconds("heartbeat", 0, 900) == 0


def test_a_time_between_two_steps_rounds_up_so_the_oracle_is_never_fresher_than_reality() -> None:
    assert steps_for_seconds("latency", 1000, 900) == 2
    assert steps_for_seconds("latency", 1, 3600) == 1
    assert steps_for_seconds("latency", 901, 900) == 2
    # A whole number of steps is not pushed up by a floating-point error.
    assert steps_for_seconds("latency", 0.3, 0.1) == 3


def test_a_negative_time_or_step_is_refused_naming_it() -> None:
    with pytest.raises(EngineError, match=r"^oracle.latency_seconds must be in \[0, inf\]"):
        Oracle.from_seconds(latency_seconds=-1, deviation=0.0, heartbeat_seconds=0, step_seconds=900)
    with pytest.raises(EngineError, match=r"step length for latency"):
        steps_for_seconds("latency", 60, 0)


def test_a_scenarios_oracle_keeps_its_times_on_hourly_and_on_replay_steps() -> None:
    conditions = validate_spec(
        {
            "kind": "gbm",
            "assets": ["X"],
            "start_price": 1.0,
            "params": {"sigma": 0.5},
            "conditions": {
                "oracle": {"latency_seconds": 3600, "deviation": 0.005, "heartbeat_seconds": 3600}
            },
        }
    )["conditions"]
    hourly = market_conditions(conditions, 3600)
    quarter = market_conditions(conditions, 900)
    assert (hourly.oracle.latency, hourly.oracle.heartbeat) == (1, 1)
    assert (quarter.oracle.latency, quarter.oracle.heartbeat) == (4, 4)
    assert quarter.steps_per_year == 4 * hourly.steps_per_year == 4 * 8760
    assert quarter.step_seconds == pytest.approx(900.0)
    # 20 minutes on 15-minute steps: rounded up to 2 steps (30 minutes), never down to 1.
    late = validate_spec(
        {
            "kind": "gbm",
            "assets": ["X"],
            "start_price": 1.0,
            "params": {"sigma": 0.5},
            "conditions": {"oracle": {"latency_seconds": 1200}},
        }
    )["conditions"]
    assert market_conditions(late, 900).oracle.latency == 2


def test_a_dynamic_threshold_given_in_time_is_the_same_in_time_on_any_step() -> None:
    hourly = DynamicThreshold.from_seconds(step_seconds=3600, horizon_seconds=86400, update_seconds=3600)
    quarter = DynamicThreshold.from_seconds(step_seconds=900, horizon_seconds=86400, update_seconds=3600)
    assert (hourly.horizon_steps, hourly.update_interval) == (24.0, 1)
    assert (quarter.horizon_steps, quarter.update_interval) == (96.0, 4)
    # The EWMA forgets as much in an hour: four quarter-hour decays make one hourly decay.
    assert quarter.ewma_lambda**4 == pytest.approx(hourly.ewma_lambda, rel=1e-12)
    assert hourly.ewma_lambda**24 == pytest.approx(0.94, rel=1e-12)  # 0.94 a day by default
    # Updates at least every step, even when asked more often.
    assert (
        DynamicThreshold.from_seconds(step_seconds=3600, horizon_seconds=60, update_seconds=0).update_interval
        == 1
    )
