"""``python manage.py seed_demo``: six markets, their live parameters, guardrails, demo users and
five proposals (two submitted on the Aave v3 market, one way and the other, one submitted on
the Aave v4 spoke, a submitted reallocation of the Morpho vault and a Maker draft). Idempotent:
running it again creates nothing that already exists (and changes nothing an administrator
edited since).

The markets: Aave v3 Ethereum WETH, Compound v3 cUSDCv3 on Ethereum (WETH, WBTC collateral),
MakerDAO ETH-A, an Aave v4 spoke's WETH reserve, an ETH-USD perpetual with three margin tiers,
and a MetaMorpho-style USDC vault lending against wstETH in two Morpho Blue markets (LLTV 0.86
and 0.945). The parameters of the Aave v3, Compound and Maker markets are MODELLED ON PUBLISHED
VALUES of the real markets: a realistic demo, not the live on-chain configuration, which
governance changes over time; the Aave v4 spoke takes the example values of Aave v4's
documentation. The perpetual and the vault are ILLUSTRATIVE: the vault's caps and supplies are
made up at a realistic scale, its vault, oracle and IRM addresses are fake, and only its tokens
(USDC, wstETH) and LLTVs are real (0.86 and 0.945 are among Morpho's enabled LLTVs; wstETH/USDC
at 0.86 is a live Morpho Blue market on Ethereum, a 0.945 wstETH/USDC market is assumed for the
demo).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from eth_account import Account

from governance.models import GovernancePolicy, Guardrail, Member
from governance.services import set_address, set_power
from proposals import services
from proposals.models import Market, Proposal
from proposals.schema.market import backtest_assets
from review.services import submit_proposal
from scenarios import services as scenario_services

DEMO_PASSWORD = "riskgov-demo"
# The demo's market conditions: ETH near 3,000 USD, 500M USD of depth, 5,000-position books
# carrying 100M USD of debt (notional for the perpetual).
DEMO_PRICE = 3000.0
# The Comet market's second collateral (WBTC) and how its returns move with ETH's: the demo's
# synthetic pack runs the two on correlated paths (about ETH-BTC's hourly correlation of
# 2022-2024, 0.8), since the product ships no price history.
DEMO_BTC_PRICE = 60000.0
DEMO_ETH_BTC_CORRELATION = 0.8
# Symbols of the demo packs' price paths per Comet collateral asset, in the market's order.
DEMO_PRICE_SYMBOLS = {"WETH": ("ETHUSD", DEMO_PRICE), "WBTC": ("BTCUSD", DEMO_BTC_PRICE)}
DEMO_DEPTH_USD = 5e8
DEMO_POSITIONS = 5000
DEMO_BOOK_SEED = 20240805
DEMO_BOOK_USD = 1e8
DAY = timedelta(days=1)

WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
WBTC = "0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
# A CLEARLY FAKE demo Safe: "5afe" repeated, EIP-55 checksummed. The real markets' changes are
# executed by their governance executors, not by this address; never send anything to it.
DEMO_SAFE = "0x5afe5afE5afE5afE5afE5aFe5aFe5Afe5Afe5AfE"
# A FAKE risk-configuration contract for the illustrative perpetual (no such contract exists).
DEMO_PERP_CONFIG = "0x1111111111111111111111111111111111111111"
WSTETH = "0x7f39C581F595B53c5cb19bD0b3f8dA6c935E2Ca0"
# FAKE addresses for the illustrative Morpho vault: the vault, and its markets' oracle and IRM.
DEMO_MORPHO_VAULT = "0x2222222222222222222222222222222222222222"
DEMO_MORPHO_ORACLE = "0x3333333333333333333333333333333333333333"
DEMO_MORPHO_IRM = "0x4444444444444444444444444444444444444444"
# The vault's markets: label -> (name, LLTV). Labels are parameter keys (no dots or spaces).
DEMO_MORPHO_MARKETS = {
    "wstETH-86": ("wstETH/USDC 86 %", "0.86"),
    "wstETH-945": ("wstETH/USDC 94.5 %", "0.945"),
}


def morpho_market_params(lltv: str) -> dict[str, str]:
    """A demo market's Morpho Blue ``MarketParams`` (Market.target["markets"][label])."""
    return {
        "loan_token": USDC,
        "collateral_token": WSTETH,
        "oracle": DEMO_MORPHO_ORACLE,
        "irm": DEMO_MORPHO_IRM,
        "lltv": lltv,
    }


