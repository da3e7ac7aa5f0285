"""Scenario library against real prices (../shared/data/prices, read in place, never copied).

- the GARCH-t maximum-likelihood fit agrees with the ``arch`` package on the same returns;
- the stationary block bootstrap reproduces the real series' volatility and the lag-1
  autocorrelation of absolute returns (volatility clustering);
- the Black Thursday replay shows ETH's real drawdown on its real dates (README price table):
  57.7 % from the highs to the lows, four steps a bar, where its closes alone fall 52.2 %
  (margin-engine.md section 6); every replay of the standard pack states the fall it reaches.
"""

import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from arch import arch_model

from engine.scenarios import (
    STRESS_WINDOWS,
    History,
    describe_replay,
    fit_garch_t,
    generate,
    max_drawdown,
    standard_pack,
)
from engine.scenarios.garch import standardized_residuals
from engine.scenarios.history import parse_iso

PRICES = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "prices"


def load_history(name: str, symbol: str, interval: int = 3600) -> History:
    raw = np.loadtxt(PRICES / name, delimiter=",", skiprows=1, dtype=str, usecols=(0, 1, 2, 3, 4))
    ts = np.array([s[:19] for s in raw[:, 0]], dtype="datetime64[s]").astype(np.int64)
    o, h, lo, c = (raw[:, i].astype(np.float64) for i in (1, 2, 3, 4))
    return History(ts, c, interval, symbol, open=o, high=h, low=lo)


@pytest.fixture(scope="module")
def eth() -> History:
    return load_history("ETHUSDT_1h_binance_spot.csv", "ETHUSDT")


@pytest.fixture(scope="module")
def btc() -> History:
    return load_history("BTCUSDT_1h_binance_spot.csv", "BTCUSDT")


def returns(h: History, start: str, end: str) -> np.ndarray:
    return h.window(parse_iso("start", start), parse_iso("end", end)).log_returns()[0]


def abs_acf1(r: np.ndarray) -> float:
    """Lag-1 autocorrelation of |r| (rows of a 2-d array are separate paths)."""
    a = np.abs(r)
    a = a - a.mean()
    return float((a[..., 1:] * a[..., :-1]).mean() / a.var())


# --- GARCH-t against arch -----------------------------------------------------------------


@pytest.mark.parametrize(
    "start, end",
    [
        ("2024-01-01T00:00:00Z", "2024-12-31T23:00:00Z"),  # interior optimum (alpha + beta = 0.985)
        ("2022-01-01T00:00:00Z", "2022-12-31T23:00:00Z"),  # optimum on the persistence bound
    ],
)
def test_garch_t_fit_agrees_with_the_arch_package(eth: History, start: str, end: str) -> None:
    r = returns(eth, start, end)
    ours = fit_garch_t(r)
    # arch on percent returns (its recommended scaling); ours converted to the same units.
    ref = arch_model(100 * r, vol="GARCH", p=1, q=1, dist="t", mean="Constant").fit(disp="off")
    assert ours.converged
    ll_pct = ours.loglik - r.size * np.log(100.0)  # density of 100 r: Jacobian 1/100 each
    assert abs(ll_pct - ref.loglikelihood) <= 0.02 * abs(ref.loglikelihood)
    ref_p = ref.params
    for ours_v, name in (
        (100 * ours.mu, "mu"),
        (1e4 * ours.omega, "omega"),
        (ours.alpha, "alpha[1]"),
        (ours.beta, "beta[1]"),
        (ours.nu, "nu"),
    ):
        assert abs(ours_v - ref_p[name]) <= 0.10 * abs(ref_p[name]), name
    # In fact the two optima agree far more closely than the 2 % asked.
    assert abs(ll_pct - ref.loglikelihood) < 0.5


def test_garch_t_fit_recovers_the_parameters_of_a_simulated_series() -> None:
    true = {"mu": 1e-4, "omega": 2e-6, "alpha": 0.08, "beta": 0.88, "nu": 5.0}
    spec = {"kind": "garch", "assets": ["X"], "n_steps": 20_000, "start_price": 1.0, "params": true}
    p = generate(spec, history=None, n_paths=1, rng=np.random.default_rng(11)).prices[0]
    fit = fit_garch_t(np.diff(np.log(p)))
    # Standard errors at n = 20,000 are about 0.006 (alpha), 0.008 (beta), 0.3 (nu).
    assert abs(fit.alpha - 0.08) < 0.02 and abs(fit.beta - 0.88) < 0.03
    assert abs(fit.nu - 5.0) < 1.2
    assert abs(fit.omega / (1 - fit.alpha - fit.beta) - 2e-6 / 0.04) < 0.2 * 2e-6 / 0.04


