"""Scenarios and stress packs: validation, generation (seeded), manifests, the standard pack."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import numpy as np
from django.db import transaction
from django.db.models import ProtectedError

from engine.scenarios import describe_replay, generate, standard_pack, synthetic_pack
from scenarios.models import PackEntry, PriceSeries, Scenario, StressPack, normalize_spec
from scenarios.services.books import default_book
from scenarios.services.prices import from_epoch, iso, load_history, to_epoch, window_sha256


def series_for_scenario(scenario) -> dict[str, PriceSeries]:
    """The price series of each of the spec's assets: the scenario's linked series of that
    symbol (one per symbol), else the only stored series of that symbol (at the spec's
    interval if it fixes one)."""
    spec = scenario.spec
    linked = {s.symbol: s for s in scenario.series.all()} if scenario.pk else {}
    out = {}
    for asset in spec["assets"]:
        if asset in linked:
            out[asset] = linked[asset]
            continue
        q = PriceSeries.objects.filter(symbol=asset)
        if spec.get("interval_seconds"):
            q = q.filter(interval_seconds=spec["interval_seconds"])
        found = list(q[:2])
        if len(found) != 1:
            raise ValueError(
                f"scenario {scenario.name!r} needs one price series of {asset}; found "
                f"{[s.name for s in found] or 'none'} (link one to the scenario)"
            )
        out[asset] = found[0]
    return out


def scenario_history(scenario) -> dict | None:
    """The History of each asset over the spec's window (only that window is read)."""
    window = scenario.spec.get("window")
    if window is None:
        return None
    return {
        asset: load_history(series, window["start"], window["end"])
        for asset, series in series_for_scenario(scenario).items()
    }


def generate_paths(scenario, *, n_paths: int, seed: int | None = None):
    """engine.scenarios.generate for a stored scenario, seeded by the scenario's seed.

    The same scenario, ``n_paths`` and seed always give the same paths (a replay is one path).
    """
    rng = np.random.default_rng(scenario.seed if seed is None else seed)
    return generate(scenario.spec, history=scenario_history(scenario), n_paths=n_paths, rng=rng)


def scenario_manifest(scenario) -> dict:
    """What a run must record to reproduce a scenario's paths: spec, seed and the sha256 of
    each window of real prices it reads."""
    window = scenario.spec.get("window")
    data = {}
    if window is not None:
        for asset, series in series_for_scenario(scenario).items():
            data[asset] = {
                "series": series.name,
                "start": window["start"],
                "end": window["end"],
                "sha256": window_sha256(series, window["start"], window["end"]),
            }
    return {
        "scenario": scenario.name,
        "scenario_id": scenario.pk,
        "seed": scenario.seed,
        "spec": scenario.spec,
        "prices": data,
    }


def _check_coverage(spec: dict, series: dict[str, PriceSeries]) -> None:
    window = spec.get("window")
    if window is None:
        return
    lo, hi = to_epoch(window["start"]), to_epoch(window["end"])
    for s in series.values():
        if s.first_ts > lo or s.last_ts < hi - s.interval_seconds:
            raise ValueError(
                f"{s.name} covers {iso(s.first_ts)} .. {iso(s.last_ts)}; the scenario "
                f"{spec.get('name', '')!r} needs {window['start']} .. {window['end']}"
            )


def _check_coverage_all(specs: list[dict], series: PriceSeries) -> None:
    """Every window of the pack lies within ``series`` (before any replay is measured on it)."""
    for spec in specs:
        _check_coverage(spec, {series.symbol: series})


def replay_series(series: PriceSeries, window: dict) -> PriceSeries:
    """The series a replay of ``window`` reads: the finest stored series of the same symbol
    that covers the window with no gap in it (margin-engine.md section 6: finer data where the
    window has it), else ``series``. Each bar of it is replayed as four steps."""
    lo, hi = to_epoch(window["start"]), to_epoch(window["end"])
    finer = PriceSeries.objects.filter(
        symbol=series.symbol,
        interval_seconds__lt=series.interval_seconds,
        first_time__lte=from_epoch(lo),
    ).order_by("interval_seconds")
    for s in finer:
        covers = s.last_ts >= hi - s.interval_seconds and s.interval_seconds % 4 == 0
        gap_inside = any(to_epoch(g[0]) <= hi and to_epoch(g[1]) >= lo for g in s.gaps)
        if covers and not gap_inside:
            return s
    return series


