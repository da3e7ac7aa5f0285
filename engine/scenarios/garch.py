"""GARCH(1,1) with standardized Student-t innovations: maximum-likelihood fit and filter.

Model (Bollerslev 1986, t innovations as in Bollerslev 1987), returns ``r_t`` per step:

    r_t = mu + eps_t,   eps_t = sigma_t * z_t,   z_t ~ t_nu scaled to unit variance,
    sigma2_t = omega + alpha * eps_{t-1}**2 + beta * sigma2_{t-1}.

The recursion starts from the same backcast as the ``arch`` package (exponentially weighted
mean of the first 75 squared residuals, weights 0.94**i), so the two log-likelihoods are
comparable. Constraints: omega > 0, alpha >= 0, beta >= 0, alpha + beta < 1 (covariance
stationary), 2 < nu <= 500 (finite variance). The fit runs on returns rescaled to unit sample
standard deviation (good conditioning for the optimizer) and reports parameters and the
log-likelihood in the units of the returns given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, signal, special

from engine.errors import EngineError

NU_MIN = 2.05
NU_MAX = 500.0
PERSISTENCE_MAX = 1.0 - 1e-6


@dataclass(frozen=True)
class GarchTFit:
    """Fitted GARCH(1,1)-t parameters, in the units of the returns fitted (per step).

    mu: mean return; omega: variance intercept (return units squared); alpha, beta: ARCH and
    GARCH coefficients; nu: degrees of freedom of the t innovations; loglik: maximized
    log-likelihood of the returns; converged: the optimizer reported success.
    """

    mu: float
    omega: float
    alpha: float
    beta: float
    nu: float
    loglik: float
    converged: bool

    def __post_init__(self) -> None:
        for name, lo in (("omega", 0.0), ("alpha", 0.0), ("beta", 0.0)):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= lo):
                raise EngineError(f"garch.{name} must be >= {lo:g}; got {v!r}")
        if self.omega <= 0:
            raise EngineError(f"garch.omega must be > 0; got {self.omega!r}")
        if self.alpha + self.beta >= 1.0:
            raise EngineError(
                f"garch.alpha + garch.beta must be < 1 (stationary); got {self.alpha + self.beta!r}"
            )
        if not (NU_MIN * 0.99 <= self.nu <= NU_MAX * 1.01):
            raise EngineError(f"garch.nu must be in [{NU_MIN:g}, {NU_MAX:g}]; got {self.nu!r}")
        if not np.isfinite(self.mu):
            raise EngineError(f"garch.mu must be a finite number; got {self.mu!r}")

    @property
    def unconditional_variance(self) -> float:
        return self.omega / (1.0 - self.alpha - self.beta)


def backcast(resid: np.ndarray) -> float:
    """Starting variance of the recursion, as in ``arch`` (GARCH.backcast)."""
    tau = min(75, resid.size)
    w = 0.94 ** np.arange(tau)
    return float(np.sum(resid[:tau] ** 2 * (w / w.sum())))


def conditional_variance(
    returns: np.ndarray, mu: float, omega: float, alpha: float, beta: float, bc: float | None = None
) -> np.ndarray:
    """sigma2_t for t = 0..n, float64 (n + 1,): the last entry is the one-step-ahead forecast.

    The recursion is a first-order linear filter, run by ``scipy.signal.lfilter`` (no Python
    loop over time).
    """
    eps = returns - mu
    if bc is None:
        bc = backcast(eps)
    x = np.empty(eps.size + 1)
    x[0] = omega + alpha * bc
    x[1:] = omega + alpha * eps * eps
    y, _ = signal.lfilter([1.0], [1.0, -beta], x, zi=[beta * bc])
    return y


def _t_loglik(eps: np.ndarray, sigma2: np.ndarray, nu: float) -> float:
    """Log-likelihood of standardized-t innovations (unit variance), summed."""
    c = special.gammaln(0.5 * (nu + 1.0)) - special.gammaln(0.5 * nu) - 0.5 * math.log(math.pi * (nu - 2.0))
    return float(
        eps.size * c
        - 0.5 * np.sum(np.log(sigma2))
        - 0.5 * (nu + 1.0) * np.sum(np.log1p(eps * eps / (sigma2 * (nu - 2.0))))
    )


def _negloglik(theta: np.ndarray, y: np.ndarray, bc: float) -> float:
    mu, omega, alpha, beta, nu = theta
    sigma2 = conditional_variance(y, mu, omega, alpha, beta, bc)[:-1]
    if not np.all(sigma2 > 0):
        return 1e300
    ll = _t_loglik(y - mu, sigma2, nu)
    return -ll if np.isfinite(ll) else 1e300


def fit_garch_t(returns: np.ndarray) -> GarchTFit:
    """Fit GARCH(1,1)-t by maximum likelihood (scipy.optimize, SLSQP).

    Parameters
    ----------
    returns : float64 (n,), per-step (log) returns, n >= 100, gaps already dropped.

    Returns
    -------
    GarchTFit in the units of ``returns``. Starting values: a small grid of (alpha, beta)
    pairs around typical daily/hourly estimates, omega from the sample variance, nu = 8; the
    best start by likelihood is optimized.
    """
    r = np.asarray(returns, dtype=np.float64).reshape(-1)
    if r.size < 100:
        raise EngineError(f"garch fit needs at least 100 returns; got {r.size}")
    if not np.all(np.isfinite(r)):
        raise EngineError("garch fit returns must be finite; got NaN or inf")
    sd = float(r.std())
    if sd <= 0:
        raise EngineError("garch fit returns must vary; got a constant series")
    scale = 1.0 / sd
    y = r * scale
    bc = backcast(y - y.mean())
    starts = []
    for alpha, beta in ((0.05, 0.90), (0.10, 0.85), (0.03, 0.95), (0.15, 0.80), (0.08, 0.75)):
        theta = np.array([y.mean(), (1.0 - alpha - beta), alpha, beta, 8.0])
        starts.append((_negloglik(theta, y, bc), theta))
    theta0 = min(starts, key=lambda s: s[0])[1]
    bounds = [(-1.0, 1.0), (1e-8, 10.0), (0.0, 1.0), (0.0, 1.0), (NU_MIN, NU_MAX)]
    cons = (
        {
            "type": "ineq",
            "fun": lambda th: PERSISTENCE_MAX - th[2] - th[3],
            "jac": lambda th: np.array([0.0, 0.0, -1.0, -1.0, 0.0]),
        },
    )
    res = optimize.minimize(
        _negloglik,
        theta0,
        args=(y, bc),
        method="SLSQP",
        bounds=bounds,
        constraints=cons,
        options={"maxiter": 500, "ftol": 1e-10},
    )
    converged = bool(res.success)
    # SLSQP often stops with "positive directional derivative for linesearch" when the
    # optimum sits on the persistence constraint (hourly crypto fits usually do). Restart from
    # there: the point counts as converged when a restart succeeds or cannot improve the
    # log-likelihood by more than 1e-6.
    for _ in range(2):
        if converged:
            break
        again = optimize.minimize(
            _negloglik,
            res.x,
            args=(y, bc),
            method="SLSQP",
            bounds=bounds,
            constraints=cons,
            options={"maxiter": 500, "ftol": 1e-10},
        )
        converged = bool(again.success) or res.fun - again.fun < 1e-6
        if again.fun <= res.fun:
            res = again
    mu, omega, alpha, beta, nu = (float(v) for v in res.x)
    alpha, beta = max(alpha, 0.0), max(beta, 0.0)
    if alpha + beta >= PERSISTENCE_MAX:
        beta = PERSISTENCE_MAX - alpha - 1e-9
    nu = min(max(nu, NU_MIN), NU_MAX)
    # Back to the units of `returns`: y = r * scale, so the density of r has the Jacobian
    # factor `scale` per observation: loglik(r) = loglik(y) + n * log(scale).
    return GarchTFit(
        mu=mu / scale,
        omega=omega / scale**2,
        alpha=alpha,
        beta=beta,
        nu=nu,
        loglik=float(-res.fun + r.size * math.log(scale)),
        converged=converged,
    )


def standardized_residuals(fit: GarchTFit, returns: np.ndarray) -> tuple[np.ndarray, float]:
    """Standardized residuals ``z_t = (r_t - mu) / sigma_t`` (n,) and the next-step variance.

    The backcast is taken from the residuals, as in the fit.
    """
    sigma2 = conditional_variance(returns, fit.mu, fit.omega, fit.alpha, fit.beta)
    return (returns - fit.mu) / np.sqrt(sigma2[:-1]), float(sigma2[-1])


def standard_t(nu: float, size: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Student-t draws scaled to unit variance."""
    return rng.standard_t(nu, size=size) * math.sqrt((nu - 2.0) / nu)
