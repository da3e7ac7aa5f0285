"""Server time of the review pages with the demo data: the proposal page of a finished run, the
proposal list and the market page, as the site serves them (no DEBUG, production static files).

    .venv/bin/python benchmarks/review_page.py [--repeat 30] [--paths N] [--out result.json]

Seeds the demo (manage.py seed_demo) in a fresh database under a temporary VAR_DIR, computes the
two demo Aave proposals' runs in this process the way the workers do (dispatch, every chunk,
the merges; on the demo's stress pack: 6 scenarios, 1,000 paths, 5,000 positions, unless
--paths), then times GET requests through Django's test client signed in as voter1: the whole
request (middleware, views, queries, templates), no network. The first request of each page is
reported apart (cold caches); the others give the median and the 90th percentile.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=30, help="timed requests per page (after the first)")
    p.add_argument("--paths", type=int, default=None, help="paths per scenario (default: the demo pack's)")
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    return p.parse_args()


def setup_environment() -> None:
    os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="review-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    os.environ["DJANGO_DEBUG"] = "0"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed_and_run(paths: int | None) -> list[int]:
    """The demo, and both Aave proposals' runs computed here; returns their proposal ids."""
    from django.core.management import call_command

    from backtests import services
    from backtests.models import BacktestRun
    from proposals.models import Market, Proposal
    from scenarios.models import StressPack

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    aave = Market.objects.get(slug="aave-v3-ethereum-weth")
    if paths:
        StressPack.objects.filter(market=aave, is_default=True).update(n_paths=paths)
    ids = []
    with mock.patch("backtests.services._send_chunks"):
        for proposal in Proposal.objects.filter(market=aave).order_by("pk"):
            run = BacktestRun.objects.get(proposal=proposal)
            if paths:
                BacktestRun.objects.filter(pk=run.pk).update(n_paths=paths)
            t0 = time.perf_counter()
            services.dispatch_backtest(run_id=run.pk)
            run.refresh_from_db()
            for chunk in services.chunks_of(run):
                services.run_chunk(
                    run_id=run.pk, scenario_index=chunk.scenario_index, chunk_index=chunk.chunk_index
                )
            run.refresh_from_db()
            if not run.is_complete:
                raise SystemExit(f"run {run.pk} ended {run.status}: {run.error}")
            print(
                f"run {run.pk} of proposal #{proposal.pk}: {time.perf_counter() - t0:.1f} s in this process"
            )
            ids.append(proposal.pk)
    return ids


def time_page(client, url: str, repeat: int) -> dict:
    t0 = time.perf_counter()
    response = client.get(url)
    first = time.perf_counter() - t0
    if response.status_code != 200:
        raise SystemExit(f"GET {url}: {response.status_code}")
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - t0)
    times.sort()
    return {
        "url": url,
        "first_ms": round(first * 1000, 1),
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p90_ms": round(times[int(0.9 * (len(times) - 1))] * 1000, 1),
        "min_ms": round(times[0] * 1000, 1),
        "bytes": len(response.content),
    }


def main() -> None:
    args = parse_args()
    setup_environment()
    from django.test import Client

    ids = seed_and_run(args.paths)
    client = Client(HTTP_HOST="127.0.0.1")
    if not client.login(username="voter1", password="riskgov-demo"):
        raise SystemExit("could not sign in as voter1")
    pages = [
        f"/proposals/{ids[-1]}/",
        f"/proposals/{ids[0]}/",
        "/proposals/",
        "/markets/aave-v3-ethereum-weth/",
    ]
    rows = [time_page(client, url, args.repeat) for url in pages]
    print(
        f"\n{args.repeat} requests per page after the first; server time in this process (Django test client)\n"
    )
    print("| page | first request | median | 90th percentile | HTML bytes |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['url']} | {r['first_ms']} ms | {r['median_ms']} ms | {r['p90_ms']} ms | {r['bytes']:,} |"
        )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
