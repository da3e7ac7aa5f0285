"""The numeric core without a database: chunking, merging, replay in one process."""

import numpy as np
import pytest

from backtests import compute
from engine import aave, results
from engine._common import RESULT_FIELDS
from engine.market import Liquidity, MarketConditions, Oracle


def gbm_generator(sigma: float, steps: int = 48):
    market = MarketConditions(oracle=Oracle(latency=1), liquidity=Liquidity(depth_usd=5e6))

    def generate(n: int, rng: np.random.Generator):
        z = rng.standard_normal((n, steps))
        logret = -0.5 * sigma**2 / 8760 + sigma * np.sqrt(1 / 8760) * z
        prices = np.empty((n, steps + 1))
        prices[:, 0] = 2000.0
        prices[:, 1:] = 2000.0 * np.exp(np.cumsum(logret, axis=1))
        return prices, market, None

    return generate


def make_inputs(n_paths: int, n_positions: int = 300, steps: int = 48) -> compute.RunInputs:
    rng = np.random.default_rng(7)
    debt = 10_000 * np.exp(rng.standard_normal(n_positions))
    hf = 1.01 + 0.3 * np.exp(0.7 * rng.standard_normal(n_positions))
    book = aave.Book(collateral=hf * debt / (2000 * 0.825), debt=debt)
    scenarios = tuple(
        compute.ScenarioInput(
            index=i,
            name=name,
            n_paths=n_paths,
            steps=steps,
            interval_seconds=3600,
            generate=gbm_generator(sigma, steps),
            live=aave.Params(liquidation_threshold=0.825),
            proposed=aave.Params(liquidation_threshold=0.80, ltv=0.78, liquidation_bonus=0.06),
        )
        for i, (name, sigma) in enumerate([("calm", 0.6), ("storm", 3.0)])
    )
    return compute.RunInputs(
        simulate=aave.simulate,
        book=book,
        scenarios=scenarios,
        fields=RESULT_FIELDS,
        summarize=results.summarize,
        paired_differences=results.paired_differences,
        n_boot=50,
        borrowing_power=aave.borrowing_power,
    )


def chunked_results(inputs, seed, chunk_paths, order_seed=0):
    chunks = compute.plan_chunks(
        paths_per_scenario=[s.n_paths for s in inputs.scenarios], chunk_paths=chunk_paths
    )
    # Workers finish in any order: compute the chunks shuffled, store them packed, merge by index.
    stored = {}
    for i in np.random.default_rng(order_seed).permutation(len(chunks)):
        b = chunks[i]
        stored[(b.scenario_index, b.chunk_index)] = compute.pack(compute.compute_chunk(inputs, seed, b))
    return [
        compute.merge_scenario(
            inputs, seed, s.index, [compute.unpack(stored[k]) for k in sorted(stored) if k[0] == s.index]
        )
        for s in inputs.scenarios
    ]


def test_merged_chunks_equal_a_single_process_run_bit_for_bit():
    inputs = make_inputs(23)
    chunked = chunked_results(inputs, seed=11, chunk_paths=5)
    single = compute.run_in_process(inputs, seed=11, chunk_paths=5)
    assert len(chunked) == len(single) == 2
    for a, b in zip(chunked, single, strict=False):
        assert a.live.shape == (23, len(RESULT_FIELDS))
        assert a.live.tobytes() == b.live.tobytes()
        assert a.proposed.tobytes() == b.proposed.tobytes()
        assert a.live_summary == b.live_summary and a.proposed_summary == b.proposed_summary
        assert a.paired == b.paired
        assert a.series == b.series
        assert set(a.series) == {
            "hours",
            "price",
            "liq_volume_cum",
            "bad_debt_cum",
            "market_price",
            "bad_debt_quantiles",
            "liq_volume_step",
        }
    # The storm scenario liquidates: the comparison is not trivially all zeros.
    assert chunked[1].live[:, RESULT_FIELDS.index("n_liq")].sum() > 0


