"""``python manage.py replay_run RUN_ID``: recompute a complete run in this process, without
chunking or Celery, and check that every stored figure is identical (exit 1 otherwise, naming
the figures that differ)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backtests import replay, services
from backtests.models import BacktestRun
from engine.errors import EngineError


class Command(BaseCommand):
    help = "Recompute a backtest run in-process and confirm identical figures."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run_id", type=int)

    def handle(self, *args, **opts) -> None:
        run = BacktestRun.objects.filter(pk=opts["run_id"]).first()
        if run is None:
            raise CommandError(f"no backtest run {opts['run_id']}")
        t0 = time.perf_counter()
        try:
            differences = replay.replay_backtest(run=run)
        except (services.BacktestError, EngineError) as exc:
            raise CommandError(str(exc)) from None
        took = time.perf_counter() - t0
        if differences:
            for d in differences:
                self.stderr.write(f"{d.scenario}: {d.figure}: {d.detail}")
            raise CommandError(f"run {run.pk}: {len(differences)} figure(s) differ from the stored run")
        n = len(run.manifest["scenarios"])
        self.stdout.write(
            self.style.SUCCESS(
                f"run {run.pk}: identical: per-path figures, summaries, paired differences and chart series of "
                f"{n} scenarios x 2 versions recomputed in {took:.1f} s (seed {run.seed}, engine "
                f"{run.manifest['engine_version']})"
            )
        )
