"""Filing liquidatable-but-unprofitable positions changes no result (engine/_stuck.py).

The Aave kernel no longer re-examines every stuck position at every step: it files them by key
and by collateral and examines only those whose health may have changed or whose liquidation
may pay. ``full_scan=True`` keeps the previous algorithm (every stuck position re-examined every
step), and every output must equal it bit for bit: per-path results (``n_unprofitable`` counts
a position once, the first time it is stuck), per-step series, final balances and the units the
liquidators and the treasury received (summed in candidate order, so the order in which stuck
positions are examined must be the previous one too).
"""

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import aave, books, cross, perp
from engine.market import DynamicThreshold, Liquidators, Liquidity, MarketConditions, Oracle
from engine.scenarios import generate, synthetic_pack

CRASH = "-45 % shock, thin depth, gas spike, slow oracle"
STEPS = np.array([0, 1, 2, 5, 50, 100, 199, 200, 400, 719, 720], dtype=np.int64)


def _same(a, b) -> bool:
    """Bit for bit, arrays or dicts of arrays (a detail view's ``extras``)."""
    if isinstance(a, dict):
        return set(a) == set(b) and all(_same(a[k], b[k]) for k in a)
    return a.tobytes() == b.tobytes()


def assert_same_runs(
    params: aave.Params, book: aave.Book, prices: np.ndarray, market: MarketConditions
) -> None:
    """Screened and full-scan runs give the same bytes in every output."""
    steps = STEPS[STEPS <= prices.shape[1] - 1]
    per, ser = aave.simulate(params, book, prices, market, record_steps=steps)
    ref, ref_ser = aave.simulate(params, book, prices, market, record_steps=steps, full_scan=True)
    assert per.tobytes() == ref.tobytes()
    for name in ref_ser:
        assert ser[name].tobytes() == ref_ser[name].tobytes(), name
    pos = aave.simulate_detail(params, book, prices[:8], market)
    ref_pos = aave.simulate_detail(params, book, prices[:8], market, full_scan=True)
    for name in ref_pos:
        assert pos[name].tobytes() == ref_pos[name].tobytes(), name


def demo_crash(n_paths: int) -> tuple[aave.Params, aave.Book, np.ndarray, MarketConditions]:
    """The demo Aave market (seed_demo: 5,000 positions, LT 0.83) in its pack's crash scenario."""
    arrays = books.synthetic_book(
        "aave-v3", 5000, rng=np.random.default_rng(20240805), price=3000.0, threshold=0.83, total_debt_usd=1e8
    )
    spec = next(s for s in synthetic_pack("ETHUSD", start_price=3000.0, depth_usd=5e8) if s["name"] == CRASH)
    paths = generate(spec, history=None, n_paths=n_paths, rng=np.random.default_rng([20240805, 0, 5, 0]))
    params = aave.Params(ltv=0.805, liquidation_threshold=0.83, liquidation_bonus=0.05, protocol_fee=0.10)
    return params, aave.book_from_arrays(arrays), np.ascontiguousarray(paths.prices), paths.conditions


def test_crash_scenario_on_the_demo_book_equals_the_full_scan_bit_for_bit() -> None:
    params, book, prices, market = demo_crash(32)
    per = aave.simulate(params, book, prices, market)
    # The setting is the slow one: thousands of positions a path liquidatable but unprofitable.
    assert per[:, 10].mean() > 2000 and per[:, 2].mean() > 1000
    assert_same_runs(params, book, prices, market)


def test_crash_variants_equal_the_full_scan_bit_for_bit() -> None:
    params, book, prices, market = demo_crash(24)
    liq = market.liquidity
    variants = [
        (params, replace(market, liquidity=replace(liq, model="sqrt", k=0.3))),
        (params, replace(market, liquidity=replace(liq, max_step_impact=0.02))),
        (params, replace(market, liquidity=replace(liq, model="sqrt", k=2.0, max_step_impact=0.05))),
        (replace(params, small_position_usd=2000.0), market),
        (replace(params, protocol_fee=0.0, full_close_hf=0.97), market),
        (params, replace(market, oracle=Oracle(latency=2, deviation=0.01, heartbeat=12))),
        (replace(params, dynamic=DynamicThreshold(k_vol=0.5, floor=0.6)), market),
        (params, replace(market, liquidators=Liquidators(gas_cost_usd=0.0))),
        (params, replace(market, liquidators=Liquidators(gas_cost_usd=400.0, gas_spike=20.0))),
    ]
    for p, m in variants:
        assert_same_runs(p, book, prices, m)


