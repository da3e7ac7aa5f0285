"""Registry, run (chunked or not) and compare."""

import numpy as np
import pytest

from engine import api
from engine._common import RESULT_FIELDS
from engine.errors import EngineError
from engine.market import Liquidators, Liquidity, MarketConditions


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(11)
    n, m, t = 400, 9, 200
    d = rng.lognormal(9.0, 1.0, n)
    c = d * rng.uniform(1.02, 1.8, n) / (2000.0 * 0.825)
    steps = rng.normal(-0.002, 0.02, (m, t))
    prices = 2000.0 * np.exp(np.hstack([np.zeros((m, 1)), np.cumsum(steps, axis=1)]))
    market = MarketConditions(liquidity=Liquidity(depth_usd=5e7), liquidators=Liquidators(gas_cost_usd=5.0))
    return {"collateral": c, "debt": d}, prices, market


def test_registry_names_every_mechanism_module() -> None:
    assert api.MECHANISMS == {
        "aave-v3": "engine.aave",
        "aave-v4": "engine.aave_v4",
        "compound-v3": "engine.compound",
        "compound-v3-accounts": "engine.comet",
        "maker-clip": "engine.maker",
        "perp": "engine.perp",
        "cross": "engine.cross",
        "morpho-blue": "engine.morpho",
    }
    assert "aave-v3" in api.available_mechanisms()


def test_unknown_mechanism_is_rejected_with_the_allowed_names() -> None:
    with pytest.raises(EngineError, match="mechanism must be one of .*got 'aave-v2'"):
        api.run("aave-v2", {}, {}, np.ones((1, 2)), None)


def test_run_from_dicts_gives_per_path_fields_and_summary(setup) -> None:
    book, prices, market = setup
    r = api.run("aave-v3", {"liquidation_threshold": 0.825}, book, prices, market)
    assert r.per_path_array.shape == (9, len(RESULT_FIELDS))
    assert r.summary["mean_n_liq"] > 0
    assert r.summary["borrowing_power"] == pytest.approx(np.sum(book["collateral"]) * 2000.0 * 0.825)
    assert r.to_dict()["per_path"]["n_liq"] == r.per_path["n_liq"].tolist()


@pytest.mark.parametrize("chunk", [1, 2, 4, 8])
def test_chunked_run_equals_the_whole_run_bit_for_bit(setup, chunk: int) -> None:
    book, prices, market = setup
    whole = api.run("aave-v3", {}, book, prices, market)
    parts = api.run("aave-v3", {}, book, prices, market, chunk_paths=chunk)
    assert np.array_equal(whole.per_path_array, parts.per_path_array)
    assert whole.summary == parts.summary


def test_market_from_dict_names_an_unknown_key() -> None:
    with pytest.raises(EngineError, match="unknown market.oracle key 'lag'"):
        api.market_from_dict({"oracle": {"lag": 1}})
    m = api.market_from_dict({"oracle": {"latency": 2}, "liquidity": {"depth_usd": 1e6, "model": "sqrt"}})
    assert m.oracle.latency == 2 and m.liquidity.model == "sqrt"


def test_compare_differences_are_b_minus_a_on_the_same_paths(setup) -> None:
    book, prices, market = setup
    res = api.compare(
        "aave-v3",
        {"liquidation_threshold": 0.825},
        {"ltv": 0.7, "liquidation_threshold": 0.75},
        book,
        prices,
        market,
        rng=np.random.default_rng(0),
        n_boot=200,
    )
    a = api.run("aave-v3", {"liquidation_threshold": 0.825}, book, prices, market).summary
    b = api.run("aave-v3", {"ltv": 0.7, "liquidation_threshold": 0.75}, book, prices, market).summary
    for key, d in res["differences"].items():
        assert d["diff"] == b[key] - a[key], key
    assert res["differences"]["mean_n_liq"]["diff"] != 0
    bp = res["differences"]["borrowing_power"]["diff"]
    assert bp == pytest.approx(-np.sum(book["collateral"]) * 2000.0 * 0.075)
    same = api.compare("aave-v3", {}, {}, book, prices, market, rng=np.random.default_rng(0), n_boot=50)
    assert same["differences"]["mean_bad_debt"]["diff"] == 0.0


def test_other_mechanisms_load_by_name_when_present() -> None:
    for name in api.available_mechanisms():
        mod = api.load_mechanism(name)
        for attr in ("Params", "Book", "params_from_dict", "book_from_arrays", "simulate"):
            assert hasattr(mod, attr), (name, attr)
