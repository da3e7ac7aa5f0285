"""Backtest end to end through the broker: the standard stress pack, live and proposed, and the
run's sweeps (sensitivity, volatility, frontier: backtests.sweeps), on one and on two worker
processes; where the time goes.

    .venv/bin/python benchmarks/backtest.py                      # embedded SQLite + SQLite broker
    .venv/bin/python benchmarks/backtest.py --workers 2 --paths 200
    .venv/bin/python benchmarks/backtest.py --sweep-paths 0       # the run without its sweeps
    DATABASE_URL=postgres://... CELERY_BROKER_URL=redis://... .venv/bin/python benchmarks/backtest.py

Builds a fresh database in a temporary VAR_DIR (unless DATABASE_URL is set: then that database
must be empty or disposable), imports ETH/USDT hourly prices from ../shared/data/prices, stores
the standard pack (scenarios.services.create_stress_pack: 720 hourly steps), a synthetic book
and a proposal; submits it with a fixed seed; starts N worker processes
(``celery -A governance worker -P prefork --concurrency 1``) and times the run from submission
to COMPLETE. Runs with different worker counts use the same seed: their figures must be
identical (checked). With --repeat N every worker count is timed N times (alternating) and the
table shows the medians. Prints a table and writes JSON (--out).

Where the time goes: ``dispatch`` (submission to the chunks sent: the worker builds the
manifest), ``chunks`` (chunks sent to the last chunk stored; the merges of all but the last
scenario run inside it, in the task that stored the scenario's last chunk), ``tail`` (last
chunk stored to COMPLETE: the last merge and the finish), and the CPU seconds summed over the
chunks (load inputs, generate paths, engine, pack, store) and over the merges.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRICES = ROOT / ".." / "shared" / "data" / "prices" / "ETHUSDT_1h_binance_spot.csv"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", default="1,2", help="comma-separated worker counts to time (default 1,2)")
    p.add_argument("--paths", type=int, default=1000, help="paths per simulated scenario")
    p.add_argument("--positions", type=int, default=10_000)
    p.add_argument("--steps", type=int, default=720, help="hourly steps of the simulated scenarios")
    p.add_argument("--chunk-paths", type=int, default=250, help="paths per chunk (BACKTEST_CHUNK_PATHS)")
    p.add_argument(
        "--sweep-paths",
        type=int,
        default=250,
        help="paths of each sweep job (BACKTEST_SWEEP_PATHS; 0: the run without sweeps)",
    )
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--repeat", type=int, default=1, help="time each worker count this many times (median)")
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    return p.parse_args()


def setup_environment(args: argparse.Namespace) -> None:
    if "VAR_DIR" not in os.environ:
        os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="backtest-bench-")
    os.environ["BACKTEST_PATHS"] = str(args.paths)
    os.environ["BACKTEST_CHUNK_PATHS"] = str(args.chunk_paths)
    os.environ["BACKTEST_SWEEP_PATHS"] = str(args.sweep_paths)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def build_market(args: argparse.Namespace):
    """Market, live version, standard pack on real ETH prices, synthetic book; returns (market, author)."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from governance.models import GovernancePolicy, Guardrail, Member
    from proposals import services
    from proposals.models import Market
    from review.management.commands.seed_demo import MARKETS
    from scenarios import services as scenario_services

    call_command("migrate", verbosity=0)
    spec = next(m for m in MARKETS if m["mechanism"] == "aave-v3")
    market = Market.objects.create(
        slug="bench-" + spec["slug"],
        name=spec["name"],
        mechanism="aave-v3",
        contracts=spec["contracts"],
        target=spec["target"],
    )
    version = services.create_version(market=market, values=spec["values"], author=None, parent=None)
    services.bootstrap_live_version(version=version, actor=None)
    GovernancePolicy.objects.create(market=market)
    # The demo's guardrails: the sweeps move each changed parameter one guardrail step.
    for parameter, (max_change, days) in spec["guardrails"].items():
        Guardrail.objects.create(
            market=market, parameter=parameter, max_change=Decimal(max_change), min_delay=timedelta(days=days)
        )
    author = get_user_model().objects.create_user(username="bench", password="bench-password-1")
    Member.objects.create(user=author, role=Member.Role.CONTRIBUTOR)
    result = scenario_services.import_price_file(path=PRICES, symbol="ETHUSDT")
    series = getattr(result, "series", None) or scenario_services.get_series("ETHUSDT-1h")
    book_debt = 1e8
    pack = scenario_services.create_stress_pack(
        market=market, series=series, depth_usd=5 * book_debt, start_price=2000.0, n_steps=args.steps
    )
    # The pack fixes every run's seed, paths and chunk size (the market's baseline).
    type(pack).objects.filter(pk=pack.pk).update(
        seed=args.seed, n_paths=args.paths, chunk_paths=args.chunk_paths
    )
    scenario_services.generate_book(
        market=market,
        n=args.positions,
        seed=1,
        generator={"price": 2000.0, "threshold": 0.83, "total_debt_usd": book_debt},
    )
    return market, author