def test_fhs_starts_at_the_fitted_current_volatility_times_the_multiplier(eth: History) -> None:
    window = {"start": "2024-01-01T00:00:00Z", "end": "2024-12-31T23:00:00Z"}
    r = returns(eth, window["start"], window["end"])
    fit = fit_garch_t(r)
    _, sigma2_next = standardized_residuals(fit, r)
    spec = {"kind": "fhs", "assets": ["ETHUSDT"], "window": window, "n_steps": 1, "vol_multiplier": 2.0}
    p = generate(spec, history={"ETHUSDT": eth}, n_paths=20_000, rng=np.random.default_rng(5)).prices
    first = np.log(p[:, 1] / p[:, 0])
    # The bootstrapped residuals have variance 1, so the first step's sd is 2 sigma_next; 5 %
    # covers the sampling error of an sd from 20,000 heavy-tailed draws (about 1 %).
    assert abs(first.std() / (2.0 * np.sqrt(sigma2_next)) - 1.0) < 0.05


# --- block bootstrap ----------------------------------------------------------------------


def test_block_bootstrap_keeps_the_volatility_and_the_clustering_of_real_returns(eth: History) -> None:
    window = {"start": "2021-01-01T00:00:00Z", "end": "2021-12-31T23:00:00Z"}
    real = returns(eth, window["start"], window["end"])
    spec = {
        "kind": "bootstrap",
        "assets": ["ETHUSDT"],
        "window": window,
        "n_steps": 720,
        "params": {"mean_block": 24},
    }
    p = generate(spec, history={"ETHUSDT": eth}, n_paths=200, rng=np.random.default_rng(1)).prices
    boot = np.diff(np.log(p), axis=1)
    # Volatility: every resampled return is a real one, drawn uniformly, so the expected
    # variance is the sample's; across seeds the ratio of sds was 0.990-0.995 (heavy tails
    # make a resample's sd slightly low more often than high). Tolerance 5 %.
    assert abs(boot.std() / real.std() - 1.0) < 0.05
    # Clustering: pairs inside a block are real neighbours, a block boundary (probability
    # 1/24 per step) pairs two random returns, so the expected lag-1 autocorrelation of |r| is
    # about (1 - 1/24) of the real one (real: 0.234). Seeds gave 0.89-0.96 of it: tolerance
    # 0.12 around 0.958.
    ratio = abs_acf1(boot) / abs_acf1(real)
    assert abs_acf1(real) > 0.15
    assert abs(ratio - (1 - 1 / 24)) < 0.12
    # The check can fail: an iid resample (blocks of 1) destroys the clustering.
    iid = generate(
        {**spec, "params": {"mean_block": 1}},
        history={"ETHUSDT": eth},
        n_paths=200,
        rng=np.random.default_rng(1),
    ).prices
    assert abs(abs_acf1(np.diff(np.log(iid), axis=1))) < 0.03


def test_joint_bootstrap_keeps_the_eth_btc_correlation(eth: History, btc: History) -> None:
    window = {"start": "2022-01-01T00:00:00Z", "end": "2022-12-31T23:00:00Z"}
    r_eth, r_btc = returns(eth, window["start"], window["end"]), returns(btc, window["start"], window["end"])
    real_rho = np.corrcoef(r_eth, r_btc)[0, 1]
    spec = {"kind": "bootstrap", "assets": ["ETHUSDT", "BTCUSDT"], "window": window, "n_steps": 720}
    p = generate(
        spec, history={"ETHUSDT": eth, "BTCUSDT": btc}, n_paths=100, rng=np.random.default_rng(2)
    ).prices
    r = np.diff(np.log(p), axis=2)
    assert real_rho > 0.7
    assert abs(np.corrcoef(r[0].ravel(), r[1].ravel())[0, 1] - real_rho) < 0.03


# --- Black Thursday replay ----------------------------------------------------------------


