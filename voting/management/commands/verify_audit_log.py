"""``python manage.py verify_audit_log``: recompute the audit log's hash chain and name the
first entry changed, removed or reordered; then check the head and every frozen outcome's
record of the chain (entry count and hash), which catches removed newest entries.

Exit status: 0 when the chain verifies, 1 naming the first bad entry (and any head or outcome
that disagrees)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from governance.services import Anchor, verify_audit_chain
from voting.models import Outcome


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exit 1 naming the first changed, removed or reordered entry."

    def handle(self, *args: Any, **options: Any) -> None:
        anchors = [
            Anchor(f"the outcome of proposal #{o.proposal_id}", o.audit_count, o.audit_hash)
            for o in Outcome.objects.order_by("audit_count")
        ]
        report = verify_audit_chain(anchors=anchors)
        if report.problems:
            for problem in report.problems:
                self.stderr.write(f"BAD: {problem}")
            raise CommandError(
                f"the audit log does not verify ({len(report.problems)} problem(s))", returncode=1
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"the audit log verifies: {report.count} entries, head {report.head_hash}, "
                f"{len(anchors)} outcome(s) agree"
            )
        )
