"""Invariants of the Aave mechanism over random books, paths, parameters and markets (hypothesis)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import aave
from engine._common import FIELD_INDEX as F
from engine._common import next_impact, sale_slippage
from engine.market import DynamicThreshold, Liquidators, Liquidity, MarketConditions, Oracle

SETTINGS = settings(max_examples=60, deadline=None)
DYN = DynamicThreshold(k_vol=1.0, horizon_steps=24.0, ewma_lambda=0.8, floor=0.3)


@st.composite
def cases(draw, *, rational=None, push=None, dynamic=True):
    """A random book (N <= 30), a few paths (T <= 30) with drops and rebounds, params, market."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(1, 30))
    m = draw(st.integers(1, 4))
    t = draw(st.integers(1, 30))
    lt = draw(st.floats(0.3, 0.9))
    bonus = draw(st.floats(0.01, min(0.2, (1.0 / lt - 1.0) * (1 - 1e-9))))
    params = aave.Params(
        ltv=lt * 0.9,
        liquidation_threshold=lt,
        liquidation_bonus=bonus,
        close_factor=draw(st.floats(0.1, 1.0)),
        full_close_hf=draw(st.floats(0.5, 1.0)),
        protocol_fee=draw(st.floats(0.0, 0.5)),
        small_position_usd=draw(st.sampled_from([0.0, 2000.0])),
        dynamic=draw(st.sampled_from([None, DYN])) if dynamic else None,
    )
    d = rng.lognormal(8.0, 1.5, n) * (rng.random(n) > 0.1)
    hf = 1.0 + rng.exponential(0.3, n)
    c = hf * np.maximum(d, 1.0) / (100.0 * lt)
    vol = draw(st.floats(0.0, 0.2))
    steps = rng.normal(draw(st.floats(-0.05, 0.01)), vol, (m, t))
    prices = 100.0 * np.exp(np.hstack([np.zeros((m, 1)), np.cumsum(steps, axis=1)]))
    is_push = draw(st.booleans()) if push is None else push
    market = MarketConditions(
        oracle=Oracle(
            latency=draw(st.integers(0, 3)),
            deviation=0.02 if is_push else 0.0,
            heartbeat=draw(st.integers(0, 5)),
        ),
        liquidity=Liquidity(
            depth_usd=draw(st.sampled_from([1e4, 1e6, np.inf])),
            k=draw(st.floats(0.0, 2.0)),
            model=draw(st.sampled_from(["linear", "sqrt"])),
            max_step_impact=draw(st.floats(0.0, 0.9)),
        ),
        liquidators=Liquidators(
            rational=draw(st.booleans()) if rational is None else rational,
            gas_cost_usd=draw(st.floats(0.0, 50.0)),
            gas_spike=draw(st.floats(0.0, 5.0)),
        ),
    )
    return params, aave.Book(c, d), prices, market


@SETTINGS
@given(cases())
def test_collateral_is_conserved_between_borrowers_liquidators_and_protocol(case) -> None:
    params, book, prices, market = case
    r = aave.simulate_detail(params, book, prices, market)
    total = r["collateral"].sum(axis=1) + r["to_liquidators"] + r["to_protocol"]
    np.testing.assert_allclose(total, book.collateral.sum(), rtol=1e-12, atol=1e-12)
    assert np.all(r["collateral"] >= 0) and np.all(r["to_protocol"] >= 0)


@SETTINGS
@given(cases())
def test_debt_never_goes_negative_nor_grows(case) -> None:
    params, book, prices, market = case
    r = aave.simulate_detail(params, book, prices, market)
    assert np.all(r["debt"] >= 0)
    assert np.all(r["debt"] <= book.debt[None, :])
    # debt repaid plus bad debt written off is exactly the debt that left the book
    gone = book.debt.sum() - r["debt"].sum(axis=1)
    per = r["per_path"]
    np.testing.assert_allclose(per[:, F["liq_volume"]] + per[:, F["bad_debt"]], gone, rtol=1e-9, atol=1e-6)


@SETTINGS
@given(cases())
def test_bad_debt_appears_only_when_some_collateral_is_exhausted(case) -> None:
    params, book, prices, market = case
    r = aave.simulate_detail(params, book, prices, market)
    had_debt = book.debt > 0
    exhausted = (r["collateral"] == 0) & (r["debt"] == 0) & had_debt[None, :]
    bad = r["per_path"][:, F["bad_debt"]]
    for m in range(bad.size):
        if bad[m] > 0:
            assert exhausted[m].any()
            assert bad[m] <= book.debt[exhausted[m]].sum() * (1 + 1e-12)
        # an open position always keeps collateral
        open_ = r["debt"][m] > 0
        assert np.all(r["collateral"][m][open_] > 0)


def first_liquidation_step(params, book, prices, market) -> np.ndarray:
    """Per path, the first step with a liquidation (T when none): runs on truncated horizons."""
    m, t = prices.shape[0], prices.shape[1] - 1
    first = np.full(m, t)
    for h in range(1, t + 1):
        n = aave.simulate(params, book, prices[:, : h + 1], market)[:, F["n_liq"]]
        first = np.where((n > 0) & (first == t), h - 1, first)
    return first


