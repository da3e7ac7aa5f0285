"""The adapters: only what changed, in the spec's order, every invalid value refused by name.
No database."""

from __future__ import annotations

import pytest

from proposals.export import (
    ExportError,
    build_export,
    decode_back,
    encode_changes,
    require_match,
    safe_version,
)
from proposals.export.aave import aave_calls
from proposals.export.abi import Binding, Call
from proposals.export.compound import market_form_calls
from proposals.export.custom import check_custom_adapter, custom_calls
from proposals.export.maker import maker_calls
from review.management.commands.seed_demo import DEMO_SAFE, MARKETS

SPEC = {m["mechanism"]: m for m in MARKETS}
AAVE, COMPOUND, MAKER = SPEC["aave-v3"], SPEC["compound-v3"], SPEC["maker-clip"]


def aave(**after: str) -> list[Call]:
    return aave_calls(AAVE["contracts"], AAVE["target"], AAVE["values"], {**AAVE["values"], **after})


def maker(target: dict | None = None, **after: str) -> list[Call]:
    return maker_calls(
        MAKER["contracts"], target or MAKER["target"], MAKER["values"], {**MAKER["values"], **after}
    )


def compound(**assets: dict[str, str]) -> list[Call]:
    values = COMPOUND["values"]
    after = {**values, "assets": {s: {**values["assets"][s], **assets.get(s, {})} for s in values["assets"]}}
    return market_form_calls(COMPOUND["contracts"], COMPOUND["target"], values, after)


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(ExportError) as exc:
        call(*args, **kwargs)
    return str(exc.value)


# -- aave-v3 ------------------------------------------------------------------------------------


def test_aave_emits_only_what_changed_in_the_spec_order_with_unchanged_collateral_values_live():
    calls = aave(borrow_cap="1500000", ltv="0.81", reserve_factor="0.2")
    assert [c.function["name"] for c in calls] == [
        "configureReserveAsCollateral",
        "setReserveFactor",
        "setBorrowCap",
    ]
    assert calls[0].args[1:] == (8100, 8300, 10500)  # threshold and bonus at their live values
    assert calls[2].args[1] == 1500000
    assert aave() == []


def test_aave_refuses_a_percentage_the_contract_would_truncate_to_bps():
    message = refused(aave, ltv="0.80505")
    assert message.startswith("ltv: 0.80505 is not exactly representable (Aave keeps percentages in bps")
    assert "truncate it to 0.805" in message


def test_aave_refuses_a_negative_cap_and_a_cap_beyond_36_bits():
    assert refused(aave, supply_cap="-1") == "supply_cap: -1 is negative; uint256 holds only 0 and above."
    assert refused(aave, borrow_cap=str(2**36)) == (
        f"borrow_cap: {2**36} is more than the contract keeps ({2**36 - 1})."
    )
    assert "whole tokens" in refused(aave, supply_cap="1800000.5")


def test_aave_refuses_broken_invariants_and_bad_addresses():
    assert refused(aave, ltv="0.84").startswith("ltv must be at most liquidation_threshold")
    bad = AAVE["target"]["asset"].replace("C02aaA", "C02AAA")
    message = refused(aave_calls, AAVE["contracts"], {"asset": bad}, AAVE["values"], AAVE["values"])
    assert message == f"target.asset: {bad} has mixed case with a wrong EIP-55 checksum."
    message = refused(aave_calls, AAVE["contracts"], {"asset": "0x1234"}, AAVE["values"], AAVE["values"])
    assert message == "target.asset: '0x1234' is not an address (0x and 40 hex digits, 20 bytes)."


def test_aave_accepts_lower_case_addresses_and_writes_them_checksummed():
    calls = aave_calls(
        {"pool_configurator": AAVE["contracts"]["pool_configurator"].lower()},
        {"asset": AAVE["target"]["asset"].lower()},
        AAVE["values"],
        {**AAVE["values"], "supply_cap": "1"},
    )
    assert calls[0].to == AAVE["contracts"]["pool_configurator"]
    assert calls[0].args[0] == AAVE["target"]["asset"]


# -- compound-v3 --------------------------------------------------------------------------------


