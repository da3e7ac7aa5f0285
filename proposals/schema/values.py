"""Shape (normalize, flatten), validation, canonical JSON and hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from proposals.schema.base import (
    Group,
    ParameterSpec,
    SchemaError,
    Violation,
    exact,
    fmt,
    is_multiple,
    parse_decimal,
)
from proposals.schema.mechanisms import schema_for

# -- Shape: normalize, flatten --------------------------------------------------------------------


def normalize(mechanism: str, values: Mapping[str, Any], *, new: bool = False) -> dict[str, Any]:
    """The values with every number parsed to Decimal and the shape checked (SchemaError).

    A parameter added after versions were stored (its spec has a ``default``) may be absent
    from a stored version: it is read as that default (the engine's "off" value). A ``new``
    version (a proposal, a version typed in the admin) must carry every parameter.
    """
    return _normalize(mechanism, values, absent="refuse" if new else "fill")


def stored_form(mechanism: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """What a version stores (and its hash covers): the canonical JSON form of the values as
    given, a parameter absent from an older version left absent, so that its stored JSON and
    hash never change."""
    return to_jsonable(_normalize(mechanism, values, absent="keep"))


def _normalize(mechanism: str, values: Mapping[str, Any], absent: str) -> dict[str, Any]:
    schema = schema_for(mechanism)
    if not isinstance(values, Mapping):
        raise SchemaError("parameter values must be a mapping.")
    names = [p.name for p in schema.params]
    expected = set(names) | ({schema.group.name} if schema.group else set())
    unknown = sorted(set(values) - expected)
    optional = {p.name: p.default for p in schema.params if p.default is not None and absent != "refuse"}
    missing = [
        n
        for n in (names + ([schema.group.name] if schema.group else []))
        if n not in values and n not in optional
    ]
    if unknown:
        raise SchemaError(f"unknown parameters for {mechanism}: {', '.join(unknown)}.")
    if missing:
        raise SchemaError(f"missing parameters for {mechanism}: {', '.join(missing)}.")
    out: dict[str, Any] = {}
    for n in names:
        if n in values:
            out[n] = parse_decimal(values[n], n)
        elif absent == "fill":
            out[n] = optional[n]
    if schema.group:
        out[schema.group.name] = _normalize_group(schema.group, values[schema.group.name])
    return out


def _normalize_group(group: Group, raw: Any) -> Any:
    names = [p.name for p in group.params]

    def one(label: str, item: Any) -> dict[str, Decimal]:
        if not isinstance(item, Mapping):
            raise SchemaError(f"{label}: expected a mapping of parameters.")
        extra, missing = sorted(set(item) - set(names)), [n for n in names if n not in item]
        if extra or missing:
            raise SchemaError(f"{label}: unknown {extra or 'none'}, missing {missing or 'none'}.")
        return {n: parse_decimal(item[n], f"{label}.{n}") for n in names}

    if group.keyed_by_index:
        if not isinstance(raw, (list, tuple)):
            raise SchemaError(f"{group.name}: expected a list.")
        return [one(f"{group.name}.{i}", item) for i, item in enumerate(raw)]
    if not isinstance(raw, Mapping) or not raw:
        raise SchemaError(f"{group.name}: expected a non-empty mapping of symbol to parameters.")
    for symbol in raw:
        if not isinstance(symbol, str) or not symbol.replace("-", "").replace("_", "").isalnum():
            raise SchemaError(f"{group.name}: {symbol!r} is not a symbol.")
    return {symbol: one(f"{group.name}.{symbol}", raw[symbol]) for symbol in sorted(raw)}


def flatten(mechanism: str, values: Mapping[str, Any]) -> dict[str, Decimal]:
    """Flat key -> Decimal, in schema order (market-level first, then each group member)."""
    schema = schema_for(mechanism)
    out = {p.name: values[p.name] for p in schema.params}
    if schema.group:
        members = values[schema.group.name]
        items = enumerate(members) if schema.group.keyed_by_index else members.items()
        for member, item in items:
            for p in schema.group.params:
                out[f"{schema.group.name}.{member}.{p.name}"] = item[p.name]
    return out


def unflatten(mechanism: str, flat: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of flatten (values are kept as given; call normalize afterwards)."""
    schema = schema_for(mechanism)
    out: dict[str, Any] = {}
    members: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        parts = key.split(".")
        if len(parts) == 1:
            out[key] = value
        elif schema.group and len(parts) == 3 and parts[0] == schema.group.name:
            members.setdefault(parts[1], {})[parts[2]] = value
        else:
            raise SchemaError(f"unknown parameter key {key!r} for {mechanism}.")
    if schema.group:
        if schema.group.keyed_by_index:
            try:
                order = sorted(members, key=int)
            except ValueError:
                raise SchemaError(f"{schema.group.name}: tier keys must be numbers.") from None
            if [int(i) for i in order] != list(range(len(order))):
                raise SchemaError(f"{schema.group.name}: tiers must be numbered 0, 1, 2, ...")
            out[schema.group.name] = [members[i] for i in order]
        else:
            out[schema.group.name] = members
    return out


def spec_for_key(mechanism: str, key: str) -> ParameterSpec:
    schema = schema_for(mechanism)
    parts = key.split(".")
    pool = schema.params if len(parts) == 1 else (schema.group.params if schema.group else ())
    for p in pool:
        if p.name == parts[-1]:
            return p
    raise SchemaError(f"unknown parameter key {key!r} for {mechanism}.")


def label_for_key(mechanism: str, key: str) -> str:
    spec = spec_for_key(mechanism, key)
    parts = key.split(".")
    if len(parts) == 1:
        return spec.label
    group = schema_for(mechanism).group
    assert group is not None
    member = f"{group.label} {int(parts[1]) + 1}" if group.keyed_by_index else parts[1]
    return f"{member}: {spec.label}"


def parameter_names(mechanism: str) -> list[str]:
    """Every parameter name of the mechanism (guardrails are set per name)."""
    schema = schema_for(mechanism)
    return [p.name for p in schema.params] + [p.name for p in (schema.group.params if schema.group else ())]


def spec_by_name(mechanism: str, name: str) -> ParameterSpec:
    schema = schema_for(mechanism)
    for p in schema.params + (schema.group.params if schema.group else ()):
        if p.name == name:
            return p
    raise SchemaError(
        f"{name!r} is not a parameter of {mechanism}; expected one of {parameter_names(mechanism)}."
    )


# -- Validation ---------------------------------------------------------------------------------


def check_bounds(mechanism: str, values: Mapping[str, Any]) -> list[Violation]:
    out = []
    for key, value in flatten(mechanism, values).items():
        spec = spec_for_key(mechanism, key)
        name = label_key(mechanism, key)
        if spec.min is not None and value < spec.min:
            out.append(
                Violation(key, f"{name} must be at least {fmt(spec.min)} ({spec.unit}); it is {fmt(value)}.")
            )
        elif spec.max is not None and value > spec.max:
            out.append(
                Violation(key, f"{name} must be at most {fmt(spec.max)} ({spec.unit}); it is {fmt(value)}.")
            )
        elif spec.step is not None and not is_multiple(value, spec.step):
            out.append(
                Violation(
                    key,
                    f"{name} must be a multiple of {fmt(spec.step)} (what the contract can hold); "
                    f"it is {fmt(value)}.",
                )
            )
    return out


def label_key(mechanism: str, key: str) -> str:
    """How messages name a key: ``ltv``, ``WETH supply_cap``, ``Tier 2 initial_margin_fraction``."""
    parts = key.split(".")
    if len(parts) == 1:
        return key
    group = schema_for(mechanism).group
    assert group is not None
    member = f"Tier {int(parts[1]) + 1}" if group.keyed_by_index else parts[1]
    return f"{member}: {parts[2]}"


@exact
def validate(mechanism: str, values: Mapping[str, Any]) -> list[Violation]:
    """Bounds, then the mechanism's invariants (only when every value is within its bounds)."""
    bounds = check_bounds(mechanism, values)
    if bounds:
        return bounds
    return schema_for(mechanism).invariants(values)


@exact
def check_target(mechanism: str, values: Mapping[str, Any], target: Mapping[str, Any]) -> list[Violation]:
    """What depends on the market's configuration, not the mechanism: for compound-v3, every
    collateral asset must have a known address, and token amounts must fit the token's decimals
    (the Configurator takes ``tokens * 10**decimals`` as an integer: export.md); for
    morpho-blue, the vault's markets are those of the market's configuration and each keeps the
    LLTV it was created with."""
    if mechanism == "morpho-blue":
        return _check_vault_markets(values, target)
    if mechanism != "compound-v3":
        return []
    out = []
    known = target.get("assets", {})
    for symbol, params in values["assets"].items():
        if symbol not in known:
            out.append(
                Violation(
                    f"assets.{symbol}.supply_cap",
                    f"{symbol}: the market has no address for this collateral asset; "
                    f"it knows {', '.join(sorted(known)) or 'none'}.",
                )
            )
            continue
        decimals = int(known[symbol].get("decimals", 18))
        if not is_multiple(params["supply_cap"], Decimal(1).scaleb(-decimals)):
            out.append(
                Violation(
                    f"assets.{symbol}.supply_cap",
                    f"{symbol}: supply_cap must be a multiple of {fmt(Decimal(1).scaleb(-decimals))} "
                    f"({symbol} has {decimals} decimals); it is {fmt(params['supply_cap'])}.",
                )
            )
    base = target.get("base")
    if base and not is_multiple(values["target_reserves"], Decimal(1).scaleb(-int(base["decimals"]))):
        out.append(
            Violation(
                "target_reserves",
                f"target_reserves must be a multiple of {fmt(Decimal(1).scaleb(-int(base['decimals'])))} "
                f"({base.get('symbol', 'the base token')} has {base['decimals']} decimals); "
                f"it is {fmt(values['target_reserves'])}.",
            )
        )
    return out


def _check_vault_markets(values: Mapping[str, Any], target: Mapping[str, Any]) -> list[Violation]:
    """A Morpho Blue market's LLTV is part of its identity (``MarketParams``) and cannot change:
    a version lends to the markets of ``target["markets"]``, each at the LLTV recorded there.
    (This is where the immutability is enforced: live and proposed are both checked against the
    configuration, so a proposal cannot change a market's LLTV; lending at another LLTV is
    another market, added to the configuration by an administrator.)"""
    known = target.get("markets", {})
    out = []
    for label in sorted(set(known) - set(values["markets"])):
        out.append(
            Violation(
                f"markets.{label}.supply_cap",
                f"{label}: the vault's market is missing; give it a cap and a supply of 0 to leave it.",
            )
        )
    for label, m in values["markets"].items():
        if label not in known:
            out.append(
                Violation(
                    f"markets.{label}.lltv",
                    f"{label}: the vault has no such market; it knows {', '.join(sorted(known)) or 'none'}.",
                )
            )
            continue
        recorded = known[label].get("lltv")
        try:
            same = m["lltv"] == Decimal(str(recorded))
        except InvalidOperation:
            same = False
        if not same:
            out.append(
                Violation(
                    f"markets.{label}.lltv",
                    f"{label}: lltv is fixed when a Morpho Blue market is created; this market's is "
                    f"{recorded}, not {fmt(m['lltv'])}.",
                )
            )
    return out


# -- Canonical JSON and hash -------------------------------------------------------------------


def to_jsonable(values: Any) -> Any:
    """Decimals as canonical strings, recursively (for JSONField storage and hashing)."""
    if isinstance(values, Decimal):
        return fmt(values)
    if isinstance(values, Mapping):
        return {str(k): to_jsonable(v) for k, v in values.items()}
    if isinstance(values, (list, tuple)):
        return [to_jsonable(v) for v in values]
    return values


def canonical_json(mechanism: str, values: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces, decimals as normalized strings: equal sets give equal text."""
    data = stored_form(mechanism, values)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def content_hash(mechanism: str, values: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(mechanism, values).encode()).hexdigest()


def engine_view(mechanism: str, values: Mapping[str, Any], asset: str | None = None) -> dict[str, Any]:
    """A flat dict for one engine run: for compound-v3, the market-level values merged with the
    named collateral asset's; for the others, the values unchanged."""
    schema = schema_for(mechanism)
    if schema.group is None or schema.group.keyed_by_index:
        return dict(values)
    if asset is None or asset not in values[schema.group.name]:
        raise SchemaError(
            f"{mechanism}: name one collateral asset of {sorted(values[schema.group.name])}; got {asset!r}."
        )
    out = {p.name: values[p.name] for p in schema.params}
    out.update(values[schema.group.name][asset])
    return out
