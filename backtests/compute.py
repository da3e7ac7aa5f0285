"""The numeric side of a backtest: one chunk, the merge, and the same in a single process.

No database here: functions of the run's inputs (``RunInputs``, built by backtests.inputs)
and arrays, so that a worker's chunk, the merge task and ``replay_run`` share one code path.

Randomness. Paths of scenario ``s``, chunk ``b`` come from
``np.random.default_rng([seed, 0, s, b])`` and the bootstrap of scenario ``s`` from
``np.random.default_rng([seed, 1, s])``. A chunk's paths therefore depend only on the seed,
the scenario and the chunk, never on which worker computes it or in what order, and the
engine's paths are independent (rows a:b of a run equal a run of paths a:b alone), so the
merged results equal a single-process run bit for bit (tests/backtests/test_compute.py).
The chunk size is part of the run's manifest: the same seed with another chunk size draws
other paths. A scenario's premium series (the perp's premium over its index, for funding) is
drawn from the chunk's generator after its prices, and goes to the engine with them.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# Generates one chunk of paths: (n_paths, rng) -> (prices (n, T+1) float64, or (A, n, T+1) for a
# run on several collateral assets, market conditions, premium (n, T) float64 or None): the
# premium is the scenario's perp premium over its index (engine.scenarios.premium), None when
# its spec has none.
GenerateChunk = Callable[[int, np.random.Generator], tuple[np.ndarray, Any, np.ndarray | None]]
# The mechanism's engine entry: (params, book, prices, market, *, record_steps) -> (n, len(fields))
# float64 per-path results and, at the recorded steps, a dict of (n, K) float64 series
# (engine._common.SERIES_FIELDS).
Simulate = Callable[..., Any]

# Steps sampled for the charts' bands: at most this many points per scenario.
CHART_POINTS = 121
BAND_QUANTILES = (0.05, 0.5, 0.95)
# Engine series charted per version (cumulative USD at the end of each chart step); a chunk
# stores them raw, (n, K) per version, as "<version>_<series>", and the merge takes quantiles.
VERSION_SERIES = ("liq_volume_cum", "bad_debt_cum", "market_price")
# Levels at which a scenario's per-path bad debt is stored for its distribution (chart 1):
# 0, 0.5 %, ..., 100 %, the empirical quantiles (inverted CDF: each value is a path's).
CDF_LEVELS = tuple(round(i / 200, 3) for i in range(201))
VERSIONS = ("live", "proposed")
# The third version, "proposed after the governance delay": live until the scenario's delay
# step k, proposed from k (margin-engine.md section 4, "Parameters that change during a run"),
# on the same paths in the same chunk. Runs whose manifest has no delay (made before it
# existed) have none. Its difference from "proposed" (from the start) is the cost of delay.
DELAYED = "delayed"


@dataclass(frozen=True)
class ScenarioInput:
    """One scenario of the stress pack, ready to generate paths."""

    index: int
    name: str
    n_paths: int  # M of this scenario (a replay of history has exactly one path)
    steps: int  # T: steps per path (prices have T + 1 columns)
    interval_seconds: int  # length of one step
    generate: GenerateChunk
    live: Any  # engine Params of each version; per scenario because units such
    proposed: Any  # as Maker's tail (seconds -> steps) depend on the step length
    # Steps of governance delay (vote delay + period + timelock over the step length, rounded
    # up); None: the run's manifest has none, so no delayed version.
    delay_steps: int | None = None


@dataclass(frozen=True)
class RunInputs:
    """What a chunk needs: the mechanism's engine, both versions' params, the book, scenarios."""

    simulate: Simulate
    book: Any
    scenarios: tuple[ScenarioInput, ...]
    fields: tuple[str, ...]
    summarize: Callable[[np.ndarray], dict]
    paired_differences: Callable[..., dict]
    n_boot: int = 1000
    # (params, book, start price) -> USD debt the parameters let the book carry, or None when
    # the mechanism does not define it (margin-engine.md section 5, "borrowing power").
    borrowing_power: Callable[[Any, Any, float], float] | None = None
    # The run's sweep jobs (SweepInput), numbered after the scenarios; none for runs without.
    sweeps: tuple = ()
    # The collateral assets of a run on several (a Comet market's accounts, margin-engine.md
    # 2.8), in the order of the price paths' first axis; empty for a one-asset run.
    assets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chunk:
    scenario_index: int
    chunk_index: int
    start: int
    stop: int


def path_rng(seed: int, scenario_index: int, chunk_index: int) -> np.random.Generator:
    return np.random.default_rng([seed, 0, scenario_index, chunk_index])


def bootstrap_rng(seed: int, scenario_index: int) -> np.random.Generator:
    return np.random.default_rng([seed, 1, scenario_index])


def delay_bootstrap_rng(seed: int, scenario_index: int) -> np.random.Generator:
    """The cost of delay's bootstrap: its own stream, so live vs proposed keeps its figures."""
    return np.random.default_rng([seed, 2, scenario_index])


