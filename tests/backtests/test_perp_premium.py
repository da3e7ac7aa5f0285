"""A scenario's premium (engine.scenarios.premium) through a perp backtest: generated with each
chunk's prices, handed to both versions, the delayed one and the sweeps, and merged chunks equal
to one process bit for bit."""

import dataclasses

import numpy as np

from backtests import compute, inputs
from engine import perp, results
from engine.results import RESULT_FIELDS

FIELDS = tuple(RESULT_FIELDS) + tuple(perp.EXTRA_FIELDS)
PAID_LONGS = FIELDS.index("funding_paid_longs")
PAID_SHORTS = FIELDS.index("funding_paid_shorts")
INDEX = FIELDS.index("funding_index")
# A crash and a perp at a discount that reverts: shorts pay longs while it lasts.
CRASH = {
    "name": "-30 % shock then GBM",
    "kind": "shock",
    "assets": ["ETHUSD"],
    "start_price": 2000.0,
    "n_steps": 48,
    "params": {"drop": 0.30, "at": 6, "then_kind": "gbm", "mu": 0.0, "sigma": 1.2},
    "conditions": {"depth_usd": 2e8},
}
PREMIUM = {"mean": -0.0005, "stdev": 0.001, "reversion": 0.25, "correlation": 0.5}
TIERS = {"tier_floors": (0.0, 5e5), "tier_imf": (0.05, 0.10), "tier_mmf": (0.025, 0.05)}
LIVE = perp.Params(**TIERS, liquidation_fee=0.005, insurance_fund=1e6, funding_cap=0.04)
PROPOSED = perp.Params(
    **{**TIERS, "tier_mmf": (0.03, 0.06)}, liquidation_fee=0.005, insurance_fund=1e6, funding_cap=0.04
)


def perp_inputs(spec: dict, n_paths: int = 10, delay_steps: int | None = 20) -> compute.RunInputs:
    book = perp.synthetic_book(LIVE, 200, 2000.0, np.random.default_rng(4))
    manifest_scenario = {"name": spec["name"], "spec": spec, "prices": {}}
    scenario = compute.ScenarioInput(
        index=0,
        name=spec["name"],
        n_paths=n_paths,
        steps=spec["n_steps"],
        interval_seconds=3600,
        generate=inputs._generator(manifest_scenario, "perp"),
        live=LIVE,
        proposed=PROPOSED,
        delay_steps=delay_steps,
    )
    extra = tuple(perp.EXTRA_FIELDS)
    sweep = compute.SweepInput(
        index=1,
        scenario_index=0,
        multiplier=1.0,
        n_paths=n_paths,
        generate=inputs._generator(manifest_scenario, "perp"),
        sets=(("live", LIVE),),
    )
    return compute.RunInputs(
        simulate=inputs.with_extras(perp.simulate),
        book=book,
        scenarios=(scenario,),
        fields=FIELDS,
        summarize=lambda a: results.summarize(a, extra_fields=extra),
        paired_differences=lambda *a: results.paired_differences(*a, extra_fields=extra),
        n_boot=20,
        sweeps=(sweep,),
    )


def chunked(run: compute.RunInputs, seed: int, chunk_paths: int) -> compute.ScenarioResults:
    chunks = compute.plan_chunks(paths_per_scenario=[run.scenarios[0].n_paths], chunk_paths=chunk_paths)
    stored = [compute.unpack(compute.pack(compute.compute_chunk(run, seed, b))) for b in chunks[::-1]]
    return compute.merge_scenario(run, seed, 0, stored[::-1])


def test_a_chunk_of_a_spec_with_a_premium_carries_it_beside_prices_drawn_as_without_it() -> None:
    plain = perp_inputs(CRASH)
    priced = perp_inputs({**CRASH, "premium": PREMIUM})
    chunk = compute.Chunk(0, 1, 4, 8)
    prices, market, premium = compute.generate_chunk(priced, 5, chunk)
    assert premium.shape == (4, 48)
    assert compute.generate_chunk(plain, 5, chunk)[2] is None
    assert prices.tobytes() == compute.generate_chunk(plain, 5, chunk)[0].tobytes()
    # The chunk's engine figures are the perp's over these prices with this premium.
    arrays = compute.compute_chunk(priced, 5, chunk)
    want, _ = perp.simulate(LIVE, priced.book, prices, market, premium=premium, extras=True)
    assert arrays["live"][:, : len(RESULT_FIELDS)].tobytes() == want.tobytes()