def morpho_adapter() -> dict[str, Any]:
    """The vault's custom adapter: MetaMorpho's ``submitCap(MarketParams marketParams, uint256
    newSupplyCap)`` per market (morpho-org/metamorpho, src/interfaces/IMetaMorpho.sol), the cap in
    USDC's 6 decimals and the market's MarketParams fixed (LLTV in wad). The curator's
    ``submitCap`` of a raised cap waits for the vault's timelock and ``acceptCap``; moving supply
    is the allocator's ``reallocate(MarketAllocation[])``, which this export does not emit (its
    argument is an array of every market's target supply)."""
    market_params = {
        "name": "marketParams",
        "type": "tuple",
        "internalType": "struct MarketParams",
        "components": [
            {"name": "loanToken", "type": "address", "internalType": "address"},
            {"name": "collateralToken", "type": "address", "internalType": "address"},
            {"name": "oracle", "type": "address", "internalType": "address"},
            {"name": "irm", "type": "address", "internalType": "address"},
            {"name": "lltv", "type": "uint256", "internalType": "uint256"},
        ],
    }
    abi = [
        {
            "type": "function",
            "name": "submitCap",
            "stateMutability": "nonpayable",
            "inputs": [market_params, {"name": "newSupplyCap", "type": "uint256", "internalType": "uint256"}],
            "outputs": [],
        }
    ]
    mapping: dict[str, Any] = {}
    fixed: dict[str, Any] = {}
    for label, (_, lltv) in DEMO_MORPHO_MARKETS.items():
        call = f"cap-{label}"
        mapping[f"markets.{label}.supply_cap"] = {
            "function": "submitCap",
            "argument": "newSupplyCap",
            "scale": "1e6",
            "call": call,
        }
        p = morpho_market_params(lltv)
        # (loanToken, collateralToken, oracle, irm, lltv): the market's identity, LLTV in wad.
        fixed[call] = {
            "marketParams": [
                p["loan_token"],
                p["collateral_token"],
                p["oracle"],
                p["irm"],
                str(int(Decimal(lltv) * 10**18)),
            ]
        }
    return {"abi": abi, "contract": DEMO_MORPHO_VAULT, "mapping": mapping, "fixed": fixed}


# A FAKE Aave v4 Spoke for the demo's aave-v4 market (no such deployment): its adapter's ABI is
# the real Spoke's (aave/aave-v4, src/spoke/interfaces/ISpoke.sol), its address is not.
DEMO_AAVE_V4_SPOKE = "0x4444444444444444444444444444444444444444"


def perp_adapter() -> dict[str, Any]:
    """The perpetual's custom adapter: an illustrative risk-config contract that takes the
    liquidation fee and each margin tier as a tuple, fractions and USD amounts in millionths;
    funding (interval in seconds, interest and cap in billionths: Hyperliquid's 0.00125 % per
    hour is 12,500), partial liquidations (notional in millionths of USD, fraction in
    millionths, cooldown in seconds) and the backstop fraction (millionths)."""
    tier = {
        "name": "tier",
        "type": "tuple",
        "internalType": "struct MarginTier",
        "components": [
            {"name": "notionalFloor", "type": "uint256", "internalType": "uint256"},
            {"name": "initialMarginPpm", "type": "uint32", "internalType": "uint32"},
            {"name": "maintenanceMarginPpm", "type": "uint32", "internalType": "uint32"},
        ],
    }
    abi = [
        {
            "type": "function",
            "name": "setLiquidationFee",
            "stateMutability": "nonpayable",
            "inputs": [{"name": "feePpm", "type": "uint32", "internalType": "uint32"}],
            "outputs": [],
        },
        {
            "type": "function",
            "name": "setMarginTier",
            "stateMutability": "nonpayable",
            "inputs": [{"name": "index", "type": "uint256", "internalType": "uint256"}, tier],
            "outputs": [],
        },
    ]

    def function(name: str, *inputs: tuple[str, str]) -> dict[str, Any]:
        return {
            "type": "function",
            "name": name,
            "stateMutability": "nonpayable",
            "inputs": [{"name": n, "type": t, "internalType": t} for n, t in inputs],
            "outputs": [],
        }

    abi += [
        function(
            "setFunding", ("intervalSeconds", "uint32"), ("interestPpb", "uint64"), ("capPpb", "uint64")
        ),
        function(
            "setPartialLiquidation",
            ("notionalFloor", "uint256"),
            ("fractionPpm", "uint32"),
            ("cooldownSeconds", "uint32"),
        ),
        function("setBackstopFraction", ("fractionPpm", "uint32")),
    ]
    mapping: dict[str, Any] = {
        "liquidation_fee": {"function": "setLiquidationFee", "argument": "feePpm", "scale": "1e6"},
        "funding_interval": {"function": "setFunding", "argument": "intervalSeconds", "scale": "1"},
        "funding_interest": {"function": "setFunding", "argument": "interestPpb", "scale": "1e9"},
        "funding_cap": {"function": "setFunding", "argument": "capPpb", "scale": "1e9"},
        "partial_notional": {
            "function": "setPartialLiquidation",
            "argument": "notionalFloor",
            "scale": "1e6",
        },
        "partial_fraction": {"function": "setPartialLiquidation", "argument": "fractionPpm", "scale": "1e6"},
        "partial_cooldown": {
            "function": "setPartialLiquidation",
            "argument": "cooldownSeconds",
            "scale": "1",
        },
        "backstop_fraction": {"function": "setBackstopFraction", "argument": "fractionPpm", "scale": "1e6"},
    }
    for i in range(3):
        for key, argument in (
            ("notional_floor", "tier.notionalFloor"),
            ("initial_margin_fraction", "tier.initialMarginPpm"),
            ("maintenance_margin_fraction", "tier.maintenanceMarginPpm"),
        ):
            mapping[f"tiers.{i}.{key}"] = {
                "function": "setMarginTier",
                "argument": argument,
                "scale": "1e6",
                "call": f"tier{i}",
            }
    fixed = {f"tier{i}": {"index": str(i)} for i in range(3)}
    return {"abi": abi, "contract": DEMO_PERP_CONFIG, "mapping": mapping, "fixed": fixed}


