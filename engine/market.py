"""Market conditions shared by every mechanism: oracle, liquidity and liquidators.

margin-engine.md sections 1 and 3. Prices are USD per unit of collateral.

Time. The kernels count steps; every parameter that is a time is given in seconds where it is
decided (a scenario's oracle, a protocol's auction timings) and converted here with the step
length of the price paths (margin-engine.md section 6: a replay's step is a quarter bar), so a
1-hour heartbeat is 1 step on hourly paths and 4 on a replay of hourly bars.
``steps_for_seconds`` rounds up: an oracle is never fresher than it is in reality.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from engine.errors import EngineError, check_range, coerce_numbers

IMPACT_MODELS = ("linear", "sqrt")
SECONDS_PER_YEAR = 365.0 * 86400.0
# A time within this fraction of a step of a whole number of steps is that number: 3600 s on
# 900 s steps is 4, not 5 after a rounding error.
_STEP_TOLERANCE = 1e-9


def steps_for_seconds(name: str, seconds: float, step_seconds: float) -> int:
    """A time as a whole number of steps of ``step_seconds``, rounded up.

    Up, because every such time is a delay or a staleness (oracle latency, heartbeat, an update
    interval): rounding down would show the protocol a fresher price than it had. 0 stays 0 (no
    latency, no heartbeat); any time above 0 is at least 1 step. EngineError names ``name``.
    """
    check_range(name, seconds, 0.0, None)
    check_range(f"step length for {name}", step_seconds, 0.0, None, lo_open=True)
    if not math.isfinite(seconds):
        raise EngineError(f"{name} must be a finite number of seconds; got {seconds!r}")
    return int(math.ceil(seconds / step_seconds - _STEP_TOLERANCE))


@dataclass(frozen=True)
class Oracle:
    """What the protocol sees.

    latency: steps of staleness, ``o[t] = p[max(0, t - latency)]``.
    deviation: Chainlink-style push threshold (relative); a round is published when the
        lagged price moved at least this much from the last published one. 0 publishes every
        step (pure latency oracle).
    heartbeat: steps after which a round is published anyway; 0 means no heartbeat.
    """

    latency: int = 0
    deviation: float = 0.0
    heartbeat: int = 0

    @classmethod
    def from_seconds(
        cls, *, latency_seconds: float, deviation: float, heartbeat_seconds: float, step_seconds: float
    ) -> Oracle:
        """The oracle of times in seconds on steps of ``step_seconds`` (``steps_for_seconds``)."""
        return cls(
            latency=steps_for_seconds("oracle.latency_seconds", latency_seconds, step_seconds),
            deviation=deviation,
            heartbeat=steps_for_seconds("oracle.heartbeat_seconds", heartbeat_seconds, step_seconds),
        )

    def __post_init__(self) -> None:
        coerce_numbers(self)
        if int(self.latency) != self.latency or self.latency < 0:
            raise EngineError(f"oracle.latency must be a whole number of steps >= 0; got {self.latency!r}")
        check_range("oracle.deviation", self.deviation, 0.0, 1.0, hi_open=True)
        if int(self.heartbeat) != self.heartbeat or self.heartbeat < 0:
            raise EngineError(
                f"oracle.heartbeat must be a whole number of steps >= 0; got {self.heartbeat!r}"
            )


@dataclass(frozen=True)
class Liquidity:
    """Price impact of liquidation sales (margin-engine.md section 3).

    depth_usd: the USD value whose sale moves the price by ``k`` of itself.
    model: ``linear``: factor ``1 - k * V / depth``; ``sqrt``: ``1 - k * sqrt(V / depth)``;
        floored at ``1 - max_step_impact`` in one step.
    """

    depth_usd: float = float("inf")
    k: float = 1.0
    model: str = "linear"
    max_step_impact: float = 0.5

    def __post_init__(self) -> None:
        coerce_numbers(self)
        check_range("liquidity.depth_usd", self.depth_usd, 0.0, None, lo_open=True)
        check_range("liquidity.k", self.k, 0.0, None)
        if self.model not in IMPACT_MODELS:
            raise EngineError(f"liquidity.model must be one of {IMPACT_MODELS}; got {self.model!r}")
        check_range("liquidity.max_step_impact", self.max_step_impact, 0.0, 1.0, hi_open=True)


@dataclass(frozen=True)
class Liquidators:
    """Who liquidates, and when it pays (margin-engine.md section 3).

    rational: act only if the seized collateral, sold at the market price less the sale's own
        slippage, is worth more than the debt repaid plus gas; False: always act (reference).
    gas_cost_usd: cost of one liquidation transaction.
    gas_spike: gas cost grows with the drawdown from the running peak of the market price:
        ``gas = gas_cost_usd * (1 + gas_spike * drawdown)`` (2020-03-12 style).
    """

    rational: bool = True
    gas_cost_usd: float = 0.0
    gas_spike: float = 0.0

    def __post_init__(self) -> None:
        coerce_numbers(self)
        check_range("liquidators.gas_cost_usd", self.gas_cost_usd, 0.0, None)
        check_range("liquidators.gas_spike", self.gas_spike, 0.0, None)


@dataclass(frozen=True)
class MarketConditions:
    """Everything about the market except the price paths and the book."""

    oracle: Oracle = field(default_factory=Oracle)
    liquidity: Liquidity = field(default_factory=Liquidity)
    liquidators: Liquidators = field(default_factory=Liquidators)
    steps_per_year: float = 8760.0

    def __post_init__(self) -> None:
        coerce_numbers(self)
        check_range("steps_per_year", self.steps_per_year, 0.0, None, lo_open=True)

    @property
    def step_seconds(self) -> float:
        """Length of one step: a 365-day year over ``steps_per_year``."""
        return SECONDS_PER_YEAR / self.steps_per_year

    def kernel_args(self) -> tuple:
        """The scalars every kernel takes, in the order of engine._common's helpers."""
        liq = self.liquidity
        o = self.oracle
        k_over_depth = liq.k / liq.depth_usd
        return (
            int(o.latency),
            float(o.deviation),
            int(o.heartbeat),
            float(liq.k),
            float(liq.depth_usd),
            float(k_over_depth),
            1 if liq.model == "sqrt" else 0,
            float(1.0 - liq.max_step_impact),
            bool(self.liquidators.rational),
            float(self.liquidators.gas_cost_usd),
            float(self.liquidators.gas_spike),
        )


