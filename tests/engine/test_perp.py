"""Perpetuals with margin tiers (engine/perp.py): hand-computed cases, a full-scan reference and
invariants over random books (hypothesis)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import perp
from engine._common import FIELD_INDEX as F
from engine._common import dynamic_threshold, switch_threshold
from engine.errors import EngineError
from engine.market import DynamicThreshold, Liquidators, Liquidity, MarketConditions, Oracle

# Hyperliquid's BTC testnet table (docs "Trading / Margin tiers"): 0-10k at 40x, 10k-50k at
# 25x, from 50k at 10x. Initial fraction = 1 / max leverage; maintenance = half of it.
TIERS = {
    "tier_floors": (0.0, 10_000.0, 50_000.0),
    "tier_imf": (0.025, 0.04, 0.10),
    "tier_mmf": (0.0125, 0.02, 0.05),
}
NO_IMPACT = MarketConditions()


def one_path(*prices: float) -> np.ndarray:
    return np.array([prices], dtype=np.float64)


def test_deductions_follow_hyperliquid_recursion_and_keep_maintenance_continuous() -> None:
    params = perp.Params(**TIERS)
    # deduction_1 = 10,000 * (0.02 - 0.0125) = 75; deduction_2 = 75 + 50,000 * (0.05 - 0.02) = 1,575.
    np.testing.assert_allclose(params.deductions, [0.0, 75.0, 1575.0], rtol=0, atol=1e-9)
    # 60k of notional: 10k at 1.25 %, 40k at 2 %, 10k at 5 % = 125 + 800 + 500.
    assert perp.maintenance_margin(params, np.array([60_000.0]))[0] == pytest.approx(1425.0, abs=1e-9)
    for floor in (10_000.0, 50_000.0):
        below, at = perp.maintenance_margin(params, np.array([floor * (1 - 1e-12), floor]))
        assert at == pytest.approx(below, rel=1e-9)


def test_short_crossing_two_tiers_is_liquidated_where_computed_by_hand() -> None:
    # Short 4 units from 2,000 (notional 8k: tier 0) with 45k of margin; as the price rises its
    # notional passes 10k (tier 1) and 50k (tier 2). In tier 2 the liquidation price solves
    # 45,000 - 4 (o - 2,000) = 4 o * 0.05 - 1,575, i.e. o = 54,575 / 4.2 = 12,994.05.
    params = perp.Params(**TIERS, liquidation_fee=0.01)
    book = perp.Book(size=np.array([-4.0]), entry_price=np.array([2000.0]), margin=np.array([45_000.0]))
    assert perp.liquidation_prices(params, book)[0] == pytest.approx(54_575.0 / 4.2, rel=1e-12)
    # At 12,900: equity 45,000 - 43,600 = 1,400 >= MM 51,600 * 0.05 - 1,575 = 1,005: safe.
    # At 13,000: equity 1,000 < MM 52,000 * 0.05 - 1,575 = 1,025: liquidated; fee 1 % of 52k = 520.
    r = perp.simulate_detail(params, book, one_path(2000.0, 5000.0, 12_900.0, 13_000.0, 13_000.0), NO_IMPACT)
    row = r["per_path"][0]
    assert row[F["n_liq"]] == 1.0
    assert r["exec_price"][0, 0] == 13_000.0
    assert row[F["penalty"]] == pytest.approx(520.0, rel=1e-12)
    assert row[F["protocol_fees"]] == pytest.approx(520.0, rel=1e-12)
    assert r["payout"][0, 0] == pytest.approx(480.0, rel=1e-12)
    assert row[F["liq_volume"]] == pytest.approx(52_000.0, rel=1e-12)
    assert row[F["bad_debt"]] == 0.0
    # One step earlier the position is still open.
    early = perp.simulate(params, book, one_path(2000.0, 5000.0, 12_900.0, 13_000.0), NO_IMPACT)
    assert early[0, F["n_liq"]] == 0.0


def test_long_liquidation_prices_sit_where_equity_meets_maintenance() -> None:
    rng = np.random.default_rng(7)
    params = perp.Params(**TIERS)
    book = perp.synthetic_book(params, 400, 2000.0, rng)
    lp = perp.liquidation_prices(params, book)
    live = lp > 0
    n = np.abs(book.size[live]) * lp[live]
    equity = book.margin[live] + book.size[live] * (lp[live] - book.entry_price[live])
    np.testing.assert_allclose(equity, perp.maintenance_margin(params, n), rtol=1e-9, atol=1e-6)
    # Just inside the price the position is liquidatable, just outside it is not.
    for sign, eps in ((1, -1e-6), (-1, 1e-6)):
        sel = live & (np.sign(book.size) == sign)
        o = lp[sel] * (1 + eps)
        e = book.margin[sel] + book.size[sel] * (o - book.entry_price[sel])
        assert np.all(e < perp.maintenance_margin(params, np.abs(book.size[sel]) * o))


def test_insurance_fund_pays_negative_equity_and_adl_takes_the_rest_from_the_most_profitable_short() -> None:
    # A 10x long gaps from 2,000 to 1,000: equity 2,000 - 10 * 1,000 = -8,000. The fund (3,000)
    # pays first; 5,000 is socialised on the most profitable short (C: 5 * 1,000 of profit),
    # B (2 * 1,000) is not touched.
    params = perp.Params(tier_floors=(0.0,), tier_imf=(0.1,), tier_mmf=(0.05,), insurance_fund=3000.0)
    book = perp.Book(
        size=np.array([10.0, -2.0, -5.0]),
        entry_price=np.full(3, 2000.0),
        margin=np.array([2000.0, 1000.0, 2000.0]),
    )
    r = perp.simulate_detail(params, book, one_path(2000.0, 1000.0, 1000.0), NO_IMPACT)
    row = r["per_path"][0]
    assert row[F["bad_debt"]] == 8000.0
    assert row[F["insurance_used"]] == 3000.0
    assert row[F["socialized_loss"]] == 5000.0
    assert row[F["insolvent"]] == 1.0
    assert r["extra"][0].tolist() == [1.0, 0.0, 0.0]  # one ADL event, nothing uncovered, fund empty
    # C's profit was settled at 1,000 and taken: margin 2,000 + 5,000 - 5,000; B untouched.
    assert r["margin"][0].tolist() == [2000.0, 1000.0, 2000.0]
    assert r["entry_price"][0].tolist() == [2000.0, 2000.0, 1000.0]


def test_adl_goes_down_the_ranking_and_reports_what_no_profit_could_cover() -> None:
    params = perp.Params(tier_floors=(0.0,), tier_imf=(0.1,), tier_mmf=(0.05,), insurance_fund=0.0)
    book = perp.Book(
        size=np.array([10.0, -2.0, -5.0]),
        entry_price=np.full(3, 2000.0),
        margin=np.array([2000.0, 1000.0, 2000.0]),
    )
    r = perp.simulate_detail(params, book, one_path(2000.0, 1000.0, 1000.0), NO_IMPACT)
    row = r["per_path"][0]
    assert row[F["socialized_loss"]] == 7000.0  # C's 5,000 then B's 2,000
    assert r["extra"][0].tolist() == [2.0, 1000.0, 0.0]  # 2 ADL events, 1,000 uncovered
    assert r["margin"][0, 1:].tolist() == [1000.0, 2000.0]


def test_liquidated_shorts_push_the_price_up_and_longs_push_it_down() -> None:
    # No tiers in play; depth 1e6 with k = 1: a close of 10,000 notional moves the price 1 %.
    params = perp.Params(tier_floors=(0.0,), tier_imf=(0.1,), tier_mmf=(0.05,))
    market = MarketConditions(liquidity=Liquidity(depth_usd=1e6, k=1.0))
    short = perp.Book(size=np.array([-5.0]), entry_price=np.array([2000.0]), margin=np.array([600.0]))
    # At 2,100: equity 600 - 500 = 100 < MM 525: closed, buying 10,500 of notional.
    r = perp.simulate_detail(params, short, one_path(2000.0, 2100.0, 2100.0), market)
    assert r["exec_price"][0, 0] == pytest.approx(2100.0 * (1 + 10_500 / 1e6), rel=1e-12)
    assert r["per_path"][0, F["final_price"]] == pytest.approx(2100.0 * (1 + 10_500 / 1e6), rel=1e-12)
    long = perp.Book(size=np.array([5.0]), entry_price=np.array([2000.0]), margin=np.array([600.0]))
    r = perp.simulate_detail(params, long, one_path(2000.0, 1900.0, 1900.0), market)
    assert r["exec_price"][0, 0] == pytest.approx(1900.0 * (1 - 9_500 / 1e6), rel=1e-12)
    assert r["per_path"][0, F["final_price"]] == pytest.approx(1900.0 * (1 - 9_500 / 1e6), rel=1e-12)


def test_large_position_is_liquidated_a_fifth_at_a_time_as_on_hyperliquid() -> None:
    # Long 100 from 2,000 (200k of notional) with 20k of margin, single tier mmf 5 %. At 1,880:
    # equity 20,000 - 12,000 = 8,000 < MM 9,400. Above 100k of notional only 20 % closes: 20
    # units at 1,880 realize -2,400, the fee (1 % of 37,600 = 376) comes out of the margin:
    # 20,000 - 2,400 - 376 = 17,224 left on 80 units. Next step at the same price: equity
    # 17,224 - 80 * 120 = 7,624 >= MM 7,520 (150,400 * 5 %): safe.
    params = perp.Params(
        tier_floors=(0.0,),
        tier_imf=(0.1,),
        tier_mmf=(0.05,),
        liquidation_fee=0.01,
        partial_fraction=0.2,
        partial_above_usd=100_000.0,
    )
    book = perp.Book(size=np.array([100.0]), entry_price=np.array([2000.0]), margin=np.array([20_000.0]))
    r = perp.simulate_detail(params, book, one_path(2000.0, 1880.0, 1880.0, 1880.0), NO_IMPACT)
    assert r["per_path"][0, F["n_liq"]] == 1.0
    assert r["size"][0, 0] == pytest.approx(80.0, rel=1e-12)
    assert r["margin"][0, 0] == pytest.approx(17_224.0, rel=1e-12)
    assert r["status"][0, 0] & 2 == 0  # still open
    assert r["realized"][0, 0] == pytest.approx(-2400.0, rel=1e-12)


def test_keeper_who_would_lose_on_gas_leaves_the_position_open_and_it_is_counted() -> None:
    params = perp.Params(
        tier_floors=(0.0,), tier_imf=(0.1,), tier_mmf=(0.05,), liquidation_fee=0.001, keeper_share=0.5
    )
    book = perp.Book(size=np.array([5.0]), entry_price=np.array([2000.0]), margin=np.array([600.0]))
    # Fee 0.1 % of 9,500 = 9.5, keeper's half 4.75 against 10 USD of gas: nobody acts.
    costly = MarketConditions(liquidators=Liquidators(rational=True, gas_cost_usd=10.0))
    r = perp.simulate(params, book, one_path(2000.0, 1900.0, 1900.0, 1900.0), costly)
    assert r[0, F["n_liq"]] == 0.0 and r[0, F["n_unprofitable"]] == 1.0
    cheap = MarketConditions(liquidators=Liquidators(rational=True, gas_cost_usd=4.0))
    r = perp.simulate(params, book, one_path(2000.0, 1900.0, 1900.0, 1900.0), cheap)
    assert r[0, F["n_liq"]] == 1.0 and r[0, F["keeper_rewards"]] == pytest.approx(4.75, rel=1e-12)


@pytest.mark.parametrize(
    "bad, message",
    [
        # The tier rules are engine.rules.perp_tiers, the proposal form's own (same messages).
        ({"tier_mmf": (0.0125, 0.05, 0.05)}, "Tier 2: maintenance_margin_fraction must be below"),
        ({"tier_floors": (0.0, 60_000.0, 50_000.0)}, "Tier 3: notional_floor must be above tier 2's"),
        (
            {"tier_imf": (0.025, 0.02, 0.10), "tier_mmf": (0.0125, 0.015, 0.05)},
            "Tier 2: initial_margin_fraction must be at least tier 1's",
        ),
        (
            {"tier_mmf": (0.0125, 0.011, 0.05)},
            "Tier 2: maintenance_margin_fraction must be at least tier 1's",
        ),
        ({"tier_floors": (5.0, 10_000.0, 50_000.0)}, "Tier 1: notional_floor must be 0"),
    ],
)
def test_invalid_tiers_are_rejected_naming_the_parameter(bad: dict, message: str) -> None:
    with pytest.raises(EngineError, match=message.replace("[", r"\[").replace("]", r"\]")):
        perp.Params(**{**TIERS, **bad})


def test_params_from_dict_reads_tier_rows() -> None:
    p = perp.params_from_dict(
        {
            "tiers": [{"floor": 0, "imf": 0.1, "mmf": 0.05}, {"floor": 1e5, "imf": 0.2, "mmf": 0.1}],
            "liquidation_fee": 0.01,
            "dynamic": {"k_vol": 1.0},
        }
    )
    assert p.tier_floors == (0.0, 1e5) and p.tier_mmf == (0.05, 0.1) and p.dynamic.k_vol == 1.0
    with pytest.raises(EngineError, match="unknown perp parameter 'leverage'"):
        perp.params_from_dict({"leverage": 10})


# ---------------------------------------------------------------------------------------------
# A plain-Python full scan (every position, every step, no screening) with the same rules.


def reference(
    params0: perp.Params,
    book: perp.Book,
    S: np.ndarray,
    lag: int,
    k_over_depth: float,
    floor: float,
    switch: tuple | None = None,
) -> np.ndarray:
    """``switch``: optional ``(k, params_after)`` (margin-engine.md section 4)."""
    out = np.zeros((S.shape[0], 5))  # bad, n_liq, insurance_used, socialized, final_price
    for mi in range(S.shape[0]):
        params = params0
        fl, mmf, ded = np.asarray(params.tier_floors), np.asarray(params.tier_mmf), params.deductions
        dyn = params.dynamic
        q, E, m = book.size.copy(), book.entry_price.copy(), book.margin.copy()
        open_ = np.ones(len(q), bool)
        J, fund, hist = 1.0, params.insurance_fund, []
        dstate = np.array([0.0, 0.0, mmf[0]])
        for t in range(S.shape[1] - 1):
            if switch is not None and t == switch[0]:
                kv_old, base_old = (dyn.k_vol if dyn else 0.0), mmf[0]
                params = switch[1]
                fl, mmf, ded = np.asarray(params.tier_floors), np.asarray(params.tier_mmf), params.deductions
                dyn = params.dynamic
                d_new = dyn or DynamicThreshold()
                switch_threshold(dstate, base_old, mmf[0], kv_old, d_new.floor, d_new.cap)
                if t == 0:
                    fund = params.insurance_fund
            p = S[mi, t] * J
            hist.append(p)
            o = hist[max(0, t - lag)]
            scale = 1.0
            if dyn is not None:
                th = dynamic_threshold(dstate, o, t, mmf[0], 1.0, *dyn.kernel_args())
                scale = min(th / mmf[0], 0.999 / mmf[-1])
            sells = buys = sl = ss = 0.0
            for i in range(len(q)):
                if not open_[i]:
                    continue
                n = abs(q[i]) * o
                k = int(np.searchsorted(fl, n, side="right") - 1)
                if m[i] + q[i] * (o - E[i]) < scale * (n * mmf[k] - ded[k]):
                    f = params.partial_fraction if n > params.partial_above_usd else 1.0
                    for _ in range(2):
                        val = f * abs(q[i]) * p
                        slip = min(k_over_depth * val, 1 - floor)
                        px = p * (1 - slip) if q[i] > 0 else p * (1 + slip)
                        if f == 1.0 or m[i] + q[i] * (px - E[i]) > 0:
                            break
                        f = 1.0  # bankrupt at the partial's price: closes whole
                    ec = m[i] + f * q[i] * (px - E[i])
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
                    prof = np.where(open_ & (q * side > 0), q * (o - E), 0.0)
                    for i in np.argsort(-prof, kind="stable"):
                        if part <= 0 or prof[i] <= 0:
                            break
                        h = min(part, prof[i])
                        m[i] += prof[i] - h
                        E[i] = o
                        part -= h
                        out[mi, 3] += h
            net = sells - buys
            if net > 0:
                J = J * max(1 - k_over_depth * net, floor)
            else:
                J = J * (1 + min(-k_over_depth * net, 1 - floor))
        out[mi, 4] = S[mi, -1] * J
    return out


@st.composite
def cases(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_tiers = draw(st.integers(1, 3))
    floors = (0.0,) + tuple(np.cumsum(rng.uniform(5e3, 5e4, n_tiers - 1)))
    imf = tuple(np.cumsum(rng.uniform(0.02, 0.15, n_tiers)))
    ratio = draw(st.floats(0.3, 0.7))
    mmf = tuple(x * ratio for x in imf)
    params = perp.Params(
        tier_floors=floors,
        tier_imf=imf,
        tier_mmf=mmf,
        liquidation_fee=draw(st.floats(0.0, 0.02)),
        keeper_share=draw(st.floats(0.0, 1.0)),
        insurance_fund=draw(st.sampled_from([0.0, 1e3, 1e5])),
        partial_fraction=draw(st.sampled_from([1.0, 0.2, 0.5])),
        partial_above_usd=draw(st.sampled_from([np.inf, 2e4, 0.0])),
        dynamic=draw(
            st.sampled_from(
                [
                    None,
                    DynamicThreshold(k_vol=0.5, horizon_steps=24.0),
                    DynamicThreshold(k_vol=3.0, update_interval=3, cap=0.3),
                ]
            )
        ),
    )
    n = draw(st.integers(1, 25))
    book = perp.synthetic_book(params, n, 100.0, rng, notional_median=1e4)
    # Some thin margins, so that gaps leave negative equity.
    book = perp.Book(
        size=book.size,
        entry_price=book.entry_price * rng.uniform(0.9, 1.1, n),
        margin=book.margin * rng.uniform(0.3, 1.0, n),
    )
    mp, t = draw(st.integers(1, 4)), draw(st.integers(1, 30))
    steps = rng.normal(draw(st.floats(-0.05, 0.05)), draw(st.floats(0.0, 0.15)), (mp, t))
    prices = 100.0 * np.exp(np.hstack([np.zeros((mp, 1)), np.cumsum(steps, axis=1)]))
    market = MarketConditions(
        oracle=Oracle(latency=draw(st.integers(0, 2))),
        liquidity=Liquidity(
            depth_usd=draw(st.sampled_from([1e4, 1e6, np.inf])), max_step_impact=draw(st.floats(0.05, 0.9))
        ),
    )
    return params, book, prices, market


SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(cases())
def test_screened_kernel_equals_a_full_scan_of_every_position(case) -> None:
    params, book, prices, market = case
    got = perp.simulate(params, book, prices, market)
    liq = market.liquidity
    want = reference(
        params, book, prices, market.oracle.latency, liq.k / liq.depth_usd, 1 - liq.max_step_impact
    )
    cols = [F["bad_debt"], F["n_liq"], F["insurance_used"], F["socialized_loss"], F["final_price"]]
    np.testing.assert_allclose(got[:, cols], want, rtol=1e-9, atol=1e-6)


@SETTINGS
@given(cases())
def test_money_is_conserved_between_traders_insurance_fund_keepers_and_adl_counterparties(case) -> None:
    params, book, prices, market = case
    r = perp.simulate_detail(params, book, prices, market)
    res, extra = r["per_path"], r["extra"]
    E0, m0 = book.entry_price, book.margin
    q = r["size"]  # after partial liquidations
    closed = (r["status"] & 2) != 0
    pT = res[:, F["final_price"]][:, None]
    # Trading PnL against the original entries: of every liquidation (partial or whole) at its
    # close price, and of what is still open to the horizon. ADL settlements and partial
    # closes move value inside a position, not out of it.
    pnl = r["realized"] + np.where(closed, 0.0, q * (pT - E0))
    equity_open = np.where(closed, 0.0, r["margin"] + q * (pT - r["entry_price"]))
    lhs = m0.sum() + params.insurance_fund + pnl.sum(axis=1) + extra[:, 1]
    rhs = r["payout"].sum(axis=1) + equity_open.sum(axis=1) + extra[:, 2] + res[:, F["keeper_rewards"]]
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-6 * (1 + np.abs(lhs).max()))
    # The shortfall is exactly split between the fund, ADL and what nobody covered.
    np.testing.assert_allclose(
        res[:, F["bad_debt"]],
        res[:, F["insurance_used"]] + res[:, F["socialized_loss"]] + extra[:, 1],
        rtol=1e-12,
        atol=1e-9,
    )
    # No negative balances.
    assert np.all(r["payout"] >= 0) and np.all(extra[:, 2] >= 0)
    assert np.all(np.where(closed, 0.0, r["margin"]) >= 0)


@settings(max_examples=25, deadline=None)
@given(cases(), st.data())
def test_paths_run_alone_give_the_same_rows_bit_for_bit(case, data) -> None:
    params, book, prices, market = case
    full = perp.simulate(params, book, prices, market)
    a = data.draw(st.integers(0, prices.shape[0] - 1))
    b = data.draw(st.integers(a + 1, prices.shape[0]))
    assert np.array_equal(perp.simulate(params, book, prices[a:b], market), full[a:b])


def test_a_seeded_book_with_cascades_matches_the_full_scan() -> None:
    rng = np.random.default_rng(20240601)
    params = perp.Params(**TIERS, liquidation_fee=0.005, insurance_fund=1e4)
    book = perp.synthetic_book(params, 300, 2000.0, rng)
    z = rng.standard_normal((5, 100))
    prices = 2000.0 * np.exp(np.hstack([np.zeros((5, 1)), np.cumsum(0.02 * z, axis=1)]))
    market = MarketConditions(
        oracle=Oracle(latency=1), liquidity=Liquidity(depth_usd=float(np.abs(book.size).sum() * 2000.0) * 0.3)
    )
    got = perp.simulate(params, book, prices, market)
    want = reference(params, book, prices, 1, 1.0 / market.liquidity.depth_usd, 0.5)
    cols = [F["bad_debt"], F["n_liq"], F["insurance_used"], F["socialized_loss"], F["final_price"]]
    np.testing.assert_allclose(got[:, cols], want, rtol=1e-9, atol=1e-6)
    assert got[:, F["n_liq"]].sum() > 50  # the case does exercise liquidations
    assert got[:, F["socialized_loss"]].sum() > 0  # and ADL


def test_dynamic_fraction_beyond_the_screens_range_still_matches_the_full_scan() -> None:
    # k_vol large enough that the maintenance fraction goes past twice its base, the range the
    # screening keys cover: those steps check every position exactly.
    rng = np.random.default_rng(5)
    dyn = DynamicThreshold(k_vol=2.0, horizon_steps=24.0)
    params = perp.Params(**TIERS, liquidation_fee=0.005, insurance_fund=1e3, dynamic=dyn)
    book = perp.synthetic_book(params, 200, 2000.0, rng)
    prices = 2000.0 * np.exp(np.hstack([np.zeros((3, 1)), np.cumsum(rng.normal(0, 0.03, (3, 60)), axis=1)]))
    state = np.array([0.0, 0.0, TIERS["tier_mmf"][0]])
    th = [
        dynamic_threshold(state, o, t, TIERS["tier_mmf"][0], 1.0, *dyn.kernel_args())
        for t, o in enumerate(prices[0, :-1])
    ]
    assert max(th) > 2.0 * TIERS["tier_mmf"][0]  # the wide branch is exercised
    got = perp.simulate(params, book, prices, NO_IMPACT)
    want = reference(params, book, prices, 0, 0.0, 0.5)
    cols = [F["bad_debt"], F["n_liq"], F["insurance_used"], F["socialized_loss"], F["final_price"]]
    np.testing.assert_allclose(got[:, cols], want, rtol=1e-9, atol=1e-6)
    assert got[:, F["n_liq"]].sum() > 0