def ulps(x: float, k: int) -> np.ndarray:
    """x and its k neighbours on each side, one ulp apart."""
    out = [x]
    for _ in range(k):
        out.append(np.nextafter(out[-1], np.inf))
        out.insert(0, np.nextafter(out[0], 0.0))
    return np.array(out)


def pays_at_start(c: float, price: float, params: aave.Params, gas: float, liq: Liquidity) -> bool:
    """The kernel's decision, in the same float operations, for a capped seizure of ``c`` units
    at oracle = market price = ``price`` (engine.aave._kernel and engine._common)."""
    opb = 1.0 + params.liquidation_bonus
    repay = c * price / opb
    fee = (c - c / opb) * params.protocol_fee if params.protocol_fee > 0.0 else 0.0
    value = (c - fee) * price
    if liq.model == "sqrt":
        slip = liq.k * math.sqrt(value / liq.depth_usd)
    else:
        slip = (liq.k / liq.depth_usd) * value
    slip = min(slip, 1.0 - (1.0 - liq.max_step_impact))
    return value * (1.0 - slip) - repay - gas > 0.0


def smallest_paying(price: float, params: aave.Params, gas: float, liq: Liquidity) -> float:
    """The smallest collateral whose capped liquidation pays at the start (bisection on floats)."""
    lo, hi = 0.0, 1.0
    while not pays_at_start(hi, price, params, gas, liq):
        lo, hi = hi, hi * 2.0
    while np.nextafter(lo, np.inf) < hi:
        mid = lo + (hi - lo) / 2.0
        if mid <= lo or mid >= hi:
            break
        lo, hi = (lo, mid) if pays_at_start(mid, price, params, gas, liq) else (mid, hi)
    return hi


def edge_book(
    price: float, params: aave.Params, gas: float, liq: Liquidity, exit_price: float | None = None
) -> aave.Book:
    """Positions around every boundary of the decision at the first step's prices.

    - profitability: capped seizures (h = 0.8 < LT * (1 + b)) on a grid of 1-ulp steps around
      the smallest collateral whose liquidation pays, and at a few multiples of it;
    - full close: ``h`` on and around ``full_close_hf`` (computed as the kernel does);
    - small-position rule: collateral and debt around ``small_position_usd``;
    - too large: sales whose slippage eats the bonus; collateral 0 with debt (stuck for good);
    - healthy again: small (unprofitable) positions whose ``h`` is 1 on a grid of ulps at the
      oracle price ``exit_price``, which the paths reach again after the fall.
    """
    lt = params.liquidation_threshold
    c_pay = smallest_paying(price, params, gas, liq)
    cs = np.concatenate([ulps(c_pay, 6), [c_pay * f for f in (0.5, 0.9, 0.99, 1.01, 1.1, 2.0, 3.0)]])
    ds = cs * price * lt / 0.8
    # h = c * price * lt / d around full_close_hf: c and d on grids of ulps, and the pairs
    # that land on it exactly as the kernel computes h.
    c_f = ulps(50.0, 40)
    q = price * lt
    d_f = c_f * q / params.full_close_hf
    hit = [
        (c, d)
        for c in c_f
        for d in ulps(c * q / params.full_close_hf, 3)
        if c * q / d == params.full_close_hf
    ]
    c_f = np.concatenate([c_f, [c for c, _ in hit[:5]]])
    d_f = np.concatenate([d_f, [d for _, d in hit[:5]]])
    small = params.small_position_usd or 2000.0
    c_s = np.array([small / price * f for f in (0.98, 0.999, 1.0, 1.001, 1.02)])
    d_s = c_s * price * lt / 0.97
    big = np.array([min(liq.depth_usd, 1e7) / price * f for f in (0.05, 0.2, 1.0, 3.0)])
    c_e = np.empty(0)
    d_e = np.empty(0)
    if exit_price is not None:
        c = 0.5 * c_pay
        d_e = ulps(c * (exit_price * lt), 4)
        c_e = np.full(d_e.size, c)
    collateral = np.concatenate([cs, c_f, c_s, big, [0.0], c_e])
    debt = np.concatenate([ds, d_f, d_s, big * price * lt / 0.9, [1000.0], d_e])
    return aave.Book(collateral, debt)


