"""The audit log's hash chain: the format of an entry's hash, fixed once and for all.

Every entry carries the hash of the entry before it (``prev_hash``; 64 zeros for the first) and
its own ``hash``: the sha256 of the canonical JSON of its fields and ``prev_hash``. Changing,
removing or reordering an entry changes a hash that a later entry (or the head, or a frozen
outcome) holds, so ``verify_audit_log`` finds it. This module is pure (no database) so that the
data migration that chained the existing entries and the verification read the same rules;
changing the format needs a migration that rewrites every hash.

Canonical JSON: keys sorted, separators ``,`` and ``:``, non-ASCII kept as UTF-8, no floats
(``data`` is stored as JSON by ``governance.services.record``, Decimals as strings).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def timestamp_text(at: datetime) -> str:
    """UTC, microseconds, ``+00:00``: what both databases store and give back exactly."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def decimal_text(value: Decimal) -> str:
    """An exact decimal without exponent or trailing zeros (``"1000"``, ``"0.25"``)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class EntryFields:
    """What an entry's hash covers. ``obj`` is ``app_label.model:pk`` or empty."""

    seq: int
    prev_hash: str
    at: datetime
    actor_id: int | None
    action: str
    obj: str
    object_repr: str
    data: Any

    def document(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "prev": self.prev_hash,
            "at": timestamp_text(self.at),
            "actor": self.actor_id,
            "action": self.action,
            "object": self.obj,
            "repr": self.object_repr,
            "data": self.data,
        }

    def hash(self) -> str:
        return hashlib.sha256(canonical_json(self.document())).hexdigest()


def object_key(app_label: str | None, model: str | None, object_id: str) -> str:
    return f"{app_label}.{model}:{object_id}" if app_label and model else ""