@dataclass(frozen=True)
class DynamicThreshold:
    """Makes a mechanism's threshold volatility-adjusted (margin-engine.md section 2.5).

    ``threshold_t = clip(base -/+ k_vol * sigma_ewma_t * sqrt(horizon_steps), floor, cap)``,
    recomputed every ``update_interval`` steps from an EWMA (decay ``ewma_lambda``) of oracle
    log returns; ``base`` is the mechanism's own static threshold. See engine._common.
    """

    k_vol: float = 0.0
    horizon_steps: float = 24.0
    update_interval: int = 1
    ewma_lambda: float = 0.94
    floor: float = 0.0
    cap: float = float("inf")

    def __post_init__(self) -> None:
        coerce_numbers(self)
        check_range("dynamic.k_vol", self.k_vol, 0.0, None)
        check_range("dynamic.horizon_steps", self.horizon_steps, 0.0, None, lo_open=True)
        if int(self.update_interval) != self.update_interval or self.update_interval < 1:
            raise EngineError(
                f"dynamic.update_interval must be a whole number of steps >= 1; got {self.update_interval!r}"
            )
        check_range("dynamic.ewma_lambda", self.ewma_lambda, 0.0, 1.0, hi_open=True)
        if self.floor > self.cap:
            raise EngineError(
                f"dynamic.floor must be <= dynamic.cap; got floor={self.floor!r}, cap={self.cap!r}"
            )

    @classmethod
    def from_seconds(
        cls,
        *,
        step_seconds: float,
        horizon_seconds: float,
        update_seconds: float,
        ewma_lambda: float = 0.94,
        ewma_lambda_seconds: float = 86400.0,
        k_vol: float = 0.0,
        floor: float = 0.0,
        cap: float = float("inf"),
    ) -> DynamicThreshold:
        """The threshold of times in seconds on steps of ``step_seconds``.

        horizon_seconds: exact, as a fractional number of steps (it scales sigma by its square
        root); update_seconds: rounded up to whole steps (``steps_for_seconds``); ewma_lambda:
        the decay over ``ewma_lambda_seconds`` (RiskMetrics' 0.94 is per day), compounded to one
        step, ``ewma_lambda ** (step_seconds / ewma_lambda_seconds)``.
        """
        check_range("dynamic.horizon_seconds", horizon_seconds, 0.0, None, lo_open=True)
        check_range("dynamic.ewma_lambda", ewma_lambda, 0.0, 1.0, hi_open=True)
        check_range("dynamic.ewma_lambda_seconds", ewma_lambda_seconds, 0.0, None, lo_open=True)
        check_range("dynamic step length", step_seconds, 0.0, None, lo_open=True)
        return cls(
            k_vol=k_vol,
            horizon_steps=horizon_seconds / step_seconds,
            update_interval=max(1, steps_for_seconds("dynamic.update_seconds", update_seconds, step_seconds)),
            ewma_lambda=ewma_lambda ** (step_seconds / ewma_lambda_seconds),
            floor=floor,
            cap=cap,
        )

    def kernel_args(self) -> tuple:
        return (
            float(self.k_vol),
            float(self.horizon_steps),
            int(self.update_interval),
            float(self.ewma_lambda),
            float(self.floor),
            float(self.cap),
        )
