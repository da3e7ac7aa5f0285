"""One-position Aave v3 cases worked out by hand from LiquidationLogic.executeLiquidationCall.

Arithmetic of aave/aave-v3-core contracts/protocol/libraries/logic/LiquidationLogic.sol:
close factor 0.5 (DEFAULT_LIQUIDATION_CLOSE_FACTOR) while HF > 0.95
(CLOSE_FACTOR_HF_THRESHOLD), so 1.0 at or below it; collateral seized = debt repaid * bonus / price
(_calculateAvailableCollateralToLiquidate), capped at the user's balance with the debt repaid
recomputed as balance * price / bonus; liquidationProtocolFee taken from the bonus part.
"""

import numpy as np
import pytest

from engine import aave
from engine._common import FIELD_INDEX as F
from engine.errors import EngineError
from engine.market import DynamicThreshold, Liquidators, Liquidity, MarketConditions, Oracle

ALWAYS = MarketConditions(liquidators=Liquidators(rational=False))


def one(
    c: float,
    d: float,
    prices: list[float],
    params: aave.Params | None = None,
    market: MarketConditions = ALWAYS,
) -> dict:
    params = params or aave.Params(protocol_fee=0.0)
    r = aave.simulate_detail(
        params, aave.Book(np.array([c]), np.array([d])), np.array([prices], dtype=float), market
    )
    row = {name: r["per_path"][0, i] for name, i in F.items()}
    row.update(
        c=r["collateral"][0, 0],
        d=r["debt"][0, 0],
        to_liq=r["to_liquidators"][0],
        to_protocol=r["to_protocol"][0],
    )
    return row


def test_healthy_position_is_not_liquidated() -> None:
    r = one(10.0, 16_000.0, [2000.0, 1980.0, 1970.0])  # h = 10*1970*0.825/16000 = 1.0157
    assert r["n_liq"] == 0 and r["d"] == 16_000.0 and r["c"] == 10.0


def test_partial_liquidation_repays_half_the_debt_with_bonus_and_protocol_fee() -> None:
    # h = 10 * 1900 * 0.825 / 16000 = 0.9797: in (0.95, 1) -> close factor 0.5.
    r = one(10.0, 16_000.0, [2000.0, 1900.0, 1900.0], aave.Params(protocol_fee=0.1))
    seize = 8000.0 * 1.05 / 1900.0  # 4.421052... units
    fee = (seize - seize / 1.05) * 0.1  # 0.0210526 units to the treasury
    assert r["n_liq"] == 1
    assert r["liq_volume"] == pytest.approx(8000.0)
    assert r["d"] == pytest.approx(8000.0)
    assert r["c"] == pytest.approx(10.0 - seize)
    assert r["penalty"] == pytest.approx(400.0)
    assert r["protocol_fees"] == pytest.approx(fee * 1900.0)  # 40 USD
    assert r["protocol_fees"] == pytest.approx(40.0)
    assert r["collateral_sold_usd"] == pytest.approx((seize - fee) * 1900.0)
    assert r["bad_debt"] == 0.0
    # after it, h = 5.5789 * 1900 * 0.825 / 8000 = 1.093: no second liquidation at 1900
    assert r["n_liq"] == 1


def test_below_095_the_whole_debt_is_repaid_and_the_rest_of_the_collateral_stays() -> None:
    # h = 10 * 1800 * 0.825 / 16000 = 0.928 <= 0.95 -> close factor 1.
    r = one(10.0, 16_000.0, [2000.0, 1800.0, 1800.0])
    seize = 16_000.0 * 1.05 / 1800.0  # 9.333 < 10
    assert r["n_liq"] == 1 and r["d"] == 0.0
    assert r["c"] == pytest.approx(10.0 - seize)
    assert r["liq_volume"] == pytest.approx(16_000.0)
    assert r["bad_debt"] == 0.0


