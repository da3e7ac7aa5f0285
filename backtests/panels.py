"""The backtest panel of the proposal page (review.views.proposal_detail includes it; the panel
view below renders it alone for the page's polling): templates/backtests/_panel.html."""

from __future__ import annotations

from typing import Any

from backtests import charts, services
from backtests.models import BacktestRun
from governance.services import is_administrator


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
    context["progress"] = services.progress(run)
    if run.is_complete:
        # Results are read from what the merge stored; the page never runs the engine.
        context["scenarios"] = charts.scenario_tables(run)
        context["charts"] = charts.price_band_charts(run)
    return context