def aave_v4_adapter() -> dict[str, Any]:
    """The Aave v4 market's custom adapter, modelled on the Spoke's own governance functions
    (aave/aave-v4, src/spoke/interfaces/ISpoke.sol): ``updateDynamicReserveConfig(reserveId,
    dynamicConfigKey, (collateralFactor, maxLiquidationBonus, liquidationFee))`` in bps and
    ``updateLiquidationConfig((targetHealthFactor, healthFactorForMaxBonus,
    liquidationBonusFactor))``, health factors in wad and the bonus factor in bps. Both are
    ``restricted`` on the Spoke: the Safe must hold the role. The update rewrites dynamic config
    key 0, the one the demo book's positions are bound to, as the backtest assumes (a new key
    from ``addDynamicReserveConfig`` would apply to new positions only)."""

    def tuple_of(name: str, struct: str, fields: list[tuple[str, str]]) -> dict[str, Any]:
        return {
            "name": name,
            "type": "tuple",
            "internalType": f"struct ISpoke.{struct}",
            "components": [{"name": n, "type": t, "internalType": t} for n, t in fields],
        }

    dynamic = tuple_of(
        "dynamicConfig",
        "DynamicReserveConfig",
        [("collateralFactor", "uint16"), ("maxLiquidationBonus", "uint32"), ("liquidationFee", "uint16")],
    )
    liquidation = tuple_of(
        "config",
        "LiquidationConfig",
        [
            ("targetHealthFactor", "uint128"),
            ("healthFactorForMaxBonus", "uint64"),
            ("liquidationBonusFactor", "uint16"),
        ],
    )
    abi = [
        {
            "type": "function",
            "name": "updateDynamicReserveConfig",
            "stateMutability": "nonpayable",
            "inputs": [
                {"name": "reserveId", "type": "uint256", "internalType": "uint256"},
                {"name": "dynamicConfigKey", "type": "uint32", "internalType": "uint32"},
                dynamic,
            ],
            "outputs": [],
        },
        {
            "type": "function",
            "name": "updateLiquidationConfig",
            "stateMutability": "nonpayable",
            "inputs": [liquidation],
            "outputs": [],
        },
    ]
    reserve, spoke = "updateDynamicReserveConfig", "updateLiquidationConfig"
    mapping = {
        "collateral_factor": {
            "function": reserve,
            "argument": "dynamicConfig.collateralFactor",
            "scale": "1e4",
        },
        "max_liquidation_bonus": {
            "function": reserve,
            "argument": "dynamicConfig.maxLiquidationBonus",
            "scale": "1e4",
        },
        "liquidation_fee": {"function": reserve, "argument": "dynamicConfig.liquidationFee", "scale": "1e4"},
        "target_health_factor": {"function": spoke, "argument": "config.targetHealthFactor", "scale": "1e18"},
        "health_factor_for_max_bonus": {
            "function": spoke,
            "argument": "config.healthFactorForMaxBonus",
            "scale": "1e18",
        },
        "liquidation_bonus_factor": {
            "function": spoke,
            "argument": "config.liquidationBonusFactor",
            "scale": "1e4",
        },
    }
    fixed = {reserve: {"reserveId": "0", "dynamicConfigKey": "0"}}
    return {"abi": abi, "contract": DEMO_AAVE_V4_SPOKE, "mapping": mapping, "fixed": fixed}


