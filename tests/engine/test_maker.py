"""MakerDAO Liquidations 2.0: one-vault auctions computed from dog.sol, clip.sol and abaci.sol."""

import math

import numpy as np
import pytest

from engine import maker
from engine._common import FIELD_INDEX
from engine.errors import EngineError
from engine.market import DynamicThreshold, Liquidators, Liquidity, MarketConditions

ALWAYS = MarketConditions(liquidators=Liquidators(rational=False))


def run(params, ink, debt, prices, market=ALWAYS):
    book = maker.Book(ink=np.asarray(ink, float), debt=np.asarray(debt, float))
    res = maker.simulate_detail(params, book, np.asarray(prices, float), market)
    row = {name: res["per_path"][0, i] for name, i in FIELD_INDEX.items()}
    return row, {k: v[0] for k, v in res.items() if k != "per_path"}


# One stair per engine step (step = step_seconds) keeps the hand arithmetic short.
HOURLY_STAIRS = {
    "mat": 1.45,
    "chop": 1.1,
    "buf": 1.2,
    "cut": 0.9,
    "step": 3600.0,
    "step_seconds": 3600.0,
    "tail": 3 * 3600.0,
    "cusp": 0.5,
    "tip": 10.0,
    "chip": 0.01,
    "dust": 100.0,
    "hole": 1e9,
    "keeper_margin": 0.02,
}


def test_auction_from_kick_through_a_reset_to_a_take_that_exhausts_the_lot():
    params = maker.Params(**HOURLY_STAIRS)
    prices = [[2000.0] + [1400.0] * 7]
    row, led = run(params, [1.0], [1500.0], prices)
    # t=0: ink * o / mat = 1379.3 < 1500: bark (dog.sol), tab = 1500 * chop, top = o * buf.
    tab = 1500.0 * 1.1
    top = 2000.0 * 1.2
    # Stairs top * 0.9**n at t = 0..3 (2400, 2160, 1944, 1749.6) stay above p * 0.98 (1960 at
    # t=0, then 1372). At t=4 the age 4 h > tail 3 h: redo (clip.sol), top = 1400 * 1.2 = 1680.
    assert all(top * 0.9**n > (1960.0 if n == 0 else 1372.0) for n in range(4))
    top2 = 1400.0 * 1.2
    # t=4: 1680, t=5: 1512, t=6: 1360.8 <= 1372 and 0.81 >= cusp: the keeper takes all the lot.
    price = top2 * 0.9**2
    assert top2 * 0.9 > 1372.0 >= price
    owe = 1.0 * price  # slice = lot; owe < tab
    reward = 10.0 + 0.01 * tab  # kick and redo: tip + chip * tab
    assert led["n_kicks"] == 1 and led["n_redos"] == 1 and led["n_takes"] == 1
    assert row["keeper_rewards"] == pytest.approx(2 * reward)
    assert row["liq_volume"] == pytest.approx(owe)
    assert row["penalty"] == 0.0
    assert row["bad_debt"] == pytest.approx(1500.0 - owe)  # the lot is gone, due not covered
    assert led["n_exhausted"] == 1 and led["dirt_final"] == pytest.approx(0.0, abs=1e-9)
    assert row["collateral_sold_usd"] == pytest.approx(1400.0)
    assert led["units_to_keepers"] == 1.0 and led["units_with_vaults"] == 0.0
    assert row["insolvent"] == 1.0 and row["socialized_loss"] == pytest.approx(1500.0 - owe)


def test_surplus_net_of_keeper_rewards_covers_bad_debt_first():
    params = maker.Params(**HOURLY_STAIRS, surplus_buffer=100.0)
    row, _ = run(params, [1.0], [1500.0], [[2000.0] + [1400.0] * 7])
    loss = 1500.0 - 1680.0 * 0.81
    left = 100.0 - 2 * (10.0 + 0.01 * 1650.0)  # the buffer after paying the kick and redo
    assert row["insurance_used"] == pytest.approx(left)
    assert row["socialized_loss"] == pytest.approx(loss - left)


def test_keeper_takes_at_the_first_acceptable_stair_within_the_step_and_the_rest_returns():
    params = maker.Params(
        mat=1.45,
        chop=1.13,
        buf=1.2,
        cut=0.99,
        step=90.0,
        tail=8400.0,
        cusp=0.4,
        tip=0.0,
        chip=0.0,
        dust=100.0,
        hole=1e9,
        keeper_margin=0.02,
        step_seconds=3600.0,
    )
    row, led = run(params, [1.0], [1400.0], [[2000.0, 2000.0]])
    top = 2000.0 * 1.2
    n = math.ceil(math.log(2000.0 * 0.98 / top) / math.log(0.99))  # abaci: first stair <= target
    price = top * 0.99**n
    assert n < 40  # within the first hour's 40 stairs
    tab = 1400.0 * 1.13
    slice_ = tab / price  # owe > tab: pays tab for tab / price
    assert row["liq_volume"] == pytest.approx(1400.0)
    assert row["penalty"] == pytest.approx(tab - 1400.0)
    assert row["protocol_fees"] == row["penalty"]
    assert row["bad_debt"] == 0.0
    assert led["ink"][0] == pytest.approx(1.0 - slice_)  # clip.sol: the rest goes back to usr
    assert led["debt"][0] == 0.0
    assert led["units_to_keepers"] == pytest.approx(slice_)


