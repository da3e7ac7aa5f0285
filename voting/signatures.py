"""Signed votes (EIP-712 typed data) and Sign-In with Ethereum (EIP-4361), verified with
eth-account (no hand-written cryptography).

The ``siwe`` package is not used: its latest release (4.4.0) requires ``eth-account<0.14`` and
``web3``, and we pin eth-account 0.14.0 (the export's typed-data checks use it). The message is
parsed here by the EIP-4361 ABNF, term by term, and the signer recovered with eth-account's
EIP-191 ``personal_sign`` recovery (``encode_defunct`` + ``Account.recover_message``).
Externally owned accounts only: a contract wallet's EIP-1271 signature would need a call to
the chain, which this site does not make.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_utils import is_checksum_address, to_checksum_address

SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130}$")


class SignatureError(ValueError):
    """A signature or a signed message was refused; the message says what was wrong."""


def recover(message: Any, signature: str) -> str:
    if not SIGNATURE.match(signature or ""):
        raise SignatureError("a signature is 0x and 130 hex digits (65 bytes: r, s, v)")
    try:
        return to_checksum_address(Account.recover_message(message, signature=signature))
    except Exception as exc:  # noqa: BLE001 - eth-account raises several types for bad bytes
        raise SignatureError(f"the signature cannot be recovered: {exc}") from None


# -- EIP-712 votes -----------------------------------------------------------------------------

VOTE_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
    ],
    "Vote": [
        {"name": "voter", "type": "address"},
        {"name": "proposal", "type": "uint256"},
        {"name": "version", "type": "bytes32"},
        {"name": "choice", "type": "string"},
        {"name": "snapshot", "type": "uint256"},
        {"name": "reason", "type": "string"},
        {"name": "timestamp", "type": "uint64"},
    ],
}


def vote_domain() -> dict[str, Any]:
    return {"name": settings.VOTING_SITE_NAME, "version": "1", "chainId": settings.VOTING_CHAIN_ID}


def vote_typed_data(
    *,
    voter: str,
    proposal_id: int,
    version_hash: str,
    choice: str,
    snapshot_id: int,
    reason: str,
    timestamp: int,
) -> dict[str, Any]:
    """The EIP-712 document a wallet signs for a vote (``eth_signTypedData_v4``): the proposal,
    the sha256 of its proposed version, the choice, the power snapshot it is counted against,
    the reason and the time, bound to the voter's address and to this site and chain."""
    return {
        "types": VOTE_TYPES,
        "primaryType": "Vote",
        "domain": vote_domain(),
        "message": {
            "voter": voter,
            "proposal": proposal_id,
            "version": "0x" + version_hash,
            "choice": choice,
            "snapshot": snapshot_id,
            "reason": reason,
            "timestamp": timestamp,
        },
    }


def vote_signer(typed_data: dict[str, Any], signature: str) -> str:
    """The address that signed the typed data (EIP-55)."""
    return recover(encode_typed_data(full_message=typed_data), signature)


def sign_vote(typed_data: dict[str, Any], private_key: str) -> str:
    """Sign as a wallet would (the demo's and the tests' test keys only)."""
    signed = Account.sign_message(encode_typed_data(full_message=typed_data), private_key)
    return "0x" + signed.signature.hex().removeprefix("0x")


# -- EIP-4361 Sign-In with Ethereum -------------------------------------------------------------------

