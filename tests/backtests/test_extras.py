"""A mechanism's per-path extra outputs in a backtest: columns after RESULT_FIELDS in every
chunk, summary and paired difference, and figures in the verdict table."""

from __future__ import annotations

import numpy as np

from backtests import inputs, verdict
from engine._common import N_FIELDS


def test_with_extras_appends_the_extras_after_the_result_fields_in_their_order():
    seen = {}

    def simulate(params, book, prices, market, *, extras=False, record_steps=None, switch=None):
        seen["extras"] = extras
        m = prices.shape[0]
        out = np.arange(m * N_FIELDS, dtype=float).reshape(m, N_FIELDS)
        xo = {"vault_loss": np.full(m, 7.0), "other": np.arange(m, dtype=float)}
        if record_steps is not None:
            return out, {"market_price": np.ones((m, 2))}, xo
        return out, xo

    run = inputs.with_extras(simulate)
    per_path = run(None, None, np.ones((3, 4)), None)
    assert seen["extras"] is True
    assert per_path.shape == (3, N_FIELDS + 2)
    assert np.array_equal(per_path[:, :N_FIELDS], np.arange(3 * N_FIELDS).reshape(3, N_FIELDS))
    assert np.array_equal(per_path[:, N_FIELDS], np.full(3, 7.0))
    assert np.array_equal(per_path[:, N_FIELDS + 1], np.arange(3.0))
    per_path, series = run(None, None, np.ones((3, 4)), None, record_steps=np.array([0, 3]))
    assert per_path.shape == (3, N_FIELDS + 2) and set(series) == {"market_price"}


def test_a_mechanism_without_extras_has_none_and_its_verdict_table_is_unchanged():
    assert inputs.extra_fields("aave-v3") == ()
    assert verdict.figures_for("aave-v3") == verdict.FIGURES
    keys = [f.key for f in verdict.figures_for("morpho-blue")]
    assert keys[: len(verdict.FIGURES)] == [f.key for f in verdict.FIGURES]
    assert keys[len(verdict.FIGURES) :] == ["mean_vault_loss", "vault_loss_cvar99"]


def test_a_run_without_the_extra_summaries_shows_empty_cells():
    scen = verdict.StoredScenario(index=0, name="m: GBM", n_paths=10, paired={})
    row = verdict.rows_of([scen], verdict.figures_for("morpho-blue"))[0]
    cell = row.cell("mean_vault_loss")
    assert cell is not None and cell.live is None and not cell.significant