def test_compound_gives_one_set_of_calls_per_asset_in_the_configured_order_then_deploy_and_upgrade():
    calls = compound(
        WBTC={"supply_cap": "20000", "borrow_collateral_factor": "0.71"},
        WETH={"liquidation_factor": "0.96"},
    )
    names = [(c.function["name"], c.args[1] if len(c.args) == 3 else None) for c in calls]
    weth, wbtc = COMPOUND["target"]["assets"]["WETH"]["asset"], COMPOUND["target"]["assets"]["WBTC"]["asset"]
    assert names == [
        ("updateAssetLiquidationFactor", weth),
        ("updateAssetBorrowCollateralFactor", wbtc),
        ("updateAssetSupplyCap", wbtc),
        ("deployAndUpgradeTo", None),
    ]
    assert calls[2].args[2] == 20000 * 10**8  # WBTC has 8 decimals
    assert calls[1].args[2] == 71 * 10**16
    assert calls[-1].to == COMPOUND["contracts"]["proxy_admin"]
    assert compound() == []


def test_compound_refuses_what_comet_would_truncate():
    message = refused(compound, WETH={"borrow_collateral_factor": "0.82005"})
    assert message == (
        "assets.WETH.borrow_collateral_factor: 0.82005 is not exactly representable (Comet keeps collateral "
        "factors to 4 decimals); Comet would truncate it to 0.82."
    )
    message = refused(compound, WBTC={"supply_cap": "18000.5"})
    assert message.startswith(
        "assets.WBTC.supply_cap: 18000.5 is not exactly representable (Comet keeps supply caps"
    )


def test_compound_refuses_a_cap_too_large_for_its_type():
    message = refused(compound, WETH={"supply_cap": str(10**21)})
    assert message.startswith(
        f"assets.WETH.supply_cap: {10**21} is {10**39} on chain, which is too large for uint128"
    )


def test_compound_refuses_a_borrow_factor_not_below_the_liquidate_factor():
    message = refused(compound, WETH={"borrow_collateral_factor": "0.9"})
    assert message.startswith("WETH: borrow_collateral_factor must be below liquidate_collateral_factor")


def test_compound_market_level_changes_name_no_asset():
    contracts, target = COMPOUND["contracts"], {"comet": COMPOUND["target"]["comet"]}
    calls = encode_changes(
        "compound-v3",
        contracts,
        target,
        {"store_front_price_factor": "0.6"},
        {"store_front_price_factor": "0.7"},
    )
    assert [c.function["name"] for c in calls] == ["setStoreFrontPriceFactor", "deployAndUpgradeTo"]


# -- maker-clip ---------------------------------------------------------------------------------


def test_maker_files_each_change_on_its_contract_in_the_spec_order_with_the_ilk_as_bytes32():
    calls = maker(step="60", chop="1.10", cusp="0.35", mat="1.5", tip="300.5")
    assert [(c.contract, bytes(c.args[-2]).rstrip(b"\0").decode()) for c in calls] == [
        ("Spot", "mat"),
        ("Dog", "chop"),
        ("Clipper", "cusp"),
        ("Clipper", "tip"),
        ("Abacus", "step"),
    ]
    assert calls[0].args[0] == b"ETH-A".ljust(32, b"\0")
    assert calls[0].args[2] == 15 * 10**26  # ray
    assert calls[1].args[2] == 11 * 10**17  # wad
    assert calls[3].args[1] == 3005 * 10**44  # rad


def test_maker_refuses_a_33_byte_ilk_and_values_beyond_their_unit():
    assert (
        refused(maker, {"ilk": "A" * 33}, chop="1.1")
        == "target.ilk: '" + "A" * 33 + "' is 33 bytes; a bytes32 holds at most 32."
    )
    assert refused(maker, mat="1." + "1" * 28).startswith(
        "mat: 1.1111111111111111111111111111 is not exactly representable"
    )
    assert refused(maker, tail="8400.5").startswith("tail: 8400.5 is not exactly representable")
    assert refused(maker, tip=str(2**192)).startswith(f"tip: {2**192} is")
    assert refused(maker, chop="0.99").startswith("chop must be at least 1")


def test_a_changed_parameter_without_a_call_blocks_the_export():
    message = refused(
        encode_changes,
        "maker-clip",
        MAKER["contracts"],
        MAKER["target"],
        MAKER["values"],
        {**MAKER["values"], "dust": "10000"},
    )
    assert message == (
        "the export does not match the vote: dust: changed in the voted version, but no call sets it "
        "(this adapter has no call for it)."
    )


# -- decode-back --------------------------------------------------------------------------------