@transaction.atomic
def save_scenario(*, name: str, spec: dict, seed: int, series: list[PriceSeries] = (), description: str = ""):
    """Validate and store a scenario; its window must lie within the linked series."""
    spec = normalize_spec(spec)
    if Scenario.objects.filter(name=name).exists():
        raise ValueError(f"a scenario named {name!r} already exists; choose another name")
    scenario = Scenario(
        name=name, spec=spec, seed=seed, description=description or spec.get("description", "")
    )
    by_symbol = {s.symbol: s for s in series}
    missing = [a for a in spec["assets"] if spec.get("window") and a not in by_symbol]
    if missing:
        raise ValueError(f"scenario {name!r} reads history of {missing[0]}: give its price series")
    _check_coverage(spec, {a: by_symbol[a] for a in spec["assets"] if a in by_symbol})
    scenario.save()
    scenario.series.set([by_symbol[a] for a in spec["assets"] if a in by_symbol])
    return scenario


@transaction.atomic
def create_stress_pack(
    *,
    market,
    series: PriceSeries,
    depth_usd: float,
    start_price: float | None = None,
    n_steps: int = 720,
    seed: int = 20200312,
    name: str = "Standard stress pack",
    replace: bool = False,
):
    """The standard pack (engine.scenarios.standard_pack) for a market, on one price series.

    Each scenario is stored as ``"<market slug>: <scenario name>"`` with seed ``seed + i``
    (i its position), so a pack is reproducible from its seeds. The pack becomes the market's
    default. An existing pack of that name is replaced only when ``replace`` is set. A perp
    market's crash scenarios carry the perp's premium over its index, which its funding reads
    (engine.scenarios.stress.CRASH_PREMIUM); other markets' specs have none.

    A replay reads the finest stored series of the symbol that covers its window without a gap
    (``replay_series``: finer data where the window has it, else ``series``' bars four steps
    each), and its description ends with the fall it reaches, measured on the replay itself
    (engine.scenarios.describe_replay).
    """
    specs = standard_pack(
        series.symbol,
        start_price=start_price,
        depth_usd=depth_usd,
        n_steps=n_steps,
        perp=market.mechanism == "perp",
    )
    _check_coverage_all(specs, series)
    per_spec = []
    for i, spec in enumerate(specs):
        if spec["kind"] == "replay":
            source = replay_series(series, spec["window"])
            history = {series.symbol: load_history(source, spec["window"]["start"], spec["window"]["end"])}
            specs[i] = describe_replay(spec, history)
            per_spec.append([source])
        else:
            per_spec.append([series])
    return _create_pack(
        market=market,
        specs=specs,
        series=per_spec,
        seed=seed,
        name=name,
        replace=replace,
        description=f"engine.scenarios.standard_pack on {series.name}, "
        f"depth {depth_usd:,.0f} USD, {n_steps} steps (replays: their windows, four steps a bar)",
    )


