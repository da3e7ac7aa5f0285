"""Published values from public repositories, copied here so that the export is checked against
other people's numbers, never against itself. Each names its source; nothing is fetched at test
time."""

from __future__ import annotations

# -- Executed Aave governance calldata ----------------------------------------------------------
# aave-dao/aave-proposals-reports (BGD's reviews of every proposal; commit 85a2b031b58373011968d7f16c4824b7032f8be8).
# configureReserveAsCollateral has the same ABI on Aave v2's LendingPoolConfigurator and v3's
# PoolConfigurator, so the aave-v3 adapter must reproduce these bytes.
AAVE_V2_CONFIGURATOR = "0x311bb771e4f8952e6da169b425e7e92d6ac45756"
STETH = "0xae7ab96520de3a18e5e111b5eaab095312d7fe84"
WBTC = "0x2260fac5e5542a773aa44fbcfedf7c193bc2c599"
REN = "0x408e41876cccdc0f92210600ef50372656052a38"
TUSD = "0x0000000000085d4780b73119b644ae5ecd22b376"

# reports/108-aave-risk-parameter-updates-2022-06-10.md, proposal 108 (executed), calldatas[0]:
# stETH LTV 69 % -> 72 %, liquidation threshold 81 % -> 83 %, bonus 7.5 % -> 7 %.
PROPOSAL_108_STETH = (
    "0x7c4e560b000000000000000000000000ae7ab96520de3a18e5e111b5eaab095312d7fe84"
    "0000000000000000000000000000000000000000000000000000000000001c20"
    "000000000000000000000000000000000000000000000000000000000000206c"
    "00000000000000000000000000000000000000000000000000000000000029cc"
)
# Same proposal, calldatas[1]: WBTC LTV 70 % -> 72 %, threshold 80 % -> 82 %, bonus 5 % (kept).
PROPOSAL_108_WBTC = (
    "0x7c4e560b0000000000000000000000002260fac5e5542a773aa44fbcfedf7c193bc2c599"
    "0000000000000000000000000000000000000000000000000000000000001c20"
    "0000000000000000000000000000000000000000000000000000000000002008"
    "0000000000000000000000000000000000000000000000000000000000002904"
)
# reports/120-aave-v2-ethereum-risk-parameter-updates-REN-2022-17-11.md, proposal 120: REN LTV
# 60 % -> 55 %, threshold 65 % -> 60 % (the bonus, 7.5 %, kept).
PROPOSAL_120_REN = (
    "0x7c4e560b000000000000000000000000408e41876cccdc0f92210600ef50372656052a38"
    "000000000000000000000000000000000000000000000000000000000000157c"
    "0000000000000000000000000000000000000000000000000000000000001770"
    "00000000000000000000000000000000000000000000000000000000000029fe"
)
# reports/148-aave-v2-ethereum-update-interest-rate-strategy-tusd-usdt.md, proposal 148,
# calldatas[0]: "set the Reserve Factor of TUSD to 5%".
PROPOSAL_148_TUSD_RESERVE_FACTOR = (
    "0x4b4e67530000000000000000000000000000000000085d4780b73119b644ae5ecd22b376"
    "00000000000000000000000000000000000000000000000000000000000001f4"
)

# -- Aave v3 (Horizon) caps through a Safe and MultiSendCallOnly -------------------------------
# aave/horizon-proposals-v3, src/AaveV3Horizon_GHOcaps_20260312/AaveV3Horizon_GHOcaps_20260312.t.sol
# (commit 3f3b77be97dfe9209f6424b0d1f413c6484a8f9c): the ops Safe's transaction, nonce 42, to
# MultiSendCallOnly 1.4.1 by DELEGATECALL (operation 1); the test asserts GHO's supply cap
# 55,000,000 -> 45,000,000 and borrow cap 43,000,000 -> 35,000,000.
HORIZON_CONFIGURATOR = "0x83Cb1B4af26EEf6463aC20AFbAC9c0e2E017202F"
HORIZON_GHO = "0x40D16FC0246aD3160Ccc09B8D0D3A2cD28aE6C2f"
HORIZON_GHO_CAPS_TARGET = "0x9641d764fc13c8B624c04430C7356C1C7C8102e2"
HORIZON_GHO_CAPS_DATA = (
    "0x8d80ff0a00000000000000000000000000000000000000000000000000000000000000200000000000000000000000"
    "0000000000000000000000000000000000000001320083cb1b4af26eef6463ac20afbac9c0e2e017202f000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000044571f03e500000000000000000000000040d16fc0246ad3160ccc09b8d0d3a2cd28ae6c2f0000"
    "000000000000000000000000000000000000000000000000000002aea5400083cb1b4af26eef6463ac20afbac9c0e2e0"
    "17202f000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000044d14a098300000000000000000000000040d16fc0246ad3160ccc09b8d0"
    "d3a2cd28ae6c2f0000000000000000000000000000000000000000000000000000000002160ec0000000000000000000"
    "0000000000"
)
# src/AaveV3Horizon_ACREDSupplyCap_20260401/AaveV3Horizon_ACREDSupplyCap_20260401.t.sol (commit
# db6d76d31417ddc17dcf8d19216a423bdf2a5e76): a single CALL (operation 0) to the configurator,
# ACRED supply cap 30,000 -> 1.
HORIZON_ACRED = "0x17418038ecf73ba4026c4f428547bf099706f27b"
HORIZON_ACRED_SUPPLY_CAP_DATA = (
    "0x571f03e500000000000000000000000017418038ecf73ba4026c4f428547bf099706f27b"
    "0000000000000000000000000000000000000000000000000000000000000001"
)

