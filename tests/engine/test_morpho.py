"""Morpho Blue isolated markets (engine/morpho.py, margin-engine.md section 2.7): one-position
cases computed by hand, and invariants over random books, paths, markets and parameters."""

import dataclasses
import inspect
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import _skeleton, api, books, health, morpho
from engine._common import FIELD_INDEX
from engine.errors import EngineError
from engine.market import DynamicThreshold, Liquidators, Liquidity, MarketConditions, Oracle

F = FIELD_INDEX
DATA = Path(__file__).parent / "data"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FREE = MarketConditions()  # infinite depth, no gas, rational liquidators
ALWAYS = MarketConditions(liquidators=Liquidators(rational=False))
LIF86 = 1.0 / 0.958  # lltv 0.86: 1 / (1 - 0.3 * 0.14)


def _one(c: float, d: float, prices: list[float], params=None, market=FREE) -> dict:
    params = params or morpho.Params(lltv=0.86)
    book = morpho.Book(np.array([c]), np.array([d]))
    return morpho.simulate_detail(params, book, np.array([prices]), market)


# ---------------------------------------------------------------------------------------------
# The liquidation incentive factor (Morpho.liquidate, ConstantsLib)


@pytest.mark.parametrize(
    ("lltv", "want"),
    [
        (0.86, 1.0 / (1.0 - 0.3 * 0.14)),  # 1 / 0.958 = 1.043841...
        (0.915, 1.0 / (1.0 - 0.3 * 0.085)),  # 1 / 0.9745 = 1.026167...
        (0.945, 1.0 / (1.0 - 0.3 * 0.055)),  # 1 / 0.9835 = 1.016776...
        (0.5, 1.15),  # 1 / 0.85 = 1.176... is above MAX_LIQUIDATION_INCENTIVE_FACTOR
    ],
)
def test_the_incentive_factor_is_the_contracts_formula_capped_at_1_15(lltv: float, want: float) -> None:
    assert morpho.Params(lltv=lltv).liquidation_incentive == pytest.approx((want,), rel=1e-12, abs=0)


def test_the_incentive_factor_matches_the_specs_worked_values() -> None:
    lif = morpho.Params(
        lltv=(0.86, 0.915), market_supply_usd=(1e8, 1e8), vault_cap_usd=(0, 0)
    ).liquidation_incentive
    assert lif == pytest.approx((1.043841336, 1.026167265), abs=1e-9)


# ---------------------------------------------------------------------------------------------
# One position, by hand


def test_a_position_that_can_repay_everything_is_liquidated_in_full() -> None:
    # c = 1, d = 1700, lltv 0.86. Step 0: o = 2000, max borrow 1720 >= 1700: healthy. Step 1:
    # o = 1900, max borrow 1634 < 1700: liquidatable. c * o / LIF = 1900 * 0.958 = 1820.2 >= d,
    # so the liquidator repays the whole 1700 and seizes 1700 * LIF / 1900 = 1700 / 1820.2 =
    # 0.93396330... units, worth 1700 * LIF = 1774.5302714... at p = 1900. The borrower keeps
    # 1 - 1700 / 1820.2 = 0.06603669... units and pays (LIF - 1) * 1700 = 1700 * 0.042 / 0.958
    # = 74.5302714... No bad debt.
    res = _one(1.0, 1700.0, [2000.0, 2000.0, 1900.0, 1900.0])
    row = res["per_path"][0]
    seized = 1700.0 / 1820.2
    assert row[F["n_liq"]] == 1
    assert row[F["liq_volume"]] == pytest.approx(1700.0, rel=1e-12)
    assert row[F["collateral_sold_usd"]] == pytest.approx(seized * 1900.0, rel=1e-12)
    assert row[F["collateral_sold_usd"]] == pytest.approx(1774.5302713987474, rel=1e-12)
    assert row[F["penalty"]] == pytest.approx(1700.0 * 0.042 / 0.958, rel=1e-12)
    for field in ("bad_debt", "socialized_loss", "insurance_used", "insolvent", "unrealized_bad_debt"):
        assert row[F[field]] == 0.0, field
    assert row[F["protocol_fees"]] == 0.0 and row[F["keeper_rewards"]] == 0.0
    assert res["to_liquidators"][0] == pytest.approx(seized, rel=1e-12)
    assert res["collateral"][0, 0] == pytest.approx(1.0 - seized, rel=1e-12)
    assert res["debt"][0, 0] == 0.0


