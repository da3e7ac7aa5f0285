"""The cost of governance delay: what a run's stored results say about taking effect only after
the vote and the timelock instead of now (docs/review.md; margin-engine.md section 4,
"Parameters that change during a run"). Pure functions of stored results.

Per scenario the run stored a third version, *proposed after the delay*: live until the step
at which the market's voting delay, voting period and timelock have passed, proposed from
there, on the same paths and book as *proposed from the start*. A cell is the paired difference
after delay minus from the start with its 95 % bootstrap interval
(``ScenarioComparison.delay["paired"]``), read with the verdict's rules (backtests.verdict):
positive and significant means the delay costs bad debt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from backtests import verdict
from governance import numbers

FIGURES = (verdict.FIGURE["mean_bad_debt"], verdict.FIGURE["bad_debt_cvar99"])


@dataclass(frozen=True)
class DelayScenario:
    """What the cost of delay reads of one scenario's stored results."""

    index: int
    name: str
    n_paths: int
    delay: dict[str, Any]  # ScenarioComparison.delay ({} for runs made before it existed)
    interval_seconds: int = 3600
    scenario_id: int | None = None


@dataclass(frozen=True)
class DelayRow:
    index: int
    name: str
    short_name: str
    n_paths: int
    scenario_id: int | None
    delay_text: str  # "5 days"
    steps: int
    horizon_text: str
    beyond_horizon: bool  # the proposal would take effect after the scenario: delayed = live
    cells: tuple[verdict.Cell, ...]  # live = from the start, proposed = after the delay

    def cell(self, key: str) -> verdict.Cell | None:
        return next((c for c in self.cells if c.key == key), None)


@dataclass(frozen=True)
class CostOfDelay:
    available: bool
    sentence: str
    reason: str = ""  # why it is not available
    delay_text: str = ""
    source: str = ""
    rows: tuple[DelayRow, ...] = ()
    figures: tuple[verdict.Figure, ...] = FIGURES


def rows_of(scenarios: Sequence[DelayScenario]) -> tuple[DelayRow, ...]:
    rows = []
    for s in sorted(scenarios, key=lambda s: s.index):
        d = s.delay
        paired = d.get("paired", {})
        rows.append(
            DelayRow(
                index=s.index,
                name=s.name,
                short_name=verdict.short_name(s.name),
                n_paths=s.n_paths,
                scenario_id=s.scenario_id,
                delay_text=numbers.duration(d["hours"] * 3600.0),
                steps=int(d["steps"]),
                horizon_text=numbers.duration(d["horizon_steps"] * s.interval_seconds),
                beyond_horizon=bool(d["beyond_horizon"]),
                cells=tuple(verdict.cell_of(f, paired.get(f.key)) for f in FIGURES),
            )
        )
    return tuple(rows)


def sentence_of(rows: Sequence[DelayRow], delay_text: str) -> str:
    """One sentence a voter reads in ten seconds: how much expected bad debt the delay adds in
    the scenario where it adds the most (significant moves first), with its interval."""
    when = f"If this proposal takes effect after the vote and timelock ({delay_text}) instead of now"
    inside = [r for r in rows if not r.beyond_horizon]
    if not inside:
        longest = max(rows, key=lambda r: r.steps)
        return (
            f"The vote and timelock ({delay_text}) outlast every scenario (the longest lasts "
            f"{longest.horizon_text}): the proposal would take effect only after each stress, so "
            "the delay costs what keeping the live version costs (the verdict above, reversed)."
        )
    cells = [(r, c) for r in inside if (c := r.cell("mean_bad_debt")) is not None and c.diff is not None]
    if not cells:
        return f"{when}, the run stored no figure of expected bad debt to compare."
    significant = [rc for rc in cells if rc[1].significant]
    if not significant and all(c.diff == 0 for _, c in cells):
        # Nothing to point at: naming "the largest change, $0" in an arbitrary scenario reads
        # as a finding. Say that the delay changes nothing, and why that can be.
        short = [r for r in inside if r.steps <= 1]
        why = (
            f" (as modelled, one step of the scenarios: {short[0].delay_text})"
            if len(short) == len(inside)
            else ""
        )
        return (
            f"{when}, expected bad debt is the same in every scenario: the delay{why} is too short "
            "for the live and proposed versions to liquidate differently before the proposal takes effect."
        )
    row, cell = max(significant or cells, key=lambda rc: rc[1].diff)
    interval = ""
    if cell.ci_low is not None:
        interval = f" (95 % interval {numbers.interval(cell.ci_low, cell.ci_high, 'USD')})"
    if not significant:
        return (
            f"{when}, expected bad debt changes significantly in no scenario: the largest change, "
            f"in {row.short_name}, is {numbers.usd(cell.diff, signed=True)}{interval}."
        )
    if cell.diff <= 0:
        row, cell = min(significant, key=lambda rc: rc[1].diff)
        if cell.ci_low is not None:
            interval = f" (95 % interval {numbers.interval(cell.ci_low, cell.ci_high, 'USD')})"
        return (
            f"{when}, expected bad debt rises in no scenario; it falls most in {row.short_name}, "
            f"by {numbers.usd(-cell.diff)}{interval}."
        )
    return (
        f"{when}, expected bad debt in the worst scenario ({row.short_name}) rises by "
        f"{numbers.usd(cell.diff)}{interval}."
    )


def build_cost_of_delay(scenarios: Sequence[DelayScenario], governance_delay: dict | None) -> CostOfDelay:
    """The cost of delay of a complete run's stored scenarios; ``governance_delay`` is the
    run's manifest entry (its source and seconds). Not available, saying why, for a run made
    before the delayed version existed."""
    if not scenarios or not governance_delay or any(not s.delay for s in scenarios):
        return CostOfDelay(
            available=False,
            sentence="The cost of governance delay is not available for this run.",
            reason=(
                "it was made before backtests ran the proposal after the vote and timelock; a new "
                "run of the proposal would show it"
            ),
        )
    rows = rows_of(scenarios)
    delay_text = numbers.duration(governance_delay["seconds"])
    return CostOfDelay(
        available=True,
        sentence=sentence_of(rows, delay_text),
        delay_text=delay_text,
        source=governance_delay.get("source", ""),
        rows=rows,
    )