def test_the_order_in_which_chunks_finish_does_not_change_the_figures():
    inputs = make_inputs(12)
    one = chunked_results(inputs, seed=3, chunk_paths=4, order_seed=1)
    two = chunked_results(inputs, seed=3, chunk_paths=4, order_seed=2)
    assert all(
        a.live.tobytes() == b.live.tobytes() and a.paired == b.paired for a, b in zip(one, two, strict=False)
    )


def test_another_seed_draws_other_paths():
    inputs = make_inputs(8)
    one = chunked_results(inputs, seed=3, chunk_paths=4)
    two = chunked_results(inputs, seed=4, chunk_paths=4)
    assert (
        one[0].live[:, RESULT_FIELDS.index("final_price")].tobytes()
        != two[0].live[:, RESULT_FIELDS.index("final_price")].tobytes()
    )


def test_the_comparison_is_proposed_minus_live_on_the_same_paths():
    inputs = make_inputs(30)
    fig = chunked_results(inputs, seed=5, chunk_paths=10)[1]
    bad = RESULT_FIELDS.index("bad_debt")
    paired = fig.paired["mean_liq_volume"]
    assert paired["diff"] == fig.proposed_summary["mean_liq_volume"] - fig.live_summary["mean_liq_volume"]
    assert paired["ci_low"] <= paired["diff"] <= paired["ci_high"]
    # Same exogenous paths: the final price differs only through the liquidations' own impact.
    assert fig.live[:, bad].shape == fig.proposed[:, bad].shape == (30,)


def test_blocks_cover_every_path_once():
    chunks = compute.plan_chunks(paths_per_scenario=[10, 1, 10], chunk_paths=4)
    assert [(b.start, b.stop) for b in chunks if b.scenario_index == 2] == [(0, 4), (4, 8), (8, 10)]
    assert [(b.start, b.stop) for b in chunks if b.scenario_index == 1] == [(0, 1)]  # a replay: one path
    assert len(chunks) == 7


@pytest.mark.parametrize("n_paths", [10, 1_000, 10_000_000])
def test_a_chunk_stays_under_its_memory_budget_whatever_the_run_size(n_paths):
    budget = 16 * 2**20
    steps = 8760
    b = compute.chunk_paths_for(
        n_paths=n_paths, max_steps=steps, target_paths=10**9, memory_bytes=budget, n_positions=10_000
    )
    assert 1 <= b <= n_paths
    assert b * (steps + 1) * 8 * 4 + 10_000 * 64 <= budget


def test_packed_arrays_round_trip_exactly():
    a = {"x": np.random.default_rng(0).standard_normal((5, 3)), "y": np.arange(4)}
    back = compute.unpack(compute.pack(a))
    assert back["x"].tobytes() == a["x"].tobytes() and back["y"].tolist() == [0, 1, 2, 3]


def test_price_bands_are_ordered_quantiles_of_the_paths():
    inputs = make_inputs(40)
    fig = chunked_results(inputs, seed=1, chunk_paths=10)[1]
    band = fig.series["price"]
    assert len(band["p50"]) == len(fig.series["hours"]) == 49
    assert all(lo <= mid <= hi for lo, mid, hi in zip(band["p05"], band["p50"], band["p95"], strict=False))
    assert band["p05"][-1] < band["p95"][-1]


def test_a_chunk_holds_each_versions_raw_series_at_the_chart_steps():
    inputs = make_inputs(6)
    chunk = compute.plan_chunks(paths_per_scenario=[6, 6], chunk_paths=6)[1]
    arrays = compute.compute_chunk(inputs, 9, chunk)
    prices, market, _ = compute.generate_chunk(inputs, 9, chunk)
    steps = compute.chart_steps(48)
    for version, params in (("live", inputs.scenarios[1].live), ("proposed", inputs.scenarios[1].proposed)):
        per_path, series = aave.simulate(params, inputs.book, prices, market, record_steps=steps)
        assert arrays[version].tobytes() == per_path.tobytes()
        for name in compute.VERSION_SERIES:
            assert arrays[f"{version}_{name}"].shape == (6, 49)
            assert arrays[f"{version}_{name}"].tobytes() == series[name].tobytes()


