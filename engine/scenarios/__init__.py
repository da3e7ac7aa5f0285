"""The scenario library: price paths and market conditions for backtests (margin-engine.md s. 6).

Pure numpy/scipy. The spec (a JSON-serializable dict, stored in the database)::

    {"name": "...",                                   optional label
     "kind": "replay" | "bootstrap" | "fhs" | "gbm" | "merton" | "garch" | "shock",
     "assets": ["ETHUSDT", ...],
     "window": {"start": "2020-03-11T00:00:00Z", "end": "2020-03-14T00:00:00Z"},
         replay: the bars replayed (both ends included); others: the history fitted,
         bootstrapped or used to estimate a missing sigma / correlation; their paths start
         at the window's last close
     "n_steps": 720,                                  replay: optional (default: whole window)
     "start_price": 2000.0 | {"ETHUSDT": 2000.0},     optional: rescale (relative moves kept)
     "vol_multiplier": 1.0,                           (0, 10]
     "interval_seconds": 3600,                        optional; from the history if any
     "params": {...},                                 per kind, see below
     "conditions": {"depth_usd", "k", "impact_model", "max_step_impact", "gas_cost_usd",
                    "gas_spike", "rational", "oracle": {"latency", "deviation", "heartbeat"}}}

params: gbm {mu, sigma} (annual; sigma estimated from the window if missing); merton {mu,
sigma, lam (per year), jump_mu, jump_sigma (log jump size)}; garch {mu, omega, alpha, beta,
nu} per step, all or none (none: fitted on the window); bootstrap {mean_block} (steps, default
24); fhs {mean_block} (default 1: iid); shock {drop, then_kind, at} plus then_kind's params.
A parameter may be a list (one value per asset).
"""

from engine.scenarios.garch import GarchTFit, fit_garch_t
from engine.scenarios.generate import ScenarioPaths, generate
from engine.scenarios.history import History
from engine.scenarios.spec import KINDS, validate_spec
from engine.scenarios.stress import STRESS_WINDOWS, StressWindow, standard_pack, synthetic_pack

__all__ = [
    "History",
    "ScenarioPaths",
    "generate",
    "validate_spec",
    "fit_garch_t",
    "GarchTFit",
    "STRESS_WINDOWS",
    "StressWindow",
    "standard_pack",
    "synthetic_pack",
    "KINDS",
]