def test_a_position_under_water_gives_all_its_collateral_and_the_rest_is_bad_debt() -> None:
    # c = 1, d = 1700, o = 1600 at step 1: c * o / LIF = 1600 * 0.958 = 1532.8 < 1700. The
    # liquidator seizes the whole unit, repays 1532.8, and Morpho writes the remaining
    # 1700 - 1532.8 = 167.2 off against the lenders at once; the position is closed.
    # Penalty (LIF - 1) * 1532.8 = 1600 * (1 - 0.958) = 67.2.
    res = _one(1.0, 1700.0, [2000.0, 1600.0, 1500.0])
    row = res["per_path"][0]
    assert row[F["n_liq"]] == 1
    assert row[F["liq_volume"]] == pytest.approx(1532.8, rel=1e-12)
    assert row[F["bad_debt"]] == pytest.approx(167.2, rel=1e-9)
    assert row[F["socialized_loss"]] == row[F["bad_debt"]]
    assert row[F["insurance_used"]] == 0.0
    assert row[F["insolvent"]] == 1.0
    assert row[F["penalty"]] == pytest.approx(67.2, rel=1e-9)
    assert row[F["collateral_sold_usd"]] == pytest.approx(1600.0, rel=1e-12)
    assert row[F["unrealized_bad_debt"]] == 0.0  # closed: nothing left open at the horizon
    assert res["to_liquidators"][0] == 1.0
    assert res["collateral"][0, 0] == 0.0 and res["debt"][0, 0] == 0.0


def test_a_position_exactly_at_the_boundary_is_healthy_and_just_beyond_it_is_not() -> None:
    # Morpho._isHealthy: maxBorrow >= borrowed is healthy, so d == c * o * lltv stays open.
    d = 1.0 * 2000.0 * 0.86
    at = _one(1.0, d, [2000.0] * 6)["per_path"][0]
    assert at[F["n_liq"]] == 0
    beyond = _one(1.0, np.nextafter(d, np.inf), [2000.0] * 6)["per_path"][0]
    assert beyond[F["n_liq"]] == 1


def test_an_unprofitable_liquidation_leaves_the_position_open_and_counts_it_once() -> None:
    # At o = 1900 the liquidator would earn 1774.53 - 1700 = 74.53 USD before gas: 100 USD of
    # gas, or 17.7 % slippage on the 1774.53 USD sale (k = 1, depth 10,000), makes it a loss.
    gas = MarketConditions(liquidators=Liquidators(gas_cost_usd=100.0))
    thin = MarketConditions(liquidity=Liquidity(depth_usd=1e4, k=1.0))
    for market in (gas, thin):
        res = _one(1.0, 1700.0, [2000.0] + [1900.0] * 8, market=market)
        row = res["per_path"][0]
        assert row[F["n_liq"]] == 0
        assert row[F["n_unprofitable"]] == 1  # eight liquidatable steps, one position
        assert res["debt"][0, 0] == 1700.0 and res["collateral"][0, 0] == 1.0
        assert row[F["unrealized_bad_debt"]] == 0.0  # 1 * 1900 > 1700
    cheaper = MarketConditions(liquidators=Liquidators(gas_cost_usd=70.0))
    assert _one(1.0, 1700.0, [2000.0, 1900.0, 1900.0], market=cheaper)["per_path"][0, F["n_liq"]] == 1


def test_liquidators_who_are_not_rational_always_act() -> None:
    market = MarketConditions(
        liquidity=Liquidity(depth_usd=1e4), liquidators=Liquidators(rational=False, gas_cost_usd=100.0)
    )
    row = _one(1.0, 1700.0, [2000.0, 1900.0, 1900.0], market=market)["per_path"][0]
    assert row[F["n_liq"]] == 1 and row[F["n_unprofitable"]] == 0
    assert row[F["liq_volume"]] == pytest.approx(1700.0, rel=1e-12)


def test_a_position_left_under_water_at_the_horizon_is_unrealized_bad_debt() -> None:
    # Unprofitable to the end (gas), and at p_T = 1500 worth 1500 against 1700 of debt.
    market = MarketConditions(liquidators=Liquidators(gas_cost_usd=1e6))
    row = _one(1.0, 1700.0, [2000.0, 1600.0, 1500.0], market=market)["per_path"][0]
    assert row[F["bad_debt"]] == 0.0
    assert row[F["unrealized_bad_debt"]] == pytest.approx(200.0, rel=1e-12)
    assert row[F["final_price"]] == 1500.0


