"""The export reproduces other people's published numbers byte for byte (tests/export/fixtures.py
names each source): executed Aave calldata, a Safe's MultiSendCallOnly batch, safeTxHash values
from safe-eth-py's tests, Ledger hashes from safe-tx-hashes-util and the Transaction Builder's
own checksum test. No database."""

from __future__ import annotations

import json

import pytest
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from proposals.export import safe
from proposals.export.aave import aave_calls
from tests.export import fixtures as f

RESERVE = {
    "reserve_factor": "0.1",
    "liquidation_protocol_fee": "0.1",
    "supply_cap": "0",
    "borrow_cap": "0",
}


def collateral(ltv: str, lt: str, bonus: str, **rest: str) -> dict[str, str]:
    return {**RESERVE, "ltv": ltv, "liquidation_threshold": lt, "liquidation_bonus": bonus, **rest}


def data_of(calls) -> list[str]:
    return ["0x" + c.data.hex() for c in calls]


@pytest.mark.parametrize(
    ("asset", "before", "after", "published"),
    [
        (f.STETH, ("0.69", "0.81", "0.075"), ("0.72", "0.83", "0.07"), f.PROPOSAL_108_STETH),
        (f.WBTC, ("0.70", "0.80", "0.05"), ("0.72", "0.82", "0.05"), f.PROPOSAL_108_WBTC),
        (f.REN, ("0.60", "0.65", "0.075"), ("0.55", "0.60", "0.075"), f.PROPOSAL_120_REN),
    ],
)
def test_executed_aave_configure_reserve_as_collateral_calldata_is_reproduced(
    asset, before, after, published
):
    calls = aave_calls(
        {"pool_configurator": f.AAVE_V2_CONFIGURATOR},
        {"asset": asset},
        collateral(*before),
        collateral(*after),
    )
    assert data_of(calls) == [published]
    assert calls[0].to.lower() == f.AAVE_V2_CONFIGURATOR


def test_executed_aave_set_reserve_factor_calldata_is_reproduced():
    # Proposal 148 published only the new value (5 %); any other old value makes it a change.
    before = collateral("0", "0", "0", reserve_factor="0.1")
    after = collateral("0", "0", "0", reserve_factor="0.05")
    calls = aave_calls({"pool_configurator": f.AAVE_V2_CONFIGURATOR}, {"asset": f.TUSD}, before, after)
    assert data_of(calls) == [f.PROPOSAL_148_TUSD_RESERVE_FACTOR]


def test_aave_cap_changes_through_a_safe_reproduce_the_horizon_multisend_byte_for_byte():
    before = collateral("0", "0", "0", supply_cap="55000000", borrow_cap="43000000")
    after = collateral("0", "0", "0", supply_cap="45000000", borrow_cap="35000000")
    calls = aave_calls({"pool_configurator": f.HORIZON_CONFIGURATOR}, {"asset": f.HORIZON_GHO}, before, after)
    assert [c.signature for c in calls] == ["setSupplyCap(address,uint256)", "setBorrowCap(address,uint256)"]
    tx = safe.safe_transaction(
        [(c.to, c.value, c.data) for c in calls], nonce=42, multisend=safe.default_multisend("1.4.1")
    )
    assert (tx.to, tx.operation) == (f.HORIZON_GHO_CAPS_TARGET, safe.DELEGATECALL)
    assert "0x" + tx.data.hex() == f.HORIZON_GHO_CAPS_DATA


def test_a_single_aave_cap_change_is_a_plain_call_as_in_the_horizon_acred_transaction():
    before = collateral("0", "0", "0", supply_cap="30000")
    after = collateral("0", "0", "0", supply_cap="1")
    calls = aave_calls(
        {"pool_configurator": f.HORIZON_CONFIGURATOR}, {"asset": f.HORIZON_ACRED}, before, after
    )
    tx = safe.safe_transaction([(c.to, c.value, c.data) for c in calls], nonce=45, multisend=None)
    assert (tx.to, tx.operation, "0x" + tx.data.hex()) == (
        f.HORIZON_CONFIGURATOR,
        safe.CALL,
        f.HORIZON_ACRED_SUPPLY_CAP_DATA,
    )


@pytest.mark.parametrize("row", f.SAFE_ETH_PY, ids=lambda r: r[-1][:10])
def test_safe_tx_hashes_match_safe_eth_py(row):
    address, to, value, data, op, gas, base, price, token, refund, nonce, version, chain_id, expected = row
    tx = safe.SafeTx(to, value, bytes.fromhex(data[2:]), op, nonce, gas, base, price, token, refund)
    assert safe.safe_hashes(tx, safe=address, chain_id=chain_id, version=version).safe_tx_hash == expected