def test_capped_collateral_branch_writes_off_the_rest_as_bad_debt() -> None:
    # h = 10 * 1500 * 0.825 / 16000 = 0.773; seize 16000 * 1.05 / 1500 = 11.2 > 10 units:
    # _calculateAvailableCollateralToLiquidate caps at 10 units and the debt covered becomes
    # 10 * 1500 / 1.05 = 14285.71; v3.3 _burnBadDebt writes off 16000 - 14285.71.
    r = one(10.0, 16_000.0, [2000.0, 1500.0, 1500.0], aave.Params(protocol_fee=0.1))
    repay = 10.0 * 1500.0 / 1.05
    assert r["n_liq"] == 1
    assert r["liq_volume"] == pytest.approx(repay)
    assert r["bad_debt"] == pytest.approx(16_000.0 - repay)  # 1714.29
    assert r["bad_debt"] == pytest.approx(1714.2857142857)
    assert r["penalty"] == pytest.approx(0.05 * repay)
    assert r["c"] == 0.0 and r["d"] == 0.0
    fee = (10.0 - 10.0 / 1.05) * 0.1
    assert r["to_protocol"] == pytest.approx(fee)
    assert r["to_liq"] == pytest.approx(10.0 - fee)
    assert r["unrealized_bad_debt"] == 0.0


def test_small_position_rule_of_v33_closes_the_whole_debt() -> None:
    # h = 0.9797 would give close factor 0.5, but 1 unit * 1900 < 2000 USD of collateral.
    small = aave.Params(protocol_fee=0.0, small_position_usd=2000.0)
    assert one(1.0, 1600.0, [2000.0, 1900.0, 1900.0], small)["d"] == 0.0
    assert one(1.0, 1600.0, [2000.0, 1900.0, 1900.0])["d"] == pytest.approx(800.0)


def test_unprofitable_liquidation_is_left_open_and_counted_once() -> None:
    # Repaying 800 USD earns 0.442 units * 1900 = 840 USD: 40 USD < 100 USD of gas.
    market = MarketConditions(liquidators=Liquidators(rational=True, gas_cost_usd=100.0))
    r = one(1.0, 1600.0, [2000.0, 1900.0, 1900.0, 1900.0], market=market)
    assert r["n_liq"] == 0 and r["n_unprofitable"] == 1 and r["d"] == 1600.0
    cheap = MarketConditions(liquidators=Liquidators(rational=True, gas_cost_usd=10.0))
    assert one(1.0, 1600.0, [2000.0, 1900.0, 1900.0], market=cheap)["n_liq"] == 1


def test_gas_spike_makes_a_liquidation_unprofitable_in_a_drawdown() -> None:
    # gas = 20 * (1 + 100 * (1 - 1900/2000)) = 120 USD > 40 USD of profit.
    spike = MarketConditions(liquidators=Liquidators(rational=True, gas_cost_usd=20.0, gas_spike=100.0))
    assert one(1.0, 1600.0, [2000.0, 1900.0, 1900.0], market=spike)["n_liq"] == 0


def test_unrealized_bad_debt_counts_positions_underwater_at_the_horizon() -> None:
    # The last price is never checked (the horizon): d - c * p = 1600 - 1000.
    r = one(1.0, 1600.0, [2000.0, 2000.0, 1000.0])
    assert r["n_liq"] == 0 and r["unrealized_bad_debt"] == pytest.approx(600.0)


def test_oracle_latency_delays_the_liquidation() -> None:
    prices = [2000.0, 1900.0, 1900.0, 1900.0, 1900.0]
    late = MarketConditions(oracle=Oracle(latency=2), liquidators=Liquidators(rational=False))
    # latency 2: the oracle shows 1900 from step 3 on; the position survives with T = 3 steps.
    assert one(10.0, 16_000.0, prices[:4], market=late)["n_liq"] == 0
    assert one(10.0, 16_000.0, prices, market=late)["n_liq"] == 1
    assert one(10.0, 16_000.0, prices[:3])["n_liq"] == 1


