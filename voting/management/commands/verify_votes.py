"""``python manage.py verify_votes PROPOSAL_ID``: check every signed vote against its signer,
every vote against the audit log, the power snapshot against its hash, and recompute the tally
from the votes and the snapshot; the signed and the unsigned power are reported apart.

Exit status: 0 when everything agrees, 1 naming each difference, 2 on a usage error (no such
proposal, or one whose voting was never scheduled)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from proposals.models import Proposal
from voting.services import verify_votes


class Command(BaseCommand):
    help = "Verify a proposal's votes (signatures, audit log, snapshot, tally); exit 1 naming any difference."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("proposal_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        proposal = (
            Proposal.objects.filter(pk=options["proposal_id"]).select_related("proposed_version").first()
        )
        if proposal is None:
            raise CommandError(f"no proposal #{options['proposal_id']}", returncode=2)
        if proposal.power_snapshot_id is None:
            raise CommandError(
                f"proposal #{proposal.pk} is {proposal.status}: its voting was never scheduled, there is nothing to verify",
                returncode=2,
            )
        report = verify_votes(proposal=proposal)
        for line in report.lines:
            self.stdout.write(line)
        if report.problems:
            for problem in report.problems:
                self.stderr.write(f"DIFFERENCE: {problem}")
            raise CommandError(f"proposal #{proposal.pk}: {len(report.problems)} difference(s)", returncode=1)
        self.stdout.write(self.style.SUCCESS(f"proposal #{proposal.pk}: every vote and the tally verify"))
