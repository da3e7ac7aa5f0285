"""A broker restart in the middle of a run ends in a complete run with the figures of a clean run.

The broker is a Redis server of the test's own (another port, its data in the test's temporary
folder, append-only file on), so the test can stop and start it without touching the Redis
that anything else uses. The worker runs with its beat (``-B``), as ``scripts/serve`` runs it,
and a short BACKTEST_STUCK_SECONDS: whatever the restart loses is sent again by the periodic
resume of stuck runs, not by the test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

from backtests import replay
from backtests.models import BacktestRun, ChunkResult, RunStatus
from governance.models import Member
from review.services import submit_proposal
from tests.backtests.conftest import ROOT, database_url, set_baseline, wait_for_run
from tests.proposals.factories import make_proposal, make_user

pytestmark = pytest.mark.worker


class RedisServer:
    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed for the broker-restart test (Debian package redis-server)"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.folder = folder
        self.command = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(folder),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--daemonize",
            "no",
        ]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.folder / "redis.log", "ab")
        self.process = subprocess.Popen(
            self.command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(
            f"redis-server on port {self.port} did not start: {(self.folder / 'redis.log').read_text()}"
        )

    def stop(self) -> None:
        """SIGTERM: Redis writes its append-only file and exits, as on a restart by an operator."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_a_broker_restart_mid_run_ends_in_a_complete_run_with_identical_figures(
    heavy_market, settings, start_worker, redis_server, tmp_path
):
    author = make_user("carol", Member.Role.CONTRIBUTOR)
    env = {
        "CELERY_BROKER_URL": redis_server.url + "/0",
        "CELERY_RESULT_BACKEND": redis_server.url + "/1",
        "BACKTEST_STUCK_SECONDS": "4",
    }
    worker = start_worker("w1", env=env, args=("-B", "-s", str(tmp_path / "beat-schedule")))
    # Submitted here, but queued on the test's own broker by the command line (this process's
    # Celery app is configured for the suite's broker).
    set_baseline(
        heavy_market, n_paths=60, chunk_paths=10
    )  # 2 scenarios x 6 chunks of a few tenths of a second
    proposal = make_proposal(heavy_market, author, liquidation_threshold="0.80", ltv="0.78")
    with mock.patch("backtests.services._send_dispatch"):
        submit_proposal(proposal=proposal, actor=author)
    run = BacktestRun.objects.get(proposal=proposal)
    subprocess.run(
        [sys.executable, "manage.py", "backtest", "--resume", str(run.pk)],
        cwd=ROOT,
        check=True,
        env={**os.environ, "DATABASE_URL": database_url(), **env},
        capture_output=True,
        timeout=60,
    )

    deadline = time.monotonic() + 120
    while ChunkResult.objects.filter(run=run).count() < 3:
        assert time.monotonic() < deadline, worker.text()[-3000:]
        time.sleep(0.05)
    redis_server.stop()  # mid-run: chunks queued, one computing, its ack to come
    time.sleep(3)
    redis_server.start()

    run = wait_for_run(run, timeout=180)
    assert run.status == RunStatus.COMPLETE, run.error
    assert (run.chunks_done, run.chunks_total) == (12, 12)
    assert ChunkResult.objects.filter(run=run).count() == 12
    assert run.comparisons.count() == 2 and run.results.count() == 6  # live, proposed and delayed
    # The figures are those of a clean single-process run of the same seed, bit for bit.
    assert replay.replay_backtest(run=run) == []
    # The worker did lose its broker connection while the run was going on, and reconnected.
    log = worker.text()
    lost = log.index("Connection to broker lost")
    assert "stored" in log[lost:] and "merged" in log[lost:]