@transaction.atomic
def create_synthetic_pack(
    *,
    market,
    asset: str | list[str],
    start_price: float | dict[str, float],
    depth_usd: float,
    n_steps: int = 720,
    seed: int = 20240805,
    name: str = "Synthetic stress pack",
    replace: bool = False,
    correlation: float | None = None,
):
    """A default pack that needs no price history (engine.scenarios.synthetic_pack): for a market
    whose history has not been imported yet. ``create_stress_pack`` replaces it as the default
    once real history is there. A perp market's shocks carry the perp's premium over its index
    (engine.scenarios.stress.CRASH_PREMIUM); other markets' specs are as before. Several assets
    (a Comet market backtested on all its collateral): ``asset`` a list in the order of the
    market's collateral assets, ``start_price`` a dict by asset and ``correlation`` every pair's."""
    specs = synthetic_pack(
        asset,
        start_price=start_price,
        depth_usd=depth_usd,
        n_steps=n_steps,
        correlation=correlation,
        perp=market.mechanism == "perp",
    )
    prices = (
        ", ".join(f"{a} {p:,.2f}" for a, p in start_price.items())
        if isinstance(start_price, dict)
        else f"{start_price:,.2f}"
    )
    corr = "" if correlation is None else f", correlation {correlation:g}"
    return _create_pack(
        market=market,
        specs=specs,
        series=[[] for _ in specs],
        seed=seed,
        name=name,
        replace=replace,
        description=f"engine.scenarios.synthetic_pack from {prices} USD{corr}, "
        f"depth {depth_usd:,.0f} USD, {n_steps} steps (no history)",
    )


def _create_pack(
    *,
    market,
    specs: list[dict],
    series: list[list[PriceSeries]],
    seed: int,
    name: str,
    replace: bool,
    description: str,
):
    """Store ``specs`` as scenarios of a new pack that becomes the market's default; ``series``
    are the price series each spec reads."""
    old = StressPack.objects.select_for_update().filter(market=market, name=name).first()
    if old is not None:
        if not replace:
            raise ValueError(f"{market.slug} already has a pack {name!r}; pass --replace to rebuild it")
        old_scenarios = list(old.scenarios.all())
        old.delete()
        _retire_scenarios(old_scenarios)
    StressPack.objects.filter(market=market, is_default=True).update(is_default=False)
    pack = StressPack.objects.create(
        market=market, name=name, is_default=True, description=description, book=default_book(market)
    )
    prefix = market.slug if name == "Standard stress pack" else f"{market.slug} / {name}"
    for i, (spec, read) in enumerate(zip(specs, series, strict=True)):
        sc = save_scenario(name=f"{prefix}: {spec['name']}"[:120], spec=spec, seed=seed + i, series=read)
        PackEntry.objects.create(pack=pack, scenario=sc, position=i)
    return pack


def _retire_scenarios(scenarios: list) -> None:
    """Delete the scenarios of a rebuilt pack that nothing else uses; rename the others (another
    pack, or a stored run, still refers to them) so the new ones can take their names."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    for sc in scenarios:
        try:
            with transaction.atomic():
                sc.delete()
        except ProtectedError:
            sc.name = f"{sc.name} (replaced {stamp})"[:120]
            sc.save(update_fields=["name"])


def default_pack(market):
    return StressPack.objects.filter(market=market, is_default=True).first()


def pack_book(pack):
    """The book every run on ``pack`` uses: the pack's own, else the market's default book."""
    return pack.book if pack.book_id is not None else default_book(pack.market)


def baseline(pack) -> dict:
    """What makes two runs of the market draw the same paths on the same book: the pack's seed,
    paths per scenario, chunk size, book and scenarios (each one's id, seed and spec), with the
    sha256 of their canonical JSON. Every run records it in its manifest; a run whose
    ``sha256`` is not the market's default pack's of today was made on an older baseline."""
    book = pack_book(pack)
    identity = {
        "pack": pack.pk,
        "seed": pack.seed,
        "n_paths": pack.n_paths,
        "chunk_paths": pack.chunk_paths,
        "book": None if book is None else {"id": book.pk, "sha256": book.sha256},
        "scenarios": [{"id": sc.pk, "seed": sc.seed, "spec": sc.spec} for sc in pack.ordered_scenarios()],
    }
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return {
        "id": pack.pk,
        "name": pack.name,
        "seed": pack.seed,
        "n_paths": pack.n_paths,
        "chunk_paths": pack.chunk_paths,
        "book": None
        if book is None
        else {"id": book.pk, "name": book.name, "sha256": book.sha256, "n_positions": book.n_positions},
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


def pack_for_market(market) -> list:
    """The scenarios of the market's default stress pack, in order ([] if it has none)."""
    pack = default_pack(market)
    return pack.ordered_scenarios() if pack is not None else []
