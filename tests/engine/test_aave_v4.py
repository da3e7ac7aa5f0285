"""Aave v4 style liquidations (margin-engine.md section 2.6): the docs' worked examples, the
dust and deficit rules, liquidator economics, the config invariants, and invariants over
random books, paths, markets and parameters."""

import dataclasses
import inspect

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import aave_v4 as A
from engine import api, health
from engine._common import FIELD_INDEX
from engine.errors import EngineError
from engine.market import Liquidators, Liquidity, MarketConditions, Oracle

F = FIELD_INDEX
P0 = 2000.0
ALWAYS = MarketConditions(liquidators=Liquidators(rational=False))
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def one_position(params: A.Params, debt: float, h: float, market=ALWAYS, steps: int = 1) -> dict:
    """One position of health factor ``h`` at the constant price P0, run for ``steps`` steps."""
    c = h * debt / (P0 * params.collateral_factor)
    book = A.Book(np.array([c]), np.array([debt]))
    res = A.simulate_detail(params, book, np.full((1, steps + 1), P0), market)
    res["c0"] = c
    return res


def test_the_docs_bonus_example_is_313_over_300() -> None:
    p = A.Params(max_liquidation_bonus=1.05, liquidation_bonus_factor=0.80, health_factor_for_max_bonus=0.85)
    assert A.liquidation_bonus(p, 0.95) == pytest.approx(313 / 300, rel=1e-14)


@pytest.mark.parametrize("h", [0.85, 0.8, 0.5, 0.0])
def test_the_bonus_is_the_maximum_at_or_below_the_health_factor_for_max_bonus(h: float) -> None:
    assert A.liquidation_bonus(A.Params(), h) == 1.05


def test_the_bonus_falls_to_the_minimum_as_the_health_factor_reaches_one() -> None:
    p = A.Params(max_liquidation_bonus=1.10, liquidation_bonus_factor=0.5, collateral_factor=0.7)
    assert A.liquidation_bonus(p, 1.0 - 1e-12) == pytest.approx(1.05, abs=1e-12)
    assert A.liquidation_bonus(p, 0.9) > A.liquidation_bonus(p, 0.95)


def test_the_docs_repay_example_reaches_the_target_health_factor_exactly() -> None:
    p = A.Params(collateral_factor=0.8, target_health_factor=1.05)
    res = one_position(p, 100_000.0, 0.95)
    lb = 313 / 300
    want = 100_000.0 * (1.05 - 0.95) / (1.05 - lb * 0.8)
    assert want == pytest.approx(46_439.6, abs=0.05)
    out = res["per_path"][0]
    assert out[F["liq_volume"]] == pytest.approx(want, rel=1e-9)
    assert out[F["n_liq"]] == 1 and out[F["bad_debt"]] == 0.0
    c, d = res["collateral"][0, 0], res["debt"][0, 0]
    assert c * P0 * 0.8 / d == pytest.approx(1.05, rel=1e-12)
    assert out[F["penalty"]] == pytest.approx((lb - 1.0) * want, rel=1e-9)
    seized = want * lb / P0
    assert out[F["protocol_fees"]] == pytest.approx(0.1 * (seized - seized / lb) * P0, rel=1e-9)


def test_a_repay_that_would_leave_debt_dust_repays_the_whole_debt() -> None:
    # 1,000 USD at h 0.95: the target repay 464.4 would leave 535.6, under the 1,000 USD dust.
    res = one_position(A.Params(), 1_000.0, 0.95)
    out = res["per_path"][0]
    assert out[F["liq_volume"]] == 1_000.0
    assert res["debt"][0, 0] == 0.0
    lb = A.liquidation_bonus(A.Params(), 0.95)
    assert res["collateral"][0, 0] == pytest.approx(res["c0"] - 1_000.0 * lb / P0, rel=1e-12)
    assert out[F["bad_debt"]] == 0.0


