"""Parameters that change during a run (margin-engine.md section 4): ``simulate(..., switch=(k,
params_after))`` in every mechanism."""

import numpy as np
import pytest

from engine import aave, api, compound, cross, maker, perp
from engine._common import FIELD_INDEX as F
from engine._common import SERIES_FIELDS, dynamic_threshold, liquidation_pays, switch_threshold
from engine.errors import EngineError
from engine.market import Liquidators, Liquidity, MarketConditions, Oracle
from tests.engine import switch_cases as C
from tests.engine.test_cross import reference as cross_reference
from tests.engine.test_perp import reference as perp_reference

KEYS = [pytest.param(n, d, id=f"{n}-{'dyn' if d else 'static'}") for n in C.NAMES for d in (False, True)]


def _baseline(name: str, dynamic: bool, which: str) -> tuple[np.ndarray, dict]:
    z = np.load(C.BASELINE)
    tag = f"{name}-{'dyn' if dynamic else 'static'}-{which}"
    return z[f"{tag}-per_path"], {f: z[f"{tag}-{f}"] for f in SERIES_FIELDS}


def _assert_same(got: tuple, want: tuple) -> None:
    out, ser = got
    np.testing.assert_array_equal(out, want[0], strict=True)
    for f in SERIES_FIELDS:
        np.testing.assert_array_equal(ser[f], want[1][f], strict=True)
    assert out.tobytes() == want[0].tobytes()


@pytest.mark.parametrize(("name", "dynamic"), KEYS)
def test_without_a_switch_or_with_one_that_never_takes_effect_results_are_unchanged_bit_for_bit(
    name: str, dynamic: bool
) -> None:
    mod, a, b, book, prices, market = C.case(name, dynamic)
    want = _baseline(name, dynamic, "a")
    _assert_same(C.run_plain(name, dynamic, "a"), want)
    _assert_same(C.run_plain(name, dynamic, "a", switch=None), want)
    for k in (C.T, C.T + 7):
        _assert_same(C.run_plain(name, dynamic, "a", switch=(k, b)), want)
    for k in (0, 1, 37, C.T - 1):
        _assert_same(C.run_plain(name, dynamic, "a", switch=(k, a)), want)
    _assert_same(C.run_plain(name, dynamic, "b"), _baseline(name, dynamic, "b"))


@pytest.mark.parametrize(("name", "dynamic"), KEYS)
def test_a_switch_at_step_zero_equals_the_second_set_from_the_start(name: str, dynamic: bool) -> None:
    mod, a, b, book, prices, market = C.case(name, dynamic)
    _assert_same(C.run_plain(name, dynamic, "a", switch=(0, b)), _baseline(name, dynamic, "b"))


# ---------------------------------------------------------------------------------------------
# A switch at k gives what checking every position every step gives.

LATENCY = MarketConditions(
    oracle=Oracle(latency=1), liquidity=Liquidity(depth_usd=3e7), liquidators=Liquidators(gas_cost_usd=2.0)
)
SWITCH_STEPS = (1, 25, 39, 40, 41, 70, C.T - 1)


