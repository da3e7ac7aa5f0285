"""Per-step series recorded by every mechanism's kernel (``simulate(..., record_steps=...)``)."""

import numpy as np
import pytest

from engine import aave, aave_v4, api, books, comet, compound, cross, maker, morpho, perp
from engine._common import FIELD_INDEX, SERIES_FIELDS
from engine.errors import EngineError
from engine.market import Liquidators, Liquidity, MarketConditions

F = FIELD_INDEX
M, T = 7, 120
MARKET = MarketConditions(liquidity=Liquidity(depth_usd=2e7), liquidators=Liquidators(gas_cost_usd=2.0))


def _paths(rng: np.random.Generator, m: int = M, p0: float = 2000.0) -> np.ndarray:
    """Falling paths with a -30 % gap at step 60, so that every mechanism liquidates and loses."""
    r = rng.normal(-0.004, 0.03, (m, T))
    r[:, 59] -= 0.36
    return p0 * np.exp(np.hstack([np.zeros((m, 1)), np.cumsum(r, axis=1)]))


def _lending_book(
    rng: np.random.Generator, n: int = 300, p0: float = 2000.0
) -> tuple[np.ndarray, np.ndarray]:
    d = rng.lognormal(9.0, 1.0, n)
    c = d / (p0 * rng.uniform(0.3, 0.8, n))
    return c, d


def _case(name: str):
    """(module, params, book, prices, market) with liquidations and bad debt on every path set."""
    rng = np.random.default_rng(2024)
    if name == "aave-v3":
        c, d = _lending_book(rng)
        return aave, aave.Params(liquidation_threshold=0.825, ltv=0.8), aave.Book(c, d), _paths(rng), MARKET
    if name == "aave-v4":
        c, d = _lending_book(rng)
        return aave_v4, aave_v4.Params(collateral_factor=0.8), aave_v4.Book(c, d), _paths(rng), MARKET
    if name == "compound-v3":
        c, d = _lending_book(rng)
        params = compound.Params(
            borrow_collateral_factor=0.8, liquidate_collateral_factor=0.85, target_reserves=1e6
        )
        return compound, params, compound.Book(c, d), _paths(rng), MARKET
    if name == "maker-clip":
        c, d = _lending_book(rng)
        params = maker.Params(
            mat=1.45, chop=1.13, buf=1.2, cut=0.99, step=90.0, tail=8400.0, cusp=0.4, hole=1e8, dust=100.0
        )
        return maker, params, maker.Book(ink=c * 1.8, debt=d), _paths(rng), MARKET
    if name == "morpho-blue":
        c, d = _lending_book(rng)
        return morpho, morpho.Params(lltv=0.86), morpho.Book(c, d), _paths(rng), MARKET
    if name == "perp":
        params = perp.Params(
            tier_floors=(0.0, 10_000.0, 50_000.0),
            tier_imf=(0.025, 0.04, 0.10),
            tier_mmf=(0.0125, 0.02, 0.05),
            liquidation_fee=0.01,
            keeper_share=0.5,
        )
        # liquidators who always act: a gap leaves negative equity (bad debt) behind
        always = MarketConditions(liquidity=Liquidity(depth_usd=2e7), liquidators=Liquidators(rational=False))
        return perp, params, perp.synthetic_book(params, 300, 2000.0, rng), _paths(rng), always
    if name == "compound-v3-accounts":
        params = comet.Params(
            borrow_collateral_factor=(0.8, 0.6),
            liquidate_collateral_factor=(0.85, 0.7),
            liquidation_factor=(0.93, 0.9),
            target_reserves=1e6,
        )
        prices = np.stack([_paths(rng), _paths(rng, p0=30.0)])
        rows = books.cross_book(
            300, rng=rng, prices=prices[:, 0, 0], thresholds=np.array([0.85, 0.7]), h_min=1.02, h_median=1.3
        )
        return comet, params, comet.book_from_arrays(rows), prices, MARKET
    params = cross.Params(liquidation_threshold=(0.8, 0.7), liquidation_bonus=(0.05, 0.10))
    prices = np.stack([_paths(rng), _paths(rng, p0=30.0)])
    return cross, params, cross.synthetic_book(params, 300, prices[:, 0, 0], rng), prices, MARKET


NAMES = sorted(api.MECHANISMS)


def _path_axis(prices: np.ndarray) -> int:
    return prices.ndim - 2


def _take(prices: np.ndarray, rows: slice) -> np.ndarray:
    return np.ascontiguousarray(prices[..., rows, :])


def _start_price(prices: np.ndarray) -> np.ndarray:
    """S at step 0 of every path (cross: the first asset, as ``final_price``)."""
    return prices[0, :, 0] if prices.ndim == 3 else prices[:, 0]


@pytest.fixture(scope="module", params=NAMES)
def recorded(request):
    mod, params, book, prices, market = _case(request.param)
    rec = np.unique(np.r_[np.linspace(0, T, 13).astype(np.int64), [58, 59, 60, 61]])
    plain = mod.simulate(params, book, prices, market)
    per_path, series = mod.simulate(params, book, prices, market, record_steps=rec)
    return request.param, mod, params, book, prices, market, rec, plain, per_path, series


def test_the_cases_liquidate_and_leave_bad_debt_so_that_the_checks_mean_something(recorded) -> None:
    name, *_, plain, per_path, series = recorded
    assert np.all(plain[:, F["liq_volume"]] > 0), name
    assert np.any(plain[:, F["bad_debt"]] > 0), name


