"""Invariants of the Comet and Clipper kernels over random books, paths, markets and parameters."""

import dataclasses

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import compound, maker
from engine._common import FIELD_INDEX, sale_slippage
from engine.market import Liquidators, Liquidity, MarketConditions, Oracle

F = FIELD_INDEX
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def books(draw, p0=2000.0):
    n = draw(st.integers(1, 12))
    c = np.array(draw(st.lists(st.floats(0.0, 5.0), min_size=n, max_size=n)))
    ratio = np.array(draw(st.lists(st.floats(0.0, 1.2), min_size=n, max_size=n)))
    return c, c * p0 * ratio * 0.8


@st.composite
def paths(draw, max_steps=25):
    m = draw(st.integers(1, 3))
    t = draw(st.integers(1, max_steps))
    sigma = draw(st.floats(0.0, 0.08))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
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
def comet_params(draw):
    lcf = draw(st.floats(0.5, 0.95))
    return compound.Params(
        borrow_collateral_factor=lcf - 0.05,
        liquidate_collateral_factor=lcf,
        liquidation_factor=draw(st.floats(0.5, 1.0)),
        store_front_price_factor=draw(st.floats(0.0, 1.0)),
        target_reserves=draw(st.floats(0.0, 1e5)),
        reserves=draw(st.floats(0.0, 1e4)),
    )


@st.composite
def clip_params(draw):
    return maker.Params(
        mat=draw(st.floats(1.1, 2.0)),
        chop=draw(st.floats(1.0, 1.2)),
        buf=draw(st.floats(1.0, 1.5)),
        tail=draw(st.floats(600.0, 3e4)),
        cusp=draw(st.floats(0.2, 0.9)),
        cut=draw(st.floats(0.8, 0.999)),
        step=draw(st.floats(10.0, 3600.0)),
        chip=draw(st.floats(0.0, 0.01)),
        tip=draw(st.floats(0.0, 50.0)),
        hole=10 ** draw(st.floats(2.5, 5.0)),
        dust=draw(st.floats(0.0, 2000.0)),
        keeper_margin=draw(st.floats(0.0, 0.1)),
        step_seconds=3600.0,
        surplus_buffer=draw(st.floats(0.0, 1e3)),
    )


def _accounts_balance(out):
    bad, used, lost = out[:, F["bad_debt"]], out[:, F["insurance_used"]], out[:, F["socialized_loss"]]
    assert np.allclose(bad, used + lost, rtol=1e-9, atol=1e-9)
    assert np.array_equal(out[:, F["insolvent"]], (lost > 0).astype(float))
    assert np.all(np.isfinite(out)) and np.all(out >= 0) and np.all(out[:, F["final_price"]] > 0)


@SETTINGS
@given(book=books(), s=paths(), market=markets(), params=comet_params())
def test_comet_conserves_collateral_between_borrowers_buyers_and_protocol(book, s, market, params):
    c, d = book
    res = compound.simulate_detail(params, compound.Book(c, d), s, market)
    total = res["units_with_borrowers"] + res["units_to_buyers"] + res["units_with_protocol"]
    assert np.allclose(total, c.sum(), rtol=1e-12, atol=1e-12)
    assert np.all(res["units_with_protocol"] >= 0) and np.all(res["basis_final"] >= 0)
    # Absorb takes all of an account (Comet.absorbInternal): borrowers hold exactly the open accounts'.
    assert np.allclose(res["units_with_borrowers"], (~res["absorbed"] * c).sum(axis=1), rtol=1e-12, atol=0)
    _accounts_balance(res["per_path"])
    out = res["per_path"]
    assert np.all(out[res["absorbed"].sum(axis=1) == 0, F["bad_debt"]] == 0.0)


@SETTINGS
@given(book=books(), s=paths(), market=markets(), params=clip_params())
def test_clipper_conserves_collateral_and_never_leaves_negative_debt_or_tab(book, s, market, params):
    ink, debt = book
    res = maker.simulate_detail(params, maker.Book(ink, debt), s, market)
    total = res["units_with_vaults"] + res["units_to_keepers"] + res["units_in_auctions"]
    assert np.allclose(total, ink.sum(), rtol=1e-9, atol=1e-12)
    assert np.all(res["debt"] >= 0) and np.all(res["debt"] <= debt + 1e-9 * debt)
    assert np.all(res["ink"] >= 0) and np.all(res["min_tab"] >= 0)
    _accounts_balance(res["per_path"])


@SETTINGS
@given(book=books(), s=paths(), market=markets(), params=clip_params())
def test_clipper_bad_debt_only_when_an_auction_ran_out_of_collateral(book, s, market, params):
    ink, debt = book
    res = maker.simulate_detail(params, maker.Book(ink, debt), s, market)
    bad = res["per_path"][:, F["bad_debt"]]
    assert np.all(res["uncovered_with_collateral_left"] == 0.0)
    assert np.all((bad == 0) | (res["n_exhausted"] > 0))


@SETTINGS
@given(book=books(), s=paths(max_steps=40), params=comet_params())
def test_comet_absorbs_exactly_the_accounts_whose_liquidation_price_was_reached(book, s, params):
    # No impact and no latency: the oracle is S itself, so the screened kernel must agree with
    # Comet's isLiquidatable evaluated for every account at every step.
    c, d = book
    market = MarketConditions(liquidators=Liquidators(rational=False))
    res = compound.simulate_detail(params, compound.Book(c, d), s, market)
    q = s[:, :-1] * params.liquidate_collateral_factor  # o * factor, (M, T)
    expected = (c[None, :, None] * q[:, None, :] < d[None, :, None]).any(axis=2)
    assert np.array_equal(res["absorbed"], expected)