def aave_full_scan(
    params0: aave.Params, book: aave.Book, S: np.ndarray, market: MarketConditions, switch: tuple
) -> np.ndarray:
    """Aave's rules (docs/engine.md) for every position every step in index order, switching
    to ``switch[1]`` at step ``switch[0]``; columns bad debt, n_liq, liq_volume, penalty,
    n_unprofitable, final price."""
    liq, lag = market.liquidity, market.oracle.latency
    kod, floor = liq.k / liq.depth_usd, 1.0 - liq.max_step_impact
    out = np.zeros((S.shape[0], 6))
    for m in range(S.shape[0]):
        p_ = params0
        c, d = book.collateral.copy(), book.debt.copy()
        J, hist, unprof = 1.0, [], set()
        dstate = np.array([0.0, 0.0, p_.liquidation_threshold])
        for t in range(S.shape[1] - 1):
            if t == switch[0]:
                kv_old, lt_old = (p_.dynamic.k_vol if p_.dynamic else 0.0), p_.liquidation_threshold
                p_ = switch[1]
                dn = p_.dynamic or DYN_NONE
                switch_threshold(dstate, lt_old, p_.liquidation_threshold, kv_old, dn.floor, dn.cap)
            p = S[m, t] * J
            hist.append(p)
            o = hist[max(0, t - lag)]
            dn = p_.dynamic or DYN_NONE
            lt = dynamic_threshold(dstate, o, t, p_.liquidation_threshold, -1.0, *dn.kernel_args())
            q, opb, sold = o * lt, 1.0 + p_.liquidation_bonus, 0.0
            gas = market.liquidators.gas_cost_usd
            for i in range(len(d)):
                if d[i] <= 0.0 or not c[i] * q / d[i] < 1.0:
                    continue
                cf = 1.0 if c[i] * q / d[i] <= p_.full_close_hf else p_.close_factor
                repay, seize, closed = cf * d[i], cf * d[i] * opb / o, False
                if seize >= c[i]:
                    seize, repay, closed = c[i], c[i] * o / opb, True
                fee = (seize - seize / opb) * p_.protocol_fee
                got = seize - fee
                if not liquidation_pays(got, repay, p, gas, liq.k, liq.depth_usd, kod, False, floor):
                    unprof.add(i)
                    continue
                out[m, 1] += 1
                out[m, 2] += repay
                out[m, 3] += p_.liquidation_bonus * repay
                sold += got * p
                if closed:
                    out[m, 0] += d[i] - repay
                    c[i], d[i] = 0.0, 0.0
                else:
                    c[i], d[i] = c[i] - seize, d[i] - repay
            if sold > 0.0:
                J = J * max(1.0 - kod * sold, floor)
        out[m, 4] = len(unprof)
        out[m, 5] = S[m, -1] * J
    return out