# The ABNF's terms (EIP-4361 "Message Format"; RFC 3986 for authority, URI, reserved,
# unreserved and pchar; RFC 3339 for date-time). ``%s`` strings are case-sensitive.
_UNRESERVED = r"A-Za-z0-9\-._~"
_RESERVED = r":/?#\[\]@!$&'()*+,;="
_SUB_DELIMS = r"!$&'()*+,;="
SCHEME = r"[A-Za-z][A-Za-z0-9+\-.]*"
AUTHORITY = (
    rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:%]*@)?(?:\[[0-9A-Fa-f:.]+\]|[{_UNRESERVED}{_SUB_DELIMS}%]+)(?::[0-9]*)?"
)
URI = rf"{SCHEME}:[{_UNRESERVED}{_RESERVED}%]+"
DATE_TIME = r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})"
SIWE_MESSAGE = re.compile(
    rf"(?:(?P<scheme>{SCHEME})://)?(?P<domain>{AUTHORITY}) wants you to sign in with your Ethereum account:\n"
    r"(?P<address>0x[0-9a-fA-F]{40})\n"
    r"\n"
    rf"(?:(?P<statement>[{_UNRESERVED}{_RESERVED} ]+)\n)?"
    r"\n"
    rf"URI: (?P<uri>{URI})\n"
    r"Version: (?P<version>1)\n"
    r"Chain ID: (?P<chain_id>[0-9]+)\n"
    r"Nonce: (?P<nonce>[A-Za-z0-9]{8,})\n"
    rf"Issued At: (?P<issued_at>{DATE_TIME})"
    rf"(?:\nExpiration Time: (?P<expiration_time>{DATE_TIME}))?"
    rf"(?:\nNot Before: (?P<not_before>{DATE_TIME}))?"
    rf"(?:\nRequest ID: (?P<request_id>[{_UNRESERVED}{_SUB_DELIMS}:@%]*))?"
    rf"(?:\nResources:(?P<resources>(?:\n- {URI})*))?"
)


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    statement: str | None
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: datetime
    expiration_time: datetime | None = None
    not_before: datetime | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = ()
    scheme: str | None = None

    def text(self) -> str:
        """The message as EIP-4361 writes it (parse(m.text()) == m)."""
        lines = [
            f"{self.scheme + '://' if self.scheme else ''}{self.domain} wants you to sign in with your Ethereum account:",
            self.address,
            "",
            *([self.statement, ""] if self.statement else [""]),
            f"URI: {self.uri}",
            f"Version: {self.version}",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {rfc3339(self.issued_at)}",
        ]
        if self.expiration_time:
            lines.append(f"Expiration Time: {rfc3339(self.expiration_time)}")
        if self.not_before:
            lines.append(f"Not Before: {rfc3339(self.not_before)}")
        if self.request_id is not None:
            lines.append(f"Request ID: {self.request_id}")
        if self.resources:
            lines += ["Resources:", *(f"- {r}" for r in self.resources)]
        return "\n".join(lines)


def rfc3339(at: datetime) -> str:
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_siwe(text: str) -> SiweMessage:
    """Parse an EIP-4361 message by its ABNF; SignatureError says which term is wrong."""
    if len(text) > 4000:
        raise SignatureError("the sign-in message is longer than 4,000 characters")
    match = SIWE_MESSAGE.fullmatch(text)
    if match is None:
        raise SignatureError(f"not an EIP-4361 sign-in message: {_first_bad_line(text)}")
    g = match.groupdict()
    if not is_checksum_address(g["address"]):
        raise SignatureError(f"address {g['address']} is not EIP-55 checksummed (EIP-4361 requires it)")
    return SiweMessage(
        domain=g["domain"],
        address=g["address"],
        statement=g["statement"],
        uri=g["uri"],
        version=g["version"],
        chain_id=int(g["chain_id"]),
        nonce=g["nonce"],
        issued_at=_when(g["issued_at"]),
        expiration_time=_when(g["expiration_time"]) if g["expiration_time"] else None,
        not_before=_when(g["not_before"]) if g["not_before"] else None,
        request_id=g["request_id"],
        resources=tuple(r[2:] for r in (g["resources"] or "").split("\n") if r),
        scheme=g["scheme"],
    )


def _when(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.upper())
    except ValueError as exc:
        raise SignatureError(f"{text!r} is not an RFC 3339 date-time") from exc


def _first_bad_line(text: str) -> str:
    """Name the first line that breaks the grammar, for the error message."""
    lines = text.split("\n")
    expected = [
        (
            "first line",
            re.compile(rf"(?:{SCHEME}://)?{AUTHORITY} wants you to sign in with your Ethereum account:"),
        ),
        ("address line", re.compile(r"0x[0-9a-fA-F]{40}")),
    ]
    for i, (what, pattern) in enumerate(expected):
        if i >= len(lines) or not pattern.fullmatch(lines[i]):
            return f"line {i + 1} ({what}) does not match"
    for i, line in enumerate(lines):
        for key, pattern in (
            ("URI: ", URI),
            ("Version: ", "1"),
            ("Chain ID: ", "[0-9]+"),
            ("Nonce: ", "[A-Za-z0-9]{8,}"),
            ("Issued At: ", DATE_TIME),
        ):
            if line.startswith(key) and not re.fullmatch(pattern, line[len(key) :]):
                return f"line {i + 1}: {key.strip()} {line[len(key) :]!r} is not valid"
    return "a required line is missing or out of order (URI, Version, Chain ID, Nonce, Issued At)"


def siwe_signer(text: str, signature: str) -> str:
    """The address whose EIP-191 personal_sign signature this is."""
    return recover(encode_defunct(text=text), signature)


def sign_siwe(text: str, private_key: str) -> str:
    """Sign as a wallet's personal_sign would (tests and the demo's test keys only)."""
    signed = Account.sign_message(encode_defunct(text=text), private_key)
    return "0x" + signed.signature.hex().removeprefix("0x")
