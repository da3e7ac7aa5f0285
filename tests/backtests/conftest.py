"""Fixtures of the backtest tests: a market with a book and a small stress pack, and real Celery
worker processes (``celery -A governance worker -P prefork``) against the configured broker.

The worker must see the test database: the test process passes it as DATABASE_URL (SQLite: the
file test database under VAR_DIR that settings name; PostgreSQL: ``test_<name>``). Tests that
use workers need ``transactional_db`` so that what they write is committed and visible.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from django.db import connection

from engine import aave
from engine.market import MarketConditions
from governance.celery import app
from scenarios import services as scenario_services
from scenarios.models import PackEntry, StressPack
from tests.proposals.factories import make_market

ROOT = Path(__file__).resolve().parents[2]


def scenario_spec(name: str, sigma: float, steps: int, lam: float = 0.0) -> dict:
    params = {"mu": 0.0, "sigma": sigma, "lam": lam, "jump_mu": -0.08, "jump_sigma": 0.04}
    return {
        "name": name,
        "kind": "merton",
        "assets": ["ETHUSDT"],
        "n_steps": steps,
        "start_price": 2000.0,
        "params": params,
        "conditions": {"depth_usd": 2e7, "gas_cost_usd": 5.0},
    }


def make_pack(market, specs: list[dict]) -> StressPack:
    pack = StressPack.objects.create(market=market, name="Test pack", is_default=True)
    for i, spec in enumerate(specs):
        sc = scenario_services.save_scenario(name=f"{market.slug}: {spec['name']}", spec=spec, seed=100 + i)
        PackEntry.objects.create(pack=pack, scenario=sc, position=i)
    return pack


def set_baseline(market, *, n_paths: int, chunk_paths: int, seed: int | None = None) -> StressPack:
    """The market's default pack with these paths and chunk size (and seed): what its runs use."""
    pack = StressPack.objects.get(market=market, is_default=True)
    pack.n_paths, pack.chunk_paths = n_paths, chunk_paths
    if seed is not None:
        pack.seed = seed
    pack.save()
    return pack


def make_book(market, n: int = 2000, seed: int = 1):
    return scenario_services.generate_book(
        market=market,
        n=n,
        seed=seed,
        generator={"price": 2000.0, "threshold": 0.83, "total_debt_usd": 5e7, "h_min": 1.01, "h_median": 1.3},
    )


@pytest.fixture
def heavy_market(transactional_db):
    """Chunks of a few tenths of a second (10 paths x 720 steps x 20,000 positions, twice), so
    that a test can act while one is computing."""
    market = make_market("aave-v3")
    make_book(market, n=20_000)
    make_pack(market, [scenario_spec("calm", 0.8, 720), scenario_spec("storm", 2.5, 720, lam=40.0)])
    return market


def database_url() -> str:
    """The URL of the test database this process uses, for the worker processes."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    if connection.vendor == "postgresql":
        auth = quote(s.get("USER") or "")
        if s.get("PASSWORD"):
            auth += ":" + quote(s["PASSWORD"])
        host = s.get("HOST") or "localhost"
        port = f":{s['PORT']}" if s.get("PORT") else ""
        return f"postgres://{auth + '@' if auth else ''}{host}{port}/{s['NAME']}"
    raise RuntimeError(f"worker tests support SQLite and PostgreSQL; got {connection.vendor}")


@dataclass
class Worker:
    name: str
    process: subprocess.Popen
    log: Path
    children_seen: list[int] = field(default_factory=list)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def child_pids(self) -> list[int]:
        """The pool's worker processes (prefork children of the main process)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def wait_for(self, text: str, timeout: float, count: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.text().count(text) >= count:
                return
            if self.process.poll() is not None:
                raise AssertionError(
                    f"worker {self.name} exited ({self.process.returncode}):\n{self.text()[-3000:]}"
                )
            time.sleep(0.02)
        raise AssertionError(
            f"worker {self.name} did not log {text!r} within {timeout} s:\n{self.text()[-3000:]}"
        )

    def stop(self, *, warm: bool = True) -> None:
        """Warm shutdown (SIGTERM): the running task finishes and unacknowledged messages go
        back to the broker. Not warm: kill the worker and its pool at once (the end of a test,
        whose messages the next test purges anyway)."""
        if self.process.poll() is not None:
            return
        if warm:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
                return
            except subprocess.TimeoutExpired:
                pass
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def warm_engine() -> None:
    """Compile (or load from numba's cache) the Aave kernel in this process first, so that a
    worker loads it from the cache instead of compiling inside a timed test."""
    book = aave.Book(collateral=np.array([1.0]), debt=np.array([1000.0]))
    aave.simulate(aave.Params(), book, np.full((1, 3), 2000.0), MarketConditions())


@pytest.fixture
def start_worker(transactional_db, tmp_path) -> Callable[..., Worker]:
    """Start a real worker process; every worker started is stopped at the end of the test."""
    warm_engine()
    app.control.purge()  # messages left by an earlier, interrupted session
    workers: list[Worker] = []

    def start(
        name: str = "w1", concurrency: int = 1, env: dict | None = None, args: tuple[str, ...] = ()
    ) -> Worker:
        log = tmp_path / f"{name}.log"
        full_env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DJANGO_SETTINGS_MODULE": "governance.settings",
            "PYTHONUNBUFFERED": "1",
            # Runs are planned (their manifest, sweeps included) by the worker: without sweeps
            # unless a test asks for them, so that the mechanics are counted on the scenarios.
            "BACKTEST_SWEEP_PATHS": "0",
            **(env or {}),
        }
        with open(log, "wb") as out:
            proc = subprocess.Popen(
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
                    str(concurrency),
                    "-n",
                    f"{name}-{os.getpid()}@%h",
                    "--loglevel",
                    "INFO",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    *args,
                ],
                cwd=ROOT,
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = Worker(name, proc, log)
        workers.append(worker)
        worker.wait_for("ready.", timeout=60)
        return worker

    yield start
    for w in workers:
        w.stop(warm=False)


def wait_for_run(run, statuses: tuple[str, ...] = ("complete", "failed", "cancelled"), timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in statuses:
            return run
        time.sleep(0.1)
    raise AssertionError(
        f"run {run.pk} is still {run.status} ({run.chunks_done}/{run.chunks_total}) after {timeout} s"
    )
