"""``python manage.py export_proposal ID --safe 0x… --nonce N [--safe-version 1.3.0] --out batch.json
[--report report.md] [--typed-data typed-data.json] [--actor USERNAME] [--reason TEXT]``: export an
approved proposal once its timelock has passed (spec/export.md "Commands"), through the same
service as the proposal page (review.services.export_proposal): the export is stored, audited,
and the proposal moves to exported. It writes the Transaction Builder batch file (and, if asked,
the change report and the typed data) and prints the hashes as ``safe_hashes`` prints them,
recomputed from the file written.

Asked again with the same Safe, version and nonce, it writes the stored export again. Another
nonce (the Safe's nonce was used meanwhile) needs ``--reason``: a re-export, audited, the earlier
export kept on record.

Exit status: 0 exported (or the stored export written again); 1 refused, with the reason: no such
proposal, not approved, in its timelock, the version it changes no longer live, a bad address or
Safe version, a decode-back mismatch, another nonce without ``--reason``, a file that cannot be
written; 2 a usage error (a missing option). Nothing is written unless the export succeeded, and
each file is written whole (a temporary file renamed over it)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.services import is_administrator
from proposals import export
from proposals.management.commands.safe_hashes import describe
from proposals.models import Export, Proposal
from review import services

# What is written: (Export field, option's destination, option).
FILES = (
    ("batch", "out", "--out"),
    ("report", "report", "--report"),
    ("typed_data", "typed_data", "--typed-data"),
)


class Command(BaseCommand):
    help = (
        "Export an approved proposal after its timelock: write the Safe Transaction Builder batch file "
        "and print the hashes the signers check; refused input exits 1 with the reason."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("proposal", type=int, help="the proposal's id")
        parser.add_argument("--safe", required=True, help="the Safe's address (the market's, normally)")
        parser.add_argument("--nonce", required=True, type=int, help="the Safe's next nonce")
        parser.add_argument(
            "--safe-version",
            default=None,
            help=f"one of {', '.join(export.SAFE_VERSIONS)} (default: the market's)",
        )
        parser.add_argument("--out", required=True, help="where to write the batch file (JSON)")
        parser.add_argument("--report", default=None, help="where to write the change report (Markdown)")
        parser.add_argument("--typed-data", default=None, help="where to write the eth_signTypedData_v4 JSON")
        parser.add_argument("--actor", default=None, help="the administrator recorded in the audit log")
        parser.add_argument(
            "--reason", default="", help="re-export for another Safe, version or nonce: why (audited)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        proposal = Proposal.objects.filter(pk=options["proposal"]).first()
        if proposal is None:
            raise CommandError(f"no proposal #{options['proposal']}")
        files = {name: Path(options[option]) for name, option, _ in FILES if options[option]}
        for name, _, flag in FILES:
            if name in files:
                check_writable(flag, files[name])
        before = proposal.exports.first()
        try:
            stored = services.export_proposal(
                proposal=proposal,
                actor=self._actor(options["actor"]),
                nonce=options["nonce"],
                safe=options["safe"],
                safe_version=options["safe_version"],
                reason=options["reason"],
            )
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from None
        write_whole({path: getattr(stored, name) for name, path in files.items()})
        self._print(stored, files, again=before is not None and before.pk == stored.pk)

    def _actor(self, username: str | None) -> Any:
        if username is None:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None or not is_administrator(user):
            raise CommandError(f"--actor: {username!r} is not an administrator's user name")
        return user

    def _print(self, stored: Export, files: dict[str, Path], *, again: bool) -> None:
        what = "the stored export, written again" if again else "exported"
        self.stdout.write(
            f"Proposal #{stored.proposal_id}: {what} (export {stored.number}, safeTxHash below)."
        )
        try:
            lines = describe(
                json.loads(files["batch"].read_text(encoding="utf-8")),  # the file written, read back
                safe=stored.safe,
                chain_id=stored.chain_id,
                nonce=stored.nonce,
                safe_version=stored.safe_version,
                multisend=stored.multisend or None,
            )
        except (ValueError, OSError) as exc:  # ExportError and JSONDecodeError are ValueErrors
            raise CommandError(f"the batch file written does not read back: {exc}") from None
        if lines[-1] != f"safeTxHash: {stored.safe_tx_hash}":
            raise CommandError(
                f"the batch file written gives {lines[-1]}, not the stored {stored.safe_tx_hash}"
            )
        self.stdout.write("\n".join(lines))
        for path in files.values():
            self.stdout.write(f"Wrote {path}")
        check = (
            f"python manage.py safe_hashes --batch {files['batch']} --safe {stored.safe} "
            f"--chain-id {stored.chain_id} --nonce {stored.nonce} --safe-version {stored.safe_version}"
        )
        if stored.multisend and stored.multisend != export.default_multisend(stored.safe_version):
            check += f" --multisend {stored.multisend}"
        self.stdout.write("Check it independently: " + check)


def check_writable(option: str, path: Path) -> None:
    """Refuse before exporting, so that a bad path leaves nothing exported and nothing written."""
    if path.is_dir():
        raise CommandError(f"{option}: {path} is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise CommandError(f"{option}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise CommandError(f"{option}: {path} cannot be written (permission denied)")


def write_whole(contents: dict[Path, str]) -> None:
    """Write every file to a temporary file beside it, then rename them all: a failure leaves
    no file half-written."""
    umask = os.umask(0)
    os.umask(umask)
    temporary: dict[Path, str] = {}
    try:
        for path, text in contents.items():
            handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            temporary[path] = name
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
            os.chmod(name, 0o666 & ~umask)  # mkstemp makes it private; the file is for sharing
        for path, name in temporary.items():
            os.replace(name, path)
    except OSError as exc:
        for name in temporary.values():
            Path(name).unlink(missing_ok=True)
        raise CommandError(f"could not write {exc.filename}: {exc.strerror}") from None
