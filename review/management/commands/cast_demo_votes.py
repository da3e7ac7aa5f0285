"""``python manage.py cast_demo_votes [--wait SECONDS]``: the five demo voters vote on the demo
proposal, voter1 and voter2 with EIP-712 signatures made by their public test keys (as their
wallets would), the others unsigned (password sign-in). It goes through the same service as
the page (voting.services.cast_vote), so the signatures are verified and the votes audited.

With ``--wait`` it first waits (up to SECONDS) for the proposal's backtest to complete and its
voting to open. Exit status: 0 when the five votes are cast, 1 when the proposal is not open
for voting (or did not open in time)."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from proposals.models import Proposal
from review.management.commands.seed_demo import DEMO_MARKET, DEMO_WALLET_KEYS
from voting import services, signatures

# voter, choice, reason: 750,000 For, 200,000 Against, 50,000 Abstain of 1,000,000: quorum
# (For + Abstain >= 20 %) and threshold (For / (For + Against) > 50 %) both pass.
DEMO_VOTES = [
    ("voter1", "for", "Tail bad debt rises in one jump scenario only; the book borrows $1M more."),
    ("voter2", "for", "Small step, inside the guardrails."),
    ("voter3", "against", "The verdict says riskier: CVaR99 of bad debt rises with jumps."),
    ("voter4", "for", ""),
    ("voter5", "abstain", ""),
]


class Command(BaseCommand):
    help = "Cast the five demo voters' votes on the demo proposal (two signed by test keys)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wait", type=float, default=0, help="seconds to wait for voting to open")
        parser.add_argument("--proposal", type=int, default=None, help="default: the demo market's latest")

    def handle(self, *args: Any, **options: Any) -> None:
        proposal = self._proposal(options["proposal"])
        deadline = time.monotonic() + options["wait"]
        while not _open(proposal) and time.monotonic() < deadline:
            time.sleep(2)
            proposal.refresh_from_db()
        if not _open(proposal):
            raise CommandError(
                f"proposal #{proposal.pk} is {proposal.get_status_display().lower()}"
                + (
                    f" (voting opens at {proposal.voting_opens_at:%H:%M:%S} UTC)"
                    if proposal.voting_opens_at
                    else ""
                )
                + ": nothing to vote on yet; try --wait 300"
            )
        users = get_user_model().objects.in_bulk([name for name, _, _ in DEMO_VOTES], field_name="username")
        for name, choice, reason in DEMO_VOTES:
            user = users[name]
            signature, timestamp = "", None
            if name in DEMO_WALLET_KEYS:
                proposal.refresh_from_db()
                timestamp = int(timezone.now().timestamp())
                typed = services.typed_data_for(proposal, user.member, choice, reason, timestamp)
                signature = signatures.sign_vote(typed, DEMO_WALLET_KEYS[name])
            vote = services.cast_vote(
                proposal=proposal,
                user=user,
                choice=choice,
                reason=reason,
                signature=signature,
                timestamp=timestamp,
            )
            self.stdout.write(
                f"  {name}: {choice}" + (f", signed by {vote.signer}" if vote.signer else ", unsigned")
            )
        proposal.refresh_from_db()
        self.stdout.write(
            self.style.SUCCESS(
                f"proposal #{proposal.pk}: 5 votes cast; voting ends at {proposal.closes_at:%Y-%m-%d %H:%M:%S} UTC "
                f"(the beat then freezes the outcome; or run `manage.py advance_votes` after it), "
                f"then `manage.py verify_votes {proposal.pk}` and `manage.py verify_audit_log`"
            )
        )

    def _proposal(self, pk: int | None) -> Proposal:
        proposals = Proposal.objects.select_related("proposed_version")
        proposal = (
            proposals.filter(pk=pk).first()
            if pk
            else proposals.filter(market__slug=DEMO_MARKET)
            .exclude(status=Proposal.Status.DRAFT)
            .order_by("pk")
            .first()
        )
        if proposal is None:
            raise CommandError(
                f"no proposal {'#' + str(pk) if pk else 'on the demo market'}: run seed_demo first"
            )
        return proposal


def _open(proposal: Proposal) -> bool:
    now = timezone.now()
    if proposal.status == Proposal.Status.PENDING:
        return now >= proposal.voting_opens_at
    return proposal.status == Proposal.Status.VOTING and now < proposal.closes_at