def test_decode_back_names_a_parameter_whose_calldata_differs_from_the_vote():
    (good,) = aave(ltv="0.81")
    swapped = Call(
        good.to,
        good.function,
        good.args,
        (Binding("ltv", (2,), good.bindings[0].scale),) + good.bindings[1:],
    )
    rows = decode_back([swapped], {**AAVE["values"], "ltv": "0.81"})
    assert [r.ok for r in rows] == [False, True, True]
    with pytest.raises(
        ExportError,
        match=r"ltv: voted 0.81, but call 1 .* carries liquidationThreshold = 8300, which is 0.83",
    ):
        require_match(rows, ["ltv"])


def test_unknown_safe_versions_are_refused_by_name():
    assert refused(safe_version, "1.2.3").startswith("safe_version: '1.2.3' is not a supported Safe version")
    assert "name a gas field differently" in refused(safe_version, "0.1.0")
    assert safe_version("1.3.0+L2") == "1.3.0"
    market = {**{k: AAVE[k] for k in ("mechanism", "contracts", "target")}}
    message = refused(
        build_export,
        market,
        AAVE["values"],
        {**AAVE["values"], "ltv": "0.81"},
        safe=DEMO_SAFE,
        chain_id=1,
        nonce=0,
        safe_version="2.0.0",
        created_at_ms=0,
    )
    assert message.startswith("safe_version: '2.0.0'")


# -- custom ---------------------------------------------------------------------------------------

MORPHO = {
    "abi": [
        {
            "type": "function",
            "name": "submitCap",
            "stateMutability": "nonpayable",
            "inputs": [
                {
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
                },
                {"name": "newSupplyCap", "type": "uint256", "internalType": "uint256"},
            ],
            "outputs": [],
        }
    ],
    "contract": "0xBEEF01735c132Ada46AA9aA4c54623cAA92A64CB",
    "mapping": {"supply_cap": {"function": "submitCap", "argument": "newSupplyCap", "scale": "1e6"}},
    "fixed": {
        "submitCap": {
            "marketParams": [
                "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
                "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
                "0x1111111111111111111111111111111111111111",
                "0x2222222222222222222222222222222222222222",
                "860000000000000000",
            ]
        }
    },
}


def test_a_custom_adapter_encodes_a_tuple_argument_and_decodes_it_back():
    before = {**AAVE["values"]}
    after = {**before, "supply_cap": "2500000.5"}
    (call,) = custom_calls(MORPHO, "aave-v3", before, after, list(after))
    assert call.signature == "submitCap((address,address,address,address,uint256),uint256)"
    assert call.args[1] == 2_500_000_500_000
    assert call.args[0][4] == 860000000000000000
    rows = decode_back([call], after)
    assert [(r.key, r.argument, r.ok) for r in rows] == [("supply_cap", "newSupplyCap", True)]
    assert custom_calls(MORPHO, "aave-v3", before, before, list(before)) == []


def test_a_custom_adapter_configuration_is_refused_with_the_field_named():
    def problems(**changes) -> list[str]:
        return check_custom_adapter({**MORPHO, **changes}, "aave-v3")

    assert problems() == []
    entry = MORPHO["mapping"]["supply_cap"]
    assert problems(mapping={"supply_cap": {**entry, "function": "setCap"}})[0].startswith(
        "custom_adapter.mapping.supply_cap.function: 'setCap' is not a function of the ABI"
    )
    assert problems(mapping={"supply_cap": {**entry, "argument": "cap"}})[0].startswith(
        "custom_adapter.mapping.supply_cap.argument: 'cap' is not an argument of submitCap("
    )
    assert problems(mapping={"supply_cap": {**entry, "argument": "marketParams.oracle"}})[0].startswith(
        "custom_adapter.mapping.supply_cap.argument: marketParams.oracle is address, not an integer type."
    )
    assert problems(mapping={"chop": entry})[0].startswith(
        "custom_adapter.mapping.chop: 'chop' is not a parameter of aave-v3"
    )
    assert problems(fixed={})[0] == (
        "custom_adapter.fixed.submitCap.marketParams: no parameter sets it and it has no fixed value."
    )
    bad_tuple = {"submitCap": {"marketParams": MORPHO["fixed"]["submitCap"]["marketParams"][:4]}}
    assert "has 5 components; got 4" in problems(fixed=bad_tuple)[0]
    assert problems(abi="not an abi")[0] == "custom_adapter.abi: expected a JSON ABI (a list of entries)."
