"""The verdict: what a run's stored results say about the proposal, in one sentence and one
table (docs/review.md). Pure functions of stored results: nothing here runs the engine.

A **cell** is one figure of one scenario: the paired difference proposed minus live with its
95 % bootstrap interval (``ScenarioComparison.paired``). It is *significant* when the interval
excludes zero (by more than the figure's tolerance, ``TOLERANCE``), and only then coloured
*better* or *worse* by the figure's direction (less bad debt is better; more borrowing power
is better). An interval of zero width (a replay of history is one path; borrowing power does not
depend on the paths) is an exact difference: it is significant when it is not zero, and no
interval is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from governance import numbers

LOWER, HIGHER = "lower", "higher"
NEITHER = "neither"  # a figure shown without a judgement (funding: a transfer between traders)
BETTER, WORSE = "better", "worse"
# Differences smaller than these are zero: half a dollar, or rounding noise in a share or count.
TOLERANCE = {"USD": 0.5, "share": 1e-9, "count": 1e-9}


@dataclass(frozen=True)
class Figure:
    """One column of the verdict table: a key of a run's summaries."""

    key: str
    label: str
    unit: str
    better: str  # LOWER, HIGHER or NEITHER
    meaning: str


FIGURES = (
    Figure("mean_bad_debt", "Expected bad debt", "USD", LOWER, "mean realized bad debt per path"),
    Figure(
        "bad_debt_cvar99",
        "CVaR99 of bad debt",
        "USD",
        LOWER,
        "mean bad debt of the worst 1 % of paths (for one path: its bad debt)",
    ),
    Figure("p_bad_debt", "P(any bad debt)", "share", LOWER, "share of paths with any realized bad debt"),
    Figure(
        "p_insolvency", "P(insolvency)", "share", LOWER, "share of paths whose bad debt exceeds {reserves}"
    ),
    Figure(
        "liquidations_at_risk",
        "Liquidations at risk",
        "USD",
        LOWER,
        "95th percentile over paths of the debt repaid by liquidations",
    ),
    Figure(
        "mean_penalty", "Borrower penalty", "USD", LOWER, "mean liquidation penalty borrowers pay per path"
    ),
    Figure(
        "borrowing_power",
        "Borrowing power",
        "USD",
        HIGHER,
        "debt the book can carry at the starting price before liquidation (no paths: exact)",
    ),
)
# Per mechanism, figures of its per-path extra outputs (engine._skeleton.Mechanism.extra_fields,
# summarized by engine.results.summarize as mean_<name> and <name>_cvar99); a run whose
# manifest lacks them shows empty cells.
EXTRA_FIGURES: dict[str, tuple[Figure, ...]] = {
    "morpho-blue": (
        Figure(
            "mean_vault_loss",
            "Vault's expected loss",
            "USD",
            LOWER,
            "mean bad debt per path borne by the vault: each market's bad debt times the vault's share of its supply",
        ),
        Figure(
            "vault_loss_cvar99",
            "CVaR99 of the vault's loss",
            "USD",
            LOWER,
            "mean vault loss of the worst 1 % of paths",
        ),
    ),
    "perp": (
        Figure(
            "mean_funding_paid_longs",
            "Funding paid by longs",
            "USD",
            NEITHER,
            "mean funding longs pay per path, which shorts receive (a transfer between traders: not judged)",
        ),
        Figure(
            "mean_backstop_takeovers",
            "Backstop takeovers",
            "count",
            NEITHER,
            "mean number of positions per path the backstop vault took over (not judged)",
        ),
        Figure(
            "mean_backstop_pnl",
            "Backstop vault P&L",
            "USD",
            HIGHER,
            "mean profit and loss per path of the positions the backstop vault took over, marked at the horizon",
        ),
    ),
}
FIGURE = {f.key: f for f in FIGURES + tuple(f for fs in EXTRA_FIGURES.values() for f in fs)}


def figures_for(mechanism: str | None) -> tuple[Figure, ...]:
    """The verdict table's figures for a mechanism: FIGURES, then its extra outputs' figures."""
    return FIGURES + EXTRA_FIGURES.get(mechanism or "", ())


