"""encode_call, encode_calls and safe_hashes through call_command: output, messages and exit
codes (a refused input raises CommandError, which manage.py turns into exit status 1)."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from proposals.export import build_export
from review.management.commands.seed_demo import DEMO_SAFE, MARKETS
from tests.export import fixtures as f

AAVE = next(m for m in MARKETS if m["mechanism"] == "aave-v3")
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def refused(*args: str) -> str:
    with pytest.raises(CommandError) as exc:
        run(*args)
    assert exc.value.returncode == 1
    return str(exc.value)


def test_encode_call_prints_the_calldata():
    out = run(
        "encode_call",
        "--signature",
        "setSupplyCap(address,uint)",
        "--args",
        json.dumps([f.HORIZON_ACRED, "1"]),
    )
    assert out.strip() == f.HORIZON_ACRED_SUPPLY_CAP_DATA


def test_encode_call_names_the_bad_argument():
    bad = AAVE["target"]["asset"].replace("C02aaA", "C02aAA")
    message = refused(
        "encode_call", "--signature", "setSupplyCap(address,uint256)", "--args", json.dumps([bad, "1"])
    )
    assert message == f"argument 1 (address): {bad} has mixed case with a wrong EIP-55 checksum."
    message = refused("encode_call", "--signature", "f(uint8)", "--args", '["256"]')
    assert message == "argument 1 (uint8): 256 is too large for uint8 (it holds 0 to 255)."
    assert refused("encode_call", "--signature", "f(uint8)", "--args", '["-1"]') == (
        "argument 1 (uint8): -1 is negative; uint8 holds only 0 and above."
    )
    assert refused(
        "encode_call", "--signature", "f(bytes32)", "--args", json.dumps(["0x" + "ab" * 33])
    ).endswith("is 33 bytes; bytes32 needs exactly 32.")
    assert "takes 2 arguments; got 1" in refused(
        "encode_call", "--signature", "f(address,uint256)", "--args", '["1"]'
    )
    assert refused("encode_call", "--signature", "f(uint8)", "--args", "[1,").startswith("--args: not JSON")


def test_encode_call_exits_non_zero_as_a_process():
    result = subprocess.run(
        [sys.executable, "manage.py", "encode_call", "--signature", "f(uint8)", "--args", '["300"]'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "argument 1 (uint8): 300 is too large for uint8" in result.stderr


def changes(tmp_path: Path, **override) -> str:
    data = {
        "adapter": "aave-v3",
        "chain_id": 1,
        "contracts": AAVE["contracts"],
        "target": AAVE["target"],
        "before": AAVE["values"],
        "after": {**AAVE["values"], "ltv": "0.81", "borrow_cap": "1500000"},
        **override,
    }
    path = tmp_path / "changes.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_encode_calls_prints_the_calls_as_json(tmp_path):
    calls = json.loads(run("encode_calls", "--input", changes(tmp_path)))
    assert [c["signature"] for c in calls] == [
        "configureReserveAsCollateral(address,uint256,uint256,uint256)",
        "setBorrowCap(address,uint256)",
    ]
    assert calls[0]["args"] == [AAVE["target"]["asset"], "8100", "8300", "10500"]
    assert calls[1] == {
        "to": AAVE["contracts"]["pool_configurator"],
        "value": "0",
        "signature": "setBorrowCap(address,uint256)",
        "args": [AAVE["target"]["asset"], "1500000"],
        "data": "0xd14a0983000000000000000000000000c02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
        "000000000000000000000000000000000000000000000000000000000016e360",
    }


def test_encode_calls_refuses_bad_input_by_name(tmp_path):
    assert refused("encode_calls", "--input", changes(tmp_path, adapter="aave-v2")) == (
        "adapter: 'aave-v2' is not one of aave-v3, compound-v3, maker-clip."
    )
    bad = {**AAVE["values"], "ltv": "0.80505"}
    assert refused("encode_calls", "--input", changes(tmp_path, after=bad)).startswith(
        "ltv: 0.80505 is not exactly representable"
    )
    assert refused("encode_calls", "--input", changes(tmp_path, chain_id=0)).startswith("chain_id: 0")
    assert refused("encode_calls", "--input", str(tmp_path / "missing.json")).endswith(
        "cannot be read (No such file or directory)."
    )
    (tmp_path / "bad.json").write_text("{")
    assert refused("encode_calls", "--input", str(tmp_path / "bad.json")).startswith(
        f"{tmp_path / 'bad.json'}: not JSON"
    )


def write_export(tmp_path: Path, **kwargs):
    market = {**{k: AAVE[k] for k in ("slug", "mechanism", "contracts", "target")}, "chain_id": 1}
    result = build_export(
        market,
        AAVE["values"],
        {**AAVE["values"], "ltv": "0.81", "supply_cap": "2000000"},
        safe=DEMO_SAFE,
        chain_id=1,
        nonce=12,
        safe_version=kwargs.get("version", "1.3.0"),
        created_at_ms=1_700_000_000_000,
        title="Raise WETH ltv",
    )
    path = tmp_path / "batch.json"
    path.write_text(result.batch_json())
    return result, str(path)


def test_safe_hashes_on_an_exported_file_prints_the_exports_hashes(tmp_path):
    result, path = write_export(tmp_path)
    out = run("safe_hashes", "--batch", path, "--safe", DEMO_SAFE, "--chain-id", "1", "--nonce", "12")
    for label, value in result.hashes.ledger():
        assert f"{label}: {value}" in out
    assert "MultiSendCallOnly 0x40A2aCCbd92BCA938b02010E17A5b8929b49130D by DELEGATECALL" in out
    assert "checksum valid" in out
    other = run("safe_hashes", "--batch", path, "--safe", DEMO_SAFE, "--chain-id", "1", "--nonce", "13")
    assert result.hashes.safe_tx_hash not in other


def test_safe_hashes_refuses_a_modified_file_another_chain_safe_or_version(tmp_path):
    _, path = write_export(tmp_path)
    args = ["safe_hashes", "--batch", path, "--safe", DEMO_SAFE, "--nonce", "12"]
    assert refused(*args, "--chain-id", "10") == "batch file: it is for chain '1', not --chain-id 10."
    assert refused(*args, "--chain-id", "1", "--safe-version", "1.4.0").startswith(
        "safe_version: '1.4.0' is not a supported"
    )
    other = [
        "safe_hashes",
        "--batch",
        path,
        "--safe",
        f.LEDGER_ARBITRUM["safe"],
        "--nonce",
        "12",
        "--chain-id",
        "1",
    ]
    assert refused(*other).startswith("batch file: it was written for the Safe")
    batch = json.loads(Path(path).read_text())
    batch["transactions"][0]["contractInputsValues"]["ltv"] = "9000"
    Path(path).write_text(json.dumps(batch))
    assert refused(*args, "--chain-id", "1") == (
        "batch file: meta.checksum does not match its content: the file was modified since it was written."
    )


def test_safe_hashes_reads_a_batch_the_tx_builder_wrote(tmp_path):
    batch = json.loads(json.dumps(f.TX_BUILDER_BATCH))
    del batch["meta"]["checksum"]
    path = tmp_path / "app.json"
    path.write_text(json.dumps(batch))
    out = run(
        "safe_hashes",
        "--batch",
        str(path),
        "--safe",
        batch["meta"]["createdFromSafeAddress"],
        "--chain-id",
        "4",
        "--nonce",
        "0",
    )
    assert "Batch: 3 call(s); checksum absent" in out and "safeTxHash: 0x" in out
