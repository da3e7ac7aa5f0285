"""The export's two entry points: ``build_export`` (a market's live and voted versions to calls,
batch file, hashes, decode-back rows and report) and ``encode_changes`` (the ``encode_calls``
command's explicit input). Pure functions over plain data: no database."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from proposals import schema
from proposals.export.aave import aave_calls
from proposals.export.abi import (
    Call,
    ExportError,
    checksum_address,
    decode_with_signature,
    read_decimal,
    to_text,
)
from proposals.export.compound import market_form_calls, single_asset_calls
from proposals.export.custom import custom_calls
from proposals.export.decode import DecodeRow, decode_back, require_match
from proposals.export.maker import maker_calls
from proposals.export.report import render_report
from proposals.export.safe import (
    DELEGATECALL,
    SafeHashes,
    SafeTx,
    batch_file,
    batch_transactions,
    checksum_status,
    decode_multisend,
    default_multisend,
    safe_hashes,
    safe_transaction,
    typed_data,
)
from proposals.export.safe import safe_version as check_safe_version

STANDARD = {"aave-v3": aave_calls, "compound-v3": single_asset_calls, "maker-clip": maker_calls}


@dataclass(frozen=True)
class Export:
    """Everything the multisig needs, proven equal to the vote before it exists."""

    adapter: str
    calls: tuple[Call, ...]
    rows: tuple[DecodeRow, ...]
    safe: str
    chain_id: int
    nonce: int
    safe_version: str
    multisend: str | None
    tx: SafeTx
    hashes: SafeHashes
    batch: dict[str, Any]
    typed_data: dict[str, Any]
    report: str

    def batch_json(self) -> str:
        """The batch file's text, as written to disk and offered for download."""
        return json.dumps(self.batch, indent=2, ensure_ascii=False) + "\n"

    def typed_data_json(self) -> str:
        return json.dumps(self.typed_data, indent=2) + "\n"

    def call_documents(self) -> list[dict[str, Any]]:
        """Each call as stored and shown: target, contract, signature, the arguments decoded
        from the calldata bytes (name, type, value as text), and the calldata."""
        return [_call_document(call) for call in self.calls]

    def row_documents(self) -> list[dict[str, Any]]:
        """The decode-back rows as stored and shown (values as exact decimal text)."""
        return [
            {
                "key": row.key,
                "call": row.call,
                "signature": row.signature,
                "argument": row.argument,
                "voted": None if row.voted is None else schema.fmt(row.voted),
                "encoded": schema.fmt(row.encoded),
                "raw": str(row.raw),
                "ok": row.ok,
            }
            for row in self.rows
        ]


def _call_document(call: Call) -> dict[str, Any]:
    values = decode_with_signature(call.signature, call.data)
    arguments = []
    for item, t, value in zip(call.function["inputs"], call.types, values, strict=True):
        text = to_text(t, value)
        arguments.append(
            {
                "name": item.get("name", ""),
                "type": t.to_type_str(),
                "value": text if isinstance(text, str) else json.dumps(text),
            }
        )
    return {
        "to": call.to,
        "contract": call.contract,
        "value": str(call.value),
        "signature": call.signature,
        "arguments": arguments,
        "data": "0x" + call.data.hex(),
    }


def adapter_for(mechanism: str, custom_adapter: Any) -> str:
    """``custom`` when the market has a custom adapter, else the mechanism's standard one."""
    if custom_adapter:
        return "custom"
    if mechanism in STANDARD:
        return mechanism
    raise ExportError(
        f"{mechanism} has no standard export adapter: configure the market's custom adapter (ABI and mapping)."
    )


