"""Scenario library: validation, shapes, reproducibility and the models' known moments.

Synthetic histories only (the calibration on real prices is in test_scenarios_calibration.py).
"""

import json
import math
import subprocess
import sys
from datetime import UTC, datetime

import numpy as np
import pytest
from scipy import special, stats

from engine.errors import EngineError
from engine.market import MarketConditions
from engine.scenarios import (
    STRESS_WINDOWS,
    History,
    ScenarioPaths,
    fit_garch_t,
    generate,
    models,
    standard_pack,
    validate_spec,
)
from engine.scenarios.history import aligned_returns, parse_iso
from engine.scenarios.models import normal_to_standard_t, stationary_bootstrap_indices

HOUR = 3600
T0 = parse_iso("t0", "2020-01-01T00:00:00Z")
WINDOW = {"start": "2020-01-01T00:00:00Z", "end": "2020-03-01T00:00:00Z"}


def synthetic_history(
    symbol: str = "ETHUSDT",
    n: int = 24 * 70,
    seed: int = 0,
    vol: float = 0.01,
    start_price: float = 200.0,
    drop: tuple[int, ...] = (),
) -> History:
    rng = np.random.default_rng(seed)
    close = start_price * np.exp(np.cumsum(rng.standard_normal(n) * vol))
    ts = T0 + HOUR * np.arange(n, dtype=np.int64)
    keep = np.setdiff1d(np.arange(n), np.array(drop, dtype=np.int64))
    return History(ts[keep], close[keep], HOUR, symbol)


def gen(spec: dict, seed: int = 7, n_paths: int = 50, history: dict | None = None) -> ScenarioPaths:
    return generate(spec, history=history, n_paths=n_paths, rng=np.random.default_rng(seed))


GBM = {
    "kind": "gbm",
    "assets": ["ETHUSDT"],
    "n_steps": 100,
    "start_price": 2000.0,
    "params": {"mu": 0.0, "sigma": 0.8},
}


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "patch, key",
    [
        ({"kind": "brownian"}, "kind"),
        ({"assets": []}, "assets"),
        ({"n_steps": 0}, "n_steps"),
        ({"n_steps": 2.5}, "n_steps"),
        ({"vol_multiplier": 0}, "vol_multiplier"),
        ({"vol_multiplier": 11}, "vol_multiplier"),
        ({"params": {"mu": 0.0, "sigma": -0.1}}, "params.sigma"),
        ({"params": {"mu": 0.0, "sigma": 0.5, "lam": 3}}, "params.lam"),
        ({"start_price": -5.0}, "start_price"),
        ({"window": {"start": "2020-03-14T00:00:00Z", "end": "2020-03-11T00:00:00Z"}}, "window.end"),
        ({"window": {"start": "2020-03-14 00:00", "end": "2020-03-15T00:00:00Z"}}, "window.start"),
        ({"conditions": {"depth_usd": 0}}, "conditions.depth_usd"),
        ({"conditions": {"impact_model": "cubic"}}, "conditions.impact_model"),
        ({"conditions": {"max_step_impact": 1.0}}, "conditions.max_step_impact"),
        ({"conditions": {"oracle": {"latency_seconds": -1}}}, "conditions.oracle.latency_seconds"),
        ({"conditions": {"oracle": {"heartbeat_seconds": 1.5}}}, "conditions.oracle.heartbeat_seconds"),
        ({"conditions": {"oracle": {"latency": 1}}}, "conditions.oracle.latency"),
        ({"conditions": {"oracle": {"deviaton": 0.01}}}, "conditions.oracle.deviaton"),
        ({"horizon": 5}, "horizon"),
    ],
)
def test_a_bad_spec_is_rejected_with_an_error_naming_the_key(patch: dict, key: str) -> None:
    with pytest.raises(EngineError) as err:
        validate_spec({**GBM, **patch})
    assert str(err.value).startswith(key + " ")


def test_an_error_names_the_allowed_range_and_the_value() -> None:
    with pytest.raises(EngineError, match=r"params\.sigma must be in \[0, 20\]; got 25"):
        validate_spec({**GBM, "params": {"sigma": 25}})


