"""What every adapter shares: the export's error, EIP-55 addresses, Solidity types and their
ranges, exact unit conversion, and calls encoded and decoded with eth-abi (selectors from
eth-utils' keccak).

eth-abi checks that a value fits its type when it encodes, but not that an address's mixed case
is a correct EIP-55 checksum, nor that a decimal scales to a whole number: those are checked
here, before eth-abi sees a value, and each refusal names the parameter or argument.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.exceptions import ABITypeError, DecodingError, EncodingError, ParseError
from eth_abi.grammar import ABIType, BasicType, TupleType, normalize, parse
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from engine import rules
from proposals.schema import EXACT, SchemaError, fmt, parse_decimal
from proposals.schema.market import address_problem

ZERO_ADDRESS = "0x" + "0" * 40
HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class ExportError(ValueError):
    """Input the export refuses: the message names the parameter, argument or field and says
    what would be accepted."""


def refuse_breaches(breaches: list[rules.Breach]) -> None:
    """A voted version that breaks a protocol rule (engine.rules) is never encoded."""
    if breaches:
        raise ExportError(breaches[0].message)


# -- Addresses and types ------------------------------------------------------------------------


def checksum_address(name: str, value: Any) -> str:
    """The EIP-55 form of ``value``; lower- or upper-case is accepted, mixed case only with a
    correct checksum, and nothing but 0x and 40 hex digits."""
    if not isinstance(value, str) or not HEX_ADDRESS.match(value):
        raise ExportError(f"{name}: {value!r} is not an address (0x and 40 hex digits, 20 bytes).")
    if problem := address_problem(name, value):
        raise ExportError(problem)
    return to_checksum_address(value)


def abi_type(type_str: Any, name: str = "type") -> ABIType:
    """A parsed, canonical Solidity ABI type (``uint`` is ``uint256``)."""
    try:
        parsed = parse(normalize(str(type_str)))
        parsed.validate()
    except (ParseError, ABITypeError) as exc:
        raise ExportError(f"{name}: {type_str!r} is not a Solidity ABI type ({exc}).") from None
    for basic in _basic_types(parsed):
        if basic.base in ("fixed", "ufixed", "function"):
            raise ExportError(f"{name}: {type_str} is not supported by the export.")
    return parsed


def _basic_types(t: ABIType) -> list[BasicType]:
    if isinstance(t, TupleType):
        return [b for c in t.components for b in _basic_types(c)]
    return [t]  # type: ignore[list-item]


def is_integer_type(t: ABIType) -> bool:
    return isinstance(t, BasicType) and not t.is_array and t.base in ("uint", "int")


def integer_bounds(t: BasicType) -> tuple[int, int]:
    bits = t.sub
    assert isinstance(bits, int)
    if t.base == "uint":
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def check_integer(name: str, raw: int, t: BasicType, *, limit: int | None = None, shown: str = "") -> int:
    """``raw`` if it fits ``t`` (and ``limit``, what the contract keeps); an error naming it if not."""
    lo, hi = integer_bounds(t)
    what = shown or str(raw)
    if raw < 0 and lo == 0:
        raise ExportError(f"{name}: {what} is negative; {t.to_type_str()} holds only 0 and above.")
    if raw < lo or raw > hi:
        size = "too large" if raw > hi else "too small"
        value = what if what == str(raw) else f"{what} is {raw} on chain, which"
        raise ExportError(f"{name}: {value} is {size} for {t.to_type_str()} (it holds {lo} to {hi}).")
    if limit is not None and raw > limit:
        value = what if what == str(raw) else f"{what} is {raw} on chain, which"
        raise ExportError(f"{name}: {value} is more than the contract keeps ({limit}).")
    return raw


# -- Exact units --------------------------------------------------------------------------------


def read_decimal(name: str, raw: Any) -> Decimal:
    try:
        return parse_decimal(raw, name)
    except SchemaError as exc:
        raise ExportError(str(exc)) from None


def to_raw(
    name: str,
    value: Decimal,
    scale: Decimal,
    type_str: str,
    *,
    offset: Decimal = Decimal(0),
    limit: int | None = None,
    why: str = "",
) -> int:
    """``(value + offset) * scale`` as the contract's integer, refused (never rounded) when it is
    not a whole number, is negative or does not fit the type. ``why`` says what the contract
    keeps, for the message (e.g. "Aave keeps percentages in bps")."""
    t = abi_type(type_str)
    assert isinstance(t, BasicType)
    if value < 0:
        raise ExportError(f"{name}: {fmt(value)} is negative; {t.to_type_str()} holds only 0 and above.")
    with localcontext(EXACT):
        scaled = (value + offset) * scale
        if scaled != scaled.to_integral_value():
            truncated = scaled.to_integral_value(rounding="ROUND_DOWN") / scale - offset
            raise ExportError(
                f"{name}: {fmt(value)} is not exactly representable ({why or 'the contract keeps'}: "
                f"multiples of {fmt(Decimal(1) / scale)}); the contract would truncate it to {fmt(truncated)}."
            )
    return check_integer(name, int(scaled), t, limit=limit, shown=fmt(value))


def from_raw(raw: int, scale: Decimal, offset: Decimal = Decimal(0)) -> Decimal:
    with localcontext(EXACT):
        return Decimal(raw) / scale - offset


def bytes32_text(name: str, text: Any) -> bytes:
    """ASCII text right-padded with zeros to 32 bytes (a dss ``ilk`` or ``what``)."""
    if not isinstance(text, str) or not text.isascii() or not text:
        raise ExportError(f"{name}: {text!r} is not ASCII text of 1 to 32 bytes (bytes32).")
    data = text.encode()
    if len(data) > 32:
        raise ExportError(f"{name}: {text!r} is {len(data)} bytes; a bytes32 holds at most 32.")
    return data.ljust(32, b"\0")


# -- Values from text (commands, batch files, fixed arguments) ---------------------------------


def coerce(name: str, t: ABIType, raw: Any) -> Any:
    """The eth-abi value of ``raw`` for type ``t``: integers from decimal (or 0x-hex) strings,
    addresses checked for EIP-55, bytes from 0x-hex, tuples and arrays from lists or JSON text."""
    if t.is_array:
        items = _json_list(name, raw)
        fixed = t.arrlist[-1]
        if fixed and len(items) != fixed[0]:
            raise ExportError(f"{name}: {t.to_type_str()} needs {fixed[0]} items; got {len(items)}.")
        return [coerce(f"{name}[{i}]", t.item_type, item) for i, item in enumerate(items)]
    if isinstance(t, TupleType):
        items = _json_list(name, raw)
        if len(items) != len(t.components):
            raise ExportError(
                f"{name}: {t.to_type_str()} has {len(t.components)} components; got {len(items)}."
            )
        return tuple(
            coerce(f"{name}.{i}", c, item)
            for i, (c, item) in enumerate(zip(t.components, items, strict=True))
        )
    assert isinstance(t, BasicType)
    if t.base == "address":
        return checksum_address(name, raw)
    if t.base in ("uint", "int"):
        return check_integer(name, _integer(name, raw), t)
    if t.base == "bool":
        if isinstance(raw, bool) or raw in ("true", "false"):
            return raw in (True, "true")
        raise ExportError(f'{name}: {raw!r} is not a bool; write "true" or "false".')
    if t.base == "bytes":
        return _hex_bytes(name, raw, t.sub)
    if t.base == "string" and isinstance(raw, str):
        return raw
    raise ExportError(f"{name}: {raw!r} is not a {t.to_type_str()}.")


def _json_list(name: str, raw: Any) -> list[Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise ExportError(f"{name}: {raw!r} is not a JSON list.") from None
    if not isinstance(raw, (list, tuple)):
        raise ExportError(f"{name}: {raw!r} is not a list.")
    return list(raw)


def _integer(name: str, raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        if re.fullmatch(r"-?[0-9]+", text):
            return int(text)
        if re.fullmatch(r"0x[0-9a-fA-F]+", text):
            return int(text, 16)
    raise ExportError(f"{name}: {raw!r} is not an integer; write it in decimal digits, as a string.")


def _hex_bytes(name: str, raw: Any, size: Any) -> bytes:
    if not isinstance(raw, str) or not re.fullmatch(r"0x([0-9a-fA-F]{2})*", raw):
        raise ExportError(f"{name}: {raw!r} is not 0x-prefixed hex bytes.")
    data = bytes.fromhex(raw[2:])
    if size is not None and len(data) != size:
        raise ExportError(f"{name}: {raw} is {len(data)} bytes; bytes{size} needs exactly {size}.")
    return data


def to_text(t: ABIType, value: Any) -> Any:
    """How a value is printed and written: integers in decimal, bytes as 0x-hex, addresses in
    EIP-55, bools as true/false; tuples and arrays as lists of those strings."""
    if t.is_array:
        return [to_text(t.item_type, v) for v in value]
    if isinstance(t, TupleType):
        return [to_text(c, v) for c, v in zip(t.components, value, strict=True)]
    assert isinstance(t, BasicType)
    if t.base == "address":
        return to_checksum_address(value)
    if t.base == "bool":
        return "true" if value else "false"
    if t.base == "bytes":
        return "0x" + bytes(value).hex()
    return str(value)


# -- Functions and calls ------------------------------------------------------------------------


def function_abi(name: str, inputs: Sequence[tuple[str, str] | tuple[str, str, str]]) -> dict[str, Any]:
    """A JSON ABI function entry from ``(name, type[, internalType])`` pairs."""
    return {
        "type": "function",
        "name": name,
        "stateMutability": "nonpayable",
        "inputs": [
            {"name": i[0], "type": i[1], "internalType": i[2] if len(i) > 2 else i[1]} for i in inputs
        ],
        "outputs": [],
    }


def input_type(item: Mapping[str, Any]) -> str:
    """The canonical type of one ABI input, tuples spelled out: ``(address,uint256)[]``."""
    kind = str(item.get("type", ""))
    if kind.startswith("tuple"):
        inner = ",".join(input_type(c) for c in item.get("components", []))
        return f"({inner}){kind[len('tuple') :]}"
    return abi_type(kind, str(item.get("name", "argument"))).to_type_str()


def signature_of(function: Mapping[str, Any]) -> str:
    return f"{function['name']}({','.join(input_type(i) for i in function['inputs'])})"


def parse_signature(signature: str) -> tuple[str, list[ABIType]]:
    """``name(type,...)`` into the name and its canonical types (tuples allowed)."""
    match = re.fullmatch(r"\s*([A-Za-z_$][A-Za-z0-9_$]*)\s*(\(.*\))\s*", signature or "")
    if not match:
        raise ExportError(f"signature: {signature!r} is not name(type,...).")
    types = abi_type(match.group(2).replace(" ", ""), "signature")
    assert isinstance(types, TupleType)
    return match.group(1), list(types.components)


def canonical_signature(signature: str) -> str:
    name, types = parse_signature(signature)
    return f"{name}({','.join(t.to_type_str() for t in types)})"


def encode_with_signature(signature: str, args: Sequence[Any]) -> bytes:
    """Calldata for ``signature`` and already-typed ``args``."""
    name, types = parse_signature(signature)
    canonical = f"{name}({','.join(t.to_type_str() for t in types)})"
    try:
        body = abi_encode([t.to_type_str() for t in types], list(args))
    except (EncodingError, TypeError, ValueError) as exc:
        raise ExportError(f"{canonical}: the arguments do not encode ({exc}).") from None
    return function_signature_to_4byte_selector(canonical) + body


def decode_with_signature(signature: str, data: bytes) -> tuple[Any, ...]:
    """The arguments of ``data``, checked to be a call of ``signature`` and in canonical form
    (decoding then encoding again gives back the same bytes)."""
    name, types = parse_signature(signature)
    canonical = f"{name}({','.join(t.to_type_str() for t in types)})"
    selector = function_signature_to_4byte_selector(canonical)
    if data[:4] != selector:
        raise ExportError(f"calldata 0x{data[:4].hex()}… is not a call of {canonical} (0x{selector.hex()}).")
    try:
        args = abi_decode([t.to_type_str() for t in types], data[4:])
    except (DecodingError, ValueError) as exc:
        raise ExportError(f"calldata of {canonical} does not decode ({exc}).") from None
    if encode_with_signature(canonical, args) != data:
        raise ExportError(f"calldata of {canonical} is not in canonical ABI form (extra or padded bytes).")
    return tuple(args)


@dataclass(frozen=True)
class Binding:
    """Where a parameter's value sits in a call: argument ``path`` (the argument's index, then
    component indexes inside tuples), as ``(value + offset) * scale``."""

    key: str
    path: tuple[int, ...]
    scale: Decimal
    offset: Decimal = Decimal(0)


@dataclass(frozen=True)
class Call:
    """One contract call: target, ABI function entry, typed arguments, the parameters it sets."""

    to: str
    function: Mapping[str, Any]
    args: tuple[Any, ...]
    bindings: tuple[Binding, ...] = ()
    value: int = 0
    contract: str = ""  # what the target is, for people ("PoolConfigurator")
    signature: str = field(init=False)
    data: bytes = field(init=False)

    def __post_init__(self) -> None:
        signature = signature_of(self.function)
        object.__setattr__(self, "signature", signature)
        object.__setattr__(self, "data", encode_with_signature(signature, self.args))

    @property
    def types(self) -> list[ABIType]:
        return parse_signature(self.signature)[1]

    def named_args(self) -> list[tuple[str, str, Any]]:
        """(name, type, printed value) per argument."""
        return [
            (i["name"], t.to_type_str(), to_text(t, a))
            for i, t, a in zip(self.function["inputs"], self.types, self.args, strict=True)
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "to": self.to,
            "value": str(self.value),
            "signature": self.signature,
            "args": [text for _, _, text in self.named_args()],
            "data": "0x" + self.data.hex(),
        }


# -- Parameters as the adapters see them --------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """How one parameter goes on chain: ``(value + offset) * scale`` as ``type`` (at most
    ``limit`` where the contract keeps less than the type), shown to people as ``kind``
    ("percent", "tokens", "ratio", "seconds", "DAI")."""

    scale: Decimal
    type: str
    kind: str
    offset: Decimal = Decimal(0)
    limit: int | None = None
    why: str = ""

    def raw(self, name: str, value: Decimal) -> int:
        return to_raw(name, value, self.scale, self.type, offset=self.offset, limit=self.limit, why=self.why)

    def binding(self, key: str, index: int) -> Binding:
        return Binding(key, (index,), self.scale, self.offset)


def read_values(label: str, values: Mapping[str, Any], names: Sequence[str]) -> dict[str, Decimal]:
    """The named values as exact decimals; a missing or inexact one is refused by name."""
    if not isinstance(values, Mapping):
        raise ExportError(f"{label}: expected a mapping of parameter values.")
    out = {}
    for name in names:
        if name not in values:
            raise ExportError(f"{label}: {name} is missing.")
        out[name] = read_decimal(f"{label}.{name}", values[name])
    return out


def changed(before: Mapping[str, Decimal], after: Mapping[str, Decimal], names: Sequence[str]) -> list[str]:
    return [n for n in names if before[n] != after[n]]