MARKETS: list[dict[str, Any]] = [
    {
        "slug": "aave-v3-ethereum-weth",
        "name": "Aave v3 Ethereum · WETH",
        "mechanism": "aave-v3",
        "contracts": {"pool_configurator": "0x64b761D848206f447Fe2dd461b0c635Ec39EbB27"},
        "target": {"asset": WETH, "symbol": "WETH"},
        "description": "WETH reserve of the Aave v3 Ethereum pool. Parameters modelled on published values, not live.",
        "safe": {"safe_address": DEMO_SAFE, "safe_version": "1.3.0"},
        "values": {
            "ltv": "0.805",
            "liquidation_threshold": "0.83",
            "liquidation_bonus": "0.05",
            "reserve_factor": "0.15",
            "liquidation_protocol_fee": "0.10",
            "supply_cap": "1800000",
            "borrow_cap": "1400000",
        },
        # Aave Risk Steward style: small absolute steps for risk fractions, relative for caps.
        "guardrails": {
            "ltv": ("0.05", 3),
            "liquidation_threshold": ("0.05", 3),
            "liquidation_bonus": ("0.02", 3),
            "reserve_factor": ("0.10", 1),
            "liquidation_protocol_fee": ("0.10", 1),
            "supply_cap": ("1.0", 1),
            "borrow_cap": ("1.0", 1),
        },
    },
    {
        "slug": "compound-v3-ethereum-usdc",
        "name": "Compound v3 Ethereum · USDC (WETH, WBTC collateral)",
        "mechanism": "compound-v3",
        "contracts": {
            "configurator": "0x316f9708bB98af7dA9c68C1C3b5e79039cD336E3",
            "proxy_admin": "0x1EC63B5883C3481134FD50D5DAebc83Ecd2E8779",
        },
        "target": {
            "comet": "0xc3d688B66703497DAA19211EEdff47f25384cdc3",
            "base": {"symbol": "USDC", "asset": USDC, "decimals": 6},
            "assets": {"WETH": {"asset": WETH, "decimals": 18}, "WBTC": {"asset": WBTC, "decimals": 8}},
            # The order the export sets the assets in (a JSON object's key order is not kept),
            # and the order of the backtests' book columns and price paths: accounts hold both
            # (margin-engine.md 2.8; "backtest_asset" would restrict the backtests to one).
            "asset_order": ["WETH", "WBTC"],
        },
        "description": "cUSDCv3 Comet with two collateral assets. Parameters modelled on published values, not live.",
        "safe": {"safe_address": DEMO_SAFE, "safe_version": "1.3.0"},
        "values": {
            "store_front_price_factor": "0.6",
            "target_reserves": "5000000",
            "assets": {
                "WETH": {
                    "borrow_collateral_factor": "0.83",
                    "liquidate_collateral_factor": "0.90",
                    "liquidation_factor": "0.95",
                    "supply_cap": "350000",
                },
                "WBTC": {
                    "borrow_collateral_factor": "0.70",
                    "liquidate_collateral_factor": "0.77",
                    "liquidation_factor": "0.95",
                    "supply_cap": "18000",
                },
            },
        },
        "guardrails": {
            "borrow_collateral_factor": ("0.05", 3),
            "liquidate_collateral_factor": ("0.05", 3),
            "liquidation_factor": ("0.05", 3),
            "store_front_price_factor": ("0.1", 3),
            "supply_cap": ("1.0", 1),
            "target_reserves": ("0.5", 1),
        },
    },
    {
        "slug": "maker-eth-a",
        "name": "MakerDAO ETH-A (Liquidations 2.0)",
        "mechanism": "maker-clip",
        "contracts": {
            "spot": "0x65C79fcB50Ca1594B025960e539eD7A9a6D434A3",
            "dog": "0x135954d155898D42C90D2a57824C690e0c7BEf1B",
            "clip": "0xc67963a226eddd77B91aD8c421630A1b0AdFF270",
            "calc": "0x7d9f92DAa9254Bbd1f479DBE5058f74C2381A898",
        },
        "target": {"ilk": "ETH-A"},
        "description": "ETH-A vaults with their Clipper and Abacus. Parameters modelled on published values, not live.",
        "safe": {"safe_address": DEMO_SAFE, "safe_version": "1.3.0"},
        "values": {
            "mat": "1.45",
            "chop": "1.13",
            "hole": "40000000",
            "buf": "1.20",
            "tail": "8400",
            "cusp": "0.40",
            "chip": "0.001",
            "tip": "250",
            "cut": "0.99",
            "step": "90",
            "dust": "7500",
        },
        "guardrails": {
            "mat": ("0.10", 3),
            "chop": ("0.05", 3),
            "buf": ("0.10", 1),
            "cusp": ("0.10", 1),
            "cut": ("0.02", 1),
            "hole": ("0.5", 1),
            "tail": ("0.5", 1),
            "step": ("0.5", 1),
            "dust": ("1.0", 3),
        },
    },
    {
        "slug": "aave-v4-spoke-weth",
        "name": "Aave v4 spoke · WETH (illustrative)",
        "mechanism": "aave-v4",
        "contracts": {"spoke": DEMO_AAVE_V4_SPOKE},
        "target": {"reserve_id": 0, "asset": WETH, "symbol": "WETH"},
        "description": (
            "WETH reserve of an Aave v4 spoke: target health factor liquidations with a Dutch-auction "
            "bonus. Example values of Aave v4's documentation; the spoke's address is a placeholder."
        ),
        "safe": {"safe_address": DEMO_SAFE, "safe_version": "1.4.1", "custom_adapter": aave_v4_adapter()},
        # aave/aave-v4 docs/features/LiquidationEngine.md, its worked example: maxLB 105 %,
        # liquidationBonusFactor 80 %, healthFactorForMaxBonus 0.85, targetHealthFactor 1.05; a
        # WETH collateral factor of 80 % and a 10 % liquidation fee. Every invariant holds,
        # the anti-split rule too: maxLB x cf = 1.05 x 0.80 = 0.84 <= 0.85.
        "values": {
            "collateral_factor": "0.80",
            "max_liquidation_bonus": "1.05",
            "liquidation_fee": "0.10",
            "target_health_factor": "1.05",
            "health_factor_for_max_bonus": "0.85",
            "liquidation_bonus_factor": "0.80",
        },
        "guardrails": {
            "collateral_factor": ("0.05", 3),
            "max_liquidation_bonus": ("0.02", 3),
            "liquidation_fee": ("0.10", 1),
            "target_health_factor": ("0.05", 3),
            "health_factor_for_max_bonus": ("0.05", 3),
            "liquidation_bonus_factor": ("0.20", 1),
        },
    },
    {
        "slug": "perp-eth-usd",
        "name": "ETH-USD perpetual (three margin tiers)",
        "mechanism": "perp",
        "contracts": {},
        "target": {"market": "ETH-USD"},
        "description": "Tiered margins in the style of dYdX and Hyperliquid. Illustrative values.",
        "safe": {"safe_address": DEMO_SAFE, "safe_version": "1.4.1", "custom_adapter": perp_adapter()},
        "values": {
            "liquidation_fee": "0.005",
            "insurance_fund": "10000000",
            # Funding and liquidation as on Hyperliquid (docs "Funding" and "Liquidations"):
            # funding every hour, interest 0.01 % per 8 hours (0.00125 % per hour), the rate
            # capped at 4 % per hour; positions above 100,000 USD of notional are liquidated
            # 20 % at a time with a 30 s cooldown; below 2/3 of the maintenance margin the
            # liquidator vault takes the position over (backstop liquidation).
            "funding_interval": "3600",
            "funding_interest": "0.0000125",
            "funding_cap": "0.04",
            "partial_notional": "100000",
            "partial_fraction": "0.2",
            "partial_cooldown": "30",
            "backstop_fraction": "0.666667",  # 2/3 to six places
            "tiers": [
                {
                    "notional_floor": "0",
                    "initial_margin_fraction": "0.04",
                    "maintenance_margin_fraction": "0.02",
                },
                {
                    "notional_floor": "5000000",
                    "initial_margin_fraction": "0.08",
                    "maintenance_margin_fraction": "0.04",
                },
                {
                    "notional_floor": "20000000",
                    "initial_margin_fraction": "0.20",
                    "maintenance_margin_fraction": "0.10",
                },
            ],
        },
        "guardrails": {
            "initial_margin_fraction": ("0.02", 1),
            "maintenance_margin_fraction": ("0.01", 1),
            "liquidation_fee": ("0.005", 1),
            "notional_floor": ("0.5", 1),
        },
    },
    {
        "slug": "morpho-vault-usdc-wsteth",
        "name": "Morpho vault · USDC against wstETH (LLTV 86 %, 94.5 %)",
        "mechanism": "morpho-blue",
        "contracts": {},
        "target": {
            "vault": DEMO_MORPHO_VAULT,
            "markets": {
                label: morpho_market_params(lltv) for label, (_, lltv) in DEMO_MORPHO_MARKETS.items()
            },
        },
        "description": (
            "A MetaMorpho-style USDC vault lending against wstETH in two Morpho Blue markets: "
            + ", ".join(f"{label} = {name}" for label, (name, _) in DEMO_MORPHO_MARKETS.items())
            + ". Illustrative caps and supplies; fake vault, oracle and IRM addresses."
        ),
        "safe": {"safe_address": DEMO_SAFE, "safe_version": "1.4.1", "custom_adapter": morpho_adapter()},
        "values": {
            "markets": {
                "wstETH-86": {
                    "lltv": "0.86",
                    "supply_cap": "200000000",
                    "vault_supply": "120000000",
                    "market_supply": "300000000",
                },
                "wstETH-945": {
                    "lltv": "0.945",
                    "supply_cap": "50000000",
                    "vault_supply": "20000000",
                    "market_supply": "40000000",
                },
            }
        },
        # A curator's caps and allocation move in large steps; the LLTV cannot move at all
        # (proposals.schema.check_target).
        "guardrails": {
            "supply_cap": ("1.0", 1),
            "vault_supply": ("2.0", 1),
            "market_supply": ("1.0", 1),
        },
    },
]
# The demo proposal on the vault: 20M USDC of its supply moved from the 86 % market to the
# 94.5 % one (whose cap rises to make room); each market's total supply moves with it.
MORPHO_REALLOCATION = {
    "wstETH-86": {"vault_supply": "100000000", "market_supply": "280000000"},
    "wstETH-945": {"supply_cap": "80000000", "vault_supply": "40000000", "market_supply": "60000000"},
}


