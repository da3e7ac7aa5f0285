"""The book's side of the charts: how much of the book liquidates as the price drops (collateral
at risk), and the distribution of its health (engine.health) at the start and at the worst step
of the worst scenario. Computed once when a run finishes (``store_book_risk``), stored in
``BacktestRun.figures``; the page only reads it.

Collateral at risk is static: the book and each version's thresholds at the starting price
moved down by 10 % ... 60 %, before any liquidation moves the price (no cascade; the paths'
cascades are in the scenario charts). The health at the worst step is the engine's own state:
the worst path of the worst scenario regenerated from its chunk's seed (the same paths as the
run) and run up to its lowest price by ``engine.health.book_at_step`` for each version.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backtests import compute
from backtests import inputs as run_inputs
from backtests.models import BacktestRun, Role
from backtests.params import run_mechanism
from engine import health

DROPS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
# Health bins: below 0 (a perp with negative equity), 0 to 3 by 0.1, and 3 or more.
HEALTH_EDGES = (-math.inf, *[round(0.1 * i, 1) for i in range(31)], math.inf)


def bin_labels() -> list[str]:
    out = []
    for lo, hi in zip(HEALTH_EDGES[:-1], HEALTH_EDGES[1:], strict=True):
        out.append(
            "below 0" if lo == -math.inf else f"{lo:.1f} or more" if hi == math.inf else f"{lo:.1f}-{hi:.1f}"
        )
    return out


def collateral_at_risk(mechanism: str, versions: dict[str, Any], book: Any, price0: float) -> dict[str, Any]:
    """Per version and price drop d of DROPS: the positions liquidatable (health < 1) at
    ``price0 * (1 - d)``, their count, debt and collateral (USD at the dropped price), and their
    debt's share of the book's. ``versions``: {version: engine Params}."""
    # A book on several collateral assets: every asset's price drops by d at once.
    price0 = np.asarray(price0, dtype=np.float64)
    out: dict[str, Any] = {"drops": list(DROPS), "price0": price0}
    for version, params in versions.items():
        rows = {"count": [], "debt": [], "collateral": [], "share_of_debt": []}
        for d in DROPS:
            p = price0 * (1.0 - d)
            h = health.health(mechanism, params, book, p)
            debt, collateral = health.exposure(mechanism, book, p)
            mask = np.isfinite(h) & (h < 1.0)
            total = float(debt[np.isfinite(h)].sum())
            rows["count"].append(int(mask.sum()))
            rows["debt"].append(float(debt[mask].sum()))
            rows["collateral"].append(float(collateral[mask].sum()))
            rows["share_of_debt"].append(float(debt[mask].sum()) / total if total > 0 else 0.0)
        out[version] = rows
    return compute.to_json(out)


def health_histogram(mechanism: str, params: Any, book: Any | None, price: float) -> dict[str, list]:
    """Counts and debt (USD) of the positions with debt per bin of HEALTH_EDGES."""
    n_bins = len(HEALTH_EDGES) - 1
    if book is None:
        return {"count": [0] * n_bins, "debt": [0.0] * n_bins}
    h = health.health(mechanism, params, book, price)
    debt, _ = health.exposure(mechanism, book, price)
    keep = np.isfinite(h) & (debt > 0)
    idx = np.searchsorted(np.asarray(HEALTH_EDGES), h[keep], side="right") - 1
    return {
        "count": np.bincount(idx, minlength=n_bins).astype(int).tolist(),
        "debt": np.bincount(idx, weights=debt[keep], minlength=n_bins).tolist(),
    }


def worst_path(
    paired: dict[int, dict], per_path: dict[int, dict[str, np.ndarray]], fields: list[str]
) -> tuple[int, int]:
    """(scenario index, path) of the worst path of the worst scenario.

    The worst scenario has the largest CVaR99 of bad debt under either version (ties, e.g. none
    has bad debt: the largest liquidations at risk); its worst path has the most bad debt
    summed over both versions (ties: the most liquidated volume, then the lowest final price).
    """

    def scenario_key(s: int) -> tuple[float, float]:
        p = paired[s]
        cvar = p.get("bad_debt_cvar99") or {}
        lar = p.get("liquidations_at_risk") or {}
        return (
            max(cvar.get("a") or 0.0, cvar.get("b") or 0.0),
            max(lar.get("a") or 0.0, lar.get("b") or 0.0),
        )

    s = max(sorted(paired), key=scenario_key)
    arrays = per_path[s]
    col = {name: i for i, name in enumerate(fields)}
    total = sum(a[:, col["bad_debt"]] for a in arrays.values())
    volume = sum(a[:, col["liq_volume"]] for a in arrays.values())
    final = next(iter(arrays.values()))[:, col["final_price"]]
    return s, int(np.lexsort((final, -volume, -total))[0])


def store_book_risk(run: BacktestRun) -> dict[str, Any]:
    """Compute and store (``run.figures``) collateral at risk and the health distributions of a
    run whose scenarios are merged."""
    inputs = run_inputs.load_inputs(run)
    mechanism = run_mechanism(run.manifest)
    price0 = run_inputs.start_price(run)
    first = inputs.scenarios[0]
    versions = {"live": first.live, "proposed": first.proposed}
    out: dict[str, Any] = {
        "collateral_at_risk": collateral_at_risk(mechanism, versions, inputs.book, price0),
        "health": {"labels": bin_labels(), "start": {"price": price0}},
    }
    for version, params in versions.items():
        out["health"]["start"][version] = health_histogram(mechanism, params, inputs.book, price0)
    if mechanism in health.STEPPED:
        out["health"]["worst"] = worst_step_health(run, inputs, mechanism)
    # Merged into what is stored now (the sweeps' results), not into this instance's copy.
    stored = BacktestRun.objects.filter(pk=run.pk).values_list("figures", flat=True).first() or {}
    run.figures = {**stored, **compute.to_json(out)}
    BacktestRun.objects.filter(pk=run.pk).update(figures=run.figures)
    return run.figures


def worst_step_health(run: BacktestRun, inputs: compute.RunInputs, mechanism: str) -> dict[str, Any]:
    """The health distribution of each version's book at the lowest price of the worst path."""
    paired = dict(run.comparisons.values_list("scenario_index", "paired"))
    per_path: dict[int, dict[str, np.ndarray]] = {}
    for r in run.results.only("scenario_index", "role", "per_path"):
        per_path.setdefault(r.scenario_index, {})[r.role] = compute.unpack(r.per_path)["per_path"]
    s, path = worst_path(paired, per_path, run.manifest["fields"])
    scenario = inputs.scenarios[s]
    chunk = next(
        b
        for b in compute.plan_chunks(
            paths_per_scenario=[x.n_paths for x in inputs.scenarios], chunk_paths=run.chunk_paths
        )
        if b.scenario_index == s and b.start <= path < b.stop
    )
    prices, market, premium = compute.generate_chunk(inputs, run.seed, chunk)
    row = prices[..., path - chunk.start, :]
    # The path's premium series (a perp scenario's funding reads it), None when it has none.
    row_premium = None if premium is None else premium[path - chunk.start]
    if row.ndim == 1:
        step = int(np.argmin(row))
    else:
        # Several collateral assets: the step where the book's collateral is worth least.
        step = int(np.argmin(inputs.book.collateral.sum(axis=0) @ row))
    out: dict[str, Any] = {
        "scenario_index": s,
        "scenario": scenario.name,
        "path": path,
        "step": step,
        "hours": step * scenario.interval_seconds / 3600.0,
        "exogenous_price": row[..., step].tolist() if row.ndim > 1 else float(row[step]),
    }
    for version, role in (("live", Role.LIVE), ("proposed", Role.PROPOSED)):
        params = scenario.live if version == "live" else scenario.proposed
        book, price = health.book_at_step(mechanism, params, inputs.book, row, market, step, row_premium)
        out[version] = {"price": price, **health_histogram(mechanism, params, book, price)}
        out[version]["bad_debt"] = float(per_path[s][role][path, run.manifest["fields"].index("bad_debt")])
    return out
