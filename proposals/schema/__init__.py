"""The parameter schema of every mechanism: the single source of truth.

Pure Python (no Django): forms, validation, diffs, guardrails, the engine adapters and the
export all read the parameter names, units, bounds and invariants from here.

A parameter set's *values* are a JSON-like document of exact decimals:

- ``aave-v3``, ``aave-v4`` and ``maker-clip``: a flat mapping ``{"ltv": Decimal("0.805"), ...}``;
- ``compound-v3``: market-level values plus ``"assets": {"WETH": {...}, "WBTC": {...}}``, one
  group of collateral parameters per collateral asset of the Comet market (the export emits
  one set of calls per asset, with the asset's address and decimals from ``Market.target``);
- ``perp``: ``"tiers": [{"notional_floor", "initial_margin_fraction",
  "maintenance_margin_fraction"}, ...]`` plus market-level values;
- ``morpho-blue``: ``"markets": {"wstETH/USDC 86%": {"lltv", "supply_cap", "vault_supply",
  "market_supply"}, ...}``, one group per Morpho Blue market the vault lends to (its
  ``MarketParams`` in ``Market.target["markets"]``).

Each parameter also has a flat *key* (``"ltv"``, ``"assets.WETH.supply_cap"``,
``"tiers.1.initial_margin_fraction"``): diffs, guardrails and form fields work on keys.
Values are ``Decimal``; a float is refused (it is not exact).
"""

from proposals.schema.base import (
    BP,
    EXACT,
    RAD,
    RAY,
    WAD,
    WHOLE,
    Group,
    GuardrailKind,
    MechanismSchema,
    ParameterSpec,
    SchemaError,
    Unit,
    Violation,
    exact,
    fmt,
    is_multiple,
    parse_decimal,
)
from proposals.schema.changes import (
    DiffRow,
    GuardrailRule,
    check_guardrails,
    diff,
    human_duration,
    last_changed_keys,
)
from proposals.schema.mechanisms import SCHEMAS, perp_deductions, schema_for, vault_markets
from proposals.schema.values import (
    canonical_json,
    check_bounds,
    check_target,
    content_hash,
    engine_view,
    flatten,
    label_for_key,
    label_key,
    normalize,
    parameter_names,
    spec_by_name,
    spec_for_key,
    stored_form,
    to_jsonable,
    unflatten,
    validate,
)

__all__ = [
    "BP",
    "EXACT",
    "RAD",
    "RAY",
    "WAD",
    "WHOLE",
    "Group",
    "GuardrailKind",
    "MechanismSchema",
    "ParameterSpec",
    "SchemaError",
    "Unit",
    "Violation",
    "exact",
    "fmt",
    "is_multiple",
    "parse_decimal",
    "DiffRow",
    "GuardrailRule",
    "check_guardrails",
    "diff",
    "human_duration",
    "last_changed_keys",
    "SCHEMAS",
    "perp_deductions",
    "schema_for",
    "vault_markets",
    "canonical_json",
    "check_bounds",
    "check_target",
    "content_hash",
    "engine_view",
    "flatten",
    "label_for_key",
    "label_key",
    "normalize",
    "parameter_names",
    "spec_by_name",
    "spec_for_key",
    "stored_form",
    "to_jsonable",
    "unflatten",
    "validate",
]