@SETTINGS
@given(cases(rational=False, push=False, dynamic=False), st.floats(0.0, 0.2))
def test_raising_lt_never_adds_liquidations_up_to_its_first_liquidation(case, raise_by) -> None:
    """Raising LT raises every health factor ``c * o * LT / d``, so it can only delay
    liquidations. Precisely, with liquidators that always act and a latency oracle: let t* be
    the first step in which the HIGHER LT liquidates anything; through t*, the lower LT has made
    at least as many liquidations. Why: before t* nothing was sold under the higher LT, so its
    prices are S exactly, while the lower LT's prices are S times an impact factor <= 1; at t*
    every position liquidated under the higher LT is, under the lower LT, either already touched
    (liquidated before) or untouched with a health factor no higher, since
    fl(c * fl(o * LT) / d) is monotone in o and LT. Over a whole path the count is NOT monotone
    (an earlier full close can replace several later partial liquidations, and impact feeds
    back), which is why the property stops at t*."""
    params, book, prices, market = case
    cap = (1.0 / (1.0 + params.liquidation_bonus)) * (1 - 1e-12)
    hi_lt = max(params.liquidation_threshold, min(params.liquidation_threshold + raise_by, cap))
    higher = aave.Params(
        ltv=params.ltv,
        liquidation_threshold=hi_lt,
        liquidation_bonus=params.liquidation_bonus,
        close_factor=params.close_factor,
        full_close_hf=params.full_close_hf,
        protocol_fee=params.protocol_fee,
        small_position_usd=params.small_position_usd,
    )
    first = first_liquidation_step(higher, book, prices, market)
    for m in range(prices.shape[0]):
        if first[m] == prices.shape[1] - 1:
            continue
        cut = prices[m : m + 1, : first[m] + 2]
        lower_n = aave.simulate(params, book, cut, market)[0, F["n_liq"]]
        higher_n = aave.simulate(higher, book, cut, market)[0, F["n_liq"]]
        assert higher_n >= 1 and lower_n >= higher_n


@SETTINGS
@given(
    st.floats(0.0, 1e9),
    st.floats(0.0, 1e9),
    st.floats(1.0, 1e9),
    st.floats(1.0, 1e9),
    st.floats(0.0, 3.0),
    st.booleans(),
    st.floats(0.0, 0.99),
)
def test_more_depth_never_increases_impact_of_a_sale(v1, v2, depth1, depth2, k, sqrt_model, floor) -> None:
    lo_depth, hi_depth = sorted((depth1, depth2))
    v_small, v_big = sorted((v1, v2))

    def j(v, depth):
        return next_impact(1.0, v, k, depth, k / depth, sqrt_model, floor)

    assert j(v_big, hi_depth) >= j(v_big, lo_depth)
    assert j(v_small, lo_depth) >= j(v_big, lo_depth)
    assert sale_slippage(v_big, k, hi_depth, k / hi_depth, sqrt_model, floor) <= sale_slippage(
        v_big, k, lo_depth, k / lo_depth, sqrt_model, floor
    )


@SETTINGS
@given(cases(rational=False, push=False, dynamic=False), st.floats(1.0, 100.0))
def test_more_depth_leaves_a_higher_price_after_the_first_liquidation_step(case, deeper_by) -> None:
    """Same market but ``deeper_by`` times the depth: until the first liquidation both runs see
    the same prices and sell the same collateral in it, so the deeper market ends that step at
    a price no lower."""
    params, book, prices, market = case
    deep = MarketConditions(
        oracle=market.oracle,
        liquidators=market.liquidators,
        liquidity=Liquidity(
            depth_usd=market.liquidity.depth_usd * deeper_by,
            k=market.liquidity.k,
            model=market.liquidity.model,
            max_step_impact=market.liquidity.max_step_impact,
        ),
    )
    first = first_liquidation_step(params, book, prices, market)
    for m in range(prices.shape[0]):
        if first[m] == prices.shape[1] - 1:
            continue
        cut = prices[m : m + 1, : first[m] + 2]
        shallow_p = aave.simulate(params, book, cut, market)[0, F["final_price"]]
        deep_p = aave.simulate(params, book, cut, deep)[0, F["final_price"]]
        assert deep_p >= shallow_p


@SETTINGS
@given(cases(), st.integers(1, 3))
def test_paths_run_alone_give_their_rows_bit_for_bit(case, a) -> None:
    params, book, prices, market = case
    whole = aave.simulate(params, book, prices, market)
    a = min(a, prices.shape[0])
    # a run of no paths is refused (tests/engine/test_bad_input.py), so split into non-empty parts
    if a > 0:
        assert np.array_equal(whole[:a], aave.simulate(params, book, prices[:a], market))
    if a < prices.shape[0]:
        assert np.array_equal(whole[a:], aave.simulate(params, book, prices[a:], market))
