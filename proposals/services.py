"""Workflows on markets, versions and proposals (each one atomic, audited)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from governance.models import Guardrail
from governance.services import can_propose, is_administrator, record
from proposals import schema
from proposals.models import OPEN_STATUSES, Market, ParameterSetVersion, Proposal

Status = Proposal.Status


class CompletedBacktest(Protocol):
    """What the move to voting needs to know of a backtest run (backtests.models.BacktestRun;
    the backtests app sits above this one, so it passes its run in rather than being imported)."""

    proposal_id: int
    live_version_id: int
    proposed_version_id: int

    @property
    def is_complete(self) -> bool: ...


class ProposalRefused(ValidationError):
    """A proposal breaks a bound, an invariant or a guardrail; ``violations`` says which."""

    def __init__(self, violations: list[schema.Violation]):
        super().__init__([v.message for v in violations])
        self.violations = violations


# -- Versions -----------------------------------------------------------------------------------


def create_version(
    *,
    market: Market,
    values: Mapping[str, Any],
    author: AbstractBaseUser | None,
    parent: ParameterSetVersion | None,
    note: str = "",
) -> ParameterSetVersion:
    """A new version numbered after the market's last one; refused if it breaks a bound or an
    invariant (ProposalRefused)."""
    normalized = _valid_values(market, values)
    with transaction.atomic():
        Market.objects.select_for_update().get(pk=market.pk)  # serialize numbering per market
        last = market.versions.aggregate(n=Max("number"))["n"] or 0
        version = ParameterSetVersion.objects.create(
            market=market, number=last + 1, parent=parent, author=author, values=normalized, note=note
        )
        record(author, "version.created", version, {"market": market.slug, "hash": version.content_hash})
    return version


def set_live_version(
    *, version: ParameterSetVersion, actor: AbstractBaseUser | None, now: datetime | None = None
) -> ParameterSetVersion:
    """Make ``version`` its market's live version (the previous one stops being live)."""
    now = now or timezone.now()
    with transaction.atomic():
        Market.objects.select_for_update().get(pk=version.market_id)
        previous = ParameterSetVersion.objects.filter(market_id=version.market_id, is_live=True).first()
        if previous is not None and previous.pk == version.pk:
            return previous
        if previous is not None:
            previous.is_live = False
            previous.save(update_fields=["is_live"])
        version.refresh_from_db()
        version.is_live = True
        version.made_live_at = now
        version.save()
        record(
            actor,
            "version.live_changed",
            version,
            {
                "market": version.market.slug,
                "from": previous.number if previous else None,
                "to": version.number,
                "hash": version.content_hash,
            },
        )
    return version


def bootstrap_live_version(
    *, version: ParameterSetVersion, actor: AbstractBaseUser | None
) -> ParameterSetVersion:
    """Administrators set the first live version of a market; later changes go through proposals."""
    if ParameterSetVersion.objects.filter(market_id=version.market_id, is_live=True).exists():
        raise ValidationError(f"{version.market} already has a live version: change it with a proposal.")
    return set_live_version(version=version, actor=actor)


def live_history(market: Market) -> list[tuple[datetime, dict[str, Any]]]:
    versions = market.versions.filter(made_live_at__isnull=False).order_by("made_live_at", "number")
    return [(v.made_live_at, v.values) for v in versions]


# -- Validation of proposed values -------------------------------------------------------------


def _valid_values(market: Market, values: Mapping[str, Any]) -> dict[str, Any]:
    try:
        normalized = schema.normalize(market.mechanism, values)
    except schema.SchemaError as exc:
        raise ProposalRefused([schema.Violation("", str(exc))]) from exc
    problems = schema.validate(market.mechanism, normalized) or schema.check_target(
        market.mechanism, normalized, market.target
    )
    if problems:
        raise ProposalRefused(problems)
    return normalized


def guardrail_violations(
    *, market: Market, before: Mapping[str, Any], after: Mapping[str, Any], now: datetime | None = None
) -> list[schema.Violation]:
    rules = {g.parameter: g.rule() for g in Guardrail.objects.filter(market=market)}
    last = schema.last_changed_keys(market.mechanism, live_history(market))
    return schema.check_guardrails(
        market.mechanism,
        schema.normalize(market.mechanism, before),
        schema.normalize(market.mechanism, after),
        rules,
        last,
        now or timezone.now(),
    )


