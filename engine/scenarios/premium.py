"""The perp's premium over its index: a mean-reverting process tied to the asset's returns.

Funding (margin-engine.md 2.4) pays each interval the mean of the perp's premium over its
index; the engine adds the premium its own liquidations make to a series the scenario supplies
(``engine.perp.simulate(..., premium=float64[M, T])``). A scenario spec's optional ``premium``
entry (engine/scenarios/__init__.py) draws that series here, as a discrete Ornstein-Uhlenbeck
process (an AR(1)) around ``mean``:

    d[u] = phi * d[u-1] + stdev * sqrt(1 - phi^2) * eps[u],   d[-1] = 0,
    premium[m, u] = mean + d[u],   phi = (1 - reversion) ** (step_seconds / 3600),
    eps[u] = rho * z[u] + sqrt(1 - rho^2) * x[u],

``premium[m, u]`` being the premium over step u (from price u to price u+1), ``x`` independent
standard normal draws and ``z[u]`` the path's own log return of that step over the root mean
square of the path's log returns.

Units. ``mean`` and ``stdev`` are fractions of the index (the premium is a price gap, not a
rate per time): -0.001 is a perp 0.1 % below its index, and with an hourly funding interval
a rate of -0.1 % an hour paid by shorts to longs. ``reversion`` is the share of the gap to the
mean closed in an hour, so the same spec means the same on an hourly simulation and on a
replay's quarter-hour steps: ``phi`` is the hourly factor to the power of the step in hours,
and the innovation's ``stdev * sqrt(1 - phi^2)`` keeps ``stdev`` the premium's long-run
standard deviation whatever the step (sampled every hour, the process has one law on any step
length). The process starts at the mean (``d[-1] = 0``) and spreads to ``stdev`` over a few
half-lives (``ln 2 / -ln(1 - reversion)`` hours).

Why the path's own scale. It is defined for every kind of scenario (a replay, a bootstrap,
GARCH, a shock: none of them has one sigma), it is unchanged by a volatility multiplier, and a
path's large moves move the premium in proportion: the step of a -45 % shock is some fifteen
times its path's usual move, so with ``correlation > 0`` the perp gaps to a discount at the
crash and reverts from there. The returns are not demeaned: a fall counts as a fall, not as a
step below the path's average (demeaning would make every other step of a crash path look like
a small rise). Hourly drifts are tiny against hourly moves, so ``z`` has mean about 0 and
variance 1 on a path; a flat path has no scale and its ``z`` is 0.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

SECONDS_PER_HOUR = 3600.0


def premium_paths(
    premium: dict, log_returns: np.ndarray, step_seconds: float, rng: np.random.Generator
) -> np.ndarray:
    """The premium series of a scenario's paths.

    Parameters
    ----------
    premium : a normalized spec's ``premium`` entry: ``mean`` and ``stdev`` (fractions of the
        index), ``reversion`` (share of the gap to the mean closed per hour, (0, 1]),
        ``correlation`` (with the step's return, [-1, 1]).
    log_returns : float64 (M, T), the (first) asset's log returns, step u from price u to u+1.
    step_seconds : the paths' step length, seconds.
    rng : draws (M, T) standard normals.

    Returns
    -------
    float64 (M, T): ``premium[m, u]``, the perp's premium over its index over step u (fraction).
    """
    r = np.asarray(log_returns, dtype=np.float64)
    x = rng.standard_normal(r.shape)
    phi = (1.0 - premium["reversion"]) ** (step_seconds / SECONDS_PER_HOUR)
    scale = premium["stdev"] * math.sqrt(1.0 - phi * phi)
    rho = premium["correlation"]
    eps = rho * scaled_returns(r) + math.sqrt(1.0 - rho * rho) * x
    d = signal.lfilter([scale], [1.0, -phi], eps, axis=1)
    return premium["mean"] + d


def scaled_returns(r: np.ndarray) -> np.ndarray:
    """Each path's log returns over their root mean square: float64 (M, T); a flat path gives
    zeros."""
    rms = np.sqrt(np.mean(r * r, axis=1, keepdims=True))
    return np.divide(r, rms, out=np.zeros_like(r), where=rms > 0)