def chunk_paths_for(
    *, n_paths: int, max_steps: int, target_paths: int, memory_bytes: int, n_positions: int = 0
) -> int:
    """Paths per chunk: at most ``target_paths`` and few enough that one chunk's price array
    and per-path results stay under ``memory_bytes`` whatever the run's size.

    A chunk holds the prices (n, T+1) float64, a few same-sized work arrays of the scenario
    generator (counted as 3 more), and the book (positions, a few float64 arrays, shared).
    """
    per_path = 4 * (max_steps + 1) * 8 + 2 * 16 * 8
    budget = max(memory_bytes - 8 * 8 * n_positions, per_path)
    return max(1, min(target_paths, n_paths, budget // per_path))


def plan_chunks(*, paths_per_scenario: list[int], chunk_paths: int) -> list[Chunk]:
    """Chunks of a run, scenario by scenario, each a slice of consecutive paths."""
    return [
        Chunk(s, b, start, min(start + chunk_paths, n_paths))
        for s, n_paths in enumerate(paths_per_scenario)
        for b, start in enumerate(range(0, n_paths, chunk_paths))
    ]


def chart_steps(steps: int) -> np.ndarray:
    """The steps (0..T) the charts sample: int64 (K,), K <= CHART_POINTS, 0 and T included."""
    return np.unique(np.linspace(0, steps, min(steps + 1, CHART_POINTS)).round().astype(np.int64))


def generate_chunk(inputs: RunInputs, seed: int, chunk: Chunk) -> tuple[np.ndarray, Any, np.ndarray | None]:
    """A chunk's prices (n, T+1) or (A, n, T+1), market conditions and premium (n, T) or None."""
    scenario = inputs.scenarios[chunk.scenario_index]
    n = chunk.stop - chunk.start
    prices, market, premium = scenario.generate(n, path_rng(seed, chunk.scenario_index, chunk.chunk_index))
    prices = np.ascontiguousarray(prices, dtype=np.float64)
    if prices.shape[-2] != n:
        raise ValueError(f"scenario {scenario.name} generated {prices.shape[-2]} paths; expected {n}")
    if len(inputs.assets) > 1 and (prices.ndim != 3 or prices.shape[0] != len(inputs.assets)):
        raise ValueError(
            f"scenario {scenario.name} generated prices of shape {prices.shape}; the run needs one path "
            f"per collateral asset {list(inputs.assets)}"
        )
    return prices, market, premium


def premium_kw(premium: np.ndarray | None) -> dict[str, np.ndarray]:
    """The engine's ``premium=`` argument, only when the scenario has one: only the perp's
    simulate takes it, and a scenario without one leaves every mechanism's call as it was."""
    return {} if premium is None else {"premium": np.ascontiguousarray(premium, dtype=np.float64)}


def simulate_versions(
    inputs: RunInputs,
    scenario: ScenarioInput,
    prices: np.ndarray,
    market: Any,
    premium: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Both versions over the same prices (and premium): ``live``, ``proposed`` (n, F) per-path
    results and ``<version>_<series>`` (n, K) for every series of VERSION_SERIES at the chart
    steps; with a delay, ``delayed`` (n, F) too: live until step ``delay_steps``, proposed from
    there on, over the same premium."""
    steps = chart_steps(scenario.steps)
    kw = premium_kw(premium)
    arrays: dict[str, np.ndarray] = {}
    for version in VERSIONS:
        params = scenario.live if version == "live" else scenario.proposed
        per_path, series = inputs.simulate(params, inputs.book, prices, market, record_steps=steps, **kw)
        arrays[version] = np.asarray(per_path, dtype=np.float64)
        for name in VERSION_SERIES:
            arrays[f"{version}_{name}"] = np.ascontiguousarray(series[name], dtype=np.float64)
    k = scenario.delay_steps
    if k is not None:
        if k >= scenario.steps:
            # The proposal would take effect after the horizon: the engine would return the
            # live run bit for bit (tests/engine/test_switch.py), so it is not run again.
            arrays[DELAYED] = arrays["live"].copy()
        else:
            switch = (k, scenario.proposed)
            per_path = inputs.simulate(scenario.live, inputs.book, prices, market, switch=switch, **kw)
            arrays[DELAYED] = np.asarray(per_path, dtype=np.float64)
    return arrays


def compute_chunk(
    inputs: RunInputs, seed: int, chunk: Chunk, timings: dict | None = None
) -> dict[str, np.ndarray]:
    """Both versions over one chunk of paths (the same prices, the same book).

    Returns ``live`` and ``proposed`` (and ``delayed`` when the run has a delay): (n, F)
    float64 per-path results (columns ``fields``);
    ``price``: (n, K) float64, the exogenous price at the chart steps (of the first asset; a
    run on several assets adds ``asset_prices``: (n, A, K), every asset's); and per version and
    series of VERSION_SERIES, ``<version>_<series>``: (n, K) float64, the engine's cumulative
    liquidated volume / realized bad debt at the chart steps (USD). ``timings``, when given,
    receives the seconds spent generating paths and in the engine.
    """
    t0 = time.perf_counter()
    prices, market, premium = generate_chunk(inputs, seed, chunk)
    t1 = time.perf_counter()
    scenario = inputs.scenarios[chunk.scenario_index]
    arrays = simulate_versions(inputs, scenario, prices, market, premium)
    if timings is not None:
        timings["generate"] = t1 - t0
        timings["engine"] = time.perf_counter() - t1
    arrays.update(chart_prices(prices, chart_steps(scenario.steps)))
    return arrays


def chart_prices(prices: np.ndarray, steps: np.ndarray) -> dict[str, np.ndarray]:
    """``price`` (n, K): the (first asset's) price at the chart steps; for (A, n, T+1) prices
    also ``asset_prices`` (n, A, K), paths first so that chunks concatenate on axis 0."""
    if prices.ndim == 2:
        return {"price": np.ascontiguousarray(prices[:, steps])}
    at = prices[:, :, steps]
    return {"price": np.ascontiguousarray(at[0]), "asset_prices": np.ascontiguousarray(at.transpose(1, 0, 2))}


def pack(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def unpack(data: bytes | memoryview) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@dataclass(frozen=True)
class ScenarioResults:
    """Merged results of one scenario."""

    index: int
    name: str
    live: np.ndarray  # (M, F) per-path results
    proposed: np.ndarray  # (M, F)
    live_summary: dict
    proposed_summary: dict
    paired: dict
    series: dict
    # The cost of delay (None when the run has no delayed version): see ``delay_of``.
    delayed: np.ndarray | None = None
    delayed_summary: dict | None = None
    delay: dict | None = None


def merge_scenario(
    inputs: RunInputs, seed: int, scenario_index: int, chunks: list[dict[str, np.ndarray]]
) -> ScenarioResults:
    """Concatenate a scenario's chunks (in chunk order) and compute its summaries, paired
    differences (proposed minus live, bootstrap from ``bootstrap_rng``) and chart series."""
    scenario = inputs.scenarios[scenario_index]
    live = np.concatenate([c["live"] for c in chunks], axis=0)
    proposed = np.concatenate([c["proposed"] for c in chunks], axis=0)
    price = np.concatenate([c["price"] for c in chunks], axis=0)
    keys = [f"{v}_{name}" for v in VERSIONS for name in VERSION_SERIES]
    # Chunks stored before the engine recorded series have none: then no series bands.
    if all(k in c for c in chunks for k in keys):
        engine_series = {k: np.concatenate([c[k] for c in chunks], axis=0) for k in keys}
    else:
        engine_series = None
    delayed = None
    if scenario.delay_steps is not None and all(DELAYED in c for c in chunks):
        delayed = np.concatenate([c[DELAYED] for c in chunks], axis=0)
    asset_prices = None
    if all("asset_prices" in c for c in chunks):
        asset_prices = np.concatenate([c["asset_prices"] for c in chunks], axis=0)
    return results_of(inputs, seed, scenario, live, proposed, price, engine_series, delayed, asset_prices)


def results_of(
    inputs: RunInputs,
    seed: int,
    scenario: ScenarioInput,
    live: np.ndarray,
    proposed: np.ndarray,
    price: np.ndarray,
    engine_series: dict[str, np.ndarray] | None = None,
    delayed: np.ndarray | None = None,
    asset_prices: np.ndarray | None = None,
) -> ScenarioResults:
    # engine.results.paired_differences(a, b) reports b minus a: live is a, proposed is b.
    paired = inputs.paired_differences(live, proposed, bootstrap_rng(seed, scenario.index), inputs.n_boot)
    live_summary, proposed_summary = inputs.summarize(live), inputs.summarize(proposed)
    if inputs.borrowing_power is not None:
        # A function of the book and the parameters at the start price, not of the paths: its
        # difference has no sampling interval (as engine.api.paired reports it). Several assets:
        # each asset's mean start price.
        p0 = float(np.mean(price[:, 0])) if asset_prices is None else np.mean(asset_prices[:, :, 0], axis=0)
        a = float(inputs.borrowing_power(scenario.live, inputs.book, p0))
        b = float(inputs.borrowing_power(scenario.proposed, inputs.book, p0))
        live_summary["borrowing_power"], proposed_summary["borrowing_power"] = a, b
        paired["borrowing_power"] = {"a": a, "b": b, "diff": b - a, "ci_low": b - a, "ci_high": b - a}
    return ScenarioResults(
        index=scenario.index,
        name=scenario.name,
        live=live,
        proposed=proposed,
        live_summary=to_json(live_summary),
        proposed_summary=to_json(proposed_summary),
        paired=to_json(paired),
        series={
            **chart_series(scenario, price, engine_series),
            **asset_series(inputs.assets, asset_prices),
            **risk_series(inputs.fields, {"live": live, "proposed": proposed}, engine_series),
        },
        delayed=delayed,
        delayed_summary=None if delayed is None else to_json(inputs.summarize(delayed)),
        delay=None if delayed is None else delay_of(inputs, seed, scenario, proposed, delayed),
    )


def delay_of(
    inputs: RunInputs, seed: int, scenario: ScenarioInput, proposed: np.ndarray, delayed: np.ndarray
) -> dict:
    """The cost of governance delay over one scenario: ``paired`` = delayed minus proposed from
    the start on the same paths (``a`` from the start, ``b`` after the delay, percentile
    bootstrap 95 % intervals from ``delay_bootstrap_rng``), with the delay in steps and hours
    and whether it reaches past the horizon (then delayed is live)."""
    k = int(scenario.delay_steps)
    paired = inputs.paired_differences(
        proposed, delayed, delay_bootstrap_rng(seed, scenario.index), inputs.n_boot
    )
    return to_json(
        {
            "steps": k,
            "hours": k * scenario.interval_seconds / 3600.0,
            "horizon_steps": scenario.steps,
            "beyond_horizon": k >= scenario.steps,
            "paired": paired,
        }
    )


def risk_series(
    fields: tuple[str, ...], per_path: dict[str, np.ndarray], engine_series: dict[str, np.ndarray] | None
) -> dict[str, Any]:
    """What the review's charts need beyond the bands, per version of ``per_path`` ((M, F)):

    ``bad_debt_quantiles``: ``{"levels": CDF_LEVELS, version: quantiles}`` of the per-path
    realized bad debt (the distribution, chart 1); and, when the engine recorded series,
    ``liq_volume_step``: ``{version: mean debt repaid per path in each chart interval}`` (USD;
    the first value is step 0's), exact because a mean of differences is the difference of
    means (chart 3)."""
    col = fields.index("bad_debt")
    out: dict[str, Any] = {
        "bad_debt_quantiles": {
            "levels": list(CDF_LEVELS),
            **{v: np.quantile(a[:, col], CDF_LEVELS, method="inverted_cdf") for v, a in per_path.items()},
        }
    }
    if engine_series is not None:
        out["liq_volume_step"] = {
            v: np.diff(engine_series[f"{v}_liq_volume_cum"].mean(axis=0), prepend=0.0) for v in per_path
        }
    return to_json(out)


def bands(values: np.ndarray) -> dict[str, list]:
    """Median and 5/95 % quantiles over paths (axis -2) of (..., M, K) values at each step."""
    q = np.quantile(values, BAND_QUANTILES, axis=-2)
    return to_json({"p05": q[0], "p50": q[1], "p95": q[2]})


def chart_series(
    scenario: ScenarioInput, price: np.ndarray, engine_series: dict[str, np.ndarray] | None = None
) -> dict:
    """The charts' data at the chart steps (``hours`` from the start): ``price``, bands of the
    exogenous price over all paths; and, when the engine recorded them, for each series of
    VERSION_SERIES ``{"live": bands, "proposed": bands}`` over all the scenario's paths."""
    steps = chart_steps(scenario.steps)
    out: dict[str, Any] = {
        "hours": (steps * scenario.interval_seconds / 3600.0).tolist(),
        "price": bands(price),
    }
    if engine_series is not None:
        for name in VERSION_SERIES:
            out[name] = {v: bands(engine_series[f"{v}_{name}"]) for v in VERSIONS}
    return out


def asset_series(assets: tuple[str, ...], asset_prices: np.ndarray | None) -> dict:
    """A run on several assets: ``asset_prices``, ``[{"asset": name, **bands}, ...]`` of each
    asset's price in the run's order (a list: PostgreSQL's jsonb does not keep a dict's key
    order) at
    the chart steps (``price`` holds the first asset's alone)."""
    if asset_prices is None or not assets:
        return {}
    return {"asset_prices": [{"asset": a, **bands(asset_prices[:, i, :])} for i, a in enumerate(assets)]}


def run_in_process(inputs: RunInputs, seed: int, chunk_paths: int) -> list[ScenarioResults]:
    """The whole run in this process, without chunking the engine: every chunk's paths are
    generated as a worker would, concatenated, and each version simulated once over all M
    paths. Equal to the merged chunks bit for bit when the engine's paths are independent."""
    results = []
    for scenario in inputs.scenarios:
        chunks = [
            b
            for b in plan_chunks(
                paths_per_scenario=[s.n_paths for s in inputs.scenarios], chunk_paths=chunk_paths
            )
            if b.scenario_index == scenario.index
        ]
        generated = [generate_chunk(inputs, seed, b) for b in chunks]
        prices = np.concatenate([g[0] for g in generated], axis=-2)
        market = generated[0][1]
        if any(g[1] != market for g in generated):
            raise ValueError(f"scenario {scenario.name}: market conditions differ between chunks")
        premium = None if generated[0][2] is None else np.concatenate([g[2] for g in generated], axis=0)
        arrays = simulate_versions(inputs, scenario, prices, market, premium)
        delayed = arrays.pop(DELAYED, None)
        engine_series = {k: v for k, v in arrays.items() if k not in VERSIONS}
        charted = chart_prices(prices, chart_steps(scenario.steps))
        live, proposed = arrays["live"], arrays["proposed"]
        results.append(
            results_of(
                inputs,
                seed,
                scenario,
                live,
                proposed,
                charted["price"],
                engine_series,
                delayed,
                charted.get("asset_prices"),
            )
        )
    return results


def to_json(value: Any) -> Any:
    """numpy scalars/arrays in nested dicts -> plain floats/ints/lists, NaN and inf -> None
    (strict JSON, which PostgreSQL's jsonb requires, has neither)."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if np.isfinite(f) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


# -- sweeps: more parameter sets on the same paths ------------------------------------------
# A run's sensitivity (each changed parameter one guardrail step each way), volatility sweep
# and frontier are more parameter sets computed as more chunks of the same run. A sweep job
# is a scenario of the pack at a volatility multiplier with a few parameter sets; its chunk b
# draws its paths from ``path_rng(seed, scenario_index, b)``, the generator of the scenario's
# own chunk b: at the multiplier 1 they are the main run's paths, at another multiplier the same
# random numbers with the volatility scaled (common random numbers). Jobs are numbered after the
# pack's scenarios (``index`` = number of scenarios + j), so a job's chunks are rows of the run's
# chunks like any other and the job completing its last chunk merges it.


@dataclass(frozen=True)
class SweepInput:
    """One sweep job: a scenario's paths at a volatility multiplier and the parameter sets run on
    them, ``sets``: ((name, engine Params), ...)."""

    index: int
    scenario_index: int
    multiplier: float
    n_paths: int
    generate: GenerateChunk
    sets: tuple[tuple[str, Any], ...]


def compute_sweep_chunk(
    inputs: RunInputs, seed: int, job: SweepInput, chunk: Chunk, timings: dict | None = None
) -> dict[str, np.ndarray]:
    """Every set of the job over one chunk of its paths: ``{set name: (n, F) per-path results}``
    (columns ``fields``) and ``start_price``: (n,) the paths' first prices ((n, A) on several assets)."""
    t0 = time.perf_counter()
    n = chunk.stop - chunk.start
    prices, market, premium = job.generate(n, path_rng(seed, job.scenario_index, chunk.chunk_index))
    prices = np.ascontiguousarray(prices, dtype=np.float64)
    t1 = time.perf_counter()
    kw = premium_kw(premium)
    arrays = {
        name: np.asarray(inputs.simulate(params, inputs.book, prices, market, **kw), dtype=np.float64)
        for name, params in job.sets
    }
    arrays["start_price"] = np.ascontiguousarray(prices[..., 0].T)
    if timings is not None:
        timings["generate"] = t1 - t0
        timings["engine"] = time.perf_counter() - t1
    return arrays


def merge_sweep(inputs: RunInputs, job: SweepInput, chunks: list[dict[str, np.ndarray]]) -> dict[str, Any]:
    """A job's chunks (in chunk order) merged exactly as a scenario's: per set, the summary of
    its per-path results over all the job's paths (engine.results.summarize) and its borrowing
    power at the paths' mean start price."""
    p0 = np.mean(np.concatenate([c["start_price"] for c in chunks]), axis=0)
    p0 = float(p0) if np.ndim(p0) == 0 else p0
    out: dict[str, Any] = {
        "index": job.index,
        "scenario_index": job.scenario_index,
        "multiplier": job.multiplier,
        "n_paths": job.n_paths,
        "sets": {},
    }
    for name, params in job.sets:
        summary = inputs.summarize(np.concatenate([c[name] for c in chunks], axis=0))
        if inputs.borrowing_power is not None:
            summary["borrowing_power"] = float(inputs.borrowing_power(params, inputs.book, p0))
        out["sets"][name] = summary
    return to_json(out)
