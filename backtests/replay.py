"""Replay: a complete run recomputed in one process and compared with what it stored, bit for
bit (``manage.py replay_run``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backtests import compute
from backtests import inputs as run_inputs
from backtests.models import (
    BacktestRun,
    Role,
)
from backtests.services import BacktestError


@dataclass(frozen=True)
class Difference:
    scenario: str
    figure: str
    detail: str


def replay_backtest(*, run: BacktestRun) -> list[Difference]:
    """Recompute a COMPLETE run in this process (no chunking, compute.run_in_process) and
    compare every stored figure bit for bit. Returns the differences (empty: identical)."""
    if not run.is_complete:
        raise BacktestError(f"run {run.pk} is {run.status}; only a complete run can be replayed")
    run_inputs.check_manifest(run)
    results = compute.run_in_process(run_inputs.load_inputs(run, cached=False), run.seed, run.chunk_paths)
    return compare_results(run, results)


def compare_results(run: BacktestRun, results: list[compute.ScenarioResults]) -> list[Difference]:
    out: list[Difference] = []
    stored = {(r.scenario_index, r.role): r for r in run.results.all()}
    comparisons = {c.scenario_index: c for c in run.comparisons.all()}
    fields = list(run.manifest.get("fields", []))
    for f in results:
        versions = [(Role.LIVE, f.live, f.live_summary), (Role.PROPOSED, f.proposed, f.proposed_summary)]
        if f.delayed is not None:
            versions.append((Role.DELAYED, f.delayed, f.delayed_summary))
        for role, per_path, summary in versions:
            row = stored.get((f.index, role))
            if row is None:
                out.append(Difference(f.name, f"{role} results", "missing from the stored run"))
                continue
            old = compute.unpack(row.per_path)["per_path"]
            if old.shape != per_path.shape or old.tobytes() != per_path.tobytes():
                out.extend(_array_differences(f.name, role, fields, old, per_path))
            out.extend(_dict_differences(f.name, f"{role} summary", row.summary, summary))
        comp = comparisons.get(f.index)
        if comp is None:
            out.append(Difference(f.name, "paired differences", "missing from the stored run"))
            continue
        out.extend(_dict_differences(f.name, "paired differences", comp.paired, f.paired))
        out.extend(_dict_differences(f.name, "cost of delay", comp.delay, f.delay or {}))
        new_series = f.series
        if not any(k in comp.series for k in compute.VERSION_SERIES):
            # Stored before the engine recorded per-step series: compare what it has.
            new_series = {k: v for k, v in f.series.items() if k not in compute.VERSION_SERIES}
        out.extend(_dict_differences(f.name, "chart series", comp.series, new_series))
    return out


def _array_differences(
    scenario: str, role: str, fields: list[str], old: np.ndarray, new: np.ndarray
) -> list[Difference]:
    if old.shape != new.shape:
        return [Difference(scenario, f"{role} per-path", f"shape {old.shape} stored, {new.shape} recomputed")]
    out = []
    for j in range(old.shape[1]):
        a, b = old[:, j], new[:, j]
        if a.tobytes() != b.tobytes():
            rows = np.flatnonzero(~((a == b) | (np.isnan(a) & np.isnan(b))))
            name = fields[j] if j < len(fields) else f"column {j}"
            first = int(rows[0]) if rows.size else 0
            out.append(
                Difference(
                    scenario,
                    f"{role} per-path {name}",
                    f"{rows.size} paths differ; first path {first}: stored {a[first]!r}, "
                    f"recomputed {b[first]!r}",
                )
            )
    return out


def _dict_differences(scenario: str, what: str, old: dict, new: dict, prefix: str = "") -> list[Difference]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(_dict_differences(scenario, what, a, b, f"{prefix}{key}."))
        elif a != b:
            out.append(Difference(scenario, f"{what} {prefix}{key}", f"stored {a!r}, recomputed {b!r}"))
    return out
