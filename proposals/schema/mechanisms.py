"""Per mechanism: the ordered parameter specs and the invariants (the protocols' own rules)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

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
    fmt,
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
    )


# -- Invariants ---------------------------------------------------------------------------------
# Each returns violations naming the parameter, the limit and the value; the values are already
# known to be Decimals within their bounds' types.


def _aave_invariants(v: Mapping[str, Any]) -> list[Violation]:
    # Aave v3 PoolConfigurator.configureReserveAsCollateral: ltv <= liquidationThreshold,
    # liquidationThreshold.percentMul(liquidationBonus) <= PERCENTAGE_FACTOR, and a bonus above
    # 100 % when the threshold is not zero.
    out = []
    ltv, lt, bonus = v["ltv"], v["liquidation_threshold"], v["liquidation_bonus"]
    if ltv > lt:
        out.append(
            Violation("ltv", f"ltv must be at most liquidation_threshold ({fmt(lt)}); it is {fmt(ltv)}.")
        )
    if lt * (1 + bonus) > 1:
        out.append(
            Violation(
                "liquidation_bonus",
                f"liquidation_threshold x (1 + liquidation_bonus) must be at most 1; it is "
                f"{fmt(lt)} x {fmt(1 + bonus)} = {fmt(lt * (1 + bonus))}.",
            )
        )
    if lt > 0 and bonus <= 0:
        out.append(
            Violation(
                "liquidation_bonus",
                f"liquidation_bonus must be above 0 when the threshold is not 0; it is {fmt(bonus)}.",
            )
        )
    return out


def _compound_invariants(v: Mapping[str, Any]) -> list[Violation]:
    # compound-finance/comet CometCore/Comet constructor: borrowCollateralFactor <
    # liquidateCollateralFactor <= 1 (MAX_COLLATERAL_FACTOR), storeFrontPriceFactor <= 1.
    out = []
    if v["store_front_price_factor"] > 1:
        out.append(
            Violation(
                "store_front_price_factor",
                f"store_front_price_factor must be at most 1; it is {fmt(v['store_front_price_factor'])}.",
            )
        )
    for symbol, a in v["assets"].items():
        b, lcf = a["borrow_collateral_factor"], a["liquidate_collateral_factor"]
        if b >= lcf:
            out.append(
                Violation(
                    f"assets.{symbol}.borrow_collateral_factor",
                    f"{symbol}: borrow_collateral_factor must be below liquidate_collateral_factor "
                    f"({fmt(lcf)}); it is {fmt(b)}.",
                )
            )
        if lcf > 1:
            out.append(
                Violation(
                    f"assets.{symbol}.liquidate_collateral_factor",
                    f"{symbol}: liquidate_collateral_factor must be at most 1; it is {fmt(lcf)}.",
                )
            )
    return out


def _maker_invariants(v: Mapping[str, Any]) -> list[Violation]:
    # dss Dog.file("chop") and Clipper/Abacus semantics (margin-engine.md 2.3, export.md).
    out = []
    if v["chop"] < 1:
        out.append(
            Violation("chop", f"chop must be at least 1 (a penalty, 1.13 = 13 %); it is {fmt(v['chop'])}.")
        )
    if v["buf"] < 1:
        out.append(
            Violation(
                "buf", f"buf must be at least 1 (the auction starts above the oracle); it is {fmt(v['buf'])}."
            )
        )
    if v["cut"] > 1:
        out.append(
            Violation("cut", f"cut must be at most 1 (the price must fall per step); it is {fmt(v['cut'])}.")
        )
    if not (0 < v["cusp"] < 1):
        out.append(Violation("cusp", f"cusp must be strictly between 0 and 1; it is {fmt(v['cusp'])}."))
    if v["mat"] <= 1:
        out.append(
            Violation(
                "mat", f"mat must be above 1 (a vault must be overcollateralized); it is {fmt(v['mat'])}."
            )
        )
    return out


def _perp_invariants(v: Mapping[str, Any]) -> list[Violation]:
    # Tiered margins as on dYdX / Hyperliquid: maintenance(notional) = notional * mmf(tier) -
    # deduction(tier), with the deduction chosen so the requirement is continuous at each floor
    # (see perp_deductions). It is then non-decreasing only if mmf does not fall across tiers.
    out: list[Violation] = []
    tiers = v["tiers"]
    if not tiers:
        return [Violation("tiers", "at least one margin tier is required.")]
    if tiers[0]["notional_floor"] != 0:
        out.append(
            Violation(
                "tiers.0.notional_floor",
                f"Tier 1: notional_floor must be 0; it is {fmt(tiers[0]['notional_floor'])}.",
            )
        )
    for i, t in enumerate(tiers):
        n = i + 1
        mmf, imf = t["maintenance_margin_fraction"], t["initial_margin_fraction"]
        if mmf >= imf:
            out.append(
                Violation(
                    f"tiers.{i}.maintenance_margin_fraction",
                    f"Tier {n}: maintenance_margin_fraction must be below initial_margin_fraction "
                    f"({fmt(imf)}); it is {fmt(mmf)}.",
                )
            )
        if i == 0:
            continue
        prev = tiers[i - 1]
        if t["notional_floor"] <= prev["notional_floor"]:
            out.append(
                Violation(
                    f"tiers.{i}.notional_floor",
                    f"Tier {n}: notional_floor must be above tier {n - 1}'s "
                    f"({fmt(prev['notional_floor'])}); it is {fmt(t['notional_floor'])}.",
                )
            )
        if mmf < prev["maintenance_margin_fraction"]:
            out.append(
                Violation(
                    f"tiers.{i}.maintenance_margin_fraction",
                    f"Tier {n}: maintenance_margin_fraction must be at least tier {n - 1}'s "
                    f"({fmt(prev['maintenance_margin_fraction'])}) so the continuous maintenance "
                    f"margin never falls as notional grows; it is {fmt(mmf)}.",
                )
            )
        if imf < prev["initial_margin_fraction"]:
            out.append(
                Violation(
                    f"tiers.{i}.initial_margin_fraction",
                    f"Tier {n}: initial_margin_fraction must be at least tier {n - 1}'s "
                    f"({fmt(prev['initial_margin_fraction'])}); it is {fmt(imf)}.",
                )
            )
    return out


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
}


def schema_for(mechanism: str) -> MechanismSchema:
    try:
        return SCHEMAS[mechanism]
    except KeyError:
        raise SchemaError(f"unknown mechanism {mechanism!r}; expected one of {sorted(SCHEMAS)}") from None
