"""Comet accounts with several collateral assets (engine/comet.py): one-account cases computed
from Comet.sol's formulas, one asset bit for bit engine.compound, and properties of the screen."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import api, comet, compound
from engine._common import FIELD_INDEX
from engine.errors import EngineError
from engine.market import DynamicThreshold, Liquidators, Liquidity, MarketConditions, Oracle

F = FIELD_INDEX
ALWAYS = MarketConditions(liquidators=Liquidators(rational=False))
TWO = {
    "borrow_collateral_factor": (0.85, 0.7),
    "liquidate_collateral_factor": (0.9, 0.8),
    "liquidation_factor": (0.95, 0.9),
    "store_front_price_factor": 0.6,
}
CLOSED = {"reserves": 1e9, "target_reserves": 0.0}  # getReserves() >= target: no storefront
OPEN = {"reserves": 0.0, "target_reserves": 1e6}


def run_one(params, c, d, prices, market=ALWAYS, **kw):
    """One account (collateral per asset ``c``, debt ``d``) on one path of each asset."""
    book = comet.Book(collateral=np.array([c], float), debt=np.array([d], float))
    s = np.array([[p] for p in prices], float)  # [A, 1, T+1]
    res = comet.simulate_detail(params, book, s, market, **kw)
    row = {name: res["per_path"][0, i] for name, i in F.items()}
    return row, {k: v[0] for k, v in res.items() if k != "per_path"}


# --- one account, two assets, by hand ---------------------------------------------------------


def test_an_account_is_liquidatable_only_by_the_sum_over_its_assets():
    params = comet.Params(**TWO, **CLOSED)
    # sum_a c_a * o_a * LCF_a = 1 * 2000 * 0.9 + 40 * 30 * 0.8 = 1800 + 960 = 2760
    prices = [[2000.0, 2000.0], [30.0, 30.0]]
    row, led = run_one(params, [1.0, 40.0], 2770.0, prices)
    assert row["n_liq"] == 1 and led["absorbed"][0]
    assert row["liq_volume"] == 2770.0
    row, led = run_one(params, [1.0, 40.0], 2750.0, prices)
    assert row["n_liq"] == 0 and not led["absorbed"][0]
    assert np.array_equal(led["units_with_borrowers"], [1.0, 40.0])


def test_absorb_credits_every_asset_at_its_liquidation_factor_and_reserves_take_the_shortfall():
    params = comet.Params(**TWO, **CLOSED)
    prices = [[2000.0, 2000.0], [30.0, 30.0]]
    credit = 1.0 * 2000.0 * 0.95 + 40.0 * 30.0 * 0.9  # absorbInternal deltaValue: 1900 + 1080
    row, led = run_one(params, [1.0, 40.0], 3000.0, prices)
    assert row["bad_debt"] == pytest.approx(3000.0 - credit)  # 20
    assert row["insurance_used"] == pytest.approx(3000.0 - credit)
    assert row["socialized_loss"] == 0.0 and row["insolvent"] == 0.0
    assert row["penalty"] == pytest.approx(2000.0 + 1200.0 - 3000.0)  # the account kept nothing
    assert np.array_equal(led["units_with_protocol"], [1.0, 40.0])
    np.testing.assert_allclose(led["basis_final"], [1900.0, 1080.0], rtol=1e-15)
    assert led["reserves_final"] == pytest.approx(1e9 - 20.0)
    # No shortfall: the account keeps credit - d; the penalty is sum_a c_a o_a (1 - LF_a).
    row, _ = run_one(params, [1.0, 40.0], 2900.0, prices)
    assert row["bad_debt"] == 0.0
    assert row["penalty"] == pytest.approx(2000.0 * 0.05 + 1200.0 * 0.1)


def test_without_reserves_the_shortfall_is_socialized():
    params = comet.Params(**TWO, reserves=0.0, target_reserves=0.0)
    row, _ = run_one(params, [1.0, 40.0], 3000.0, [[2000.0, 2000.0], [30.0, 30.0]])
    assert row["socialized_loss"] == pytest.approx(20.0)
    assert row["insolvent"] == 1.0 and row["insurance_used"] == 0.0


def test_the_storefront_sells_each_asset_at_its_own_discount():
    params = comet.Params(**TWO, **OPEN)
    row, led = run_one(params, [1.0, 40.0], 2900.0, [[2000.0, 2000.0], [30.0, 30.0]])
    price0 = 2000.0 * (1 - 0.6 * (1 - 0.95))  # quoteCollateral: 1940
    price1 = 30.0 * (1 - 0.6 * (1 - 0.9))  # 28.2
    gains = (price0 - 1900.0) + (40.0 * price1 - 1080.0)  # 40 + 48
    assert np.array_equal(led["units_to_buyers"], [1.0, 40.0])
    assert np.array_equal(led["units_with_protocol"], [0.0, 0.0])
    assert row["protocol_fees"] == pytest.approx(gains)
    assert led["reserves_final"] == pytest.approx(gains)
    assert led["comet_reserves_final"] == pytest.approx(gains)
    assert row["collateral_sold_usd"] == pytest.approx(2000.0 + 1200.0)


def test_a_storefront_sale_moves_only_its_own_assets_price_with_its_own_depth():
    params = comet.Params(**TWO, **OPEN)
    prices = [[2000.0, 2000.0], [30.0, 30.0]]
    depth = np.array([1e6, 1e5])
    # Only asset 1 is held and sold: asset 0's price (final_price) does not move.
    row, _ = run_one(params, [0.0, 100.0], 2500.0, prices, depth_usd=depth)
    assert row["n_liq"] == 1 and row["collateral_sold_usd"] == pytest.approx(3000.0)
    assert row["final_price"] == 2000.0
    # Asset 0 sold for 2000 USD into its own depth of 1e6: J_0 = 1 - 2000 / 1e6.
    row, _ = run_one(params, [1.0, 100.0], 4300.0, prices, depth_usd=depth)
    assert row["final_price"] == pytest.approx(2000.0 * (1 - 2000.0 / 1e6), rel=1e-15)


def test_borrowing_power_sums_every_asset_at_its_borrow_factor():
    params = comet.Params(**TWO)
    book = comet.Book(collateral=np.array([[1.0, 40.0], [2.0, 0.0]]), debt=np.array([100.0, 0.0]))
    bp = comet.borrowing_power(params, book, np.array([2000.0, 30.0]))
    assert bp == pytest.approx(3 * 2000.0 * 0.85 + 40 * 30.0 * 0.7)


# --- one asset: engine.compound bit for bit ---------------------------------------------------


def _one_asset_case(seed: int, *, crash: bool = False):
    rng = np.random.default_rng(seed)
    n, m, t = 250, 5, 90
    d = rng.lognormal(9.0, 1.0, n)
    d[rng.random(n) < 0.05] = 0.0  # a few accounts without debt
    c = d * rng.uniform(1.01, 2.2, n) / (2000.0 * 0.895) + (d == 0) * 1.0
    r = rng.normal(-0.0015, 0.02, (m, t))
    if crash:
        r[:, 40] -= 0.35
    s = 2000.0 * np.exp(np.hstack([np.zeros((m, 1)), np.cumsum(r, axis=1)]))
    return c, d, s


def _pair(**kw):
    one = {k: (v,) for k, v in kw.items() if k in comet._PER_ASSET}
    rest = {k: v for k, v in kw.items() if k not in comet._PER_ASSET}
    return compound.Params(**kw), comet.Params(**one, **rest)


BASE = {"reserves": 2e4, "target_reserves": 3e5}
LATER = {
    "borrow_collateral_factor": 0.8,
    "liquidate_collateral_factor": 0.86,
    "liquidation_factor": 0.93,
    "store_front_price_factor": 0.5,
    "target_reserves": 1e6,
    "reserves": 5e4,
}
DYN = DynamicThreshold(k_vol=0.4, horizon_steps=24.0, update_interval=3, floor=0.7, cap=0.95)
GAS = MarketConditions(
    oracle=Oracle(latency=1, deviation=0.005, heartbeat=6),
    liquidity=Liquidity(depth_usd=5e7),
    liquidators=Liquidators(gas_cost_usd=15.0),
)
CRASH = MarketConditions(
    oracle=Oracle(latency=2),
    liquidity=Liquidity(depth_usd=4e5, model="sqrt", k=0.8, max_step_impact=0.3),
    liquidators=Liquidators(gas_cost_usd=60.0, gas_spike=4.0),
)
CASES = {
    "plain": (3, {}, None, GAS, False),
    "switch": (4, {}, 30, GAS, False),
    "dynamic": (5, {"dynamic": DYN}, 45, GAS, False),
    "always": (
        6,
        {},
        None,
        MarketConditions(liquidity=Liquidity(depth_usd=5e7), liquidators=Liquidators(rational=False)),
        False,
    ),
    "crash": (7, {}, 20, CRASH, True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_asset_gives_compound_bit_for_bit(name):
    seed, extra, k, market, crash = CASES[name]
    c, d, s = _one_asset_case(seed, crash=crash)
    pc, pa = _pair(**BASE, **extra)
    switch_c = switch_a = None
    if k is not None:
        lc, la = _pair(**LATER, **extra)
        switch_c, switch_a = (k, lc), (k, la)
    rec = np.array([0, 10, 41, 60, 90])
    c_book, a_book = compound.Book(c, d), comet.Book(c[:, None], d)
    for full in (False, True):
        want = compound.simulate_detail(
            pc, c_book, s, market, switch=switch_c, full_scan=full, record_steps=rec
        )
        got = comet.simulate_detail(
            pa, a_book, s[None], market, switch=switch_a, full_scan=full, record_steps=rec
        )
        assert np.array_equal(got["per_path"], want["per_path"]), (name, full)
        assert np.array_equal(got["absorbed"], want["absorbed"])
        for key in ("units_with_borrowers", "units_to_buyers", "units_with_protocol", "basis_final"):
            assert np.array_equal(got[key][:, 0], want[key]), key
        for key in ("reserves_final", "comet_reserves_final"):
            assert np.array_equal(got[key], want[key]), key
        for key, arr in want["series"].items():
            assert np.array_equal(got["series"][key], arr), key
    out = want["per_path"]
    # The comparison covers absorbs, open accounts, sales and (rational) unprofitable steps.
    assert 0 < out[:, F["n_liq"]].sum() < 0.9 * len(d) * s.shape[0], name
    assert out[:, F["collateral_sold_usd"]].sum() > 0, name


def test_the_one_asset_cases_reach_losses_and_unprofitable_steps():
    outs = {}
    for name in ("crash", "plain"):
        seed, extra, k, market, crash = CASES[name]
        c, d, s = _one_asset_case(seed, crash=crash)
        pc, _ = _pair(**BASE, **extra)
        outs[name] = compound.simulate(pc, compound.Book(c, d), s, market)
    assert outs["crash"][:, F["bad_debt"]].sum() > 0
    assert outs["crash"][:, F["n_unprofitable"]].sum() + outs["plain"][:, F["n_unprofitable"]].sum() > 0


# --- properties -------------------------------------------------------------------------------


def _random_case(seed: int, A: int):
    rng = np.random.default_rng(seed)
    n, m, t = int(rng.integers(20, 120)), 3, 50
    p0 = np.array([2000.0, 30.0, 1.0])[:A]
    lcf = np.array([0.9, 0.8, 0.7])[:A]
    d = rng.lognormal(8.0, 1.2, n)
    d[rng.random(n) < 0.1] = 0.0
    w = rng.dirichlet(np.full(A, 0.5), n) * (rng.random((n, A)) < 0.8)
    w[w.sum(axis=1) == 0, 0] = 1.0
    w /= w.sum(axis=1, keepdims=True)
    c = w * (d * rng.uniform(1.0, 1.8, n) + 1.0)[:, None] / (p0 * lcf)[None, :]
    vol = rng.uniform(0.01, 0.05, A)
    r = rng.normal(-0.004, 1.0, (A, m, t)) * vol[:, None, None]
    # Paths start at different prices: the screen's reference prices (the first path's) then
    # differ from those of a path run alone.
    start = rng.normal(0.0, 0.05, (A, m, 1))
    s = p0[:, None, None] * np.exp(np.concatenate([start, start + np.cumsum(r, axis=2)], axis=2))
    params = comet.Params(
        borrow_collateral_factor=tuple(lcf - 0.05),
        liquidate_collateral_factor=tuple(lcf),
        liquidation_factor=tuple(np.minimum(lcf + 0.05, 0.97)),
        reserves=float(rng.uniform(0, 2e4)),
        target_reserves=float(rng.uniform(0, 1e5)),
    )
    market = MarketConditions(
        oracle=Oracle(latency=int(rng.integers(0, 3))),
        liquidity=Liquidity(depth_usd=float(rng.uniform(1e5, 1e7))),
        liquidators=Liquidators(rational=bool(rng.random() < 0.7), gas_cost_usd=float(rng.uniform(0, 30))),
    )
    depth = rng.uniform(1e5, 1e7, A)
    return params, comet.Book(c, d), s, market, depth


SEEDS = st.integers(0, 2**31 - 1)


@settings(max_examples=30, deadline=None)
@given(seed=SEEDS, A=st.sampled_from([2, 3]), dyn=st.booleans(), switch=st.booleans())
def test_the_screen_gives_the_full_scans_results(seed, A, dyn, switch):
    params, book, s, market, depth = _random_case(seed, A)
    if dyn:
        params = dataclasses.replace(params, dynamic=DYN)
    later = None
    if switch:
        lcf = tuple(x - 0.04 for x in params.liquidate_collateral_factor)
        bcf = tuple(x - 0.04 for x in params.borrow_collateral_factor)
        after = dataclasses.replace(params, liquidate_collateral_factor=lcf, borrow_collateral_factor=bcf)
        later = (20, after)
    kw = {"depth_usd": depth, "switch": later}
    screen = comet.simulate_detail(params, book, s, market, **kw)
    full = comet.simulate_detail(params, book, s, market, full_scan=True, **kw)
    # With several assets the sums run in account order: bit for bit.
    for key, arr in full.items():
        assert np.array_equal(screen[key], arr), key


@settings(max_examples=15, deadline=None)
@given(seed=SEEDS, A=st.sampled_from([2, 3]))
def test_rows_depend_only_on_their_own_path(seed, A):
    params, book, s, market, depth = _random_case(seed, A)
    out = comet.simulate(params, book, s, market, depth_usd=depth)
    for a, b in ((1, 2), (1, 3), (2, 3)):
        part = comet.simulate(params, book, np.ascontiguousarray(s[:, a:b]), market, depth_usd=depth)
        assert np.array_equal(part, out[a:b])


@settings(max_examples=25, deadline=None)
@given(seed=SEEDS, A=st.sampled_from([2, 3]))
def test_collateral_of_every_asset_is_conserved(seed, A):
    params, book, s, market, depth = _random_case(seed, A)
    res = comet.simulate_detail(params, book, s, market, depth_usd=depth)
    total = res["units_with_borrowers"] + res["units_to_buyers"] + res["units_with_protocol"]
    want = np.broadcast_to(book.collateral.sum(axis=0), total.shape)
    np.testing.assert_allclose(total, want, rtol=1e-12)
    assert np.all(res["units_with_protocol"] >= 0) and np.all(res["basis_final"] >= 0)
    out = res["per_path"]
    assert np.all(out[:, F["bad_debt"]] >= 0)
    np.testing.assert_allclose(
        out[:, F["insurance_used"]] + out[:, F["socialized_loss"]],
        out[:, F["bad_debt"]],
        rtol=1e-12,
        atol=1e-9,
    )


# --- bad input --------------------------------------------------------------------------------


def test_the_per_asset_factors_must_have_one_length():
    with pytest.raises(EngineError, match=r"one length \(one per asset\); got lengths \[2, 2, 1\]"):
        comet.Params(
            borrow_collateral_factor=(0.8, 0.7),
            liquidate_collateral_factor=(0.9, 0.8),
            liquidation_factor=(0.95,),
        )


def test_a_broken_comet_rule_names_the_asset():
    with pytest.raises(EngineError, match="asset 1: borrow_collateral_factor must be below"):
        comet.Params(**(TWO | {"borrow_collateral_factor": (0.85, 0.8)}))
    with pytest.raises(EngineError, match=r"liquidation_factor\[1\] must be in"):
        comet.Params(**(TWO | {"liquidation_factor": (0.95, 1.2)}))


def test_string_numbers_are_converted():
    p = comet.params_from_dict(
        {
            "borrow_collateral_factor": ["0.85", "0.7"],
            "liquidate_collateral_factor": ["0.9", 0.8],
            "liquidation_factor": ("0.95", "0.9"),
            "reserves": "100",
            "dynamic": {"k_vol": "0.2"},
        }
    )
    assert p.liquidate_collateral_factor == (0.9, 0.8) and p.liquidation_factor == (0.95, 0.9)
    assert p.reserves == 100.0 and p.n_assets == 2
    with pytest.raises(EngineError, match=r"liquidation_factor\[0\]"):
        comet.params_from_dict(TWO | {"liquidation_factor": ["0,95", "0.9"]})


def test_mismatched_numbers_of_assets_are_refused_naming_them():
    params = comet.Params(**TWO)
    book2 = comet.Book(collateral=np.ones((2, 2)), debt=np.ones(2))
    book3 = comet.Book(collateral=np.ones((2, 3)), debt=np.ones(2))
    s2 = np.full((2, 1, 3), 100.0)
    with pytest.raises(EngineError, match=r"one column per asset \(A=2 as in params\); got 3"):
        comet.simulate(params, book3, s2, ALWAYS)
    with pytest.raises(EngineError, match=r"A=2 assets as in params.*got shape \(3, 1, 3\)"):
        comet.simulate(params, book2, np.full((3, 1, 3), 100.0), ALWAYS)
    with pytest.raises(EngineError, match=r"got shape \(1, 3\)"):
        comet.simulate(params, book2, np.full((1, 3), 100.0), ALWAYS)
    one = comet.Params()
    with pytest.raises(EngineError, match=r"switch params must have one factor per asset \(A=2\); got 1"):
        comet.simulate(params, book2, s2, ALWAYS, switch=(1, one))
    with pytest.raises(EngineError, match=r"depth_usd must be float64\[A=2\]"):
        comet.simulate(params, book2, s2, ALWAYS, depth_usd=np.array([1e6]))


def test_the_random_cases_absorb_sell_and_leave_accounts_open():
    """The properties above compare something: absorbs, sales and open accounts occur."""
    n_liq = sold = still_open = 0.0
    for seed in range(8):
        params, book, s, market, depth = _random_case(seed, 2 + seed % 2)
        res = comet.simulate_detail(params, book, s, market, depth_usd=depth)
        n_liq += res["per_path"][:, F["n_liq"]].sum()
        sold += res["per_path"][:, F["collateral_sold_usd"]].sum()
        still_open += (~res["absorbed"] & (book.debt > 0)).sum()
    assert n_liq > 20 and sold > 0 and still_open > 20


def test_one_asset_screen_and_full_scan_agree_as_compounds_do():
    seed, extra, k, market, crash = CASES["crash"]
    c, d, s = _one_asset_case(seed, crash=crash)
    _, pa = _pair(**BASE, **extra)
    book = comet.Book(c[:, None], d)
    screen = comet.simulate(pa, book, s[None], market)
    full = comet.simulate(pa, book, s[None], market, full_scan=True)
    np.testing.assert_allclose(screen, full, rtol=1e-12, atol=1e-9)
    assert np.array_equal(screen[:, F["n_liq"]], full[:, F["n_liq"]])


def test_api_runs_the_accounts_from_dicts_in_chunks_as_whole():
    params, book, s, market, _ = _random_case(11, 2)
    as_dict = {name: list(getattr(params, name)) for name in comet._PER_ASSET} | {
        "reserves": params.reserves,
        "target_reserves": params.target_reserves,
    }
    rows = {"collateral": book.collateral, "debt": book.debt}
    whole = api.run("compound-v3-accounts", as_dict, rows, s, market)
    chunked = api.run("compound-v3-accounts", as_dict, rows, s, market, chunk_paths=2)
    assert np.array_equal(whole.per_path_array, chunked.per_path_array)
    assert np.array_equal(whole.per_path_array, comet.simulate(params, book, s, market))
    want = comet.borrowing_power(params, book, s[:, :, 0].mean(axis=1))
    assert whole.summary["borrowing_power"] == pytest.approx(want, rel=1e-15)
