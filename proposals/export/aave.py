"""``aave-v3``: PoolConfigurator calls for one reserve (Aave v3 ``IPoolConfigurator.sol``).

configureReserveAsCollateral has the same ABI on Aave v2's LendingPoolConfigurator, which is
what lets tests reproduce executed Aave governance calldata byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from engine import rules
from proposals.export.abi import (
    Call,
    Field,
    changed,
    checksum_address,
    function_abi,
    read_values,
    refuse_breaches,
)

BPS = Decimal(10_000)
# Aave's ReserveConfiguration keeps a cap in 36 bits (MAX_VALID_SUPPLY_CAP / MAX_VALID_BORROW_CAP).
MAX_CAP = 2**36 - 1
PERCENT = "Aave keeps percentages in bps"

CONFIGURE = function_abi(
    "configureReserveAsCollateral",
    [
        ("asset", "address"),
        ("ltv", "uint256"),
        ("liquidationThreshold", "uint256"),
        ("liquidationBonus", "uint256"),
    ],
)
SET_RESERVE_FACTOR = function_abi("setReserveFactor", [("asset", "address"), ("newReserveFactor", "uint256")])
SET_PROTOCOL_FEE = function_abi("setLiquidationProtocolFee", [("asset", "address"), ("newFee", "uint256")])
SET_SUPPLY_CAP = function_abi("setSupplyCap", [("asset", "address"), ("newSupplyCap", "uint256")])
SET_BORROW_CAP = function_abi("setBorrowCap", [("asset", "address"), ("newBorrowCap", "uint256")])

FIELDS: dict[str, Field] = {
    "ltv": Field(BPS, "uint256", "percent", limit=10_000, why=PERCENT),
    "liquidation_threshold": Field(BPS, "uint256", "percent", limit=10_000, why=PERCENT),
    # The contract takes the bonus including the 100 %: 0.05 is 10500.
    "liquidation_bonus": Field(BPS, "uint256", "percent", offset=Decimal(1), limit=65_535, why=PERCENT),
    "reserve_factor": Field(BPS, "uint256", "percent", limit=10_000, why=PERCENT),
    "liquidation_protocol_fee": Field(BPS, "uint256", "percent", limit=10_000, why=PERCENT),
    "supply_cap": Field(
        Decimal(1), "uint256", "tokens", limit=MAX_CAP, why="Aave keeps caps in whole tokens"
    ),
    "borrow_cap": Field(
        Decimal(1), "uint256", "tokens", limit=MAX_CAP, why="Aave keeps caps in whole tokens"
    ),
}
PARAMETERS = tuple(FIELDS)
COLLATERAL = ("ltv", "liquidation_threshold", "liquidation_bonus")
# The single-parameter calls, in the spec's table order.
SINGLE = (
    ("reserve_factor", SET_RESERVE_FACTOR),
    ("liquidation_protocol_fee", SET_PROTOCOL_FEE),
    ("supply_cap", SET_SUPPLY_CAP),
    ("borrow_cap", SET_BORROW_CAP),
)


def aave_calls(
    contracts: Mapping[str, Any],
    target: Mapping[str, Any],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> list[Call]:
    """The PoolConfigurator calls that move one reserve from ``before`` to ``after``: only what
    changed, in the spec's order; the three collateral parameters go together, unchanged ones
    at their live values."""
    configurator = checksum_address("contracts.pool_configurator", contracts.get("pool_configurator"))
    asset = checksum_address("target.asset", target.get("asset"))
    old = read_values("before", before, PARAMETERS)
    new = read_values("after", after, PARAMETERS)
    moved = changed(old, new, PARAMETERS)
    calls = []
    if any(k in moved for k in COLLATERAL):
        raws = [FIELDS[k].raw(k, new[k]) for k in COLLATERAL]
        bindings = tuple(FIELDS[k].binding(k, i + 1) for i, k in enumerate(COLLATERAL))
        calls.append(Call(configurator, CONFIGURE, (asset, *raws), bindings, contract="PoolConfigurator"))
    for key, function in SINGLE:
        if key in moved:
            raw = FIELDS[key].raw(key, new[key])
            binding = (FIELDS[key].binding(key, 1),)
            calls.append(Call(configurator, function, (asset, raw), binding, contract="PoolConfigurator"))
    # The protocol's rules, the same the proposal form and the engine apply (engine.rules),
    # after each changed value's own checks (type, sign, precision).
    refuse_breaches(
        rules.aave_v3(
            ltv=new["ltv"],
            liquidation_threshold=new["liquidation_threshold"],
            liquidation_bonus=new["liquidation_bonus"],
        )
    )
    return calls