def test_funding_follows_the_scenarios_premium_when_funding_is_on() -> None:
    plain = chunked(perp_inputs(CRASH), seed=3, chunk_paths=4)
    priced = chunked(perp_inputs({**CRASH, "premium": PREMIUM}), seed=3, chunk_paths=4)
    # Without the series only the liquidations' own premium and the interest move the index;
    # with it, a discount: the index falls, shorts pay (positive) and longs receive (negative).
    assert priced.live[:, INDEX].mean() < plain.live[:, INDEX].mean()
    assert priced.live[:, PAID_SHORTS].mean() > plain.live[:, PAID_SHORTS].mean()
    assert priced.live[:, PAID_LONGS].mean() < plain.live[:, PAID_LONGS].mean()
    assert (priced.live[:, PAID_LONGS] != plain.live[:, PAID_LONGS]).all()
    assert priced.live_summary["mean_funding_paid_shorts"] != plain.live_summary["mean_funding_paid_shorts"]
    # Same exogenous prices: the paths' first and last exogenous prices agree.
    assert priced.series["price"] == plain.series["price"]


def test_without_funding_the_premium_changes_nothing() -> None:
    chunk = compute.Chunk(0, 0, 0, 4)
    figures = []
    for spec in (CRASH, {**CRASH, "premium": PREMIUM}):
        run = perp_inputs(spec)
        scenario = dataclasses.replace(
            run.scenarios[0],
            live=dataclasses.replace(LIVE, funding_cap=0.0),
            proposed=dataclasses.replace(PROPOSED, funding_cap=0.0),
        )
        figures.append(compute.simulate_versions(run, scenario, *compute.generate_chunk(run, 2, chunk)))
    a, b = figures
    for name in ("live", "proposed", "delayed"):
        assert a[name].tobytes() == b[name].tobytes()


def test_merged_chunks_with_a_premium_equal_a_single_process_run_bit_for_bit() -> None:
    run = perp_inputs({**CRASH, "premium": PREMIUM}, n_paths=11)
    merged = chunked(run, seed=7, chunk_paths=4)
    (single,) = compute.run_in_process(run, seed=7, chunk_paths=4)
    for name in ("live", "proposed", "delayed"):
        assert getattr(merged, name).shape == (11, len(FIELDS))
        assert getattr(merged, name).tobytes() == getattr(single, name).tobytes()
    assert merged.paired == single.paired and merged.delay == single.delay
    assert merged.series == single.series


def test_the_delayed_version_runs_over_the_same_premium() -> None:
    run = perp_inputs({**CRASH, "premium": PREMIUM}, n_paths=6)
    prices, market, premium = compute.generate_chunk(run, 9, compute.Chunk(0, 0, 0, 6))
    got = compute.compute_chunk(run, 9, compute.Chunk(0, 0, 0, 6))["delayed"]
    want = inputs.with_extras(perp.simulate)(
        LIVE, run.book, prices, market, switch=(20, PROPOSED), premium=premium
    )
    assert got.tobytes() == want.tobytes()
    without = inputs.with_extras(perp.simulate)(LIVE, run.book, prices, market, switch=(20, PROPOSED))
    assert got[:, PAID_SHORTS].tobytes() != without[:, PAID_SHORTS].tobytes()


def test_a_sweep_at_multiplier_one_runs_the_live_set_over_the_main_runs_premium() -> None:
    run = perp_inputs({**CRASH, "premium": PREMIUM}, n_paths=8)
    chunk = compute.Chunk(0, 1, 4, 8)
    sweep = compute.compute_sweep_chunk(run, 4, run.sweeps[0], chunk)
    main = compute.compute_chunk(run, 4, chunk)
    assert sweep["live"].tobytes() == main["live"].tobytes()


def test_the_engine_gets_a_premium_keyword_only_when_the_scenario_has_a_premium() -> None:
    # Only the perp's simulate takes a premium: without one, no keyword is passed at all.
    assert compute.premium_kw(None) == {}
    kw = compute.premium_kw(np.zeros((2, 3), dtype=np.float32))
    assert list(kw) == ["premium"] and kw["premium"].dtype == np.float64


def test_another_mechanisms_run_of_a_spec_with_a_premium_gets_none_and_the_same_prices() -> None:
    scenario = {"name": CRASH["name"], "spec": {**CRASH, "premium": PREMIUM}, "prices": {}}
    lending = inputs._generator(scenario, "aave-v3")(3, np.random.default_rng(1))
    perp_chunk = inputs._generator(scenario, "perp")(3, np.random.default_rng(1))
    assert lending[2] is None and perp_chunk[2].shape == (3, 48)
    assert lending[0].tobytes() == perp_chunk[0].tobytes()