def test_shock_needs_its_drop_and_a_known_then_kind() -> None:
    base = {"kind": "shock", "assets": ["ETHUSDT"], "start_price": 100.0}
    with pytest.raises(EngineError, match=r"^params\.drop "):
        validate_spec({**base, "params": {"sigma": 0.5}})
    with pytest.raises(EngineError, match=r"^params\.drop must be in \(0, 1\); got 1.2"):
        validate_spec({**base, "params": {"drop": 1.2, "sigma": 0.5}})
    with pytest.raises(EngineError, match=r"^params\.then_kind "):
        validate_spec({**base, "params": {"drop": 0.3, "then_kind": "replay"}})


def test_kinds_that_read_history_require_a_window() -> None:
    for kind in ("replay", "bootstrap", "fhs"):
        with pytest.raises(EngineError, match=r"^window is required"):
            validate_spec({"kind": kind, "assets": ["ETHUSDT"]})
    with pytest.raises(EngineError, match=r"^window is required for kind 'garch'"):
        validate_spec({"kind": "garch", "assets": ["ETHUSDT"], "start_price": 1.0})


def test_garch_parameters_are_all_or_none_and_stationary() -> None:
    base = {"kind": "garch", "assets": ["ETHUSDT"], "start_price": 100.0}
    with pytest.raises(EngineError, match=r"^params\.beta must be given with"):
        validate_spec({**base, "params": {"mu": 0, "omega": 1e-6, "alpha": 0.1, "nu": 5}})
    with pytest.raises(EngineError, match=r"^params\.alpha \+ params\.beta must be < 1"):
        validate_spec({**base, "params": {"mu": 0, "omega": 1e-6, "alpha": 0.3, "beta": 0.75, "nu": 5}})


def test_the_normalized_spec_is_json_and_validating_it_again_changes_nothing() -> None:
    spec = {**GBM, "conditions": {"depth_usd": 1e6, "oracle": {"latency_seconds": 3600}}}
    norm = validate_spec(spec)
    assert json.loads(json.dumps(norm, allow_nan=False)) == norm
    assert validate_spec(norm) == norm
    assert norm["conditions"]["oracle"] == {"latency_seconds": 3600, "deviation": 0.0, "heartbeat_seconds": 0}
    assert norm["vol_multiplier"] == 1.0
    assert spec["conditions"] == {"depth_usd": 1e6, "oracle": {"latency_seconds": 3600}}  # input untouched


def test_an_oracle_counted_in_steps_is_refused_with_the_way_to_give_it_in_seconds() -> None:
    with pytest.raises(EngineError, match=r"give conditions\.oracle\.heartbeat_seconds, a time in seconds"):
        validate_spec({**GBM, "conditions": {"oracle": {"heartbeat": 24}}})


def test_conditions_become_market_conditions_with_steps_per_year_from_the_interval() -> None:
    spec = {
        **GBM,
        "interval_seconds": 86400,
        "conditions": {
            "depth_usd": 2e6,
            "k": 0.5,
            "impact_model": "sqrt",
            "gas_cost_usd": 30,
            "gas_spike": 4,
            "oracle": {"latency_seconds": 2 * 86400, "deviation": 0.005, "heartbeat_seconds": 24 * 86400},
        },
    }
    c = gen(spec).conditions
    assert isinstance(c, MarketConditions)
    assert (c.liquidity.depth_usd, c.liquidity.k, c.liquidity.model) == (2e6, 0.5, "sqrt")
    assert (c.liquidators.gas_cost_usd, c.liquidators.gas_spike) == (30.0, 4.0)
    assert (c.oracle.latency, c.oracle.deviation, c.oracle.heartbeat) == (2, 0.005, 24)
    assert c.steps_per_year == 365.0
    assert math.isinf(gen(GBM).conditions.liquidity.depth_usd)


# --- shapes and reproducibility -------------------------------------------------------------


