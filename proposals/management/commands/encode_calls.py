"""``python manage.py encode_calls --input changes.json``: the calls of a parameter change as a
JSON list ``[{"to", "value", "signature", "args", "data"}]`` (spec/export.md "Commands")."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from proposals import export


class Command(BaseCommand):
    help = (
        'Encode {"adapter", "chain_id", "contracts", "target", "before", "after"} as contract calls, '
        "decoded back and checked against after; bad input exits 1 with a message naming it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", required=True, help="the JSON file ('-' reads standard input)")

    def handle(self, *args: Any, **options: Any) -> None:
        changes = read_json(options["input"])
        if not isinstance(changes, dict):
            raise CommandError(
                "input: expected a JSON object with adapter, chain_id, contracts, target, before, after."
            )
        missing = [
            k for k in ("adapter", "chain_id", "contracts", "target", "before", "after") if k not in changes
        ]
        if missing:
            raise CommandError(f"input: {', '.join(missing)} missing.")
        chain_id = changes["chain_id"]
        if not isinstance(chain_id, int) or isinstance(chain_id, bool) or chain_id <= 0:
            raise CommandError(f"chain_id: {chain_id!r} is not a chain id (a whole number above 0).")
        try:
            calls = export.encode_changes(
                changes["adapter"],
                changes["contracts"],
                changes["target"],
                changes["before"],
                changes["after"],
            )
        except export.ExportError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps([call.as_json() for call in calls], indent=2))


def read_json(path: str) -> Any:
    """A JSON document from ``path`` (or standard input for ``-``), refused with its name."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"{path}: cannot be read ({exc.strerror}).") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path}: not JSON ({exc.msg} at line {exc.lineno}).") from None
