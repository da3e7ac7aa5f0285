"""Statistics across paths and paired comparisons (margin-engine.md section 5)."""

import numpy as np
import pytest

from engine._common import FIELD_INDEX as F
from engine._common import N_FIELDS
from engine.errors import EngineError
from engine.results import paired_differences, summarize, tail_stats


def per_path(**cols: list[float]) -> np.ndarray:
    m = len(next(iter(cols.values())))
    a = np.zeros((m, N_FIELDS))
    for k, v in cols.items():
        a[:, F[k]] = v
    return a


def test_var_is_numpys_linear_quantile_and_cvar_the_mean_at_or_above_it() -> None:
    x = np.arange(101.0)  # 0..100
    s = tail_stats(x)
    assert s["var95"] == 95.0 and s["var99"] == 99.0
    assert s["cvar95"] == np.mean(np.arange(95.0, 101.0))  # 97.5
    assert s["cvar99"] == 99.5


def test_summary_probabilities_and_liquidations_at_risk() -> None:
    a = per_path(
        bad_debt=[0, 0, 10, 30],
        unrealized_bad_debt=[5, 0, 0, 0],
        insolvent=[0, 0, 0, 1],
        liq_volume=[0, 100, 200, 300],
        n_liq=[0, 1, 2, 3],
    )
    s = summarize(a)
    assert s["p_bad_debt"] == 0.5
    assert s["p_insolvency"] == 0.25
    assert s["mean_bad_debt"] == 10.0 and s["mean_n_liq"] == 1.5
    assert s["liquidations_at_risk"] == pytest.approx(300 - 0.15 * 100)  # 95th pct, linear
    assert s["total_bad_debt_var95"] == pytest.approx(np.quantile([5, 0, 10, 30], 0.95))
    assert s["n_paths"] == 4


def test_summary_rejects_a_wrong_shape() -> None:
    with pytest.raises(EngineError, match="per_path must be M x 13"):
        summarize(np.zeros((3, 4)))


def test_paired_difference_of_identical_runs_is_exactly_zero_with_a_zero_interval() -> None:
    rng = np.random.default_rng(0)
    a = per_path(bad_debt=rng.exponential(1.0, 200), liq_volume=rng.random(200))
    d = paired_differences(a, a.copy(), np.random.default_rng(1), n_boot=200)
    assert d["mean_bad_debt"]["diff"] == 0.0
    assert d["mean_bad_debt"]["ci_low"] == 0.0 and d["mean_bad_debt"]["ci_high"] == 0.0


def test_paired_bootstrap_interval_covers_a_known_shift_and_is_narrow_when_paired() -> None:
    rng = np.random.default_rng(3)
    base = rng.exponential(1000.0, 500)
    a = per_path(bad_debt=base)
    b = per_path(bad_debt=base + 50.0 + rng.normal(0, 1.0, 500))
    d = paired_differences(a, b, np.random.default_rng(4), n_boot=500)["mean_bad_debt"]
    assert d["diff"] == pytest.approx(50.0, abs=0.2)
    assert d["ci_low"] < 50.0 < d["ci_high"]
    # Pairing removes the between-path spread (sd ~1000): the interval is far narrower than it.
    assert d["ci_high"] - d["ci_low"] < 1.0
    assert "bad_debt_cvar99" in paired_differences(a, b, np.random.default_rng(4), n_boot=10)


def test_paired_bootstrap_is_reproducible_from_the_generator_seed() -> None:
    rng = np.random.default_rng(5)
    a = per_path(bad_debt=rng.random(50))
    b = per_path(bad_debt=rng.random(50))
    d1 = paired_differences(a, b, np.random.default_rng(9), n_boot=100)
    d2 = paired_differences(a, b, np.random.default_rng(9), n_boot=100)
    assert d1 == d2


def test_paired_runs_must_have_the_same_paths() -> None:
    with pytest.raises(EngineError, match="same shape"):
        paired_differences(np.zeros((3, N_FIELDS)), np.zeros((4, N_FIELDS)), np.random.default_rng(0), 10)


def test_every_bootstrap_interval_is_the_quantile_of_summarize_over_each_resample() -> None:
    # The bootstrap computes the statistics of all resamples at once, column by column; here
    # each resample is summarized on its own, as summarize does for a run, and the 2.5 / 97.5 %
    # quantiles of the differences must agree (to rounding of the sums' order).
    rng = np.random.default_rng(11)
    m = 60
    bad = np.where(rng.random(m) < 0.6, 0.0, rng.exponential(100.0, m))
    a = per_path(
        bad_debt=bad,
        unrealized_bad_debt=rng.exponential(5.0, m),
        liq_volume=rng.random(m) * 1e6,
        insolvent=(rng.random(m) < 0.2).astype(float),
    )
    b = a * rng.uniform(0.8, 1.3, a.shape)
    n_boot = 40
    d = paired_differences(a, b, np.random.default_rng(12), n_boot=n_boot)
    idx = np.random.default_rng(12).integers(0, m, (n_boot, m))
    diffs = {}
    for row in idx:
        sa, sb = summarize(a[row]), summarize(b[row])
        for k in sa:
            if k != "n_paths":
                diffs.setdefault(k, []).append(sb[k] - sa[k])
    assert set(diffs) == set(d)
    for k, values in diffs.items():
        lo, hi = np.quantile(values, [0.025, 0.975])
        assert d[k]["ci_low"] == pytest.approx(lo, rel=1e-12, abs=1e-9), k
        assert d[k]["ci_high"] == pytest.approx(hi, rel=1e-12, abs=1e-9), k


def test_extra_fields_add_their_statistics_and_leave_the_others_bit_for_bit():
    """A mechanism's per-path extra outputs (engine._skeleton.Mechanism.extra_fields) are
    columns after RESULT_FIELDS: summarize and paired_differences add mean, VaR and CVaR of each,
    and every other statistic is what it is without them."""
    rng = np.random.default_rng(5)
    base = np.abs(rng.normal(0.0, 1.0, (200, N_FIELDS)))
    loss = np.concatenate([np.zeros(190), np.arange(1.0, 11.0)])  # the worst 10 paths lose 1..10
    wide = np.hstack([base, loss[:, None]])
    s0, s1 = summarize(base), summarize(wide, ("vault_loss",))
    assert {k: s1[k] for k in s0} == s0
    assert s1["mean_vault_loss"] == loss.mean()
    # VaR99 is the 99th percentile (numpy's linear interpolation); CVaR99 the mean at or above it.
    var99 = np.quantile(loss, 0.99)
    assert s1["vault_loss_var99"] == var99
    assert s1["vault_loss_cvar99"] == loss[loss >= var99].mean()
    p0 = paired_differences(base, base * 1.1, np.random.default_rng(1), 50)
    p1 = paired_differences(
        wide, np.hstack([base * 1.1, 2 * loss[:, None]]), np.random.default_rng(1), 50, ("vault_loss",)
    )
    assert {k: p1[k] for k in p0} == p0
    assert p1["mean_vault_loss"]["diff"] == pytest.approx(loss.mean())
    with pytest.raises(EngineError, match=f"M x {N_FIELDS + 1}"):
        summarize(base, ("vault_loss",))
