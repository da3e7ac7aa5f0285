"""``python -m engine run``: configuration, outputs and errors (exit status 2 naming the key)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, capture_output=True, text=True)


def small_config(tmp_path: Path, **over) -> Path:
    rng = np.random.default_rng(2)
    steps = np.cumsum(rng.normal(-0.003, 0.02, (6, 80)), axis=1)
    prices = 2000.0 * np.exp(np.hstack([np.zeros((6, 1)), steps]))
    np.save(tmp_path / "paths.npy", prices)
    cfg = {
        "mechanism": "aave-v3",
        "seed": 3,
        "params": {"liquidation_threshold": 0.825},
        "book": {"generate": {"n": 300, "price": 2000.0, "threshold": 0.825}},
        "prices": {"file": "paths.npy"},
        "market": {"oracle": {"latency": 1}, "liquidity": {"depth_usd": 1e8}},
    }
    cfg.update(over)
    p = tmp_path / "run.json"
    p.write_text(json.dumps(cfg))
    return p


def test_run_writes_results_and_prints_a_summary_table(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    r = run_cli("run", "--config", str(small_config(tmp_path)), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "| mean_bad_debt |" in r.stdout
    res = json.loads(out.read_text())
    assert len(res["per_path"]["n_liq"]) == 6 and res["n_steps"] == 80
    assert res["summary"]["mean_n_liq"] == pytest.approx(np.mean(res["per_path"]["n_liq"]))
    assert sum(res["per_path"]["n_liq"]) > 0


def test_run_is_reproducible_from_the_seed(tmp_path: Path) -> None:
    cfg = small_config(tmp_path)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run_cli("run", "--config", str(cfg), "--out", str(a)).returncode == 0
    assert run_cli("run", "--config", str(cfg), "--out", str(b)).returncode == 0
    assert json.loads(a.read_text())["per_path"] == json.loads(b.read_text())["per_path"]


def test_run_with_params_b_reports_paired_differences(tmp_path: Path) -> None:
    cfg = small_config(tmp_path, params_b={"ltv": 0.7, "liquidation_threshold": 0.75}, n_boot=100)
    out = tmp_path / "out.json"
    r = run_cli("run", "--config", str(cfg), "--out", str(out))
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert res["differences"]["mean_n_liq"]["diff"] > 0
    assert "| B - A |" in r.stdout


@pytest.mark.parametrize(
    "over, needle",
    [
        ({"mechanism": "aave"}, "'mechanism' must be one of"),
        (
            {"params": {"liquidation_threshold": 1.5}},
            "'params': liquidation_threshold must be in [0, 1]; got 1.5",
        ),
        ({"params": {"lt": 0.8}}, "'params': unknown aave-v3 parameter 'lt'"),
        ({"book": {"file": "missing.csv"}}, "'book.file': file"),
        ({"prices": {"paths": 3}}, "'prices' must hold 'file' or 'scenario'"),
        ({"market": {"oracle": {"lag": 1}}}, "'market': unknown market.oracle key 'lag'"),
        ({"chunk_paths": 0}, "'chunk_paths' must be a whole number >= 1; got 0"),
        ({"colour": 1}, "config key 'colour' is not known"),
    ],
)
def test_bad_config_names_the_key_and_exits_2(tmp_path: Path, over: dict, needle: str) -> None:
    r = run_cli("run", "--config", str(small_config(tmp_path, **over)), "--out", str(tmp_path / "o.json"))
    assert r.returncode == 2
    assert needle in r.stderr
    assert not (tmp_path / "o.json").exists()


def test_missing_key_and_bad_json_exit_2(tmp_path: Path) -> None:
    cfg = json.loads(small_config(tmp_path).read_text())
    del cfg["params"]
    (tmp_path / "x.json").write_text(json.dumps(cfg))
    r = run_cli("run", "--config", str(tmp_path / "x.json"), "--out", str(tmp_path / "o.json"))
    assert r.returncode == 2 and "config key 'params' is missing" in r.stderr
    (tmp_path / "y.json").write_text("{")
    r = run_cli("run", "--config", str(tmp_path / "y.json"), "--out", str(tmp_path / "o.json"))
    assert r.returncode == 2 and "not valid JSON" in r.stderr


def test_book_and_prices_from_csv_files(tmp_path: Path) -> None:
    (tmp_path / "book.csv").write_text(
        "account,collateral_asset,collateral_amount,debt_amount\na,ETH,10,16000\nb,ETH,5,1000\n"
    )
    (tmp_path / "p.csv").write_text("2000,1900,1900\n2000,2000,2000\n")
    cfg = small_config(tmp_path, book={"file": "book.csv"}, prices={"file": "p.csv"}, market={})
    out = tmp_path / "o.json"
    r = run_cli("run", "--config", str(cfg), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["per_path"]["n_liq"] == [1.0, 0.0]


def test_the_documented_example_config_runs(tmp_path: Path) -> None:
    cfg = json.loads((ROOT / "benchmarks" / "example_run.json").read_text())
    cfg["book"]["generate"]["n"] = 300
    cfg["prices"]["paths"] = 20
    cfg["n_boot"] = 50
    (tmp_path / "ex.json").write_text(json.dumps(cfg))
    r = run_cli("run", "--config", str(tmp_path / "ex.json"), "--out", str(tmp_path / "o.json"))
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "o.json").read_text())["differences"]["borrowing_power"]["diff"] < 0


def test_reference_rejects_sizes_given_with_inputs(tmp_path: Path) -> None:
    np.savez(tmp_path / "i.npz", collateral=np.ones(2), debt=np.ones(2), prices=np.ones((1, 3)))
    r = run_cli(
        "reference", "--inputs", str(tmp_path / "i.npz"), "--paths", "3", "--out", str(tmp_path / "o.json")
    )
    assert r.returncode == 2 and "--paths cannot be combined with --inputs" in r.stderr


def test_run_with_a_switch_switches_at_its_step_and_a_bad_one_exits_2_naming_it(tmp_path: Path) -> None:
    after = {"ltv": 0.8, "liquidation_threshold": 0.86}
    out, never = tmp_path / "out.json", tmp_path / "never.json"
    cfg = small_config(tmp_path, switch={"step": 40, "params": after})
    assert run_cli("run", "--config", str(cfg), "--out", str(out)).returncode == 0
    cfg = small_config(tmp_path, switch={"step": 80, "params": after})  # at T: never in force
    assert run_cli("run", "--config", str(cfg), "--out", str(never)).returncode == 0
    plain = tmp_path / "plain.json"
    assert run_cli("run", "--config", str(small_config(tmp_path)), "--out", str(plain)).returncode == 0
    per_path = {
        name: json.loads(p.read_text())["per_path"] for name, p in (("k", out), ("T", never), ("-", plain))
    }
    assert per_path["T"] == per_path["-"] != per_path["k"]
    r = run_cli(
        "run",
        "--config",
        str(small_config(tmp_path, switch={"step": -1, "params": after})),
        "--out",
        str(out),
    )
    assert (
        r.returncode == 2
        and "config key 'switch.step' must be a whole number of steps >= 0; got -1" in r.stderr
    )
