"""A mechanism's kernel of an earlier engine against today's, in one process, alternately.

    .venv/bin/python benchmarks/skeleton_before_after.py cross --size medium --calls 9
    .venv/bin/python benchmarks/skeleton_before_after.py perp --size 100000 --calls 5 --before 47c31c1

The module of ``--before`` (a commit; default 47c31c1, engine 0.2.0 before the kernel skeleton)
is read with ``git show`` into a temporary folder as ``<module>_before`` and imported beside
today's ``engine.<module>`` (it uses today's shared helpers, which kept their names). Both run on
the same book and paths, alternating, so that the machine's drift between processes (10-20 % here)
does not enter the comparison. One numba thread's CPU time per call (``NUMBA_NUM_THREADS=1`` is
set before numba loads), the compile excluded; the results must be equal, or the script says so.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = {
    "aave-v3": "aave",
    "compound-v3": "compound",
    "maker-clip": "maker",
    "perp": "perp",
    "cross": "cross",
}
SIZES = {"medium": 10_000, "100000": 100_000}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mechanism", choices=sorted(MODULES))
    ap.add_argument("--size", choices=sorted(SIZES), default="medium")
    ap.add_argument("--calls", type=int, default=7)
    ap.add_argument("--before", default="47c31c1")
    a = ap.parse_args()
    os.environ["NUMBA_NUM_THREADS"] = "1"
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from engine import books
    from engine import reference as R
    from engine.market import Liquidity, MarketConditions, Oracle

    name = MODULES[a.mechanism]
    tmp = Path(tempfile.mkdtemp())
    source = subprocess.run(
        ["git", "show", f"{a.before}:engine/{name}.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    (tmp / f"{name}_before.py").write_text(source)
    sys.path.insert(0, str(tmp))
    mods = {
        "before": importlib.import_module(f"{name}_before"),
        "main": importlib.import_module(f"engine.{name}"),
    }
    rng = np.random.default_rng(7)
    w = R.variant("reference")
    S = R.generate_paths(w, 1000, 720)
    kw = {
        "aave-v3": {"price": w.p0, "threshold": 0.825},
        "compound-v3": {"price": w.p0, "threshold": 0.83},
        "maker-clip": {"price": w.p0, "mat": 1.45},
        "perp": {"price": w.p0, "mmf": 0.03},
        "cross": {"prices": np.array([w.p0, w.p0]), "thresholds": np.array([0.825, 0.8])},
    }[a.mechanism]
    arrays = books.synthetic_book(a.mechanism, SIZES[a.size], rng=rng, **kw)
    if a.mechanism == "cross":
        S = np.stack([S, S[::-1].copy()])
    market = MarketConditions(oracle=Oracle(latency=1), liquidity=Liquidity(depth_usd=1e9))
    runs = {}
    for label, mod in mods.items():
        cross = a.mechanism == "cross"
        params = (
            mod.Params(liquidation_threshold=(0.825, 0.8), liquidation_bonus=(0.05, 0.05))
            if cross
            else mod.Params()
        )
        book = mod.book_from_arrays(arrays)
        mod.simulate(params, book, np.ascontiguousarray(S[..., :2, :3]), market)  # compile / load
        runs[label] = (mod, params, book, [])
    out = {}
    for _ in range(a.calls):
        for label, (mod, params, book, times) in runs.items():
            start = time.process_time()
            out[label] = mod.simulate(params, book, S, market)
            times.append(time.process_time() - start)
    equal = np.array_equal(out["before"], out["main"])
    print(f"{a.mechanism}, {a.size}: results equal: {equal}")
    for label, (*_, times) in runs.items():
        print(
            f"  {label}: median {statistics.median(times):.4f} s, min {min(times):.4f} s, calls {[round(x, 3) for x in times]}"
        )
    b, m = (statistics.median(runs[k][3]) for k in ("before", "main"))
    print(f"  change of the median: {100 * (m / b - 1):+.1f} %")
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