def test_the_sale_of_seized_collateral_moves_the_next_price() -> None:
    # The 1774.53 USD sold at step 1 moves J by 1 - 1774.53 / 1e5 for step 2 on.
    market = MarketConditions(liquidity=Liquidity(depth_usd=1e5), liquidators=Liquidators(rational=False))
    row = _one(1.0, 1700.0, [2000.0, 1900.0, 1900.0], market=market)["per_path"][0]
    sold = row[F["collateral_sold_usd"]]
    assert row[F["final_price"]] == pytest.approx(1900.0 * (1.0 - sold / 1e5), rel=1e-12)


# ---------------------------------------------------------------------------------------------
# The vault, borrowing power, bad input


def test_the_vault_loses_its_share_of_the_markets_supply_of_the_written_off_debt() -> None:
    per_path = np.zeros((3, len(F)))
    per_path[:, F["socialized_loss"]] = [0.0, 1000.0, 5e6]
    params = morpho.Params(lltv=0.86, market_supply_usd=4e7, vault_cap_usd=1e7)
    assert morpho.vault_loss(params, per_path).tolist() == [0.0, 250.0, 1.25e6]
    whole = morpho.Params(lltv=0.86, market_supply_usd=4e7, vault_cap_usd=1e9)  # cap above supply
    assert morpho.vault_loss(whole, per_path).tolist() == [0.0, 1000.0, 5e6]
    none = morpho.Params(lltv=0.86, market_supply_usd=4e7, vault_cap_usd=0.0)
    assert morpho.vault_loss(none, per_path).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(EngineError, match="per_path"):
        morpho.vault_loss(params, np.zeros(3))


