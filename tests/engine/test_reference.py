"""The engine's reference workload against an independent plain-Python implementation of workload.md."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine import reference as R

ROOT = Path(__file__).resolve().parents[2]


def workload_inputs(w: R.Workload, n: int, m: int, t: int):
    """workload.md's input code, verbatim (one shot, no blocks)."""
    seed, p0, LT = w.seed, w.p0, w.lt
    rng = np.random.default_rng([seed, 1])
    z1 = rng.standard_normal(n)
    z2 = rng.standard_normal(n)
    d0 = w.debt_median * np.exp(w.debt_sigma * z1)
    hf0 = w.hf_min + w.hf_excess_median * np.exp(w.hf_sigma * z2)
    c0 = hf0 * d0 / (p0 * LT)
    dt = 1 / 8760
    mu, sigma = w.mu, w.sigma
    rng = np.random.default_rng([seed, 2])
    z = rng.standard_normal((m, t))
    logret = (mu - 0.5 * sigma**2) * dt + sigma * np.sqrt(dt) * z
    n_ = rng.poisson(w.lam * dt, (m, t))
    zj = rng.standard_normal((m, t))
    logret += w.jump_mu * n_ + w.jump_sigma * np.sqrt(n_) * zj
    S = np.empty((m, t + 1))
    S[:, 0] = p0
    S[:, 1:] = p0 * np.exp(np.cumsum(logret, axis=1))
    return c0, d0, S


def plain_python_path(w: R.Workload, c0: list, d0: list, S_row: list) -> dict:
    """workload.md's loop for one path, in plain Python floats, every position every step."""
    depth_usd = w.depth_mult * float(np.sum(np.asarray(c0))) * w.p0
    k_over_depth = w.k_impact / depth_usd
    floor = 1.0 - w.max_step_impact
    opb = 1.0 + w.bonus
    LT, lag = w.lt, w.oracle_lag
    c, d = list(c0), list(d0)
    J = 1.0
    bad = 0.0
    nliq = 0
    vol = 0.0
    pen = 0.0
    p_hist = []
    T = len(S_row) - 1
    for t in range(T):
        p = S_row[t] * J
        p_hist.append(p)
        po = p_hist[t - lag] if t >= lag else p_hist[0]
        q = po * LT
        sold = 0.0
        for i in range(len(c)):
            if not d[i] > 0:
                continue
            h = c[i] * q / d[i]
            if h < 1:
                cf = 1.0 if h <= w.full_liq_hf else w.close_factor
                repay = cf * d[i]
                seize = repay * opb / po
                if seize >= c[i]:
                    seize = c[i]
                    repay = c[i] * po / opb
                    bad += d[i] - repay
                    c[i] = d[i] = 0.0
                else:
                    c[i] -= seize
                    d[i] -= repay
                sold += seize * p
                nliq += 1
                vol += repay
                pen += w.bonus * repay
        J = J * max(1.0 - k_over_depth * sold, floor)
    return {"bad_debt": bad, "n_liq": nliq, "liq_volume": vol, "penalty": pen, "final_price": S_row[T] * J}


def assert_matches_plain_python(w, c0, d0, S, per_path) -> None:
    for m in range(S.shape[0]):
        ref = plain_python_path(w, c0.tolist(), d0.tolist(), S[m].tolist())
        assert per_path["n_liq"][m] == ref["n_liq"], f"path {m}"
        for name in ("bad_debt", "liq_volume", "penalty", "final_price"):
            assert math.isclose(per_path[name][m], ref[name], rel_tol=1e-9, abs_tol=1e-9), (name, m)


def test_generated_inputs_equal_workload_md_code_bit_for_bit_even_in_blocks() -> None:
    w = R.variant("reference")
    c0, d0, S = workload_inputs(w, 300, 37, 50)
    gc, gd = R.generate_book(w, 300)
    gS = R.generate_paths(w, 37, 50, block_rows=5)
    assert np.array_equal(c0, gc) and np.array_equal(d0, gd)
    assert np.array_equal(S, gS)