def test_volume_and_bad_debt_bands_are_quantiles_over_all_paths_merged_exactly():
    inputs = make_inputs(40)
    fig = chunked_results(inputs, seed=1, chunk_paths=7)[1]
    hours = fig.series["hours"]
    for name, field in (("liq_volume_cum", "liq_volume"), ("bad_debt_cum", "bad_debt")):
        for version, per_path in (("live", fig.live), ("proposed", fig.proposed)):
            band = fig.series[name][version]
            assert len(band["p05"]) == len(band["p50"]) == len(band["p95"]) == len(hours) == 49
            assert all(
                lo <= mid <= hi for lo, mid, hi in zip(band["p05"], band["p50"], band["p95"], strict=False)
            )
            assert all(np.diff(band["p50"]) >= 0) and band["p05"][0] == 0.0  # cumulative from 0
            # The last chart step is the horizon: the bands there are the quantiles of the
            # per-path totals over all 40 paths (not a mean of per-chunk quantiles).
            totals = per_path[:, RESULT_FIELDS.index(field)]
            assert band["p50"][-1] == pytest.approx(float(np.quantile(totals, 0.5)), rel=1e-12)
            assert band["p95"][-1] == pytest.approx(float(np.quantile(totals, 0.95)), rel=1e-12)
    # The storm liquidates: the volume bands are not all zero.
    assert fig.series["liq_volume_cum"]["live"]["p95"][-1] > 0


def test_chunks_stored_before_the_engine_recorded_series_merge_without_them():
    inputs = make_inputs(8)
    chunks = compute.plan_chunks(paths_per_scenario=[8, 8], chunk_paths=4)
    old = [
        {k: v for k, v in compute.compute_chunk(inputs, 2, b).items() if k in ("live", "proposed", "price")}
        for b in chunks
        if b.scenario_index == 0
    ]
    fig = compute.merge_scenario(inputs, 2, 0, old)
    assert set(fig.series) == {"hours", "price", "bad_debt_quantiles"}
    assert fig.series["price"] == chunked_results(inputs, seed=2, chunk_paths=4)[0].series["price"]


def test_borrowing_power_is_reported_for_both_versions_without_an_interval():
    inputs = make_inputs(10)
    fig = chunked_results(inputs, seed=2, chunk_paths=5)[0]
    bp = fig.paired["borrowing_power"]
    expected_live = float((inputs.book.collateral * 2000.0 * 0.825).sum())
    assert (
        bp["a"] == pytest.approx(expected_live, rel=1e-12) and fig.live_summary["borrowing_power"] == bp["a"]
    )
    assert bp["diff"] == bp["b"] - bp["a"] < 0  # the proposal lowers the threshold
    assert bp["ci_low"] == bp["ci_high"] == bp["diff"]


def test_the_bad_debt_distribution_and_the_volume_per_interval_are_the_paths_own():
    inputs = make_inputs(30)
    fig = chunked_results(inputs, seed=5, chunk_paths=10)[1]
    bad, vol = RESULT_FIELDS.index("bad_debt"), RESULT_FIELDS.index("liq_volume")
    q = fig.series["bad_debt_quantiles"]
    for version, per_path in (("live", fig.live), ("proposed", fig.proposed)):
        assert q[version][0] == per_path[:, bad].min() and q[version][-1] == per_path[:, bad].max()
        # Every stored quantile is one path's bad debt (the empirical distribution, no interpolation).
        assert set(q[version]) <= set(per_path[:, bad].tolist())
        step = fig.series["liq_volume_step"][version]
        assert len(step) == len(fig.series["hours"])
        assert np.sum(step) == pytest.approx(per_path[:, vol].mean(), rel=1e-9)
    assert q["levels"][0] == 0.0 and q["levels"][-1] == 1.0