def test_borrowing_power_is_the_vaults_share_of_the_collateral_at_the_start_price_times_the_lltv() -> None:
    # One market, the vault supplies 1e7 of 4e7: a quarter of what the book can borrow.
    book = morpho.Book(np.array([1.0, 2.5, 0.0]), np.array([100.0, 0.0, 0.0]))
    params = morpho.Params(lltv=0.86, market_supply_usd=4e7, vault_cap_usd=2e7, vault_supply_usd=1e7)
    assert morpho.borrowing_power(params, book, 2000.0) == pytest.approx(0.25 * 3.5 * 2000.0 * 0.86)
    run = api.run(
        "morpho-blue",
        {"lltv": 0.915, "market_supply_usd": 4e7, "vault_cap_usd": 4e7, "vault_supply_usd": 4e7},
        book,
        np.full((2, 3), 2000.0),
        None,
    )
    assert run.summary["borrowing_power"] == pytest.approx(3.5 * 2000.0 * 0.915)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"lltv": 0.0}, r"lltv must be in \(0, 1\); got 0"),
        ({"lltv": 1.0}, r"lltv must be in \(0, 1\); got 1"),
        ({"lltv": "0,86"}, "lltv must be a number"),
        ({"vault_cap_usd": -1.0}, r"vault_cap_usd must be in \[0, inf\]; got -1"),
        ({"market_supply_usd": 0.0}, "market_supply_usd must be in"),
        ({"market_supply_usd": float("inf")}, "market_supply_usd must be a finite"),
        ({"dynamic": 0.5}, "dynamic must be"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(kw: dict, match: str) -> None:
    with pytest.raises(EngineError, match=match):
        morpho.Params(**kw)


def test_numbers_given_as_text_are_converted_and_unknown_names_refused() -> None:
    assert morpho.Params(lltv="0.86").lltv == (0.86,)  # one market
    p = morpho.params_from_dict({"lltv": "0.915", "dynamic": {"k_vol": 1.0}})
    assert p.lltv == (0.915,) and p.dynamic == DynamicThreshold(k_vol=1.0)
    with pytest.raises(EngineError, match="unknown morpho-blue parameter 'ltv'"):
        morpho.params_from_dict({"ltv": 0.8})
    with pytest.raises(EngineError, match="morpho-blue book needs array 'debt'"):
        morpho.book_from_arrays({"collateral": [1.0]})


def test_the_registry_and_the_synthetic_books_know_the_mechanism() -> None:
    assert api.load_mechanism("morpho-blue") is morpho
    book = books.synthetic_book("morpho-blue", 50, rng=np.random.default_rng(1), price=2000.0, threshold=0.86)
    h = books.health(book, "morpho-blue", price=2000.0, threshold=0.86)
    assert h.min() == pytest.approx(1.05) and np.all(h >= 1.05 - 1e-12)


# ---------------------------------------------------------------------------------------------
# Invariants


@st.composite
def lending_books(draw, p0=2000.0):
    n = draw(st.integers(1, 12))
    c = np.array(draw(st.lists(st.floats(0.0, 5.0), min_size=n, max_size=n)))
    ratio = np.array(draw(st.lists(st.floats(0.0, 1.3), min_size=n, max_size=n)))
    return morpho.Book(c, c * p0 * ratio * 0.8)


@st.composite
def paths(draw, max_steps=25):
    m = draw(st.integers(1, 3))
    t = draw(st.integers(1, max_steps))
    sigma = draw(st.floats(0.0, 0.08))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    s = 2000.0 * np.exp(np.cumsum(rng.normal(-0.005, sigma, (m, t)), axis=1))
    return np.hstack([np.full((m, 1), 2000.0), s])


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
def market_params(draw):
    dyn = None
    if draw(st.booleans()):
        dyn = DynamicThreshold(
            k_vol=draw(st.floats(0.0, 3.0)), update_interval=draw(st.integers(1, 4)), floor=0.3, cap=0.97
        )
    return morpho.Params(
        lltv=draw(st.floats(0.3, 0.98)),
        market_supply_usd=draw(st.floats(1e3, 1e9)),
        vault_cap_usd=draw(st.floats(0.0, 1e9)),
        dynamic=dyn,
    )


@SETTINGS
@given(market_params(), market_params(), lending_books(), paths(), markets(), st.integers(0, 30))
def test_the_screen_equals_the_full_scan_bit_for_bit(a, b, book, s, market, k) -> None:
    for switch in (None, (k, b)):
        screen = morpho.simulate_detail(a, book, s, market, switch=switch)
        full = morpho.simulate_detail(a, book, s, market, switch=switch, full_scan=True)
        for key in ("per_path", "collateral", "debt", "to_liquidators"):
            assert np.array_equal(screen[key], full[key]), key


@SETTINGS
@given(market_params(), lending_books(), paths(), markets())
def test_rows_depend_only_on_their_own_path(params, book, s, market) -> None:
    whole = morpho.simulate(params, book, s, market)
    for a in range(s.shape[0]):
        part = morpho.simulate(params, book, np.ascontiguousarray(s[a:]), market)
        assert np.array_equal(part, whole[a:])
        one = morpho.simulate(params, book, np.ascontiguousarray(s[a : a + 1]), market)
        assert np.array_equal(one, whole[a : a + 1])


@SETTINGS
@given(market_params(), lending_books(), paths(), markets())
def test_collateral_is_conserved_and_bad_debt_needs_exhausted_collateral(params, book, s, market) -> None:
    res = morpho.simulate_detail(params, book, s, market)
    out = res["per_path"]
    total = book.collateral.sum()
    held = res["collateral"].sum(axis=1)
    assert np.allclose(held + res["to_liquidators"], total, rtol=1e-9, atol=1e-12)
    assert np.all(res["debt"] >= 0.0) and np.all(res["collateral"] >= 0.0)
    # Debt is either untouched or repaid; a liquidation closes the position.
    assert np.all((res["debt"] == book.debt[None, :]) | (res["debt"] == 0.0))
    assert np.array_equal(out[:, F["bad_debt"]], out[:, F["socialized_loss"]])
    assert np.array_equal(out[:, F["insolvent"]], (out[:, F["bad_debt"]] > 0).astype(float))
    assert np.all(out[:, F["insurance_used"]] == 0.0)
    # Written-off debt only from positions whose collateral went to the liquidators entirely.
    closed_empty = (res["collateral"] == 0.0) & (res["debt"] == 0.0) & (book.debt[None, :] > 0)
    assert np.all((out[:, F["bad_debt"]] == 0.0) | closed_empty.any(axis=1))
    # The vault's loss is its share of the written-off debt.
    assert np.allclose(morpho.vault_loss(params, out), params.vault_share[0] * out[:, F["socialized_loss"]])


@SETTINGS
@given(market_params(), market_params(), lending_books(), paths(), markets(), st.integers(0, 10))
def test_a_switch_at_or_after_the_horizon_changes_nothing_and_at_zero_is_the_other_set(
    a, b, book, s, market, extra
) -> None:
    T = s.shape[1] - 1
    plain = morpho.simulate(a, book, s, market)
    assert np.array_equal(morpho.simulate(a, book, s, market, switch=(T + extra, b)), plain)
    assert np.array_equal(
        morpho.simulate(a, book, s, market, switch=(0, b)), morpho.simulate(b, book, s, market)
    )
    # Identical sets switched anywhere give the run without a switch.
    same = dataclasses.replace(a)
    assert np.array_equal(morpho.simulate(a, book, s, market, switch=(min(extra, T), same)), plain)


def test_the_series_end_at_the_per_path_totals() -> None:
    rng = np.random.default_rng(5)
    d = rng.lognormal(9.0, 1.0, 300)
    book = morpho.Book(d / (2000.0 * rng.uniform(0.3, 0.85, 300)), d)
    r = rng.normal(-0.004, 0.03, (4, 80))
    r[:, 40] -= 0.3
    s = 2000.0 * np.exp(np.hstack([np.zeros((4, 1)), np.cumsum(r, axis=1)]))
    rec = np.array([0, 40, 41, 80])
    out, ser = morpho.simulate(morpho.Params(), book, s, ALWAYS, record_steps=rec)
    assert np.array_equal(out, morpho.simulate(morpho.Params(), book, s, ALWAYS))
    assert np.any(out[:, F["bad_debt"]] > 0) and np.all(out[:, F["n_liq"]] > 0)
    assert np.array_equal(ser["liq_volume_cum"][:, -1], out[:, F["liq_volume"]])
    assert np.array_equal(ser["bad_debt_cum"][:, -1], out[:, F["bad_debt"]])


def test_the_public_surface_is_the_skeletons() -> None:
    assert isinstance(morpho.MECHANISM, _skeleton.Mechanism)
    assert morpho.MECHANISM.name == "morpho-blue" and morpho.MECHANISM.params_cls is morpho.Params
    kernel_args = ["S", "data", "pv", "ksw", "mk", "full_scan", "track", "det", "out", "rec", "ser"]
    assert list(inspect.signature(morpho._kernel.py_func).parameters) == kernel_args
    for fn in (morpho.simulate, morpho.simulate_detail):
        kw = inspect.signature(fn).parameters
        for opt in ("record_steps", "switch", "full_scan"):
            assert kw[opt].kind is inspect.Parameter.KEYWORD_ONLY, (fn.__name__, opt)


# ---------------------------------------------------------------------------------------------
# A vault's several markets of one collateral


def _vault(**kw) -> morpho.Params:
    base = {
        "lltv": (0.86, 0.945),
        "market_supply_usd": (4e7, 2e7),
        "vault_cap_usd": (2e7, 2e7),
        "vault_supply_usd": (1e7, 1e7),
    }
    return morpho.Params(**(base | kw))


def _two(prices: list[float], params=None, market=FREE, d=(1700.0, 1800.0), switch=None) -> dict:
    book = morpho.Book(np.array([1.0, 1.0]), np.array(d), market=np.array([0, 1]))
    return morpho.simulate_detail(params or _vault(), book, np.array([prices]), market, switch=switch)


def test_each_position_is_checked_at_its_own_markets_lltv_and_liquidated_at_its_lif() -> None:
    # Market 0 (lltv 0.86): 1 * o * 0.86 < 1700 from o = 1970 (1694.2). Market 1 (0.945,
    # LIF 1 / 0.9835): 1970 * 0.945 = 1861.65 >= 1850 is healthy, 1950 * 0.945 = 1842.75 is not.
    res = _two([2000.0, 1970.0, 1950.0, 1950.0], d=(1700.0, 1850.0))
    row = res["per_path"][0]
    lif86, lif945 = 1.0 / 0.958, 1.0 / 0.9835
    assert row[F["n_liq"]] == 2 and row[F["bad_debt"]] == 0.0
    assert row[F["liq_volume"]] == pytest.approx(1700.0 + 1850.0, rel=1e-12)
    assert row[F["penalty"]] == pytest.approx((lif86 - 1) * 1700.0 + (lif945 - 1) * 1850.0, rel=1e-12)
    assert res["collateral"][0].tolist() == pytest.approx([1 - 1700 * lif86 / 1970, 1 - 1850 * lif945 / 1950])
    # One step earlier the 0.945 position is still healthy.
    assert _two([2000.0, 1970.0, 1970.0], d=(1700.0, 1850.0))["per_path"][0, F["n_liq"]] == 1


def test_the_vault_loses_its_share_of_each_markets_written_off_debt() -> None:
    # At o = 1600 both positions are under water: market 0 writes off 1700 - 1600 * 0.958 = 167.2,
    # market 1 1800 - 1600 * 0.9835 = 226.4. The vault holds 1e7 of 4e7 and 1e7 of 2e7.
    res = _two([2000.0, 1600.0, 1500.0])
    assert res["bad_debt_by_market"][0].tolist() == pytest.approx([167.2, 226.4], rel=1e-9)
    assert res["per_path"][0, F["bad_debt"]] == pytest.approx(167.2 + 226.4, rel=1e-9)
    assert res["extras"]["vault_loss"][0] == pytest.approx(0.25 * 167.2 + 0.5 * 226.4, rel=1e-9)
    with pytest.raises(EngineError, match="needs one market"):
        morpho.vault_loss(_vault(), res["per_path"])


def test_a_reallocation_during_the_run_counts_from_its_step() -> None:
    # The debt is written off at step 2. Moving the vault's supply out of market 1 at step 2 or
    # before spares it; at step 3 (the horizon) it changes nothing.
    after = _vault(vault_supply_usd=(2e7, 0.0), market_supply_usd=(5e7, 1e7))
    prices = [2000.0, 2000.0, 1600.0, 1500.0]
    plain = _two(prices)["extras"]["vault_loss"][0]
    assert plain == pytest.approx(0.25 * 167.2 + 0.5 * 226.4, rel=1e-9)
    assert _two(prices, switch=(2, after))["extras"]["vault_loss"][0] == pytest.approx(0.4 * 167.2, rel=1e-9)
    assert _two(prices, switch=(3, after))["extras"]["vault_loss"][0] == plain


def test_a_cascade_in_one_market_moves_the_price_for_the_others() -> None:
    # The 1774.53 USD sold in market 0 at step 1 moves the shared price by 1 - 0.177 (depth
    # 1e4): the 0.945 position, healthy at 1970, is liquidated at step 2. Alone it never is.
    market = MarketConditions(
        liquidity=Liquidity(depth_usd=1e4, k=1.0), liquidators=Liquidators(rational=False)
    )
    both = _two([2000.0, 1970.0, 1970.0, 1970.0], market=market)["per_path"][0]
    assert both[F["n_liq"]] == 2
    alone = morpho.Book(np.array([1.0]), np.array([1800.0]), market=np.array([1]))
    out = morpho.simulate(_vault(), alone, np.array([[2000.0, 1970.0, 1970.0, 1970.0]]), market)
    assert out[0, F["n_liq"]] == 0


def test_borrowing_power_weighs_each_market_by_the_vaults_share() -> None:
    book = morpho.Book(np.array([1.0, 2.0, 4.0]), np.array([1.0, 1.0, 1.0]), market=np.array([0, 1, 1]))
    want = 0.25 * 1.0 * 2000.0 * 0.86 + 0.5 * 6.0 * 2000.0 * 0.945
    assert morpho.borrowing_power(_vault(), book, 2000.0) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"lltv": (0.86,)}, "one value per market"),
        ({"vault_supply_usd": (3e7, 1e7)}, r"market 0: vault_supply must be at most supply_cap \(20000000\)"),
        ({"market_supply_usd": (4e7, 5e6)}, "market 1: market_supply .* must be at least vault_supply"),
        ({"lltv": (0.86, 1.0)}, r"lltv\[1\] must be in \(0, 1\)"),
        ({"vault_cap_usd": (2e7, "x")}, r"vault_cap_usd\[1\] must be a number"),
        ({"dynamic": DynamicThreshold(k_vol=1.0)}, "dynamic .* needs one market"),
    ],
)
def test_bad_vaults_are_refused_naming_the_field(kw: dict, match: str) -> None:
    with pytest.raises(EngineError, match=match):
        _vault(**kw)