def morpho_reallocation(live: dict[str, Any]) -> dict[str, Any]:
    """The demo reallocation applied to the vault's live values."""
    return {"markets": {k: {**m, **MORPHO_REALLOCATION.get(k, {})} for k, m in live["markets"].items()}}


# TEST KEYS, PUBLIC: the first two accounts every Hardhat and Anvil node prints at start. They
# sign the demo's wallet votes (cast_demo_votes, the browser tests); never send funds to them.
DEMO_WALLET_KEYS = {
    "voter1": "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "voter2": "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
}
DEMO_WALLETS = {name: Account.from_key(key).address for name, key in DEMO_WALLET_KEYS.items()}
# The demo market's policy: short periods so that the delay, the vote and the timelock visibly
# run on the demo site (the other markets keep the defaults: days).
DEMO_POLICY = {
    "voting_delay": timedelta(seconds=30),
    "voting_period": timedelta(minutes=3),
    "vote_extension": timedelta(minutes=1),
    "timelock": timedelta(minutes=2),
}
DEMO_MARKET = "aave-v3-ethereum-weth"

USERS = [
    # username, role, voting power, staff
    ("admin", Member.Role.ADMINISTRATOR, "0", True),
    ("contributor", Member.Role.CONTRIBUTOR, "0", False),
    ("voter1", Member.Role.VOTER, "400000", False),
    ("voter2", Member.Role.VOTER, "250000", False),
    ("voter3", Member.Role.VOTER, "200000", False),
    ("voter4", Member.Role.VOTER, "100000", False),
    ("voter5", Member.Role.VOTER, "50000", False),
]