def test_hole_limits_the_bark_and_the_rest_of_the_vault_waits():
    params = maker.Params(**{**HOURLY_STAIRS, "hole": 2000.0, "keeper_margin": 0.9})
    row, led = run(params, [1.0, 1.0], [1500.0, 1490.0], [[2000.0, 2000.0]])
    # The first vault (larger debt / ink) takes 1650 of the hole; room 350 allows dart = 350 / 1.1
    # of the second, leaving 1490 - 318.2 >= dust: a partial bark (dog.sol).
    dart = (2000.0 - 1500.0 * 1.1) / 1.1
    assert row["n_liq"] == 2
    assert led["debt"][0] == 0.0
    assert led["debt"][1] == pytest.approx(1490.0 - dart)
    assert led["ink"][1] == pytest.approx(1.0 - dart / 1490.0)
    assert led["units_in_auctions"] == pytest.approx(1.0 + dart / 1490.0)
    assert led["dirt_final"] == pytest.approx(2000.0)


def test_bark_takes_the_whole_vault_when_the_rest_would_be_dusty():
    params = maker.Params(**{**HOURLY_STAIRS, "hole": 1600.0, "dust": 200.0, "keeper_margin": 0.9})
    row, led = run(params, [1.0], [1500.0], [[2000.0, 2000.0]])
    # room / chop = 1454.5 leaves 45.5 < dust: dart = the whole debt, dirt goes above hole.
    assert led["debt"][0] == 0.0 and led["units_in_auctions"] == 1.0
    assert led["dirt_final"] == pytest.approx(1500.0 * 1.1)


def test_partial_take_may_not_leave_less_than_dust_times_chop():
    # A rational keeper in a market of finite depth wants owe ~ 14800 of a 15400 tab: the
    # remainder 600 < chost = dust * chop = 1100, so clip.sol take makes it pay tab - chost.
    p, chop, dust = 2000.0, 1.1, 1000.0
    top = p * 1.2
    n = math.ceil(math.log(p * 0.98 / top) / math.log(0.99))
    price = top * 0.99**n
    a = 1.0 - price / p
    want_owe = 14800.0
    depth = 2.0 * (want_owe * p / price) / a  # linear impact: V* = a * depth / 2
    market = MarketConditions(liquidity=Liquidity(depth_usd=depth), liquidators=Liquidators(rational=True))
    params = maker.Params(
        mat=1.45,
        chop=chop,
        buf=1.2,
        cut=0.99,
        step=90.0,
        tail=8400.0,
        cusp=0.4,
        tip=0.0,
        chip=0.0,
        dust=dust,
        hole=1e9,
        keeper_margin=0.02,
        step_seconds=3600.0,
    )
    row, led = run(params, [10.0], [14000.0], [[p, p]], market)
    owe = 14000.0 * chop - dust * chop
    assert row["liq_volume"] == pytest.approx(14000.0)  # owe covers the due first
    assert row["penalty"] == pytest.approx(owe - 14000.0)  # then the penalty
    assert led["units_to_keepers"] == pytest.approx(owe / price)
    assert led["min_tab"] == pytest.approx(dust * chop)
    assert led["units_in_auctions"] == pytest.approx(10.0 - owe / price)


def test_unprofitable_take_leaves_the_auction_running_and_counts_once():
    market = MarketConditions(liquidators=Liquidators(rational=True, gas_cost_usd=1e6))
    params = maker.Params(**HOURLY_STAIRS)
    row, led = run(params, [1.0], [1500.0], [[2000.0] + [1400.0] * 7], market)
    assert led["n_takes"] == 0 and row["n_unprofitable"] == 1.0
    assert led["units_in_auctions"] == 1.0
    # Unrealized at the horizon: the debt in auction less the lot at the final price.
    assert row["unrealized_bad_debt"] == pytest.approx(1500.0 - 1400.0)


def test_redo_pays_no_incentive_when_the_tab_is_below_dust_times_chop():
    params = maker.Params(**{**HOURLY_STAIRS, "dust": 2000.0})  # chost = 2200 > tab = 1650
    row, led = run(params, [1.0], [1500.0], [[2000.0] + [1400.0] * 7])
    assert led["n_redos"] == 1
    assert row["keeper_rewards"] == pytest.approx(10.0 + 0.01 * 1650.0)  # the kick only