def test_a_book_naming_a_market_the_vault_lacks_is_refused() -> None:
    book = morpho.Book(np.array([1.0]), np.array([1.0]), market=np.array([2]))
    with pytest.raises(EngineError, match=r"book.market must be below the number of markets \(2\); got 2"):
        morpho.simulate(_vault(), book, np.full((1, 3), 2000.0), FREE)
    with pytest.raises(EngineError, match="book.market must be whole numbers"):
        morpho.Book(np.array([1.0]), np.array([1.0]), market=np.array([0.5]))
    assert morpho.book_from_arrays({"collateral": [1.0], "debt": [1.0], "market": [1.0]}).market.tolist() == [
        1
    ]


def test_a_single_market_gives_the_results_of_the_single_market_engine_bit_for_bit() -> None:
    # tests/engine/data/morpho_single_baseline.npz: the single-market engine's results on these
    # seeded cases, stored before the engine took several markets.
    base = np.load(DATA / "morpho_single_baseline.npz")
    for name, params, book, s, market, switch in _baseline_cases():
        after = None if switch is None else (switch[0], morpho.Params(**switch[1]))
        res = morpho.simulate_detail(
            morpho.Params(**params),
            morpho.Book(**book),
            s,
            market,
            switch=after,
            record_steps=np.array([0, 45, 90]),
        )
        for key in ("per_path", "collateral", "debt", "to_liquidators"):
            assert np.array_equal(res[key], base[f"{name}.{key}"]), (name, key)
        for key, v in res["series"].items():
            assert np.array_equal(v, base[f"{name}.series.{key}"]), (name, key)


