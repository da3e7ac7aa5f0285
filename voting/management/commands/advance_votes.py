"""``python manage.py advance_votes``: what the beat does, on demand: open the votes whose delay
has passed and close (outcome computed and frozen) those whose period has ended."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from voting.services import advance_votes


class Command(BaseCommand):
    help = "Open due votes and close ended ones (the beat's task, on demand)."

    def handle(self, *args: Any, **options: Any) -> None:
        moved = advance_votes()
        self.stdout.write(
            f"opened: {', '.join(f'#{pk}' for pk in moved['opened']) or 'none'}; "
            f"closed: {', '.join(f'#{pk}' for pk in moved['closed']) or 'none'}"
        )
