"""The verdict's rules on hand-made stored results (no database), and who gets hurt on a
hand-made book."""

import numpy as np
import pytest

from backtests import hurt, verdict
from engine import aave


def paired(diff, lo, hi, a=0.0):
    return {"a": a, "b": a + diff, "diff": diff, "ci_low": lo, "ci_high": hi}


def scenario(index, name="m: s", n_paths=1000, **figures):
    return verdict.StoredScenario(index=index, name=name, n_paths=n_paths, paired=figures)


CVAR = verdict.FIGURE["bad_debt_cvar99"]
POWER = verdict.FIGURE["borrowing_power"]


def test_a_cell_is_coloured_only_where_its_interval_excludes_zero():
    assert verdict.cell_of(CVAR, paired(400_000.0, 100_000.0, 700_000.0)).effect == verdict.WORSE
    assert verdict.cell_of(CVAR, paired(-400_000.0, -700_000.0, -1.0)).effect == verdict.BETTER
    straddles = verdict.cell_of(CVAR, paired(400_000.0, -10.0, 700_000.0))
    assert not straddles.significant and straddles.effect == ""


def test_less_than_half_a_dollar_is_no_difference():
    assert not verdict.cell_of(CVAR, paired(0.3, 0.1, 0.4)).significant


def test_more_borrowing_power_is_better_and_an_exact_difference_has_no_interval():
    cell = verdict.cell_of(POWER, paired(5e6, 5e6, 5e6))
    assert cell.effect == verdict.BETTER and cell.ci_low is None and cell.ci_high is None
    assert verdict.cell_of(POWER, paired(0.0, 0.0, 0.0)).effect == ""


def test_a_replay_is_one_path_its_difference_is_exact():
    cell = verdict.cell_of(CVAR, paired(-2e5, -2e5, -2e5))
    assert cell.significant and cell.effect == verdict.BETTER and cell.ci_low is None


def test_the_sentence_counts_the_scenarios_and_names_the_largest_moves():
    scenarios = [
        scenario(0, bad_debt_cvar99=paired(4e5, 1e5, 7e5), mean_penalty=paired(9e5, 5e5, 1.2e6)),
        scenario(1, bad_debt_cvar99=paired(1e5, 2e4, 2e5), mean_penalty=paired(1e5, 5e4, 2e5)),
        *[
            scenario(i, bad_debt_cvar99=paired(1e3, -1e3, 3e3), mean_penalty=paired(0.0, 0.0, 0.0))
            for i in range(2, 8)
        ],
    ]
    v = verdict.build_verdict(scenarios, mechanism="aave-v3")
    assert v.sentence == (
        "Across 8 scenarios the proposal raises CVaR99 of bad debt in 2 (by up to $400.0K), lowers it in none, "
        "and costs borrowers up to $900.0K more in penalties per crash."
    )
    assert (v.label, v.label_text) == ("riskier", "Riskier than live")
    assert [c.effect for c in v.rows[0].cells if c.key == "bad_debt_cvar99"] == [verdict.WORSE]


def test_a_safer_proposal_that_saves_penalties_says_so():
    v = verdict.build_verdict(
        [scenario(0, bad_debt_cvar99=paired(-2e6, -3e6, -1e6), mean_penalty=paired(-5e4, -8e4, -2e4))],
        mechanism="aave-v3",
    )
    assert v.sentence == (
        "Across 1 scenario the proposal raises CVaR99 of bad debt in none, lowers it in 1 (by up to $2.00M), "
        "and saves borrowers up to $50.0K in penalties per crash."
    )
    assert v.label == "safer"


def test_nothing_significant_is_no_clear_difference():
    v = verdict.build_verdict([scenario(0, bad_debt_cvar99=paired(1e3, -1e3, 3e3))], mechanism="perp")
    assert v.label == "unclear"
    assert v.sentence.endswith("leaves borrowers' penalties unchanged.")


def test_p_insolvency_names_the_reserves_it_is_measured_against():
    assert "the insurance fund ($10.0M)" in verdict.reserves_text(
        "perp", {"live": {"insurance_fund": 1e7}, "proposed": {"insurance_fund": 1e7}}
    )
    assert "($10.0M live, $20.0M proposed)" in verdict.reserves_text(
        "perp", {"live": {"insurance_fund": 1e7}, "proposed": {"insurance_fund": 2e7}}
    )
    assert "starts at $0 (so it equals P(any bad debt))" in verdict.reserves_text("aave-v3", {})


def test_the_headline_prefers_the_largest_significant_change_in_cvar99():
    h = verdict.headline(
        [
            scenario(0, name="m: calm", bad_debt_cvar99=paired(9e6, -1e6, 2e7)),
            scenario(1, name="m: crash", bad_debt_cvar99=paired(4e5, 1e5, 7e5)),
        ]
    )
    assert (h["diff"], h["significant"], h["effect"], h["scenario"]) == (4e5, True, "worse", "crash")
    assert h["n_significant"] == 1 and h["n_scenarios"] == 2


def test_the_hurt_sentence_counts_positions_and_debt():
    stored = {
        "price": 3000.0,
        "newly_liquidatable": {"count": 37, "debt": 4.12e6, "collateral": 5e6},
        "closer": {"count": 4963, "debt": 9e7, "collateral": 1.2e8},
        "debt_label": "debt",
    }
    assert verdict.hurt_sentence(stored) == (
        "At the starting price ($3,000) the proposal makes 37 positions liquidatable ($4.12M of debt) "
        "and moves 4,963 more than 5 % closer to liquidation."
    )


def test_who_gets_hurt_groups_sums_and_lists_the_largest_new_liquidations_first():
    # h at LT 0.83, price 2000: 1.66, 1.037, 1.0624, 0.83 (already liquidatable), no debt.
    book = aave.Book(
        collateral=np.array([10.0, 10.0, 20.0, 5.0, 1.0]),
        debt=np.array([10_000.0, 16_000.0, 31_250.0, 10_000.0, 0.0]),
    )
    live = aave.Params(ltv=0.75, liquidation_threshold=0.83)
    proposed = aave.Params(ltv=0.75, liquidation_threshold=0.78)  # 0.9398 of before for everyone
    out = hurt.who_gets_hurt("aave-v3", live, proposed, book, 2000.0, top=2)
    # Rows 1 and 2 fall below 1 (1.037 -> 0.975, 1.0624 -> 0.9984); row 0 is moved closer.
    assert out["newly_liquidatable"] == {"count": 2, "debt": 47_250.0, "collateral": 60_000.0}
    assert out["closer"] == {"count": 1, "debt": 10_000.0, "collateral": 20_000.0}
    assert out["already_liquidatable"]["count"] == 1
    assert [(p["position"], p["group"]) for p in out["top"]] == [(2, "liquidatable"), (1, "liquidatable")]
    assert out["top"][0]["before"] == pytest.approx(20 * 2000 * 0.83 / 31_250)
    assert out["measure"] == "health factor" and out["n_positions"] == 5