def _baseline_cases() -> list[tuple]:
    rng = np.random.default_rng(20261201)
    d = rng.lognormal(9.0, 1.0, 400)
    c = d / (2000.0 * rng.uniform(0.3, 0.9, 400))
    c[:5] = 0.0  # debt without collateral: liquidatable at any price
    d[-5:] = 0.0
    book = {"collateral": c, "debt": d}
    r = rng.normal(-0.004, 0.03, (5, 90))
    r[:, 45] -= 0.25
    s = 2000.0 * np.exp(np.hstack([np.zeros((5, 1)), np.cumsum(r, axis=1)]))
    thin = MarketConditions(
        oracle=Oracle(latency=1, deviation=0.01),
        liquidity=Liquidity(depth_usd=5e6, k=0.8, model="sqrt", max_step_impact=0.3),
        liquidators=Liquidators(gas_cost_usd=20.0, gas_spike=1.5),
    )
    always = MarketConditions(liquidity=Liquidity(depth_usd=2e7), liquidators=Liquidators(rational=False))
    dyn = DynamicThreshold(k_vol=1.0, update_interval=2, floor=0.3, cap=0.97)
    return [
        ("plain", {"lltv": 0.86}, book, s, always, None),
        ("thin", {"lltv": 0.915, "market_supply_usd": 5e7, "vault_cap_usd": 2e7}, book, s, thin, None),
        ("dynamic", {"lltv": 0.86, "dynamic": dyn}, book, s, thin, None),
        ("switch", {"lltv": 0.86}, book, s, thin, (40, {"lltv": 0.77})),
    ]


