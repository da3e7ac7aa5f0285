"""The export of the proposal page: the form's POST (administrators) and the downloads of a stored
export's files (everyone who may see the proposal). The files are served exactly as stored."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from governance.services import is_administrator
from proposals.models import Proposal
from review import services
from review.forms import ExportForm

# kind in the URL: (stored field, file name suffix, content type)
FILES = {
    "batch": ("batch", "batch.json", "application/json"),
    "typed-data": ("typed_data", "typed-data.json", "application/json"),
    "report": ("report", "report.md", "text/markdown; charset=utf-8"),
}


def _proposal(request: HttpRequest, pk: int) -> Proposal:
    return get_object_or_404(Proposal.objects.visible_to(request.user), pk=pk)


@login_required
@require_POST
def proposal_export(request: HttpRequest, pk: int) -> HttpResponse:
    if not is_administrator(request.user):
        raise PermissionDenied("only administrators export a proposal")
    proposal = _proposal(request, pk)
    form = ExportForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, " ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        )
        return redirect(_section(proposal))
    before = proposal.exports.first()
    try:
        stored = services.export_proposal(proposal=proposal, actor=request.user, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        again = before is not None and before.pk == stored.pk
        messages.success(
            request,
            "Already exported: the stored export is shown."
            if again
            else f"Exported (export {stored.number}).",
        )
    return redirect(_section(proposal))


@login_required
@require_GET
def export_file(request: HttpRequest, pk: int, number: int, kind: str) -> HttpResponse:
    proposal = _proposal(request, pk)
    if kind not in FILES:
        raise Http404(f"no such file: {kind}")
    stored = get_object_or_404(proposal.exports, number=number)
    field, suffix, content_type = FILES[kind]
    response = HttpResponse(getattr(stored, field).encode(), content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="proposal-{proposal.pk}-export-{number}-{suffix}"'
    )
    return response


def _section(proposal: Proposal) -> str:
    return reverse("review:detail", args=[proposal.pk]) + "#export"