def test_without_enough_collateral_all_is_seized_and_the_rest_is_bad_debt() -> None:
    p = A.Params(reserves_usd=10_000.0)
    res = one_position(p, 100_000.0, 0.5)
    out = res["per_path"][0]
    repaid = res["c0"] * P0 / 1.05
    assert out[F["liq_volume"]] == pytest.approx(repaid, rel=1e-12)
    assert out[F["bad_debt"]] == pytest.approx(100_000.0 - repaid, rel=1e-12)
    assert res["collateral"][0, 0] == 0.0 and res["debt"][0, 0] == 0.0
    assert out[F["insurance_used"]] == 10_000.0
    assert out[F["socialized_loss"]] == pytest.approx(out[F["bad_debt"]] - 10_000.0)
    assert out[F["insolvent"]] == 1.0
    assert res["to_liquidators"][0] + res["to_protocol"][0] == pytest.approx(res["c0"], rel=1e-12)


def test_a_seizure_that_would_leave_collateral_dust_takes_all_collateral() -> None:
    # With one collateral a repay to the target leaves at least THF * d_left / cf of collateral,
    # so the rule shows on the amounts of an account whose health factor counts other assets.
    cf, thf, po, lb = 0.8, 1.05, P0, 313 / 300
    d = 100_000.0
    target = d * (thf - 0.95) / (thf - lb * cf)
    ci = (target * lb + 500.0) / po  # 500 USD of collateral would be left
    rep, seize, got_lb = A._amounts.py_func(ci, d, 0.95, po, cf, 1.05, 0.8, 0.85, thf, 1000.0)
    assert got_lb == pytest.approx(lb, rel=1e-14)
    assert seize == ci
    assert rep == pytest.approx(ci * po / lb, rel=1e-14) and target < rep < d
    # Without the dust rule the target repay stands.
    rep0, seize0, _ = A._amounts.py_func(ci, d, 0.95, po, cf, 1.05, 0.8, 0.85, thf, 0.0)
    assert rep0 == pytest.approx(target, rel=1e-14) and seize0 < ci


def test_a_health_factor_of_exactly_one_is_not_liquidatable() -> None:
    p = A.Params(collateral_factor=0.5, dust_usd=0.0)
    book = A.Book(np.array([1.0, 1.0]), np.array([1_000.0, 1_000.001]))
    assert 1.0 * P0 * 0.5 / 1_000.0 == 1.0
    res = A.simulate_detail(p, book, np.full((1, 3), P0), ALWAYS)
    assert res["per_path"][0, F["n_liq"]] == 1
    assert res["debt"][0, 0] == 1_000.0 and res["debt"][0, 1] < 1_000.0


def test_an_unprofitable_liquidation_leaves_the_position_open_and_counts_once() -> None:
    costly = MarketConditions(liquidators=Liquidators(gas_cost_usd=1e6))
    res = one_position(A.Params(), 100_000.0, 0.95, market=costly, steps=6)
    out = res["per_path"][0]
    assert out[F["n_liq"]] == 0 and out[F["n_unprofitable"]] == 1
    assert res["debt"][0, 0] == 100_000.0 and res["collateral"][0, 0] == res["c0"]


def test_liquidators_who_always_act_liquidate_even_at_a_loss() -> None:
    always = MarketConditions(liquidators=Liquidators(rational=False, gas_cost_usd=1e6))
    res = one_position(A.Params(), 100_000.0, 0.95, market=always, steps=6)
    out = res["per_path"][0]
    assert out[F["n_liq"]] == 1 and out[F["n_unprofitable"]] == 0


@pytest.mark.parametrize(
    "kw, rule",
    [
        ({"max_liquidation_bonus": 0.99}, r"max_liquidation_bonus must be >= 1"),
        (
            {"max_liquidation_bonus": 1.3, "collateral_factor": 0.8, "health_factor_for_max_bonus": 0.99},
            r"max_liquidation_bonus \* collateral_factor must be < 1",
        ),
        ({"health_factor_for_max_bonus": 1.0}, r"health_factor_for_max_bonus must be < 1"),
        ({"target_health_factor": 0.99}, r"target_health_factor must be >= 1"),
        ({"liquidation_bonus_factor": 1.01}, r"liquidation_bonus_factor must be <= 1"),
        ({"liquidation_fee": 1.01}, r"liquidation_fee must be <= 1"),
        ({"collateral_factor": 0.82}, r"anti-split rule, maxLB \* cf <= hfForMaxBonus"),
        ({"collateral_factor": 1.0}, r"collateral_factor must be in \(0, 1\)"),
        ({"dust_usd": -1.0}, r"dust_usd must be in"),
    ],
)
def test_every_config_invariant_is_refused_naming_its_rule(kw: dict, rule: str) -> None:
    with pytest.raises(EngineError, match=rule):
        A.Params(**kw)


