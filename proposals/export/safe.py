"""What the multisig signs: the Safe transaction (one call, or a MultiSendCallOnly batch by
DELEGATECALL), its EIP-712 hashes as a Ledger shows them, the ``eth_signTypedData_v4`` JSON,
and the Safe{Wallet} Transaction Builder batch file with its checksum.

Sources: the SafeTx and domain type hashes are Safe's (``Safe.sol``; ``GnosisSafe.sol`` before
1.3.0 had no chain id in the domain, and before 1.0.0 named ``baseGas`` ``dataGas``, which is
why 1.0.0 is the oldest version supported); MultiSendCallOnly addresses are
safe-global/safe-deployments' canonical ones; the batch file and its checksum follow the
tx-builder app (safe-global/safe-react-apps ``apps/tx-builder/src/lib/checksum.ts``,
``typings/models.ts``, ``store/transactionLibraryContext.tsx``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_abi.packed import encode_packed
from eth_utils import keccak, to_checksum_address

from proposals.export.abi import (
    ZERO_ADDRESS,
    Call,
    ExportError,
    abi_type,
    checksum_address,
    coerce,
    decode_with_signature,
    encode_with_signature,
    input_type,
    signature_of,
    to_text,
)

SAFE_VERSIONS = ("1.0.0", "1.1.0", "1.1.1", "1.2.0", "1.3.0", "1.4.1", "1.5.0")
# safe-global/safe-deployments src/assets/v*/multi_send_call_only.json, "canonical".
MULTISEND_CALL_ONLY = {
    "1.3.0": "0x40A2aCCbd92BCA938b02010E17A5b8929b49130D",
    "1.4.1": "0x9641d764fc13c8B624c04430C7356C1C7C8102e2",
    "1.5.0": "0xA83c336B20401Af773B6219BA5027174338D1836",
}
CALL, DELEGATECALL = 0, 1
DOMAIN_TYPEHASH = keccak(text="EIP712Domain(uint256 chainId,address verifyingContract)")
DOMAIN_TYPEHASH_BEFORE_1_3 = keccak(text="EIP712Domain(address verifyingContract)")
SAFE_TX_FIELDS = (
    ("to", "address"),
    ("value", "uint256"),
    ("data", "bytes"),
    ("operation", "uint8"),
    ("safeTxGas", "uint256"),
    ("baseGas", "uint256"),
    ("gasPrice", "uint256"),
    ("gasToken", "address"),
    ("refundReceiver", "address"),
    ("nonce", "uint256"),
)
SAFE_TX_TYPEHASH = keccak(text="SafeTx(" + ",".join(f"{t} {n}" for n, t in SAFE_TX_FIELDS) + ")")
MULTISEND = "multiSend(bytes)"


def safe_version(raw: Any) -> str:
    """A supported Safe version (``1.3.0``; an ``+L2`` suffix changes no hash and is dropped)."""
    version = str(raw or "").strip().removesuffix("+L2")
    if version not in SAFE_VERSIONS:
        raise ExportError(
            f"safe_version: {raw!r} is not a supported Safe version; expected one of {', '.join(SAFE_VERSIONS)} "
            "(versions before 1.0.0 name a gas field differently)."
        )
    return version


def chain_id_in_domain(version: str) -> bool:
    return tuple(map(int, safe_version(version).split("."))) >= (1, 3, 0)


def default_multisend(version: str) -> str | None:
    """The canonical MultiSendCallOnly of ``version`` (none was deployed before 1.3.0)."""
    return MULTISEND_CALL_ONLY.get(safe_version(version))


# -- The Safe transaction -----------------------------------------------------------------------


@dataclass(frozen=True)
class SafeTx:
    """A Safe transaction; the export always leaves the gas fields at 0 and the zero address."""

    to: str
    value: int
    data: bytes
    operation: int
    nonce: int
    safe_tx_gas: int = 0
    base_gas: int = 0
    gas_price: int = 0
    gas_token: str = ZERO_ADDRESS
    refund_receiver: str = ZERO_ADDRESS

    def values(self) -> tuple[Any, ...]:
        return (
            self.to,
            self.value,
            self.data,
            self.operation,
            self.safe_tx_gas,
            self.base_gas,
            self.gas_price,
            self.gas_token,
            self.refund_receiver,
            self.nonce,
        )


@dataclass(frozen=True)
class SafeHashes:
    """0x-prefixed lower-case hex; ``ledger()`` prints them as a Ledger shows them."""

    domain_hash: str
    message_hash: str
    safe_tx_hash: str

    def ledger(self) -> list[tuple[str, str]]:
        return [
            ("Domain hash", "0x" + self.domain_hash[2:].upper()),
            ("Message hash", "0x" + self.message_hash[2:].upper()),
            ("safeTxHash", self.safe_tx_hash),
        ]


Transaction = tuple[str, int, bytes]  # to, value, data


def encode_multisend(transactions: Sequence[Transaction]) -> bytes:
    """``multiSend(bytes)`` calldata: each transaction packed as operation (CALL: a
    MultiSendCallOnly refuses anything else), to, value, data length and data."""
    packed = b"".join(
        encode_packed(["uint8", "address", "uint256", "uint256", "bytes"], [CALL, to, value, len(data), data])
        for to, value, data in transactions
    )
    return encode_with_signature(MULTISEND, [packed])


def decode_multisend(data: bytes) -> list[Transaction]:
    """The transactions of ``multiSend(bytes)`` calldata (every one a CALL)."""
    (packed,) = decode_with_signature(MULTISEND, data)
    out, i = [], 0
    while i < len(packed):
        if len(packed) < i + 85:
            raise ExportError(f"multiSend: a transaction at byte {i} is cut short.")
        operation, to = packed[i], to_checksum_address(packed[i + 1 : i + 21])
        value = int.from_bytes(packed[i + 21 : i + 53], "big")
        length = int.from_bytes(packed[i + 53 : i + 85], "big")
        if operation != CALL:
            raise ExportError(f"multiSend: transaction {len(out) + 1} is not a CALL (operation {operation}).")
        if len(packed) < i + 85 + length:
            raise ExportError(f"multiSend: transaction {len(out) + 1}'s data is cut short.")
        out.append((to, value, bytes(packed[i + 85 : i + 85 + length])))
        i += 85 + length
    return out


def safe_transaction(transactions: Sequence[Transaction], *, nonce: int, multisend: str | None) -> SafeTx:
    """One transaction as a plain CALL; several through MultiSendCallOnly by DELEGATECALL."""
    if not transactions:
        raise ExportError("there is no call to sign: nothing changed.")
    if not isinstance(nonce, int) or isinstance(nonce, bool) or nonce < 0:
        raise ExportError(f"nonce: {nonce!r} is not a whole number of 0 or more.")
    if len(transactions) == 1:
        to, value, data = transactions[0]
        return SafeTx(to, value, data, CALL, nonce)
    if not multisend:
        raise ExportError(
            "multisend: a batch needs a MultiSendCallOnly address (none is deployed for Safe versions before 1.3.0)."
        )
    address = checksum_address("multisend", multisend)
    return SafeTx(address, 0, encode_multisend(transactions), DELEGATECALL, nonce)


def safe_hashes(tx: SafeTx, *, safe: str, chain_id: int, version: str) -> SafeHashes:
    """The EIP-712 domain hash, message (SafeTx struct) hash and safeTxHash."""
    safe = checksum_address("safe", safe)
    if chain_id_in_domain(version):
        domain = keccak(abi_encode(["bytes32", "uint256", "address"], [DOMAIN_TYPEHASH, chain_id, safe]))
    else:
        domain = keccak(abi_encode(["bytes32", "address"], [DOMAIN_TYPEHASH_BEFORE_1_3, safe]))
    values = list(tx.values())
    values[2] = keccak(tx.data)  # EIP-712 hashes dynamic bytes
    types = ["bytes32"] + [t if t != "bytes" else "bytes32" for _, t in SAFE_TX_FIELDS]
    message = keccak(abi_encode(types, [SAFE_TX_TYPEHASH, *values]))
    safe_tx_hash = keccak(b"\x19\x01" + domain + message)
    return SafeHashes("0x" + domain.hex(), "0x" + message.hex(), "0x" + safe_tx_hash.hex())


def typed_data(tx: SafeTx, *, safe: str, chain_id: int, version: str) -> dict[str, Any]:
    """The ``eth_signTypedData_v4`` JSON of the transaction (large numbers as decimal strings)."""
    with_chain = chain_id_in_domain(version)
    domain_fields = ([{"name": "chainId", "type": "uint256"}] if with_chain else []) + [
        {"name": "verifyingContract", "type": "address"}
    ]
    domain: dict[str, Any] = {"chainId": chain_id} if with_chain else {}
    domain["verifyingContract"] = checksum_address("safe", safe)
    message: dict[str, Any] = {}
    for (name, kind), value in zip(SAFE_TX_FIELDS, tx.values(), strict=True):
        # uint256 as decimal strings (JSON numbers lose precision past 2**53); uint8 as a number.
        message[name] = "0x" + value.hex() if kind == "bytes" else str(value) if kind == "uint256" else value
    return {
        "types": {
            "EIP712Domain": domain_fields,
            "SafeTx": [{"name": n, "type": t} for n, t in SAFE_TX_FIELDS],
        },
        "primaryType": "SafeTx",
        "domain": domain,
        "message": message,
    }


# -- The Transaction Builder batch file --------------------------------------------------------


def batch_file(
    calls: Sequence[Call], *, chain_id: int, safe: str, created_at_ms: int, name: str, description: str = ""
) -> dict[str, Any]:
    """The batch file as the tx-builder app writes it (``generateBatchFile`` then
    ``addChecksum``), every call in ABI form so the signer sees named arguments."""
    batch = {
        "version": "1.0",
        "chainId": str(chain_id),
        "createdAt": created_at_ms,
        "meta": {
            "name": name,
            "description": description,
            "createdFromSafeAddress": checksum_address("safe", safe),
            "createdFromOwnerAddress": "",
        },
        "transactions": [_batch_transaction(call) for call in calls],
    }
    batch["meta"]["checksum"] = tx_builder_checksum(batch)
    return batch


def _batch_transaction(call: Call) -> dict[str, Any]:
    values = {}
    for item, t, arg in zip(call.function["inputs"], call.types, call.args, strict=True):
        text = to_text(t, arg)
        # The app JSON.parses tuple and array values (numbers as strings keep their precision).
        values[item["name"]] = text if isinstance(text, str) else json.dumps(text, separators=(",", ":"))
    return {
        "to": call.to,
        "value": str(call.value),
        "data": None,
        "contractMethod": {
            "inputs": _inputs(call.function["inputs"]),
            "name": call.function["name"],
            "payable": False,
        },
        "contractInputsValues": values,
    }


def _inputs(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        entry = {
            "internalType": item.get("internalType", item["type"]),
            "name": item["name"],
            "type": item["type"],
        }
        if "components" in item:
            entry["components"] = _inputs(item["components"])
        out.append(entry)
    return out


def tx_builder_serialize(value: Any) -> str:
    """``serializeJSONObject`` of checksum.ts: objects as their sorted key list followed by each
    value and a comma, arrays element by element, everything else as ``JSON.stringify``."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(tx_builder_serialize(v) for v in value) + "]"
    if isinstance(value, Mapping):
        keys = sorted(value)
        return "{" + _stringify(keys) + "".join(tx_builder_serialize(value[k]) + "," for k in keys) + "}"
    return _stringify(value)