def test_dynamic_mat_rises_with_volatility_and_barks_earlier():
    prices = [[2000.0, 2100.0, 2000.0, 2100.0, 2000.0]]
    base = dict(HOURLY_STAIRS, keeper_margin=0.9)
    static = maker.Params(**base)
    dyn = maker.Params(
        **base, dynamic=DynamicThreshold(k_vol=1.0, horizon_steps=24.0, ewma_lambda=0.5, floor=1.0, cap=3.0)
    )
    # 1 * 2000 / 1.45 = 1379 > 1350: safe under the static mat; mat rises to ~1.62 at t = 1.
    row_s, _ = run(static, [1.0], [1350.0], prices)
    row_d, _ = run(dyn, [1.0], [1350.0], prices)
    assert row_s["n_liq"] == 0 and row_d["n_liq"] == 1


def test_step_length_comes_from_the_market_when_not_given():
    assert maker.Params().seconds_per_step(MarketConditions(steps_per_year=365.0)) == 86400.0
    assert maker.Params(step_seconds=60.0).seconds_per_step(MarketConditions()) == 60.0


def test_prices_of_a_path_alone_give_that_row_bit_for_bit():
    rng = np.random.default_rng(11)
    ink = rng.uniform(0.5, 2.0, 300)
    debt = ink * 2000.0 / 1.45 * rng.uniform(0.6, 0.99, 300)
    s = 2000.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (6, 100)), axis=1))
    s = np.hstack([np.full((6, 1), 2000.0), s])
    market = MarketConditions(liquidity=Liquidity(depth_usd=5e5), liquidators=Liquidators(gas_cost_usd=5.0))
    params = maker.Params(hole=20_000.0, dust=100.0, tip=5.0)
    book = maker.Book(ink, debt)
    full = maker.simulate(params, book, s, market)
    part = maker.simulate(params, book, s[1:4], market)
    assert full[:, FIELD_INDEX["n_liq"]].sum() > 0
    assert np.array_equal(full[1:4], part)


@pytest.mark.parametrize(
    "kw, name",
    [
        ({"mat": 0.9}, "mat"),
        ({"chop": 0.95}, "chop"),
        ({"cusp": 1.0}, "cusp"),
        ({"cut": 0.0}, "cut"),
        ({"step": 0.0}, "step"),
        ({"hole": 0.0}, "hole"),
        ({"keeper_margin": 1.0}, "keeper_margin"),
        ({"step_seconds": -5.0}, "step_seconds"),
        ({"tail": float("inf")}, "tail"),
    ],
)
def test_invalid_parameters_are_rejected_naming_the_parameter(kw, name):
    with pytest.raises(EngineError, match=name):
        maker.Params(**kw)


def test_book_accepts_collateral_as_the_name_of_ink():
    book = maker.book_from_arrays({"collateral": np.ones(3), "debt": np.zeros(3)})
    assert book.ink.shape == (3,)
    with pytest.raises(EngineError, match="ink"):
        maker.book_from_arrays({"debt": np.zeros(3)})


def test_params_from_dict_rejects_unknown_names():
    with pytest.raises(EngineError, match="liquidation_bonus"):
        maker.params_from_dict({"liquidation_bonus": 0.1})
    assert maker.params_from_dict({"mat": 1.5, "dynamic": {"k_vol": 0.2}}).dynamic.k_vol == 0.2


def test_tail_and_step_in_engine_steps_with_unit_step_length_match_seconds():
    rng = np.random.default_rng(5)
    ink = rng.uniform(0.5, 2.0, 50)
    debt = ink * 2000.0 / 1.45 * rng.uniform(0.8, 0.99, 50)
    s = np.hstack([[[2000.0]], 2000.0 * np.exp(np.cumsum(rng.normal(-0.01, 0.02, (1, 60)), axis=1))])
    common = {"cut": 0.95, "cusp": 0.3, "dust": 10.0, "tip": 1.0, "hole": 1e6}
    seconds = maker.Params(**common, tail=7200.0, step=900.0, step_seconds=3600.0)
    steps = maker.Params(**common, tail=2.0, step=0.25, step_seconds=1.0)
    book = maker.Book(ink, debt)
    a = maker.simulate(seconds, book, s, ALWAYS)
    assert a[0, FIELD_INDEX["n_liq"]] > 0
    np.testing.assert_allclose(maker.simulate(steps, book, s, ALWAYS), a, rtol=1e-12)


def test_vault_waiting_for_room_is_barked_partially_with_the_little_room_left():
    # Step 0 barks vault 0 whole (tab 1650 of a 1800 hole); at step 1 vault 1 turns unsafe and
    # the room left, 150, is between chost (110) and 2 * chost: dog.sol barks 150 / chop of it.
    params = maker.Params(**{**HOURLY_STAIRS, "hole": 1800.0, "keeper_margin": 0.9})
    prices = [[2000.0, 1800.0, 1800.0]]
    row, led = run(params, [1.0, 1.0], [1500.0, 1300.0], prices)
    assert row["n_liq"] == 2
    assert led["debt"][1] == pytest.approx(1300.0 - 150.0 / 1.1)
    book = maker.Book(np.array([1.0, 1.0]), np.array([1500.0, 1300.0]))
    slow = maker.simulate_detail(params, book, np.asarray(prices), ALWAYS, full_scan=True)
    assert np.array_equal(slow["debt"][0], led["debt"])
