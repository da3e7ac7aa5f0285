"""The proposal page's first screen, checked against the stored results: the verdict sentence
and table, who gets hurt, the same live figures on two proposals of a market, the list's and
the market page's headlines, a run on an older baseline."""

from __future__ import annotations

import re

import numpy as np
import pytest
from django.urls import reverse

from backtests.models import BacktestRun
from governance import numbers
from governance.models import Member
from proposals.models import Proposal
from review.services import submit_proposal
from scenarios import services as scenario_services
from scenarios.services import decode_book
from tests.backtests.conftest import make_pack, scenario_spec, set_baseline
from tests.backtests.test_services import drive
from tests.proposals.factories import decide_by_vote, make_market, make_proposal, make_user
from tests.review.test_pages import client_for

LOOSER = {"liquidation_threshold": "0.835", "ltv": "0.81"}
TIGHTER = {"liquidation_threshold": "0.78", "ltv": "0.76"}


@pytest.fixture
def market(db, settings):
    settings.BACKTEST_N_BOOT = 50
    market = make_market("aave-v3")
    scenario_services.generate_book(
        market=market,
        n=600,
        seed=5,
        generator={"price": 2000.0, "threshold": 0.83, "total_debt_usd": 5e7, "h_min": 1.01, "h_median": 1.3},
    )
    make_pack(market, [scenario_spec("calm", 0.6, 48), scenario_spec("storm", 2.5, 48, lam=40.0)])
    set_baseline(market, n_paths=40, chunk_paths=20, seed=7)
    return market


@pytest.fixture
def author(db):
    return make_user("carol", Member.Role.CONTRIBUTOR)


@pytest.fixture
def voter(db):
    return make_user("vera", Member.Role.VOTER, power="10")


def finished(market, author, django_capture_on_commit_callbacks, changes) -> BacktestRun:
    proposal = make_proposal(market, author, **changes)
    with django_capture_on_commit_callbacks(execute=False):
        submit_proposal(proposal=proposal, actor=author)
    return drive(BacktestRun.objects.get(proposal=proposal), django_capture_on_commit_callbacks)


@pytest.fixture
def runs(market, author, django_capture_on_commit_callbacks):
    return (
        finished(market, author, django_capture_on_commit_callbacks, LOOSER),
        finished(market, author, django_capture_on_commit_callbacks, TIGHTER),
    )


def page(client, proposal_id: int) -> str:
    response = client.get(reverse("review:detail", args=[proposal_id]))
    assert response.status_code == 200
    return response.content.decode()


