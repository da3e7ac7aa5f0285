"""Pages: proposals (list, detail, create, edit, lifecycle buttons) and markets (live, history, diff).

The proposal page (templates/review/proposal_detail.html, a skeleton of includes) shows the
header, the parameter diff with guardrail headroom, the verdict and who gets hurt, the
rationale and the backtest panel (backtests.panels), all from stored results."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from backtests import compare
from backtests import services as backtest_services
from backtests.panels import headlines, proposal_panel
from backtests.views import chart_csv_response
from governance.services import can_propose, history_of, is_administrator
from proposals import schema
from proposals import services as proposal_services
from proposals.models import Market, ParameterSetVersion, Proposal
from review import pages, services
from review.forms import ExecuteForm, ProposalFilterForm, ProposalForm
from review.panels import export_panel
from voting.panels import voting_panel


def _visible_proposals(request: HttpRequest) -> QuerySet[Proposal]:
    return Proposal.objects.visible_to(request.user).select_related(
        "market", "author", "live_version", "proposed_version"
    )


def _get_proposal(request: HttpRequest, pk: int) -> Proposal:
    return get_object_or_404(_visible_proposals(request), pk=pk)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("review:list")


@login_required
def proposal_list(request: HttpRequest) -> HttpResponse:
    form = ProposalFilterForm(request.GET or None)
    proposals = _visible_proposals(request)
    if form.is_valid():
        if form.cleaned_data["market"]:
            proposals = proposals.filter(market=form.cleaned_data["market"])
        if form.cleaned_data["status"]:
            proposals = proposals.filter(status=form.cleaned_data["status"])
    page = Paginator(proposals, 50).get_page(request.GET.get("page"))
    heads = headlines(p.pk for p in page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "review/proposal_list.html",
        {
            "form": form,
            "proposals": page.object_list,
            "rows": [{"proposal": p, "headline": heads.get(p.pk)} for p in page.object_list],
            "page": page,
            "query": query.urlencode(),
        },
    )


@login_required
def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _get_proposal(request, pk)
    is_draft = proposal.status == Proposal.Status.DRAFT
    return render(
        request,
        "review/proposal_detail.html",
        {
            "proposal": proposal,
            "diff": pages.parameter_diff(proposal),
            "blockers": proposal_services.submission_blockers(proposal=proposal) if is_draft else [],
            "may_edit": proposal.author_id == request.user.pk or is_administrator(request.user),
            "is_admin": is_administrator(request.user),
            "execute_form": ExecuteForm(),
            "backtest_panel": proposal_panel(proposal=proposal, user=request.user),
            "voting": voting_panel(proposal=proposal, user=request.user),
            "export": export_panel(proposal=proposal, user=request.user),
            "history": history_of(proposal),
            "compare_url": pages.compare_url(proposal, request.user),
        },
    )


@login_required
def proposal_compare(request: HttpRequest) -> HttpResponse:
    """2-4 proposals of one market side by side (``?ids=3&ids=4``), from their stored results."""
    try:
        proposals = pages.compare_selection(request.user, request.GET.getlist("ids"))
    except pages.CompareError as exc:
        return render(request, "review/compare.html", {"error": str(exc)}, status=400)
    entries = compare.entries_of(proposals)
    return render(
        request,
        "review/compare.html",
        {
            "market": proposals[0].market,
            "entries": entries,
            "rows": compare.verdict_rows(entries),
            "baseline_note": compare.baseline_note(entries),
            "charts": compare.compare_charts(entries, _compare_csv_url(request)),
            "entry_rows": [(e, pages.parameter_diff(e.proposal)) for e in entries],
        },
    )


def _compare_csv_url(request: HttpRequest) -> str:
    return f"{reverse('review:compare_csv', args=['KEY'])}?{request.GET.urlencode()}"


@login_required
def compare_csv(request: HttpRequest, key: str) -> HttpResponse:
    """One chart's numbers of the compare page, exact (the table under it)."""
    try:
        proposals = pages.compare_selection(request.user, request.GET.getlist("ids"))
    except pages.CompareError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    charts = compare.compare_charts(compare.entries_of(proposals), _compare_csv_url(request))
    chart = next((c for c in charts if c["key"] == key), None)
    if chart is None:
        raise Http404(f"the comparison has no chart {key!r}")
    return chart_csv_response(chart)


@login_required
def proposal_new(request: HttpRequest) -> HttpResponse:
    if not can_propose(request.user):
        raise PermissionDenied("only risk contributors and administrators write proposals")
    return render(request, "review/proposal_new.html", {"markets": Market.objects.all()})


@login_required
def proposal_create(request: HttpRequest, slug: str) -> HttpResponse:
    if not can_propose(request.user):
        raise PermissionDenied("only risk contributors and administrators write proposals")
    market = get_object_or_404(Market, slug=slug)
    live = market.live_version
    if live is None:
        raise Http404(f"{market} has no live version yet")
    return _proposal_form(request, market=market, live=live, values=live.values, proposal=None)