def edge_paths(price: float, rng: np.random.Generator, n: int, steps: int) -> np.ndarray:
    """Paths that stay flat first (the boundaries hold at the start), then rise one ulp a step (the
    smallest paying collateral falls through the ulp grid of stuck positions one step at a time),
    then fall, recover above the liquidation prices (stuck positions become healthy) and fall
    again; path 0 exactly so, the others with noise."""
    rise = ulps(price, 20)[20:] / price
    shape = np.concatenate(
        [
            np.ones(5),
            rise,
            np.linspace(rise[-1], 0.8, 20),
            np.linspace(0.8, 1.1, 30),
            np.linspace(1.1, 0.7, 30),
        ]
    )
    shape = np.concatenate([shape, np.full(steps + 1 - shape.size, 0.7)])
    noise = np.exp(np.cumsum(rng.normal(0.0, 0.01, (n, steps + 1)), axis=1))
    noise[0] = 1.0
    return price * shape[None, :] * noise


def test_hand_made_boundaries_equal_the_full_scan_bit_for_bit() -> None:
    price = 2000.0
    rng = np.random.default_rng(3)
    prices = edge_paths(price, rng, 12, 150)
    liquidity = (
        Liquidity(depth_usd=2e6),
        Liquidity(depth_usd=2e6, k=0.5, model="sqrt"),
        Liquidity(depth_usd=2e6, max_step_impact=0.01),
        Liquidity(),  # infinite depth: no slippage, no impact, so the flat and rising steps are exact
    )
    for liq in liquidity:
        for params in (
            aave.Params(protocol_fee=0.1),
            aave.Params(protocol_fee=0.0, liquidation_bonus=0.1, liquidation_threshold=0.8),
            aave.Params(small_position_usd=2000.0),
        ):
            gas = 25.0
            # The rise after the fall passes this price at one step on path 0.
            book = edge_book(price, params, gas, liq, exit_price=float(prices[0, 60]))
            c_pay = smallest_paying(price, params, gas, liq)
            assert not pays_at_start(np.nextafter(c_pay, 0.0), price, params, gas, liq)
            for latency in (0, 2):
                market = MarketConditions(
                    oracle=Oracle(latency=latency),
                    liquidity=liq,
                    liquidators=Liquidators(gas_cost_usd=gas, gas_spike=3.0),
                )
                assert_same_runs(params, book, prices, market)


