"""The run's sweeps, planned at dispatch into its manifest: which parameter sets, on which
scenarios, at which volatility, in which jobs (computed and merged by backtests.compute as more
chunks of the same run, backtests.services).

- **Sensitivity** (tornado): each changed parameter moved one guardrail step down and up from
  its proposed value, the others at their proposed values.
- **Volatility** (vega): live and proposed at the volatility multipliers MULTIPLIERS.
- **Frontier**: the main changed parameter (the one using the largest share of its guardrail) at
  FRONTIER_POINTS values across the guardrail's range around its live value, the others at their
  proposed values.

Sweeps run on the pack's simulated scenarios only (a replay of history is one path: no tail to
measure) and on their first ``BACKTEST_SWEEP_PATHS`` paths, rounded up to whole chunks: the
main run's own first chunks, so that at the multiplier 1 every set sees exactly paths the main
run saw, and the whole run, sweeps included, stays within a minute on two workers. A set the
protocol's invariants refuse (e.g. an LTV above the threshold) is not run; the manifest says why.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings

from governance.models import Guardrail
from proposals import schema
from proposals.schema import GuardrailKind

MULTIPLIERS = (0.5, 1.0, 1.5, 2.0, 3.0)
FRONTIER_POINTS = 7
# Sets per job: a job is one chunk task per chunk of paths; a few sets each keeps the tasks of
# similar size, so two workers finish together.
SETS_PER_JOB = 4


def _step(guardrail: Guardrail | None, spec: schema.ParameterSpec, around: Decimal) -> Decimal | None:
    """One guardrail step at ``around``: the absolute limit, or the relative one times the value."""
    if guardrail is None or guardrail.max_change is None or guardrail.max_change == 0:
        return None
    if spec.guardrail == GuardrailKind.RELATIVE:
        return abs(around) * guardrail.max_change
    return guardrail.max_change


def _on_grid(value: Decimal, spec: schema.ParameterSpec) -> Decimal:
    """Clipped to the parameter's bounds and rounded to the contract's increment."""
    if spec.step:
        value = (value / spec.step).quantize(Decimal(1)) * spec.step
    if spec.min is not None:
        value = max(value, spec.min)
    if spec.max is not None:
        value = min(value, spec.max)
    return value.normalize() if value != 0 else Decimal(0)


def _set(mechanism: str, base: dict[str, Decimal], key: str, value: Decimal) -> tuple[dict | None, str]:
    """The values with ``key`` set to ``value`` (JSON form), or None and why they are refused."""
    flat = {**base, key: value}
    values = schema.unflatten(mechanism, flat)
    problems = schema.validate(mechanism, values)
    if problems:
        return None, "; ".join(str(p) for p in problems)
    return schema.to_jsonable(values), ""


# Parameters the margin engine's model does not read, so that moving them changes neither CVaR99
# nor borrowing power: Aave's LTV caps new borrowing, while the model liquidates at the
# liquidation threshold and measures borrowing power there (engine/aave.py borrowing_power). A
# frontier over one of them would be a single point; it is not chosen as the frontier's
# parameter (its tornado bars, zero, say the same thing). A Morpho vault's cap only bounds its
# supply (engine/morpho.py reads vault_supply).
NOT_IN_THE_MODEL = {"aave-v3": frozenset({"ltv"}), "morpho-blue": frozenset({"supply_cap"})}


def plan_sweeps(run: Any, scenarios: list[dict], *, chunk_paths: int, n_paths: int) -> dict[str, Any] | None:
    """The manifest's ``sweeps``: None when the pack has no simulated scenario, or sweeps are off
    (``BACKTEST_SWEEP_PATHS = 0``)."""
    simulated = [s["index"] for s in scenarios if s["kind"] != "replay"]
    if not simulated or n_paths < 1 or settings.BACKTEST_SWEEP_PATHS <= 0:
        return None
    mechanism = run.proposal.market.mechanism
    live = schema.flatten(mechanism, run.live_version.decimal_values())
    proposed = schema.flatten(mechanism, run.proposed_version.decimal_values())
    guardrails = {g.parameter: g for g in Guardrail.objects.filter(market_id=run.proposal.market_id)}
    sets: dict[str, dict] = {
        "live": {
            "kind": "live",
            "label": f"live v{run.live_version.number}",
            "values": run.live_version.values,
        },
        "proposed": {
            "kind": "proposed",
            "label": f"proposed v{run.proposed_version.number}",
            "values": run.proposed_version.values,
        },
    }
    notes: list[str] = []
    tornado, main, main_used = [], None, Decimal(-1)
    for i, key in enumerate(k for k in proposed if proposed[k] != live[k]):
        spec = schema.spec_for_key(mechanism, key)
        label = schema.label_for_key(mechanism, key)
        guardrail = guardrails.get(spec.name)
        step = _step(guardrail, spec, proposed[key])
        row: dict[str, Any] = {
            "key": key,
            "label": label,
            "proposed": str(proposed[key]),
            "step": str(step or ""),
        }
        if step is None:
            notes.append(f"{label}: no guardrail step, left out of the sensitivity")
            continue
        for side, sign in (("down", -1), ("up", 1)):
            value = _on_grid(proposed[key] + sign * step, spec)
            name = f"t{i}{side[0]}"
            values, why = (
                _set(mechanism, proposed, key, value) if value != proposed[key] else (None, "at its bound")
            )
            row[side] = {"value": str(value), "set": name if values else None, "why": why}
            if values:
                sets[name] = {"kind": "tornado", "label": f"{label} {value}", "values": values}
            else:
                notes.append(f"{label} {value}: not run ({why})")
        tornado.append(row)
        live_step = _step(guardrail, spec, live[key])
        used = abs(proposed[key] - live[key]) / live_step if live_step else Decimal(0)
        if spec.name in NOT_IN_THE_MODEL.get(mechanism, ()):
            notes.append(f"{label}: not read by the liquidation model, so not the frontier's parameter")
        elif used > main_used:
            main, main_used = (key, spec, label, live_step), used
    frontier = None
    if main is not None:
        key, spec, label, live_step = main
        points = []
        for j in range(FRONTIER_POINTS):
            offset = Decimal(2 * j - (FRONTIER_POINTS - 1)) / Decimal(FRONTIER_POINTS - 1)
            value = _on_grid(live[key] + offset * live_step, spec)
            name = f"f{j}"
            values, why = _set(mechanism, proposed, key, value)
            points.append({"value": str(value), "set": name if values else None, "why": why})
            if values:
                sets[name] = {"kind": "frontier", "label": f"{label} {value}", "values": values}
            else:
                notes.append(f"frontier {label} {value}: not run ({why})")
        frontier = {
            "key": key,
            "label": label,
            "live": str(live[key]),
            "proposed": str(proposed[key]),
            "points": points,
        }
    paths = min(n_paths, -(-settings.BACKTEST_SWEEP_PATHS // chunk_paths) * chunk_paths)
    jobs = []
    extra = [n for n, s in sets.items() if s["kind"] in ("tornado", "frontier")]
    for s in simulated:
        for m in MULTIPLIERS:
            jobs.append({"scenario_index": s, "multiplier": m, "sets": ["live", "proposed"]})
        for k in range(0, len(extra), SETS_PER_JOB):
            jobs.append({"scenario_index": s, "multiplier": 1.0, "sets": extra[k : k + SETS_PER_JOB]})
    for j, job in enumerate(jobs):
        job.update(index=len(scenarios) + j, n_paths=paths)
    return {
        "paths": paths,
        "multipliers": list(MULTIPLIERS),
        "scenarios": simulated,
        "sets": sets,
        "tornado": tornado,
        "frontier": frontier,
        "jobs": jobs,
        "notes": notes,
    }


def jobs_of(manifest: dict) -> list[dict]:
    return list((manifest.get("sweeps") or {}).get("jobs", []))


def job_weights(manifest: dict) -> dict[int, float]:
    """Each sweep job's estimated cost, by index: sets x paths x steps, times the multiplier
    above 1 (more volatility, more liquidations to compute)."""
    steps = {s["index"]: s["steps"] for s in manifest["scenarios"]}
    return {
        j["index"]: len(j["sets"]) * j["n_paths"] * steps[j["scenario_index"]] * max(j["multiplier"], 1.0)
        for j in jobs_of(manifest)
    }