@SETTINGS
@given(book=books(), s=paths(max_steps=40), params=clip_params())
def test_clipper_barks_exactly_the_vaults_that_became_unsafe(book, s, params):
    ink, debt = book
    params = dataclasses.replace(params, hole=1e15)  # room for every vault at once
    market = MarketConditions(liquidators=Liquidators(rational=False))
    res = maker.simulate_detail(params, maker.Book(ink, debt), s, market)
    spot = s[:, :-1] / params.mat
    unsafe = (ink[None, :, None] * spot[:, None, :] < debt[None, :, None]).any(axis=2)
    expected = unsafe & (ink > 0)[None, :]  # dog.sol: no auction of a null lot
    assert np.array_equal(res["debt"] < debt[None, :], expected)
    assert np.array_equal(res["debt"][expected], np.zeros(int(expected.sum())))


@SETTINGS
@given(
    book=books(),
    s=paths(max_steps=1),
    market=markets(),
    cp=comet_params(),
    mp=clip_params(),
    deeper=st.floats(1.0, 100.0),
)
def test_more_depth_never_increases_the_impact_of_a_steps_sales(book, s, market, cp, mp, deeper):
    c, d = book
    always = MarketConditions(
        oracle=market.oracle, liquidators=Liquidators(rational=False), liquidity=market.liquidity
    )
    liq = market.liquidity
    deep = MarketConditions(
        oracle=market.oracle,
        liquidators=Liquidators(rational=False),
        liquidity=Liquidity(
            depth_usd=liq.depth_usd * deeper, k=liq.k, model=liq.model, max_step_impact=liq.max_step_impact
        ),
    )
    for mod, params, bk in ((compound, cp, compound.Book(c, d)), (maker, mp, maker.Book(c, d))):
        shallow = mod.simulate(params, bk, s, always)[:, F["final_price"]]
        deep_p = mod.simulate(params, bk, s, deep)[:, F["final_price"]]
        assert np.all(deep_p >= shallow * (1 - 1e-12))


@SETTINGS
@given(book=books(), s=paths(), market=markets(), cp=comet_params(), mp=clip_params(), data=st.data())
def test_paths_run_alone_give_their_rows_of_the_full_run_bit_for_bit(book, s, market, cp, mp, data):
    c, d = book
    a = data.draw(st.integers(0, s.shape[0] - 1))
    b = data.draw(st.integers(a + 1, s.shape[0]))
    for mod, params, bk in ((compound, cp, compound.Book(c, d)), (maker, mp, maker.Book(c, d))):
        full = mod.simulate(params, bk, s, market)
        assert np.array_equal(mod.simulate(params, bk, s[a:b], market), full[a:b])


@SETTINGS
@given(book=books(), s=paths(max_steps=40), market=markets(), params=comet_params())
def test_comet_screen_gives_the_results_of_checking_every_account_every_step(book, s, market, params):
    c, d = book
    bk = compound.Book(c, d)
    fast = compound.simulate_detail(params, bk, s, market)
    slow = compound.simulate_detail(params, bk, s, market, full_scan=True)
    assert np.array_equal(fast["absorbed"], slow["absorbed"])
    # Same absorbs; only the order of a step's sums may differ.
    np.testing.assert_allclose(fast["per_path"], slow["per_path"], rtol=1e-12, atol=1e-9)


@SETTINGS
@given(book=books(), s=paths(max_steps=40), market=markets(), params=clip_params())
def test_clipper_screen_gives_the_results_of_checking_every_vault_every_step(book, s, market, params):
    ink, debt = book
    bk = maker.Book(ink, debt)
    fast = maker.simulate_detail(params, bk, s, market)
    slow = maker.simulate_detail(params, bk, s, market, full_scan=True)
    # Barks happen in the same order (most unsafe first) against the same room: bit for bit.
    for key in (
        "per_path",
        "ink",
        "debt",
        "units_to_keepers",
        "units_in_auctions",
        "n_kicks",
        "n_redos",
        "n_takes",
        "dirt_final",
    ):
        assert np.array_equal(fast[key], slow[key]), key


@SETTINGS
@given(
    disc=st.floats(0.001, 0.9),
    units=st.floats(0.01, 100.0),
    depth=st.floats(1e3, 1e7),
    k=st.floats(0.1, 2.0),
    sqrt_model=st.integers(0, 1),
    floor=st.floats(0.1, 0.95),
)
def test_buyer_size_is_at_least_as_profitable_as_any_other_size(disc, units, depth, k, sqrt_model, floor):
    p = 2000.0
    cost = p * (1.0 - disc)
    kod = k / depth

    def profit(q: float) -> float:
        v = q * p
        return v * (1.0 - sale_slippage(v, k, depth, kod, sqrt_model, floor)) - q * cost

    best = compound.best_purchase(p, cost, units, 0.0, k, depth, kod, sqrt_model, floor)
    assert 0.0 < best <= units
    grid = np.linspace(0.0, units, 401)
    assert profit(best) >= max(profit(q) for q in grid) - 1e-9 * units * p
