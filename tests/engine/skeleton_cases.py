"""Cases for the kernel skeleton (engine/_skeleton.py): every mechanism through every public
surface, so that moving the kernels onto the shared skeleton is proven to change nothing.

``tests/engine/data/skeleton_baseline.npz`` holds what the kernels returned for these cases
before the skeleton existed (``python -m tests.engine.skeleton_cases`` wrote it, at engine
0.2.0). The cases are those of ``switch_cases`` (static and volatility-adjusted thresholds,
sets A and B), each run:

- ``plain``: ``simulate`` with recorded series and a switch from A to B at step 40;
- ``crash``: ``simulate`` under a crash market (thin depth, gas that spikes with the drawdown,
  a slow push oracle) where many positions are liquidatable but do not pay;
- ``detail`` and ``full``: ``simulate_detail`` (Aave's was ``simulate_positions``) with the
  screen and with the full scan, under the crash market and the switch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.market import Liquidators, Liquidity, MarketConditions, Oracle
from tests.engine import switch_cases as C

BASELINE = Path(__file__).parent / "data" / "skeleton_baseline.npz"
CRASH = MarketConditions(
    oracle=Oracle(latency=2, deviation=0.01, heartbeat=12),
    liquidity=Liquidity(depth_usd=2e6, model="sqrt", k=0.6, max_step_impact=0.2),
    liquidators=Liquidators(gas_cost_usd=40.0, gas_spike=8.0),
)
RUNS = ("plain", "crash", "detail", "full")


def _detail(mod):
    return getattr(mod, "simulate_detail", None) or mod.simulate_positions


def run(name: str, dynamic: bool, which: str) -> dict[str, np.ndarray]:
    """Every array the case returns, by ``run-field``."""
    mod, a, b, book, prices, market = C.case(name, dynamic)
    first, other = (a, b) if which == "a" else (b, a)
    res: dict[str, np.ndarray] = {}
    out, ser = mod.simulate(first, book, prices, market, record_steps=C.RECORD, switch=(40, other))
    res["plain-per_path"] = out
    for field, arr in ser.items():
        res[f"plain-{field}"] = arr
    res["crash-per_path"] = mod.simulate(first, book, prices, CRASH)
    for tag, full in (("detail", False), ("full", True)):
        d = _detail(mod)(first, book, prices, CRASH, switch=(40, other), full_scan=full)
        for field, arr in d.items():
            if isinstance(arr, np.ndarray):
                res[f"{tag}-{field}"] = arr
    return res


def capture() -> None:
    arrays = {}
    for name, dyn, which in C.keys():
        tag = f"{name}-{'dyn' if dyn else 'static'}-{which}"
        for field, arr in run(name, dyn, which).items():
            arrays[f"{tag}-{field}"] = arr
    BASELINE.parent.mkdir(exist_ok=True)
    np.savez_compressed(BASELINE, **arrays)


if __name__ == "__main__":
    capture()
