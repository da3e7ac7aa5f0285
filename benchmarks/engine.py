"""Engine benchmarks: the reference workload at several sizes, growth with N, M, T, peak memory,
kernel compile / cache-load time, and the other registered mechanisms at the same sizes.

    .venv/bin/python benchmarks/engine.py            # full set (a few minutes)
    .venv/bin/python benchmarks/engine.py --quick    # small sizes only

Every measurement runs in its own process, so that its peak resident memory (ru_maxrss,
including input generation) is its own; the time is the simulation alone (median of
``--repeat`` runs after a warm-up that loads the compiled kernel). Prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def one_reference(variant: str, n: int, m: int, t: int, repeat: int) -> dict:
    from engine import reference as R

    w = R.variant(variant)
    c0, d0 = R.generate_book(w, n)
    S = R.generate_paths(w, m, t)
    R.warm_up()
    times, per = [], None
    for _ in range(repeat):
        per, sec = R.run_reference(w, c0, d0, S)
        times.append(sec)
    sec = statistics.median(times)
    return {
        "seconds": sec,
        "rate": n * m * t / sec,
        "maxrss_mb": _maxrss_mb(),
        "n_liq_mean": float(per["n_liq"].mean()),
    }


# Benchmark variants: a label run as a registered mechanism with other parameters.
VARIANTS = {"perp+funding": "perp"}


def _mechanism_inputs(name: str, n: int, m: int, t: int):
    """A book from engine.books and workload-style paths (cross, compound-v3-accounts: two assets)."""
    name = VARIANTS.get(name, name)
    import numpy as np

    from engine import books
    from engine import reference as R

    rng = np.random.default_rng(7)
    w = R.variant("reference")
    S = R.generate_paths(w, m, t)
    kw = {
        "aave-v3": {"price": w.p0, "threshold": 0.825},
        "aave-v4": {"price": w.p0, "threshold": 0.8},
        "compound-v3": {"price": w.p0, "threshold": 0.83},
        "maker-clip": {"price": w.p0, "mat": 1.45},
        "perp": {"price": w.p0, "mmf": 0.03},
        "cross": {"prices": np.array([w.p0, w.p0]), "thresholds": np.array([0.825, 0.8])},
        "compound-v3-accounts": {"prices": np.array([w.p0, w.p0]), "thresholds": np.array([0.895, 0.85])},
        "morpho-blue": {"price": w.p0, "threshold": 0.86},
    }[name]
    book = books.synthetic_book(name, n, rng=rng, **kw)
    if name in ("cross", "compound-v3-accounts"):
        S = np.stack([S, S[::-1].copy()])
    return book, S


def _bench_params(mod, name: str):
    """Default Params, two assets for the multi-asset mechanisms; ``perp+funding``: the demo
    perpetual's Hyperliquid values (funding every step of an hour, interest 0.00125 % and cap
    4 % per hour, partial liquidations of 20 % above 100,000 USD with a one-step cooldown, the
    backstop below 2/3 of maintenance)."""
    if name == "perp+funding":
        return mod.Params(
            funding_interval=1,
            funding_interest=0.0000125,
            funding_cap=0.04,
            partial_fraction=0.2,
            partial_above_usd=100_000.0,
            partial_cooldown=1,
            backstop_fraction=2.0 / 3.0,
        )
    if name == "cross":
        return mod.Params(liquidation_threshold=(0.825, 0.8), liquidation_bonus=(0.05, 0.05))
    if name == "compound-v3-accounts":
        return mod.Params(
            borrow_collateral_factor=(0.825, 0.78),
            liquidate_collateral_factor=(0.895, 0.85),
            liquidation_factor=(0.95, 0.93),
        )
    return mod.Params()


def one_mechanism(name: str, n: int, m: int, t: int, repeat: int) -> dict:
    import numpy as np

    from engine import api
    from engine.market import Liquidity, MarketConditions, Oracle

    mod = api.load_mechanism(VARIANTS.get(name, name))
    book, S = _mechanism_inputs(name, n, m, t)
    params = _bench_params(mod, name)
    book_obj = mod.book_from_arrays(book)
    market = MarketConditions(oracle=Oracle(latency=1), liquidity=Liquidity(depth_usd=1e9))
    mod.simulate(params, book_obj, np.ascontiguousarray(S[..., :2, :3]), market)  # load the kernel
    times = []
    cpu = []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        mod.simulate(params, book_obj, S, market)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    sec = statistics.median(times)
    # CPU time of the process (every numba thread): steadier than wall time on a loaded machine.
    return {
        "seconds": sec,
        "cpu_seconds": statistics.median(cpu),
        "rate": n * m * t / sec,
        "maxrss_mb": _maxrss_mb(),
    }


def compile_time() -> dict:
    """First call in a fresh numba cache directory (compile) and in the project's (cache load)."""

    def child(env: dict) -> float:
        code = (
            "import time; t=time.perf_counter(); from engine import reference as R; R.warm_up(); "
            "print(time.perf_counter()-t)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        return float(out.stdout.strip())

    with tempfile.TemporaryDirectory() as tmp:
        fresh = child({**os.environ, "NUMBA_CACHE_DIR": tmp})
        again = child({**os.environ, "NUMBA_CACHE_DIR": tmp})
    return {"compile_s": fresh, "cached_load_s": again}


def mechanism_compile_time(name: str) -> dict:
    """One mechanism's first ``simulate`` and ``simulate_detail`` (full scan) in a fresh numba
    cache directory (compile, shared helpers included) and again in the same one (cache load)."""
    code = (
        "import time; t=time.perf_counter(); import sys; sys.path.insert(0, '.'); "
        f"from benchmarks.engine import _tiny_runs; _tiny_runs({name!r}); print(time.perf_counter()-t)"
    )

    def child(env: dict) -> float:
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        return float(out.stdout.strip().splitlines()[-1])

    with tempfile.TemporaryDirectory() as tmp:
        fresh = child({**os.environ, "NUMBA_CACHE_DIR": tmp})
        again = child({**os.environ, "NUMBA_CACHE_DIR": tmp})
    return {"compile_s": fresh, "cached_load_s": again}


def _tiny_runs(name: str) -> None:
    """Every kernel entry of a mechanism on a tiny input: simulate and its detail view."""
    from engine import api
    from engine.market import Liquidity, MarketConditions, Oracle

    mod = api.load_mechanism(name)
    book, S = _mechanism_inputs(name, 20, 2, 5)
    params = _bench_params(mod, name)
    market = MarketConditions(oracle=Oracle(latency=1), liquidity=Liquidity(depth_usd=1e9))
    book_obj = mod.book_from_arrays(book)
    mod.simulate(params, book_obj, S, market)
    detail = mod.simulate_detail
    detail(params, book_obj, S, market, full_scan=True)


def run_child(args: list[str]) -> dict | None:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode != 0:
        print(f"note: {' '.join(args)} failed: {out.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--sections",
        default="compile,reference,growth,mechanisms",
        help="comma-separated subset of compile,reference,growth,mechanisms",
    )
    ap.add_argument(
        "--sizes", default="small,medium,large book", help="comma-separated subset of small,medium,large book"
    )
    ap.add_argument("--child", nargs="+")
    a = ap.parse_args()
    if a.child:
        kind, name, n, m, t = a.child[0], a.child[1], *map(int, a.child[2:5])
        one = one_reference if kind == "ref" else one_mechanism
        print(json.dumps(one(name, n, m, t, a.repeat)))
        return 0

    rep = str(a.repeat)
    sections = set(a.sections.split(","))
    if "compile" in sections:
        ct = compile_time()
        print(
            f"kernel: first call compiles in {ct['compile_s']:.1f} s; later processes load the "
            f"cache in {ct['cached_load_s']:.2f} s\n"
        )
        from engine import api

        print("| mechanism | first compile s | cache load s |")
        print("|---|---|---|")
        for name in api.MECHANISMS:
            mc = mechanism_compile_time(name)
            print(f"| {name} | {mc['compile_s']:.1f} | {mc['cached_load_s']:.2f} |")
        print()
    sizes = [("small", 1_000, 100, 720), ("medium", 10_000, 1_000, 720), ("large book", 100_000, 1_000, 720)]
    sizes = [s for s in sizes if s[0] in a.sizes.split(",")]
    if a.quick:
        sizes = sizes[:1]
    if "reference" in sections:
        reference_table(sizes, rep)
    if "growth" in sections and not a.quick:
        growth_table(rep)
    if "mechanisms" in sections:
        mechanism_table(sizes, rep)
    return 0


def reference_table(sizes: list, rep: str) -> None:
    print("| workload | variant | N | M | T | seconds | position-steps/s | peak RSS MB | mean liquidations |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, n, m, t in sizes:
        for variant in ("reference", "stressed"):
            r = run_child(["ref", variant, str(n), str(m), str(t), "--repeat", rep])
            if r:
                print(
                    f"| {label} | {variant} | {n:,} | {m:,} | {t} | {r['seconds']:.3f} | {r['rate']:.3g} | "
                    f"{r['maxrss_mb']:.0f} | {r['n_liq_mean']:.0f} |"
                )


def growth_table(rep: str) -> None:
    print("\nGrowth (reference variant; one factor varied from 10,000 x 1,000 x 720):\n")
    print("| N | M | T | seconds | position-steps/s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    grid = [
        (1_000, 1_000, 720),
        (30_000, 1_000, 720),
        (300_000, 1_000, 720),
        (10_000, 100, 720),
        (10_000, 10_000, 720),
        (10_000, 1_000, 72),
        (10_000, 1_000, 7_200),
    ]
    for n, m, t in grid:
        r = run_child(["ref", "reference", str(n), str(m), str(t), "--repeat", rep])
        if r:
            print(f"| {n:,} | {m:,} | {t:,} | {r['seconds']:.3f} | {r['rate']:.3g} | {r['maxrss_mb']:.0f} |")


def mechanism_table(sizes: list, rep: str) -> None:
    from engine import api

    print(
        "\nMechanisms (default Params; cross: two assets, LT 0.825 / 0.8; compound-v3-accounts: two "
        "assets, liquidate CF 0.895 / 0.85; books from engine.books; "
        "latency-1 oracle; 1e9 USD depth):\n"
    )
    print("| mechanism | N | M | T | seconds | position-steps/s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for name in [*api.MECHANISMS, *VARIANTS]:
        if VARIANTS.get(name, name) not in api.available_mechanisms():
            print(f"note: {name} skipped, its module is absent")
            continue
        for _, n, m, t in sizes:
            r = run_child(["mech", name, str(n), str(m), str(t), "--repeat", rep])
            if r:
                print(
                    f"| {name} | {n:,} | {m:,} | {t} | {r['seconds']:.3f} | {r['rate']:.3g} | "
                    f"{r['maxrss_mb']:.0f} |"
                )


if __name__ == "__main__":
    raise SystemExit(main())
