"""The change report: one Markdown file per export, in the form of the config-diff reports
Aave's tooling attaches to every payload (``| description | value before | value after |``,
human and raw on-chain units), with every call decoded, the Safe's hashes, the decode-back
table and the backtest verdict."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal, localcontext
from typing import Any

from proposals import schema
from proposals.export import aave, compound, maker
from proposals.export.abi import Call
from proposals.export.decode import DecodeRow
from proposals.export.safe import DELEGATECALL, SafeHashes, SafeTx
from proposals.schema import EXACT, Unit, fmt


def render_report(
    *,
    title: str,
    market: Mapping[str, Any],
    adapter: str,
    before: Mapping[str, Decimal],
    after: Mapping[str, Decimal],
    calls: Sequence[Call],
    rows: Sequence[DecodeRow],
    safe: str,
    chain_id: int,
    nonce: int,
    safe_version: str,
    tx: SafeTx,
    hashes: SafeHashes,
    verdict: str = "",
    manifest_url: str = "",
) -> str:
    """The report's Markdown; ``before``/``after`` are the flat live and voted values."""
    out = [f"# {title or 'Parameter change'}", ""]
    out += _market(market, adapter)
    out += ["", "## Parameters", "", "| parameter | value before | value after |", "| --- | --- | --- |"]
    for key in list(after) + [k for k in before if k not in after]:
        old = _value(market, adapter, key, before.get(key))
        new = _value(market, adapter, key, after.get(key))
        new += " (unchanged)" if before.get(key) == after.get(key) else ""
        out.append(f"| {key} | {old} | {new} |")
    out += ["", f"## Calls ({len(calls)})", ""]
    for number, call in enumerate(calls, start=1):
        out += _call(number, call)
    out += _safe(safe, chain_id, nonce, safe_version, tx, hashes, len(calls))
    out += ["", "## Decode-back", "", "| parameter | voted value | encoded value | raw argument | |"]
    out.append("| --- | --- | --- | --- | --- |")
    for row in rows:
        voted = "(missing)" if row.voted is None else _value(market, adapter, row.key, row.voted, raw=False)
        encoded = _value(market, adapter, row.key, row.encoded, raw=False)
        tick = "✓" if row.ok else "✗"
        out.append(
            f"| {row.key} | {voted} | {encoded} | `{row.argument}` = {row.raw} (call {row.call}) | {tick} |"
        )
    out += ["", "## Backtest", "", verdict or "No backtest verdict was given for this export."]
    if manifest_url:
        out += ["", f"Run manifest: [{manifest_url}]({manifest_url})"]
    return "\n".join(out) + "\n"


def _market(market: Mapping[str, Any], adapter: str) -> list[str]:
    out = [
        f"- Market: {market.get('name') or market.get('slug') or '(unnamed)'}"
        + (f" (`{market['slug']}`)" if market.get("slug") else ""),
        f"- Mechanism: `{market.get('mechanism')}`, adapter `{adapter}`, chain id {market.get('chain_id', '?')}",
    ]
    target = market.get("target", {})
    for key in ("asset", "comet", "ilk"):
        if key in target:
            out.append(f"- Target {key}: `{target[key]}`")
    for symbol, item in (target.get("assets") or {}).items():
        out.append(f"- Collateral {symbol}: `{item.get('asset')}` ({item.get('decimals')} decimals)")
    for name, address in (market.get("contracts") or {}).items():
        out.append(f"- Contract {name}: `{address}`")
    return out


def _call(number: int, call: Call) -> list[str]:
    on = f"{call.contract} `{call.to}`" if call.contract else f"`{call.to}`"
    out = [f"### {number}. `{call.signature}`", "", f"On {on}, value {call.value}.", ""]
    out += ["| argument | type | value |", "| --- | --- | --- |"]
    for name, kind, text in call.named_args():
        shown = text if isinstance(text, str) else json.dumps(text)
        out.append(f"| {name} | {kind} | `{shown}` |")
    return [*out, "", "```", "0x" + call.data.hex(), "```", ""]


