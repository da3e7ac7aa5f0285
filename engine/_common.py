"""Compiled helpers shared by every mechanism's kernel: oracle, impact, liquidator economics.

Each kernel runs one path at a time (paths in parallel with ``prange``) and calls these per
step, in the order of margin-engine.md section 4:
  1. ``p = S[t] * J``; ``p_hist[t] = p``; ``po = oracle_price(p_hist, t, ...)``
  2. every position checked against ``po`` at once; liquidations computed from the state at
     the start of the step; a rational liquidator acts only if ``liquidation_pays(...)``
  3. balances updated; ``J = next_impact(J, sold_usd, ...)``
"""

import math

import numpy as np
from numba import njit

from engine.errors import EngineError

# Result fields every mechanism reports per path (margin-engine.md section 5). A mechanism
# writes 0 for what it does not have (Aave has no keeper rewards).
RESULT_FIELDS = (
    "bad_debt",  # realized bad debt, USD
    "unrealized_bad_debt",  # at the horizon: sum of max(d - c * p, 0) over open positions, USD
    "n_liq",  # number of liquidations (partial ones each count)
    "liq_volume",  # debt repaid by liquidations, USD
    "collateral_sold_usd",  # seized collateral valued at the market price when sold, USD
    "penalty",  # penalty paid by borrowers, USD
    "protocol_fees",  # protocol's share, USD
    "keeper_rewards",  # paid by the protocol to keepers (Maker tip + chip), USD
    "insurance_used",  # insurance fund / reserves spent on shortfalls, USD
    "socialized_loss",  # loss beyond the insurance fund (ADL), USD
    "n_unprofitable",  # positions liquidatable at some step but left open because it did not pay
    "insolvent",  # 1.0 when bad debt exceeded the reserves / insurance fund, else 0.0
    "final_price",  # market price at the horizon, S[T] * J[T]
)
FIELD_INDEX = {name: i for i, name in enumerate(RESULT_FIELDS)}
N_FIELDS = len(RESULT_FIELDS)


@njit(cache=True, inline="always")
def oracle_price(p_hist, t, lag, deviation, heartbeat, state):
    """Oracle value at step t.

    p_hist: market prices of this path up to t (float64[T+1]); state: float64[2], the last
    published value and the step it was published at (the kernel sets state[1] = -1 before
    t = 0). Latency: the candidate is ``p_hist[max(0, t - lag)]``. Push oracle (Chainlink
    ``deviationThreshold`` / ``heartbeat``): a new round when the candidate moved at least
    ``deviation`` relative to the last round, or ``heartbeat`` steps passed.
    """
    cand = p_hist[t - lag] if t >= lag else p_hist[0]
    if deviation <= 0.0:
        return cand
    if state[1] < 0.0:
        state[0] = cand
        state[1] = t
        return cand
    if abs(cand - state[0]) >= deviation * state[0] or (heartbeat > 0 and t - state[1] >= heartbeat):
        state[0] = cand
        state[1] = t
    return state[0]


@njit(cache=True, inline="always")
def next_impact(J, sold_usd, k, depth, k_over_depth, sqrt_model, floor):
    """Cumulative impact factor for the next step after selling ``sold_usd`` this step."""
    if sold_usd <= 0.0:
        return J
    if sqrt_model:
        f = 1.0 - k * math.sqrt(sold_usd / depth)
    else:
        f = 1.0 - k_over_depth * sold_usd
    return J * max(f, floor)


@njit(cache=True, inline="always")
def sale_slippage(value_usd, k, depth, k_over_depth, sqrt_model, floor):
    """Fraction lost by selling ``value_usd`` at once into the market's depth."""
    if sqrt_model:
        s = k * math.sqrt(value_usd / depth)
    else:
        s = k_over_depth * value_usd
    return min(s, 1.0 - floor)


@njit(cache=True, inline="always")
def gas_cost(gas_usd, gas_spike, p, peak):
    """Gas for one liquidation, rising with the drawdown from the running peak price."""
    if gas_spike <= 0.0:
        return gas_usd
    return gas_usd * (1.0 + gas_spike * max(0.0, 1.0 - p / peak))


@njit(cache=True, inline="always")
def liquidation_pays(seize_units, repay_usd, p, gas, k, depth, k_over_depth, sqrt_model, floor):
    """Does a liquidator profit? Sale of the seized collateral, net of its own slippage and
    gas, must exceed the debt repaid (margin-engine.md section 3)."""
    value = seize_units * p
    proceeds = value * (1.0 - sale_slippage(value, k, depth, k_over_depth, sqrt_model, floor))
    return proceeds - repay_usd - gas > 0.0


@njit(cache=True, inline="always")
def dynamic_threshold(state, po, t, base, sign, k_vol, horizon_steps, update_interval, lam, floor, cap):
    """Volatility-adjusted threshold (margin-engine.md section 2.5).

    Every step the EWMA of squared log oracle returns is updated,
    ``var = lam * var + (1 - lam) * r**2``; every ``update_interval`` steps the threshold is
    recomputed as ``clip(base + sign * k_vol * sqrt(var) * sqrt(horizon_steps), floor, cap)``.
    ``sign = -1`` for LT-like thresholds (they fall as volatility rises: Aave LT, Comet
    liquidate CF), ``+1`` for margin-like ones (they rise: Maker ``mat``, perp maintenance
    fraction). ``k_vol = 0`` gives the static ``base``.

    state: float64[3], [last oracle price (0 before the first step), EWMA variance, current
    threshold]; the kernel initialises it to ``[0, 0, base]``.
    """
    if k_vol == 0.0:
        return base
    if state[0] > 0.0:
        r = math.log(po / state[0])
        state[1] = lam * state[1] + (1.0 - lam) * r * r
    state[0] = po
    if update_interval > 0 and t % update_interval == 0:
        th = base + sign * k_vol * math.sqrt(state[1] * horizon_steps)
        state[2] = min(max(th, floor), cap)
    return state[2]