def test_a_single_call_gives_the_domain_message_and_safe_tx_hashes_a_ledger_shows():
    case = f.LEDGER_ARBITRUM
    tx = safe.safe_transaction(
        [(case["to"], 0, bytes.fromhex(case["data"][2:]))], nonce=case["nonce"], multisend=None
    )
    hashes = safe.safe_hashes(tx, safe=case["safe"], chain_id=case["chain_id"], version="1.3.0")
    assert hashes.ledger() == [
        ("Domain hash", case["domain_hash"]),
        ("Message hash", case["message_hash"]),
        ("safeTxHash", case["safe_tx_hash"]),
    ]


def test_a_multisend_batch_gives_the_published_calldata_and_ledger_hashes():
    case = f.LEDGER_MULTISEND
    calls = [(safe.checksum_address("to", to), 0, bytes.fromhex(data[2:])) for to, data in case["calls"]]
    tx = safe.safe_transaction(calls, nonce=case["nonce"], multisend=case["multisend"])
    assert "0x" + tx.data.hex() == case["data"]
    assert safe.decode_multisend(tx.data) == calls
    hashes = safe.safe_hashes(tx, safe=case["safe"], chain_id=case["chain_id"], version="1.4.1")
    assert [v for _, v in hashes.ledger()] == [
        case["domain_hash"],
        case["message_hash"],
        case["safe_tx_hash"],
    ]


def test_the_typed_data_json_hashes_to_the_same_domain_and_message_with_eth_account():
    case = f.LEDGER_MULTISEND
    calls = [(safe.checksum_address("to", to), 0, bytes.fromhex(data[2:])) for to, data in case["calls"]]
    tx = safe.safe_transaction(calls, nonce=case["nonce"], multisend=case["multisend"])
    for version, chain_id in (("1.4.1", 1), ("1.1.1", 1)):
        typed = json.loads(
            json.dumps(safe.typed_data(tx, safe=case["safe"], chain_id=chain_id, version=version))
        )
        signable = encode_typed_data(full_message=typed)
        ours = safe.safe_hashes(tx, safe=case["safe"], chain_id=chain_id, version=version)
        assert "0x" + signable.header.hex() == ours.domain_hash
        assert "0x" + signable.body.hex() == ours.message_hash
        assert "0x" + keccak(b"\x19\x01" + signable.header + signable.body).hex() == ours.safe_tx_hash


def test_safes_before_1_3_0_have_no_chain_id_in_the_domain():
    tx = safe.SafeTx(f.ZERO, 0, b"", 0, 1)
    on = {
        c: safe.safe_hashes(tx, safe=f.LEDGER_ARBITRUM["safe"], chain_id=c, version="1.2.0") for c in (1, 10)
    }
    assert on[1] == on[10]
    after = {
        c: safe.safe_hashes(tx, safe=f.LEDGER_ARBITRUM["safe"], chain_id=c, version="1.3.0") for c in (1, 10)
    }
    assert after[1].domain_hash != after[10].domain_hash


def test_the_tx_builder_checksum_test_object_gives_the_apps_checksum():
    assert safe.tx_builder_checksum(f.TX_BUILDER_BATCH) == f.TX_BUILDER_CHECKSUM


def test_the_same_serialization_gives_the_checksum_the_app_had_before_it_ignored_the_name():
    assert (
        "0x" + keccak(text=safe.tx_builder_serialize(f.TX_BUILDER_BATCH)).hex()
        == f.TX_BUILDER_CHECKSUM_BEFORE_NAME_NULL
    )


def test_the_checksum_ignores_key_order_and_the_name_but_not_the_order_of_transactions():
    reordered = dict(reversed(list(f.TX_BUILDER_BATCH.items())))
    reordered["meta"] = {**dict(reversed(list(f.TX_BUILDER_BATCH["meta"].items()))), "name": "renamed"}
    assert safe.tx_builder_checksum(reordered) == f.TX_BUILDER_CHECKSUM
    swapped = {**f.TX_BUILDER_BATCH, "transactions": list(reversed(f.TX_BUILDER_BATCH["transactions"]))}
    assert safe.tx_builder_checksum(swapped) != f.TX_BUILDER_CHECKSUM


def test_a_batch_with_the_apps_checksum_validates_as_the_app_validates_it():
    batch = json.loads(json.dumps(f.TX_BUILDER_BATCH))
    del batch["meta"]["checksum"]
    batch["meta"]["checksum"] = safe.tx_builder_checksum(batch)
    assert safe.checksum_status(batch) == "valid"
    batch["transactions"][2]["value"] = "3000000000000000000"
    assert safe.checksum_status(batch) == "modified"
