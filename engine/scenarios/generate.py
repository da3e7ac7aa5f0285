"""``generate(spec, history=..., n_paths=..., rng=...) -> ScenarioPaths``: the scenario library's entry."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from engine.errors import EngineError
from engine.market import SECONDS_PER_YEAR, MarketConditions
from engine.scenarios import models
from engine.scenarios.garch import GarchTFit, standardized_residuals
from engine.scenarios.history import STEPS_PER_BAR, History, aligned_returns, bar_steps, grid_bars, parse_iso
from engine.scenarios.premium import premium_paths
from engine.scenarios.spec import market_conditions, validate_spec

DEFAULT_INTERVAL = 3600


@dataclass(frozen=True)
class ScenarioPaths:
    """Price paths of a scenario and the market conditions that go with them.

    prices: float64 (M, T+1) for one asset, (A, M, T+1) for several (order of ``assets``);
        exogenous market price S (margin-engine.md section 1), USD per unit, read-only.
    assets: the symbols, in the order of the first axis when there are several.
    start: UTC time of ``prices[..., 0]`` for a replay (the end of the first quarter of the
        window's first bar: its open + interval / 4), None for simulated paths; step ``t`` is at
        ``start + t * interval_seconds``.
    interval_seconds: step length, seconds (a replay's is a quarter of its bars').
    conditions: engine.market.MarketConditions (depth, gas, oracle; steps_per_year and the
        oracle's times in steps from the step length).
    spec: the normalized spec that produced the paths.
    steps_per_bar: steps per bar of the history (4 for a replay, 1 for simulated paths).
    premium: float64 (M, T), the perp's premium over its index over each step (fraction; see
        engine.scenarios.premium), read-only; None when the spec has no ``premium``.
    """

    prices: np.ndarray
    assets: tuple[str, ...]
    start: datetime | None
    interval_seconds: int
    conditions: MarketConditions
    spec: dict
    steps_per_bar: int = 1
    premium: np.ndarray | None = None

    def __post_init__(self) -> None:
        p = np.asarray(self.prices, dtype=np.float64)
        want = 2 if len(self.assets) == 1 else 3
        if p.ndim != want or (want == 3 and p.shape[0] != len(self.assets)) or p.shape[-1] < 2:
            raise EngineError(
                f"prices must have shape {'(M, T+1)' if want == 2 else '(A, M, T+1)'} "
                f"with T >= 1 for assets {list(self.assets)}; got {p.shape}"
            )
        bad = ~np.isfinite(p) | (p <= 0)
        if bad.any():
            raise EngineError(
                f"prices must be finite and > 0; got {float(p[bad].flat[0])!r} (the "
                "scenario's volatility or drift is too extreme for float64)"
            )
        p.setflags(write=False)
        object.__setattr__(self, "prices", p)
        object.__setattr__(self, "assets", tuple(self.assets))
        if self.premium is not None:
            prem = np.array(self.premium, dtype=np.float64)
            want = p.shape[-2:-1] + (p.shape[-1] - 1,)
            if prem.shape != want or not np.all(np.isfinite(prem)):
                raise EngineError(f"premium must be finite float64 (M, T) = {want}; got shape {prem.shape}")
            prem.setflags(write=False)
            object.__setattr__(self, "premium", prem)

    @property
    def n_paths(self) -> int:
        return self.prices.shape[-2]

    @property
    def n_steps(self) -> int:
        return self.prices.shape[-1] - 1


def generate(
    spec: dict, *, history: dict[str, History] | None, n_paths: int, rng: np.random.Generator
) -> ScenarioPaths:
    """Price paths for a scenario spec.

    Parameters
    ----------
    spec : JSON-serializable dict, see engine/scenarios/__init__.py (validated here).
    history : real history per asset symbol, covering ``spec["window"]`` (it is cut to the
        window here); needed by replay, bootstrap, fhs, a garch without given parameters, and
        by gbm / merton to estimate a missing sigma or several assets' correlation.
    n_paths : M, number of paths (a replay always gives exactly 1 path: it is deterministic).
    rng : the only source of randomness.

    Returns
    -------
    ScenarioPaths with prices (M, T+1) or (A, M, T+1), T = spec["n_steps"]; a replay's T is
    ``4 * bars - 1`` (or its n_steps) on steps of a quarter bar. With a ``premium`` in the
    spec, its ``premium`` (M, T) is drawn from ``rng`` after the prices (engine.scenarios.premium,
    on the first asset's returns), so adding one leaves the prices bit for bit as they were.
    """
    s = validate_spec(spec)
    if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths < 1:
        raise EngineError(f"n_paths must be a whole number >= 1; got {n_paths!r}")
    if not isinstance(rng, np.random.Generator):
        raise EngineError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    hists = _windowed(s, history)
    interval = _interval(s, hists)
    per_bar = 1
    if s["kind"] == "replay":
        prices, start = _replay(s, hists, interval)
        per_bar = STEPS_PER_BAR
    else:
        prices, start = _simulate(s, hists, interval, int(n_paths), rng), None
    prices = _rescale(prices, s)
    step = interval // per_bar
    premium = None
    if "premium" in s:
        premium = premium_paths(s["premium"], np.diff(np.log(prices[0]), axis=1), step, rng)
    if len(s["assets"]) == 1:
        prices = prices[0]
    return ScenarioPaths(
        prices=prices,
        assets=tuple(s["assets"]),
        start=start,
        interval_seconds=step,
        conditions=market_conditions(s["conditions"], step),
        spec=s,
        steps_per_bar=per_bar,
        premium=premium,
    )


def _windowed(s: dict, history: dict[str, History] | None) -> list[History] | None:
    if s["window"] is None:
        return None
    if history is None:
        raise EngineError(
            f"history must be given for assets {s['assets']} (the spec has a "
            f"window, {s['window']['start']} .. {s['window']['end']}); got None"
        )
    lo, hi = parse_iso("window.start", s["window"]["start"]), parse_iso("window.end", s["window"]["end"])
    out = []
    for a in s["assets"]:
        h = history.get(a)
        if not isinstance(h, History):
            raise EngineError(f"history[{a!r}] must be an engine.scenarios.History; got {h!r}")
        out.append(h.window(lo, hi))
    if len({h.interval_seconds for h in out}) > 1:
        raise EngineError(
            f"history of {s['assets']} must share one interval_seconds; got "
            f"{[h.interval_seconds for h in out]}"
        )
    return out


def _interval(s: dict, hists: list[History] | None) -> int:
    if hists is None:
        return s["interval_seconds"] or DEFAULT_INTERVAL
    iv = hists[0].interval_seconds
    if s["interval_seconds"] is not None and s["interval_seconds"] != iv:
        raise EngineError(
            f"interval_seconds must match the history's interval ({iv}); got {s['interval_seconds']}"
        )
    return iv


def _replay(s: dict, hists: list[History], interval: int) -> tuple[np.ndarray, datetime]:
    """The window's bars on a regular grid, four steps each (history.bar_steps), (A, 1, T+1);
    vol_multiplier scales log moves from the first step."""
    if interval % STEPS_PER_BAR:
        raise EngineError(
            f"a replay splits each bar into {STEPS_PER_BAR} steps of whole seconds: the history's "
            f"interval_seconds must be a multiple of {STEPS_PER_BAR}; got {interval}"
        )
    bars, t0 = grid_bars(hists)
    path = bar_steps(bars[:, 0], bars[:, 1], bars[:, 2], bars[:, 3])
    if s["n_steps"] is not None:
        if s["n_steps"] + 1 > path.shape[1]:
            raise EngineError(
                f"n_steps must be at most {path.shape[1] - 1} for this replay window "
                f"({STEPS_PER_BAR} steps a bar); got {s['n_steps']}"
            )
        path = path[:, : s["n_steps"] + 1]
    k = s["vol_multiplier"]
    if k != 1.0:
        path = path[:, :1] * (path / path[:, :1]) ** k
    start = datetime.fromtimestamp(t0 + interval // STEPS_PER_BAR, tz=UTC)
    return path[:, None, :], start


def _simulate(
    s: dict, hists: list[History] | None, interval: int, M: int, rng: np.random.Generator
) -> np.ndarray:
    params = s["params"]
    model = params.get("then_kind") or s["kind"]
    T, k, A = s["n_steps"], s["vol_multiplier"], len(s["assets"])
    R_hist = aligned_returns(hists)[0] if hists is not None else None
    dt = interval / SECONDS_PER_YEAR
    if model == "bootstrap":
        r = models.bootstrap_returns(R_hist, M, T, params["mean_block"], k, rng)
    elif model == "fhs":
        fits, Z, s2 = models.fit_assets(R_hist)
        idx = models.stationary_bootstrap_indices(Z.shape[1], M, T, params["mean_block"], rng)
        r = models.garch_paths(fits, s2, Z[:, idx], k)
    elif model == "garch":
        fits, s2, L = _garch_setup(params, R_hist, A)
        r = models.garch_paths(fits, s2, models.garch_innovations(fits, L, M, T, rng), k)
    else:
        mu = _per_asset(params["mu"], A)
        sigma = _sigma(params, R_hist, A, dt)
        L = _cholesky(R_hist, A, params.get("correlation"))
        if model == "gbm":
            r = models.gbm_returns(mu, sigma, dt, L, M, T, k, rng)
        else:
            lam = _per_asset(params["lam"], A)
            if np.ptp(lam) > 0:
                raise EngineError(
                    f"params.lam must be one number for several assets (they jump "
                    f"together); got {params['lam']!r}"
                )
            r = models.merton_returns(
                mu,
                sigma,
                lam,
                _per_asset(params["jump_mu"], A),
                _per_asset(params["jump_sigma"], A),
                dt,
                L,
                M,
                T,
                k,
                rng,
            )
    if s["kind"] == "shock":
        r[:, :, params["at"] - 1] = math.log1p(-params["drop"])
    S0 = np.array([h.close[-1] for h in hists]) if hists is not None else np.ones(A)
    logS = np.zeros((A, M, T + 1))
    np.cumsum(r, axis=2, out=logS[:, :, 1:])
    return S0[:, None, None] * np.exp(logS)


def _rescale(prices: np.ndarray, s: dict) -> np.ndarray:
    """Put each asset on spec["start_price"] (relative moves kept)."""
    sp = s["start_price"]
    if sp is None:
        return prices
    sp = {s["assets"][0]: sp} if not isinstance(sp, dict) else sp
    out = prices.copy()
    for a, asset in enumerate(s["assets"]):
        if asset in sp:
            out[a] *= sp[asset] / out[a, :, :1]
    return out


def _per_asset(value: float | list[float], A: int) -> np.ndarray:
    return np.asarray(value if isinstance(value, list) else [value] * A, dtype=np.float64)


def _sigma(params: dict, R_hist: np.ndarray | None, A: int, dt: float) -> np.ndarray:
    """Annual sigma: given, or estimated from the window; for merton the jumps' own variance
    (lam (jump_mu^2 + jump_sigma^2) per year) is taken out of the window's, floored at 0."""
    if "sigma" in params:
        return _per_asset(params["sigma"], A)
    var = R_hist.var(axis=1, ddof=1) / dt
    if "lam" in params:
        lam, jm, js = (_per_asset(params[n], A) for n in ("lam", "jump_mu", "jump_sigma"))
        var = np.maximum(var - lam * (jm * jm + js * js), 0.0)
    return np.sqrt(var)


def _cholesky(R_hist: np.ndarray | None, A: int, correlation: float | None = None) -> np.ndarray:
    """Cholesky factor of the assets' correlation: every pair ``correlation`` when the spec gives
    it (params.correlation), else estimated from the window's returns."""
    if A == 1:
        return np.ones((1, 1))
    if correlation is not None:
        return np.linalg.cholesky(_equicorrelation(A, correlation))
    return models.nearest_correlation_cholesky(np.corrcoef(R_hist))


def _equicorrelation(A: int, rho: float) -> np.ndarray:
    """(A, A) with 1 on the diagonal and ``rho`` elsewhere (positive definite for rho in
    (-1 / (A - 1), 1), which spec validation enforces)."""
    return np.full((A, A), float(rho)) + (1.0 - float(rho)) * np.eye(A)


def _garch_setup(
    params: dict, R_hist: np.ndarray | None, A: int
) -> tuple[list[GarchTFit], np.ndarray, np.ndarray]:
    """Fits (given or fitted on the window), starting variances and the residuals' Cholesky.

    Fitted: the recursion starts at the one-step-ahead variance after the window (the current
    volatility). Given parameters: at the last filtered variance of the window if there is
    one, else at the unconditional variance.
    """
    rho = params.get("correlation")
    if "omega" not in params:
        fits, Z, s2 = models.fit_assets(R_hist)
        L = _cholesky(Z, A, rho)
        return fits, s2, L
    fits = [
        GarchTFit(
            mu=float(_per_asset(params["mu"], A)[a]),
            omega=float(_per_asset(params["omega"], A)[a]),
            alpha=float(_per_asset(params["alpha"], A)[a]),
            beta=float(_per_asset(params["beta"], A)[a]),
            nu=float(_per_asset(params["nu"], A)[a]),
            loglik=float("nan"),
            converged=True,
        )
        for a in range(A)
    ]
    if R_hist is None:
        return fits, np.array([f.unconditional_variance for f in fits]), _cholesky(None, A, rho)
    res = [standardized_residuals(f, r) for f, r in zip(fits, R_hist, strict=False)]
    Z = np.stack([z for z, _ in res])
    return fits, np.array([v for _, v in res]), _cholesky(Z, A, rho)
