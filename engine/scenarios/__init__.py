"""The scenario library: price paths and market conditions for backtests (margin-engine.md s. 6).

Pure numpy/scipy. The spec (a JSON-serializable dict, stored in the database)::

    {"name": "...",                                   optional label
     "kind": "replay" | "bootstrap" | "fhs" | "gbm" | "merton" | "garch" | "shock",
     "assets": ["ETHUSDT", ...],
     "window": {"start": "2020-03-11T00:00:00Z", "end": "2020-03-14T00:00:00Z"},
         replay: the bars replayed (both ends included); others: the history fitted,
         bootstrapped or used to estimate a missing sigma / correlation; their paths start
         at the window's last close
     "n_steps": 720,                                  replay: optional (default: whole window,
                                                      four steps a bar)
     "start_price": 2000.0 | {"ETHUSDT": 2000.0},     optional: rescale (relative moves kept)
     "vol_multiplier": 1.0,                           (0, 10]
     "interval_seconds": 3600,                        optional; from the history if any (the
                                                      bar: a replay steps a quarter of it)
     "params": {...},                                 per kind, see below
     "conditions": {"depth_usd", "k", "impact_model", "max_step_impact", "gas_cost_usd",
                    "gas_spike", "rational",
                    "oracle": {"latency_seconds", "deviation", "heartbeat_seconds"}},
     "premium": {"mean": -0.0005, "stdev": 0.001,     optional: the perp's premium over its
                 "reversion": 0.25,                   index (engine.scenarios.premium), read
                 "correlation": 0.5}}                 by perp markets' funding only

A replay reaches each bar's real extremes: a bar becomes four steps of a quarter bar, open, then
low and high in the order the bar's direction makes likely, then close (history.bar_steps).
Times are seconds and become steps of the paths' own length (rounded up), so a 1-hour
heartbeat stays one hour on a replay's quarter-hour steps (margin-engine.md section 6).

params: gbm {mu, sigma} (annual; sigma estimated from the window if missing); merton {mu,
sigma, lam (per year), jump_mu, jump_sigma (log jump size)}; garch {mu, omega, alpha, beta,
nu} per step, all or none (none: fitted on the window); bootstrap {mean_block} (steps, default
24); fhs {mean_block} (default 1: iid); shock {drop, then_kind, at} plus then_kind's params.
A parameter may be a list (one value per asset).

premium: an AR(1) around ``mean`` (fraction of the index, (-1, 1); negative: the perp trades
at a discount) with long-run standard deviation ``stdev`` (fraction, [0, 1)), ``reversion`` the
share of the gap to the mean closed per hour ((0, 1], converted to the paths' step length) and
``correlation`` with the first asset's standardized return of the same step ([-1, 1], default
0); it starts at the mean. Drawn from the rng after the prices: a spec with a premium has the
prices of the same spec without it, bit for bit. ``ScenarioPaths.premium`` is (M, T), None
without the entry.
"""

from engine.scenarios.garch import GarchTFit, fit_garch_t
from engine.scenarios.generate import ScenarioPaths, generate
from engine.scenarios.history import STEPS_PER_BAR, History, bar_steps, max_drawdown
from engine.scenarios.spec import KINDS, validate_spec
from engine.scenarios.stress import (
    STRESS_WINDOWS,
    StressWindow,
    describe_replay,
    replay_drawdowns,
    standard_pack,
    synthetic_pack,
)

__all__ = [
    "History",
    "STEPS_PER_BAR",
    "bar_steps",
    "max_drawdown",
    "ScenarioPaths",
    "generate",
    "validate_spec",
    "fit_garch_t",
    "GarchTFit",
    "STRESS_WINDOWS",
    "StressWindow",
    "standard_pack",
    "synthetic_pack",
    "describe_replay",
    "replay_drawdowns",
    "KINDS",
]
