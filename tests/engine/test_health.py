"""engine.health: each mechanism's liquidation test as a ratio that is 1 at the liquidation point,
checked on one position computed by hand, then over whole books."""

import numpy as np
import pytest

from engine import aave, compound, cross, health, maker, perp
from engine.api import load_mechanism
from engine.errors import EngineError
from engine.market import MarketConditions


def one(**arrays):
    return {k: np.array([v], dtype=np.float64) for k, v in arrays.items()}


def test_aave_health_is_collateral_value_times_lt_over_debt():
    book = one(collateral=10.0, debt=15_000.0)
    h = health.health("aave-v3", aave.Params(ltv=0.7, liquidation_threshold=0.8), book, 2000.0)
    assert h[0] == pytest.approx(10 * 2000 * 0.8 / 15_000)  # 1.0667


def test_compound_health_is_the_ratio_of_the_liquidation_margin():
    book = one(collateral=5.0, debt=12_000.0)
    p = compound.Params(borrow_collateral_factor=0.8, liquidate_collateral_factor=0.9)
    assert health.health("compound-v3", p, book, 3000.0)[0] == pytest.approx(5 * 3000 * 0.9 / 12_000)  # 1.125


def test_maker_health_is_collateralization_over_mat():
    book = one(ink=10.0, debt=10_000.0)
    assert health.health("maker-clip", maker.Params(mat=1.5), book, 2000.0)[0] == pytest.approx(
        20_000 / 15_000
    )


def test_perp_health_is_equity_over_the_tiered_maintenance_margin():
    params = perp.Params(tier_floors=(0.0, 5e6), tier_imf=(0.04, 0.08), tier_mmf=(0.02, 0.04))
    # Long 100 at 2,000 with 5,000 margin, mark 2,000: equity 5,000, notional 200,000 in tier 1,
    # maintenance 0.02 * 200,000 = 4,000.
    small = one(size=100.0, entry_price=2000.0, margin=5000.0)
    assert health.health("perp", params, small, 2000.0)[0] == pytest.approx(5000 / 4000)
    # 3,000 long: notional 6M in tier 2, maintenance 6M * 0.04 - 5M * (0.04 - 0.02) = 140,000.
    big = one(size=3000.0, entry_price=2000.0, margin=200_000.0)
    assert health.health("perp", params, big, 2000.0)[0] == pytest.approx(200_000 / 140_000)
    # A short marked up 10: equity 5,000 - 100 * 10 = 4,000 over 0.02 * 201,000 = 4,020.
    short = one(size=-100.0, entry_price=2000.0, margin=5000.0)
    assert health.health("perp", params, short, 2010.0)[0] == pytest.approx(4000 / 4020)


def test_cross_health_sums_every_assets_threshold_weighted_value():
    book = {"collateral": np.array([[1.0, 0.1]]), "debt": np.array([2000.0])}
    params = cross.Params(liquidation_threshold=(0.8, 0.7), liquidation_bonus=(0.05, 0.1))
    h = health.health("cross", params, book, np.array([2000.0, 30_000.0]))
    assert h[0] == pytest.approx((2000 * 0.8 + 3000 * 0.7) / 2000)


def test_morpho_health_is_collateral_value_times_lltv_over_debt():
    book = {"collateral": np.array([10.0, 2.0]), "debt": np.array([8_600.0, 4_000.0])}
    h = health.health("morpho-blue", {"lltv": 0.86}, book, 1000.0)
    # 10 * 1000 * 0.86 / 8600 = 1 exactly (healthy at the boundary: Morpho.sol maxBorrow >= borrowed)
    assert h[0] == 1.0
    assert h[1] == pytest.approx(2.0 * 1000.0 * 0.86 / 4000.0, rel=1e-15)


def test_a_position_without_debt_has_infinite_health():
    book = {"collateral": np.array([1.0, 1.0]), "debt": np.array([0.0, 1000.0])}
    h = health.health("aave-v3", aave.Params(), book, 2000.0)
    assert h[0] == np.inf and np.isfinite(h[1])


def test_lowering_the_threshold_makes_a_position_liquidatable():
    book = one(collateral=10.0, debt=15_000.0)
    change = health.compare_health(
        "aave-v3",
        aave.Params(ltv=0.7, liquidation_threshold=0.8),
        aave.Params(ltv=0.7, liquidation_threshold=0.74),  # 10 * 2000 * 0.74 / 15,000 = 0.987
        book,
        2000.0,
    )
    assert change.newly_liquidatable.tolist() == [True] and change.closer.tolist() == [False]