class Command(BaseCommand):
    help = "Create the demo markets, parameters, guardrails, users and proposals (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            users = {name: self._user(name, role, power, staff) for name, role, power, staff in USERS}
            markets = {spec["slug"]: self._market(spec, users["admin"]) for spec in MARKETS}
            self._scenario_library(markets)
            self._proposals(markets, users["contributor"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: {Market.objects.count()} markets, {Proposal.objects.count()} proposals."
            )
        )
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD!r} unless changed since):")
        for name, role, power, _ in USERS:
            self.stdout.write(
                f"  {name:<12} {role.label}"
                + (f", voting power {power}" if power != "0" else "")
                + (f", wallet {DEMO_WALLETS[name]} (a public test key)" if name in DEMO_WALLETS else "")
            )

    def _scenario_library(self, markets: dict[str, Market]) -> None:
        """A default stress pack and position book per market, so that a proposal submitted on
        the demo site is backtested at once. The pack is synthetic (the product ships no price
        history); import real history and run ``create_stress_pack`` for the standard pack. The
        perpetual's two shocks carry a premium of the perp over its index (a discount that moves
        with the crash and reverts), so its funding is driven by the scenario."""
        for market in markets.values():
            assets = backtest_assets(market.mechanism, market.target)
            several = assets is not None and len(assets) > 1
            if scenario_services.default_pack(market) is None:
                if several:
                    # The Comet market's accounts hold WETH and WBTC: correlated paths of both.
                    symbols = [DEMO_PRICE_SYMBOLS[a][0] for a in assets]
                    scenario_services.create_synthetic_pack(
                        market=market,
                        asset=symbols,
                        start_price={DEMO_PRICE_SYMBOLS[a][0]: DEMO_PRICE_SYMBOLS[a][1] for a in assets},
                        depth_usd=DEMO_DEPTH_USD,
                        correlation=DEMO_ETH_BTC_CORRELATION,
                    )
                else:
                    scenario_services.create_synthetic_pack(
                        market=market, asset="ETHUSD", start_price=DEMO_PRICE, depth_usd=DEMO_DEPTH_USD
                    )
            if scenario_services.default_book(market) is None:
                price = {a: DEMO_PRICE_SYMBOLS[a][1] for a in assets} if several else DEMO_PRICE
                generator = scenario_services.live_book_generator(
                    market, price=price, total_usd=DEMO_BOOK_USD
                )
                scenario_services.generate_book(
                    market=market,
                    n=DEMO_POSITIONS,
                    seed=DEMO_BOOK_SEED,
                    generator=generator,
                    name="Demo synthetic book",
                )

    def _user(self, username: str, role: str, power: str, staff: bool) -> Any:
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"is_staff": staff, "is_superuser": staff, "email": f"{username}@example.org"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        member, created = Member.objects.get_or_create(user=user, defaults={"role": role})
        if created:
            # Through the services: the power makes a snapshot, the address is audited.
            if username in DEMO_WALLETS:
                set_address(member=member, address=DEMO_WALLETS[username], actor=None)
            if Decimal(power) > 0:
                set_power(member=member, power=Decimal(power), actor=None)
        return user

    def _market(self, spec: dict[str, Any], admin: Any) -> Market:
        market, _ = Market.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "mechanism": spec["mechanism"],
                "chain_id": 1,
                "contracts": spec["contracts"],
                "target": spec["target"],
                "description": spec["description"],
                **spec["safe"],
            },
        )
        if market.safe_address == "":  # seeded before the export existed: give it its settings
            Market.objects.filter(pk=market.pk).update(**spec["safe"])
            market.refresh_from_db()
        if not market.versions.exists():
            version = services.create_version(
                market=market,
                values=spec["values"],
                author=admin,
                parent=None,
                note="Initial: modelled on published values, not live",
            )
            services.bootstrap_live_version(version=version, actor=admin)
        GovernancePolicy.objects.get_or_create(
            market=market, defaults=DEMO_POLICY if spec["slug"] == DEMO_MARKET else {}
        )
        for parameter, (max_change, days) in spec["guardrails"].items():
            Guardrail.objects.get_or_create(
                market=market,
                parameter=parameter,
                defaults={"max_change": Decimal(max_change), "min_delay": days * DAY},
            )
        return market

    def _proposals(self, markets: dict[str, Market], author: Any) -> None:
        aave = markets["aave-v3-ethereum-weth"]
        title = "Raise WETH liquidation threshold to 83.5 % and LTV to 81 %"
        if not Proposal.objects.filter(market=aave, title=title).exists():
            values = {**aave.live_version.values, "liquidation_threshold": "0.835", "ltv": "0.81"}
            proposal = services.create_draft(
                author=author,
                market=aave,
                title=title,
                values=values,
                rationale=(
                    "WETH's realized volatility has been below its 2022 levels for a year, and the book's health "
                    "factors are concentrated above 1.2.\n\n"
                    "- `liquidation_threshold` 0.83 -> 0.835\n- `ltv` 0.805 -> 0.81\n\n"
                    "The backtests should show no increase in bad debt under the stress pack's shock scenarios."
                ),
            )
            # Submitted: its backtest runs on the worker that scripts/serve starts, and voting
            # opens when the run is complete.
            submit_proposal(proposal=proposal, actor=author)
        # A second proposal on the same market, the other way: tighter, so it hurts borrowers who
        # sit just above today's threshold. Both run on the market's one baseline, so their live
        # figures are the same on both pages.
        title = "Lower WETH liquidation threshold to 78 % and LTV to 76 %"
        if not Proposal.objects.filter(market=aave, title=title).exists():
            values = {**aave.live_version.values, "liquidation_threshold": "0.78", "ltv": "0.76"}
            proposal = services.create_draft(
                author=author,
                market=aave,
                title=title,
                values=values,
                rationale=(
                    "A tighter threshold keeps more collateral behind every dollar of WETH debt, so fewer "
                    "positions go underwater before liquidators reach them in a crash.\n\n"
                    "- `liquidation_threshold` 0.83 -> 0.78\n- `ltv` 0.805 -> 0.76\n\n"
                    "Expected: less bad debt in the shock scenarios, at the cost of liquidating the "
                    "positions that sit just above today's threshold."
                ),
            )
            submit_proposal(proposal=proposal, actor=author)
        # On the Aave v4 spoke: the collateral factor up to the anti-split bound of its 5 % max
        # bonus (1.05 x cf <= 0.85, so cf <= 0.8095), submitted like the Aave v3 ones.
        spoke = markets["aave-v4-spoke-weth"]
        title = "Raise the WETH collateral factor to 80.9 %"
        if not Proposal.objects.filter(market=spoke, title=title).exists():
            values = {**spoke.live_version.values, "collateral_factor": "0.809"}
            proposal = services.create_draft(
                author=author,
                market=spoke,
                title=title,
                values=values,
                rationale=(
                    "The spoke's liquidations repay only what brings a position back to the target "
                    "health factor 1.05, so a higher collateral factor costs borrowers less at liquidation "
                    "than it would under a close factor.\n\n"
                    "- `collateral_factor` 0.80 -> 0.809\n\n"
                    "0.809 keeps the anti-split rule: 1.05 x 0.809 = 0.84945 <= 0.85, the health factor "
                    "for the max bonus. The backtests should show how much more bad debt the crash "
                    "scenarios leave."
                ),
            )
            submit_proposal(proposal=proposal, actor=author)
        vault = markets["morpho-vault-usdc-wsteth"]
        title = "Move 20M USDC of the vault from the 86 % to the 94.5 % wstETH market"
        if not Proposal.objects.filter(market=vault, title=title).exists():
            values = morpho_reallocation(vault.live_version.values)
            proposal = services.create_draft(
                author=author,
                market=vault,
                title=title,
                values=values,
                rationale=(
                    "Borrowers in the 94.5 % market pay more and its utilization has been high; the vault "
                    "earns more there per dollar, at the cost of thinner margins before liquidation.\n\n"
                    "- `markets.wstETH-945.supply_cap` 50M -> 80M\n"
                    "- `markets.wstETH-945.vault_supply` 20M -> 40M (the vault's share of that market "
                    "from 50 % to 67 %)\n"
                    "- `markets.wstETH-86.vault_supply` 120M -> 100M\n\n"
                    "The backtest should show what the vault would lose in a crash with the supply "
                    "moved, beside its borrowing power."
                ),
            )
            submit_proposal(proposal=proposal, actor=author)
        # On the two-asset Comet market: one backtest covers both collaterals on correlated paths,
        # so an account holding WETH and WBTC is checked on the sum of both (margin-engine.md 2.8).
        comet = markets["compound-v3-ethereum-usdc"]
        title = "Raise WBTC's liquidate collateral factor to 80 % and borrow factor to 73 %"
        if not Proposal.objects.filter(market=comet, title=title).exists():
            live = comet.live_version.values
            wbtc = {
                **live["assets"]["WBTC"],
                "liquidate_collateral_factor": "0.80",
                "borrow_collateral_factor": "0.73",
            }
            values = {**live, "assets": {**live["assets"], "WBTC": wbtc}}
            proposal = services.create_draft(
                author=author,
                market=comet,
                title=title,
                values=values,
                rationale=(
                    "WBTC's factors trail WETH's by 13 points although the two move together; most "
                    "accounts hold both, so an account is liquidated on the sum of its collateral.\n\n"
                    "- `assets.WBTC.liquidate_collateral_factor` 0.77 -> 0.80\n"
                    "- `assets.WBTC.borrow_collateral_factor` 0.70 -> 0.73\n\n"
                    "The backtest runs WETH and WBTC together on correlated paths: it should show whether "
                    "the absorbs of mixed accounts leave the reserves short in the crash scenarios."
                ),
            )
            submit_proposal(proposal=proposal, actor=author)
        maker = markets["maker-eth-a"]
        title = "Lower the ETH-A liquidation penalty to 10 %"
        if not Proposal.objects.filter(market=maker, title=title).exists():
            values = {**maker.live_version.values, "chop": "1.10"}
            services.create_draft(
                author=author,
                market=maker,
                title=title,
                values=values,
                rationale=(
                    "A 13 % penalty is high compared with lending markets' bonuses; keepers' margins on ETH "
                    "auctions have stayed wide. **Draft**: to be backtested with thin liquidity."
                ),
            )