# What the engine calls the reserves that absorb bad debt before a protocol is insolvent, per
# mechanism, and the engine-parameter key that holds it (None: not governed, the engine's 0).
RESERVES = {
    "aave-v3": ("the treasury's reserves", None),
    "aave-v4": ("the treasury's reserves", None),
    "compound-v3": ("Comet's reserves", None),
    "maker-clip": ("the Vow's surplus buffer", None),
    "perp": ("the insurance fund", "insurance_fund"),
    # A Morpho Blue market has no reserves: bad debt is written off against its lenders at once.
    "morpho-blue": ("the market's reserves (Morpho Blue has none: its lenders bear bad debt)", None),
}


@dataclass(frozen=True)
class StoredScenario:
    """What the verdict reads of one scenario's stored results."""

    index: int
    name: str
    n_paths: int
    paired: dict[str, Any]
    scenario_id: int | None = None


@dataclass(frozen=True)
class Cell:
    key: str
    unit: str
    live: float | None
    proposed: float | None
    diff: float | None
    ci_low: float | None  # None: no interval (an exact difference)
    ci_high: float | None
    significant: bool
    effect: str  # BETTER, WORSE or "" (not significant)


@dataclass(frozen=True)
class Row:
    index: int
    name: str
    short_name: str
    n_paths: int
    scenario_id: int | None
    cells: tuple[Cell, ...]

    def cell(self, key: str) -> Cell | None:
        return next((c for c in self.cells if c.key == key), None)


@dataclass(frozen=True)
class Verdict:
    label: str  # "riskier", "safer", "mixed", "unclear"
    label_text: str
    sentence: str
    rows: tuple[Row, ...]
    figures: tuple[Figure, ...]
    reserves: str
    notes: tuple[str, ...] = field(default_factory=tuple)


def short_name(name: str) -> str:
    """A scenario's name without its market prefix (``aave-v3-…: GBM calm`` -> ``GBM calm``)."""
    return name.rsplit(": ", 1)[-1]


def cell_of(figure: Figure, paired: dict[str, Any] | None) -> Cell:
    p = paired or {}
    diff, lo, hi = p.get("diff"), p.get("ci_low"), p.get("ci_high")
    tol = TOLERANCE[figure.unit]
    exact = lo is not None and hi is not None and lo == hi
    if diff is None or lo is None or hi is None:
        significant = False
    elif exact:
        significant = abs(diff) > tol
    else:
        significant = lo > tol or hi < -tol
    effect = ""
    if significant and figure.better in (LOWER, HIGHER):
        lower = diff < 0
        effect = BETTER if lower == (figure.better == LOWER) else WORSE
    return Cell(
        key=figure.key,
        unit=figure.unit,
        live=p.get("a"),
        proposed=p.get("b"),
        diff=diff,
        ci_low=None if exact else lo,
        ci_high=None if exact else hi,
        significant=significant,
        effect=effect,
    )


def rows_of(scenarios: Sequence[StoredScenario], figures: Sequence[Figure] = FIGURES) -> tuple[Row, ...]:
    return tuple(
        Row(
            index=s.index,
            name=s.name,
            short_name=short_name(s.name),
            n_paths=s.n_paths,
            scenario_id=s.scenario_id,
            cells=tuple(cell_of(f, s.paired.get(f.key)) for f in figures),
        )
        for s in sorted(scenarios, key=lambda s: s.index)
    )


def _count(n: int) -> str:
    return "none" if n == 0 else str(n)


def _moves(rows: Sequence[Row], key: str) -> tuple[list[Cell], list[Cell]]:
    """The significant rises and falls of a figure across scenarios."""
    cells = [c for r in rows if (c := r.cell(key)) is not None and c.significant]
    return [c for c in cells if c.diff > 0], [c for c in cells if c.diff < 0]


def sentence_of(rows: Sequence[Row]) -> str:
    """ "Across 8 scenarios the proposal raises CVaR99 of bad debt in 2 (by up to $0.4M), lowers
    it in none, and costs borrowers $0.9M more in penalties per crash"."""
    up, down = _moves(rows, "bad_debt_cvar99")
    raise_part = f"raises CVaR99 of bad debt in {_count(len(up))}"
    if up:
        raise_part += f" (by up to {numbers.usd(max(c.diff for c in up))})"
    lower_part = f"lowers it in {_count(len(down))}"
    if down:
        lower_part += f" (by up to {numbers.usd(-min(c.diff for c in down))})"
    more, less = _moves(rows, "mean_penalty")
    if more:
        cost = f"costs borrowers up to {numbers.usd(max(c.diff for c in more))} more in penalties per crash"
    elif less:
        cost = f"saves borrowers up to {numbers.usd(-min(c.diff for c in less))} in penalties per crash"
    else:
        cost = "leaves borrowers' penalties unchanged"
    n = len(rows)
    return f"Across {n} scenario{'s' if n != 1 else ''} the proposal {raise_part}, {lower_part}, and {cost}."


