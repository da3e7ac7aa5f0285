"""Statistics across paths and paired comparisons (margin-engine.md section 5).

Per-path results are float64[M, F] arrays with the columns of ``engine._common.RESULT_FIELDS``.
- VaR at level a: ``np.quantile(x, a)`` (linear interpolation, numpy's default);
- CVaR at level a: mean of the paths with ``x >= VaR_a``;
- P(any bad debt): share of paths with realized bad debt > 0;
- P(insolvency): share of paths whose ``insolvent`` flag is set (bad debt above the reserves /
  insurance fund, as each mechanism defines it);
- liquidations at risk: 95th percentile of the liquidated volume (debt repaid) per path.
Borrowing power depends on the book and the parameters, not on the paths: engine.api adds it.
"""

from __future__ import annotations

import numpy as np

from engine._common import FIELD_INDEX, RESULT_FIELDS
from engine.errors import EngineError

LEVELS = (0.95, 0.99)


def tail_stats(x: np.ndarray) -> dict[str, float]:
    """VaR and CVaR at 95 % and 99 % of a float64[M] sample of losses."""
    x = np.asarray(x, dtype=np.float64)
    out: dict[str, float] = {}
    for a in LEVELS:
        var = float(np.quantile(x, a))
        tag = f"{round(a * 100)}"
        out[f"var{tag}"] = var
        out[f"cvar{tag}"] = float(np.mean(x[x >= var]))
    return out


def _check(per_path: np.ndarray, extra_fields: tuple[str, ...] = ()) -> np.ndarray:
    a = np.asarray(per_path, dtype=np.float64)
    width = len(RESULT_FIELDS) + len(extra_fields)
    if a.ndim != 2 or a.shape[1] != width or a.shape[0] < 1:
        raise EngineError(f"per_path must be M x {width} with M >= 1; got shape {a.shape}")
    return a


def summarize(per_path: np.ndarray, extra_fields: tuple[str, ...] = ()) -> dict:
    """Statistics across paths.

    per_path: float64[M, F]. Returns a flat dict of floats: ``mean_<field>`` for every result
    field; ``bad_debt_var95/99``, ``bad_debt_cvar95/99``; the same for total bad debt (realized +
    unrealized at the horizon) as ``total_bad_debt_*``; ``p_bad_debt``; ``p_insolvency``;
    ``liquidations_at_risk``; ``n_paths``. ``extra_fields``: the mechanism's per-path extra
    outputs (engine._skeleton.Mechanism.extra_fields) as columns after RESULT_FIELDS; each
    adds ``mean_<name>`` and ``<name>_var95/99``, ``<name>_cvar95/99`` (the upper tail).
    """
    a = _check(per_path, extra_fields)
    s: dict = {"n_paths": int(a.shape[0])}
    for name, i in FIELD_INDEX.items():
        s[f"mean_{name}"] = float(np.mean(a[:, i]))
    bad = a[:, FIELD_INDEX["bad_debt"]]
    total = bad + a[:, FIELD_INDEX["unrealized_bad_debt"]]
    for prefix, x in (("bad_debt", bad), ("total_bad_debt", total)):
        for k, v in tail_stats(x).items():
            s[f"{prefix}_{k}"] = v
    s["p_bad_debt"] = float(np.mean(bad > 0))
    s["p_insolvency"] = float(np.mean(a[:, FIELD_INDEX["insolvent"]] > 0))
    s["liquidations_at_risk"] = float(np.quantile(a[:, FIELD_INDEX["liq_volume"]], 0.95))
    for j, name in enumerate(extra_fields):
        x = a[:, len(RESULT_FIELDS) + j]
        s[f"mean_{name}"] = float(np.mean(x))
        for k, v in tail_stats(x).items():
            s[f"{name}_{k}"] = v
    return s