def check_proposal_values(
    *, market: Market, live: ParameterSetVersion, values: Mapping[str, Any], now: datetime | None = None
) -> list[schema.Violation]:
    """Everything that would stop a submission: shape, bounds, invariants, then guardrails."""
    try:
        normalized = _valid_values(market, values)
    except ProposalRefused as exc:
        return exc.violations
    return guardrail_violations(market=market, before=live.values, after=normalized, now=now)


def submission_blockers(*, proposal: Proposal, now: datetime | None = None) -> list[schema.Violation]:
    """Why this draft could not be submitted now (empty when it could)."""
    live = ParameterSetVersion.objects.filter(market_id=proposal.market_id, is_live=True).first()
    if live is None or proposal.live_version_id != live.pk:
        return [
            schema.Violation(
                "",
                (
                    f"the live version changed since this draft was written (then v{proposal.live_version.number}, "
                    f"now v{live.number if live else 'none'}): edit the draft to rebase it, then submit."
                ),
            )
        ]
    return check_proposal_values(
        market=proposal.market, live=live, values=proposal.proposed_version.values, now=now
    )


# -- Proposals ----------------------------------------------------------------------------------


def create_draft(
    *, author: AbstractBaseUser, market: Market, title: str, rationale: str, values: Mapping[str, Any]
) -> Proposal:
    """A draft against the market's live version (bounds and invariants must hold)."""
    if not can_propose(author):
        raise PermissionDenied("only risk contributors and administrators write proposals")
    with transaction.atomic():
        live = _live_for_update(market)
        version = create_version(
            market=market, values=values, author=author, parent=live, note=f"proposed: {title}"[:200]
        )
        proposal = Proposal.objects.create(
            title=title,
            rationale=rationale,
            author=author,
            market=market,
            live_version=live,
            proposed_version=version,
        )
        record(author, "proposal.created", proposal, {"market": market.slug, "version": version.number})
    return proposal


def update_draft(
    *, proposal: Proposal, actor: AbstractBaseUser, title: str, rationale: str, values: Mapping[str, Any]
) -> Proposal:
    """Edit a draft in place; it is rebased on the current live version."""
    with transaction.atomic():
        proposal = _lock_proposal(proposal)
        _require_editor(proposal, actor)
        if proposal.status != Status.DRAFT:
            raise ValidationError(f"proposal #{proposal.pk} is {proposal.status}: only drafts can be edited")
        normalized = _valid_values(proposal.market, values)
        live = _live_for_update(proposal.market)
        version = proposal.proposed_version
        version.values, version.parent = normalized, live
        version.save()
        proposal.title, proposal.rationale, proposal.live_version = title, rationale, live
        proposal.save()
        record(actor, "proposal.updated", proposal, {"version": version.number, "hash": version.content_hash})
    return proposal


