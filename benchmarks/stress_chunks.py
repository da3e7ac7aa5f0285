"""One chunk of every scenario of the demo Aave market's stress pack: engine time per chunk.

    .venv/bin/python -m benchmarks.stress_chunks [--paths 250] [--repeat 5] [--seed 20240805]

The demo's Aave market as ``review/management/commands/seed_demo.py`` builds it, without a
database: its book (``engine.books.synthetic_book("aave-v3", 5,000, rng=default_rng(20240805),
price=3,000, threshold=0.83, total_debt_usd=1e8)``), its live parameters (LTV 0.805, LT 0.83,
bonus 5 %, protocol fee 10 %) and its pack (``engine.scenarios.synthetic_pack("ETHUSD",
start_price=3,000, depth_usd=5e8)``). A chunk's paths come from the backtests' generator,
``default_rng([seed, 0, scenario, 0])``; the engine call is the one a chunk makes per version
(``simulate`` with the chart's ``record_steps``). The kernel is loaded (compiled or read from
the cache) before any clock starts; each figure is the median of ``--repeat`` calls (wall
time, and CPU time of the process summed over numba's threads, which a loaded machine disturbs
less).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEMO_PRICE = 3000.0
DEMO_DEPTH_USD = 5e8
DEMO_POSITIONS = 5000
DEMO_BOOK_SEED = 20240805
DEMO_BOOK_USD = 1e8
DEMO_PARAMS = {"ltv": 0.805, "liquidation_threshold": 0.83, "liquidation_bonus": 0.05, "protocol_fee": 0.10}


def demo_aave_inputs(n_paths: int, seed: int, n_positions: int = DEMO_POSITIONS) -> tuple:
    """(params, book, [(scenario name, prices (n_paths, T+1), market conditions)]) of the demo's Aave market."""
    from engine import aave, books
    from engine.scenarios import generate, synthetic_pack

    arrays = books.synthetic_book(
        "aave-v3",
        n_positions,
        rng=np.random.default_rng(DEMO_BOOK_SEED),
        price=DEMO_PRICE,
        threshold=DEMO_PARAMS["liquidation_threshold"],
        total_debt_usd=DEMO_BOOK_USD,
    )
    book = aave.book_from_arrays(arrays)
    params = aave.params_from_dict(DEMO_PARAMS)
    chunks = []
    specs = synthetic_pack("ETHUSD", start_price=DEMO_PRICE, depth_usd=DEMO_DEPTH_USD)
    for i, spec in enumerate(specs):
        paths = generate(spec, history=None, n_paths=n_paths, rng=np.random.default_rng([seed, 0, i, 0]))
        chunks.append((spec["name"], np.ascontiguousarray(paths.prices), paths.conditions))
    return params, book, chunks


def chart_steps(steps: int) -> np.ndarray:
    """The steps a backtest chunk records (backtests.compute.chart_steps, without Django)."""
    return np.unique(np.linspace(0, steps, min(steps + 1, 121)).round().astype(np.int64))


def time_chunks(n_paths: int, repeat: int, seed: int) -> list[dict]:
    from engine import aave

    params, book, chunks = demo_aave_inputs(n_paths, seed)
    name, prices, market = chunks[0]
    aave.simulate(params, book, prices[:2, :3], market)  # load the kernel before any clock
    rows = []
    for name, prices, market in chunks:
        steps = chart_steps(prices.shape[1] - 1)
        times, cpu = [], []
        per = None
        for _ in range(repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            per, _ = aave.simulate(params, book, prices, market, record_steps=steps)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        rows.append(
            {
                "scenario": name,
                "seconds": statistics.median(times),
                "min": min(times),
                "cpu": statistics.median(cpu),
                "n_liq_mean": float(per[:, 2].mean()),
                "n_unprofitable_mean": float(per[:, 10].mean()),
            }
        )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--paths", type=int, default=250, help="paths in the chunk (the demo pack's 250)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20240805, help="the pack's seed")
    a = ap.parse_args()
    rows = time_chunks(a.paths, a.repeat, a.seed)
    print(f"Demo Aave market, {DEMO_POSITIONS:,} positions, {a.paths} paths a chunk, median of {a.repeat}:\n")
    print(
        "| scenario | engine s (median) | fastest | CPU s (median) | mean liquidations | mean unprofitable |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['scenario']} | {r['seconds']:.3f} | {r['min']:.3f} | {r['cpu']:.3f} | {r['n_liq_mean']:.0f} | "
            f"{r['n_unprofitable_mean']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
