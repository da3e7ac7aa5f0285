"""What the pages show of a proposal's backtest, from stored results only (the pages never run
the engine): the backtest panel (templates/backtests/_panel.html; the panel view renders it
alone), the verdict and who gets hurt (backtests.verdict, backtests.hurt), whether the run is on
the market's current baseline, and the lists' headlines."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import F

import engine
from backtests import bookrisk, charts, delay, progress, risk_charts, services, verdict
from backtests.models import BacktestRun, RunStatus, ScenarioComparison
from governance.services import is_administrator
from scenarios import services as scenario_services


def may_control(run_or_proposal: Any, user: Any) -> bool:
    """The proposal's author and administrators may cancel or restart its runs."""
    proposal = getattr(run_or_proposal, "proposal", run_or_proposal)
    return bool(user.is_authenticated and (proposal.author_id == user.pk or is_administrator(user)))


def proposal_panel(*, proposal: Any, user: Any) -> dict[str, Any]:
    run = (
        BacktestRun.objects.filter(proposal=proposal)
        .select_related("proposed_version", "live_version")
        .first()
    )
    context: dict[str, Any] = {
        "run": run,
        "proposal": proposal,
        "may_control": may_control(proposal, user),
        "may_start": may_control(proposal, user)
        and proposal.status == "backtesting"
        and (run is None or run.is_finished and not run.is_complete),
    }
    if run is None:
        return context
    context["progress"] = progress.progress(run)
    if run.is_complete:
        # Results are read from what the merge stored; the page never runs the engine.
        context["verdict"] = verdict_of(run)
        context["delay"] = cost_of_delay(run)
        context["hurt"] = who_gets_hurt(run)
        context["hurt_sentence"] = verdict.hurt_sentence(context["hurt"])
        context["baseline"] = baseline_status(run)
        context["scenarios"] = charts.scenario_tables(run)
    return context


def review_charts_of(run: BacktestRun) -> dict[str, list]:
    """The review's charts of a complete run (backtests.risk_charts); the book's figures are
    computed and stored now for a run that finished without them (one made before they existed)."""
    if "health" not in (run.figures or {}) and run.manifest.get("book"):
        try:
            bookrisk.store_book_risk(run)
        except ValueError:  # EngineError too: the book or a version changed since; charts left out
            pass
    return risk_charts.review_charts(run)


def stored_scenarios(run: BacktestRun) -> list[verdict.StoredScenario]:
    """The verdict's input: each scenario's paired differences (the chart series left out)."""
    described = {s["index"]: s for s in run.manifest.get("scenarios", [])}
    rows = run.comparisons.only("scenario_index", "scenario_name", "paired")
    return [
        verdict.StoredScenario(
            index=c.scenario_index,
            name=c.scenario_name,
            n_paths=described.get(c.scenario_index, {}).get("n_paths", 0),
            paired=c.paired,
            scenario_id=described.get(c.scenario_index, {}).get("scenario_id"),
        )
        for c in rows
    ]


def engine_params_of(run: BacktestRun) -> dict[str, dict]:
    """Each version's engine parameters (for the reserves P(insolvency) is measured against)."""
    out = {}
    for role, v in run.manifest.get("versions", {}).items():
        per_interval = v.get("engine_params") or {}
        out[role] = next(iter(per_interval.values()), {})
    return out


def verdict_of(run: BacktestRun) -> verdict.Verdict | None:
    """The verdict of a complete run, None when it stored no results."""
    scenarios = stored_scenarios(run)
    if not run.is_complete or not scenarios:
        return None
    mechanism = run.manifest.get("mechanism") or run.proposal.market.mechanism
    return verdict.build_verdict(scenarios, mechanism=mechanism, engine_params=engine_params_of(run))


def cost_of_delay(run: BacktestRun) -> delay.CostOfDelay | None:
    """The cost of governance delay of a complete run (backtests.delay), from what it stored."""
    if not run.is_complete:
        return None
    described = {s["index"]: s for s in run.manifest.get("scenarios", [])}
    rows = run.comparisons.only("scenario_index", "scenario_name", "delay")
    scenarios = [
        delay.DelayScenario(
            index=c.scenario_index,
            name=c.scenario_name,
            n_paths=described.get(c.scenario_index, {}).get("n_paths", 0),
            delay=c.delay,
            interval_seconds=described.get(c.scenario_index, {}).get("interval_seconds", 3600),
            scenario_id=described.get(c.scenario_index, {}).get("scenario_id"),
        )
        for c in rows
    ]
    return delay.build_cost_of_delay(scenarios, run.manifest.get("governance_delay"))


