"""Submitting a proposal starts its backtest (proposals.signals.proposal_submitted is sent
inside submit_proposal's transaction; start_backtest queues the work on commit)."""

from __future__ import annotations

from typing import Any


def start_backtest_on_submit(sender: Any, proposal: Any, **kwargs: Any) -> None:
    from backtests.services import start_backtest

    start_backtest(proposal=proposal, user=proposal.author)


def connect() -> None:
    from proposals.signals import proposal_submitted

    proposal_submitted.connect(start_backtest_on_submit, dispatch_uid="backtests.start_backtest_on_submit")
