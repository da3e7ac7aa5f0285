"""The protocols' own rules on a parameter set, each written once.

A proposal form and the engine must refuse the same parameter sets, so each invariant is one
function here, called by both: proposals.schema with the exact ``Decimal`` values of a version,
the engine's ``Params`` with floats. Every function takes numbers of either kind and computes in
exact decimal arithmetic (a float is taken at its shortest repr, 0.8 as 0.8, so a float and the
Decimal typed as the same text are judged alike), and returns the broken rules as ``Breach``
(the parameter's key in the schema's terms, and a message naming the limit and the value). The
schema turns a breach into its field's message; the engine raises it as an EngineError.

Bounds of single parameters (a fraction in [0, 1]) stay with each side's own ranges; how far one
proposal may move a value (guardrails) is governance's (governance/guardrails.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext

from engine.errors import EngineError

Number = Decimal | float | int

# Wide enough that products of parameters at wad/ray/rad precision are exact.
_EXACT = Context(prec=200)


@dataclass(frozen=True)
class Breach:
    """A broken rule: ``parameter`` is the key it is reported on (``ltv``,
    ``assets.WETH.borrow_collateral_factor``, ``tiers.2.notional_floor``)."""

    parameter: str
    message: str


def _d(x: Number) -> Decimal:
    if isinstance(x, Decimal):
        return x
    if isinstance(x, bool):
        raise TypeError(f"a number is required; got {x!r}")
    if isinstance(x, int):
        return Decimal(x)
    return Decimal(repr(float(x)))


def fmt(x: Number) -> str:
    """The canonical text of a number: no exponent, no trailing zeros ("0.83", "40000000")."""
    d = _d(x)
    if d == 0:
        return "0"
    return format(d.normalize(), "f")


def aave_v3(
    *,
    liquidation_threshold: Number,
    liquidation_bonus: Number,
    ltv: Number | None = None,
    asset: str = "",
) -> list[Breach]:
    """Aave v3 ``PoolConfigurator.configureReserveAsCollateral``: ``ltv <= liquidationThreshold``,
    ``liquidationThreshold.percentMul(liquidationBonus) <= PERCENTAGE_FACTOR`` (bonus stored as
    1 + b), and a bonus above 100 % (b > 0) when the threshold is not zero
    (aave-dao/aave-v3-origin, src/contracts/protocol/pool/PoolConfigurator.sol).

    asset: when the asset is one of several, its name, for the keys (``assets.WETH.ltv``) and
    the messages."""
    key = f"assets.{asset}." if asset else ""
    who = f"{asset}: " if asset else ""
    with localcontext(_EXACT):
        lt, bonus = _d(liquidation_threshold), _d(liquidation_bonus)
        out = []
        if ltv is not None and _d(ltv) > lt:
            out.append(
                Breach(
                    f"{key}ltv",
                    f"{who}ltv must be at most liquidation_threshold ({fmt(lt)}); it is {fmt(ltv)}.",
                )
            )
        if lt * (1 + bonus) > 1:
            out.append(
                Breach(
                    f"{key}liquidation_bonus",
                    f"{who}liquidation_threshold x (1 + liquidation_bonus) must be at most 1; it is "
                    f"{fmt(lt)} x {fmt(1 + bonus)} = {fmt(lt * (1 + bonus))}.",
                )
            )
        if lt > 0 and bonus <= 0:
            out.append(
                Breach(
                    f"{key}liquidation_bonus",
                    f"{who}liquidation_bonus must be above 0 when the threshold is not 0; it is {fmt(bonus)}.",
                )
            )
        return out


def aave_v4(
    *,
    collateral_factor: Number,
    max_liquidation_bonus: Number,
    liquidation_fee: Number,
    target_health_factor: Number,
    health_factor_for_max_bonus: Number,
    liquidation_bonus_factor: Number,
) -> list[Breach]:
    """Aave v4 (margin-engine.md 2.6): a reserve's dynamic config (``maxLiquidationBonus >=
    100 %``, ``maxLB * cf < 100 %``, ``liquidationFee <= 100 %``), a spoke's liquidation config
    (``targetHealthFactor >= 1``, ``healthFactorForMaxBonus < 1``, ``liquidationBonusFactor <=
    100 %``; aave/aave-v4, ``Spoke.updateLiquidationConfig``) and, against liquidation splitting,
    ``maxLB * cf <= hfForMaxBonus`` (``docs/features/LiquidationEngine.md``, "Preventing
    Liquidation Splits"): below that health factor a position cannot be liquidated in pieces for
    more bonus than in one call. The anti-split breach is reported on ``collateral_factor``, the
    value a proposal usually moves."""
    with localcontext(_EXACT):
        cf, mlb, hf_max = _d(collateral_factor), _d(max_liquidation_bonus), _d(health_factor_for_max_bonus)
        thf, lbf, fee = _d(target_health_factor), _d(liquidation_bonus_factor), _d(liquidation_fee)
        rules = (
            (
                mlb >= 1,
                "max_liquidation_bonus",
                f"max_liquidation_bonus must be >= 1 (maxLB >= 100 %, 1.05 = 5 % bonus); it is {fmt(mlb)}.",
            ),
            (
                mlb * cf < 1,
                "max_liquidation_bonus",
                f"max_liquidation_bonus * collateral_factor must be < 1 (maxLB * cf < 100 %, the "
                f"reserve's solvency rule); it is {fmt(mlb)} x {fmt(cf)} = {fmt(mlb * cf)}.",
            ),
            (
                fee <= 1,
                "liquidation_fee",
                f"liquidation_fee must be <= 1 (liquidationFee <= 100 %); it is {fmt(fee)}.",
            ),
            (
                thf >= 1,
                "target_health_factor",
                f"target_health_factor must be >= 1 (THF >= the liquidation threshold 1); it is {fmt(thf)}.",
            ),
            (
                hf_max < 1,
                "health_factor_for_max_bonus",
                f"health_factor_for_max_bonus must be < 1 (hfForMaxBonus < the liquidation "
                f"threshold 1); it is {fmt(hf_max)}.",
            ),
            (
                lbf <= 1,
                "liquidation_bonus_factor",
                f"liquidation_bonus_factor must be <= 1 (lbFactor <= 100 %); it is {fmt(lbf)}.",
            ),
            (
                mlb * cf <= hf_max,
                "collateral_factor",
                f"max_liquidation_bonus * collateral_factor must be <= health_factor_for_max_bonus "
                f"(the anti-split rule, maxLB * cf <= hfForMaxBonus, against liquidation splitting); "
                f"it is {fmt(mlb)} x {fmt(cf)} = {fmt(mlb * cf)} > {fmt(hf_max)}.",
            ),
        )
        return [Breach(parameter, message) for ok, parameter, message in rules if not ok]


def compound_v3_market(*, store_front_price_factor: Number) -> list[Breach]:
    """Comet's constructor: ``storeFrontPriceFactor <= FACTOR_SCALE`` (``BadDiscount``;
    compound-finance/comet, contracts/Comet.sol)."""
    if _d(store_front_price_factor) > 1:
        return [
            Breach(
                "store_front_price_factor",
                f"store_front_price_factor must be at most 1; it is {fmt(store_front_price_factor)}.",
            )
        ]
    return []


def compound_v3_asset(
    *, borrow_collateral_factor: Number, liquidate_collateral_factor: Number, symbol: str = ""
) -> list[Breach]:
    """Comet ``_getPackedAsset``: ``borrowCollateralFactor < liquidateCollateralFactor``
    (``BorrowCFTooLarge``) and ``liquidateCollateralFactor <= MAX_COLLATERAL_FACTOR`` (1,
    ``LiquidateCFTooLarge``; compound-finance/comet, contracts/Comet.sol).

    symbol: the collateral asset, for the key (``assets.WETH.``) and the message."""
    b, lcf = _d(borrow_collateral_factor), _d(liquidate_collateral_factor)
    key = f"assets.{symbol}." if symbol else ""
    who = f"{symbol}: " if symbol else ""
    out = []
    if b >= lcf:
        out.append(
            Breach(
                f"{key}borrow_collateral_factor",
                f"{who}borrow_collateral_factor must be below liquidate_collateral_factor ({fmt(lcf)}); "
                f"it is {fmt(b)}.",
            )
        )
    if lcf > 1:
        out.append(
            Breach(
                f"{key}liquidate_collateral_factor",
                f"{who}liquidate_collateral_factor must be at most 1; it is {fmt(lcf)}.",
            )
        )
    return out


def maker_clip(*, mat: Number, chop: Number, buf: Number, cut: Number, cusp: Number) -> list[Breach]:
    """MakerDAO Liquidations 2.0 (dss ``Dog.file("chop")``, ``Clipper``, ``StairstepExponentialDecrease``;
    margin-engine.md 2.3): a penalty is at least 1, an auction starts at or above the oracle, its
    price falls per step, the reset ratio lies strictly between 0 and 1, and a vault is
    overcollateralized (``mat`` above 1)."""
    out = []
    if _d(chop) < 1:
        out.append(Breach("chop", f"chop must be at least 1 (a penalty, 1.13 = 13 %); it is {fmt(chop)}."))
    if _d(buf) < 1:
        out.append(
            Breach("buf", f"buf must be at least 1 (the auction starts above the oracle); it is {fmt(buf)}.")
        )
    if _d(cut) > 1:
        out.append(Breach("cut", f"cut must be at most 1 (the price must fall per step); it is {fmt(cut)}."))
    if not (0 < _d(cusp) < 1):
        out.append(Breach("cusp", f"cusp must be strictly between 0 and 1; it is {fmt(cusp)}."))
    if _d(mat) <= 1:
        out.append(
            Breach("mat", f"mat must be above 1 (a vault must be overcollateralized); it is {fmt(mat)}.")
        )
    return out


def perp_tiers(tiers: Sequence[tuple[Number, Number, Number]]) -> list[Breach]:
    """Margin tiers as on dYdX and Hyperliquid, given as (notional_floor, initial_margin_fraction,
    maintenance_margin_fraction) per tier: the first starts at no notional, floors increase,
    maintenance is below initial in every tier, and neither fraction falls across tiers, so
    the continuous maintenance margin ``notional * mmf - deduction`` never falls as notional
    grows (margin-engine.md 2.4)."""
    if not tiers:
        return [Breach("tiers", "at least one margin tier is required.")]
    t = [(_d(f), _d(imf), _d(mmf)) for f, imf, mmf in tiers]
    out = []
    if t[0][0] != 0:
        out.append(
            Breach("tiers.0.notional_floor", f"Tier 1: notional_floor must be 0; it is {fmt(t[0][0])}.")
        )
    for i, (floor, imf, mmf) in enumerate(t):
        n = i + 1
        if mmf >= imf:
            out.append(
                Breach(
                    f"tiers.{i}.maintenance_margin_fraction",
                    f"Tier {n}: maintenance_margin_fraction must be below initial_margin_fraction "
                    f"({fmt(imf)}); it is {fmt(mmf)}.",
                )
            )
        if i == 0:
            continue
        prev_floor, prev_imf, prev_mmf = t[i - 1]
        if floor <= prev_floor:
            out.append(
                Breach(
                    f"tiers.{i}.notional_floor",
                    f"Tier {n}: notional_floor must be above tier {n - 1}'s ({fmt(prev_floor)}); "
                    f"it is {fmt(floor)}.",
                )
            )
        if mmf < prev_mmf:
            out.append(
                Breach(
                    f"tiers.{i}.maintenance_margin_fraction",
                    f"Tier {n}: maintenance_margin_fraction must be at least tier {n - 1}'s "
                    f"({fmt(prev_mmf)}) so the continuous maintenance margin never falls as "
                    f"notional grows; it is {fmt(mmf)}.",
                )
            )
        if imf < prev_imf:
            out.append(
                Breach(
                    f"tiers.{i}.initial_margin_fraction",
                    f"Tier {n}: initial_margin_fraction must be at least tier {n - 1}'s "
                    f"({fmt(prev_imf)}); it is {fmt(imf)}.",
                )
            )
    return out


def perp_liquidation(
    *,
    partial_fraction: Number | None = None,
    backstop_fraction: Number | None = None,
    funding_interval: Number | None = None,
) -> list[Breach]:
    """How a perp position is closed and when funding is paid (margin-engine.md 2.4): a partial
    liquidation closes some of the position and at most all of it, ``0 < partial_fraction <=
    1``; the backstop vault takes over below a share of the maintenance margin, not above it,
    ``backstop_fraction < 1`` (Hyperliquid: 2/3); funding is paid at a positive interval. A
    value not given (None) is not judged."""
    out = []
    if partial_fraction is not None:
        f = _d(partial_fraction)
        if not 0 < f <= 1:
            out.append(
                Breach(
                    "partial_fraction",
                    f"partial_fraction must be above 0 and at most 1 (the share of the position a "
                    f"partial liquidation closes); it is {fmt(f)}.",
                )
            )
    if backstop_fraction is not None:
        b = _d(backstop_fraction)
        if not b < 1:
            out.append(
                Breach(
                    "backstop_fraction",
                    f"backstop_fraction must be below 1 (the backstop takes over below that share of "
                    f"the maintenance margin; Hyperliquid uses 2/3); it is {fmt(b)}.",
                )
            )
    if funding_interval is not None:
        i = _d(funding_interval)
        if not i > 0:
            out.append(Breach("funding_interval", f"funding_interval must be above 0; it is {fmt(i)}."))
    return out


# Morpho Blue's LLTVs enabled by its owner (``Morpho.enableLltv``; ``isLltvEnabled``): a market
# can only be created with one of them, and a vault can only lend to existing markets. 0 is for
# markets of idle liquidity. Markets at 0.86, 0.945 and 0.965 (wad 860000000000000000, ...)
# appear in published market lists (e.g. karpatkey/defi-kit's Morpho market table); the full
# list is not verified here against the chain: ``isLltvEnabled(lltv)`` on the Morpho contract is
# the authority, and a newly enabled value belongs here.
MORPHO_ENABLED_LLTVS = tuple(
    Decimal(x) for x in ("0", "0.385", "0.625", "0.77", "0.86", "0.915", "0.945", "0.965", "0.98")
)


def morpho_lltv(*, lltv: Number, market: str = "") -> list[Breach]:
    """Morpho ``createMarket``: ``require(isLltvEnabled[marketParams.lltv])``
    (morpho-org/morpho-blue, src/Morpho.sol; ``ErrorsLib.LLTV_NOT_ENABLED``).

    market: the market's label, for the key (``markets.wstETH-86.lltv``) and the message."""
    key = f"markets.{market}." if market else ""
    who = f"{market}: " if market else ""
    if _d(lltv) in MORPHO_ENABLED_LLTVS:
        return []
    enabled = ", ".join(fmt(x) for x in MORPHO_ENABLED_LLTVS)
    return [
        Breach(
            f"{key}lltv", f"{who}lltv must be one of Morpho's enabled LLTVs ({enabled}); it is {fmt(lltv)}."
        )
    ]