# -- safeTxHash values ---------------------------------------------------------------------------
# safe-global/safe-eth-py, safe_eth/safe/tests/test_safe_tx.py, test_hash_safe_multisig_tx and
# test_hash_safe_multisig_tx_1_3 (commit 05be0791ffbfe0f33b0fdd823fc483d7ce5c4807). Fields:
# safe, to, value, data, operation, safeTxGas, baseGas, gasPrice, gasToken, refundReceiver,
# nonce, version, chain id, safeTxHash.
ZERO = "0x" + "0" * 40
SAFE_ETH_PY = [
    (
        "0x692a70D2e424a56D2C6C27aA97D1a86395877b3A",
        "0x5AC255889882aaB35A2aa939679E3F3d4Cea221E",
        5000000,
        "0x00",
        0,
        50000,
        100,
        10000,
        ZERO,
        ZERO,
        67,
        "1.0.0",
        1,
        "0x7c60341f3e1b4483575f38e84e97d6b332a2dd55b9290f39e6e26eef29a04fe7",
    ),
    (
        "0x692a70D2e424a56D2C6C27aA97D1a86395877b3A",
        ZERO,
        80000000,
        "0x562944",
        2,
        54522,
        773,
        22000000,
        ZERO,
        ZERO,
        257000,
        "1.0.0",
        1,
        "0xf585279fd867c94738096f4eab964e9e202014d2f0d5155d751099ad85cbe504",
    ),
    (
        "0x2B0b9cBDA3D7b0F760187c52A8FFB18C48E5d96A",
        "0x79613FD49472C3C7a32188e45ff00e7bdC8a897d",
        2,
        "0x1212",
        0,
        0,
        0,
        0,
        "0xFA995c7a0d32A4e7497508a5C380369BE8dB49Db",
        "0x6b92f5E5360bfCa8F5d3FcE65D87382967847983",
        17,
        "1.3.0",
        4,
        "0x01d42a801ac44d3ebd43592be980dea0756d7f7b27d718d3016a42ea7ce85587",
    ),
]