def test_edge_book_reaches_the_boundaries_it_is_meant_to() -> None:
    # The book above puts a health factor exactly on full_close_hf and one collateral on the
    # small-position threshold, computed as the kernel does; otherwise the test would miss them.
    price = 2000.0
    params = aave.Params(small_position_usd=2000.0)
    liq = Liquidity(depth_usd=2e6)
    book = edge_book(price, params, 25.0, liq)
    q = price * params.liquidation_threshold
    h = book.collateral * q / book.debt
    assert np.any(h == params.full_close_hf)
    assert np.any(book.collateral * price == 2000.0)
    # The first paying collateral is in the book, and the one an ulp below it does not pay.
    c_pay = smallest_paying(price, params, 25.0, liq)
    assert pays_at_start(c_pay, price, params, 25.0, liq)
    assert c_pay in book.collateral and np.nextafter(c_pay, 0.0) in book.collateral
    one = aave.simulate(
        params,
        aave.Book(np.array([c_pay]), np.array([c_pay * q / 0.8])),
        np.full((1, 2), price),
        MarketConditions(liquidity=liq, liquidators=Liquidators(gas_cost_usd=25.0)),
    )
    assert one[0, 2] == 1.0
    below = np.nextafter(c_pay, 0.0)
    one = aave.simulate(
        params,
        aave.Book(np.array([below]), np.array([below * q / 0.8])),
        np.full((1, 2), price),
        MarketConditions(liquidity=liq, liquidators=Liquidators(gas_cost_usd=25.0)),
    )
    assert one[0, 2] == 0.0 and one[0, 10] == 1.0


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 60),
    latency=st.integers(0, 3),
    model=st.sampled_from(["linear", "sqrt"]),
    max_impact=st.sampled_from([0.01, 0.1, 0.5]),
    gas=st.sampled_from([0.0, 5.0, 80.0]),
    spike=st.sampled_from([0.0, 5.0]),
    fee=st.sampled_from([0.0, 0.1]),
    small=st.sampled_from([0.0, 2000.0]),
)
def test_random_books_equal_the_full_scan_bit_for_bit(
    seed: int,
    n: int,
    latency: int,
    model: str,
    max_impact: float,
    gas: float,
    spike: float,
    fee: float,
    small: float,
) -> None:
    rng = np.random.default_rng(seed)
    debt = np.exp(rng.normal(8.0, 2.0, n))
    h = 1.0 + rng.exponential(0.3, n)
    book = aave.Book(h * debt / (2000.0 * 0.825), debt)
    steps = 120
    prices = 2000.0 * np.exp(np.cumsum(rng.normal(-0.004, 0.03, (6, steps + 1)), axis=1))
    prices[:, 0] = 2000.0
    params = aave.Params(protocol_fee=fee, small_position_usd=small)
    market = MarketConditions(
        oracle=Oracle(latency=latency),
        liquidity=Liquidity(depth_usd=float(debt.sum()) * 0.5, model=model, max_step_impact=max_impact),
        liquidators=Liquidators(gas_cost_usd=gas, gas_spike=spike),
    )
    assert_same_runs(params, book, prices, market)


# Cross-collateral accounts and perpetuals keep their active lists (their sums run in list
# order), and skip, within the pass, the positions counted unprofitable before whose size
# provably cannot pay: the same outputs as re-examining them, bit for bit.


def assert_same_cross(params, book, prices, market, depth) -> None:
    steps = STEPS[STEPS <= prices.shape[2] - 1]
    per, ser = cross.simulate(params, book, prices, market, depth_usd=depth, record_steps=steps)
    ref, ref_ser = cross.simulate(
        params, book, prices, market, depth_usd=depth, record_steps=steps, full_scan=True
    )
    assert per.tobytes() == ref.tobytes()
    for name in ref_ser:
        assert ser[name].tobytes() == ref_ser[name].tobytes(), name
    det = cross.simulate_detail(params, book, prices[:, :8], market, depth_usd=depth)
    ref_det = cross.simulate_detail(params, book, prices[:, :8], market, depth_usd=depth, full_scan=True)
    for name in ref_det:
        assert _same(det[name], ref_det[name]), name


def test_cross_accounts_in_a_crash_equal_the_full_scan_bit_for_bit() -> None:
    _, _, prices, market = demo_crash(16)
    params = cross.Params(liquidation_threshold=(0.83, 0.78), liquidation_bonus=(0.05, 0.075))
    book = cross.synthetic_book(
        params,
        2000,
        np.array([3000.0, 60000.0]),
        np.random.default_rng(11),
        debt_median=5000.0,
        debt_sigma=1.5,
    )
    S = np.stack([prices, (prices / prices[:, :1]) ** 1.2 * 60000.0])
    depth = np.array([market.liquidity.depth_usd, market.liquidity.depth_usd * 0.3])
    per = cross.simulate(params, book, S, market, depth_usd=depth)
    assert per[:, 10].mean() > 500 and per[:, 2].mean() > 100
    liq = market.liquidity
    for p, m in (
        (params, market),
        (params, replace(market, liquidity=replace(liq, model="sqrt", k=0.3))),
        (params, replace(market, liquidity=replace(liq, max_step_impact=0.02))),
        (
            replace(params, protocol_fee=0.0),
            replace(market, liquidators=Liquidators(gas_cost_usd=400.0, gas_spike=20.0)),
        ),
        (replace(params, dynamic=DynamicThreshold(k_vol=0.5, floor=0.6)), market),
    ):
        assert_same_cross(p, book, S, m, depth)


