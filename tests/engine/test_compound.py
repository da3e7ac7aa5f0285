"""Compound v3 (Comet) absorb and storefront: one-account cases computed from Comet.sol's formulas."""

import numpy as np
import pytest

from engine import compound
from engine._common import FIELD_INDEX
from engine.errors import EngineError
from engine.market import DynamicThreshold, Liquidators, Liquidity, MarketConditions

ALWAYS = MarketConditions(liquidators=Liquidators(rational=False))


def run(params, c, d, prices, market=ALWAYS):
    book = compound.Book(collateral=np.asarray(c, float), debt=np.asarray(d, float))
    res = compound.simulate_detail(params, book, np.asarray(prices, float), market)
    row = {name: res["per_path"][0, i] for name, i in FIELD_INDEX.items()}
    return row, {k: v[0] for k, v in res.items() if k != "per_path"}


def test_absorb_without_shortfall_credits_the_borrower_and_the_store_sells_at_the_discount():
    params = compound.Params(
        liquidate_collateral_factor=0.895,
        liquidation_factor=0.95,
        store_front_price_factor=0.6,
        target_reserves=1e6,
        reserves=0.0,
    )
    # 1 unit against 1800 USD at o = 2000: 1 * 2000 * 0.895 = 1790 < 1800, liquidatable.
    row, led = run(params, [1.0], [1800.0], [[2000.0, 2000.0]])
    credited = 1.0 * 2000.0 * 0.95  # absorbInternal deltaValue
    credit = credited - 1800.0  # new balance, >= 0: 100
    store_price = 2000.0 * (1 - 0.6 * (1 - 0.95))  # quoteCollateral: 1940
    assert row["n_liq"] == 1
    assert row["liq_volume"] == 1800.0
    assert row["penalty"] == pytest.approx(2000.0 - 1800.0 - credit)  # = 2000 * (1 - 0.95)
    assert row["bad_debt"] == 0.0 and row["insurance_used"] == 0.0 and row["insolvent"] == 0.0
    # Comet's reserves fell by d + credit = 1900 < target, so the store opened and sold it all.
    assert led["units_to_buyers"] == 1.0 and led["units_with_protocol"] == 0.0
    assert row["protocol_fees"] == pytest.approx(store_price - credited)  # 40
    assert led["reserves_final"] == pytest.approx(store_price - credited)
    assert led["comet_reserves_final"] == pytest.approx(0.0 - (1800.0 + credit) + store_price)
    assert row["collateral_sold_usd"] == 2000.0
    assert row["final_price"] == 2000.0  # infinite depth: no impact


def test_shortfall_is_taken_from_reserves_when_they_cover_it():
    params = compound.Params(
        liquidation_factor=0.95, store_front_price_factor=0.6, target_reserves=1e6, reserves=100.0
    )
    row, led = run(params, [1.0], [1950.0], [[2000.0, 2000.0]])
    shortfall = 1950.0 - 2000.0 * 0.95  # 50: the new balance would be negative
    assert row["bad_debt"] == pytest.approx(shortfall)
    assert row["insurance_used"] == pytest.approx(shortfall)
    assert row["socialized_loss"] == 0.0 and row["insolvent"] == 0.0
    assert row["penalty"] == pytest.approx(2000.0 - 1950.0)  # credit is 0: all the equity
    gain = 2000.0 * (1 - 0.6 * 0.05) - 2000.0 * 0.95
    assert led["reserves_final"] == pytest.approx(100.0 - shortfall + gain)


def test_shortfall_beyond_reserves_is_lost_by_suppliers_and_flags_insolvency():
    params = compound.Params(
        liquidation_factor=0.95, store_front_price_factor=0.6, target_reserves=1e6, reserves=20.0
    )
    row, led = run(params, [1.0], [1950.0], [[2000.0, 2000.0]])
    assert row["bad_debt"] == pytest.approx(50.0)
    assert row["insurance_used"] == pytest.approx(20.0)
    assert row["socialized_loss"] == pytest.approx(30.0)
    assert row["insolvent"] == 1.0
    gain = 2000.0 * (1 - 0.6 * 0.05) - 2000.0 * 0.95
    assert led["reserves_final"] == pytest.approx(gain)
    assert led["comet_reserves_final"] == pytest.approx(gain - 30.0)


def test_store_stays_closed_at_target_reserves_and_the_held_collateral_is_unrealized_loss():
    params = compound.Params(liquidation_factor=0.95, target_reserves=1e6, reserves=2e6)
    row, led = run(params, [1.0], [1800.0], [[2000.0, 1500.0]])
    # buyCollateral reverts NotForSale: 2e6 - 1900 >= 1e6.
    assert row["n_liq"] == 1 and led["units_with_protocol"] == 1.0 and led["units_to_buyers"] == 0.0
    assert row["collateral_sold_usd"] == 0.0 and row["n_unprofitable"] == 0.0
    assert led["basis_final"] == pytest.approx(1900.0)
    assert row["unrealized_bad_debt"] == pytest.approx(1900.0 - 1500.0)