def _tails(v: np.ndarray, prefix: str, out: dict[str, np.ndarray]) -> None:
    # One partition for both levels: np.quantile gives the same order statistics.
    for lvl, var in zip(LEVELS, np.quantile(v, LEVELS, axis=1), strict=False):
        tail = v >= var[:, None]
        tag = f"{round(lvl * 100)}"
        out[f"{prefix}_var{tag}"] = var
        out[f"{prefix}_cvar{tag}"] = (v * tail).sum(axis=1) / tail.sum(axis=1)


def _batch_stats(
    cols: np.ndarray, idx: np.ndarray, extra_fields: tuple[str, ...] = ()
) -> dict[str, np.ndarray]:
    """Every summarize statistic (but n_paths) for each row of path indices idx (int[B, M]).

    cols: float64[F, M], the per-path results column by column (C-contiguous), so that each
    statistic gathers one contiguous (B, M) array instead of a strided slice of (B, M, F): the
    same values, bit for bit, in a third of the time."""
    out: dict[str, np.ndarray] = {}
    for name, i in FIELD_INDEX.items():
        out[f"mean_{name}"] = cols[i][idx].mean(axis=1)
    bad = cols[FIELD_INDEX["bad_debt"]][idx]
    total = bad + cols[FIELD_INDEX["unrealized_bad_debt"]][idx]
    for prefix, v in (("bad_debt", bad), ("total_bad_debt", total)):
        _tails(v, prefix, out)
    out["p_bad_debt"] = (bad > 0).mean(axis=1)
    out["p_insolvency"] = (cols[FIELD_INDEX["insolvent"]][idx] > 0).mean(axis=1)
    out["liquidations_at_risk"] = np.quantile(cols[FIELD_INDEX["liq_volume"]][idx], 0.95, axis=1)
    for j, name in enumerate(extra_fields):
        v = cols[len(RESULT_FIELDS) + j][idx]
        out[f"mean_{name}"] = v.mean(axis=1)
        _tails(v, name, out)
    return out


def paired_differences(
    a: np.ndarray,
    b: np.ndarray,
    rng: np.random.Generator,
    n_boot: int = 1000,
    extra_fields: tuple[str, ...] = (),
) -> dict:
    """B minus A on the same paths (common random numbers), with percentile bootstrap 95 % CIs.

    a, b: float64[M, F] per-path results of parameter sets A and B on the same paths and book.
    Every statistic of ``summarize`` (means, VaR/CVaR, probabilities, liquidations at risk) is
    differenced; the bootstrap resamples path indices with replacement (the same indices for A
    and B, which keeps the pairing) ``n_boot`` times with ``rng``. Returns
    ``{stat: {"a", "b", "diff", "ci_low", "ci_high"}}``. ``extra_fields``: as for ``summarize``.
    """
    a, b = _check(a, extra_fields), _check(b, extra_fields)
    if a.shape != b.shape:
        raise EngineError(f"paired runs must have the same shape; got {a.shape} and {b.shape}")
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 1:
        raise EngineError(f"n_boot must be a whole number >= 1; got {n_boot!r}")
    sa, sb = summarize(a, extra_fields), summarize(b, extra_fields)
    m = a.shape[0]
    idx = rng.integers(0, m, (int(n_boot), m))
    # Blocks of resamples keep memory near 64 MB whatever M and n_boot (a block's statistics
    # hold a few (block, M) float64 arrays at a time).
    block = max(1, int(1e6 // m))
    ca, cb = np.ascontiguousarray(a.T), np.ascontiguousarray(b.T)
    diffs: dict[str, list[np.ndarray]] = {}
    for r in range(0, int(n_boot), block):
        ba = _batch_stats(ca, idx[r : r + block], extra_fields)
        bb = _batch_stats(cb, idx[r : r + block], extra_fields)
        for k in ba:
            diffs.setdefault(k, []).append(bb[k] - ba[k])
    out = {}
    for k, parts in diffs.items():
        lo, hi = np.quantile(np.concatenate(parts), [0.025, 0.975])
        out[k] = {"a": sa[k], "b": sb[k], "diff": sb[k] - sa[k], "ci_low": float(lo), "ci_high": float(hi)}
    return out