KIND_SPECS = {
    "bootstrap": {"kind": "bootstrap", "window": WINDOW, "params": {"mean_block": 12}},
    "fhs": {"kind": "fhs", "window": WINDOW},
    "gbm": {"kind": "gbm", "window": WINDOW, "params": {"sigma": 0.6}},
    "merton": {
        "kind": "merton",
        "window": WINDOW,
        "params": {"lam": 20, "jump_mu": -0.05, "jump_sigma": 0.03},
    },
    "garch": {"kind": "garch", "window": WINDOW},
    "shock": {"kind": "shock", "window": WINDOW, "params": {"drop": 0.3, "then_kind": "bootstrap"}},
}


@pytest.mark.parametrize("kind", sorted(KIND_SPECS))
def test_every_kind_is_reproducible_from_its_seed_and_has_the_right_shape(kind: str) -> None:
    hist = {"ETHUSDT": synthetic_history()}
    spec = {**KIND_SPECS[kind], "assets": ["ETHUSDT"], "n_steps": 48}
    a, b, c = (gen(spec, seed=s, n_paths=30, history=hist) for s in (3, 3, 4))
    assert a.prices.shape == (30, 49)
    assert np.array_equal(a.prices, b.prices)
    assert not np.array_equal(a.prices, c.prices)
    assert a.start is None and a.interval_seconds == HOUR
    # Simulated paths start at the window's last close (bar 2020-03-01 00:00 = bar 1440).
    assert np.all(a.prices[:, 0] == hist["ETHUSDT"].close[60 * 24])


@pytest.mark.parametrize("kind", sorted(KIND_SPECS))
def test_every_kind_gives_two_assets_a_leading_axis_and_keeps_their_correlation(kind: str) -> None:
    eth = synthetic_history("ETHUSDT", seed=1)
    rng = np.random.default_rng(2)
    # BTC's returns: 0.8 ETH's plus independent noise: correlation 0.8 / sqrt(0.64 + 0.36) = 0.8.
    r_eth = np.diff(np.log(eth.close))
    r_btc = 0.8 * r_eth + 0.6 * 0.01 * rng.standard_normal(r_eth.size)
    btc = History(eth.timestamps, 9000.0 * np.exp(np.r_[0.0, np.cumsum(r_btc)]), HOUR, "BTCUSDT")
    spec = {**KIND_SPECS[kind], "assets": ["ETHUSDT", "BTCUSDT"], "n_steps": 40}
    p = gen(spec, n_paths=400, history={"ETHUSDT": eth, "BTCUSDT": btc})
    assert p.prices.shape == (2, 400, 41)
    assert p.assets == ("ETHUSDT", "BTCUSDT")
    r = np.diff(np.log(p.prices), axis=2)
    if kind == "shock":
        r = r[:, :, 1:]
    rho = np.corrcoef(r[0].ravel(), r[1].ravel())[0, 1]
    # Jumps are common and equal-sized in expectation, which raises merton's correlation.
    assert 0.74 < rho < (0.95 if kind == "merton" else 0.86)


def test_paths_are_read_only() -> None:
    p = gen(GBM)
    with pytest.raises(ValueError):
        p.prices[0, 0] = 1.0


def test_bad_n_paths_and_rng_are_rejected() -> None:
    with pytest.raises(EngineError, match=r"^n_paths must be a whole number >= 1; got 0"):
        generate(GBM, history=None, n_paths=0, rng=np.random.default_rng(0))
    with pytest.raises(EngineError, match=r"^rng must be a numpy.random.Generator"):
        generate(GBM, history=None, n_paths=5, rng=np.random.RandomState(0))


# --- models ------------------------------------------------------------------------------


