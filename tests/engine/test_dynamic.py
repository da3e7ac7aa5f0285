"""Volatility-adjusted thresholds (margin-engine.md 2.5) across every mechanism."""

import dataclasses
import math

import numpy as np
import pytest

from engine import aave, comet, compound, cross, maker, morpho, perp
from engine._common import FIELD_INDEX as F
from engine._common import dynamic_threshold
from engine.market import DynamicThreshold, MarketConditions, Oracle

MARKET = MarketConditions(oracle=Oracle(latency=1))


def plain_ewma_thresholds(
    prices: list[float],
    base: float,
    sign: float,
    k_vol: float,
    horizon: float,
    update_interval: int,
    lam: float,
    floor: float,
    cap: float,
) -> list[float]:
    """The rule of margin-engine.md 2.5 written out: EWMA of squared log returns every step,
    threshold recomputed every ``update_interval`` steps, clipped."""
    var, last, current, out = 0.0, None, base, []
    for t, price in enumerate(prices):
        if last is not None:
            r = math.log(price / last)
            var = lam * var + (1 - lam) * r * r
        last = price
        if t % update_interval == 0:
            current = min(max(base + sign * k_vol * math.sqrt(var) * math.sqrt(horizon), floor), cap)
        out.append(current)
    return out


@pytest.mark.parametrize(
    "sign, update_interval, floor, cap",
    [
        (-1.0, 1, 0.0, math.inf),
        (1.0, 3, 0.0, math.inf),
        (-1.0, 4, 0.7, 0.8),
        (1.0, 2, 1.2, 1.6),
    ],
)
def test_helper_matches_a_plain_python_ewma(
    sign: float, update_interval: int, floor: float, cap: float
) -> None:
    rng = np.random.default_rng(3)
    prices = list(100.0 * np.exp(np.cumsum(rng.normal(0, 0.05, 200))))
    base = 0.8 if sign < 0 else 1.45
    want = plain_ewma_thresholds(prices, base, sign, 2.0, 24.0, update_interval, 0.94, floor, cap)
    state = np.array([0.0, 0.0, base])
    got = [
        dynamic_threshold(state, o, t, base, sign, 2.0, 24.0, update_interval, 0.94, floor, cap)
        for t, o in enumerate(prices)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
    assert max(got) > min(got)  # the threshold did move


def zigzag(level: float, steps: int = 60, swing: float = 0.06) -> np.ndarray:
    """A volatile path drifting down: from 1.3 x level to about 0.7 x level, +-swing every step."""
    t = np.arange(steps + 1)
    return (level * 1.3 * (1 - 0.0077 * t) * (1 + swing * (-1.0) ** t))[None, :]


# Each mechanism with a book whose single position becomes liquidatable (static threshold)
# when the price falls below 100, and how to run it on a 1-d path.
def _aave(dynamic):
    return aave, aave.Params(dynamic=dynamic), aave.Book(np.array([100.0]), np.array([8250.0])), lambda s: s


def _compound(dynamic):
    return (
        compound,
        compound.Params(dynamic=dynamic, target_reserves=0.0),
        compound.Book(np.array([100.0]), np.array([8950.0])),
        lambda s: s,
    )


def _maker(dynamic):
    return (
        maker,
        maker.Params(dynamic=dynamic, dust=0.0, tip=0.0, chip=0.0),
        maker.Book(np.array([1000.0]), np.array([100_000.0 / 1.45])),
        lambda s: s,
    )


def _perp(dynamic):
    # Long 100 from 130 with 3,500 of margin: 3,500 + 100 (o - 130) = 0.05 * 100 o at o = 100.
    params = perp.Params(tier_floors=(0.0,), tier_imf=(0.1,), tier_mmf=(0.05,), dynamic=dynamic)
    return perp, params, perp.Book(np.array([100.0]), np.array([130.0]), np.array([3500.0])), lambda s: s


def _cross(dynamic):
    params = cross.Params(liquidation_threshold=(0.825, 0.8), liquidation_bonus=(0.05, 0.05), dynamic=dynamic)
    book = cross.Book(np.array([[100.0, 0.0]]), np.array([8250.0]))
    return cross, params, book, lambda s: np.stack([s, np.full_like(s, 50.0)])


def _comet(dynamic):
    # Two assets, the second flat: 100 * p * 0.895 + 10 * 50 * 0.8 < 9350 when p < 100.
    params = comet.Params(
        borrow_collateral_factor=(0.825, 0.7),
        liquidate_collateral_factor=(0.895, 0.8),
        liquidation_factor=(0.95, 0.9),
        dynamic=dynamic,
        target_reserves=0.0,
    )
    book = comet.Book(np.array([[100.0, 10.0]]), np.array([9350.0]))
    return comet, params, book, lambda s: np.stack([s, np.full_like(s, 50.0)])


def _morpho(dynamic):
    return (
        morpho,
        morpho.Params(dynamic=dynamic),
        morpho.Book(np.array([100.0]), np.array([8600.0])),
        lambda s: s,
    )


MECHANISMS = {
    "aave-v3": _aave,
    "compound-v3": _compound,
    "compound-v3-accounts": _comet,
    "maker-clip": _maker,
    "perp": _perp,
    "cross": _cross,
    "morpho-blue": _morpho,
}


@pytest.mark.parametrize("name", sorted(MECHANISMS))
def test_zero_k_vol_gives_the_static_results_bit_for_bit(name: str) -> None:
    mod, static, book, shape = MECHANISMS[name](None)
    rng = np.random.default_rng(11)
    paths = 100.0 * np.exp(np.hstack([np.zeros((6, 1)), np.cumsum(rng.normal(-0.01, 0.06, (6, 80)), axis=1)]))
    prices = shape(paths)
    want = mod.simulate(static, book, prices, MARKET)
    assert want[:, F["n_liq"]].sum() > 0  # the comparison covers liquidations
    zero = dataclasses.replace(
        static, dynamic=DynamicThreshold(k_vol=0.0, horizon_steps=12.0, update_interval=5, ewma_lambda=0.9)
    )
    assert np.array_equal(mod.simulate(zero, book, prices, MARKET), want)


def first_liquidation_step(mod, params, book, prices: np.ndarray, market: MarketConditions) -> int | None:
    """Smallest t such that running steps 0..t-1 liquidates (paths truncated at t)."""
    T = prices.shape[-1] - 1
    for t in range(1, T + 1):
        if mod.simulate(params, book, prices[..., : t + 1], market)[0, F["n_liq"]] > 0:
            return t
    return None


@pytest.mark.parametrize("name", sorted(MECHANISMS))
def test_dynamic_threshold_liquidates_earlier_when_volatility_is_high(name: str) -> None:
    dyn = DynamicThreshold(k_vol=0.3, horizon_steps=24.0)
    mod, static, book, shape = MECHANISMS[name](None)
    _, dynamic, _, _ = MECHANISMS[name](dyn)
    prices = shape(zigzag(100.0))
    t_static = first_liquidation_step(mod, static, book, prices, MARKET)
    t_dynamic = first_liquidation_step(mod, dynamic, book, prices, MARKET)
    assert t_static is not None and t_dynamic is not None
    assert t_dynamic < t_static
    # On a calm path with the same drift the dynamic threshold barely moves from the static one.
    calm = shape(zigzag(100.0, swing=0.0))
    t_calm = first_liquidation_step(mod, dynamic, book, calm, MARKET)
    t_calm_static = first_liquidation_step(mod, static, book, calm, MARKET)
    assert t_calm is not None and t_calm - t_calm_static >= -2
