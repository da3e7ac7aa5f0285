"""A parameter set version's values (exact Decimals, proposals.schema units) -> engine Params.

Engine units are floats: fractions stay fractions (proposals.schema stores Aave's bps fields as
fractions already: 0.825, not 8250), USD stays USD. Every parameter that is a time is converted
from time with the step length of the scenario's paths, ``interval_seconds`` (margin-engine.md
section 6): a replay steps a quarter of its bars (900 s on hourly data), a simulated scenario
one bar. Maker's ``tail`` and ``step`` are seconds on chain and (fractional) steps in the
engine, exactly: the auction's age is compared with them, nothing is rounded. So the same
version gives other engine values on hourly data, on a replay of it and on minute data, and
the same auction in time on each. (The scenario's oracle times are converted the same way by
engine.scenarios.spec.market_conditions.) The perp's funding interval and partial-liquidation
cooldown are rounded up to whole steps as ``engine.market.steps_for_seconds`` does (a delay
rounded down would pay funding or liquidate again sooner than the venue); the funding interval
is at least one step.

A Morpho Blue vault's markets become the engine's per-market tuples in label order, the order
of its book's ``market`` column. Parameters the engine does not model (Aave v3 reserve factor and
caps, Compound supply caps) are left out; ``unmodelled(mechanism)`` lists them for the run's manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from engine.api import load_mechanism
from engine.errors import EngineError
from engine.market import steps_for_seconds
from proposals.schema import vault_markets
from proposals.schema.market import backtest_assets, engine_mechanism


def _f(v: Decimal) -> float:
    return float(v)


def _aave(v: Mapping[str, Any], interval_seconds: int) -> dict:
    # aave-v3 LiquidationLogic: close factor 0.5 and the 0.95 full-close threshold are
    # protocol constants, not governed parameters: the engine's defaults stand.
    return {
        "ltv": _f(v["ltv"]),
        "liquidation_threshold": _f(v["liquidation_threshold"]),
        "liquidation_bonus": _f(v["liquidation_bonus"]),
        "protocol_fee": _f(v["liquidation_protocol_fee"]),
    }


def _aave_v4(v: Mapping[str, Any], interval_seconds: int) -> dict:
    # The Spoke stores bps and wad; proposals.schema holds them as fractions and ratios already
    # (0.80, 1.05), which are the engine's units. DUST_LIQUIDATION_THRESHOLD is a protocol
    # constant, not governed: the engine's 1,000 USD stands.
    return {
        "collateral_factor": _f(v["collateral_factor"]),
        "max_liquidation_bonus": _f(v["max_liquidation_bonus"]),
        "liquidation_fee": _f(v["liquidation_fee"]),
        "target_health_factor": _f(v["target_health_factor"]),
        "health_factor_for_max_bonus": _f(v["health_factor_for_max_bonus"]),
        "liquidation_bonus_factor": _f(v["liquidation_bonus_factor"]),
    }


def _compound(v: Mapping[str, Any], interval_seconds: int, assets: list[str] | None = None) -> dict:
    # The collateral assets simulated (simulated_assets; the book holds them in this order).
    # One: engine compound-v3, the per-asset factors as numbers; several: engine
    # compound-v3-accounts (margin-engine.md 2.8), one factor per asset in this order. Comet's
    # factors are fractions already.
    symbols = list(assets or sorted(v["assets"])[:1])
    missing = [a for a in symbols if a not in v["assets"]]
    if missing:
        raise EngineError(
            f"collateral asset {missing[0]!r} is not a collateral asset of this parameter set; "
            f"it has {sorted(v['assets'])}"
        )
    factors = {
        name: tuple(_f(v["assets"][a][name]) for a in symbols)
        for name in ("borrow_collateral_factor", "liquidate_collateral_factor", "liquidation_factor")
    }
    if len(symbols) == 1:
        factors = {name: x[0] for name, x in factors.items()}
    return {
        **factors,
        "store_front_price_factor": _f(v["store_front_price_factor"]),
        "target_reserves": _f(v["target_reserves"]),
    }


def _maker(v: Mapping[str, Any], interval_seconds: int) -> dict:
    # Clipper.sol: tail and step are seconds; the engine counts steps of the price paths,
    # whose length is interval_seconds (a quarter bar on a replay).
    seconds = Decimal(interval_seconds)
    return {
        "mat": _f(v["mat"]),
        "chop": _f(v["chop"]),
        "hole": _f(v["hole"]),
        "buf": _f(v["buf"]),
        "tail": _f(v["tail"] / seconds),
        "cusp": _f(v["cusp"]),
        "chip": _f(v["chip"]),
        "tip": _f(v["tip"]),
        "cut": _f(v["cut"]),
        "step": _f(v["step"] / seconds),
        "dust": _f(v["dust"]),
        # engine.maker measures tail and step in the unit of step_seconds: here, engine steps.
        "step_seconds": 1.0,
    }


def _perp(v: Mapping[str, Any], interval_seconds: int) -> dict:
    # A version stored before funding, partial closes and the backstop were governed is read
    # with their "off" values (proposals.schema fills them), which map to the engine's defaults'
    # results: funding_cap 0, partial_fraction 1, cooldown 0, backstop 0.
    tiers = sorted(v["tiers"], key=lambda t: t["notional_floor"])
    return {
        "tier_floors": tuple(_f(t["notional_floor"]) for t in tiers),
        "tier_imf": tuple(_f(t["initial_margin_fraction"]) for t in tiers),
        "tier_mmf": tuple(_f(t["maintenance_margin_fraction"]) for t in tiers),
        "liquidation_fee": _f(v["liquidation_fee"]),
        "insurance_fund": _f(v["insurance_fund"]),
        "funding_interval": max(
            1, steps_for_seconds("funding_interval", _f(v["funding_interval"]), interval_seconds)
        ),
        "funding_interest": _f(v["funding_interest"]),
        "funding_cap": _f(v["funding_cap"]),
        "partial_above_usd": _f(v["partial_notional"]),
        "partial_fraction": _f(v["partial_fraction"]),
        "partial_cooldown": steps_for_seconds(
            "partial_cooldown", _f(v["partial_cooldown"]), interval_seconds
        ),
        "backstop_fraction": _f(v["backstop_fraction"]),
    }


def _morpho(v: Mapping[str, Any], interval_seconds: int) -> dict:
    # One engine market per market of the vault, in label order (proposals.schema.vault_markets),
    # the order of the book's market column. USD stays USD.
    markets = [v["markets"][label] for label in vault_markets(v)]
    return {
        "lltv": tuple(_f(m["lltv"]) for m in markets),
        "market_supply_usd": tuple(_f(m["market_supply"]) for m in markets),
        "vault_cap_usd": tuple(_f(m["supply_cap"]) for m in markets),
        "vault_supply_usd": tuple(_f(m["vault_supply"]) for m in markets),
    }


MAPPINGS: dict[str, Callable[[Mapping[str, Any], int], dict]] = {
    "aave-v3": _aave,
    "aave-v4": _aave_v4,
    "compound-v3": _compound,
    "maker-clip": _maker,
    "perp": _perp,
    "morpho-blue": _morpho,
}
UNMODELLED = {
    "aave-v3": ["reserve_factor", "supply_cap", "borrow_cap"],
    # The schema governs only what the engine models; the spoke's other reserves, premium debt
    # and the reserve's other dynamic config keys (positions bound to older configs) are not.
    "aave-v4": ["other reserves of the spoke", "positions bound to other dynamic config keys"],
    "compound-v3": ["assets.*.supply_cap", "collateral assets the market's target leaves out of backtests"],
    "maker-clip": [],
    "perp": [],
    # The vault's idle liquidity, supply and withdraw queues and timelock; interest accrual.
    "morpho-blue": ["the vault's idle liquidity, queues and timelock", "interest accrual"],
}


def simulated_assets(market: Any) -> list[str] | None:
    """The collateral assets a Compound v3 market is backtested on (proposals.schema
    ``backtest_assets``: all of them in the market's order unless ``target["backtest_asset"]``
    names one); None for other mechanisms."""
    return backtest_assets(market.mechanism, market.target)


def simulated_asset(market: Any) -> str | None:
    """The one collateral asset of a Compound v3 market backtested on one asset, else None."""
    assets = simulated_assets(market)
    return assets[0] if assets and len(assets) == 1 else None


def run_mechanism(manifest: Mapping[str, Any]) -> str:
    """The engine mechanism a run's chunks ran (runs made before it was recorded: the market's)."""
    return manifest.get("engine_mechanism") or manifest["mechanism"]


def manifest_assets(manifest: Mapping[str, Any]) -> list[str] | None:
    """The collateral assets a run's manifest simulates (runs made before a Comet market was
    backtested on all its collateral record one, ``collateral_asset``)."""
    if manifest.get("collateral_assets"):
        return list(manifest["collateral_assets"])
    return [manifest["collateral_asset"]] if manifest.get("collateral_asset") else None


def engine_params_dict(
    mechanism: str, values: Mapping[str, Any], *, interval_seconds: int, assets: list[str] | None = None
) -> dict:
    """The engine-unit dict of a version's Decimal values (JSON-able: floats and tuples).

    assets: for compound-v3, the collateral assets simulated (``simulated_assets(market)``)."""
    if mechanism not in MAPPINGS:
        raise EngineError(f"mechanism must be one of {sorted(MAPPINGS)}; got {mechanism!r}")
    try:
        if mechanism == "compound-v3":
            return _compound(values, int(interval_seconds), assets)
        return MAPPINGS[mechanism](values, int(interval_seconds))
    except KeyError as exc:
        raise EngineError(f"{mechanism} parameter set lacks {exc.args[0]!r}") from None


def engine_params(
    mechanism: str, values: Mapping[str, Any], *, interval_seconds: int, assets: list[str] | None = None
) -> Any:
    """The engine mechanism's validated Params (EngineError names a bad value)."""
    d = engine_params_dict(mechanism, values, interval_seconds=interval_seconds, assets=assets)
    return load_mechanism(engine_mechanism(mechanism, assets)).params_from_dict(d)


def unmodelled(mechanism: str) -> list[str]:
    return list(UNMODELLED.get(mechanism, []))