def cells(html: str, table_id: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(scenario index, figure key) -> (data-exact of the difference, the cell's class)."""
    table = html[html.index(f'id="{table_id}"') :]
    table = table[: table.index("</table>")]
    out = {}
    for row in re.finditer(r'<tr data-scenario="(\d+)">(.*?)</tr>', table, re.S):
        for cell in re.finditer(
            r'<td class="num (effect-\w+)" data-key="(\w+)">.*?data-exact="([^"]*)"', row[2], re.S
        ):
            out[(row[1], cell[2])] = (cell[3], cell[1])
    return out


def test_the_verdict_table_is_the_stored_paired_differences_coloured_by_their_intervals(runs, voter):
    run = runs[1]
    html = page(client_for(voter), run.proposal_id)
    shown = cells(html, "verdict-table")
    keys = [
        "mean_bad_debt",
        "bad_debt_cvar99",
        "p_bad_debt",
        "p_insolvency",
        "liquidations_at_risk",
        "mean_penalty",
        "borrowing_power",
    ]
    assert len(shown) == 2 * len(keys)
    for comp in run.comparisons.all():
        for key in keys:
            p = comp.paired[key]
            exact, css = shown[(str(comp.scenario_index), key)]
            assert exact == numbers.exact(p["diff"])
            lower_better = key != "borrowing_power"
            tol = 0.5 if key not in ("p_bad_debt", "p_insolvency") else 1e-9
            significant = p["ci_low"] > tol or p["ci_high"] < -tol
            if p["ci_low"] == p["ci_high"]:
                significant = abs(p["diff"]) > tol
            expected = "effect-none"
            if significant:
                expected = "effect-better" if (p["diff"] < 0) == lower_better else "effect-worse"
            assert css == expected, (comp.scenario_index, key)


def test_the_verdict_sentence_counts_what_the_stored_cvar99_intervals_say(runs, voter):
    run = runs[0]
    html = page(client_for(voter), run.proposal_id)
    comps = list(run.comparisons.all())
    up = [c.paired["bad_debt_cvar99"] for c in comps if c.paired["bad_debt_cvar99"]["ci_low"] > 0.5]
    down = [c.paired["bad_debt_cvar99"] for c in comps if c.paired["bad_debt_cvar99"]["ci_high"] < -0.5]
    sentence = re.search(r'<p class="verdict-sentence" id="verdict-sentence">(.*?)</p>', html, re.S)[1]
    assert sentence.startswith("Across 2 scenarios the proposal raises CVaR99 of bad debt in ")
    assert f"raises CVaR99 of bad debt in {len(up) or 'none'}" in sentence
    assert f"lowers it in {len(down) or 'none'}" in sentence
    if up:
        assert f"(by up to {numbers.usd(max(p['diff'] for p in up))})" in sentence


def test_who_gets_hurt_lists_the_positions_a_tighter_threshold_makes_liquidatable(runs, voter):
    run = runs[1]
    book = decode_book(run.proposal.market.books.get().data)
    h_live = book["collateral"] * 2000.0 * 0.83 / book["debt"]
    h_new = book["collateral"] * 2000.0 * 0.78 / book["debt"]
    newly = (h_live >= 1) & (h_new < 1)
    assert newly.sum() > 0
    stored = run.who_gets_hurt
    assert stored["price"] == 2000.0
    assert stored["newly_liquidatable"]["count"] == int(newly.sum())
    assert stored["newly_liquidatable"]["debt"] == pytest.approx(float(book["debt"][newly].sum()))
    largest = np.argsort(-book["debt"][newly])[: min(20, int(newly.sum()))]
    assert [p["position"] for p in stored["top"][: len(largest)]] == np.flatnonzero(newly)[largest].tolist()
    html = page(client_for(voter), run.proposal_id)
    assert f"the proposal makes {numbers.count(newly.sum())} position" in html
    assert html.count("makes it liquidatable") == min(20, int(newly.sum()))
    # The looser proposal hurts no one at the start.
    assert runs[0].who_gets_hurt["newly_liquidatable"]["count"] == 0
    assert 'id="hurt-none"' in page(client_for(voter), runs[0].proposal_id)


def test_two_proposals_of_a_market_show_the_same_live_figures(runs, voter):
    client = client_for(voter)
    live = []
    for run in runs:
        html = page(client, run.proposal_id)
        live.append(
            re.findall(
                r'<tr data-key="(\w+)"><td>[^<]*</td>\s*<td class="num"><span class="n" title="[^"]*" data-exact="([^"]*)"',
                html,
            )
        )
    assert live[0] and live[0] == live[1]
    assert "baseline-note" not in html


def test_a_run_on_an_older_stress_pack_says_its_live_figures_are_not_comparable(runs, voter, market):
    set_baseline(market, n_paths=40, chunk_paths=20, seed=8)
    html = page(client_for(voter), runs[0].proposal_id)
    assert 'id="baseline-note"' in html and "changed since (seed)" in html


def test_the_list_shows_each_proposals_status_and_headline_verdict(runs, voter):
    html = client_for(voter).get(reverse("review:list")).content.decode()
    for run in runs:
        row = re.search(rf'<tr data-proposal="{run.proposal_id}">(.*?)</tr>', html, re.S)[1]
        assert Proposal.objects.get(pk=run.proposal_id).get_status_display() in row and "CVaR99" in row
        cvar = [c.paired["bad_debt_cvar99"] for c in run.comparisons.all()]
        significant = [p for p in cvar if p["ci_low"] > 0.5 or p["ci_high"] < -0.5]
        shown = max(significant or cvar, key=lambda p: abs(p["diff"]))
        assert f'data-exact="{numbers.exact(shown["diff"])}"' in row
        assert ("not significant" in row) == (not significant)


def test_the_market_page_shows_approved_changes_with_their_verdicts(voter, runs, market):
    # The voter exists before the runs finish, so the vote's power snapshot holds their power.
    assert decide_by_vote(runs[1].proposal, "for", voter).status == Proposal.Status.APPROVED
    html = client_for(voter).get(reverse("review:market", args=[market.slug])).content.decode()
    section = html[html.index('id="approved-changes"') :]
    section = section[: section.index("</table>")]
    assert f'data-proposal="{runs[1].proposal_id}"' in section and "CVaR99" in section
    assert f'data-proposal="{runs[0].proposal_id}"' not in section


def test_the_results_csv_has_every_stored_figure_exactly(runs, voter):
    run = runs[0]
    response = client_for(voter).get(reverse("backtests:results_csv", args=[run.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    comp = run.comparisons.get(scenario_index=1)
    row = next(line for line in lines if line.startswith(f"1,{comp.scenario_name},bad_debt_cvar99,"))
    p = comp.paired["bad_debt_cvar99"]
    assert row.split(",")[3:] == [numbers.exact(p[k]) for k in ("a", "b", "diff", "ci_low", "ci_high")]


def test_every_figure_on_the_page_has_its_exact_value_on_hover(runs, voter):
    html = page(client_for(voter), runs[0].proposal_id)
    verdict = html[html.index('id="verdict"') : html.index('id="rationale"')]
    assert 'class="n" title="' in verdict and "data-exact" in verdict
    assert not re.search(r">\s*-?\d+\.\d{4}\s*<", verdict)  # no raw four-decimal figures
