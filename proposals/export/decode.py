"""Decode-back: every call's calldata is decoded with its ABI, each argument that carries a
parameter is converted back to human units and compared with the voted value. A mismatch, or a
changed parameter that no call sets, blocks the export with the reason."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from proposals.export.abi import Call, ExportError, decode_with_signature, from_raw, read_decimal
from proposals.schema import fmt


@dataclass(frozen=True)
class DecodeRow:
    """One parameter as voted and as the calldata carries it."""

    key: str
    call: int  # 1-based position of the call in the export
    signature: str
    argument: str
    voted: Decimal | None
    encoded: Decimal
    raw: int

    @property
    def ok(self) -> bool:
        return self.voted is not None and self.voted == self.encoded

    def problem(self) -> str:
        if self.voted is None:
            return f"{self.key}: call {self.call} ({self.signature}) sets it, but the voted version has no such parameter."
        return (
            f"{self.key}: voted {fmt(self.voted)}, but call {self.call} ({self.signature}) carries "
            f"{self.argument} = {self.raw}, which is {fmt(self.encoded)}."
        )


def decode_back(calls: Sequence[Call], voted: Mapping[str, Any]) -> list[DecodeRow]:
    """A row per parameter argument of every call, decoded from the calldata bytes (not from the
    arguments the adapter built), in call order."""
    rows = []
    for number, call in enumerate(calls, start=1):
        args = decode_with_signature(call.signature, call.data)
        for binding in call.bindings:
            raw = _at(args, binding.path)
            if not isinstance(raw, int) or isinstance(raw, bool):
                raise ExportError(f"{binding.key}: call {number} carries {raw!r} where an integer belongs.")
            value = voted.get(binding.key)
            rows.append(
                DecodeRow(
                    key=binding.key,
                    call=number,
                    signature=call.signature,
                    argument=_argument_name(call.function["inputs"], binding.path),
                    voted=None if value is None else read_decimal(f"voted {binding.key}", value),
                    encoded=from_raw(raw, binding.scale, binding.offset),
                    raw=raw,
                )
            )
    return rows


def require_match(rows: Sequence[DecodeRow], changed_keys: Iterable[str]) -> None:
    """Refuse the export unless every row matches and every changed parameter is set by a call."""
    problems = [row.problem() for row in rows if not row.ok]
    set_keys = {row.key for row in rows}
    problems += [
        f"{key}: changed in the voted version, but no call sets it (this adapter has no call for it)."
        for key in changed_keys
        if key not in set_keys
    ]
    if problems:
        raise ExportError("the export does not match the vote: " + " ".join(problems))


def _at(args: Sequence[Any], path: tuple[int, ...]) -> Any:
    value: Any = args
    for index in path:
        value = value[index]
    return value


def _argument_name(inputs: Sequence[Mapping[str, Any]], path: tuple[int, ...]) -> str:
    names, items = [], inputs
    for index in path:
        item = items[index]
        names.append(str(item.get("name") or index))
        items = item.get("components", [])
    return ".".join(names)