def test_gbm_log_returns_have_the_model_mean_and_variance_and_the_price_its_expectation() -> None:
    # Daily steps over one year: log(S_T / S_0) ~ N((mu - sigma^2 / 2) T, sigma^2 T), T = 1.
    mu, sigma, M = 0.5, 0.8, 20_000
    spec = {
        "kind": "gbm",
        "assets": ["ETHUSDT"],
        "n_steps": 365,
        "interval_seconds": 86400,
        "start_price": 100.0,
        "params": {"mu": mu, "sigma": sigma},
    }
    p = gen(spec, n_paths=M).prices
    x = np.log(p[:, -1] / p[:, 0])
    # Tolerances: 4 standard errors (0.8 / sqrt(M) = 0.0057 for the mean; 0.64 * sqrt(2 / M)
    # = 0.0064 for the variance; sqrt(e^0.64 - 1) e^0.5 / sqrt(M) = 0.011 for E[S_T/S_0]).
    assert abs(x.mean() - (mu - sigma**2 / 2)) < 4 * sigma / math.sqrt(M)
    assert abs(x.var() - sigma**2) < 4 * sigma**2 * math.sqrt(2 / M)
    assert abs((p[:, -1] / 100.0).mean() - math.exp(mu)) < 0.045
    # Steps are independent: the lag-1 autocorrelation of daily returns is ~0.
    r = np.diff(np.log(p), axis=1)
    assert abs(np.corrcoef(r[:, 1:].ravel(), r[:, :-1].ravel())[0, 1]) < 0.01


def test_vol_multiplier_scales_gbm_volatility_exactly_with_common_random_numbers() -> None:
    base = {**GBM, "params": {"mu": 0.0, "sigma": 0.5}}
    r1 = np.diff(np.log(gen(base).prices), axis=1)
    r2 = np.diff(np.log(gen({**base, "vol_multiplier": 2.0}).prices), axis=1)
    dt = 1 / 8760
    # Same draws: r = -sigma^2 dt / 2 + sigma sqrt(dt) Z, with sigma doubled.
    z1 = (r1 + 0.5 * 0.25 * dt) / (0.5 * math.sqrt(dt))
    z2 = (r2 + 0.5 * 1.0 * dt) / (1.0 * math.sqrt(dt))
    np.testing.assert_allclose(z1, z2, rtol=1e-9, atol=1e-9)


def test_merton_jump_counts_match_the_poisson_intensity() -> None:
    # No diffusion and fixed jumps of -0.2: each step's return is its drift plus N * (-0.2).
    lam, M, T = 50.0, 2000, 720
    spec = {
        "kind": "merton",
        "assets": ["ETHUSDT"],
        "n_steps": T,
        "start_price": 100.0,
        "params": {"mu": 0.0, "sigma": 0.0, "lam": lam, "jump_mu": -0.2, "jump_sigma": 0.0},
    }
    p = gen(spec, n_paths=M).prices
    dt = 1 / 8760
    drift = -lam * (math.exp(-0.2) - 1.0) * dt
    n = np.rint((np.diff(np.log(p), axis=1) - drift) / -0.2)
    per_path = n.sum(axis=1)
    expected = lam * dt * T  # 4.11 jumps per path
    assert abs(per_path.mean() - expected) < 4 * math.sqrt(expected / M)
    # Poisson: variance equals mean (tolerance 15 %: the variance's sd is about 3.4 % here).
    assert abs(per_path.var() / per_path.mean() - 1.0) < 0.15
    # The compensator keeps E[S_T / S_0] = exp(mu T) = 1.
    assert abs((p[:, -1] / 100.0).mean() - 1.0) < 0.02


def test_shock_drops_the_price_by_the_given_fraction_at_the_given_step() -> None:
    spec = {
        "kind": "shock",
        "assets": ["ETHUSDT"],
        "n_steps": 10,
        "start_price": 1000.0,
        "params": {"drop": 0.3, "at": 3, "then_kind": "gbm", "sigma": 0.5},
    }
    p = gen(spec, n_paths=20).prices
    np.testing.assert_allclose(p[:, 3] / p[:, 2], 0.7, rtol=1e-12)
    assert np.all(p[:, 0] == 1000.0)
    # The rest of the path is the model's: not flat.
    assert np.all(np.abs(p[:, 5] / p[:, 4] - 1) > 0)


