"""``compound-v3``: Configurator calls per collateral asset, then one
``CometProxyAdmin.deployAndUpgradeTo`` (compound-finance/comet ``Configurator.sol``,
``CometProxyAdmin.sol``): a configurator change takes effect only once the Comet is redeployed.

The Configurator stores what it is given, but Comet packs each asset when it is deployed
(``getPackedAssetInternal``): factors as ``uint16(factor / 1e14)`` (4 decimals) and the supply
cap as ``uint64(cap / 10**decimals)`` (whole tokens), truncating silently; such values are
refused here instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from engine import rules
from proposals.export.abi import (
    Call,
    ExportError,
    Field,
    changed,
    checksum_address,
    function_abi,
    read_values,
    refuse_breaches,
)
from proposals.schema import BP, fmt, is_multiple
from proposals.schema.market import collateral_order

WAD = Decimal(10) ** 18
FOUR_DECIMALS = "Comet keeps collateral factors to 4 decimals"

UPDATES = {
    "borrow_collateral_factor": function_abi(
        "updateAssetBorrowCollateralFactor",
        [("cometProxy", "address"), ("asset", "address"), ("newBorrowCF", "uint64")],
    ),
    "liquidate_collateral_factor": function_abi(
        "updateAssetLiquidateCollateralFactor",
        [("cometProxy", "address"), ("asset", "address"), ("newLiquidateCF", "uint64")],
    ),
    "liquidation_factor": function_abi(
        "updateAssetLiquidationFactor",
        [("cometProxy", "address"), ("asset", "address"), ("newLiquidationFactor", "uint64")],
    ),
    "supply_cap": function_abi(
        "updateAssetSupplyCap", [("cometProxy", "address"), ("asset", "address"), ("newSupplyCap", "uint128")]
    ),
}
SET_STORE_FRONT = function_abi(
    "setStoreFrontPriceFactor", [("cometProxy", "address"), ("newStoreFrontPriceFactor", "uint64")]
)
DEPLOY_AND_UPGRADE = function_abi(
    "deployAndUpgradeTo",
    [
        ("configuratorProxy", "address", "contract Configurator"),
        ("cometProxy", "address", "contract TransparentUpgradeableProxy"),
    ],
)
ASSET_PARAMETERS = tuple(UPDATES)
FACTOR = Field(WAD, "uint64", "percent", why=FOUR_DECIMALS)
STORE_FRONT = Field(WAD, "uint64", "percent")


def supply_cap_field(decimals: int) -> Field:
    # Comet keeps whole tokens in a uint64.
    return Field(Decimal(10) ** decimals, "uint128", "tokens", limit=(2**64 - 1) * 10**decimals)


def asset_calls(
    configurator: str,
    comet: str,
    asset: Mapping[str, Any],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    prefix: str = "",
) -> list[Call]:
    """The Configurator updates of one collateral ``asset`` (``{"asset", "decimals"}``) that
    changed, in the spec's order; parameters are named ``prefix + name`` in bindings and errors."""
    address = checksum_address(f"target.{prefix}asset", asset.get("asset"))
    decimals = asset.get("decimals")
    if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 36:
        raise ExportError(
            f"target.{prefix}decimals: an integer from 0 to 36 is required; it is {decimals!r}."
        )
    old = read_values(f"before.{prefix}".rstrip("."), before, ASSET_PARAMETERS)
    new = read_values(f"after.{prefix}".rstrip("."), after, ASSET_PARAMETERS)
    calls = []
    for name in changed(old, new, ASSET_PARAMETERS):
        key = prefix + name
        field = supply_cap_field(decimals) if name == "supply_cap" else FACTOR
        raw = field.raw(key, new[name])
        kept = Decimal(1) if name == "supply_cap" else BP
        if not is_multiple(new[name], kept):
            why = "Comet keeps supply caps in whole tokens" if name == "supply_cap" else FOUR_DECIMALS
            raise ExportError(
                f"{key}: {fmt(new[name])} is not exactly representable ({why}); "
                f"Comet would truncate it to {fmt(new[name] // kept * kept)}."
            )
        calls.append(
            Call(
                configurator,
                UPDATES[name],
                (comet, address, raw),
                (field.binding(key, 2),),
                contract="Configurator",
            )
        )
    # The protocol's rules, the same the proposal form and the engine apply (engine.rules),
    # after each changed value's own checks (type, sign, precision).
    refuse_breaches(
        rules.compound_v3_asset(
            symbol=prefix.removeprefix("assets.").rstrip("."),
            borrow_collateral_factor=new["borrow_collateral_factor"],
            liquidate_collateral_factor=new["liquidate_collateral_factor"],
        )
    )
    return calls