def submit_draft(*, proposal: Proposal, actor: AbstractBaseUser, now: datetime | None = None) -> Proposal:
    """Draft -> backtesting, if the version it changes is still live and it breaks no bound, invariant or
    guardrail (ProposalRefused lists the violations). review.services.submit_proposal calls
    this and then starts the backtest, in one transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal = _lock_proposal(proposal)
        _require_editor(proposal, actor)
        live = _live_for_update(proposal.market)
        if proposal.status != Status.DRAFT:
            raise ValidationError(
                f"proposal #{proposal.pk} is {proposal.status}: only a draft can be submitted"
            )
        problems = submission_blockers(proposal=proposal, now=now)
        if problems:
            raise ProposalRefused(problems)
        proposal.set_status(Status.BACKTESTING)
        proposal.submitted_at = now
        proposal.save()
        record(
            actor,
            "proposal.submitted",
            proposal,
            {
                "live": live.number,
                "proposed": proposal.proposed_version.number,
                "hash": proposal.proposed_version.content_hash,
            },
        )
    return proposal


def transition_proposal(
    *,
    proposal: Proposal,
    to: str,
    actor: AbstractBaseUser | None,
    data: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    backtest: CompletedBacktest | None = None,
) -> Proposal:
    """Any lifecycle move but execution (see execute_proposal); refused when illegal.

    The move to voting needs ``backtest``, the complete run of exactly the proposal's live and
    proposed versions (backtests.services.open_voting finds it and passes it here)."""
    if to == Status.EXECUTED:
        raise ValidationError(
            "use execute_proposal: execution records a transaction hash and changes the live version"
        )
    now = now or timezone.now()
    with transaction.atomic():
        proposal = _lock_proposal(proposal)
        before = proposal.status
        proposal.set_status(to)
        if to == Status.VOTING:
            _require_complete_backtest(proposal, backtest)
            proposal.voting_started_at = now
        if to in (Status.APPROVED, Status.REJECTED):
            proposal.decided_at = now
        proposal.save()
        record(actor, "proposal.transition", proposal, {"from": before, "to": to, **(data or {})})
    return proposal


def _require_complete_backtest(proposal: Proposal, backtest: CompletedBacktest | None) -> None:
    """Voters never vote on a proposal whose backtest is missing, running, failed or cancelled:
    voting opens only on a complete run of exactly the proposal's live and proposed versions."""
    if not (
        backtest is not None
        and backtest.is_complete
        and backtest.proposal_id == proposal.pk
        and backtest.proposed_version_id == proposal.proposed_version_id
        and backtest.live_version_id == proposal.live_version_id
    ):
        raise ValidationError(
            f"proposal #{proposal.pk} has no complete backtest run: voting opens when its backtest is complete"
        )


def withdraw_proposal(*, proposal: Proposal, actor: AbstractBaseUser) -> Proposal:
    _require_editor(proposal, actor)
    return transition_proposal(proposal=proposal, to=Status.WITHDRAWN, actor=actor)


def execute_proposal(
    *, proposal: Proposal, actor: AbstractBaseUser | None, tx_hash: str, now: datetime | None = None
) -> Proposal:
    """Exported -> executed: record the transaction hash, make the proposed version live, and
    supersede every other open proposal of the market (the version they change is no longer live)."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal = _lock_proposal(proposal)
        live = _live_for_update(proposal.market)
        proposal.set_status(Status.EXECUTED)
        if live.pk != proposal.live_version_id:
            raise ValidationError(
                f"proposal #{proposal.pk} was written against v{proposal.live_version.number} "
                f"but v{live.number} is live: it cannot be executed"
            )
        proposal.tx_hash, proposal.executed_at = tx_hash.strip(), now
        proposal.save()
        record(
            actor,
            "proposal.transition",
            proposal,
            {"from": Status.EXPORTED, "to": Status.EXECUTED, "tx_hash": proposal.tx_hash},
        )
        set_live_version(version=proposal.proposed_version, actor=actor, now=now)
        others = (
            Proposal.objects.select_for_update()
            .filter(market=proposal.market, status__in=list(OPEN_STATUSES))
            .exclude(pk=proposal.pk)
        )
        for other in others:
            was = other.status
            other.set_status(Status.SUPERSEDED)
            other.superseded_by = proposal
            other.save()
            record(
                actor, "proposal.transition", other, {"from": was, "to": Status.SUPERSEDED, "by": proposal.pk}
            )
    return proposal


def _lock_proposal(proposal: Proposal) -> Proposal:
    """Lock the proposal's market, then the proposal, and return it fresh from the database.

    Every workflow locks in this order (market, then proposals), so two concurrent workflows on
    one market serialize instead of deadlocking, and each sees the other's committed result.
    """
    market_id = Proposal.objects.values_list("market_id", flat=True).get(pk=proposal.pk)
    Market.objects.select_for_update().get(pk=market_id)
    return Proposal.objects.select_for_update().get(pk=proposal.pk)


def _live_for_update(market: Market) -> ParameterSetVersion:
    Market.objects.select_for_update().get(pk=market.pk)
    live = ParameterSetVersion.objects.filter(market=market, is_live=True).first()
    if live is None:
        raise ValidationError(f"{market} has no live version yet: an administrator must set one first.")
    return live


def _require_editor(proposal: Proposal, actor: AbstractBaseUser) -> None:
    if not (actor.pk == proposal.author_id or is_administrator(actor)):
        raise PermissionDenied("only the proposal's author or an administrator may do this")