def morpho_allocation(
    *, supply_cap: Number, vault_supply: Number, market_supply: Number, market: str = ""
) -> list[Breach]:
    """A MetaMorpho vault's allocation to one market: ``reallocate`` reverts with
    ``SupplyCapExceeded`` when the vault's supply would exceed the market's cap
    (morpho-org/metamorpho, src/MetaMorpho.sol), and the vault's supply is part of the market's
    total supply, so ``vault_supply <= supply_cap`` and ``vault_supply <= market_supply``.

    market: the market's label, for the key (``markets.wstETH-86.vault_supply``) and the message."""
    key = f"markets.{market}." if market else ""
    who = f"{market}: " if market else ""
    v, cap, total = _d(vault_supply), _d(supply_cap), _d(market_supply)
    out = []
    if v > cap:
        out.append(
            Breach(
                f"{key}vault_supply",
                f"{who}vault_supply must be at most supply_cap ({fmt(cap)}); it is {fmt(v)}.",
            )
        )
    if total < v:
        out.append(
            Breach(
                f"{key}market_supply",
                f"{who}market_supply (the vault's and other lenders' supply) must be at least "
                f"vault_supply ({fmt(v)}); it is {fmt(total)}.",
            )
        )
    return out


def raise_first(breaches: list[Breach]) -> None:
    """For the engine's Params: raise the first breach as an EngineError (its message)."""
    if breaches:
        raise EngineError(breaches[0].message)