@pytest.mark.parametrize("name", ["reference", "stressed"])
def test_engine_equals_plain_python_workload(name: str) -> None:
    w = R.variant(name)
    c0, d0, S = workload_inputs(w, 300, 12, 240)
    per_path, _ = R.run_reference(w, c0, d0, S)
    assert per_path["n_liq"].sum() > 50  # the case exercises liquidations
    if name == "stressed":
        assert np.count_nonzero(per_path["bad_debt"]) > 0
    assert_matches_plain_python(w, c0, d0, S, per_path)
    # Stronger than workload.md asks: liquidations are summed in position order, as the loop
    # does, so the figures are the same floats.
    for m in range(S.shape[0]):
        ref = plain_python_path(w, c0.tolist(), d0.tolist(), S[m].tolist())
        assert all(per_path[k][m] == ref[k] for k in ref), f"path {m}"


def test_engine_equals_plain_python_on_a_crash_with_many_liquidations_in_one_step() -> None:
    # A 40 % gap down in one step: hundreds of positions liquidate at once (sold summed in
    # position order), some written off, and the impact floor is reached.
    w = R.variant("stressed")
    c0, d0 = R.generate_book(w, 400)
    S = np.full((3, 30), w.p0)
    S[0, 5:] = w.p0 * 0.6
    S[1, 3:] = w.p0 * np.linspace(0.9, 0.5, 27)
    S[2, 10:] = w.p0 * 0.85
    per_path, _ = R.run_reference(w, c0, d0, S)
    assert per_path["bad_debt"][0] > 0
    assert_matches_plain_python(w, c0, d0, S, per_path)


def test_stats_follow_workload_md_definitions() -> None:
    bad = np.array([0.0, 0.0, 5.0, 10.0, 100.0])
    per = {
        "bad_debt": bad,
        "n_liq": np.array([1.0, 2, 3, 4, 5]),
        "liq_volume": np.ones(5),
        "penalty": np.zeros(5),
        "final_price": np.full(5, 2.0),
    }
    s = R.reference_stats(per)
    assert s["p_bad_debt"] == 0.6
    assert s["var95"] == pytest.approx(100 - 0.2 * 90)  # linear between 10 and 100
    assert s["cvar95"] == 100.0  # only the 100 path is >= VaR95 = 82
    assert s["n_liq_mean"] == 3.0 and s["bad_debt_mean"] == 23.0


def test_reference_command_writes_per_path_stats_and_timing(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "reference",
            "--positions",
            "200",
            "--paths",
            "6",
            "--steps",
            "100",
            "--variant",
            "stressed",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    res = json.loads(out.read_text())
    w = R.variant("stressed")
    c0, d0, S = workload_inputs(w, 200, 6, 100)
    per = {k: np.array(v) for k, v in res["per_path"].items()}
    assert_matches_plain_python(w, c0, d0, S, per)
    assert res["seconds"] > 0
    assert res["position_steps_per_second"] == pytest.approx(200 * 6 * 100 / res["seconds"])
    assert res["stats"]["bad_debt_mean"] == pytest.approx(per["bad_debt"].mean(), rel=1e-12)


def test_reference_command_uses_inputs_from_an_npz_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    c0 = rng.uniform(1, 10, 50)
    d0 = c0 * 2000 * 0.825 / rng.uniform(1.01, 1.5, 50)
    S = 2000 * np.exp(np.cumsum(rng.normal(-0.01, 0.03, (4, 60)), axis=1))
    S = np.hstack([np.full((4, 1), 2000.0), S])
    np.savez(tmp_path / "in.npz", collateral=c0, debt=d0, prices=S)
    out = tmp_path / "r.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "reference",
            "--inputs",
            str(tmp_path / "in.npz"),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    per = {k: np.array(v) for k, v in json.loads(out.read_text())["per_path"].items()}
    assert per["n_liq"].sum() > 0
    assert_matches_plain_python(R.variant("reference"), c0, d0, S, per)
