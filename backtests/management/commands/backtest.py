"""``python manage.py backtest PROPOSAL_ID``: start a run if none is running, then follow it
with a progress bar. ``--stuck`` lists runs without progress for BACKTEST_STUCK_SECONDS;
``--resume RUN_ID`` sends a run's missing chunks (or its lost dispatch or merge) again;
``--resume-stuck`` resumes every stuck run (what the periodic task does, for cron)."""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backtests import progress, services
from backtests.models import BacktestRun
from proposals.models import Proposal


def bar(done: int, total: int, width: int = 30) -> str:
    filled = int(width * done / total) if total else 0
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


class Command(BaseCommand):
    help = "Start (if none is running) and follow the backtest of a proposal; or list stuck runs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("proposal_id", nargs="?", type=int)
        parser.add_argument("--stuck", action="store_true", help="list runs without progress and exit")
        parser.add_argument("--resume", type=int, metavar="RUN_ID", help="send a run's missing work again")
        parser.add_argument("--resume-stuck", action="store_true", help="resume every stuck run and exit")
        parser.add_argument("--no-follow", action="store_true", help="start the run and exit")
        parser.add_argument(
            "--timeout", type=float, default=None, help="give up following after this many seconds"
        )

    def handle(self, *args, **opts) -> None:
        if opts["stuck"]:
            return self.list_stuck()
        if opts["resume_stuck"]:
            ids = services.resume_stuck_backtests()
            self.stdout.write(
                f"resumed {len(ids)} stuck run(s){': ' + ', '.join(map(str, ids)) if ids else ''}"
            )
            return None
        if opts["resume"] is not None:
            run = BacktestRun.objects.filter(pk=opts["resume"]).first()
            if run is None:
                raise CommandError(f"no backtest run {opts['resume']}")
            try:
                n = services.resume_backtest(run=run)
            except services.BacktestError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"run {run.pk} resumed: {n} missing chunk(s) sent again")
            return None
        if opts["proposal_id"] is None:
            raise CommandError("give a PROPOSAL_ID, --stuck or --resume RUN_ID")
        proposal = Proposal.objects.filter(pk=opts["proposal_id"]).first()
        if proposal is None:
            raise CommandError(f"no proposal {opts['proposal_id']}")
        run = proposal.backtest_runs.exclude(status__in=["complete", "failed", "cancelled"]).first()
        if run is None:
            if proposal.status != Proposal.Status.BACKTESTING:
                raise CommandError(
                    f"proposal #{proposal.pk} is {proposal.status}; only a proposal in backtesting "
                    f"is backtested (submit it first)"
                )
            run = services.start_backtest(proposal=proposal, user=None)
            self.stdout.write(f"started backtest run {run.pk} of proposal #{proposal.pk}")
        else:
            self.stdout.write(f"following backtest run {run.pk} of proposal #{proposal.pk}")
        if not opts["no_follow"]:
            self.follow(run, opts["timeout"])
        return None

    def follow(self, run: BacktestRun, timeout: float | None) -> None:
        start = time.monotonic()
        tty = sys.stdout.isatty()
        last = None
        while True:
            run.refresh_from_db()
            p = progress.progress(run)
            line = (
                f"{bar(p['chunks_done'], p['chunks_total'])} {p['chunks_done']}/{p['chunks_total']} chunks  "
                f"{p['status_label']}  elapsed {seconds(p['elapsed_seconds'])}  left {seconds(p['eta_seconds'])}"
                + ("  STUCK: no progress; is a worker running?" if p["stuck"] else "")
            )
            if line != last:
                self.stdout.write(("\r" + line) if tty else line, ending="" if tty else "\n")
                self.stdout.flush()
                last = line
            if run.is_finished:
                break
            if timeout is not None and time.monotonic() - start > timeout:
                raise CommandError(f"\nrun {run.pk} still {run.status} after {timeout:.0f} s")
            time.sleep(0.5)
        if tty:
            self.stdout.write("")
        if run.status == "failed":
            raise CommandError(f"run {run.pk} failed: {run.error}")
        if run.status == "cancelled":
            raise CommandError(f"run {run.pk} was cancelled: {run.error}")
        self.stdout.write(
            self.style.SUCCESS(
                f"run {run.pk} complete: results stored for {run.comparisons.count()} scenarios"
            )
        )

    def list_stuck(self) -> None:
        stuck = services.stuck_runs()
        if not stuck:
            self.stdout.write("no stuck runs")
            return
        for run in stuck:
            last = run.last_progress_at or run.started_at or run.created_at
            self.stdout.write(
                f"run {run.pk} (proposal #{run.proposal_id}) {run.status}: {run.chunks_done}/"
                f"{run.chunks_total} chunks, last progress {last:%Y-%m-%d %H:%M:%S} UTC; "
                f"resume with: python manage.py backtest --resume {run.pk}"
            )
