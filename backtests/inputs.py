"""A run's inputs: fixed in its manifest at dispatch, loaded from the manifest by every chunk.

The manifest names every row a run reads (parameter versions, book, scenarios, price windows)
with its sha256, so a chunk computed an hour later, on another machine, reads the same inputs
or refuses to run (EngineError: the run fails with the reason), and ``replay_run`` can check
that nothing changed.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import numpy as np
from django.conf import settings

import engine
from backtests import compute, sweeps
from backtests.params import (
    engine_mechanism,
    engine_params,
    engine_params_dict,
    manifest_assets,
    simulated_assets,
    unmodelled,
)
from engine import results
from engine.api import load_mechanism
from engine.errors import EngineError
from engine.results import RESULT_FIELDS
from engine.scenarios import generate
from governance.models import GovernancePolicy
from proposals import schema
from proposals.models import ParameterSetVersion
from scenarios import services as scenario_services
from scenarios.models import Book
from scenarios.services import generate_paths, get_series, load_history, series_for_scenario, window_sha256

MANIFEST_FORMAT = 1
# The governance delay's parts (GovernancePolicy fields; a proposal copies them when its vote is
# scheduled). The vote extension is left out: it applies only when quorum comes late.
DELAY_PARTS = ("voting_delay", "voting_period", "timelock")


def governance_delay(proposal) -> dict[str, Any]:
    """How long a proposal takes to take effect once submitted: the voting delay, the voting
    period and the timelock (margin-engine.md section 4), in seconds, and where they come from:
    the proposal's own copy of its policy when its vote was scheduled, else its market's
    policy, else GovernancePolicy's defaults (1 + 3 + 1 days) when the market has none."""
    if all(getattr(proposal, name) is not None for name in DELAY_PARTS):
        source, values = "the proposal's policy", {n: getattr(proposal, n) for n in DELAY_PARTS}
    else:
        policy = GovernancePolicy.objects.filter(market_id=proposal.market_id).first()
        if policy is not None:
            source, values = "the market's policy", {n: getattr(policy, n) for n in DELAY_PARTS}
        else:
            fields = {f.name: f for f in GovernancePolicy._meta.get_fields()}
            source = "the default policy (the market has none)"
            values = {n: fields[n].get_default() for n in DELAY_PARTS}
    seconds = {f"{n}_seconds": int(values[n].total_seconds()) for n in DELAY_PARTS}
    return {"source": source, **seconds, "seconds": sum(seconds.values())}