def test_stationary_bootstrap_blocks_have_the_requested_mean_length_and_cover_the_sample() -> None:
    rng = np.random.default_rng(0)
    idx = stationary_bootstrap_indices(1000, 200, 500, 20.0, rng)
    starts = np.diff(idx, axis=1) != 1
    # Continuations are +1 (mod n); a new block starts with probability 1/20 (a fresh start
    # that happens to equal i + 1 is counted as a continuation: a 1/1000 correction).
    assert abs(starts.mean() - 1 / 20 * (1 - 1 / 1000)) < 0.002
    wrap = (idx[:, :-1] == 999) & (idx[:, 1:] == 0)
    assert wrap.any()
    counts = np.bincount(idx.ravel(), minlength=1000)
    assert counts.min() > 0 and counts.max() < 3 * counts.mean()


def test_bootstrap_uses_the_same_blocks_for_all_assets() -> None:
    eth = synthetic_history("ETHUSDT", seed=1)
    btc = History(eth.timestamps, eth.close * 30.0, HOUR, "BTCUSDT")  # identical returns
    spec = {"kind": "bootstrap", "assets": ["ETHUSDT", "BTCUSDT"], "window": WINDOW, "n_steps": 60}
    p = gen(spec, history={"ETHUSDT": eth, "BTCUSDT": btc}).prices
    np.testing.assert_allclose(p[1], p[0] * 30.0, rtol=1e-12)


def test_returns_spanning_a_gap_are_dropped() -> None:
    h = synthetic_history(n=100, drop=(50, 51, 52))
    r, ts = h.log_returns()
    assert r.size == 100 - 3 - 1 - 1  # 96 bars, 95 differences, one spans the gap
    assert not np.any(ts == T0 + 53 * HOUR)  # the return from bar 49 to bar 53
    assert np.all(np.abs(r) < 0.1)
    other = synthetic_history("BTCUSDT", n=100, seed=3, drop=(10,))
    R, common = aligned_returns([h, other])
    assert R.shape == (2, 95 - 2)  # bar 10 missing in BTC drops its returns into 10 and 11


def test_history_rejects_bad_rows_naming_the_problem() -> None:
    with pytest.raises(EngineError, match=r"^history.close of X must be finite and > 0; got 0.0 at index 1"):
        History(np.array([0, 3600]), np.array([1.0, 0.0]), 3600, "X")
    with pytest.raises(EngineError, match=r"whole multiples of interval_seconds=3600; got a step of 1800 s"):
        History(np.array([0, 1800]), np.array([1.0, 2.0]), 3600, "X")


# --- replay ------------------------------------------------------------------------------


def test_replay_keeps_its_dates_and_gives_one_path_whatever_n_paths() -> None:
    h = synthetic_history()
    spec = {
        "kind": "replay",
        "assets": ["ETHUSDT"],
        "window": {"start": "2020-01-02T00:00:00Z", "end": "2020-01-03T00:00:00Z"},
    }
    p = gen(spec, n_paths=100, history={"ETHUSDT": h})
    assert p.prices.shape == (1, 4 * 25)  # four steps a bar
    # Point prices (no open, high or low given): each bar's four steps are its close.
    np.testing.assert_array_equal(p.prices[0], np.repeat(h.close[24:49], 4))
    assert p.start == datetime(2020, 1, 2, 0, 15, tzinfo=UTC)  # end of the first bar's first quarter
    assert (p.interval_seconds, p.steps_per_bar) == (900, 4)


def test_replay_onto_another_price_keeps_relative_moves_and_vol_multiplier_scales_log_moves() -> None:
    h = synthetic_history()
    spec = {
        "kind": "replay",
        "assets": ["ETHUSDT"],
        "start_price": 2000.0,
        "n_steps": 10,
        "window": {"start": "2020-01-02T00:00:00Z", "end": "2020-01-03T00:00:00Z"},
    }
    p = gen(spec, history={"ETHUSDT": h}).prices[0]
    real = np.repeat(h.close[24:49], 4)[:11]
    np.testing.assert_allclose(p, 2000.0 * real / real[0], rtol=1e-12)
    p2 = gen({**spec, "vol_multiplier": 1.5}, history={"ETHUSDT": h}).prices[0]
    np.testing.assert_allclose(np.log(p2 / 2000.0), 1.5 * np.log(real / real[0]), atol=1e-12)