def start_workers(n: int, log_dir: Path) -> list[subprocess.Popen]:
    from django.db import connection

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{connection.settings_dict['NAME']}"
    procs = []
    for i in range(n):
        log = open(log_dir / f"worker{i + 1}.log", "wb")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "governance",
                    "worker",
                    "-P",
                    "prefork",
                    "--concurrency",
                    "1",
                    "-n",
                    f"bench{i + 1}-{os.getpid()}@%h",
                    "--loglevel",
                    "INFO",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    deadline = time.monotonic() + 120
    for i in range(n):
        while b"ready." not in (log_dir / f"worker{i + 1}.log").read_bytes():
            if time.monotonic() > deadline:
                raise SystemExit(f"worker {i + 1} did not start; see {log_dir}")
            time.sleep(0.1)
    return procs


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def time_run(market, author, n_workers: int, seed: int, log_dir: Path) -> dict:
    from backtests.models import BacktestRun
    from governance.celery import app
    from proposals import services
    from review.services import submit_proposal

    app.control.purge()
    log_dir = log_dir / f"{n_workers}-workers-{time.strftime('%H%M%S')}"  # one folder per timed run
    log_dir.mkdir()
    procs = start_workers(n_workers, log_dir)
    try:
        values = {**market.live_version.values, "liquidation_threshold": "0.835", "ltv": "0.81"}
        proposal = services.create_draft(
            author=author, market=market, title=f"bench {n_workers}", rationale="benchmark", values=values
        )
        t0 = time.perf_counter()
        submit_proposal(proposal=proposal, actor=author)
        run = BacktestRun.objects.get(proposal=proposal)
        while True:
            run.refresh_from_db()
            if run.is_finished:
                break
            if time.perf_counter() - t0 > 1800:
                raise SystemExit(f"run {run.pk} still {run.status} after 30 minutes; see {log_dir}")
            time.sleep(0.05)
        wall = time.perf_counter() - t0
    finally:
        stop_workers(procs)
    if not run.is_complete:
        raise SystemExit(f"run {run.pk} ended {run.status}: {run.error}")
    logs = "".join((log_dir / f"worker{i + 1}.log").read_text(errors="replace") for i in range(n_workers))
    return breakdown(run, wall, n_workers, logs)


def breakdown(run, wall: float, n_workers: int, logs: str) -> dict:
    import re

    chunks = list(run.chunks.all())
    total = {
        k: sum(c.timings.get(k, 0.0) for c in chunks) for k in ("load", "generate", "engine", "pack", "store")
    }
    merges = [
        float(m) for m in re.findall(rf"scenario run={run.pk} scenario=\d+ merged \(([0-9.]+) s\)", logs)
    ]
    total["merge"] = sum(merges)
    sweep_merges = [float(m) for m in re.findall(rf"sweep run={run.pk} job=\d+ merged \(([0-9.]+) s\)", logs)]
    total["sweep_merge"] = sum(sweep_merges)
    n_scenarios = len(run.manifest["scenarios"])
    sweep_chunks = [c for c in chunks if c.scenario_index >= n_scenarios]
    total["sweep_engine"] = sum(c.timings.get("engine", 0.0) for c in sweep_chunks)
    last_chunk = max(c.updated_at for c in chunks)
    return {
        "workers": n_workers,
        "run": run.pk,
        "seed": run.seed,
        "wall_seconds": wall,
        "chunks": len(chunks),
        "chunk_paths": run.chunk_paths,
        "scenarios": len(run.manifest["scenarios"]),
        "paths": sum(s["n_paths"] for s in run.manifest["scenarios"]),
        "dispatch_seconds": (run.started_at - run.created_at).total_seconds(),
        "chunk_phase_seconds": (last_chunk - run.started_at).total_seconds(),
        "tail_seconds": (run.finished_at - last_chunk).total_seconds(),
        "merges": len(merges),
        "sweep_jobs": len((run.manifest.get("sweeps") or {}).get("jobs", [])),
        "sweep_chunks": len(sweep_chunks),
        "sweep_paths": (run.manifest.get("sweeps") or {}).get("paths", 0),
        "sweep_sets": len((run.manifest.get("sweeps") or {}).get("sets", {})),
        "chunk_cpu_seconds": {k: round(v, 3) for k, v in total.items()},
    }