def test_push_oracle_ignores_moves_below_the_deviation_until_the_heartbeat() -> None:
    # 1930 is 3.5 % below 2000: no round at 5 % deviation; h(1930) = 0.995 would liquidate.
    prices = [2000.0] + [1930.0] * 6
    push = MarketConditions(
        oracle=Oracle(deviation=0.05, heartbeat=4), liquidators=Liquidators(rational=False)
    )
    assert one(10.0, 16_000.0, prices[:4], market=push)["n_liq"] == 0  # steps 0..3
    assert one(10.0, 16_000.0, prices, market=push)["n_liq"] == 1  # heartbeat at step 4


def test_linear_impact_of_the_sale_lowers_the_next_price() -> None:
    depth = 1e6
    market = MarketConditions(
        liquidity=Liquidity(depth_usd=depth, k=1.0), liquidators=Liquidators(rational=False)
    )
    r = one(10.0, 16_000.0, [2000.0, 1900.0, 1900.0], market=market)
    sold = 8000.0 * 1.05  # seize * p = repay * 1.05 / 1900 * 1900
    assert r["collateral_sold_usd"] == pytest.approx(sold)
    assert r["final_price"] == pytest.approx(1900.0 * (1.0 - sold / depth))


def test_sqrt_impact_and_the_per_step_floor() -> None:
    sq = MarketConditions(
        liquidity=Liquidity(depth_usd=1e6, k=0.5, model="sqrt"), liquidators=Liquidators(rational=False)
    )
    r = one(10.0, 16_000.0, [2000.0, 1900.0, 1900.0], market=sq)
    assert r["final_price"] == pytest.approx(1900.0 * (1.0 - 0.5 * np.sqrt(8400.0 / 1e6)))
    floored = MarketConditions(
        liquidity=Liquidity(depth_usd=1.0, max_step_impact=0.3), liquidators=Liquidators(rational=False)
    )
    r = one(10.0, 16_000.0, [2000.0, 1900.0, 1900.0], market=floored)
    assert r["final_price"] == pytest.approx(1900 * 0.7)


def test_dynamic_threshold_lowers_lt_when_volatility_rises() -> None:
    # Static LT 0.825: the lowest h is 1850 * 0.825 / 1500 = 1.0175, never liquidatable. Moves
    # of 10-15 % a step give an EWMA sigma near 0.1, so LT = 0.825 - 2 * 0.1 * sqrt(24) hits the
    # 0.5 floor and h = 1900 * 0.5 / 1500 = 0.63.
    prices = [2000.0, 2200.0, 1850.0, 2150.0, 1900.0, 1900.0]
    dyn = aave.Params(
        protocol_fee=0.0, dynamic=DynamicThreshold(k_vol=2.0, horizon_steps=24.0, ewma_lambda=0.5, floor=0.5)
    )
    assert one(1.0, 1500.0, prices)["n_liq"] == 0
    assert one(1.0, 1500.0, prices, dyn)["n_liq"] >= 1


def test_reserves_absorb_bad_debt_before_insolvency() -> None:
    p = aave.Params(protocol_fee=0.0, reserves_usd=1000.0)
    r = one(10.0, 16_000.0, [2000.0, 1500.0, 1500.0], p)
    assert r["insurance_used"] == 1000.0
    assert r["socialized_loss"] == pytest.approx(714.2857142857)
    assert r["insolvent"] == 1.0
    assert one(10.0, 16_000.0, [2000.0, 1500.0, 1500.0], aave.Params(reserves_usd=5000.0))["insolvent"] == 0.0


def test_positions_without_debt_are_never_touched() -> None:
    r = one(10.0, 0.0, [2000.0, 10.0, 10.0])
    assert r["n_liq"] == 0 and r["c"] == 10.0 and r["unrealized_bad_debt"] == 0.0