def test_perp_positions_in_a_crash_equal_the_full_scan_bit_for_bit() -> None:
    _, _, prices, market = demo_crash(16)
    arrays = books.synthetic_book(
        "perp", 2000, rng=np.random.default_rng(5), price=3000.0, mmf=0.03, total_notional_usd=1e8
    )
    book = perp.book_from_arrays(arrays)
    steps = STEPS[STEPS <= prices.shape[1] - 1]
    for params in (
        perp.Params(liquidation_fee=0.01, keeper_share=0.3),
        perp.Params(liquidation_fee=0.01, keeper_share=0.3, partial_fraction=0.2, partial_above_usd=1e5),
        perp.Params(liquidation_fee=0.01),  # no keeper share: nothing ever pays the gas
        perp.Params(liquidation_fee=0.01, keeper_share=0.3, dynamic=DynamicThreshold(k_vol=0.5, cap=0.06)),
    ):
        per, ser = perp.simulate(params, book, prices, market, record_steps=steps)
        ref, ref_ser = perp.simulate(params, book, prices, market, record_steps=steps, full_scan=True)
        assert per[:, 10].mean() > 500
        assert per.tobytes() == ref.tobytes()
        for name in ref_ser:
            assert ser[name].tobytes() == ref_ser[name].tobytes(), name
        det = perp.simulate_detail(params, book, prices[:8], market)
        ref_det = perp.simulate_detail(params, book, prices[:8], market, full_scan=True)
        for name in ref_det:
            assert _same(det[name], ref_det[name]), name


@pytest.mark.parametrize("n", [1, 63, 64, 65, 130, 700])
def test_cross_random_books_equal_the_full_scan_bit_for_bit(n: int) -> None:
    # Parked accounts are tracked by a bit per active-list entry (64 to a word): books around
    # word sizes, falling and recovering prices, a gas spike, so accounts park and unpark.
    rng = np.random.default_rng(n)
    params = cross.Params(liquidation_threshold=(0.8, 0.7, 0.75), liquidation_bonus=(0.05, 0.1, 0.08))
    book = cross.synthetic_book(
        params, n, np.array([2000.0, 30.0, 1.0]), rng, debt_median=2000.0, debt_sigma=1.5
    )
    steps = 160
    walk = np.exp(np.cumsum(rng.normal(-0.003, 0.025, (3, 8, steps + 1)), axis=2))
    walk[:, :, 0] = 1.0
    S = np.array([2000.0, 30.0, 1.0])[:, None, None] * walk
    market = MarketConditions(
        oracle=Oracle(latency=2),
        liquidity=Liquidity(depth_usd=5e6),
        liquidators=Liquidators(gas_cost_usd=40.0, gas_spike=8.0),
    )
    per = cross.simulate(params, book, S, market)
    assert per[:, 10].sum() > 0
    assert_same_cross(params, book, S, market, None)


@pytest.mark.parametrize("n", [1, 63, 64, 65, 130, 700])
def test_perp_random_books_equal_the_full_scan_bit_for_bit(n: int) -> None:
    # Parked positions are tracked by a bit per active-list entry (64 to a word): books around
    # word sizes, a fall and recovery with noise and a gas spike, so positions park and unpark.
    rng = np.random.default_rng(n)
    arrays = books.synthetic_book("perp", n, rng=rng, price=2000.0, mmf=0.03, total_notional_usd=2e6 * n)
    book = perp.book_from_arrays(arrays)
    steps = 160
    walk = np.exp(np.cumsum(rng.normal(0.0, 0.03, (8, steps + 1)), axis=1))
    walk[:, 0] = 1.0
    prices = 2000.0 * walk
    params = perp.Params(liquidation_fee=0.01, keeper_share=0.3, partial_fraction=0.5, partial_above_usd=3e4)
    market = MarketConditions(
        oracle=Oracle(latency=1),
        liquidity=Liquidity(depth_usd=5e6),
        liquidators=Liquidators(gas_cost_usd=20.0, gas_spike=8.0),
    )
    per, ser = perp.simulate(params, book, prices, market, record_steps=np.array([0, 80, steps]))
    ref, ref_ser = perp.simulate(
        params, book, prices, market, record_steps=np.array([0, 80, steps]), full_scan=True
    )
    assert ref[:, 10].sum() > 0
    assert per.tobytes() == ref.tobytes()
    for name in ref_ser:
        assert ser[name].tobytes() == ref_ser[name].tobytes(), name
    det = perp.simulate_detail(params, book, prices, market)
    ref_det = perp.simulate_detail(params, book, prices, market, full_scan=True)
    for name in ref_det:
        assert _same(det[name], ref_det[name]), name


