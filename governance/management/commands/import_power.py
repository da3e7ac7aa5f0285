"""``python manage.py import_power FILE (--block N | --date YYYY-MM-DD) --actor USERNAME``: a
voting power snapshot from a CSV file ``address,power[,label]``, which becomes the power in
force. The actor must be an administrator (the import is audited in their name). A bad line
refuses the whole file, each problem named by line number, and nothing is written.

Exit status: 0 imported, 1 refused (bad file, or an actor who is not an administrator)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.services import PowerImportError, import_power_snapshot, is_administrator


class Command(BaseCommand):
    help = "Import a voting power snapshot (address,power[,label]) taken at a block or on a date."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV: address,power[,label] per line (a header line is allowed)")
        when = parser.add_mutually_exclusive_group(required=True)
        when.add_argument("--block", type=int, help="the block number the snapshot was taken at")
        when.add_argument("--date", help="the date (YYYY-MM-DD or ISO 8601, UTC) the snapshot was taken on")
        parser.add_argument("--actor", required=True, help="the administrator importing it")
        parser.add_argument("--label", default="", help="a note shown with the snapshot")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = get_user_model().objects.filter(username=options["actor"]).first()
        if actor is None or not is_administrator(actor):
            raise CommandError(f"--actor {options['actor']}: only an administrator imports voting power")
        path = Path(options["file"])
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
        taken_at = None
        if options["date"]:
            try:
                taken_at = datetime.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(f"--date {options['date']!r}: expected YYYY-MM-DD or ISO 8601") from None
            taken_at = taken_at if taken_at.tzinfo else taken_at.replace(tzinfo=UTC)
        try:
            snapshot = import_power_snapshot(
                text=text,
                actor=actor,
                block_number=options["block"],
                taken_at=taken_at,
                label=options["label"] or path.name,
            )
        except PowerImportError as exc:
            raise CommandError(
                f"{path}: refused, nothing imported:\n  " + "\n  ".join(exc.problems)
            ) from None
        linked = snapshot.entries.filter(member__isnull=False).count()
        self.stdout.write(
            self.style.SUCCESS(
                f"{snapshot}: {snapshot.entries.count()} addresses ({linked} linked to members), "
                f"total power {snapshot.total_power}; it is the power in force for votes scheduled from now on"
            )
        )
