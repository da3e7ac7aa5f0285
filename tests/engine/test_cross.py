"""Cross-collateral accounts (engine/cross.py): a two-asset account by hand, a full-scan
reference and invariants over random books and correlated paths (hypothesis)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import cross, maker
from engine._common import FIELD_INDEX as F
from engine._common import dynamic_threshold, switch_threshold
from engine.errors import EngineError
from engine.market import DynamicThreshold, Liquidators, Liquidity, MarketConditions, Oracle

NO_IMPACT = MarketConditions()


def two_assets(eth: list[float], x: list[float]) -> np.ndarray:
    return np.array([[eth], [x]], dtype=np.float64)  # (A=2, M=1, T+1)


def test_two_asset_account_computed_by_hand() -> None:
    # Account: 1 ETH (LT 0.8, bonus 5 %) and 100 X (LT 0.7, bonus 10 %) against 2,000 USD.
    # h = (o_eth * 0.8 + 100 * o_x * 0.7) / 2,000; at (1,700, 8.8): (1,360 + 616) / 2,000 = 0.988.
    params = cross.Params(liquidation_threshold=(0.8, 0.7), liquidation_bonus=(0.05, 0.10), protocol_fee=0.1)
    book = cross.Book(collateral=np.array([[1.0, 100.0]]), debt=np.array([2000.0]))
    assert cross.health_factors(params, book, np.array([1700.0, 8.8]))[0] == pytest.approx(0.988, rel=1e-12)
    prices = two_assets([2000.0, 1800.0, 1700.0, 1700.0], [10.0, 9.2, 8.8, 8.8])
    r = cross.simulate_detail(params, book, prices, NO_IMPACT)
    row = r["per_path"][0]
    # h = 0.988 >= 0.95: close factor 0.5, repay 1,000. Seizing ETH: 1,000 * 1.05 / 1,700 =
    # 0.6176 ETH, the liquidator keeps 0.6176 - 10 % of the bonus part, worth 1,045.0 - 1,000 =
    # 45.0 of profit. Seizing X: 1,000 * 1.1 / 8.8 = 125 > 100 held, so all 100 X, repaying
    # 100 * 8.8 / 1.1 = 800; it keeps 100 - 0.909 = 99.09 X worth 872.0: 72.0 of profit. X wins.
    assert row[F["n_liq"]] == 1.0
    assert row[F["liq_volume"]] == pytest.approx(800.0, rel=1e-12)
    assert r["debt"][0, 0] == pytest.approx(1200.0, rel=1e-12)
    assert r["collateral"][0, 0].tolist() == [1.0, 0.0]
    assert r["to_protocol"][0, 1] == pytest.approx((100.0 - 100.0 / 1.1) * 0.1, rel=1e-12)
    assert row[F["penalty"]] == pytest.approx(80.0, rel=1e-12)
    assert row[F["protocol_fees"]] == pytest.approx((100.0 - 100.0 / 1.1) * 0.1 * 8.8, rel=1e-12)
    assert row[F["bad_debt"]] == 0.0
    # Left: 1 ETH against 1,200; h at 1,700 = 1,360 / 1,200 > 1, so no second liquidation.


def test_debt_is_written_off_only_when_every_collateral_asset_is_gone() -> None:
    # 1 ETH + 10 X against 1,500; both crash. Step 1: h = (1,000 * 0.8 + 10 * 5 * 0.7) / 1,500 =
    # 0.557: full close, the liquidator takes the ETH (its 1,000 beats X's 50), repaying
    # 1,000 / 1.05 = 952.38; X is still held, so the account stays open with 547.62 of debt.
    # Step 2: only X is left: 10 X repay 50 / 1.1 = 45.45 and the rest is bad debt.
    params = cross.Params(liquidation_threshold=(0.8, 0.7), liquidation_bonus=(0.05, 0.10), protocol_fee=0.0)
    book = cross.Book(collateral=np.array([[1.0, 10.0]]), debt=np.array([1500.0]))
    prices = two_assets([2000.0, 1000.0, 1000.0, 1000.0], [10.0, 5.0, 5.0, 5.0])
    r = cross.simulate_detail(params, book, prices, NO_IMPACT)
    row = r["per_path"][0]
    assert row[F["n_liq"]] == 2.0
    repaid = 1000.0 / 1.05 + 50.0 / 1.1
    assert row[F["liq_volume"]] == pytest.approx(repaid, rel=1e-12)
    assert row[F["bad_debt"]] == pytest.approx(1500.0 - repaid, rel=1e-12)
    assert r["debt"][0, 0] == 0.0 and r["collateral"][0, 0].tolist() == [0.0, 0.0]
    # With one more step of horizon the outcome is the same: the account is closed.
    assert row[F["unrealized_bad_debt"]] == 0.0


def test_each_asset_sale_moves_only_its_own_price() -> None:
    params = cross.Params(liquidation_threshold=(0.8, 0.7), liquidation_bonus=(0.05, 0.10), protocol_fee=0.0)
    book = cross.Book(collateral=np.array([[1.0, 0.0]]), debt=np.array([1500.0]))
    prices = two_assets([2000.0, 1800.0, 1800.0], [10.0, 10.0, 10.0])
    market = MarketConditions(liquidity=Liquidity(depth_usd=1e6))
    r = cross.simulate_detail(params, book, prices, market, depth_usd=np.array([1e5, 1e6]))
    # h = 1,440 / 1,500: close factor 0.5, repay 750, seize 750 * 1.05 / 1,800 ETH sold for 787.5.
    assert r["per_path"][0, F["final_price"]] == pytest.approx(1800.0 * (1 - 787.5 / 1e5), rel=1e-12)


def test_unprofitable_liquidation_is_skipped_and_counted_once() -> None:
    params = cross.Params(liquidation_threshold=(0.8,), liquidation_bonus=(0.05,), protocol_fee=0.0)
    book = cross.Book(collateral=np.array([[1.0]]), debt=np.array([1500.0]))
    prices = np.array([[[2000.0, 1800.0, 1800.0, 1800.0]]])
    market = MarketConditions(liquidators=Liquidators(rational=True, gas_cost_usd=100.0))
    r = cross.simulate(params, book, prices, market)  # bonus 37.5 < gas 100
    assert r[0, F["n_liq"]] == 0.0 and r[0, F["n_unprofitable"]] == 1.0


@pytest.mark.parametrize(
    "kw, message",
    [
        (
            {"liquidation_threshold": (0.8, 1.2), "liquidation_bonus": (0.05, 0.05)},
            r"liquidation_threshold\[1\]",
        ),
        (
            {"liquidation_threshold": (0.8, 0.95), "liquidation_bonus": (0.05, 0.1)},
            r"asset 1: liquidation_threshold x \(1 \+ liquidation_bonus\) must be at most 1",
        ),
        ({"liquidation_threshold": (0.8,), "liquidation_bonus": (0.05, 0.1)}, "one length"),
    ],
)
def test_invalid_per_asset_parameters_are_rejected_naming_the_asset(kw: dict, message: str) -> None:
    with pytest.raises(EngineError, match=message):
        cross.Params(**kw)


def test_prices_must_have_one_row_per_asset() -> None:
    params = cross.Params(liquidation_threshold=(0.8, 0.7), liquidation_bonus=(0.05, 0.1))
    book = cross.Book(collateral=np.ones((3, 2)), debt=np.ones(3))
    with pytest.raises(EngineError, match="A=2 assets"):
        cross.simulate(params, book, np.ones((1, 2, 5)), NO_IMPACT)


# ---------------------------------------------------------------------------------------------
# Plain-Python full scan: every account, every step, the same rules, no screening.


def reference(
    params: cross.Params,
    book: cross.Book,
    S: np.ndarray,
    lag: int,
    kod: float,
    floor: float,
    rational: bool,
    gas: float,
    switch: tuple | None = None,
) -> np.ndarray:
    """``switch``: optional ``(k, params_after)`` (margin-engine.md section 4)."""
    A, M = S.shape[0], S.shape[1]
    out = np.zeros((M, 4))  # bad, n_liq, liq_volume, n_unprofitable
    params0 = params
    for m in range(M):
        params = params0
        lt, bonus = np.asarray(params.liquidation_threshold), np.asarray(params.liquidation_bonus)
        base_lt = lt
        c, d = book.collateral.copy(), book.debt.copy()
        J = np.ones(A)
        hist = []
        unprof = set()
        dstate = np.array([[0.0, 0.0, x] for x in base_lt])
        for t in range(S.shape[2] - 1):
            if switch is not None and t == switch[0]:
                kv_old = params.dynamic.k_vol if params.dynamic else 0.0
                params = switch[1]
                new_lt = np.asarray(params.liquidation_threshold)
                d_new = params.dynamic or DynamicThreshold()
                for a in range(A):
                    switch_threshold(dstate[a], base_lt[a], new_lt[a], kv_old, d_new.floor, d_new.cap)
                lt, base_lt = new_lt, new_lt
                bonus = np.asarray(params.liquidation_bonus)
            p = S[:, m, t] * J
            hist.append(p)
            o = hist[max(0, t - lag)]
            if params.dynamic is not None:
                lt = np.array(
                    [
                        dynamic_threshold(dstate[a], o[a], t, base_lt[a], -1.0, *params.dynamic.kernel_args())
                        for a in range(A)
                    ]
                )
            sold = np.zeros(A)
            for i in range(len(d)):
                if d[i] <= 0:
                    continue
                h = float(np.sum(c[i] * (o * lt))) / d[i]
                if not h < 1:
                    continue
                cf = 1.0 if h <= params.full_close_hf else params.close_factor
                best = None
                for a in range(A):
                    if c[i, a] <= 0:
                        continue
                    opb = 1 + bonus[a]
                    rep, seize = cf * d[i], cf * d[i] * opb / o[a]
                    if seize >= c[i, a]:
                        seize, rep = c[i, a], c[i, a] * o[a] / opb
                    fee = (seize - seize / opb) * params.protocol_fee
                    value = (seize - fee) * p[a]
                    profit = value * (1 - min(kod * value, 1 - floor)) - rep - gas
                    if best is None or profit > best[0]:
                        best = (profit, a, seize, rep, fee)
                if best is None:
                    out[m, 0] += d[i]
                    d[i] = 0
                    continue
                profit, a, seize, rep, fee = best
                if rational and not profit > 0:
                    unprof.add(i)
                    continue
                c[i, a] = 0.0 if seize >= c[i, a] else c[i, a] - seize
                d[i] -= rep
                sold[a] += (seize - fee) * p[a]
                out[m, 1] += 1
                out[m, 2] += rep
                if d[i] > 0 and not np.any(c[i] > 0):
                    out[m, 0] += d[i]
                    d[i] = 0
            J = J * np.maximum(1 - kod * sold, floor)
        out[m, 3] = len(unprof)
    return out


@st.composite
def cases(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    A = draw(st.integers(1, 3))
    lt = rng.uniform(0.4, 0.9, A)
    bonus = np.minimum(rng.uniform(0.01, 0.15, A), (1 / lt - 1) * (1 - 1e-9))
    params = cross.Params(
        liquidation_threshold=tuple(lt),
        liquidation_bonus=tuple(bonus),
        close_factor=draw(st.floats(0.2, 1.0)),
        full_close_hf=draw(st.floats(0.5, 1.0)),
        protocol_fee=draw(st.floats(0.0, 0.3)),
        dynamic=draw(
            st.sampled_from(
                [None, DynamicThreshold(k_vol=0.5), DynamicThreshold(k_vol=2.0, update_interval=2, floor=0.3)]
            )
        ),
    )
    n = draw(st.integers(1, 25))
    ref = rng.uniform(1.0, 100.0, A)
    held = rng.random((n, A)) < 0.7
    c = held * rng.lognormal(3.0, 1.0, (n, A)) / ref
    value = (c * ref * lt).sum(axis=1)
    d = value / (1.0 + rng.exponential(0.3, n)) * (rng.random(n) > 0.1)
    M, T = draw(st.integers(1, 3)), draw(st.integers(1, 25))
    rho = draw(st.floats(-0.5, 0.95))
    cov = np.full((A, A), rho) + (1 - rho) * np.eye(A)
    z = rng.multivariate_normal(np.zeros(A), cov, (M, T)).transpose(2, 0, 1)
    steps = draw(st.floats(-0.04, 0.02)) + draw(st.floats(0.0, 0.12)) * z
    # Paths start at different prices (a bootstrap does that), so the screen's reference prices
    # (the first path's start) differ from a chunk's.
    start = ref[:, None, None] * rng.uniform(0.7, 1.4, (A, M, 1))
    prices = start * np.exp(np.concatenate([np.zeros((A, M, 1)), np.cumsum(steps, axis=2)], axis=2))
    market = MarketConditions(
        oracle=Oracle(latency=draw(st.integers(0, 2))),
        liquidity=Liquidity(
            depth_usd=draw(st.sampled_from([1e3, 1e5, np.inf])), max_step_impact=draw(st.floats(0.05, 0.9))
        ),
        liquidators=Liquidators(
            rational=draw(st.booleans()), gas_cost_usd=draw(st.sampled_from([0.0, 1.0, 20.0]))
        ),
    )
    return params, cross.Book(c, d), prices, market


SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(cases())
def test_screened_kernel_equals_a_full_scan_of_every_account(case) -> None:
    params, book, prices, market = case
    got = cross.simulate(params, book, prices, market)
    liq = market.liquidity
    want = reference(
        params,
        book,
        prices,
        market.oracle.latency,
        liq.k / liq.depth_usd,
        1 - liq.max_step_impact,
        market.liquidators.rational,
        market.liquidators.gas_cost_usd,
    )
    cols = [F["bad_debt"], F["n_liq"], F["liq_volume"], F["n_unprofitable"]]
    np.testing.assert_allclose(got[:, cols], want, rtol=1e-9, atol=1e-6)


@SETTINGS
@given(cases())
def test_collateral_and_debt_are_conserved_and_never_negative(case) -> None:
    params, book, prices, market = case
    r = cross.simulate_detail(params, book, prices, market)
    res = r["per_path"]
    # Units of every asset: held at the horizon + taken by liquidators + by the protocol.
    total = r["collateral"].sum(axis=1) + r["to_liquidators"] + r["to_protocol"]
    np.testing.assert_allclose(
        total, np.broadcast_to(book.collateral.sum(axis=0), total.shape), rtol=1e-12, atol=1e-12
    )
    # Debt: left + repaid by liquidations + written off.
    np.testing.assert_allclose(
        r["debt"].sum(axis=1) + res[:, F["liq_volume"]] + res[:, F["bad_debt"]],
        book.debt.sum(),
        rtol=1e-12,
        atol=1e-9,
    )
    assert np.all(r["collateral"] >= 0) and np.all(r["debt"] >= 0)
    # An account still holding collateral has not been written off: its debt is what is left
    # after repayments, so an account with debt 0 and collateral left was repaid in full.
    assert np.all(res[:, F["bad_debt"]] <= book.debt.sum() + 1e-9)


@settings(max_examples=25, deadline=None)
@given(cases(), st.data())
def test_paths_run_alone_give_the_same_rows_bit_for_bit(case, data) -> None:
    params, book, prices, market = case
    full = cross.simulate(params, book, prices, market)
    a = data.draw(st.integers(0, prices.shape[1] - 1))
    b = data.draw(st.integers(a + 1, prices.shape[1]))
    assert np.array_equal(cross.simulate(params, book, prices[:, a:b], market), full[a:b])


def test_books_reject_bad_arrays_naming_the_field_and_the_row() -> None:
    with pytest.raises(
        EngineError,
        match=r"book.collateral and book.debt must be arrays of one number of rows: "
        r"collateral float64\[N, A\], debt float64\[N\]; got shapes \(3,\) and \(3,\)",
    ):
        cross.Book(collateral=np.ones(3), debt=np.ones(3))
    with pytest.raises(EngineError, match=r"book.collateral must be finite and >= 0; got -2.0 \(row 1\)"):
        cross.Book(collateral=np.array([[1.0, 1.0], [1.0, -2.0]]), debt=np.ones(2))
    with pytest.raises(EngineError, match=r"book.ink must be finite and >= 0; got nan \(row 2\)"):
        maker.Book(ink=np.array([1.0, 2.0, np.nan]), debt=np.ones(3))
    with pytest.raises(EngineError, match="cross book needs array 'debt'"):
        cross.book_from_arrays({"collateral": np.ones((2, 2))})
    book = cross.Book(collateral=[[1, 2]], debt=[3])
    assert book.collateral.dtype == np.float64 and book.collateral.flags.c_contiguous and len(book) == 1