def test_a_position_left_exactly_at_one_is_not_liquidatable_but_moved_closer():
    book = one(collateral=10.0, debt=15_000.0)
    change = health.compare_health(
        "aave-v3",
        aave.Params(ltv=0.7, liquidation_threshold=0.8),  # 1.0667
        aave.Params(ltv=0.7, liquidation_threshold=0.75),  # exactly 1.0: 0.9375 of before
        book,
        2000.0,
    )
    assert change.after[0] == 1.0
    assert change.newly_liquidatable.tolist() == [False] and change.closer.tolist() == [True]


def test_a_position_moved_less_than_five_percent_closer_is_in_neither_group():
    book = one(collateral=5.0, debt=12_000.0)
    before = compound.Params(borrow_collateral_factor=0.8, liquidate_collateral_factor=0.9)
    after = compound.Params(borrow_collateral_factor=0.8, liquidate_collateral_factor=0.86)  # 0.956 of before
    change = health.compare_health("compound-v3", before, after, book, 3000.0)
    assert not change.newly_liquidatable.any() and not change.closer.any()
    closer = compound.Params(borrow_collateral_factor=0.8, liquidate_collateral_factor=0.85)  # 0.944
    assert health.compare_health("compound-v3", before, closer, book, 3000.0).closer.tolist() == [True]


def test_raising_mat_moves_a_vault_closer_and_lowering_it_moves_none():
    book = one(ink=10.0, debt=10_000.0)  # 1.333 at mat 1.5
    up = health.compare_health("maker-clip", maker.Params(mat=1.5), maker.Params(mat=1.6), book, 2000.0)
    assert up.closer.tolist() == [True]  # 1.25 / 1.333 = 0.9375
    down = health.compare_health("maker-clip", maker.Params(mat=1.5), maker.Params(mat=1.4), book, 2000.0)
    assert not down.closer.any() and not down.newly_liquidatable.any()


def test_raising_maintenance_makes_a_perp_position_liquidatable():
    book = one(size=100.0, entry_price=2000.0, margin=5000.0)
    before = perp.Params(tier_floors=(0.0,), tier_imf=(0.04,), tier_mmf=(0.02,))  # 1.25
    after = perp.Params(tier_floors=(0.0,), tier_imf=(0.06,), tier_mmf=(0.03,))  # 5,000 / 6,000
    change = health.compare_health("perp", before, after, book, 2000.0)
    assert change.after[0] == pytest.approx(5000 / 6000)
    assert change.newly_liquidatable.tolist() == [True]


def test_positions_already_liquidatable_or_without_debt_are_not_counted():
    book = {"collateral": np.array([1.0, 1.0]), "debt": np.array([0.0, 1900.0])}  # h 0 debt, 0.842
    change = health.compare_health(
        "aave-v3",
        aave.Params(ltv=0.4, liquidation_threshold=0.8),
        aave.Params(ltv=0.4, liquidation_threshold=0.5),
        book,
        2000.0,
    )
    assert not change.newly_liquidatable.any() and not change.closer.any()


def test_health_over_a_book_equals_the_formula_position_by_position():
    rng = np.random.default_rng(3)
    c, d = rng.uniform(1, 100, 500), rng.uniform(1000, 200_000, 500)
    h = health.health(
        "aave-v3", aave.Params(liquidation_threshold=0.83), {"collateral": c, "debt": d}, 3000.0
    )
    assert h.shape == (500,)
    assert h.tolist() == [ci * 3000.0 * 0.83 / di for ci, di in zip(c, d, strict=True)]


def test_exposure_is_debt_and_collateral_in_usd_and_a_perps_notional_and_margin():
    debt, coll = health.exposure("maker-clip", one(ink=10.0, debt=10_000.0), 2000.0)
    assert (debt[0], coll[0]) == (10_000.0, 20_000.0)
    notional, margin = health.exposure("perp", one(size=-3.0, entry_price=2000.0, margin=600.0), 2100.0)
    assert (notional[0], margin[0]) == (6300.0, 600.0)


@pytest.mark.parametrize(
    "mechanism,price,message",
    [
        ("morpho", 1.0, "mechanism must be one of"),
        ("aave-v3", 0.0, "price must be a finite number > 0"),
        ("aave-v3", float("nan"), "price must be a finite number > 0"),
    ],
)
def test_bad_input_names_what_is_wrong(mechanism, price, message):
    with pytest.raises(EngineError, match=message):
        health.health(mechanism, {}, {"collateral": np.ones(1), "debt": np.ones(1)}, price)


def test_the_closer_ratio_must_be_a_fraction():
    with pytest.raises(EngineError, match=r"closer_ratio must be in \(0, 1\)"):
        health.compare_health("aave-v3", {}, {}, one(collateral=1.0, debt=1.0), 1.0, closer_ratio=1.0)


def _falling_path(steps: int = 20) -> np.ndarray:
    return np.linspace(2000.0, 1000.0, steps + 1)


