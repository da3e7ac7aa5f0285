"""Bad input at the engine's Python API is refused at the entry, naming what was wrong."""

import numpy as np
import pytest

from engine import aave, api, compound, cross, maker, perp
from engine.errors import EngineError
from engine.market import DynamicThreshold, Liquidators, Liquidity, MarketConditions, Oracle

MECHANISMS = sorted(api.MECHANISMS)


def _prices(mechanism: str, m: int, t: int = 5) -> np.ndarray:
    p = np.full((m, t + 1), 2000.0)
    return np.stack([p, p / 40.0]) if mechanism in ("cross", "compound-v3-accounts") else p


def _book(mechanism: str) -> dict:
    if mechanism == "perp":
        return {
            "size": np.array([1.0, -2.0]),
            "entry_price": np.array([2000.0, 2100.0]),
            "margin": np.array([300.0, 500.0]),
        }
    if mechanism in ("cross", "compound-v3-accounts"):
        return {"collateral": np.array([[1.0, 10.0], [2.0, 0.0]]), "debt": np.array([1500.0, 2000.0])}
    return {"collateral": np.array([1.0, 2.0]), "debt": np.array([1200.0, 3000.0])}


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_zero_paths_are_refused_at_the_entry_naming_the_paths(mechanism: str) -> None:
    params = {
        "cross": {"liquidation_threshold": [0.825, 0.7], "liquidation_bonus": [0.05, 0.08]},
        "compound-v3-accounts": {
            "borrow_collateral_factor": [0.8, 0.6],
            "liquidate_collateral_factor": [0.85, 0.7],
            "liquidation_factor": [0.93, 0.9],
        },
    }.get(mechanism, {})
    with pytest.raises(EngineError, match=r"prices has no paths \(M = 0\)"):
        api.run(mechanism, params, _book(mechanism), _prices(mechanism, 0), None)


@pytest.mark.parametrize("mod", [aave, compound, maker, perp], ids=["aave", "compound", "maker", "perp"])
def test_zero_paths_are_refused_by_each_simulate(mod) -> None:
    name = {aave: "aave-v3", compound: "compound-v3", maker: "maker-clip", perp: "perp"}[mod]
    book = mod.book_from_arrays(_book(name))
    with pytest.raises(EngineError, match="no paths"):
        mod.simulate(mod.Params(), book, np.zeros((0, 4)), MarketConditions())


def test_zero_paths_are_refused_by_cross_simulate() -> None:
    params = cross.Params(liquidation_threshold=(0.825, 0.7), liquidation_bonus=(0.05, 0.08))
    book = cross.book_from_arrays(_book("cross"))
    with pytest.raises(EngineError, match="no paths"):
        cross.simulate(params, book, np.zeros((2, 0, 4)), MarketConditions())


def test_ragged_price_lists_name_the_paths_and_their_lengths() -> None:
    book = _book("aave-v3")
    with pytest.raises(EngineError, match="path 0 has 3 prices, path 1 has 2"):
        api.run("aave-v3", {}, book, [[2000.0, 1900.0, 1800.0], [2000.0, 1900.0]], None)
    with pytest.raises(EngineError, match="path 0 has 3 prices, path 1 has 2"):
        aave.simulate(
            aave.Params(), aave.book_from_arrays(book), [[1.0, 2.0, 3.0], [1.0, 2.0]], MarketConditions()
        )
    with pytest.raises(EngineError, match="prices must be numbers"):
        api.run("aave-v3", {}, book, [["a", "b"]], None)


@pytest.mark.parametrize("chunk", [0, -1, 2.5, "10", True, float("nan"), float("inf")])
def test_every_chunk_paths_value_is_checked_whatever_the_number_of_paths(chunk) -> None:
    # chunk_paths larger than the number of paths used to skip the check
    with pytest.raises(EngineError, match="chunk_paths must be a whole number >= 1 or None"):
        api.run("aave-v3", {}, _book("aave-v3"), _prices("aave-v3", 2), None, chunk_paths=chunk)


def test_whole_chunk_paths_values_are_accepted() -> None:
    whole = api.run("aave-v3", {}, _book("aave-v3"), _prices("aave-v3", 3), None)
    for chunk in (1, 3, 100, 2.0, np.int64(2)):
        r = api.run("aave-v3", {}, _book("aave-v3"), _prices("aave-v3", 3), None, chunk_paths=chunk)
        assert np.array_equal(r.per_path_array, whole.per_path_array)


def test_numbers_written_as_text_are_converted_at_the_dataclass() -> None:
    p = aave.Params(liquidation_threshold="0.825", close_factor="0.5", ltv=" 0.8 ")
    assert p.liquidation_threshold == 0.825 and isinstance(p.liquidation_threshold, float)
    assert p.close_factor == 0.5 and isinstance(p.close_factor, float)
    assert p == aave.Params(liquidation_threshold=0.825, close_factor=0.5, ltv=0.8)
    assert cross.Params(liquidation_threshold=["0.8"], liquidation_bonus=("0.05",)).liquidation_threshold == (
        0.8,
    )
    assert Oracle(latency="2", heartbeat=3.0) == Oracle(latency=2, heartbeat=3)
    assert maker.Params(tail="8400").tail == 8400.0
    assert compound.Params(liquidation_factor="0.95").liquidation_factor == 0.95


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: aave.Params(liquidation_threshold="0,825"), "liquidation_threshold"),
        (lambda: aave.Params(close_factor=None), "close_factor"),
        (lambda: aave.Params(liquidation_bonus=True), "liquidation_bonus"),
        (lambda: compound.Params(store_front_price_factor="sixty"), "store_front_price_factor"),
        (lambda: maker.Params(chop=[1.13]), "chop"),
        (lambda: perp.Params(tier_mmf="0.05"), "tier_mmf"),
        (lambda: perp.Params(tier_mmf=("0.05", "x")), r"tier_mmf\[1\]"),
        (lambda: cross.Params(close_factor="half"), "close_factor"),
        (lambda: Oracle(latency="1.5"), "latency"),
        (lambda: Liquidity(depth_usd="deep"), "depth_usd"),
        (lambda: Liquidators(gas_cost_usd="5 USD"), "gas_cost_usd"),
        (lambda: DynamicThreshold(k_vol="x"), "k_vol"),
    ],
)
def test_text_that_is_no_number_is_refused_naming_the_field(make, name: str) -> None:
    with pytest.raises(EngineError, match=name):
        make()


def test_params_from_dict_converts_json_text() -> None:
    assert aave.params_from_dict(
        {"liquidation_threshold": "0.8", "liquidation_bonus": "0.06"}
    ) == aave.Params(liquidation_threshold=0.8, liquidation_bonus=0.06)
