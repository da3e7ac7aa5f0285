"""What a market of each mechanism must name for the export (spec/export.md): its contracts
and its target, with addresses that are lower-case or correctly EIP-55 checksummed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eth_utils import is_address, is_checksum_address

# The export adapters' inputs (spec/export.md "Commands"): contracts, then target.
REQUIRED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "aave-v3": (("pool_configurator",), ("asset",)),
    # No standard adapter yet: the calls come from the market's custom adapter (the Spoke's
    # updateDynamicReserveConfig and updateLiquidationConfig, docs/export.md "custom"). The
    # market still names its Spoke and the reserve's id on it, so a reviewer sees which
    # reserve it governs and a standard adapter can be added without reconfiguring it.
    "aave-v4": (("spoke",), ("reserve_id",)),
    "compound-v3": (("configurator", "proxy_admin"), ("comet", "assets")),
    "maker-clip": (("spot", "dog", "clip", "calc"), ("ilk",)),
    "perp": ((), ()),
    # A MetaMorpho vault, exported by its custom adapter (submitCap per market); each market
    # is named by its Morpho Blue MarketParams (loan and collateral token, oracle, IRM, LLTV).
    "morpho-blue": ((), ("vault", "markets")),
}
MORPHO_MARKET_ADDRESSES = ("loan_token", "collateral_token", "oracle", "irm")


def collateral_order(target: Mapping[str, Any]) -> list[str]:
    """A Comet market's collateral assets in its configured order: ``target["asset_order"]``
    when given, else by symbol. (A JSON object's key order is not kept by every database:
    PostgreSQL's jsonb sorts keys, so the order is a list of its own.)"""
    assets = target.get("assets", {})
    order = target.get("asset_order")
    if isinstance(order, list) and sorted(order) == sorted(assets):
        return list(order)
    return sorted(assets)


def backtest_assets(mechanism: str, target: Mapping[str, Any]) -> list[str] | None:
    """The collateral assets a Compound v3 market is backtested on, in the order of its book's
    columns and its scenarios' price paths: every collateral asset (margin-engine.md 2.8: an
    account holds all of them at once) in ``collateral_order``, or only
    ``target["backtest_asset"]`` when the administrator restricted backtests to one. None for
    other mechanisms."""
    if mechanism != "compound-v3":
        return None
    if target.get("backtest_asset"):
        return [target["backtest_asset"]]
    return collateral_order(target)


def engine_mechanism(mechanism: str, assets: list[str] | None) -> str:
    """The engine mechanism a market's backtests and books use: a Comet market on several
    collateral assets is ``compound-v3-accounts`` (whose one-asset results are compound-v3's)."""
    if mechanism == "compound-v3" and assets and len(assets) > 1:
        return "compound-v3-accounts"
    return mechanism


def address_problem(name: str, value: Any) -> str | None:
    """Why ``value`` is not an address the export accepts, or None."""
    if not isinstance(value, str) or not is_address(value):
        return f"{name}: {value!r} is not a 20-byte hex address."
    body = value[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(value):
        return f"{name}: {value} has mixed case with a wrong EIP-55 checksum."
    return None


def check_market_config(mechanism: str, contracts: Mapping[str, Any], target: Mapping[str, Any]) -> list[str]:
    """Problems with a market's ``contracts`` and ``target`` (empty when the export can use them)."""
    need_contracts, need_target = REQUIRED.get(mechanism, ((), ()))
    out = [f"contracts: {k} is required for {mechanism}." for k in need_contracts if k not in contracts]
    out += [f"target: {k} is required for {mechanism}." for k in need_target if k not in target]
    out += [p for k, v in contracts.items() if (p := address_problem(f"contracts.{k}", v))]
    for key in ("asset", "comet", "vault"):
        if key in target and (p := address_problem(f"target.{key}", target[key])):
            out.append(p)
    if mechanism == "compound-v3":
        assets = target.get("assets", {})
        if not isinstance(assets, Mapping):
            return [*out, "target.assets: expected {symbol: {asset, decimals}}."]
        for symbol, item in assets.items():
            if not isinstance(item, Mapping):
                out.append(f"target.assets.{symbol}: expected {{asset, decimals}}.")
                continue
            if p := address_problem(f"target.assets.{symbol}.asset", item.get("asset")):
                out.append(p)
            decimals = item.get("decimals")
            if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 36:
                out.append(
                    f"target.assets.{symbol}.decimals: an integer from 0 to 36 is required; it is {decimals!r}."
                )
        order = target.get("asset_order")
        if order is not None and (not isinstance(order, list) or sorted(order) != sorted(assets)):
            out.append(
                f"target.asset_order: a list of every collateral asset once, {sorted(assets)} in the "
                f"order their calls are exported; it is {order!r}."
            )
        backtest_asset = target.get("backtest_asset")
        if backtest_asset is not None and backtest_asset not in assets:
            out.append(
                f"target.backtest_asset: must be one of the collateral assets {sorted(assets)}; "
                f"it is {backtest_asset!r}."
            )
    if mechanism == "aave-v4" and "reserve_id" in target:
        reserve_id = target["reserve_id"]
        if not isinstance(reserve_id, int) or isinstance(reserve_id, bool) or reserve_id < 0:
            out.append(
                f"target.reserve_id: the reserve's id on the Spoke, an integer >= 0; it is {reserve_id!r}."
            )
    if mechanism == "morpho-blue" and "markets" in target:
        out += _morpho_markets(target["markets"])
    if mechanism == "maker-clip" and "ilk" in target:
        ilk = target["ilk"]
        if not isinstance(ilk, str) or not ilk.isascii() or not 0 < len(ilk.encode()) <= 32:
            out.append(f"target.ilk: an ASCII name of 1 to 32 bytes is required (bytes32); it is {ilk!r}.")
    return out


def _morpho_markets(markets: Any) -> list[str]:
    """Problems with a vault's ``target.markets``: ``{label: {loan_token, collateral_token,
    oracle, irm, lltv}}``, the MarketParams of each Morpho Blue market it lends to."""
    if not isinstance(markets, Mapping) or not markets:
        return ["target.markets: expected {label: {loan_token, collateral_token, oracle, irm, lltv}}."]
    out = []
    for label, item in markets.items():
        if not isinstance(item, Mapping):
            out.append(
                f"target.markets.{label}: expected {{loan_token, collateral_token, oracle, irm, lltv}}."
            )
            continue
        for key in MORPHO_MARKET_ADDRESSES:
            if p := address_problem(f"target.markets.{label}.{key}", item.get(key)):
                out.append(p)
        lltv = item.get("lltv")
        if not isinstance(lltv, str) or not lltv.replace(".", "", 1).isdigit():
            out.append(
                f'target.markets.{label}.lltv: the market\'s LLTV as text ("0.86") is required; it is {lltv!r}.'
            )
    return out
