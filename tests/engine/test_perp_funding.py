"""Perp funding, the partial-liquidation cooldown and the backstop vault (engine/perp.py,
margin-engine.md 2.4): hand-computed one-position cases, a plain-Python full scan with the same
rules, and invariants over random books (hypothesis)."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import aave, perp
from engine._common import FIELD_INDEX as F
from engine._common import dynamic_threshold
from engine._skeleton import run as skeleton_run
from engine.errors import EngineError
from engine.market import Liquidity, MarketConditions
from tests.engine.test_perp import cases

ONE_TIER = {"tier_floors": (0.0,), "tier_imf": (0.10,), "tier_mmf": (0.05,)}
NO_IMPACT = MarketConditions()


def flat(price: float, steps: int) -> np.ndarray:
    return np.full((1, steps + 1), float(price))


def one(q: float, entry: float, margin: float) -> perp.Book:
    return perp.Book(size=np.array([q]), entry_price=np.array([entry]), margin=np.array([margin]))


def run(params, book, prices, market=NO_IMPACT, **kw):
    out, ex = perp.simulate(params, book, prices, market, extras=True, **kw)
    return out[0], {k: v[0] for k, v in ex.items()}


# ---------------------------------------------------------------------------------------------
# Funding by hand.


def test_long_paying_constant_funding_loses_rate_times_price_per_interval_and_is_liquidated_when_computed() -> (
    None
):
    # rate 1 % every 2 steps at o = 100: the long (q = 1) pays 1 USD at steps 2, 4, 6, ...
    # Equity 10.5 - k after k payments is below maintenance (0.05 * 100 = 5) from k = 6: step 12.
    params = perp.Params(**ONE_TIER, funding_interval=2, funding_cap=0.04, funding_premium=0.01)
    book = one(1.0, 100.0, 10.5)
    res, ex = run(params, book, flat(100.0, 12))  # steps 0..11: five payments, still open
    assert res[F["n_liq"]] == 0
    assert ex["funding_paid_longs"] == 5.0 and ex["funding_index"] == 5.0
    res, ex = run(params, book, flat(100.0, 13))  # step 12: the sixth payment, liquidated
    assert res[F["n_liq"]] == 1
    assert ex["funding_paid_longs"] == 6.0
    r = perp.simulate_detail(params, book, flat(100.0, 13), NO_IMPACT)
    assert r["payout"][0, 0] == 10.5 - 6.0  # what funding left of the margin


def test_interest_alone_drains_a_long_step_by_step() -> None:
    # interest 2^-8 per step at o = 256: 1 USD per unit per step, 2 USD for q = 2. Maintenance
    # 0.05 * 512 = 25.6; equity 40 - 2 t is below it from t = 8.
    params = perp.Params(**ONE_TIER, funding_interval=1, funding_cap=0.04, funding_interest=2.0**-8)
    book = one(2.0, 256.0, 40.0)
    res, ex = run(params, book, flat(256.0, 8))
    assert res[F["n_liq"]] == 0 and ex["funding_paid_longs"] == 14.0  # payments at t = 1..7
    res, ex = run(params, book, flat(256.0, 9))
    assert res[F["n_liq"]] == 1 and ex["funding_paid_longs"] == 16.0


def test_the_cap_binds_and_a_short_receives_what_a_long_of_its_size_pays() -> None:
    # Premium 10 % per interval, capped at 4 %: 4 USD per unit at o = 100, every 3 steps.
    params = perp.Params(**ONE_TIER, funding_interval=3, funding_cap=0.04, funding_premium=0.10)
    book = perp.Book(
        size=np.array([2.0, -2.0]), entry_price=np.array([100.0, 100.0]), margin=np.array([1e3, 50.0])
    )
    res, ex = run(params, book, flat(100.0, 10))  # payments at t = 3, 6, 9
    assert ex["funding_index"] == 12.0
    assert ex["funding_paid_longs"] == 24.0 and ex["funding_paid_shorts"] == -24.0
    assert res[F["n_liq"]] == 0
    # The short's equity at the horizon: its margin plus what it received.
    r = perp.simulate_detail(params, book, flat(100.0, 10), NO_IMPACT)
    eq = r["margin"][0] + r["size"][0] * ((100.0 - 12.0) - r["entry_price"][0])
    assert eq.tolist() == [1e3 - 24.0, 50.0 + 24.0]
    # A negative premium: the short pays and is liquidated (equity 50 - 8 k < 0.05 * 200 = 10
    # from k = 6: 18 steps).
    neg = dataclasses.replace(params, funding_premium=-0.10)
    res, ex = run(neg, book, flat(100.0, 19))
    assert ex["funding_paid_shorts"] == 48.0 and res[F["n_liq"]] == 1


def test_a_liquidations_sale_moves_j_and_the_next_funding_rate_reflects_it() -> None:
    # Long A (equity 4 < maintenance 5) is sold at step 0: 100 USD into depth 1e4 (k = 1),
    # J = 1 - 100 / 1e4 = 0.99 from step 1. Funding every 2 steps: the premium averaged over
    # steps 0 and 1 is (0.99 / 1 - 1 + 0.99 / 0.99 - 1) / 2, paid at step 2 at o = 99.
    params = perp.Params(**ONE_TIER, funding_interval=2, funding_cap=0.04)
    book = perp.Book(
        size=np.array([1.0, -1.0]), entry_price=np.array([100.0, 100.0]), margin=np.array([4.0, 50.0])
    )
    market = MarketConditions(liquidity=Liquidity(depth_usd=1e4))
    res, ex = run(params, book, flat(100.0, 3), market)
    assert res[F["n_liq"]] == 1 and res[F["collateral_sold_usd"]] == 100.0
    rate = (0.99 - 1.0) / 2
    assert ex["funding_index"] == pytest.approx(rate * 99.0, rel=1e-12)
    # The rate is negative: the short (q < 0) pays rate * o * q = 0.495 USD; no long is left.
    assert ex["funding_paid_shorts"] == pytest.approx(rate * 99.0 * -1.0, rel=1e-12)
    assert ex["funding_paid_longs"] == 0.0


# ---------------------------------------------------------------------------------------------
# The partial-liquidation cooldown.


def partial_case(cooldown: int, steps: int):
    # 200 units at 100 (20,000 USD, partial above 10,000 at 20 %), margin 500: maintenance
    # 1000, 800, 640, 512 after each fifth, then 409.6 < 500 at 81.92 units.
    params = perp.Params(**ONE_TIER, partial_fraction=0.2, partial_above_usd=1e4, partial_cooldown=cooldown)
    book = one(200.0, 100.0, 500.0)
    rec = np.arange(steps + 1)
    out, ser = perp.simulate(params, book, flat(100.0, steps), NO_IMPACT, record_steps=rec)
    vol = ser["liq_volume_cum"][0]
    return out[0], np.flatnonzero(np.diff(np.concatenate([[0.0], vol])) > 0).tolist()


def test_a_large_position_partially_liquidated_waits_the_cooldown_before_the_next_fifth() -> None:
    res, steps = partial_case(0, 10)
    assert steps == [0, 1, 2, 3] and res[F["n_liq"]] == 4  # one fifth every step
    res, steps = partial_case(3, 10)
    assert steps == [0, 3, 6, 9] and res[F["n_liq"]] == 4  # then 3 steps must pass each time
    res, steps = partial_case(3, 9)
    assert steps == [0, 3, 6] and res[F["n_liq"]] == 3
    # A cooldown of one step is the behaviour without one: one step always passes.
    assert partial_case(1, 10)[1] == [0, 1, 2, 3]


# ---------------------------------------------------------------------------------------------
# The backstop vault.


def test_equity_under_two_thirds_of_maintenance_is_taken_over_at_the_oracle_without_a_sale() -> None:
    params = perp.Params(**ONE_TIER, backstop_fraction=2 / 3, insurance_fund=100.0)
    book = one(1.0, 100.0, 10.0)
    # o = 92: equity 2, maintenance 4.6, 2/3 of it 3.07: the vault takes q = 1 at 92 with 2 USD.
    # At the horizon (95) it holds 2 + (95 - 92) = 5.
    res, ex = run(params, book, np.array([[100.0, 92.0, 95.0]]))
    assert res[F["n_liq"]] == 1 and res[F["collateral_sold_usd"]] == 0.0 and res[F["penalty"]] == 0.0
    assert ex["backstop_takeovers"] == 1 and ex["backstop_margin"] == 2.0 and ex["backstop_pnl"] == 5.0
    # Negative equity (o = 85: -5) is the vault's loss, not bad debt: the fund is untouched.
    res, ex = run(params, book, np.array([[100.0, 85.0, 95.0]]))
    assert res[F["bad_debt"]] == 0.0 and res[F["insurance_used"]] == 0.0
    assert ex["backstop_margin"] == -5.0 and ex["backstop_pnl"] == -5.0 + 10.0
    assert ex["insurance_final"] == 100.0
    # o = 94: equity 4 is under maintenance (4.7) but above 2/3 of it (3.13): a market close.
    res, ex = run(params, book, np.array([[100.0, 94.0, 95.0]]))
    assert res[F["collateral_sold_usd"]] == 94.0 and ex["backstop_takeovers"] == 0
    assert ex["backstop_pnl"] == 0.0


def test_new_parameters_are_checked_at_the_entry() -> None:
    for bad, msg in (
        ({"backstop_fraction": 1.0}, "backstop_fraction"),
        ({"funding_interval": 0}, "funding_interval"),
        ({"funding_interval": 1.5}, "funding_interval"),
        ({"partial_cooldown": -1}, "partial_cooldown"),
        ({"funding_cap": -0.1}, "funding_cap"),
    ):
        with pytest.raises(EngineError, match=msg):
            perp.Params(**ONE_TIER, **bad)
    with pytest.raises(EngineError, match="premium"):
        perp.simulate(
            perp.Params(**ONE_TIER),
            one(1.0, 100.0, 10.0),
            flat(100.0, 3),
            NO_IMPACT,
            premium=np.zeros((1, 2)),
        )


def test_mechanisms_without_extras_refuse_to_be_asked_for_them() -> None:
    with pytest.raises(EngineError, match="no per-path extra outputs"):
        skeleton_run(aave.MECHANISM, None, None, flat(100.0, 2), NO_IMPACT, extras=True)


# ---------------------------------------------------------------------------------------------
# A plain-Python full scan (every position, every step) with funding, cooldown and backstop.


def reference(params, book, S, lag, k_over_depth, floor, premium=None):
    """float64[M, 8]: bad, n_liq, insurance_used, socialized, final price, funding paid by
    longs, backstop pnl, takeovers."""
    out = np.zeros((S.shape[0], 8))
    fl, mmf, ded = np.asarray(params.tier_floors), np.asarray(params.tier_mmf), params.deductions
    dyn = params.dynamic
    for mi in range(S.shape[0]):
        q, E, m = book.size.copy(), book.entry_price.copy(), book.margin.copy()
        open_ = np.ones(len(q), bool)
        last = np.full(len(q), -(10**9))
        J, fund, hist = 1.0, params.insurance_fund, []
        Fi, psum, n_since, J_prev = 0.0, 0.0, 0, 1.0
        vq = vcost = vmargin = 0.0
        dstate = np.array([0.0, 0.0, mmf[0]])
        for t in range(S.shape[1] - 1):
            p = S[mi, t] * J
            hist.append(p)
            o = hist[max(0, t - lag)]
            scale = 1.0
            if dyn is not None:
                th = dynamic_threshold(dstate, o, t, mmf[0], 1.0, *dyn.kernel_args())
                scale = min(th / mmf[0], 0.999 / mmf[-1])
            if params.funding_cap > 0:
                if t > 0:
                    psum += J / J_prev - 1.0 + (premium[mi, t - 1] if premium is not None else 0.0)
                    n_since += 1
                J_prev = J
                if n_since >= params.funding_interval:
                    rate = psum / n_since + params.funding_premium + params.funding_interest
                    rate = min(max(rate, -params.funding_cap), params.funding_cap)
                    Fi += rate * o
                    out[mi, 5] += rate * o * q[open_ & (q > 0)].sum()
                    psum, n_since = 0.0, 0
            oe = o - Fi
            sells = buys = sl = ss = 0.0
            for i in range(len(q)):
                if not open_[i]:
                    continue
                n = abs(q[i]) * o
                k = int(np.searchsorted(fl, n, side="right") - 1)
                e = m[i] + q[i] * (oe - E[i])
                mm = scale * (n * mmf[k] - ded[k])
                if not e < mm:
                    continue
                if params.backstop_fraction > 0 and e < params.backstop_fraction * mm:
                    out[mi, 1] += 1
                    out[mi, 7] += 1
                    vq += q[i]
                    vcost += q[i] * oe
                    vmargin += e
                    open_[i] = False
                    continue
                if t - last[i] < params.partial_cooldown:
                    continue
                f = params.partial_fraction if n > params.partial_above_usd else 1.0
                for _ in range(2):
                    val = f * abs(q[i]) * p
                    slip = min(k_over_depth * val, 1 - floor)
                    px = p * (1 - slip) if q[i] > 0 else p * (1 + slip)
                    if f == 1.0 or m[i] + q[i] * ((px - Fi) - E[i]) > 0:
                        break
                    f = 1.0
                ec = m[i] + f * q[i] * ((px - Fi) - E[i])
                fee = min(params.liquidation_fee * val, max(ec, 0.0))
                out[mi, 1] += 1
                fund += fee * (1 - params.keeper_share)
                if q[i] > 0:
                    sells += val
                else:
                    buys += val
                if f < 1.0:
                    m[i] = ec - fee
                    q[i] = q[i] - f * q[i]
                    last[i] = t
                    continue
                if q[i] > 0:
                    sl += max(-ec, 0.0)
                else:
                    ss += max(-ec, 0.0)
                open_[i] = False
            short = sl + ss
            if short > 0:
                out[mi, 0] += short
                pay = min(fund, short)
                fund -= pay
                out[mi, 2] += pay
                rem = short - pay
                for part, side in ((rem * sl / short, -1.0), (rem - rem * sl / short, 1.0)):
                    prof = np.where(open_ & (q * side > 0), q * (oe - E), 0.0)
                    for i in np.argsort(-prof, kind="stable"):
                        if part <= 0 or prof[i] <= 0:
                            break
                        h = min(part, prof[i])
                        m[i] += prof[i] - h
                        E[i] = oe
                        part -= h
                        out[mi, 3] += h
            net = sells - buys
            if net > 0:
                J = J * max(1 - k_over_depth * net, floor)
            else:
                J = J * (1 + min(-k_over_depth * net, 1 - floor))
        pT = S[mi, -1] * J
        out[mi, 4] = pT
        out[mi, 6] = vmargin + vq * (pT - Fi) - vcost
    return out


@st.composite
def funded_cases(draw):
    params, book, prices, market = draw(cases())
    params = dataclasses.replace(
        params,
        funding_interval=draw(st.integers(1, 5)),
        funding_interest=draw(st.floats(-0.01, 0.01)),
        funding_cap=draw(st.sampled_from([0.0, 0.005, 0.04])),
        funding_premium=draw(st.floats(-0.05, 0.05)),
        partial_cooldown=draw(st.integers(0, 4)),
        backstop_fraction=draw(st.sampled_from([0.0, 2 / 3, 0.9])),
    )
    premium = None
    if draw(st.booleans()):
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        premium = rng.normal(0.0, 0.01, (prices.shape[0], prices.shape[1] - 1))
    return params, book, prices, market, premium


SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(funded_cases())
def test_screened_kernel_with_funding_cooldown_and_backstop_equals_a_full_scan(case) -> None:
    params, book, prices, market, premium = case
    got, ex = perp.simulate(params, book, prices, market, extras=True, premium=premium)
    liq = market.liquidity
    want = reference(
        params, book, prices, market.oracle.latency, liq.k / liq.depth_usd, 1 - liq.max_step_impact, premium
    )
    cols = [F["bad_debt"], F["n_liq"], F["insurance_used"], F["socialized_loss"], F["final_price"]]
    np.testing.assert_allclose(got[:, cols], want[:, :5], rtol=1e-9, atol=1e-6)
    extras = np.column_stack([ex["funding_paid_longs"], ex["backstop_pnl"], ex["backstop_takeovers"]])
    np.testing.assert_allclose(extras, want[:, 5:], rtol=1e-9, atol=1e-6)
    # The reference mode of the kernel gives the same results.
    full = perp.simulate(params, book, prices, market, premium=premium, full_scan=True)
    np.testing.assert_allclose(full, got, rtol=1e-12, atol=1e-9)


@SETTINGS
@given(cases(), st.integers(1, 6), st.floats(-0.5, 0.5))
def test_off_switches_give_the_results_without_them_bit_for_bit(case, interval, interest) -> None:
    # Funding is off with a cap of 0 whatever its interval and interest; a cooldown of one
    # step is none; a backstop fraction of 0 is none.
    params, book, prices, market = case
    off = dataclasses.replace(
        params, funding_interval=interval, funding_interest=interest, partial_cooldown=1
    )
    a = perp.simulate_detail(params, book, prices, market)
    b = perp.simulate_detail(off, book, prices, market)
    for key in a:
        if key == "extras":  # a dict of float64[M] by extra field
            for name in a[key]:
                assert np.array_equal(a[key][name], b[key][name]), name
        else:
            assert np.array_equal(a[key], b[key]), key


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(1, 4))
def test_funding_paid_by_longs_is_received_by_shorts_when_sizes_balance(seed, n, interval) -> None:
    # Every long has a short of the same size, and margins so large that nobody is liquidated:
    # what the longs pay the shorts receive (the sum is zero but for rounding). Each open
    # position paid q * F, F the index at the horizon.
    rng = np.random.default_rng(seed)
    size = rng.uniform(0.1, 10.0, n)
    book = perp.Book(
        size=np.concatenate([size, -size]),
        entry_price=rng.uniform(90.0, 110.0, 2 * n),
        margin=np.full(2 * n, 1e6),
    )
    params = perp.Params(**ONE_TIER, funding_interval=interval, funding_cap=0.04, funding_premium=0.003)
    prices = 100.0 * np.exp(np.hstack([np.zeros((3, 1)), np.cumsum(rng.normal(0, 0.02, (3, 30)), axis=1)]))
    premium = rng.normal(0.0, 0.02, (3, 30))
    out, ex = perp.simulate(params, book, prices, NO_IMPACT, extras=True, premium=premium)
    assert np.all(out[:, F["n_liq"]] == 0)
    scale = np.abs(ex["funding_paid_longs"]) + 1.0
    np.testing.assert_allclose(
        ex["funding_paid_longs"] + ex["funding_paid_shorts"], 0.0, atol=1e-12 * scale.max()
    )
    np.testing.assert_allclose(
        ex["funding_paid_longs"], ex["funding_index"] * size.sum(), rtol=1e-9, atol=1e-9
    )
    assert np.any(ex["funding_index"] != 0.0)
