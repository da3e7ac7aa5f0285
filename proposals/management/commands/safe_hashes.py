"""``python manage.py safe_hashes --batch batch.json --safe 0x… --chain-id 1 --nonce N
[--safe-version 1.3.0]``: recompute the hashes of any Transaction Builder batch file, as a
signer's independent check (spec/export.md "Commands")."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from proposals import export
from proposals.management.commands.encode_calls import read_json


class Command(BaseCommand):
    help = (
        "Print the domain hash, message hash and safeTxHash of a batch file for a Safe, chain and nonce; "
        "a modified file, another chain or another Safe exits 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", required=True, help="the Transaction Builder batch file")
        parser.add_argument("--safe", required=True, help="the Safe's address")
        parser.add_argument("--chain-id", required=True, type=int)
        parser.add_argument("--nonce", required=True, type=int)
        parser.add_argument(
            "--safe-version", default="1.3.0", help=f"one of {', '.join(export.SAFE_VERSIONS)}"
        )
        parser.add_argument(
            "--multisend", default=None, help="MultiSendCallOnly (default: the version's canonical one)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch = read_json(options["batch"])
        try:
            lines = describe(
                batch, **{k: options[k] for k in ("safe", "chain_id", "nonce", "safe_version", "multisend")}
            )
        except export.ExportError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write("\n".join(lines))


def describe(
    batch: Any, *, safe: str, chain_id: int, nonce: int, safe_version: str, multisend: str | None
) -> list[str]:
    """The lines printed: what the Safe executes, then the hashes as a Ledger shows them."""
    version = export.safe_version(safe_version)
    safe = export.checksum_address("--safe", safe)
    if chain_id <= 0:
        raise export.ExportError(f"--chain-id: {chain_id} is not a chain id (a whole number above 0).")
    if not isinstance(batch, dict):
        raise export.ExportError("batch file: expected a JSON object.")
    if str(batch.get("chainId")) != str(chain_id):
        raise export.ExportError(
            f"batch file: it is for chain {batch.get('chainId')!r}, not --chain-id {chain_id}."
        )
    created_from = (batch.get("meta") or {}).get("createdFromSafeAddress") or ""
    if created_from and created_from.lower() != safe.lower():
        raise export.ExportError(
            f"batch file: it was written for the Safe {created_from}, not --safe {safe}."
        )
    status = export.checksum_status(batch)
    if status == "modified":
        raise export.ExportError(
            "batch file: meta.checksum does not match its content: the file was modified since it was written."
        )
    transactions = export.batch_transactions(batch)
    multisend = multisend or export.default_multisend(version)
    tx = export.safe_transaction(transactions, nonce=nonce, multisend=multisend)
    hashes = export.safe_hashes(tx, safe=safe, chain_id=chain_id, version=version)
    how = f"MultiSendCallOnly {tx.to} by DELEGATECALL" if tx.operation == 1 else f"a CALL to {tx.to}"
    lines = [
        f"Safe: {safe} (version {version}), chain id {chain_id}, nonce {nonce}",
        f"Batch: {len(transactions)} call(s); checksum {status}",
        f"Executes: {how}",
    ]
    return lines + [f"{label}: {value}" for label, value in hashes.ledger()]