def _lending_book(n: int = 200, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    collateral = rng.uniform(1.0, 20.0, n)
    return {"collateral": collateral, "debt": collateral * 2000.0 * 0.8 / rng.uniform(1.01, 2.5, n)}


def test_the_book_at_the_last_step_is_the_engines_state_at_the_horizon():
    params, book, path = aave.Params(), aave.book_from_arrays(_lending_book()), _falling_path()
    market = MarketConditions()
    full = aave.simulate_detail(params, book, path[None, :], market)
    left, price = health.book_at_step("aave-v3", params, book, path, market, len(path) - 1)
    open_ = full["debt"][0] > 0
    assert np.array_equal(left.debt, full["debt"][0][open_])
    assert np.array_equal(left.collateral, full["collateral"][0][open_])
    assert price == full["per_path"][0, -1]  # final_price, the market price after impact


@pytest.mark.parametrize("mechanism", ["aave-v3", "compound-v3", "maker-clip", "morpho-blue"])
def test_at_step_zero_of_a_calm_start_every_healthy_position_is_still_open(mechanism):
    mod = load_mechanism(mechanism)
    book = mod.book_from_arrays(_lending_book())
    params = mod.Params()
    healthy = health.health(mechanism, params, book, 2000.0) >= 1.0
    left, price = health.book_at_step(mechanism, params, book, _falling_path(), MarketConditions(), 0)
    assert price == 2000.0
    # Healthy positions are all still open; liquidatable ones may wait (Maker's hole limits how
    # much debt is in auction at once).
    assert int(healthy.sum()) <= len(left) <= len(healthy)
    # Later, at half the price, positions were liquidated (in part or whole): less debt is open.
    later, _ = health.book_at_step(mechanism, params, book, _falling_path(), MarketConditions(), 20)
    assert later is None or later.debt.sum() < left.debt.sum()


def test_book_at_step_refuses_a_step_beyond_the_path():
    with pytest.raises(EngineError, match="step in 0..T"):
        health.book_at_step("aave-v3", aave.Params(), _lending_book(), _falling_path(5), None, 6)


def test_perp_book_at_step_keeps_the_open_positions_with_their_state():
    # Three longs entered at 2,000 with margins of 100, 400 and 1,000 USD per unit and one
    # short; the price falls to 1,000 by step 20. At step 0 nothing is liquidatable; at step 20
    # the long with 100 USD of margin per unit is gone (its equity 100 - 1,000 < 0 long before)
    # and the short is still open.
    arrays = {
        "size": np.array([1.0, 1.0, 1.0, -1.0]),
        "entry_price": np.array([2000.0, 2000.0, 2000.0, 2000.0]),
        "margin": np.array([100.0, 400.0, 1000.0, 300.0]),
    }
    params, book = perp.Params(), perp.book_from_arrays(arrays)
    path = _falling_path()
    start, price = health.book_at_step("perp", params, book, path, MarketConditions(), 0)
    assert price == 2000.0 and len(start) == 4
    full = perp.simulate_detail(params, book, path[None, :], MarketConditions())
    later, price = health.book_at_step("perp", params, book, path, MarketConditions(), 20)
    open_ = ((full["status"][0] & 2) == 0) & (full["size"][0] != 0)
    assert len(later) == int(open_.sum()) < 4
    assert np.array_equal(later.size, full["size"][0][open_])
    assert np.array_equal(later.margin, full["margin"][0][open_])
    assert -1.0 in later.size  # the short gained as the price fell
    assert price == full["per_path"][0, -1]


def test_perp_book_at_step_reads_the_paths_premium_that_its_funding_pays():
    # One long of 1 unit at 100 with 10.5 USD of margin on a flat price, funding every step: a
    # premium of 1 % a step costs it 1 USD a step and takes it under maintenance (5 USD) at the
    # sixth payment; without the premium nothing moves.
    params = perp.Params(tier_floors=(0.0,), tier_imf=(0.10,), tier_mmf=(0.05,), funding_cap=0.04)
    book = perp.Book(size=np.array([1.0]), entry_price=np.array([100.0]), margin=np.array([10.5]))
    path = np.full(13, 100.0)
    premium = np.full(12, 0.01)
    left, _ = health.book_at_step("perp", params, book, path, MarketConditions(), 10)
    assert len(left) == 1
    gone, _ = health.book_at_step("perp", params, book, path, MarketConditions(), 10, premium)
    assert gone is None
    still, _ = health.book_at_step("perp", params, book, path, MarketConditions(), 5, premium)
    assert len(still) == 1
    with pytest.raises(EngineError, match=r"premium must be float64\[T\] = \(12,\) and is read by perp only"):
        health.book_at_step("aave-v3", aave.Params(), _lending_book(), path, None, 3, premium)