@login_required
def proposal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _get_proposal(request, pk)
    if not (proposal.author_id == request.user.pk or is_administrator(request.user)):
        raise PermissionDenied("only the author or an administrator edits a draft")
    if proposal.status != Proposal.Status.DRAFT:
        messages.error(
            request, f"This proposal is {proposal.get_status_display().lower()}: only drafts can be edited."
        )
        return redirect(proposal_url(proposal))
    live = proposal.market.live_version
    assert live is not None
    return _proposal_form(
        request, market=proposal.market, live=live, values=proposal.proposed_version.values, proposal=proposal
    )


def _proposal_form(
    request: HttpRequest,
    *,
    market: Market,
    live: ParameterSetVersion,
    values: dict,
    proposal: Proposal | None,
) -> HttpResponse:
    submit = request.POST.get("action") == "submit"
    initial = {"title": proposal.title, "rationale": proposal.rationale} if proposal else {}
    form = ProposalForm(
        request.POST or None,
        initial=initial,
        market=market,
        live=live,
        values=values,
        check_guardrails=submit,
    )
    if request.method == "POST" and form.is_valid():
        try:
            proposal = services.save_proposal(
                actor=request.user,
                market=market,
                proposal=proposal,
                title=form.cleaned_data["title"],
                rationale=form.cleaned_data["rationale"],
                values=form.cleaned_data["values"],
                submit=submit,
            )
        except proposal_services.ProposalRefused as exc:
            for problem in exc.violations:
                form.add_error(None, problem.message)
        else:
            blockers = [] if submit else proposal_services.submission_blockers(proposal=proposal)
            if submit:
                messages.success(request, "Submitted: the backtests run next.")
            elif blockers:
                messages.warning(
                    request, "Draft saved, but it cannot be submitted yet: see the submission check."
                )
            else:
                messages.success(request, "Draft saved.")
            return redirect(proposal_url(proposal))
    return render(
        request,
        "review/proposal_form.html",
        {"form": form, "market": market, "live": live, "proposal": proposal},
    )


def proposal_url(proposal: Proposal) -> str:
    return reverse("review:detail", args=[proposal.pk])


@login_required
@require_POST
def proposal_submit(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _get_proposal(request, pk)
    try:
        services.submit_proposal(proposal=proposal, actor=request.user)
    except proposal_services.ProposalRefused as exc:
        for problem in exc.violations:
            messages.error(request, problem.message)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Submitted: the backtests run next.")
    return redirect(proposal_url(proposal))


@login_required
@require_POST
def proposal_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _get_proposal(request, pk)
    try:
        proposal_services.withdraw_proposal(proposal=proposal, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Withdrawn.")
    return redirect(proposal_url(proposal))


@login_required
@require_POST
def proposal_open_voting(request: HttpRequest, pk: int) -> HttpResponse:
    if not is_administrator(request.user):
        raise PermissionDenied("only administrators open voting by hand")
    proposal = _get_proposal(request, pk)
    try:
        backtest_services.open_voting(proposal=proposal, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(proposal_url(proposal))


@login_required
@require_POST
def proposal_execute(request: HttpRequest, pk: int) -> HttpResponse:
    if not is_administrator(request.user):
        raise PermissionDenied("only administrators record an execution")
    proposal = _get_proposal(request, pk)
    form = ExecuteForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["tx_hash"]))
        return redirect(proposal_url(proposal))
    try:
        proposal_services.execute_proposal(
            proposal=proposal, actor=request.user, tx_hash=form.cleaned_data["tx_hash"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Executed: the proposed version is now live.")
    return redirect(proposal_url(proposal))


@login_required
def market_list(request: HttpRequest) -> HttpResponse:
    markets = Market.objects.prefetch_related("versions")
    return render(request, "review/market_list.html", {"markets": markets})


@login_required
def market_detail(request: HttpRequest, slug: str) -> HttpResponse:
    market = get_object_or_404(Market, slug=slug)
    live = market.live_version
    rows = (
        schema.diff(market.mechanism, live.decimal_values(), live.decimal_values(), only_changed=False)
        if live
        else []
    )
    # Other authors' drafts and their versions are private: neither listed nor linked.
    versions = (
        pages.visible_versions(market, request.user)
        .select_related("author", "parent")
        .prefetch_related(Prefetch("proposing_proposals", queryset=Proposal.objects.visible_to(request.user)))
    )
    return render(
        request,
        "review/market_detail.html",
        {
            "market": market,
            "live": live,
            "rows": rows,
            "versions": versions,
            "approved": pages.approved_history(market, request.user),
            "guardrails": market.guardrails.all(),
            "policy": getattr(market, "policy", None),
            "can_propose": can_propose(request.user),
        },
    )


@login_required
def market_diff(request: HttpRequest, slug: str) -> HttpResponse:
    market = get_object_or_404(Market, slug=slug)
    versions = pages.visible_versions(market, request.user)
    try:
        a = versions.get(number=int(request.GET.get("a", "")))
        b = versions.get(number=int(request.GET.get("b", "")))
    except (ValueError, ParameterSetVersion.DoesNotExist):
        raise Http404("choose two versions of this market") from None
    show_all = request.GET.get("all") == "1"
    rows = schema.diff(market.mechanism, a.decimal_values(), b.decimal_values(), only_changed=not show_all)
    return render(
        request,
        "review/market_diff.html",
        {"market": market, "a": a, "b": b, "rows": rows, "versions": versions, "show_all": show_all},
    )
