"""``python manage.py encode_call --signature "setSupplyCap(address,uint256)" --args '["0x…", "1200000"]'``:
the calldata of one call (spec/export.md "Commands")."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from proposals import export


class Command(BaseCommand):
    help = "Print the calldata of one call; a bad argument exits 1 with a message naming it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--signature", required=True, help='e.g. "setSupplyCap(address,uint256)"')
        parser.add_argument(
            "--args",
            dest="arguments",  # "args" is Django's positional arguments
            required=True,
            help="a JSON list of the arguments as strings: integers in decimal, bytes as 0x-hex, tuples as lists",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            values = json.loads(options["arguments"])
        except json.JSONDecodeError as exc:
            raise CommandError(
                f'--args: not JSON ({exc.msg}); expected a list such as \'["0x…", "1200000"]\'.'
            ) from None
        try:
            data = encode_call(options["signature"], values)
        except export.ExportError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write("0x" + data.hex())


def encode_call(signature: str, values: Any) -> bytes:
    """Calldata for ``signature`` and text arguments, each checked against its type."""
    _, types = export.parse_signature(signature)
    if not isinstance(values, list):
        raise export.ExportError(f"--args: expected a JSON list of {len(types)} arguments.")
    if len(values) != len(types):
        raise export.ExportError(
            f"--args: {export.canonical_signature(signature)} takes {len(types)} arguments; got {len(values)}."
        )
    typed = [
        export.coerce(f"argument {i} ({t.to_type_str()})", t, value)
        for i, (t, value) in enumerate(zip(types, values, strict=True), start=1)
    ]
    return export.encode_with_signature(signature, typed)
