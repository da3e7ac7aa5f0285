"""Per mechanism: the ordered parameter specs and the invariants (the protocols' own rules).

Parameters added to a mechanism after versions of it were stored (the perp's funding, partial
liquidation and backstop parameters) carry a ``default``: the value that turns the feature off
and gives the results from before it existed. Stored versions are immutable and keep their JSON
and hash as they are (``values.stored_form`` leaves an absent parameter absent); reading one
(``normalize``) fills the absent parameter with its default, so an older version never fails
to load, display, backtest or diff. A new version (a proposal, a version typed in the admin:
``normalize(..., new=True)``) must carry every parameter; the proposal form starts from the
live version read this way, so its fields are all there.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from engine import rules
from proposals.schema.base import (
    BP,
    ONE_SECOND,
    RAD,
    RAY,
    WAD,
    WHOLE,
    D,
    Group,
    GuardrailKind,
    MechanismSchema,
    ParameterSpec,
    SchemaError,
    Unit,
    Violation,
    exact,
)


def _spec(
    name: str,
    label: str,
    unit: Unit,
    lo: str | None,
    hi: str | None,
    description: str,
    guardrail: GuardrailKind | None = None,
    step: Decimal | None = None,
    default: str | None = None,
) -> ParameterSpec:
    if guardrail is None:
        guardrail = GuardrailKind.ABSOLUTE if unit in (Unit.FRACTION, Unit.RATIO) else GuardrailKind.RELATIVE
    return ParameterSpec(
        name,
        label,
        unit,
        None if lo is None else D(lo),
        None if hi is None else D(hi),
        description,
        guardrail,
        step,
        None if default is None else D(default),
    )


# -- Invariants ---------------------------------------------------------------------------------
# The protocols' rules are written once, in engine/rules.py, and applied here to the exact
# Decimal values (the engine applies them to its floats); each breach becomes a violation on its
# field. The values are already known to be Decimals within their bounds' types.


def _violations(breaches: list[rules.Breach]) -> list[Violation]:
    return [Violation(b.parameter, b.message) for b in breaches]


def _aave_invariants(v: Mapping[str, Any]) -> list[Violation]:
    return _violations(
        rules.aave_v3(
            ltv=v["ltv"],
            liquidation_threshold=v["liquidation_threshold"],
            liquidation_bonus=v["liquidation_bonus"],
        )
    )


def _aave_v4_invariants(v: Mapping[str, Any]) -> list[Violation]:
    return _violations(
        rules.aave_v4(
            collateral_factor=v["collateral_factor"],
            max_liquidation_bonus=v["max_liquidation_bonus"],
            liquidation_fee=v["liquidation_fee"],
            target_health_factor=v["target_health_factor"],
            health_factor_for_max_bonus=v["health_factor_for_max_bonus"],
            liquidation_bonus_factor=v["liquidation_bonus_factor"],
        )
    )


def _compound_invariants(v: Mapping[str, Any]) -> list[Violation]:
    breaches = rules.compound_v3_market(store_front_price_factor=v["store_front_price_factor"])
    for symbol, a in v["assets"].items():
        breaches += rules.compound_v3_asset(
            symbol=symbol,
            borrow_collateral_factor=a["borrow_collateral_factor"],
            liquidate_collateral_factor=a["liquidate_collateral_factor"],
        )
    return _violations(breaches)


def _maker_invariants(v: Mapping[str, Any]) -> list[Violation]:
    return _violations(
        rules.maker_clip(mat=v["mat"], chop=v["chop"], buf=v["buf"], cut=v["cut"], cusp=v["cusp"])
    )


def _perp_invariants(v: Mapping[str, Any]) -> list[Violation]:
    tiers = [
        (t["notional_floor"], t["initial_margin_fraction"], t["maintenance_margin_fraction"])
        for t in v["tiers"]
    ]
    return _violations(
        rules.perp_tiers(tiers)
        + rules.perp_liquidation(
            partial_fraction=v["partial_fraction"],
            backstop_fraction=v["backstop_fraction"],
            funding_interval=v["funding_interval"],
        )
    )


def _morpho_invariants(v: Mapping[str, Any]) -> list[Violation]:
    breaches = []
    for label, m in v["markets"].items():
        breaches += rules.morpho_lltv(lltv=m["lltv"], market=label)
        breaches += rules.morpho_allocation(
            supply_cap=m["supply_cap"],
            vault_supply=m["vault_supply"],
            market_supply=m["market_supply"],
            market=label,
        )
    return _violations(breaches)


def vault_markets(values: Mapping[str, Any]) -> list[str]:
    """A morpho-blue version's market labels in the engine's market order (by label): market
    ``k`` of the engine's Params and of a book's ``market`` column is the k-th of these."""
    return sorted(values["markets"])


@exact
def perp_deductions(
    tiers: list[Mapping[str, Decimal]], field: str = "maintenance_margin_fraction"
) -> list[Decimal]:
    """Per-tier deductions that make ``notional * fraction - deduction`` continuous at each floor."""
    out = [D(0)]
    for prev, t in zip(tiers, tiers[1:], strict=False):
        out.append(out[-1] + t["notional_floor"] * (t[field] - prev[field]))
    return out


F, R, T, U, S = Unit.FRACTION, Unit.RATIO, Unit.TOKENS, Unit.USD, Unit.SECONDS
MAX_AAVE_CAP = str(2**36 - 1)

SCHEMAS: dict[str, MechanismSchema] = {
    "aave-v3": MechanismSchema(
        "aave-v3",
        (
            _spec(
                "ltv",
                "Loan to value",
                F,
                "0",
                "1",
                "Share of the collateral's value that may be borrowed.",
                step=BP,
            ),
            _spec(
                "liquidation_threshold",
                "Liquidation threshold",
                F,
                "0",
                "1",
                "Health factor = collateral x price x threshold / debt; liquidatable below 1.",
                step=BP,
            ),
            _spec(
                "liquidation_bonus",
                "Liquidation bonus",
                F,
                "0",
                "1",
                "Extra collateral a liquidator receives, excluding the 100 % (0.05 = 5 %).",
                step=BP,
            ),
            _spec(
                "reserve_factor",
                "Reserve factor",
                F,
                "0",
                "1",
                "Share of interest kept by the treasury.",
                step=BP,
            ),
            _spec(
                "liquidation_protocol_fee",
                "Liquidation protocol fee",
                F,
                "0",
                "1",
                "Share of the liquidation bonus paid to the treasury.",
                step=BP,
            ),
            _spec(
                "supply_cap", "Supply cap", T, "0", MAX_AAVE_CAP, "Whole tokens; 0 means no cap.", step=WHOLE
            ),
            _spec(
                "borrow_cap", "Borrow cap", T, "0", MAX_AAVE_CAP, "Whole tokens; 0 means no cap.", step=WHOLE
            ),
        ),
        None,
        _aave_invariants,
    ),
    # One collateral reserve of an Aave v4 spoke. The first three values are the reserve's
    # dynamic config (ISpoke.DynamicReserveConfig, bps); the last three the spoke's liquidation
    # config (ISpoke.LiquidationConfig: health factors in wad, the bonus factor in bps), which
    # every reserve of the spoke shares (aave/aave-v4, src/spoke/interfaces/ISpoke.sol).
    "aave-v4": MechanismSchema(
        "aave-v4",
        (
            _spec(
                "collateral_factor",
                "Collateral factor",
                F,
                "0.0001",
                "0.9999",
                "Per collateral. Health factor = collateral x price x this factor / debt; "
                "liquidatable below 1.",
                step=BP,
            ),
            _spec(
                "max_liquidation_bonus",
                "Max liquidation bonus",
                R,
                "1",
                "2",
                "Per collateral. Collateral a liquidator receives per unit of debt repaid, including "
                "the 100 % (1.05 = 5 % bonus), paid in full at or below the max-bonus health factor.",
                step=BP,
            ),
            _spec(
                "liquidation_fee",
                "Liquidation fee",
                F,
                "0",
                "1",
                "Per collateral. Share of the bonus part of the seized collateral paid to the protocol.",
                step=BP,
            ),
            _spec(
                "target_health_factor",
                "Target health factor",
                R,
                "1",
                "10",
                "Per spoke. A liquidation repays just enough debt to bring the position back to this "
                "health factor.",
                step=WAD,
            ),
            _spec(
                "health_factor_for_max_bonus",
                "Health factor for max bonus",
                R,
                "0",
                "1",
                "Per spoke. At or below this health factor the bonus is the max; between it and 1 "
                "the bonus falls linearly to the min (a Dutch auction).",
                step=WAD,
            ),
            _spec(
                "liquidation_bonus_factor",
                "Liquidation bonus factor",
                F,
                "0",
                "1",
                "Per spoke. Share of the max bonus paid just below health factor 1: min bonus = "
                "1 + (max - 1) x this factor.",
                step=BP,
            ),
        ),
        None,
        _aave_v4_invariants,
    ),
    "compound-v3": MechanismSchema(
        "compound-v3",
        (
            _spec(
                "store_front_price_factor",
                "Store front price factor",
                F,
                "0",
                None,
                "Share of the liquidation discount passed to buyers of absorbed collateral.",
                step=WAD,
            ),
            _spec(
                "target_reserves",
                "Target reserves",
                T,
                "0",
                None,
                "Base-token reserves above which absorbed collateral is no longer sold.",
            ),
        ),
        Group(
            "assets",
            "Collateral asset",
            (
                _spec(
                    "borrow_collateral_factor",
                    "Borrow collateral factor",
                    F,
                    "0",
                    "1",
                    "Share of the collateral's value that may be borrowed.",
                    step=WAD,
                ),
                _spec(
                    "liquidate_collateral_factor",
                    "Liquidate collateral factor",
                    F,
                    "0",
                    None,
                    "An account is absorbed when collateral x price x this factor < debt.",
                    step=WAD,
                ),
                _spec(
                    "liquidation_factor",
                    "Liquidation factor",
                    F,
                    "0",
                    "1",
                    "Share of the collateral's value credited to the absorbed borrower.",
                    step=WAD,
                ),
                _spec("supply_cap", "Supply cap", T, "0", None, "Maximum collateral supplied, in tokens."),
            ),
            keyed_by_index=False,
        ),
        _compound_invariants,
    ),
    "maker-clip": MechanismSchema(
        "maker-clip",
        (
            _spec(
                "mat",
                "Liquidation ratio (mat)",
                R,
                "0",
                "10",
                "A vault is unsafe when ink x price / mat < debt.",
                step=RAY,
            ),
            _spec(
                "chop",
                "Liquidation penalty (chop)",
                R,
                "0",
                "2",
                "Debt to cover at auction: tab = debt x chop.",
                step=WAD,
            ),
            _spec(
                "hole",
                "Max DAI in auction (hole)",
                U,
                "0",
                None,
                "Per-collateral limit on debt in auction (DAI).",
                step=RAD,
            ),
            _spec(
                "buf",
                "Starting price buffer (buf)",
                R,
                "0",
                "10",
                "Auction starting price: top = oracle x buf.",
                step=RAY,
            ),
            _spec(
                "tail",
                "Max auction duration (tail)",
                S,
                "0",
                None,
                "Seconds before an auction may be reset.",
                step=ONE_SECOND,
            ),
            _spec(
                "cusp",
                "Max price drop before reset (cusp)",
                R,
                "0",
                "1",
                "An auction may be reset when price / top falls below cusp.",
                step=RAY,
            ),
            _spec(
                "chip",
                "Keeper reward share (chip)",
                F,
                "0",
                "1",
                "Share of tab paid to the keeper on kick and reset.",
                step=WAD,
            ),
            _spec(
                "tip",
                "Flat keeper reward (tip)",
                U,
                "0",
                None,
                "DAI paid to the keeper on kick and reset.",
                step=RAD,
            ),
            _spec(
                "cut",
                "Price decrease per step (cut)",
                R,
                "0",
                None,
                "Stairstep exponential decrease: price x cut per step.",
                step=RAY,
            ),
            _spec(
                "step",
                "Step length (step)",
                S,
                "1",
                None,
                "Seconds between price decreases.",
                step=ONE_SECOND,
            ),
            _spec(
                "dust",
                "Minimum vault debt (dust)",
                U,
                "0",
                None,
                "DAI; a take must not leave less than dust x chop.",
                step=RAD,
            ),
        ),
        None,
        _maker_invariants,
    ),
    "perp": MechanismSchema(
        "perp",
        (
            _spec(
                "liquidation_fee",
                "Liquidation fee",
                F,
                "0",
                "0.1",
                "Share of the closed notional paid to the insurance fund.",
            ),
            _spec(
                "insurance_fund", "Insurance fund", U, "0", None, "USD available to cover negative equity."
            ),
            # Funding and how a position is closed (margin-engine.md 2.4). Added after perp
            # versions were first stored: a version without them is read with the default,
            # the value that turns each off (no funding, whole closes, no cooldown, no
            # backstop), which is how the engine ran before; a new version carries them all.
            _spec(
                "funding_interval",
                "Funding interval",
                S,
                "0",
                "86400",
                "Seconds between funding payments (Hyperliquid and dYdX v4: hourly, 3600).",
                step=ONE_SECOND,
                default="3600",
            ),
            _spec(
                "funding_interest",
                "Funding interest",
                F,
                "-0.01",
                "0.01",
                "Interest part of the funding rate per interval (Hyperliquid: 0.01 % per 8 hours).",
                default="0",
            ),
            _spec(
                "funding_cap",
                "Funding cap",
                F,
                "0",
                "0.1",
                "Largest funding rate per interval, either way (Hyperliquid: 4 % per hour); 0 turns "
                "funding off.",
                default="0",
            ),
            _spec(
                "partial_notional",
                "Partial liquidation above",
                U,
                "0",
                None,
                "Position notional (USD) above which a liquidation closes only part of the position.",
                default="0",
            ),
            _spec(
                "partial_fraction",
                "Partial liquidation fraction",
                F,
                "0",
                "1",
                "Share of a large position closed per liquidation (Hyperliquid: 20 %); 1 closes it whole.",
                default="1",
            ),
            _spec(
                "partial_cooldown",
                "Partial liquidation cooldown",
                S,
                "0",
                "3600",
                "Seconds a partially liquidated position waits before the next partial (Hyperliquid: 30).",
                step=ONE_SECOND,
                default="0",
            ),
            _spec(
                "backstop_fraction",
                "Backstop below",
                F,
                "0",
                "1",
                "Share of the maintenance margin under which the backstop vault takes the position "
                "over instead of a market close (Hyperliquid: 2/3); 0 turns it off.",
                default="0",
            ),
        ),
        Group(
            "tiers",
            "Tier",
            (
                _spec(
                    "notional_floor",
                    "Notional floor",
                    U,
                    "0",
                    None,
                    "Position notional (USD) where this tier starts.",
                ),
                _spec(
                    "initial_margin_fraction",
                    "Initial margin fraction",
                    F,
                    "0.0001",
                    "1",
                    "Margin required to open, as a share of notional.",
                ),
                _spec(
                    "maintenance_margin_fraction",
                    "Maintenance margin fraction",
                    F,
                    "0.0001",
                    "1",
                    "Liquidatable when equity falls below notional x this fraction - deduction.",
                ),
            ),
            keyed_by_index=True,
        ),
        _perp_invariants,
    ),
    "morpho-blue": MechanismSchema(
        "morpho-blue",
        (),
        Group(
            "markets",
            "Market",
            (
                _spec(
                    "lltv",
                    "Liquidation LTV (LLTV)",
                    F,
                    "0",
                    "1",
                    "Liquidatable when debt > collateral x price x LLTV; fixed when the market was "
                    "created (one of Morpho's enabled LLTVs).",
                    step=WAD,
                ),
                _spec(
                    "supply_cap",
                    "Vault supply cap",
                    U,
                    "0",
                    None,
                    "The most the vault may supply to this market (submitCap).",
                ),
                _spec(
                    "vault_supply",
                    "Vault supply",
                    U,
                    "0",
                    None,
                    "What the vault supplies to this market (reallocate); at most the cap.",
                ),
                _spec(
                    "market_supply",
                    "Market supply",
                    U,
                    "0",
                    None,
                    "The market's total supply, the vault's and other lenders': they share its bad debt.",
                ),
            ),
            keyed_by_index=False,
        ),
        _morpho_invariants,
    ),
}


def schema_for(mechanism: str) -> MechanismSchema:
    try:
        return SCHEMAS[mechanism]
    except KeyError:
        raise SchemaError(f"unknown mechanism {mechanism!r}; expected one of {sorted(SCHEMAS)}") from None