def _safe(
    safe: str, chain_id: int, nonce: int, version: str, tx: SafeTx, hashes: SafeHashes, n_calls: int
) -> list[str]:
    how = (
        f"MultiSendCallOnly `{tx.to}` by DELEGATECALL ({n_calls} calls)"
        if tx.operation == DELEGATECALL
        else f"a single CALL to `{tx.to}`"
    )
    out = [
        "## Safe transaction",
        "",
        f"- Safe: `{safe}` (version {version}), chain id {chain_id}, nonce {nonce}",
    ]
    out += [f"- Executes: {how}, value {tx.value}, operation {tx.operation}"]
    out += ["- safeTxGas 0, baseGas 0, gasPrice 0, gasToken and refundReceiver the zero address", ""]
    out += ["What the signer's hardware wallet shows:", "", "```"]
    out += [f"{label}: {value}" for label, value in hashes.ledger()]
    return [*out, "```", "", "Safe transaction data:", "", "```", "0x" + tx.data.hex(), "```"]


# -- Values for people --------------------------------------------------------------------------


def _value(
    market: Mapping[str, Any], adapter: str, key: str, value: Decimal | None, *, raw: bool = True
) -> str:
    """``82.5 % [8250]``, ``25,000,000 WETH``, ``1.45 [1450000000000000000000000000]``."""
    if value is None:
        return "(none)"
    try:
        unit = schema.spec_for_key(market["mechanism"], key).unit
    except (schema.SchemaError, KeyError):
        unit = None
    with localcontext(EXACT):
        if unit == Unit.FRACTION:
            text = f"{fmt(value * 100)} %"
        elif unit in (Unit.TOKENS, Unit.USD):
            name = (
                _symbol(market, key) if unit == Unit.TOKENS else "DAI" if adapter == "maker-clip" else "USD"
            )
            text = f"{format(value.normalize(), ',f')} {name}"
        elif unit == Unit.SECONDS:
            text = f"{format(value.normalize(), ',f')} s"
        else:
            text = fmt(value)
        scale = _scale(market, adapter, key) if raw else None
        if scale is not None and not (scale == (1, 0) and unit in (Unit.TOKENS, Unit.SECONDS)):
            on_chain = (value + scale[1]) * scale[0]
            if on_chain == on_chain.to_integral_value():
                text += f" [{int(on_chain)}]"
    return text


def _symbol(market: Mapping[str, Any], key: str) -> str:
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "assets":
        return parts[1]
    target = market.get("target", {})
    return str(target.get("symbol") or (target.get("base") or {}).get("symbol") or "tokens")


def _scale(market: Mapping[str, Any], adapter: str, key: str) -> tuple[Decimal, Decimal] | None:
    """How ``key`` goes on chain, (scale, offset), or None when no call carries it."""
    field = None
    if adapter == "aave-v3":
        field = aave.FIELDS.get(key)
    elif adapter == "maker-clip" and key in maker.FIELDS:
        field = maker.FIELDS[key][2]
    elif adapter == "compound-v3":
        parts = key.split(".")
        if key == "store_front_price_factor":
            field = compound.STORE_FRONT
        elif len(parts) == 3 and parts[2] == "supply_cap":
            decimals = market.get("target", {}).get("assets", {}).get(parts[1], {}).get("decimals")
            field = compound.supply_cap_field(decimals) if isinstance(decimals, int) else None
        elif len(parts) == 3 and parts[2] in compound.ASSET_PARAMETERS:
            field = compound.FACTOR
    elif adapter == "custom":
        entry = (market.get("custom_adapter") or {}).get("mapping", {}).get(key)
        if isinstance(entry, Mapping):
            try:
                return Decimal(str(entry.get("scale"))), Decimal(0)
            except ArithmeticError:
                return None
    return None if field is None else (field.scale, field.offset)