def market_calls(
    configurator: str, comet: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[Call]:
    """``setStoreFrontPriceFactor`` when it changed (a market-level parameter; values that name
    it in neither ``before`` nor ``after`` leave it alone)."""
    if "store_front_price_factor" not in before and "store_front_price_factor" not in after:
        return []
    old = read_values("before", before, ["store_front_price_factor"])["store_front_price_factor"]
    new = read_values("after", after, ["store_front_price_factor"])["store_front_price_factor"]
    if new > 1:
        raise ExportError(f"store_front_price_factor must be at most 1; it is {fmt(new)}.")
    if old == new:
        return []
    raw = STORE_FRONT.raw("store_front_price_factor", new)
    binding = (STORE_FRONT.binding("store_front_price_factor", 1),)
    return [Call(configurator, SET_STORE_FRONT, (comet, raw), binding, contract="Configurator")]


def compound_calls(
    contracts: Mapping[str, Any],
    comet: Any,
    assets: Sequence[tuple[str, Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]]],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> list[Call]:
    """Every asset's updates (``(prefix, {"asset", "decimals"}, before, after)`` in the market's
    order), then the market-level one, then ``deployAndUpgradeTo`` if anything changed."""
    configurator = checksum_address("contracts.configurator", contracts.get("configurator"))
    proxy_admin = checksum_address("contracts.proxy_admin", contracts.get("proxy_admin"))
    comet = checksum_address("target.comet", comet)
    calls = [
        c for prefix, asset, b, a in assets for c in asset_calls(configurator, comet, asset, b, a, prefix)
    ]
    calls += market_calls(configurator, comet, before, after)
    if calls:
        calls.append(Call(proxy_admin, DEPLOY_AND_UPGRADE, (configurator, comet), contract="CometProxyAdmin"))
    return calls


def single_asset_calls(
    contracts: Mapping[str, Any],
    target: Mapping[str, Any],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> list[Call]:
    """The ``encode_calls`` form: ``target = {"comet", "asset", "decimals"}`` and flat values
    (one asset's parameters and/or ``store_front_price_factor``); market-level changes name no
    asset."""
    assets = [("", target, before, after)] if "asset" in target else []
    return compound_calls(contracts, target.get("comet"), assets, before, after)


def market_form_calls(
    contracts: Mapping[str, Any],
    target: Mapping[str, Any],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> list[Call]:
    """A Market's form: ``target = {"comet", "assets": {symbol: {"asset", "decimals"}}}`` and
    nested values; assets in the market's configured order (``collateral_order``)."""
    configured = target.get("assets")
    if not isinstance(configured, Mapping):
        raise ExportError("target.assets: expected {symbol: {asset, decimals}}.")
    voted = after.get("assets", {})
    unknown = sorted(set(voted) - set(configured))
    if unknown:
        raise ExportError(f"assets: {', '.join(unknown)} have no address in the market's target.assets.")
    assets = [
        (f"assets.{s}.", configured[s], before.get("assets", {}).get(s, {}), voted[s])
        for s in collateral_order(target)
        if s in voted
    ]
    return compound_calls(contracts, target.get("comet"), assets, before, after)