def per_path_bytes(run_id: int) -> dict:
    from backtests.models import BacktestRun, ScenarioResult

    out = {
        (r.scenario_index, r.role): bytes(r.per_path) for r in ScenarioResult.objects.filter(run_id=run_id)
    }
    # The sweeps' merged figures (JSON, exact floats), keyed by job.
    sweeps = BacktestRun.objects.get(pk=run_id).figures.get("sweeps", {})
    out["sweeps"] = json.dumps(sweeps, sort_keys=True).encode()
    return out


def main() -> None:
    args = parse_args()
    setup_environment(args)
    from backtests import compute

    log_dir = Path(os.environ["VAR_DIR"]) / "bench-logs"
    log_dir.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    market, author = build_market(args)
    print(
        f"setup (migrate, import prices, pack, book of {args.positions}): {time.perf_counter() - t0:.1f} s; "
        f"VAR_DIR={os.environ['VAR_DIR']}",
        flush=True,
    )
    counts = [int(x) for x in args.workers.split(",")]
    runs: dict[int, list[dict]] = {n: [] for n in counts}
    for _ in range(args.repeat):
        for n in counts:
            r = time_run(market, author, n, args.seed, log_dir)
            runs[n].append(r)
            print(json.dumps(r), flush=True)
    every = [r for n in counts for r in runs[n]]
    first = per_path_bytes(every[0]["run"])

    def comparable(stored: dict) -> dict:
        return {k: v if k == "sweeps" else compute.unpack(v)["per_path"].tobytes() for k, v in stored.items()}

    first = comparable(first)
    for r in every[1:]:
        same = comparable(per_path_bytes(r["run"])) == first
        r["identical_to_first"] = same
        if not same:
            raise SystemExit(f"run {r['run']} ({r['workers']} workers) differs from run {every[0]['run']}")
    results = [median_run(runs[n]) for n in counts]
    base = results[0]["wall_seconds"]
    for r in results:
        r["speedup_vs_first"] = base / r["wall_seconds"]
    print()
    print(
        f"{'workers':>7} {'wall s':>8} {'speed-up':>8} {'chunks':>6} {'dispatch':>8} {'chunks s':>8} "
        f"{'tail s':>8} | CPU s: load generate engine (sweeps) pack store merge (sweeps)"
    )
    for r in results:
        c = r["chunk_cpu_seconds"]
        print(
            f"{r['workers']:>7} {r['wall_seconds']:>8.1f} {r['speedup_vs_first']:>8.2f} {r['chunks']:>6} "
            f"{r['dispatch_seconds']:>8.1f} {r['chunk_phase_seconds']:>8.1f} {r['tail_seconds']:>8.1f} | "
            f"{c['load']:.1f} {c['generate']:.1f} {c['engine']:.1f} ({c['sweep_engine']:.1f}) {c['pack']:.2f} "
            f"{c['store']:.2f} {c['merge']:.1f} ({c['sweep_merge']:.1f})"
        )
    if args.repeat > 1:
        print(
            f"(medians of {args.repeat} runs; wall seconds of each: "
            + "; ".join(
                f"{n} worker(s): " + ", ".join(f"{r['wall_seconds']:.2f}" for r in runs[n]) for n in counts
            )
            + ")"
        )
    if args.out:
        args.out.write_text(
            json.dumps(
                {"args": {k: str(v) for k, v in vars(args).items()}, "medians": results, "runs": every},
                indent=2,
            )
        )


def median_run(runs: list[dict]) -> dict:
    """The run of median wall time (the lower middle of an even count)."""
    ordered = sorted(runs, key=lambda r: r["wall_seconds"])
    return dict(ordered[(len(ordered) - 1) // 2])


if __name__ == "__main__":
    main()