@pytest.mark.parametrize(
    "kw, needle",
    [
        ({"liquidation_threshold": 1.2}, "liquidation_threshold must be in [0, 1]; got 1.2"),
        # The invariants are engine.rules.aave_v3, the proposal form's own (same messages).
        ({"ltv": 0.9}, "ltv must be at most liquidation_threshold (0.825); it is 0.9."),
        (
            {"liquidation_threshold": 0.97},
            "liquidation_threshold x (1 + liquidation_bonus) must be at most 1",
        ),
        ({"liquidation_bonus": 0.0}, "liquidation_bonus must be in (0, 1]; got 0.0"),
        ({"close_factor": 0.0}, "close_factor must be in (0, 1]"),
    ],
)
def test_invalid_parameters_are_rejected_with_name_range_and_value(kw: dict, needle: str) -> None:
    with pytest.raises(EngineError) as e:
        aave.Params(**kw)
    assert needle in str(e.value)


def test_params_from_dict_rejects_unknown_keys_and_builds_dynamic() -> None:
    with pytest.raises(EngineError, match="unknown aave-v3 parameter 'lt'"):
        aave.params_from_dict({"lt": 0.8})
    p = aave.params_from_dict({"liquidation_threshold": 0.8, "dynamic": {"k_vol": 1.0}})
    assert p.dynamic == DynamicThreshold(k_vol=1.0)


def test_book_rejects_negative_debt_and_mismatched_lengths() -> None:
    with pytest.raises(EngineError, match="book.debt must be finite and >= 0; got -1.0"):
        aave.Book(np.array([1.0]), np.array([-1.0]))
    with pytest.raises(EngineError, match="one length"):
        aave.book_from_arrays({"collateral": np.ones(2), "debt": np.ones(3)})


def test_prices_must_be_positive() -> None:
    with pytest.raises(EngineError, match="prices must be finite and > 0"):
        aave.simulate(aave.Params(), aave.Book(np.ones(1), np.ones(1)), np.array([[1.0, 0.0]]), ALWAYS)


def test_at_exactly_095_the_whole_debt_may_be_repaid() -> None:
    # h = 10 * (1900 * 0.5) / 10000 = 0.95 exactly in floating point (9500 / 10000 rounds to
    # the double nearest 0.95, the same as the literal). LiquidationLogic keeps the default close
    # factor only while `healthFactor > CLOSE_FACTOR_HF_THRESHOLD`, so at 0.95 it is 1.0.
    params = aave.Params(ltv=0.4, liquidation_threshold=0.5, protocol_fee=0.0)
    assert 10.0 * (1900.0 * 0.5) / 10_000.0 == 0.95
    r = one(10.0, 10_000.0, [2000.0, 1900.0, 1900.0], params)
    assert r["n_liq"] == 1 and r["d"] == 0.0
    assert r["liq_volume"] == 10_000.0
    assert r["c"] == pytest.approx(10.0 - 10_000.0 * 1.05 / 1900.0)
    # a hair above 0.95 the default close factor holds
    r = one(10.0, 10_000.0 * (1 - 1e-9), [2000.0, 1900.0, 1900.0], params)
    assert r["liq_volume"] == pytest.approx(5_000.0 * (1 - 1e-9))


V33 = {"protocol_fee": 0.1, "small_position_usd": 2_000.0, "min_leftover_usd": 1_000.0}


def test_leftover_rule_is_off_by_default() -> None:
    assert aave.Params().min_leftover_usd == 0.0
    # Without it, close factor 0.8 repays 2,400 of a 3,000 USD debt and leaves 600.
    # h = 1.875 * 1900 * 0.825 / 3000 = 0.97969 in (0.95, 1).
    r = one(1.875, 3_000.0, [2000.0, 1900.0, 1900.0], aave.Params(close_factor=0.8, protocol_fee=0.1))
    assert r["liq_volume"] == pytest.approx(2_400.0)


