"""``custom``: calls described by an administrator with a JSON ABI and a mapping, for markets
without a standard adapter (perpetual venues, Aave v4 spokes, Morpho vaults, ...).

The configuration (``Market.custom_adapter``)::

    {
      "abi": [ ...JSON ABI: the functions called... ],
      "contract": "0x…",                       # the target of every call (default)
      "mapping": {                             # parameter key -> where its value goes
        "tiers.0.initial_margin_fraction":
            {"function": "setMarginTier", "argument": "tier.initialMarginFraction", "scale": "1e6",
             "call": "tier0"},                 # optional: calls of one function told apart
        ...
      },
      "fixed": {"tier0": {"index": "0"}},      # per call: the arguments no parameter sets
      "targets": {"tier0": "0x…"}              # optional: per call, another target
    }

``function`` is a name (or a full signature when the ABI overloads it); ``argument`` names an
argument, with ``.component`` steps into tuples (``marketParams.lltv``); the value on chain is
``value * scale`` and must be a whole number that fits the argument's integer type. A call
holds every parameter mapped to it: when one changes, the call is emitted with the others at
their live values. Calls come in the schema's order of their first parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from proposals import schema
from proposals.export.abi import (
    Binding,
    Call,
    ExportError,
    abi_type,
    checksum_address,
    coerce,
    input_type,
    is_integer_type,
    read_decimal,
    signature_of,
    to_raw,
)


@dataclass
class CallPlan:
    label: str
    function: Mapping[str, Any]
    to: str
    params: dict[tuple[int, ...], tuple[str, Decimal]] = field(default_factory=dict)  # path -> key, scale
    fixed: dict[str, Any] = field(default_factory=dict)  # argument path -> raw value


def check_custom_adapter(config: Any, mechanism: str) -> list[str]:
    """Problems with a custom adapter configuration, each naming its field (empty when usable)."""
    if config in (None, {}, ""):
        return []
    try:
        _plans(config, mechanism)
    except ExportError as exc:
        return [str(exc)]
    return []


def custom_calls(
    config: Mapping[str, Any],
    mechanism: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    order: Sequence[str],
) -> list[Call]:
    """The calls whose parameters changed between the flat ``before`` and ``after``; ``order`` is
    the schema order of the keys (calls follow their first parameter's place in it)."""
    plans = _plans(config, mechanism)
    place = {key: i for i, key in enumerate(order)}
    plans.sort(key=lambda p: min(place.get(k, len(place)) for k, _ in p.params.values()))
    calls = []
    for plan in plans:
        keys = [k for k, _ in plan.params.values()]
        old = {k: read_decimal(f"before.{k}", before[k]) for k in keys if k in before}
        new = {k: read_decimal(f"after.{k}", after[k]) for k in keys if k in after}
        if all(k not in new and k not in old for k in keys) or all(old.get(k) == new.get(k) for k in keys):
            continue
        missing = [k for k in keys if k not in new]
        if missing:
            raise ExportError(f"after: {', '.join(missing)} is missing (the {plan.label} call sets it).")
        calls.append(_call(plan, new))
    return calls


def _call(plan: CallPlan, values: Mapping[str, Decimal]) -> Call:
    args, bindings = [], []
    for index, item in enumerate(plan.function["inputs"]):
        args.append(_value(plan, item, (index,), item["name"], values, bindings))
    return Call(plan.to, plan.function, tuple(args), tuple(bindings))


def _value(
    plan: CallPlan,
    item: Mapping[str, Any],
    path: tuple[int, ...],
    name: str,
    values: Mapping[str, Decimal],
    bindings: list[Binding],
) -> Any:
    if name in plan.fixed:
        return coerce(f"{plan.label}.{name}", abi_type(input_type(item)), plan.fixed[name])
    if path in plan.params:
        key, scale = plan.params[path]
        bindings.append(Binding(key, path, scale))
        return to_raw(key, values[key], scale, input_type(item))
    components = item.get("components", [])
    return tuple(
        _value(plan, c, (*path, j), f"{name}.{c['name']}", values, bindings) for j, c in enumerate(components)
    )


# -- Reading the configuration ------------------------------------------------------------------


def _plans(config: Any, mechanism: str) -> list[CallPlan]:
    if not isinstance(config, Mapping):
        raise ExportError("custom_adapter: expected {abi, contract, mapping, fixed}.")
    functions = _functions(config.get("abi"))
    contract = checksum_address("custom_adapter.contract", config.get("contract"))
    mapping, fixed = config.get("mapping"), config.get("fixed", {})
    targets = config.get("targets", {})
    if not isinstance(mapping, Mapping) or not mapping:
        raise ExportError(
            "custom_adapter.mapping: map at least one parameter to (function, argument, scale)."
        )
    if not isinstance(fixed, Mapping) or not isinstance(targets, Mapping):
        raise ExportError("custom_adapter.fixed and .targets: expected {call: {...}} mappings.")
    plans: dict[str, CallPlan] = {}
    for key, entry in mapping.items():
        where = f"custom_adapter.mapping.{key}"
        _check_key(where, mechanism, key)
        if not isinstance(entry, Mapping):
            raise ExportError(f"{where}: expected {{function, argument, scale}}.")
        function = _find_function(f"{where}.function", functions, entry.get("function"))
        label = str(entry.get("call") or function["name"])
        plan = plans.get(label)
        if plan is None:
            to = targets.get(label, contract)
            plan = plans[label] = CallPlan(
                label, function, checksum_address(f"custom_adapter.targets.{label}", to)
            )
        elif plan.function is not function:
            raise ExportError(f"{where}.call: {label!r} already calls {signature_of(plan.function)}.")
        path, item = _find_argument(f"{where}.argument", function, entry.get("argument"))
        if not is_integer_type(abi_type(input_type(item))):
            raise ExportError(
                f"{where}.argument: {entry.get('argument')} is {item['type']}, not an integer type."
            )
        if path in plan.params:
            raise ExportError(
                f"{where}.argument: {entry.get('argument')} is already set by {plan.params[path][0]}."
            )
        plan.params[path] = (key, _scale(f"{where}.scale", entry.get("scale")))
    for label, plan in plans.items():
        plan.fixed = dict(fixed.get(label, {}))
        _check_arguments(f"custom_adapter.fixed.{label}", plan)
    unknown = sorted(set(fixed) - set(plans)) + sorted(set(targets) - set(plans))
    if unknown:
        raise ExportError(f"custom_adapter: {', '.join(unknown)} is not a call of the mapping.")
    return list(plans.values())


def _functions(abi: Any) -> list[Mapping[str, Any]]:
    if not isinstance(abi, list):
        raise ExportError("custom_adapter.abi: expected a JSON ABI (a list of entries).")
    out = []
    for i, entry in enumerate(abi):
        if not isinstance(entry, Mapping):
            raise ExportError(f"custom_adapter.abi[{i}]: expected an ABI entry.")
        if entry.get("type", "function") != "function":
            continue
        if not isinstance(entry.get("name"), str) or not isinstance(entry.get("inputs"), list):
            raise ExportError(f"custom_adapter.abi[{i}]: a function needs a name and inputs.")
        _check_names(f"custom_adapter.abi[{i}] {entry['name']}", entry["inputs"])
        signature_of(entry)  # every type parses
        out.append(entry)
    if not out:
        raise ExportError("custom_adapter.abi: no function in the ABI.")
    return out


def _check_names(where: str, inputs: Sequence[Any]) -> None:
    # The batch file keys argument values by name: every argument needs one, unique.
    names = [i.get("name") if isinstance(i, Mapping) else None for i in inputs]
    if any(not isinstance(n, str) or not n for n in names) or len(set(names)) != len(names):
        raise ExportError(f"{where}: every argument (and tuple component) needs a distinct name.")
    for item in inputs:
        if str(item.get("type", "")).startswith("tuple"):
            _check_names(f"{where}.{item['name']}", item.get("components", []))


def _find_function(where: str, functions: list[Mapping[str, Any]], wanted: Any) -> Mapping[str, Any]:
    named = [f for f in functions if f["name"] == wanted or signature_of(f) == str(wanted).replace(" ", "")]
    if not named:
        raise ExportError(
            f"{where}: {wanted!r} is not a function of the ABI ({', '.join(map(signature_of, functions))})."
        )
    if len(named) > 1:
        raise ExportError(f"{where}: {wanted!r} is overloaded; name it by its full signature.")
    return named[0]


def _find_argument(
    where: str, function: Mapping[str, Any], wanted: Any
) -> tuple[tuple[int, ...], Mapping[str, Any]]:
    items, path, item = function["inputs"], (), None
    for step in str(wanted or "").split("."):
        names = [i["name"] for i in items]
        if step not in names:
            raise ExportError(f"{where}: {wanted!r} is not an argument of {signature_of(function)}.")
        index = names.index(step)
        path, item = (*path, index), items[index]
        items = item.get("components", []) if str(item["type"]) == "tuple" else []
    assert item is not None
    return path, item


def _scale(where: str, raw: Any) -> Decimal:
    scale = read_decimal(where, raw)
    if scale <= 0:
        raise ExportError(f'{where}: the scale must be above 0 (e.g. "1e18"); it is {raw!r}.')
    return scale


def _check_key(where: str, mechanism: str, key: str) -> None:
    """``key`` must be a parameter key of the market's schema (``ltv``, ``tiers.0.x``)."""
    group = schema.schema_for(mechanism).group
    parts = str(key).split(".")
    valid = len(parts) == 1 or (
        group is not None
        and len(parts) == 3
        and parts[0] == group.name
        and (parts[1].isdigit() if group.keyed_by_index else bool(parts[1]))
    )
    try:
        schema.spec_for_key(mechanism, key)
    except schema.SchemaError:
        valid = False
    if not valid:
        names = ", ".join(schema.parameter_names(mechanism))
        raise ExportError(f"{where}: {key!r} is not a parameter of {mechanism} ({names}).")


def _check_arguments(where: str, plan: CallPlan) -> None:
    """Every argument is set by exactly one parameter or fixed value, and fixed values fit."""

    def walk(items: Sequence[Mapping[str, Any]], path: tuple[int, ...], prefix: str) -> None:
        for j, item in enumerate(items):
            name, here = f"{prefix}{item['name']}", (*path, j)
            inside = [p for p in plan.params if p[: len(here)] == here]
            if name in plan.fixed:
                if inside:
                    raise ExportError(f"{where}.{name}: fixed, but a parameter also sets it.")
                coerce(f"{where}.{name}", abi_type(input_type(item)), plan.fixed[name])
            elif here not in plan.params:
                if str(item["type"]) != "tuple" or not inside:
                    raise ExportError(f"{where}.{name}: no parameter sets it and it has no fixed value.")
                walk(item.get("components", []), here, f"{name}.")

    walk(plan.function["inputs"], (), "")
    known = set()

    def names(items: Sequence[Mapping[str, Any]], prefix: str) -> None:
        for item in items:
            known.add(prefix + item["name"])
            names(item.get("components", []), f"{prefix}{item['name']}.")

    names(plan.function["inputs"], "")
    unknown = sorted(set(plan.fixed) - known)
    if unknown:
        raise ExportError(
            f"{where}: {', '.join(unknown)} is not an argument of {signature_of(plan.function)}."
        )