@st.composite
def vaults(draw, k=None):
    k = k or draw(st.integers(1, 3))
    supply = draw(st.lists(st.floats(1e3, 1e9), min_size=k, max_size=k))
    cap = draw(st.lists(st.floats(0.0, 1e9), min_size=k, max_size=k))
    used = draw(st.lists(st.floats(0.0, 1.0), min_size=k, max_size=k))
    return morpho.Params(
        lltv=tuple(draw(st.lists(st.floats(0.3, 0.98), min_size=k, max_size=k))),
        market_supply_usd=tuple(supply),
        vault_cap_usd=tuple(cap),
        vault_supply_usd=tuple(u * min(c, s) for u, c, s in zip(used, cap, supply, strict=True)),
    )


@st.composite
def vault_cases(draw):
    a = draw(vaults())
    b = draw(vaults(k=a.n_markets))
    book = draw(lending_books())
    where = np.array(draw(st.lists(st.integers(0, a.n_markets - 1), min_size=len(book), max_size=len(book))))
    return a, b, morpho.Book(book.collateral, book.debt, market=where)


@SETTINGS
@given(vault_cases(), paths(), markets(), st.integers(0, 30))
def test_the_screen_equals_the_full_scan_bit_for_bit_over_several_markets(case, s, market, k) -> None:
    a, b, book = case
    for switch in (None, (k, b)):
        screen = morpho.simulate_detail(a, book, s, market, switch=switch)
        full = morpho.simulate_detail(a, book, s, market, switch=switch, full_scan=True)
        for key in ("per_path", "collateral", "debt", "to_liquidators", "bad_debt_by_market"):
            assert np.array_equal(screen[key], full[key]), key
        assert np.array_equal(screen["extras"]["vault_loss"], full["extras"]["vault_loss"])