def test_leftover_rule_allows_a_liquidation_that_leaves_enough_of_both() -> None:
    # h = 1.3 * 1880 * 0.825 / 2020 = 0.99817; collateral 2,444 USD and debt 2,020 USD, both
    # >= 2,000: close factor 0.5. Repaying 1,010 leaves 1,010 of debt and
    # 2,444 - 1010 * (1.05 - 0.05 * 0.1) = 1,388.5 USD of collateral: allowed as it is.
    r = one(1.3, 2_020.0, [2000.0, 1880.0, 1880.0], aave.Params(**V33))
    assert r["liq_volume"] == pytest.approx(1_010.0)
    assert r["d"] == pytest.approx(1_010.0)


def test_leftover_rule_keeps_1000_usd_of_debt() -> None:
    # Close factor 0.8 on the position above: 2,400 of 3,000 would leave 600 USD of debt, so
    # the liquidator repays 3,000 - 1,000 = 2,000 (the collateral test allows
    # (1.875 * 1900 - 1000) / 1.045 = 2,452.2).
    r = one(1.875, 3_000.0, [2000.0, 1900.0, 1900.0], aave.Params(close_factor=0.8, **V33))
    assert r["liq_volume"] == pytest.approx(2_000.0)
    assert r["d"] == pytest.approx(1_000.0)
    seize = 2_000.0 * 1.05 / 1900.0
    assert r["c"] == pytest.approx(1.875 - seize)


def test_leftover_rule_keeps_1000_usd_of_collateral() -> None:
    # LT 0.66, bonus 0.5 (0.66 * 1.5 = 0.99 <= 1), no protocol fee, close factor 0.9.
    # c = 8 ETH, d = 10,000 USD; at o = 1,800: collateral 14,400 USD, h = 14400 * 0.66 / 10000
    # = 0.9504 > 0.95. Close factor amount 9,000 (leaves 1,000 of debt: allowed), but its
    # seizure 9000 * 1.5 / 1800 = 7.5 ETH leaves 0.5 ETH = 900 USD < 1,000. The largest
    # allowed repayment is (14400 - 1000) / 1.5 = 8,933.33, leaving exactly 1,000 USD.
    params = aave.Params(
        ltv=0.6,
        liquidation_threshold=0.66,
        liquidation_bonus=0.5,
        close_factor=0.9,
        protocol_fee=0.0,
        small_position_usd=2_000.0,
        min_leftover_usd=1_000.0,
    )
    r = one(8.0, 10_000.0, [2000.0, 1800.0, 1800.0], params)
    repay = (14_400.0 - 1_000.0) / 1.5
    assert r["n_liq"] == 1
    assert r["liq_volume"] == pytest.approx(repay)
    assert r["c"] * 1800.0 == pytest.approx(1_000.0)
    assert r["d"] == pytest.approx(10_000.0 - repay)


def test_leftover_rule_does_not_apply_to_a_full_close() -> None:
    # h = 1.1 * 1840 * 0.825 / 2000 = 0.8349 <= 0.95: close factor 1; the seizure
    # 2000 * 1.05 / 1840 = 1.1413 ETH exceeds the 1.1 ETH held: capped, all collateral taken.
    r = one(1.1, 2_000.0, [2500.0, 1840.0, 1840.0], aave.Params(**V33))
    assert r["d"] == 0.0 and r["c"] == 0.0
    assert r["liq_volume"] == pytest.approx(1.1 * 1840.0 / 1.05)


def test_leftover_rule_needs_the_small_position_rule_at_twice_its_size() -> None:
    with pytest.raises(EngineError, match="small_position_usd >= 2 \\* min_leftover_usd"):
        aave.Params(min_leftover_usd=1_000.0, small_position_usd=1_500.0)
    with pytest.raises(EngineError, match="min_leftover_usd"):
        aave.Params(min_leftover_usd=-1.0)