def delay_steps(delay_seconds: int, interval_seconds: int) -> int:
    """The delay in steps of the scenario, rounded up: the proposal is in force from that step."""
    return -(-int(delay_seconds) // int(interval_seconds))


def build_manifest(run) -> dict[str, Any]:
    """Everything that determines the run's figures (see the module docstring)."""
    market = run.proposal.market
    pack = scenario_services.default_pack(market)
    if pack is None:
        raise EngineError(
            f"market {market.slug} has no default stress pack; create one "
            f"(python manage.py help | grep pack) before backtesting"
        )
    book = scenario_services.pack_book(pack)
    if book is None:
        raise EngineError(
            f"market {market.slug} has no position book: its stress pack names none and it has no "
            f"default book; create one before backtesting"
        )
    base = scenario_services.baseline(pack)
    delay = governance_delay(run.proposal)
    assets = simulated_assets(market)
    mech = engine_mechanism(market.mechanism, assets)
    _check_assets(market, assets, book, pack.ordered_scenarios())
    scenarios = []
    for i, sc in enumerate(pack.ordered_scenarios()):
        m = scenario_services.scenario_manifest(sc)
        kind = sc.spec["kind"]
        steps, interval = _shape_of(sc)
        scenarios.append(
            {
                "index": i,
                "name": sc.name,
                "scenario_id": sc.pk,
                "kind": kind,
                "spec": m["spec"],
                "scenario_seed": m["seed"],
                "prices": m["prices"],
                "steps": steps,
                "interval_seconds": interval,
                "n_paths": 1 if kind == "replay" else pack.n_paths,
                "delay_steps": delay_steps(delay["seconds"], interval),
            }
        )
    if not scenarios:
        raise EngineError(f"the default stress pack of {market.slug} has no scenarios")
    chunk_paths = _chunk_paths(pack, max(s["steps"] for s in scenarios), book.n_positions)
    versions = {"live": run.live_version, "proposed": run.proposed_version}
    chunks = compute.plan_chunks(
        paths_per_scenario=[s["n_paths"] for s in scenarios], chunk_paths=chunk_paths
    )
    # More parameter sets as more chunks of the same run (backtests.sweeps), planned now: their
    # sets and jobs are part of what the run computes, hence of its manifest.
    swept = sweeps.plan_sweeps(run, scenarios, chunk_paths=chunk_paths, n_paths=pack.n_paths)
    return {
        "format": MANIFEST_FORMAT,
        "engine_version": engine.__version__,
        "mechanism": market.mechanism,
        # The engine mechanism the chunks run (a Comet market on several collateral assets:
        # compound-v3-accounts) and the collateral assets, in the order of the book's columns
        # and of the scenarios' price paths.
        "engine_mechanism": mech,
        "market": market.slug,
        "collateral_asset": assets[0] if assets and len(assets) == 1 else None,
        "collateral_assets": assets,
        "seed": pack.seed,
        "rng": {
            "paths": "numpy default_rng([seed, 0, scenario_index, chunk_index]) (PCG64)",
            "bootstrap": "numpy default_rng([seed, 1, scenario_index])",
            "delay_bootstrap": "numpy default_rng([seed, 2, scenario_index])",
            "n_boot": settings.BACKTEST_N_BOOT,
        },
        "versions": {
            role: {
                "id": v.pk,
                "number": v.number,
                "content_hash": v.content_hash,
                "values": v.values,
                "engine_params": {
                    str(s["interval_seconds"]): engine_params_dict(
                        market.mechanism,
                        v.decimal_values(),
                        interval_seconds=s["interval_seconds"],
                        assets=assets,
                    )
                    for s in scenarios
                },
            }
            for role, v in versions.items()
        },
        "unmodelled_parameters": unmodelled(market.mechanism),
        # The third version, proposed after this delay (each scenario's delay_steps).
        "governance_delay": delay,
        "book": {"id": book.pk, "name": book.name, "sha256": book.sha256, "n_positions": book.n_positions},
        # The baseline (scenarios.services.baseline): a run whose pack sha256 differs from the
        # market's default pack of today was made on an older one, and its page says so.
        "pack": base,
        "scenarios": scenarios,
        "chunking": {
            "chunk_paths": chunk_paths,
            "chunks": len(chunks),
            "n_paths": pack.n_paths,
            "memory_mb": settings.BACKTEST_CHUNK_MEMORY_MB,
        },
        # RESULT_FIELDS, then the mechanism's per-path extra outputs (vault loss, funding...).
        "fields": list(RESULT_FIELDS) + list(extra_fields(mech)),
        **({"sweeps": swept} if swept else {}),
    }


def _check_assets(market, assets: list[str] | None, book, scenarios: list) -> None:
    """A backtest on several collateral assets needs a book with a column per asset and
    scenarios with a price path per asset, in the same order; refuse anything else by name."""
    if not assets or len(assets) == 1:
        for sc in scenarios:
            if len(sc.spec["assets"]) != 1:
                raise EngineError(
                    f"scenario {sc.name!r} has prices of {', '.join(sc.spec['assets'])}; {market.slug} is "
                    f"backtested on one asset: its pack needs one price path a scenario"
                )
        return
    # The book is valued at one price per collateral column (its summary, checked against the
    # arrays when it was stored): no need to decompress it here.
    price = book.summary.get("price")
    cols = len(price) if isinstance(price, list) else 1
    if cols != len(assets):
        raise EngineError(
            f"book {book.name!r} holds {cols} collateral column(s); {market.slug} is backtested on "
            f"{', '.join(assets)} together: generate or import a book with one column per asset, in that order"
        )
    for sc in scenarios:
        if len(sc.spec["assets"]) != len(assets):
            raise EngineError(
                f"scenario {sc.name!r} has prices of {', '.join(sc.spec['assets'])}; {market.slug} is "
                f"backtested on {', '.join(assets)} together: its pack needs one price path per collateral "
                f"asset, in that order (create_synthetic_pack with several assets and a correlation)"
            )


def _chunk_paths(pack, max_steps: int, n_positions: int) -> int:
    """The pack's chunk size, refused when a chunk would not fit BACKTEST_CHUNK_MEMORY_MB (the
    pack fixes the chunk size: shrinking it here would draw other paths than the baseline's)."""
    fits = compute.chunk_paths_for(
        n_paths=pack.n_paths,
        max_steps=max_steps,
        target_paths=pack.chunk_paths,
        memory_bytes=settings.BACKTEST_CHUNK_MEMORY_MB * 2**20,
        n_positions=n_positions,
    )
    if fits < min(pack.chunk_paths, pack.n_paths):
        raise EngineError(
            f"the stress pack's {pack.chunk_paths} paths per chunk of {max_steps} steps do not fit "
            f"BACKTEST_CHUNK_MEMORY_MB ({settings.BACKTEST_CHUNK_MEMORY_MB}); set the pack's paths per "
            f"chunk to at most {fits}"
        )
    return pack.chunk_paths


def _shape_of(scenario) -> tuple[int, int]:
    """(steps T, step length in seconds) of a scenario.

    A simulated scenario states its steps, one a bar; its step is the spec's interval, else its
    history's, else hourly (engine.scenarios.generate's rule). A replay steps four times a bar
    (a quarter bar each, margin-engine.md section 6) over its window on the history grid: one
    path is generated to learn both (cheap: no model is fitted for a replay). Simulated ones are
    not generated here: fitting GARCH for a shape would cost seconds. The step length is what
    every time parameter is converted with (backtests.params).
    """
    spec = scenario.spec
    try:
        if spec["kind"] != "replay" and spec.get("n_steps"):
            interval = spec.get("interval_seconds")
            if not interval and spec.get("window"):
                interval = next(iter(series_for_scenario(scenario).values())).interval_seconds
            return int(spec["n_steps"]), int(interval or 3600)
        paths = generate_paths(scenario, n_paths=1)
    except ValueError as exc:  # EngineError is a ValueError
        raise EngineError(f"scenario {scenario.name!r}: {exc}") from None
    return int(paths.n_steps), int(paths.interval_seconds)


# A worker computes many chunks of the same run: keep its loaded inputs (book, histories,
# params) for the last few runs instead of reading them from the database for every chunk.
_cache: dict[tuple, compute.RunInputs] = {}
_cache_lock = threading.Lock()
_CACHE_RUNS = 2


def load_inputs(run, *, cached: bool = True) -> compute.RunInputs:
    if not cached:
        return _load_inputs(run)
    # Keyed by more than the id: a database reset (tests, a restored backup) reuses ids.
    key = (run.pk, run.created_at, run.manifest.get("book", {}).get("sha256"), run.seed)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    inputs = _load_inputs(run)
    with _cache_lock:
        while len(_cache) >= _CACHE_RUNS:
            _cache.pop(next(iter(_cache)))
        _cache[key] = inputs
    return inputs


def _load_inputs(run) -> compute.RunInputs:
    m = run.manifest
    mechanism = m["mechanism"]
    assets = manifest_assets(m)
    module = load_mechanism(m.get("engine_mechanism") or mechanism)
    book_row = Book.objects.filter(pk=m["book"]["id"]).first()
    if book_row is None or book_row.sha256 != m["book"]["sha256"]:
        raise EngineError(
            f"book {m['book']['name']!r} changed or was deleted since the run started "
            f"(sha256 {m['book']['sha256'][:12]}...): start a new run"
        )
    book = module.book_from_arrays(book_arrays(book_row))
    versions = {}
    for role in ("live", "proposed"):
        v = ParameterSetVersion.objects.get(pk=m["versions"][role]["id"])
        if v.content_hash != m["versions"][role]["content_hash"]:
            raise EngineError(f"the {role} version v{v.number} no longer has the hash the run recorded")
        versions[role] = v.decimal_values()
    scenarios = []
    for s in m["scenarios"]:
        scenarios.append(
            compute.ScenarioInput(
                index=s["index"],
                name=s["name"],
                n_paths=s["n_paths"],
                steps=s["steps"],
                interval_seconds=s["interval_seconds"],
                generate=_generator(s, mechanism),
                live=engine_params(
                    mechanism,
                    versions["live"],
                    interval_seconds=s["interval_seconds"],
                    assets=assets,
                ),
                proposed=engine_params(
                    mechanism,
                    versions["proposed"],
                    interval_seconds=s["interval_seconds"],
                    assets=assets,
                ),
                delay_steps=s.get("delay_steps"),
            )
        )
    # Runs made before a mechanism had extra outputs keep the fields of their manifest.
    extra = tuple(m["fields"][len(RESULT_FIELDS) :])
    return compute.RunInputs(
        sweeps=_sweep_inputs(m),
        simulate=with_extras(module.simulate) if extra else module.simulate,
        book=book,
        scenarios=tuple(scenarios),
        fields=tuple(m["fields"]),
        summarize=functools.partial(results.summarize, extra_fields=extra),
        paired_differences=functools.partial(results.paired_differences, extra_fields=extra),
        n_boot=m["rng"]["n_boot"],
        borrowing_power=getattr(module, "borrowing_power", None),
        assets=tuple(assets) if assets and len(assets) > 1 else (),
    )


def extra_fields(mechanism: str) -> tuple[str, ...]:
    """The mechanism's per-path extra outputs (engine._skeleton.Mechanism.extra_fields)."""
    mech = getattr(load_mechanism(mechanism), "MECHANISM", None)
    return tuple(getattr(mech, "extra_fields", ()))


def with_extras(simulate: compute.Simulate) -> compute.Simulate:
    """The engine entry with the mechanism's extra outputs as columns after RESULT_FIELDS, so
    that chunks, merges, summaries and paired differences carry them like any result field."""

    def run(params, book, prices, market, **kw):
        res = simulate(params, book, prices, market, extras=True, **kw)
        *head, xo = res
        per_path = np.hstack([head[0], np.column_stack(list(xo.values()))])
        return (per_path, *head[1:]) if len(head) > 1 else per_path

    return run


def _sweep_inputs(m: dict) -> tuple[compute.SweepInput, ...]:
    """The run's sweep jobs (backtests.sweeps), each set's engine Params at its scenario's step."""
    plan = m.get("sweeps")
    if not plan:
        return ()
    mechanism, assets = m["mechanism"], manifest_assets(m)
    values = {name: schema.normalize(mechanism, s["values"]) for name, s in plan["sets"].items()}
    out = []
    for job in plan["jobs"]:
        s = m["scenarios"][job["scenario_index"]]
        spec = {
            **s["spec"],
            "vol_multiplier": float(s["spec"].get("vol_multiplier", 1.0)) * job["multiplier"],
        }
        params = tuple(
            (
                name,
                engine_params(mechanism, values[name], interval_seconds=s["interval_seconds"], assets=assets),
            )
            for name in job["sets"]
        )
        out.append(
            compute.SweepInput(
                index=job["index"],
                scenario_index=job["scenario_index"],
                multiplier=job["multiplier"],
                n_paths=job["n_paths"],
                generate=_generator({**s, "spec": spec}, mechanism),
                sets=params,
            )
        )
    return tuple(out)


def _history(s: dict) -> dict | None:
    """The price windows the scenario reads, checked against the manifest's sha256."""
    if not s["prices"]:
        return None
    out = {}
    for asset, p in s["prices"].items():
        series = get_series(p["series"])
        if window_sha256(series, p["start"], p["end"]) != p["sha256"]:
            raise EngineError(
                f"price series {p['series']} changed in {p['start']} .. {p['end']} since "
                f"the run started (scenario {s['name']!r}): start a new run"
            )
        out[asset] = load_history(series, p["start"], p["end"])
    return out


def _generator(s: dict, mechanism: str) -> compute.GenerateChunk:
    """Generates chunks of the scenario's paths (prices, conditions and, for a perp, the premium
    series of a spec that has one, else None); its price history is read (and checked against
    the manifest) on first use, so a worker reads only the scenarios it computes. Only the
    perp's funding reads a premium: another mechanism's run of a spec with one gets None (its
    prices are the same either way)."""
    keep_premium = mechanism == "perp"
    history: list = []

    def generate_chunk(n_paths: int, rng: np.random.Generator):
        if not history:
            history.append(_history(s))
        paths = generate(s["spec"], history=history[0], n_paths=n_paths, rng=rng)
        return paths.prices, paths.conditions, paths.premium if keep_premium else None

    return generate_chunk


def start_price(run) -> float:
    """The starting price of a run: the price its book is valued at (``Book.summary``), else
    the median start price of its first scenario's paths."""
    summary = Book.objects.filter(pk=run.manifest["book"]["id"]).values_list("summary", flat=True).first()
    if summary and summary.get("price"):
        # A book on several collateral assets is valued at one price per asset.
        p = summary["price"]
        return np.asarray(p, dtype=np.float64) if isinstance(p, list) else float(p)
    first = run.comparisons.filter(scenario_index=0).values_list("series", flat=True).first()
    if first and first.get("price"):
        return float(first["price"]["p50"][0])
    raise EngineError(f"run {run.pk}: no starting price (its book records none and no scenario is stored)")


def book_arrays(book_row) -> dict[str, np.ndarray]:
    return scenario_services.decode_book(book_row.data)


def check_manifest(run) -> None:
    """Refuse to replay, or to go on computing, a run of another engine version (figures may
    legitimately differ between versions, and one run's chunks must come from one engine)."""
    if run.manifest.get("engine_version") != engine.__version__:
        raise EngineError(
            f"run {run.pk} was computed by engine {run.manifest.get('engine_version')}; "
            f"this is engine {engine.__version__}, whose figures may differ: start a new "
            f"backtest of the proposal to compute it with this engine"
        )