def test_black_thursday_replay_shows_eths_real_drawdown_on_its_real_dates(eth: History) -> None:
    w = STRESS_WINDOWS["black-thursday"]
    spec = {"kind": "replay", "assets": ["ETHUSDT"], "window": w.window, "conditions": w.conditions(5e6)}
    p = generate(spec, history={"ETHUSDT": eth}, n_paths=1000, rng=np.random.default_rng(0))
    path = p.prices[0]
    assert p.prices.shape == (1, 4 * 73)  # 73 hourly bars, four quarter-hour steps each
    assert p.interval_seconds == 900 and p.start == datetime(2020, 3, 11, 0, 15, tzinfo=UTC)

    def bar(iso: str) -> np.ndarray:
        """The four steps of the bar that opens at ``iso``."""
        i = (parse_iso("t", iso) - int(p.start.timestamp()) + 900) // 3600
        return path[4 * i : 4 * i + 4]

    # README "Price checks": the UTC day's close is the last hourly close of the day.
    assert bar("2020-03-12T23:00:00Z")[-1] == 107.82
    assert bar("2020-03-13T23:00:00Z")[-1] == 134.06
    assert bar("2020-03-11T23:00:00Z")[-1] == 194.61
    # The 2020-03-13 02:00 bar: open 96.62, high 120.2, low 86, close 111.12; it closed up,
    # so its low comes first. Binance's well-known spot low of 86.00 is reached.
    np.testing.assert_array_equal(bar("2020-03-13T02:00:00Z"), [96.62, 86.0, 120.2, 111.12])
    assert path.min() == 86.0
    assert path[0] == 200.7  # open of the 2020-03-11 00:00 bar
    assert p.conditions.liquidity.depth_usd == 5e6 * w.depth_factor
    assert p.conditions.liquidators.gas_spike == w.gas_spike > 0
    # An hour stays an hour on quarter-hour steps: latency 3600 s = 4 steps, heartbeat 24 h = 96.
    assert (p.conditions.oracle.latency, p.conditions.oracle.heartbeat) == (4, 96)


def test_black_thursday_falls_57_7_pct_four_steps_a_bar_and_52_2_pct_on_closes_alone(eth: History) -> None:
    w = STRESS_WINDOWS["black-thursday"]
    spec = {"kind": "replay", "assets": ["ETHUSDT"], "window": w.window}
    path = generate(spec, history={"ETHUSDT": eth}, n_paths=1, rng=np.random.default_rng(0)).prices[0]
    bars = eth.window(parse_iso("s", w.start), parse_iso("e", w.end))
    assert round(100 * max_drawdown(path), 1) == 57.7
    assert round(100 * max_drawdown(bars.close), 1) == 52.2
    assert round(100 * max_drawdown(path[3::4]), 1) == 52.2  # the replay's closes
    # From the running peak of the highs to the lows: the replay loses nothing of it.
    highs_to_lows = (1 - bars.low / np.maximum.accumulate(bars.high)).max()
    assert max_drawdown(path) == pytest.approx(highs_to_lows, rel=1e-12)


def test_every_replay_of_the_standard_pack_states_the_fall_it_reaches(eth: History) -> None:
    history = {"ETHUSDT": eth}
    replays = [
        s for s in standard_pack("ETHUSDT", start_price=2500.0, depth_usd=5e6) if s["kind"] == "replay"
    ]
    assert len(replays) == 3
    stated = {}
    for spec in replays:
        described = describe_replay(spec, history)
        found = re.search(
            r"ETHUSDT falls (\d+\.\d) % from its running peak in this replay \((\d+\.\d) % on closes alone\)",
            described["description"],
        )
        assert found, described["description"]
        path = generate(described, history=history, n_paths=1, rng=np.random.default_rng(1)).prices[0]
        assert float(found[1]) == round(100 * max_drawdown(path), 1), spec["name"]
        assert float(found[2]) == round(100 * max_drawdown(path[3::4]), 1), spec["name"]
        stated[spec["name"]] = (float(found[1]), float(found[2]))
    assert stated["Black Thursday replay (thin depth, gas spike)"] == (57.7, 52.2)


def test_black_thursday_replay_onto_another_markets_price_keeps_the_drawdown(eth: History) -> None:
    w = STRESS_WINDOWS["black-thursday"]
    spec = {"kind": "replay", "assets": ["ETHUSDT"], "window": w.window, "start_price": 3000.0}
    path = generate(spec, history={"ETHUSDT": eth}, n_paths=1, rng=np.random.default_rng(0)).prices[0]
    real = generate(
        {**spec, "start_price": None}, history={"ETHUSDT": eth}, n_paths=1, rng=np.random.default_rng(0)
    ).prices[0]
    assert path[0] == 3000.0
    np.testing.assert_allclose(path / 3000.0, real / real[0], rtol=1e-12)


def test_the_standard_pack_runs_on_real_history(eth: History) -> None:
    pack = standard_pack("ETHUSDT", start_price=2500.0, depth_usd=5e6, n_steps=240)
    for spec in pack:
        p = generate(spec, history={"ETHUSDT": eth}, n_paths=64, rng=np.random.default_rng(3))
        assert p.prices.ndim == 2 and np.all(p.prices[:, 0] == 2500.0), spec["name"]
        assert p.n_steps == (240 if spec["kind"] != "replay" else p.n_steps)
        assert np.all(np.isfinite(p.prices)) and np.all(p.prices > 0)
    shock = next(s for s in pack if s["kind"] == "shock")
    p = generate(shock, history={"ETHUSDT": eth}, n_paths=8, rng=np.random.default_rng(3)).prices
    np.testing.assert_allclose(p[:, 1], 2500.0 * 0.7)