# Per-step series a kernel records at the steps asked for (``simulate(..., record_steps=...)``).
SERIES_FIELDS = (
    "market_price",  # p = S[t] * J[t] at the step (cross: the first asset's)
    "liq_volume_cum",  # liq_volume up to and including the step, USD
    "bad_debt_cum",  # realized bad debt (column bad_debt) up to and including the step, USD
)


@njit(cache=True, inline="always")
def record_until(rec, ri, t_end, ser, m, p, vol, bad):
    """Write ``(p, vol, bad)`` into ``ser[m, ri]`` for every recorded step ``rec[ri] < t_end``.

    rec: int64[K] sorted steps; ri: this path's pointer into rec; ser: float64[M, K, 3].
    A kernel calls it at the top of step t with ``t_end = t`` (the state at the end of step
    t - 1, whose market price is ``p``), and after its time loop for steps T - 1 and T.
    Returns the new pointer. Costs one comparison on a step with nothing to record.
    """
    K = rec.shape[0]
    while ri < K and rec[ri] < t_end:
        ser[m, ri, 0] = p
        ser[m, ri, 1] = vol
        ser[m, ri, 2] = bad
        ri += 1
    return ri


def record_arrays(
    record_steps: np.ndarray | None, n_paths: int, n_steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Kernel arguments for ``record_steps``: (rec int64[K], ser float64[M, K, 3]).

    ``record_steps``: sorted steps in 0..T (``n_steps`` = T), or None (K = 0: nothing recorded,
    the kernel's results are those of a run without recording, bit for bit).
    """
    if record_steps is None:
        return np.zeros(0, np.int64), np.zeros((n_paths, 0, len(SERIES_FIELDS)))
    r = np.asarray(record_steps)
    if r.ndim != 1 or not np.issubdtype(r.dtype, np.integer):
        raise EngineError(
            f"record_steps must be a 1-d array of integer steps; got dtype {r.dtype} shape {r.shape}"
        )
    r = np.ascontiguousarray(r, dtype=np.int64)
    if r.size and (r[0] < 0 or r[-1] > n_steps or np.any(np.diff(r) < 0)):
        raise EngineError(
            f"record_steps must be sorted steps in [0, {n_steps}]; got "
            f"{r.min()}..{r.max()}{' unsorted' if np.any(np.diff(r) < 0) else ''}"
        )
    return r, np.zeros((n_paths, r.shape[0], len(SERIES_FIELDS)))


def series_dict(ser: np.ndarray) -> dict[str, np.ndarray]:
    """The kernel's float64[M, K, 3] recording as ``{SERIES_FIELDS name: float64[M, K]}``."""
    return {name: np.ascontiguousarray(ser[:, :, i]) for i, name in enumerate(SERIES_FIELDS)}


# Parameters that change during a run (margin-engine.md section 4, "Parameters that change
# during a run"): ``simulate(..., switch=(k, params_after))`` runs ``params`` on steps 0..k-1
# and ``params_after`` from step k on, with the same book, paths and state carried over.
NO_SWITCH = -1  # the kernels' switch step when nothing switches (no step t equals it)


def switch_step(switch: object, params_cls: type, mechanism: str, n_steps: int) -> tuple[object, int]:
    """``(params_after, k)`` for the kernels from ``switch`` = None or ``(k, params_after)``.

    ``k`` must be a whole number >= 0 and ``params_after`` an instance of the mechanism's
    ``Params`` (EngineError naming what was wrong otherwise). A switch at or beyond the horizon
    (``k >= n_steps`` = T) never takes effect: ``(None, NO_SWITCH)``, as without a switch.
    """
    if switch is None:
        return None, NO_SWITCH
    if not isinstance(switch, tuple | list) or len(switch) != 2:
        raise EngineError(f"switch must be None or a pair (step k, params after k); got {switch!r}")
    k, after = switch
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise EngineError(f"switch step k must be a whole number of steps >= 0; got {k!r}")
    if k < 0:
        raise EngineError(f"switch step k must be a whole number of steps >= 0; got {int(k)}")
    if not isinstance(after, params_cls):
        raise EngineError(
            f"switch params must be {params_cls.__module__}.Params ({mechanism}); got "
            f"{type(after).__module__}.{type(after).__name__}"
        )
    if k >= n_steps:
        return None, NO_SWITCH
    return after, int(k)


@njit(cache=True, inline="always")
def switch_threshold(state, base_old, base_new, kvol_old, floor_new, cap_new):
    """Carry a (volatility-adjusted) threshold's state over a parameter switch (section 2.5).

    state: float64[3] of ``dynamic_threshold``. The EWMA of oracle returns is the market's and
    carries over. The threshold in force moves by the change of its base and is clipped to the
    new bounds; the next scheduled update recomputes it with the new rule. When nothing was
    tracked yet (a static threshold before, or a switch at step 0) it starts from the new base,
    as at the start of a run. Identical sets leave the state untouched, bit for bit.
    """
    if kvol_old == 0.0 or state[0] == 0.0:
        state[2] = base_new
    elif base_new != base_old:
        state[2] = min(max(state[2] + (base_new - base_old), floor_new), cap_new)