def test_replay_shows_a_missing_bar_as_a_flat_price_on_the_regular_grid() -> None:
    h = synthetic_history(n=60, drop=(30,))
    spec = {
        "kind": "replay",
        "assets": ["ETHUSDT"],
        "window": {"start": "2020-01-01T20:00:00Z", "end": "2020-01-02T08:00:00Z"},
    }
    p = gen(spec, history={"ETHUSDT": h}).prices[0]
    assert p.size == 4 * 13
    # Bar 30 (index 10 from bar 20) is missing: bar 29's close stands for its four steps.
    np.testing.assert_array_equal(p[40:44], p[39])


def test_replay_longer_than_its_window_is_rejected() -> None:
    spec = {
        "kind": "replay",
        "assets": ["ETHUSDT"],
        "n_steps": 100,
        "window": {"start": "2020-01-02T00:00:00Z", "end": "2020-01-03T00:00:00Z"},
    }
    with pytest.raises(
        EngineError, match=r"^n_steps must be at most 99 for this replay window \(4 steps a bar\); got 100"
    ):
        gen(spec, history={"ETHUSDT": synthetic_history()})


def test_a_window_outside_the_history_is_rejected_with_the_history_range() -> None:
    spec = {
        "kind": "bootstrap",
        "assets": ["ETHUSDT"],
        "window": {"start": "2021-01-01T00:00:00Z", "end": "2021-02-01T00:00:00Z"},
    }
    with pytest.raises(
        EngineError, match=r"must hold at least 2 bars of ETHUSDT; got 0 \(history covers 2020-01-01"
    ):
        gen(spec, history={"ETHUSDT": synthetic_history()})


# --- stress windows and the standard pack --------------------------------------------------


def test_stress_windows_hold_their_dates_and_black_thursday_is_thin_and_expensive() -> None:
    assert {w.date for w in STRESS_WINDOWS.values()} >= {
        "2020-03-12",
        "2021-05-19",
        "2022-05-09",
        "2022-06-13",
        "2022-11-08",
        "2024-08-05",
    }
    for w in STRESS_WINDOWS.values():
        day = parse_iso("date", w.date + "T00:00:00Z")
        assert parse_iso("start", w.start) <= day < parse_iso("end", w.end)
    bt = STRESS_WINDOWS["black-thursday"].conditions(10e6)
    assert bt["depth_usd"] < 10e6 and bt["gas_spike"] > 0 and bt["gas_cost_usd"] > 0


def test_standard_pack_has_at_least_six_named_valid_specs_of_several_kinds() -> None:
    pack = standard_pack("ETHUSDT", start_price=2500.0, depth_usd=5e6, n_steps=240)
    assert len(pack) >= 6
    assert len({s["name"] for s in pack}) == len(pack)
    assert {s["kind"] for s in pack} >= {"replay", "bootstrap", "garch", "merton", "shock"}
    for s in pack:
        assert validate_spec(s) == s
        assert s["start_price"] == 2500.0
        assert s["n_steps"] in (None, 240)
    shock = next(s for s in pack if s["kind"] == "shock")
    assert shock["params"]["drop"] == 0.3 and shock["params"]["then_kind"] == "gbm"
    bt = next(s for s in pack if "Black Thursday" in s["name"])
    assert bt["window"]["start"] == "2020-03-11T00:00:00Z"
    assert bt["conditions"]["depth_usd"] < 5e6 and bt["conditions"]["gas_spike"] > 0


def test_the_tabulated_normal_to_t_map_matches_scipys_t_quantile() -> None:
    z = np.linspace(-6, 6, 2001)
    for nu in (2.1, 3.4, 8.0, 100.0):
        exact = stats.t.ppf(special.ndtr(z), nu) * math.sqrt((nu - 2) / nu)
        np.testing.assert_allclose(normal_to_standard_t(z, nu), exact, rtol=1e-4, atol=1e-6)