def verdict_text(run: BacktestRun) -> str:
    """The verdict as plain text, for the export's change report: its label and sentence, and
    which run it comes from."""
    found = verdict_of(run)
    if found is None:
        return f"Backtest run #{run.pk} stored no scenario results."
    return (
        f"{found.label_text}. {found.sentence} (Backtest run #{run.pk}, seed {run.seed}: the proposed "
        "and the live version on the same paths and book; paired differences with 95 % bootstrap "
        "intervals.)"
    )


def who_gets_hurt(run: BacktestRun) -> dict[str, Any] | None:
    """The stored who-gets-hurt of a complete run; computed and stored now for a run that
    finished without it (one made before it existed): the book's health at the starting price
    for both versions, no paths."""
    if run.who_gets_hurt or not run.is_complete or not run.manifest.get("book"):
        return run.who_gets_hurt or None
    try:
        return services.store_who_gets_hurt(run)
    except ValueError:  # EngineError too: the book or a version changed since; say it is missing
        return None


def baseline_status(run: BacktestRun) -> dict[str, Any]:
    """Whether the run's live figures are comparable with the other proposals' of its market:
    it was made on the market's current baseline (stress pack, book, seed, paths, chunks) by
    this engine. ``current`` False comes with the reason."""
    recorded = run.manifest.get("pack") or {}
    pack = scenario_services.default_pack(run.proposal.market)
    now = scenario_services.baseline(pack) if pack is not None else None
    out: dict[str, Any] = {"current": True, "recorded": recorded, "now": now, "reason": ""}
    if not recorded.get("sha256"):
        out.update(
            current=False,
            reason="it was made before runs shared one baseline per market (it drew its own paths)",
        )
    elif now is None or recorded["sha256"] != now["sha256"]:
        out.update(current=False, reason=_what_changed(recorded, now))
    elif run.manifest.get("engine_version") != engine.__version__:
        out.update(
            current=False,
            reason=f"it was computed by engine {run.manifest.get('engine_version')}; this is engine {engine.__version__}",
        )
    return out


def _what_changed(recorded: dict, now: dict | None) -> str:
    if now is None:
        return "the market has no stress pack any more"
    if recorded.get("id") != now["id"]:
        return f"it was made on the stress pack {recorded.get('name')!r}; the market now uses {now['name']!r}"
    old_book, new_book = recorded.get("book") or {}, now.get("book") or {}
    if old_book.get("sha256") != new_book.get("sha256"):
        return f"it was made on the book {old_book.get('name')!r}; the market's pack now uses {new_book.get('name')!r}"
    changed = [k for k in ("seed", "n_paths", "chunk_paths") if recorded.get(k) != now.get(k)]
    what = ", ".join(changed) if changed else "scenarios"
    return f"the stress pack {now['name']!r} changed since ({what})"


def headlines(proposal_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Per proposal, the headline of its latest complete run (backtests.verdict.headline):
    read with two queries whatever the number of proposals, only the two figures it needs."""
    latest: dict[int, int] = {}
    runs = (
        BacktestRun.objects.filter(proposal_id__in=list(proposal_ids), status=RunStatus.COMPLETE)
        .order_by("proposal_id", "-finished_at", "-pk")
        .values_list("proposal_id", "pk")
    )
    for proposal_id, run_id in runs:
        latest.setdefault(proposal_id, run_id)
    per_run: dict[int, list[verdict.StoredScenario]] = {}
    rows = ScenarioComparison.objects.filter(run_id__in=latest.values()).values(
        "run_id",
        "scenario_index",
        "scenario_name",
        cvar=F("paired__bad_debt_cvar99"),
        mean=F("paired__mean_bad_debt"),
    )
    for r in rows:
        paired = {"bad_debt_cvar99": r["cvar"], "mean_bad_debt": r["mean"]}
        per_run.setdefault(r["run_id"], []).append(
            verdict.StoredScenario(
                index=r["scenario_index"], name=r["scenario_name"], n_paths=0, paired=paired
            )
        )
    out = {}
    for proposal_id, run_id in latest.items():
        h = verdict.headline(per_run.get(run_id, []))
        if h is not None:
            out[proposal_id] = {**h, "run_id": run_id}
    return out