@SETTINGS
@given(vault_cases(), paths(), markets())
def test_the_vault_loss_is_its_share_of_each_markets_written_off_debt(case, s, market) -> None:
    a, _, book = case
    res = morpho.simulate_detail(a, book, s, market)
    by_market = res["bad_debt_by_market"]
    assert np.allclose(by_market.sum(axis=1), res["per_path"][:, F["bad_debt"]], rtol=1e-9, atol=1e-9)
    share = np.array(a.vault_share)[: by_market.shape[1]]
    assert np.allclose(res["extras"]["vault_loss"], by_market @ share, rtol=1e-9, atol=1e-9)


@SETTINGS
@given(
    market_params(),
    lending_books(),
    paths(),
    markets(),
    st.lists(st.floats(0.3, 0.98), min_size=2, max_size=2),
)
def test_one_market_of_several_gives_the_single_markets_results(params, book, s, market, others) -> None:
    # The book all in market 0 of three, whose other markets hold nothing.
    if params.dynamic is not None:
        params = dataclasses.replace(params, dynamic=None)
    vault = morpho.Params(
        lltv=(params.lltv[0], *others),
        market_supply_usd=(params.market_supply_usd[0], 1e6, 1e6),
        vault_cap_usd=(params.vault_cap_usd[0], 0.0, 0.0),
    )
    one = morpho.simulate(params, book, s, market, extras=True)
    several = morpho.simulate(vault, book, s, market, extras=True)
    assert np.array_equal(one[0], several[0])
    assert np.array_equal(one[1]["vault_loss"], several[1]["vault_loss"])


@SETTINGS
@given(vault_cases(), paths(), markets(), st.integers(0, 10))
def test_a_reallocation_at_or_after_the_horizon_changes_nothing(case, s, market, extra) -> None:
    a, b, book = case
    T = s.shape[1] - 1
    plain = morpho.simulate(a, book, s, market, extras=True)
    late = morpho.simulate(a, book, s, market, switch=(T + extra, b), extras=True)
    assert np.array_equal(late[0], plain[0])
    assert np.array_equal(late[1]["vault_loss"], plain[1]["vault_loss"])
    first = morpho.simulate(a, book, s, market, switch=(0, b), extras=True)
    other = morpho.simulate(b, book, s, market, extras=True)
    assert np.array_equal(first[0], other[0])
    assert np.array_equal(first[1]["vault_loss"], other[1]["vault_loss"])


def test_the_synthetic_vault_book_spreads_positions_by_market_supply_each_healthy_at_its_lltv() -> None:
    book = books.synthetic_book(
        "morpho-blue",
        4000,
        rng=np.random.default_rng(3),
        price=2000.0,
        threshold=[0.86, 0.945],
        market_supply_usd=[3e8, 1e8],
    )
    where = book["market"].astype(int)
    assert set(where.tolist()) == {0, 1} and 0.7 < np.mean(where == 0) < 0.8
    vault = morpho.book_from_arrays(book)
    params = _vault(market_supply_usd=(3e8, 1e8))
    h = book["collateral"] * 2000.0 * np.array([0.86, 0.945])[where] / book["debt"]
    assert h.min() >= 1.05 - 1e-9
    assert np.allclose(health.health("morpho-blue", params, vault, 2000.0), h, rtol=1e-12)
    assert np.allclose(
        books.health(book, "morpho-blue", price=2000.0, threshold=[0.86, 0.945]), h, rtol=1e-12
    )
    with pytest.raises(EngineError, match="one value per market"):
        books.synthetic_book(
            "morpho-blue",
            10,
            rng=np.random.default_rng(3),
            price=2000.0,
            threshold=[0.86],
            market_supply_usd=[1, 2],
        )
