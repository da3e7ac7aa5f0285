"""Backtest pages: the progress JSON the panel polls, the panel itself, cancel, restart, manifest."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from backtests import progress, risk_charts, services
from backtests.models import BacktestRun, RunStatus
from backtests.panels import may_control, proposal_panel, review_charts_of
from governance import numbers
from proposals.models import Proposal


def _visible_runs(request: HttpRequest) -> QuerySet[BacktestRun]:
    """A run is visible to whoever may see its proposal: drafts only to their author and admins."""
    visible = Proposal.objects.visible_to(request.user)
    return BacktestRun.objects.select_related("proposal").filter(proposal__in=visible)


def _visible_proposal(request: HttpRequest, pk: int) -> Proposal:
    return get_object_or_404(Proposal.objects.visible_to(request.user), pk=pk)


@login_required
@require_GET
def run_progress(request: HttpRequest, pk: int) -> JsonResponse:
    run = get_object_or_404(_visible_runs(request), pk=pk)
    return JsonResponse(progress.progress(run))


@login_required
@require_GET
def run_manifest(request: HttpRequest, pk: int) -> JsonResponse:
    run = get_object_or_404(_visible_runs(request), pk=pk)
    return JsonResponse({"run": run.pk, "status": run.status, "manifest": run.manifest})


@login_required
@require_GET
def run_results_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """Every stored figure of a complete run, exact: one row per scenario and figure."""
    run = get_object_or_404(_visible_runs(request), pk=pk, status=RunStatus.COMPLETE)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-results.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["scenario_index", "scenario", "figure", "live", "proposed", "difference", "ci_low", "ci_high"]
    )
    for comp in run.comparisons.only("scenario_index", "scenario_name", "paired"):
        for key, p in sorted(comp.paired.items()):
            values = [p.get(k) for k in ("a", "b", "diff", "ci_low", "ci_high")]
            writer.writerow(
                [comp.scenario_index, comp.scenario_name, key, *(numbers.exact(v) for v in values)]
            )
    return response


@login_required
@require_GET
def run_delay_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The cost of governance delay of a complete run, exact: one row per scenario and figure
    (from the start, after the delay, the difference after minus from the start, its interval)."""
    run = get_object_or_404(_visible_runs(request), pk=pk, status=RunStatus.COMPLETE)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-cost-of-delay.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["scenario_index", "scenario", "delay_steps", "delay_hours", "beyond_horizon", "figure"]
        + ["from_start", "after_delay", "difference", "ci_low", "ci_high"]
    )
    for comp in run.comparisons.only("scenario_index", "scenario_name", "delay"):
        d = comp.delay
        for key, p in sorted(d.get("paired", {}).items()):
            values = [p.get(k) for k in ("a", "b", "diff", "ci_low", "ci_high")]
            head = [comp.scenario_index, comp.scenario_name, d["steps"], numbers.exact(d["hours"])]
            writer.writerow([*head, d["beyond_horizon"], key, *(numbers.exact(v) for v in values)])
    return response


@login_required
@require_GET
def run_charts(request: HttpRequest, pk: int) -> HttpResponse:
    """The review's charts of a complete run with their tables: a page of its own, or with
    ``?fragment=1`` the part the proposal page loads into its charts box when it is opened."""
    run = get_object_or_404(
        _visible_runs(request).select_related("proposal__market", "live_version", "proposed_version"),
        pk=pk,
        status=RunStatus.COMPLETE,
    )
    context = {"run": run, "rc": review_charts_of(run)}
    if request.GET.get("fragment"):
        return render(request, "backtests/_charts.html", context)
    return render(request, "backtests/charts_page.html", context)


@login_required
@require_GET
def chart_csv(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    """One chart's numbers, exact: the table the page shows under the chart."""
    run = get_object_or_404(_visible_runs(request), pk=pk, status=RunStatus.COMPLETE)
    chart = risk_charts.chart_of(run, key)
    if chart is None:
        raise Http404(f"run {run.pk} has no chart {key!r}")
    return chart_csv_response(chart)


def chart_csv_response(chart: dict) -> HttpResponse:
    """A chart's table (backtests.risk_charts.make_chart) as a CSV download, exact values."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{chart["filename"]}.csv"'
    writer = csv.writer(response)
    writer.writerow([c["label"] for c in chart["columns"]])
    for row in chart["rows"]:
        writer.writerow([v if isinstance(v, str) else numbers.exact(v) for v in row])
    return response


@login_required
@require_GET
def proposal_panel_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _visible_proposal(request, pk)
    panel = proposal_panel(proposal=proposal, user=request.user)
    return render(request, "backtests/_panel.html", {"panel": panel, "proposal": proposal})


@login_required
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(_visible_runs(request), pk=pk)
    if not may_control(run, request.user):
        raise PermissionDenied("only the proposal's author or an administrator may cancel its backtest")
    try:
        services.cancel_backtest(run=run, user=request.user)
        messages.success(request, f"Backtest run {run.pk} cancelled.")
    except services.BacktestError as exc:
        messages.error(request, str(exc))
    return redirect("review:detail", pk=run.proposal_id)


@login_required
@require_POST
def proposal_start(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _visible_proposal(request, pk)
    if not may_control(proposal, request.user):
        raise PermissionDenied("only the proposal's author or an administrator may start its backtest")
    if proposal.status != Proposal.Status.BACKTESTING:
        messages.error(
            request,
            f"proposal #{proposal.pk} is {proposal.status}: only a proposal in backtesting is backtested",
        )
    else:
        run = services.start_backtest(proposal=proposal, user=request.user)
        messages.success(request, f"Backtest run {run.pk} started.")
    return redirect("review:detail", pk=proposal.pk)