def test_recording_leaves_the_per_path_results_unchanged_bit_for_bit(recorded) -> None:
    name, *_, plain, per_path, series = recorded
    assert np.array_equal(plain, per_path), name


def test_the_series_have_one_row_per_path_and_one_column_per_recorded_step(recorded) -> None:
    name, *_, rec, plain, per_path, series = recorded
    assert sorted(series) == sorted(SERIES_FIELDS)
    for key, a in series.items():
        assert a.shape == (M, rec.shape[0]) and a.dtype == np.float64, (name, key)


def test_the_last_recorded_step_equals_the_per_path_totals(recorded) -> None:
    name, *_, rec, plain, per_path, series = recorded
    assert rec[-1] == T
    np.testing.assert_allclose(series["liq_volume_cum"][:, -1], per_path[:, F["liq_volume"]], rtol=1e-12)
    np.testing.assert_allclose(series["bad_debt_cum"][:, -1], per_path[:, F["bad_debt"]], rtol=1e-12)
    np.testing.assert_allclose(series["market_price"][:, -1], per_path[:, F["final_price"]], rtol=1e-15)


def test_cumulative_series_never_decrease(recorded) -> None:
    name, *_, series = recorded
    for key in ("liq_volume_cum", "bad_debt_cum"):
        a = series[key]
        assert np.all(a >= 0.0) and np.all(np.diff(a, axis=1) >= 0.0), (name, key)
    # the crash at step 60 is where the losses start: recorded before and after it
    assert np.any(series["liq_volume_cum"][:, -1] > series["liq_volume_cum"][:, 0]), name


def test_market_price_at_step_zero_is_the_exogenous_start_price(recorded) -> None:
    name, mod, params, book, prices, market, rec, plain, per_path, series = recorded
    assert rec[0] == 0
    assert np.array_equal(series["market_price"][:, 0], _start_price(prices)), name


def test_a_recorded_step_holds_what_a_run_stopped_right_after_it_reports(recorded) -> None:
    # A run on prices[..., :s + 2] simulates steps 0..s and has s + 1 as its horizon, so its
    # totals are the cumulative figures at the end of step s, and its final price is the
    # market price at step s + 1.
    name, mod, params, book, prices, market, rec, plain, per_path, series = recorded
    for col, s in enumerate(rec):
        if s >= T:
            continue
        short = mod.simulate(params, book, np.ascontiguousarray(prices[..., : s + 2]), market)
        assert np.array_equal(series["liq_volume_cum"][:, col], short[:, F["liq_volume"]]), (name, s)
        assert np.array_equal(series["bad_debt_cum"][:, col], short[:, F["bad_debt"]]), (name, s)
        nxt = np.searchsorted(rec, s + 1)
        if nxt < rec.shape[0] and rec[nxt] == s + 1:
            assert np.array_equal(series["market_price"][:, nxt], short[:, F["final_price"]]), (name, s)


def test_rows_of_a_block_of_paths_equal_the_run_of_those_paths_alone(recorded) -> None:
    name, mod, params, book, prices, market, rec, plain, per_path, series = recorded
    part, ser_part = mod.simulate(params, book, _take(prices, slice(2, 5)), market, record_steps=rec)
    assert np.array_equal(part, per_path[2:5]), name
    for key in SERIES_FIELDS:
        assert np.array_equal(ser_part[key], series[key][2:5]), (name, key)


def test_api_run_exposes_the_series_and_chunking_keeps_them_bit_for_bit(recorded) -> None:
    name, mod, params, book, prices, market, rec, plain, per_path, series = recorded
    whole = api.run(name, params, book, prices, market, record_steps=rec)
    chunked = api.run(name, params, book, prices, market, record_steps=rec, chunk_paths=3)
    without = api.run(name, params, book, prices, market)
    assert without.series is None
    assert np.array_equal(whole.per_path_array, without.per_path_array)
    assert np.array_equal(chunked.per_path_array, without.per_path_array)
    assert np.array_equal(whole.record_steps, rec)
    for key in SERIES_FIELDS:
        assert np.array_equal(whole.series[key], series[key]), (name, key)
        assert np.array_equal(chunked.series[key], series[key]), (name, key)


def test_repeated_steps_are_each_recorded_and_no_steps_record_nothing() -> None:
    mod, params, book, prices, market = _case("aave-v3")
    rec = np.array([0, 0, 61, 61, T, T], np.int64)
    _, ser = mod.simulate(params, book, prices, MARKET, record_steps=rec)
    for key in SERIES_FIELDS:
        a = ser[key]
        assert np.array_equal(a[:, 0::2], a[:, 1::2]), key
    out, ser = mod.simulate(params, book, prices, MARKET, record_steps=np.zeros(0, np.int64))
    assert np.array_equal(out, mod.simulate(params, book, prices, MARKET))
    assert all(a.shape == (M, 0) for a in ser.values())


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([0, T + 1]), r"record_steps must be sorted steps in \[0, 120\]; got 0\.\.121"),
        (np.array([-1, 3]), r"record_steps must be sorted steps in \[0, 120\]; got -1\.\.3"),
        (np.array([5, 3]), r"record_steps must be sorted steps in \[0, 120\]; got 3\.\.5 unsorted"),
        (np.array([0.0, 1.0]), r"record_steps must be a 1-d array of integer steps; got dtype float64"),
    ],
)
def test_bad_record_steps_are_rejected_naming_the_allowed_range(bad: np.ndarray, message: str) -> None:
    mod, params, book, prices, market = _case("aave-v3")
    with pytest.raises(EngineError, match=message):
        mod.simulate(params, book, prices, MARKET, record_steps=bad)
