"""Voting pages: cast a vote, the live tally (JSON), the per-proposal audit log, close on
demand, delegation, and Sign-In with Ethereum."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from governance.models import Member
from governance.services import history_of, is_administrator, member_of, set_delegate
from proposals.models import Proposal
from voting import panels, services, signatures
from voting.models import Choice, Outcome


def _proposal(request: HttpRequest, pk: int) -> Proposal:
    return get_object_or_404(
        Proposal.objects.visible_to(request.user).select_related("proposed_version"), pk=pk
    )


def _page(proposal: Proposal) -> str:
    return reverse("review:detail", args=[proposal.pk]) + "#voting"


class VoteForm(forms.Form):
    choice = forms.ChoiceField(choices=Choice.choices)
    reason = forms.CharField(required=False, max_length=services.MAX_REASON)
    signature = forms.RegexField(regex=signatures.SIGNATURE, required=False)
    timestamp = forms.IntegerField(required=False, min_value=0)


@login_required
@require_POST
def vote(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal(request, pk)
    form = VoteForm(request.POST)
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        if not form.is_valid():
            raise services.VoteRefused("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        cast = services.cast_vote(proposal=proposal, user=request.user, **form.cleaned_data)
    except ValidationError as exc:
        if wants_json:
            return JsonResponse({"ok": False, "error": " ".join(exc.messages)}, status=400)
        messages.error(request, "Vote refused: " + " ".join(exc.messages))
    else:
        text = f"Your vote ({cast.get_choice_display()}{', signed' if cast.is_signed else ''}) is recorded."
        if wants_json:
            return JsonResponse({"ok": True, "message": text})
        messages.success(request, text)
    return redirect(_page(proposal))


@login_required
@require_GET
def tally(request: HttpRequest, pk: int) -> JsonResponse:
    proposal = _proposal(request, pk)
    return JsonResponse(panels.tally_state(proposal, services.tally_of(proposal), timezone.now()))


@login_required
@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    if not is_administrator(request.user):
        raise PermissionDenied("only administrators close a vote on demand")
    proposal = _proposal(request, pk)
    try:
        messages.info(request, services.close_if_due(proposal=proposal, actor=request.user))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(_page(proposal))


@login_required
@require_GET
def audit(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal(request, pk)
    return render(
        request,
        "voting/audit.html",
        {
            "proposal": proposal,
            "entries": history_of(proposal),
            "outcome": Outcome.objects.filter(proposal=proposal).first(),
        },
    )


class DelegationForm(forms.Form):
    delegate = forms.ModelChoiceField(
        queryset=Member.objects.none(), required=False, empty_label="Nobody: I vote myself"
    )

    def __init__(self, *args: object, member: Member, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["delegate"].queryset = (
            Member.objects.filter(role=Member.Role.VOTER).exclude(pk=member.pk).select_related("user")
        )
        self.fields["delegate"].label_from_instance = lambda m: m.name


@login_required
def delegation(request: HttpRequest) -> HttpResponse:
    member = member_of(request.user)
    if member is None:
        raise PermissionDenied("only members delegate their voting power")
    form = DelegationForm(request.POST or None, member=member, initial={"delegate": member.delegate})
    if request.method == "POST" and form.is_valid():
        try:
            set_delegate(member=member, delegate=form.cleaned_data["delegate"], actor=request.user)
        except ValidationError as exc:
            form.add_error("delegate", " ".join(exc.messages))
        else:
            messages.success(request, "Delegation saved: it counts for votes scheduled from now on.")
            return redirect("voting:delegation")
    member.refresh_from_db()
    return render(
        request,
        "voting/delegation.html",
        {"form": form, "member": member, "delegators": member.delegators.select_related("user")},
    )


# -- Sign-In with Ethereum ---------------------------------------------------------------------


@require_GET
def wallet_sign_in(request: HttpRequest) -> HttpResponse:
    return render(request, "voting/sign_in.html", {"next": request.GET.get("next", "/")})


@require_POST
def siwe_message(request: HttpRequest) -> JsonResponse:
    """The EIP-4361 message for the wallet's address, with a fresh nonce."""
    try:
        text = services.siwe_message(
            address=request.POST.get("address", ""),
            domain=request.get_host(),
            uri=request.build_absolute_uri(reverse("voting:sign_in")),
        )
    except signatures.SignatureError as exc:
        return JsonResponse({"ok": False, "error": str(exc)}, status=400)
    return JsonResponse({"ok": True, "message": text})


@require_POST
def siwe_verify(request: HttpRequest) -> JsonResponse:
    try:
        member = services.verify_siwe(
            message=request.POST.get("message", ""),
            signature=request.POST.get("signature", ""),
            domain=request.get_host(),
        )
    except signatures.SignatureError as exc:
        return JsonResponse({"ok": False, "error": str(exc)}, status=400)
    login(request, member.user, backend="django.contrib.auth.backends.ModelBackend")
    request.session["wallet_address"] = member.address
    return JsonResponse({"ok": True, "user": member.name, "address": member.address})
