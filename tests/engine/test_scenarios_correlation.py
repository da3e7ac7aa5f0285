"""Several assets' paths without a window: the spec's ``params.correlation`` gives every pair's
correlation (otherwise it is estimated from the window's returns), and the synthetic pack runs a
Comet market's collateral assets on correlated paths."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import EngineError
from engine.scenarios import generate, synthetic_pack

TWO = {"assets": ["ETHUSD", "BTCUSD"], "start_price": {"ETHUSD": 2000.0, "BTCUSD": 60000.0}, "n_steps": 400}


def returns(spec: dict, n_paths: int = 300, seed: int = 1) -> np.ndarray:
    p = generate(spec, history=None, n_paths=n_paths, rng=np.random.default_rng(seed)).prices
    assert p.shape == (2, n_paths, spec["n_steps"] + 1)
    return np.diff(np.log(p), axis=-1)


@pytest.mark.parametrize("rho", [-0.5, 0.0, 0.3, 0.8])
def test_gbm_paths_of_two_assets_have_the_correlation_the_spec_gives(rho: float) -> None:
    r = returns({**TWO, "kind": "gbm", "params": {"sigma": 0.8, "correlation": rho}})
    assert np.corrcoef(r[0].ravel(), r[1].ravel())[0, 1] == pytest.approx(rho, abs=0.02)


def test_each_asset_starts_at_its_own_price_and_keeps_its_own_volatility() -> None:
    spec = {**TWO, "kind": "gbm", "params": {"sigma": [0.5, 1.0], "correlation": 0.8}}
    p = generate(spec, history=None, n_paths=400, rng=np.random.default_rng(2)).prices
    np.testing.assert_array_equal(p[:, :, 0], [[2000.0] * 400, [60000.0] * 400])
    vol = np.diff(np.log(p), axis=-1).std(axis=(1, 2)) * np.sqrt(365 * 24)
    np.testing.assert_allclose(vol, [0.5, 1.0], rtol=0.03)


def test_garch_and_merton_and_a_shock_move_two_assets_together() -> None:
    garch = {"mu": 0.0, "omega": 2e-7, "alpha": 0.08, "beta": 0.91, "nu": 30.0, "correlation": 0.8}
    merton = {"sigma": 0.7, "lam": 12.0, "jump_mu": -0.1, "jump_sigma": 0.05, "correlation": 0.8}
    shock = {"drop": 0.3, "then_kind": "gbm", "sigma": 0.9, "correlation": 0.8}
    for kind, params in (("garch", garch), ("merton", merton), ("shock", shock)):
        r = returns({**TWO, "kind": kind, "params": params})
        assert np.corrcoef(r[0].ravel(), r[1].ravel())[0, 1] > 0.6, kind


def test_the_same_seed_gives_the_same_correlated_paths() -> None:
    spec = {**TWO, "kind": "gbm", "params": {"sigma": 0.8, "correlation": 0.8}}
    np.testing.assert_array_equal(returns(spec, 20, seed=4), returns(spec, 20, seed=4))


@pytest.mark.parametrize(
    ("params", "assets", "words"),
    [
        ({"sigma": 0.8, "correlation": [0.1, 0.2]}, 2, "params.correlation must be one number in (-1, 1)"),
        ({"sigma": 0.8, "correlation": 1.0}, 2, "params.correlation must be in (-1, 1); got 1.0"),
        ({"sigma": 0.8, "correlation": "high"}, 2, "params.correlation"),
        ({"sigma": 0.8, "correlation": 0.5}, 1, "params.correlation needs several assets"),
        ({"sigma": 0.8, "correlation": -0.6}, 3, "params.correlation must be > -0.5 for 3 assets"),
        ({"sigma": 0.8}, 2, "window is required for several assets without params.correlation"),
    ],
)
def test_a_bad_correlation_is_refused_by_name(params: dict, assets: int, words: str) -> None:
    names = ["A", "B", "C"][:assets]
    spec = {
        "kind": "gbm",
        "assets": names,
        "start_price": dict.fromkeys(names, 1.0) if assets > 1 else 1.0,
        "n_steps": 5,
        "params": params,
    }
    with pytest.raises(EngineError) as err:
        generate(spec, history=None, n_paths=1, rng=np.random.default_rng(0))
    assert words in str(err.value)


def test_the_synthetic_pack_of_two_assets_is_the_six_scenarios_on_correlated_paths() -> None:
    specs = synthetic_pack(
        ["ETHUSD", "BTCUSD"],
        start_price={"ETHUSD": 2000.0, "BTCUSD": 60000.0},
        depth_usd=1e8,
        correlation=0.8,
    )
    one = synthetic_pack("ETHUSD", start_price=2000.0, depth_usd=1e8)
    assert [s["name"] for s in specs] == [s["name"] for s in one]
    for s, o in zip(specs, one, strict=True):
        assert s["assets"] == ["ETHUSD", "BTCUSD"] and s["params"]["correlation"] == 0.8
        assert {k: v for k, v in s["params"].items() if k != "correlation"} == o["params"]
        assert s["conditions"] == o["conditions"]
        assert "correlation" not in o["params"]
    with pytest.raises(EngineError, match="correlation is required"):
        synthetic_pack(["ETHUSD", "BTCUSD"], start_price={"ETHUSD": 1.0, "BTCUSD": 1.0}, depth_usd=1e8)