# The filing and parking meet the mid-run parameter switch (margin-engine.md section 4) and
# the v3.3 leftover rule: the step's bounds use the set in force, and the leftover rule, which
# may repay less than the close factor allows, drops the scan's close-factor bound.


@pytest.mark.parametrize("k", [0, 40, 300])
def test_aave_with_a_switch_equals_the_full_scan_bit_for_bit(k: int) -> None:
    params, book, prices, market = demo_crash(16)
    cheaper = replace(params, ltv=0.75, liquidation_bonus=0.09, liquidation_threshold=0.8, protocol_fee=0.0)
    for before, after in ((params, cheaper), (cheaper, params)):
        steps = STEPS[STEPS <= prices.shape[1] - 1]
        per, ser = aave.simulate(before, book, prices, market, record_steps=steps, switch=(k, after))
        ref, ref_ser = aave.simulate(
            before, book, prices, market, record_steps=steps, switch=(k, after), full_scan=True
        )
        assert per.tobytes() == ref.tobytes()
        for name in ref_ser:
            assert ser[name].tobytes() == ref_ser[name].tobytes(), name


def test_aave_with_the_leftover_rule_equals_the_full_scan_bit_for_bit() -> None:
    params, book, prices, market = demo_crash(16)
    v33 = replace(params, small_position_usd=2000.0, min_leftover_usd=1000.0, close_factor=0.8)
    per = aave.simulate(v33, book, prices, market)
    assert per[:, 10].mean() > 1000  # the slow setting still
    assert_same_runs(v33, book, prices, market)
    assert_same_runs(
        v33, book, prices, replace(market, liquidity=replace(market.liquidity, model="sqrt", k=0.3))
    )


def test_cross_and_perp_with_a_switch_equal_the_full_scan_bit_for_bit() -> None:
    _, _, prices, market = demo_crash(12)
    params = cross.Params(liquidation_threshold=(0.83, 0.78), liquidation_bonus=(0.05, 0.075))
    after = cross.Params(liquidation_threshold=(0.8, 0.75), liquidation_bonus=(0.09, 0.1), protocol_fee=0.0)
    book = cross.synthetic_book(
        params,
        1500,
        np.array([3000.0, 60000.0]),
        np.random.default_rng(11),
        debt_median=5000.0,
        debt_sigma=1.5,
    )
    S = np.stack([prices, (prices / prices[:, :1]) ** 1.2 * 60000.0])
    depth = np.array([market.liquidity.depth_usd, market.liquidity.depth_usd * 0.3])
    for k in (0, 60):
        per = cross.simulate(params, book, S, market, depth_usd=depth, switch=(k, after))
        ref = cross.simulate(params, book, S, market, depth_usd=depth, switch=(k, after), full_scan=True)
        assert per.tobytes() == ref.tobytes()
    arrays = books.synthetic_book(
        "perp", 1500, rng=np.random.default_rng(5), price=3000.0, mmf=0.03, total_notional_usd=1e8
    )
    pbook = perp.book_from_arrays(arrays)
    p0 = perp.Params(liquidation_fee=0.01, keeper_share=0.3)
    p1 = perp.Params(liquidation_fee=0.02, keeper_share=0.6)
    for before, after_p in ((p0, p1), (p1, p0)):
        for k in (0, 60):
            per = perp.simulate(before, pbook, prices, market, switch=(k, after_p))
            ref = perp.simulate(before, pbook, prices, market, switch=(k, after_p), full_scan=True)
            assert per[:, 10].mean() > 100
            assert per.tobytes() == ref.tobytes()
