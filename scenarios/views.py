"""Pages of the scenario library: thin views over scenarios.services and charts.

Every signed-in member reads them (a voter must be able to see what each stress scenario is:
its definition, window, conditions and fan chart); building a pack is for staff, and editing
is in the admin."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from scenarios import charts, services
from scenarios.forms import StressPackForm
from scenarios.models import Book, PriceSeries, Scenario, StressPack

PREVIEW_PATHS = 200


def staff_required(view: Callable) -> Callable:
    """Anonymous visitors go to the login page; signed-in non-staff get 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied("The scenario library is for staff.")
        return view(request, *args, **kwargs)

    return wrapped


def _n_paths(request: HttpRequest) -> int:
    try:
        return min(1000, max(10, int(request.GET.get("paths", PREVIEW_PATHS))))
    except ValueError:
        return PREVIEW_PATHS


@login_required
def library(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "scenarios/library.html",
        {
            "series_list": PriceSeries.objects.all(),
            "packs": StressPack.objects.select_related("market", "book").prefetch_related("entries"),
            "scenarios": Scenario.objects.all(),
            "books": Book.objects.select_related("market"),
        },
    )


@staff_required
@require_http_methods(["GET", "POST"])
def pack_new(request: HttpRequest) -> HttpResponse:
    form = StressPackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            pack = services.create_stress_pack(
                market=d["market"],
                series=d["series"],
                depth_usd=d["depth_usd"],
                start_price=d["start_price"],
                n_steps=d["n_steps"],
                seed=d["seed"],
                name=d["name"],
                replace=d["replace"],
            )
        except ValueError as exc:  # EngineError too: a window the series does not cover, an existing pack
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, f"{pack}: {pack.entries.count()} scenarios, now the market's default pack."
            )
            return redirect("scenarios:pack", pk=pack.pk)
    return render(request, "scenarios/pack_new.html", {"form": form})


@login_required
def series_detail(request: HttpRequest, pk: int) -> HttpResponse:
    series = get_object_or_404(PriceSeries, pk=pk)
    start, end = request.GET.get("start") or None, request.GET.get("end") or None
    try:
        data = services.load_window(series, start, end)
        error = None
    except ValueError as exc:
        data, error = services.load_window(series), str(exc)
    figs = (
        [
            {
                "id": "series-chart",
                "figure": charts.price_chart(
                    data.timestamps,
                    data.close,
                    interval_seconds=series.interval_seconds,
                    title=f"{series.name} close",
                ),
            }
        ]
        if len(data)
        else []
    )
    return render(
        request,
        "scenarios/series_detail.html",
        {
            "series": series,
            "charts": figs,
            "rows_shown": len(data),
            "start": start or "",
            "end": end or "",
            "error": error,
            "blocks": series.blocks.count(),
        },
    )


@login_required
def scenario_preview(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = get_object_or_404(Scenario, pk=pk)
    preview = _preview(scenario, _n_paths(request), prefix="fan")
    return render(
        request,
        "scenarios/scenario_preview.html",
        {
            "scenario": scenario,
            "preview": preview,
            "charts": preview["charts"],
        },
    )


@login_required
def pack_preview(request: HttpRequest, pk: int) -> HttpResponse:
    pack = get_object_or_404(StressPack.objects.select_related("market"), pk=pk)
    n = _n_paths(request)
    items = [_preview(sc, n, prefix=f"fan-{i}") for i, sc in enumerate(pack.ordered_scenarios(), start=1)]
    return render(
        request,
        "scenarios/pack_preview.html",
        {
            "pack": pack,
            "items": items,
            "n_paths": n,
            "charts": [c for item in items for c in item["charts"]],
        },
    )


def _preview(scenario: Scenario, n_paths: int, *, prefix: str) -> dict:
    item = {
        "scenario": scenario,
        "spec_json": json.dumps(scenario.spec, indent=2),
        "charts": [],
        "error": None,
    }
    try:
        paths = services.generate_paths(scenario, n_paths=n_paths)
        item["manifest"] = services.scenario_manifest(scenario)
    except ValueError as exc:  # EngineError is a ValueError: a spec the stored data cannot serve
        item["error"] = str(exc)
        return item
    item["shape"] = paths.prices.shape
    item["step_seconds"] = paths.interval_seconds
    item["steps_per_bar"] = paths.steps_per_bar
    item["bar_seconds"] = paths.interval_seconds * paths.steps_per_bar
    item["charts"] = [
        {"id": f"{prefix}-{a}", "figure": fig} for a, fig in enumerate(charts.scenario_figures(paths))
    ]
    return item


@login_required
def book_detail(request: HttpRequest, pk: int) -> HttpResponse:
    book = get_object_or_404(Book.objects.select_related("market"), pk=pk)
    page = services.book_page(book)
    return render(
        request,
        "scenarios/book_detail.html",
        {
            "book": book,
            "summary_rows": page["rows"],
            "generator_json": json.dumps(book.generator, indent=2),
            "charts": [{"id": f"book-{i}", "figure": fig} for i, fig in enumerate(page["figures"])],
        },
    )