def test_params_from_a_dict_and_the_borrowing_power() -> None:
    p = A.params_from_dict({"collateral_factor": "0.75", "dynamic": {"k_vol": 0.1, "floor": 0.5}})
    assert p.collateral_factor == 0.75 and p.dynamic.floor == 0.5
    with pytest.raises(EngineError, match="unknown aave-v4 parameter 'lt'"):
        A.params_from_dict({"lt": 0.8})
    with pytest.raises(EngineError, match="dynamic.floor must be <= collateral_factor"):
        A.params_from_dict({"dynamic": {"floor": 0.9}})
    book = A.book_from_arrays({"collateral": [1.0, 2.0], "debt": [100.0, 0.0]})
    assert A.borrowing_power(A.Params(), book, P0) == pytest.approx(3.0 * P0 * 0.8)


# ---------------------------------------------------------------------------------------------
# Invariants over random inputs


@st.composite
def books(draw, p0=P0):
    n = draw(st.integers(1, 12))
    c = np.array(draw(st.lists(st.floats(0.0, 5.0), min_size=n, max_size=n)))
    ratio = np.array(draw(st.lists(st.floats(0.0, 1.2), min_size=n, max_size=n)))
    return A.Book(c, c * p0 * ratio * 0.8)


@st.composite
def paths(draw, max_steps=25):
    m = draw(st.integers(1, 3))
    t = draw(st.integers(1, max_steps))
    sigma = draw(st.floats(0.0, 0.08))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    s = P0 * np.exp(np.cumsum(rng.normal(-0.005, sigma, (m, t)), axis=1))
    return np.hstack([np.full((m, 1), P0), s])


@st.composite
def markets(draw):
    depth = draw(st.one_of(st.just(float("inf")), st.floats(1e3, 1e7)))
    return MarketConditions(
        oracle=Oracle(latency=draw(st.integers(0, 2)), deviation=draw(st.sampled_from([0.0, 0.01]))),
        liquidity=Liquidity(
            depth_usd=depth,
            k=draw(st.floats(0.1, 2.0)),
            model=draw(st.sampled_from(["linear", "sqrt"])),
            max_step_impact=draw(st.floats(0.05, 0.9)),
        ),
        liquidators=Liquidators(
            rational=draw(st.booleans()),
            gas_cost_usd=draw(st.floats(0.0, 50.0)),
            gas_spike=draw(st.floats(0.0, 3.0)),
        ),
    )


@st.composite
def v4_params(draw):
    hf_max = draw(st.floats(0.5, 0.95))
    cf = draw(st.floats(0.3, 0.95)) * hf_max
    max_lb = 1.0 + draw(st.floats(0.0, 1.0)) * (hf_max / cf - 1.0) * 0.999
    return A.Params(
        collateral_factor=cf,
        max_liquidation_bonus=min(max_lb, 1.3),
        liquidation_fee=draw(st.floats(0.0, 1.0)),
        target_health_factor=draw(st.floats(1.0, 1.3)),
        health_factor_for_max_bonus=hf_max,
        liquidation_bonus_factor=draw(st.floats(0.0, 1.0)),
        dust_usd=draw(st.sampled_from([0.0, 100.0, 1000.0])),
        reserves_usd=draw(st.floats(0.0, 1e4)),
    )


@SETTINGS
@given(v4_params(), books(), paths(), markets())
def test_the_screen_equals_the_full_scan_bit_for_bit(params, book, prices, market) -> None:
    fast = A.simulate_detail(params, book, prices, market)
    full = A.simulate_detail(params, book, prices, market, full_scan=True)
    for key, arr in fast.items():
        assert np.array_equal(arr, full[key]), key