SHORT_LABELS = {"riskier": "Riskier", "safer": "Safer", "mixed": "Mixed", "unclear": "No clear difference"}


def label_of(rows: Sequence[Row]) -> tuple[str, str]:
    """Riskier, safer, mixed or unclear, from the significant moves of expected bad debt and
    CVaR99 across scenarios."""
    effects = {
        c.effect
        for r in rows
        for key in ("mean_bad_debt", "bad_debt_cvar99")
        if (c := r.cell(key)) and c.effect
    }
    if effects == {WORSE}:
        return "riskier", "Riskier than live"
    if effects == {BETTER}:
        return "safer", "Safer than live"
    if effects:
        return "mixed", "Mixed: safer in some scenarios, riskier in others"
    return "unclear", "No clear difference in bad debt"


def reserves_text(mechanism: str, engine_params: dict[str, Any] | None) -> str:
    """What P(insolvency) measures bad debt against, named with its amount."""
    name, key = RESERVES.get(mechanism, ("the reserves", None))
    amounts = engine_params or {}
    live, proposed = amounts.get("live", {}), amounts.get("proposed", {})
    if key is None:
        return f"{name}, which the engine starts at $0 (so it equals P(any bad debt))"
    a, b = live.get(key), proposed.get(key)
    if a is None:
        return name
    if b is not None and b != a:
        return f"{name} ({numbers.usd(a)} live, {numbers.usd(b)} proposed)"
    return f"{name} ({numbers.usd(a)})"


def build_verdict(
    scenarios: Sequence[StoredScenario], *, mechanism: str, engine_params: dict[str, Any] | None = None
) -> Verdict:
    """The verdict of a complete run's stored scenarios (``engine_params``: ``{"live": {...},
    "proposed": {...}}``, the versions' engine parameters, for the reserves' amounts)."""
    rows = rows_of(scenarios, figures_for(mechanism))
    label, text = label_of(rows)
    reserves = reserves_text(mechanism, engine_params)
    figures = tuple(
        Figure(f.key, f.label, f.unit, f.better, f.meaning.format(reserves=reserves))
        for f in figures_for(mechanism)
    )
    return Verdict(
        label=label,
        label_text=text,
        sentence=sentence_of(rows),
        rows=rows,
        figures=figures,
        reserves=reserves,
    )


def headline(scenarios: Sequence[StoredScenario]) -> dict[str, Any] | None:
    """For lists: the change in CVaR99 of bad debt with the largest magnitude, preferring the
    significant ones, with its sign, scenario and significance, and the verdict's label."""
    rows = rows_of(scenarios)
    cells = [(r, c) for r in rows if (c := r.cell("bad_debt_cvar99")) is not None and c.diff is not None]
    if not cells:
        return None
    significant = [rc for rc in cells if rc[1].significant]
    row, cell = max(significant or cells, key=lambda rc: abs(rc[1].diff))
    label, text = label_of(rows)
    return {
        "label": label,
        "label_text": text,
        "label_short": SHORT_LABELS[label],
        "diff": cell.diff,
        "significant": cell.significant,
        "effect": cell.effect,
        "scenario": row.short_name,
        "n_significant": len(significant),
        "n_scenarios": len(rows),
    }


def hurt_sentence(hurt: dict[str, Any] | None) -> str:
    """ "At the starting price ($3,000) the proposal makes 37 positions liquidatable ($4.12M of
    debt) and moves 4,963 more than 5 % closer to liquidation." From a stored who-gets-hurt."""
    if not hurt:
        return ""
    newly, closer = hurt["newly_liquidatable"], hurt["closer"]
    at = f"At the starting price ({numbers.price(hurt['price'])})"
    debt = hurt.get("debt_label", "debt")
    if newly["count"]:
        n = newly["count"]
        first = (
            f"the proposal makes {numbers.count(n)} position{'s' if n != 1 else ''} liquidatable "
            f"({numbers.usd(newly['debt'])} of {debt})"
        )
    else:
        first = "the proposal makes no position liquidatable"
    if closer["count"]:
        second = f"moves {numbers.count(closer['count'])} more than 5 % closer to liquidation"
    else:
        second = "moves none more than 5 % closer to liquidation"
    return f"{at} {first} and {second}."