def market_calls(
    market: Mapping[str, Any], before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[str, list[Call], dict[str, Decimal], dict[str, Decimal]]:
    """The adapter, its calls, and the flat live and voted values, for a market's configuration
    (``{"mechanism", "contracts", "target", "custom_adapter"}``) and two versions' values."""
    mechanism = market.get("mechanism", "")
    adapter = adapter_for(mechanism, market.get("custom_adapter"))
    try:
        old, new = schema.normalize(mechanism, before), schema.normalize(mechanism, after)
    except schema.SchemaError as exc:
        raise ExportError(str(exc)) from None
    flat_old, flat_new = schema.flatten(mechanism, old), schema.flatten(mechanism, new)
    contracts, target = market.get("contracts") or {}, market.get("target") or {}
    if adapter == "custom":
        calls = custom_calls(market["custom_adapter"], mechanism, flat_old, flat_new, list(flat_new))
    elif adapter == "compound-v3":
        calls = market_form_calls(contracts, target, old, new)
    else:
        calls = STANDARD[adapter](contracts, target, old, new)
    return adapter, calls, flat_old, flat_new


def changed_keys(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Flat keys whose value differs, or that only one side has."""
    out = [k for k in after if k not in before or read_decimal(k, before[k]) != read_decimal(k, after[k])]
    return out + [k for k in before if k not in after]


def encode_changes(
    adapter: str,
    contracts: Mapping[str, Any],
    target: Mapping[str, Any],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> list[Call]:
    """``encode_calls``: the calls for explicit input in the spec's units, decoded back and
    compared with ``after`` before they are returned."""
    if adapter not in STANDARD:
        raise ExportError(f"adapter: {adapter!r} is not one of {', '.join(STANDARD)}.")
    for name, value in (("contracts", contracts), ("target", target), ("before", before), ("after", after)):
        if not isinstance(value, Mapping):
            raise ExportError(f"{name}: expected a JSON object.")
    calls = STANDARD[adapter](contracts, target, before, after)
    require_match(decode_back(calls, after), changed_keys(before, after))
    return calls


def build_export(
    market: Mapping[str, Any],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    safe: str,
    chain_id: int,
    nonce: int,
    safe_version: str,
    multisend: str | None = None,
    created_at_ms: int,
    title: str = "",
    description: str = "",
    verdict: str = "",
    manifest_url: str = "",
) -> Export:
    """The export of moving ``market`` from ``before`` (the live version's values) to ``after``
    (the voted version's), for the Safe ``safe`` on ``chain_id`` at ``nonce``.

    ``market`` is the plain configuration ``{"slug", "name", "mechanism", "chain_id",
    "contracts", "target", "custom_adapter"}`` (``Market.export_config()``). ``multisend``
    defaults to the canonical MultiSendCallOnly of ``safe_version``. ``verdict`` and
    ``manifest_url`` (the backtest's sentence and its run manifest) go into the report.

    Raises ExportError, naming the parameter, argument or field, when a value does not convert
    exactly or fit its type, nothing changed, or anything decoded back differs from the vote.
    """
    version = check_safe_version(safe_version)
    safe = checksum_address("safe", safe)
    if not isinstance(chain_id, int) or isinstance(chain_id, bool) or chain_id <= 0:
        raise ExportError(f"chain_id: {chain_id!r} is not a chain id (a whole number above 0).")
    if market.get("chain_id") not in (None, chain_id):
        raise ExportError(f"chain_id: the market is on chain {market['chain_id']}, not {chain_id}.")
    adapter, calls, flat_old, flat_new = market_calls(market, before, after)
    if not calls:
        raise ExportError(
            "nothing changed between the live and the voted version: there is nothing to export."
        )
    rows = decode_back(calls, flat_new)
    require_match(rows, changed_keys(flat_old, flat_new))
    multisend = checksum_address("multisend", multisend) if multisend else default_multisend(version)
    batch = batch_file(
        calls,
        chain_id=chain_id,
        safe=safe,
        created_at_ms=created_at_ms,
        name=title or f"{market.get('slug') or 'market'} parameter change",
        description=description,
    )
    transactions = _check_batch(batch, calls)
    tx = safe_transaction(transactions, nonce=nonce, multisend=multisend)
    if tx.operation == DELEGATECALL and decode_multisend(tx.data) != transactions:
        raise ExportError("the MultiSendCallOnly payload does not decode back to the batch's calls.")
    hashes = safe_hashes(tx, safe=safe, chain_id=chain_id, version=version)
    report = render_report(
        title=title,
        market=market,
        adapter=adapter,
        before=flat_old,
        after=flat_new,
        calls=calls,
        rows=rows,
        safe=safe,
        chain_id=chain_id,
        nonce=nonce,
        safe_version=version,
        tx=tx,
        hashes=hashes,
        verdict=verdict,
        manifest_url=manifest_url,
    )
    return Export(
        adapter=adapter,
        calls=tuple(calls),
        rows=tuple(rows),
        safe=safe,
        chain_id=chain_id,
        nonce=nonce,
        safe_version=version,
        multisend=multisend if tx.operation == DELEGATECALL else None,
        tx=tx,
        hashes=hashes,
        batch=batch,
        typed_data=typed_data(tx, safe=safe, chain_id=chain_id, version=version),
        report=report,
    )


def _check_batch(batch: Mapping[str, Any], calls: list[Call]) -> list[tuple[str, int, bytes]]:
    """The batch file, read back as the app reads it, carries exactly the calls' bytes."""
    if checksum_status(batch) != "valid":
        raise ExportError(
            "the batch file's checksum does not validate as the Transaction Builder computes it."
        )
    transactions = batch_transactions(batch)
    if transactions != [(c.to, c.value, c.data) for c in calls]:
        raise ExportError("the batch file does not encode back to the calls' calldata.")
    return transactions