def _stringify(value: Any) -> str:
    # JSON.stringify: no spaces, non-ASCII kept, the same escapes as Python's json for the rest.
    if isinstance(value, float):
        raise ExportError(
            "batch file: a number with a fraction cannot be checksummed exactly; write it as a string."
        )
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def tx_builder_checksum(batch: Mapping[str, Any]) -> str:
    """``calculateChecksum``: keccak-256 of the serialization with ``meta.name`` set to null (a
    renamed batch keeps its checksum)."""
    copy = {**batch, "meta": {**batch.get("meta", {}), "name": None}}
    return "0x" + keccak(text=tx_builder_serialize(copy)).hex()


def checksum_status(batch: Mapping[str, Any]) -> str:
    """``validateChecksum``: "valid", "absent" or "modified" (the app's warning)."""
    meta = batch.get("meta", {})
    if not isinstance(meta, Mapping) or not meta.get("checksum"):
        return "absent"
    rest = {**batch, "meta": {k: v for k, v in meta.items() if k != "checksum"}}
    return "valid" if tx_builder_checksum(rest) == meta["checksum"] else "modified"


def batch_transactions(batch: Any) -> list[Transaction]:
    """The calls of a batch file, as the app builds them: ``data`` when given, otherwise the
    ``contractMethod`` encoded with ``contractInputsValues``."""
    if not isinstance(batch, Mapping) or not isinstance(batch.get("transactions"), list):
        raise ExportError("batch file: expected an object with a transactions list.")
    out = []
    for i, tx in enumerate(batch["transactions"], start=1):
        where = f"batch transaction {i}"
        if not isinstance(tx, Mapping):
            raise ExportError(f"{where}: expected an object.")
        to = checksum_address(f"{where}.to", tx.get("to"))
        value = tx.get("value")
        if not isinstance(value, str) or not value.isdigit():
            raise ExportError(f"{where}.value: {value!r} is not a decimal string.")
        if tx.get("data"):
            data = coerce(f"{where}.data", abi_type("bytes"), tx["data"])
        else:
            data = _method_data(where, tx.get("contractMethod"), tx.get("contractInputsValues") or {})
        out.append((to, int(value), data))
    return out


def _method_data(where: str, method: Any, values: Mapping[str, Any]) -> bytes:
    if not isinstance(method, Mapping) or not isinstance(method.get("inputs"), list):
        raise ExportError(f"{where}: neither data nor a contractMethod.")
    args = []
    for item in method["inputs"]:
        if item.get("name") not in values:
            raise ExportError(f"{where}: no value for argument {item.get('name')!r}.")
        args.append(coerce(f"{where}.{item['name']}", abi_type(input_type(item)), values[item["name"]]))
    return encode_with_signature(signature_of(method), args)