def test_rational_buyer_buys_the_profit_maximizing_amount_and_the_sale_moves_the_price():
    depth = 1e5
    market = MarketConditions(
        liquidity=Liquidity(depth_usd=depth, k=1.0), liquidators=Liquidators(rational=True)
    )
    params = compound.Params(liquidation_factor=0.95, store_front_price_factor=0.6, target_reserves=1e6)
    row, led = run(params, [1.0], [1800.0], [[2000.0, 2000.0]], market)
    a = 0.6 * 0.05  # discount off o = p
    v_star = a / (2 * (1.0 / depth))  # argmax V * (a - V / depth): 1500 USD
    assert row["collateral_sold_usd"] == pytest.approx(v_star)
    assert led["units_to_buyers"] == pytest.approx(v_star / 2000.0)
    assert led["units_with_protocol"] == pytest.approx(1.0 - v_star / 2000.0)
    assert row["final_price"] == pytest.approx(2000.0 * (1 - v_star / depth))


def test_store_sale_that_does_not_cover_gas_is_left_and_counted():
    market = MarketConditions(liquidity=Liquidity(depth_usd=1e5), liquidators=Liquidators(gas_cost_usd=30.0))
    params = compound.Params(liquidation_factor=0.95, store_front_price_factor=0.6, target_reserves=1e6)
    # Best profit: 1500 * (0.03 - 0.015) = 22.5 USD < 30 USD of gas, at each of the 2 steps.
    row, led = run(params, [1.0], [1800.0], [[2000.0, 2000.0, 2000.0]], market)
    assert row["n_unprofitable"] == 2.0
    assert led["units_with_protocol"] == 1.0 and row["collateral_sold_usd"] == 0.0


def test_healthy_book_on_flat_prices_is_never_absorbed():
    params = compound.Params()
    c = np.array([1.0, 2.0, 0.5])
    d = c * 2000.0 * params.borrow_collateral_factor
    row, led = run(params, c, d, [[2000.0] * 50])
    assert row["n_liq"] == 0 and row["bad_debt"] == 0 and led["units_with_borrowers"] == c.sum()


def test_dynamic_liquidate_factor_falls_with_volatility_and_absorbs_earlier():
    # 1 * 2000 * 0.895 = 1790 > 1760: safe under the static factor at both prices' lows.
    prices = [[2000.0, 2100.0, 2000.0, 2100.0, 2000.0, 2100.0, 2000.0]]
    static = compound.Params(target_reserves=0.0, reserves=1e6)  # store closed: holds what it absorbs
    vol = DynamicThreshold(k_vol=1.0, horizon_steps=24.0, ewma_lambda=0.5, floor=0.5, cap=1.0)
    dyn = compound.Params(target_reserves=0.0, reserves=1e6, dynamic=vol)
    row_s, _ = run(static, [1.0], [1760.0], prices)
    row_d, led = run(dyn, [1.0], [1760.0], prices)
    assert row_s["n_liq"] == 0
    assert row_d["n_liq"] == 1 and led["units_with_protocol"] == 1.0


def test_account_without_collateral_is_absorbed_at_once_and_all_its_debt_is_shortfall():
    row, _ = run(compound.Params(reserves=0.0), [0.0], [500.0], [[2000.0, 2000.0]])
    assert row["n_liq"] == 1 and row["bad_debt"] == 500.0 and row["socialized_loss"] == 500.0


def test_prices_of_a_path_alone_give_that_row_bit_for_bit():
    rng = np.random.default_rng(7)
    c = rng.uniform(0.5, 2.0, 200)
    d = c * 2000.0 * rng.uniform(0.6, 0.89, 200)
    s = 2000.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (6, 100)), axis=1))
    s = np.hstack([np.full((6, 1), 2000.0), s])
    market = MarketConditions(liquidity=Liquidity(depth_usd=5e5), liquidators=Liquidators(gas_cost_usd=5.0))
    book = compound.Book(c, d)
    full = compound.simulate(compound.Params(reserves=1e3, target_reserves=1e5), book, s, market)
    part = compound.simulate(compound.Params(reserves=1e3, target_reserves=1e5), book, s[2:5], market)
    assert full[:, FIELD_INDEX["n_liq"]].sum() > 0
    assert np.array_equal(full[2:5], part)


@pytest.mark.parametrize(
    "kw, name",
    [
        ({"borrow_collateral_factor": 0.9, "liquidate_collateral_factor": 0.9}, "borrow_collateral_factor"),
        ({"liquidate_collateral_factor": 1.2}, "liquidate_collateral_factor"),
        ({"store_front_price_factor": 1.5}, "store_front_price_factor"),
        ({"liquidation_factor": 0.0}, "liquidation_factor"),
        ({"reserves": -1.0}, "reserves"),
    ],
)
def test_invalid_parameters_are_rejected_naming_the_parameter(kw, name):
    with pytest.raises(EngineError, match=name):
        compound.Params(**kw)


def test_params_from_dict_builds_dynamic_and_rejects_unknown_names():
    p = compound.params_from_dict({"liquidation_factor": 0.9, "dynamic": {"k_vol": 0.5}})
    assert p.liquidation_factor == 0.9 and p.dynamic.k_vol == 0.5
    with pytest.raises(EngineError, match="close_factor"):
        compound.params_from_dict({"close_factor": 0.5})


def test_book_rejects_negative_debt_naming_it():
    with pytest.raises(EngineError, match="book.debt"):
        compound.book_from_arrays({"collateral": np.ones(2), "debt": np.array([1.0, -2.0])})