def test_replay_of_two_assets_keeps_each_assets_closes_on_the_shared_grid() -> None:
    eth = synthetic_history("ETHUSDT", seed=1)
    btc = synthetic_history("BTCUSDT", seed=2, start_price=9000.0)
    spec = {
        "kind": "replay",
        "assets": ["ETHUSDT", "BTCUSDT"],
        "window": {"start": "2020-01-02T00:00:00Z", "end": "2020-01-03T00:00:00Z"},
    }
    p = gen(spec, history={"ETHUSDT": eth, "BTCUSDT": btc})
    assert p.prices.shape == (2, 1, 4 * 25)
    np.testing.assert_array_equal(p.prices[0, 0], np.repeat(eth.close[24:49], 4))
    np.testing.assert_array_equal(p.prices[1, 0], np.repeat(btc.close[24:49], 4))


def test_importing_the_scenario_library_and_books_leaves_django_out() -> None:
    code = (
        "import sys, engine.scenarios, engine.books\n"
        "print(','.join(m for m in ('django', 'celery', 'plotly', 'arch') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("kind", ["bootstrap", "fhs", "garch"])
def test_vol_multiplier_scales_deviations_of_history_based_kinds_exactly(kind: str) -> None:
    hist = {"ETHUSDT": synthetic_history()}
    spec = {**KIND_SPECS[kind], "assets": ["ETHUSDT"], "n_steps": 30}
    r1 = np.diff(np.log(gen(spec, history=hist).prices), axis=1)
    r3 = np.diff(np.log(gen({**spec, "vol_multiplier": 3.0}, history=hist).prices), axis=1)
    # bootstrap: r = m + k (r_real - m), m the window's mean; garch / fhs: r = mu + k eps.
    if kind == "bootstrap":
        center = np.diff(np.log(hist["ETHUSDT"].close[: 60 * 24 + 1])).mean()
    else:
        w = hist["ETHUSDT"].window(parse_iso("s", WINDOW["start"]), parse_iso("e", WINDOW["end"]))

        center = fit_garch_t(w.log_returns()[0]).mu
    np.testing.assert_allclose(r3 - center, 3.0 * (r1 - center), rtol=1e-7, atol=1e-12)


def test_the_shock_itself_is_not_scaled_by_the_vol_multiplier() -> None:
    spec = {
        "kind": "shock",
        "assets": ["ETHUSDT"],
        "n_steps": 5,
        "start_price": 100.0,
        "vol_multiplier": 4.0,
        "params": {"drop": 0.25, "sigma": 0.5},
    }
    p = gen(spec).prices
    np.testing.assert_allclose(p[:, 1], 75.0, rtol=1e-12)


def test_scenario_paths_carry_the_normalized_spec() -> None:
    p = gen(GBM)
    assert p.spec == validate_spec(GBM)
    assert p.spec["conditions"]["depth_usd"] is None
    assert (p.n_paths, p.n_steps) == (50, 100)


def test_a_garch_fit_remembered_for_the_same_returns_is_the_fit_bit_for_bit_and_not_shared() -> None:
    R = aligned_returns([synthetic_history(seed=21, n=24 * 40)])[0]
    models._FITS.clear()
    fits, Z, s2 = models.fit_assets(R)  # fitted
    fits2, Z2, s22 = models.fit_assets(R.copy())  # remembered
    assert fits2 == fits and Z2.tobytes() == Z.tobytes() and s22.tobytes() == s2.tobytes()
    fresh = models._fit_assets(np.ascontiguousarray(R))
    assert fresh[0] == fits and fresh[1].tobytes() == Z.tobytes() and fresh[2].tobytes() == s2.tobytes()
    Z2[:] = 0.0  # a caller's copy: changing it changes nothing remembered
    assert models.fit_assets(R)[1].tobytes() == Z.tobytes()
    other = aligned_returns([synthetic_history(seed=22, n=24 * 40)])[0]
    assert models.fit_assets(other)[0] != fits