# pcaversaccio/safe-tx-hashes-util, README.md (commit c0765f781cf89c650f178899c4b5306dc695e3b8):
# the domain, message and Safe transaction hashes "to verify against the values displayed on
# your Ledger hardware wallet screen".
# 1. Arbitrum (42161), Safe 0x111CEE…, nonce 234: addOwnerWithThreshold as a single CALL to itself.
LEDGER_ARBITRUM = {
    "safe": "0x111CEEee040739fD91D29C34C33E6B3E112F2177",
    "chain_id": 42161,
    "nonce": 234,
    "to": "0x111CEEee040739fD91D29C34C33E6B3E112F2177",
    "data": (
        "0x0d582f130000000000000000000000000c75fa5a5f1c0997e3eea425cfa13184ed0ec9e5"
        "0000000000000000000000000000000000000000000000000000000000000003"
    ),
    "domain_hash": "0x1CF7F9B1EFE3BC47FE02FD27C649FEA19E79D66040683A1C86C7490C80BF7291",
    "message_hash": "0xD9109EA63C50ECD3B80B6B27ED5C5A9FD3D546C2169DFB69BFA7BA24CD14C7A5",
    "safe_tx_hash": "0x0cb7250b8becd7069223c54e2839feaed4cee156363fbfe5dd0a48e75c4e25b3",
}
# 2. Ethereum, Safe 0x5EA1d9…, nonce 6 ("Transaction Simulation"): a MultiSendCallOnly 1.4.1
# batch by DELEGATECALL of two calls; the multiSend calldata is the execTransaction argument of
# the README's trace.
LEDGER_MULTISEND = {
    "safe": "0x5EA1d9A6dDC3A0329378a327746D71A2019eC332",
    "chain_id": 1,
    "nonce": 6,
    "multisend": "0x9641d764fc13c8B624c04430C7356C1C7C8102e2",
    "calls": [
        (
            "0xcfbfac74c26f8647cbdb8c5caf80bb5b32e43134",
            "0xdd43a79f000000000000000000000000f46c6d6e62f59d9222f3812874211df07cf7b318"
            "0000000000000000000000000000000000000000000000000000000000000001",
        ),
        (
            "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
            "0xa9059cbb0000000000000000000000001fe27a73cd9f0b3c53b6e936d0b4f9b2f8ca3367"
            "000000000000000000000000000000000000000000000000000000002faf0800",
        ),
    ],
    "data": (
        "0x8d80ff0a00000000000000000000000000000000000000000000000000000000000000200000000000000000000000"
        "00000000000000000000000000000000000000013200cfbfac74c26f8647cbdb8c5caf80bb5b32e43134000000000000"
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000044dd43a79f000000000000000000000000f46c6d6e62f59d9222f3812874211df07cf7b3180000"
        "00000000000000000000000000000000000000000000000000000000000100a0b86991c6218b36c1d19d4a2e9eb0ce36"
        "06eb48000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000044a9059cbb0000000000000000000000001fe27a73cd9f0b3c53b6e936d0"
        "b4f9b2f8ca3367000000000000000000000000000000000000000000000000000000002faf0800000000000000000000"
        "0000000000"
    ),
    "domain_hash": "0x58122EA8F001782FACC66EE5495A6B8B29730FADF352D8608CA86BD31569FCF5",
    "message_hash": "0xE992E061576268328FAC9175D6AEA3DEFD4C3BEF83A0C6FE08F6AA5A222CBC45",
    "safe_tx_hash": "0x27a0c4abf624b15b776f544a4b31ed4d50dee2b677c6497fbadf4f7a73be705e",
}

# -- The Transaction Builder's own checksum test -------------------------------------------------
# safe-global/safe-react-apps, apps/tx-builder/src/lib/checksum.test.js: batchFileObject and the
# checksum addChecksum gives it. At commit b823488a161e49ba2df510ec0d04018116ed6c63 (checksum.ts
# sets meta.name to null before hashing, since 12cbb519 "transaction library feature") it is
# 0x4ecbfd36…; at commit 2b6981d6a508af7406b669c5e344d2a7b4761a2f (before that change, the name
# hashed too) it was 0x832ecdb6…. The same object gives both, which pins the serialization.
TX_BUILDER_BATCH = {
    "version": "1.0",
    "chainId": "4",
    "createdAt": 1646321521061,
    "meta": {
        "name": "test batch file",
        "txBuilderVersion": "1.4.0",
        "checksum": "",
        "createdFromSafeAddress": "0xDF8a1Ce35c9a6ACE153B4e0767942f1E2291a1Aa",
        "createdFromOwnerAddress": "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
    },
    "transactions": [
        {
            "to": "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
            "value": "0",
            "contractMethod": {
                "inputs": [{"internalType": "address", "name": "paramAddress", "type": "address"}],
                "name": "testAddress",
                "payable": False,
            },
            "contractInputsValues": {"paramAddress": "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6"},
        },
        {
            "to": "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
            "value": "0",
            "contractMethod": {
                "inputs": [{"internalType": "bool", "name": "paramBool", "type": "bool"}],
                "name": "testBool",
                "payable": False,
            },
            "contractInputsValues": {"paramAddress": "", "paramBool": "false"},
        },
        {
            "to": "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
            "value": "2000000000000000000",
            "data": "0x42f4579000000000000000000000000049d4450977e2c95362c13d3a31a09311e0ea26a6",
        },
    ],
}
TX_BUILDER_CHECKSUM = "0x4ecbfd364aa6759983915644e73f8bd411e85a2dc306f252a387c2728c4db64c"
TX_BUILDER_CHECKSUM_BEFORE_NAME_NULL = "0x832ecdb6653751ed00b79dede73864163e46e71815b72e11e506d6399bedffc9"