DYN_NONE = C.DynamicThreshold()


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dyn"])
@pytest.mark.parametrize("k", SWITCH_STEPS)
def test_aave_switch_equals_checking_every_position_every_step(k: int, dynamic: bool) -> None:
    _, a, b, book, prices, _ = C.case("aave-v3", dynamic)
    for first, second in ((a, b), (b, a)):
        got = aave.simulate(first, book, prices, LATENCY, switch=(k, second))
        want = aave_full_scan(first, book, prices, LATENCY, (k, second))
        cols = [F[x] for x in ("bad_debt", "n_liq", "liq_volume", "penalty", "n_unprofitable", "final_price")]
        np.testing.assert_allclose(got[:, cols], want, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dyn"])
@pytest.mark.parametrize("k", SWITCH_STEPS)
def test_compound_and_maker_switches_equal_their_full_scans(k: int, dynamic: bool) -> None:
    for name in ("compound-v3", "maker-clip"):
        mod, a, b, book, prices, market = C.case(name, dynamic)
        for first, second in ((a, b), (b, a)):
            fast = mod.simulate_detail(first, book, prices, market, switch=(k, second))
            slow = mod.simulate_detail(first, book, prices, market, full_scan=True, switch=(k, second))
            if mod is maker:
                for key in ("per_path", "ink", "debt", "n_kicks", "n_takes", "dirt_final"):
                    np.testing.assert_array_equal(fast[key], slow[key])
            else:
                assert np.array_equal(fast["absorbed"], slow["absorbed"])
                np.testing.assert_allclose(fast["per_path"], slow["per_path"], rtol=1e-12, atol=1e-9)
            plain = mod.simulate(first, book, prices, market, switch=(k, second))
            np.testing.assert_array_equal(plain, fast["per_path"])


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dyn"])
@pytest.mark.parametrize("k", SWITCH_STEPS)
def test_perp_switch_equals_its_plain_python_full_scan(k: int, dynamic: bool) -> None:
    _, a, b, book, prices, market = C.case("perp", dynamic)
    liq = market.liquidity
    cols = [F["bad_debt"], F["n_liq"], F["insurance_used"], F["socialized_loss"], F["final_price"]]
    for first, second in ((a, b), (b, a)):
        got = perp.simulate(first, book, prices, market, switch=(k, second))
        want = perp_reference(
            first,
            book,
            prices,
            market.oracle.latency,
            liq.k / liq.depth_usd,
            1 - liq.max_step_impact,
            (k, second),
        )
        np.testing.assert_allclose(got[:, cols], want, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dyn"])
@pytest.mark.parametrize("k", SWITCH_STEPS)
def test_cross_switch_equals_its_plain_python_full_scan(k: int, dynamic: bool) -> None:
    _, a, b, book, prices, _ = C.case("cross", dynamic)
    liq, lq = LATENCY.liquidity, LATENCY.liquidators
    cols = [F["bad_debt"], F["n_liq"], F["liq_volume"], F["n_unprofitable"]]
    for first, second in ((a, b), (b, a)):
        got = cross.simulate(first, book, prices, LATENCY, switch=(k, second))
        want = cross_reference(
            first, book, prices, 1, liq.k / liq.depth_usd, 1 - liq.max_step_impact, lq.rational,
            lq.gas_cost_usd, (k, second),
        )  # fmt: skip
        np.testing.assert_allclose(got[:, cols], want, rtol=1e-9, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# One position, where the switch decides whether (and at which step) a liquidation happens.

FLAT = np.full((1, 6), 2000.0)  # T = 5 steps at 2,000 USD
PLAIN = MarketConditions(liquidators=Liquidators(rational=False))  # no latency, no impact
ALL_STEPS = np.arange(6, dtype=np.int64)


def _liquidated_volume(mod, params, book, switch=None) -> tuple[np.ndarray, np.ndarray]:
    out, ser = mod.simulate(params, book, FLAT, PLAIN, record_steps=ALL_STEPS, switch=switch)
    return out[0], ser["liq_volume_cum"][0]


def test_aave_position_safe_under_the_live_lt_is_liquidated_from_the_switch_step_at_the_new_bonus() -> None:
    # c = 1, d = 1,500 at 2,000: h = 2,000 * 0.80 / 1,500 = 1.067 (safe), under LT 0.70 h = 0.933
    # (< 0.95: the whole debt), repay 1,500 and seize 1,500 * 1.08 / 2,000 = 0.81 at the new bonus.
    book = aave.Book(np.array([1.0]), np.array([1500.0]))
    live = aave.Params(ltv=0.7, liquidation_threshold=0.80, liquidation_bonus=0.05)
    new = aave.Params(ltv=0.6, liquidation_threshold=0.70, liquidation_bonus=0.08)
    row, vol = _liquidated_volume(aave, live, book)
    assert row[F["n_liq"]] == 0.0 and vol.tolist() == [0.0] * 6
    row, vol = _liquidated_volume(aave, live, book, switch=(3, new))
    assert vol.tolist() == [0.0, 0.0, 0.0, 1500.0, 1500.0, 1500.0]
    assert row[F["n_liq"]] == 1.0 and row[F["penalty"]] == pytest.approx(0.08 * 1500.0)
    assert row[F["collateral_sold_usd"]] == pytest.approx((0.81 - 0.81 * (1 - 1 / 1.08) * 0.10) * 2000.0)
    # The other way round: liquidatable under the live LT at step 0 unless the switch comes first.
    assert _liquidated_volume(aave, new, book, switch=(0, live))[0][F["n_liq"]] == 0.0
    assert _liquidated_volume(aave, new, book, switch=(1, live))[1].tolist() == [1500.0] * 6


def test_compound_account_is_absorbed_at_the_switch_step_when_the_new_factor_makes_it_liquidatable() -> None:
    # c = 1, d = 1,700 at 2,000: 2,000 * 0.90 = 1,800 >= 1,700 (safe), 2,000 * 0.80 = 1,600 < 1,700.
    book = compound.Book(np.array([1.0]), np.array([1700.0]))
    live = compound.Params(borrow_collateral_factor=0.85, liquidate_collateral_factor=0.90)
    new = compound.Params(borrow_collateral_factor=0.75, liquidate_collateral_factor=0.80)
    assert _liquidated_volume(compound, live, book)[0][F["n_liq"]] == 0.0
    row, vol = _liquidated_volume(compound, live, book, switch=(2, new))
    assert vol.tolist() == [0.0, 0.0, 1700.0, 1700.0, 1700.0, 1700.0] and row[F["n_liq"]] == 1.0


def test_maker_vault_is_barked_at_the_switch_step_when_the_new_mat_makes_it_unsafe() -> None:
    # ink 1, debt 1,300 at 2,000: 2,000 / 1.5 = 1,333 >= 1,300 (safe); 2,000 / 1.6 = 1,250 < 1,300.
    book = maker.Book(ink=np.array([1.0]), debt=np.array([1300.0]))
    live = maker.Params(mat=1.5, dust=0.0, step_seconds=3600.0)
    new = maker.Params(mat=1.6, dust=0.0, step_seconds=3600.0)
    assert maker.simulate(live, book, FLAT, PLAIN)[0, F["n_liq"]] == 0.0
    ledger = maker.simulate_detail(live, book, FLAT, PLAIN, switch=(4, new))
    assert ledger["n_kicks"][0] == 1.0 and ledger["debt"][0, 0] == 0.0
    assert ledger["per_path"][0, F["keeper_rewards"]] == pytest.approx(300.0 + 0.001 * 1300.0 * 1.13)
    assert maker.simulate_detail(live, book, FLAT, PLAIN, switch=(5, new))["n_kicks"][0] == 0.0


def test_perp_long_is_liquidated_from_the_switch_step_under_the_new_maintenance_fraction() -> None:
    # Long 1 at 2,000 with 100 of margin: equity 100; maintenance 2,000 * 0.04 = 80 (safe), 120
    # under a 6 % fraction (liquidated: closes 1 unit, notional 2,000).
    book = perp.Book(size=np.array([1.0]), entry_price=np.array([2000.0]), margin=np.array([100.0]))
    live = perp.Params(tier_imf=(0.10,), tier_mmf=(0.04,))
    new = perp.Params(tier_imf=(0.10,), tier_mmf=(0.06,))
    assert _liquidated_volume(perp, live, book)[0][F["n_liq"]] == 0.0
    row, vol = _liquidated_volume(perp, live, book, switch=(1, new))
    assert vol.tolist() == [0.0, 2000.0, 2000.0, 2000.0, 2000.0, 2000.0] and row[F["n_liq"]] == 1.0


def test_cross_account_is_liquidated_from_the_switch_step_under_the_new_thresholds() -> None:
    # c = (1, 0), d = 1,500 at 2,000: h = 1.067 under LT 0.80, 0.933 under 0.70 (whole debt).
    book = cross.Book(np.array([[1.0, 0.0]]), np.array([1500.0]))
    live = cross.Params(liquidation_threshold=(0.80, 0.5), liquidation_bonus=(0.05, 0.05))
    new = cross.Params(liquidation_threshold=(0.70, 0.5), liquidation_bonus=(0.08, 0.05))
    prices = np.stack([FLAT, np.full((1, 6), 30.0)])
    out, ser = cross.simulate(live, book, prices, PLAIN, record_steps=ALL_STEPS, switch=(2, new))
    assert ser["liq_volume_cum"][0].tolist() == [0.0, 0.0, 1500.0, 1500.0, 1500.0, 1500.0]
    assert out[0, F["penalty"]] == pytest.approx(0.08 * 1500.0)
    assert cross.simulate(live, book, prices, PLAIN)[0, F["n_liq"]] == 0.0


def test_starting_reserves_are_those_of_the_set_in_force_at_step_zero() -> None:
    # Bad debt of an exhausted position: 1,500 - 1,000 / 1.05 = 547.6; reserves of 600 cover it.
    book = aave.Book(np.array([0.5]), np.array([1500.0]))
    a = aave.Params(reserves_usd=0.0)
    b = aave.Params(reserves_usd=600.0)
    assert aave.simulate(a, book, FLAT, PLAIN, switch=(0, b))[0, F["insolvent"]] == 0.0
    assert aave.simulate(a, book, FLAT, PLAIN, switch=(2, b))[0, F["insolvent"]] == 1.0


# ---------------------------------------------------------------------------------------------
# Bad input, and the entry points.


@pytest.mark.parametrize(
    ("switch", "message"),
    [
        ((-1, aave.Params()), "switch step k must be a whole number of steps >= 0; got -1"),
        ((2.5, aave.Params()), "switch step k must be a whole number of steps >= 0; got 2.5"),
        ((True, aave.Params()), "switch step k must be a whole number of steps >= 0; got True"),
        (
            (3, compound.Params()),
            "switch params must be engine.aave.Params (aave-v3); got engine.compound.Params",
        ),
        ((3,), "switch must be None or a pair (step k, params after k)"),
        (3, "switch must be None or a pair (step k, params after k)"),
    ],
)
def test_a_bad_switch_is_rejected_naming_what_was_wrong(switch: object, message: str) -> None:
    book = aave.Book(np.array([1.0]), np.array([1000.0]))
    with pytest.raises(EngineError) as exc:
        aave.simulate(aave.Params(), book, FLAT, PLAIN, switch=switch)
    assert message in str(exc.value)


def test_every_mechanism_rejects_a_negative_step_and_another_mechanisms_params() -> None:
    for name in C.NAMES:
        mod, a, b, book, prices, market = C.case(name)
        with pytest.raises(EngineError, match="switch step k must be a whole number of steps >= 0; got -3"):
            mod.simulate(a, book, prices, market, switch=(-3, b))
        other = maker.Params() if mod is not maker else aave.Params()
        with pytest.raises(EngineError, match=f"switch params must be {mod.__name__}.Params"):
            mod.simulate(a, book, prices, market, switch=(3, other))


def test_cross_switch_params_need_as_many_assets() -> None:
    mod, a, b, book, prices, market = C.case("cross")
    with pytest.raises(EngineError, match=r"one threshold per asset \(A=2\); got 1"):
        cross.simulate(a, book, prices, market, switch=(3, cross.Params()))


def test_api_run_takes_a_switch_with_a_dict_and_chunked_equals_whole() -> None:
    _, a, b, book, prices, market = C.case("aave-v3")
    k = 41
    direct = aave.simulate(a, book, prices, market, switch=(k, b))
    after = {"ltv": 0.8, "liquidation_threshold": 0.86, "liquidation_bonus": 0.08}
    whole = api.run("aave-v3", a, book, prices, market, switch=(k, after))
    chunked = api.run("aave-v3", a, book, prices, market, switch=(k, b), chunk_paths=4)
    assert whole.per_path_array.tobytes() == direct.tobytes() == chunked.per_path_array.tobytes()
    assert (
        whole.summary["borrowing_power"]
        == api.run("aave-v3", a, book, prices, market).summary["borrowing_power"]
    )


def test_api_compare_of_delayed_against_from_the_start_is_paired_on_the_same_paths() -> None:
    _, a, b, book, prices, market = C.case("aave-v3")
    cmp = api.compare(
        "aave-v3", a, b, book, prices, market, rng=np.random.default_rng(1), n_boot=50, switch_a=(41, b)
    )
    delayed = aave.simulate(a, book, prices, market, switch=(41, b))
    from_start = aave.simulate(b, book, prices, market)
    d = cmp["differences"]["mean_bad_debt"]
    assert d["diff"] == pytest.approx(from_start[:, 0].mean() - delayed[:, 0].mean())
    assert cmp["a"]["mean_bad_debt"] == pytest.approx(delayed[:, 0].mean())