@SETTINGS
@given(v4_params(), books(), paths(), markets())
def test_rows_depend_only_on_their_own_path(params, book, prices, market) -> None:
    whole = A.simulate(params, book, prices, market)
    for m in range(prices.shape[0]):
        alone = A.simulate(params, book, np.ascontiguousarray(prices[m : m + 1]), market)
        assert np.array_equal(alone[0], whole[m])


@SETTINGS
@given(v4_params(), books(), paths(), markets())
def test_collateral_is_conserved_and_debt_never_negative(params, book, prices, market) -> None:
    res = A.simulate_detail(params, book, prices, market)
    total = res["collateral"].sum(axis=1) + res["to_liquidators"] + res["to_protocol"]
    np.testing.assert_allclose(total, book.collateral.sum(), rtol=1e-9, atol=1e-12)
    assert np.all(res["debt"] >= 0.0) and np.all(res["collateral"] >= 0.0)
    out = res["per_path"]
    assert np.all(out[:, F["bad_debt"]] >= 0.0)
    assert np.all(out[:, F["insurance_used"]] <= params.reserves_usd)


@SETTINGS
@given(v4_params(), books(), markets(), st.lists(st.floats(0.5, 1.5), min_size=1, max_size=3))
def test_a_partial_liquidation_ends_at_the_target_health_factor(params, book, market, moves) -> None:
    # One step (T = 1) at a start price that may put positions under water: the oracle is that
    # price, so each liquidated position that keeps debt is at the target health factor.
    start = P0 * np.array(moves)
    prices = np.stack([start, start], axis=1)
    market = dataclasses.replace(market, oracle=Oracle())
    res = A.simulate_detail(params, book, prices, market)
    for m, o in enumerate(start):
        c, d = res["collateral"][m], res["debt"][m]
        touched = (d != book.debt) & (d > 0.0)
        h = c[touched] * o * params.collateral_factor / d[touched]
        assert np.all(h >= params.target_health_factor * (1.0 - 1e-9)), h


@SETTINGS
@given(v4_params(), v4_params(), books(), paths(), markets(), st.integers(0, 40))
def test_a_switch_at_or_beyond_the_horizon_changes_nothing_and_at_zero_runs_the_other_set(
    a, b, book, prices, market, extra
) -> None:
    T = prices.shape[1] - 1
    want = A.simulate(a, book, prices, market)
    assert np.array_equal(A.simulate(a, book, prices, market, switch=(T + extra, b)), want)
    assert np.array_equal(
        A.simulate(a, book, prices, market, switch=(0, b)), A.simulate(b, book, prices, market)
    )


def test_health_and_book_at_step_read_the_collateral_factor() -> None:
    book = {"collateral": np.array([100.0, 100.0]), "debt": np.array([100_000.0, 170_000.0])}
    h = health.health("aave-v4", {"collateral_factor": 0.8}, book, P0)
    np.testing.assert_allclose(h, [1.6, 160_000.0 / 170_000.0])
    left, price = health.book_at_step("aave-v4", A.Params(), book, np.full(3, P0), ALWAYS, 1)
    assert price == P0 and len(left) == 2
    assert left.debt[0] == 100_000.0 and left.debt[1] < 170_000.0
    assert left.collateral[1] * P0 * 0.8 / left.debt[1] == pytest.approx(1.05, rel=1e-12)


def test_the_mechanism_has_the_skeletons_public_surface() -> None:
    assert api.load_mechanism("aave-v4") is A
    assert A.MECHANISM.name == "aave-v4" and A.MECHANISM.params_cls is A.Params
    assert list(inspect.signature(A._kernel.py_func).parameters) == [
        "S", "data", "pv", "ksw", "mk", "full_scan", "track", "det", "out", "rec", "ser"
    ]  # fmt: skip
    for fn in (A.simulate, A.simulate_detail):
        kw = inspect.signature(fn).parameters
        for opt in ("record_steps", "switch", "full_scan"):
            assert kw[opt].kind is inspect.Parameter.KEYWORD_ONLY, (fn.__name__, opt)
