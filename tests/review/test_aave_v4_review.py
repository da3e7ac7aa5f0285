"""An aave-v4 proposal end to end in process: the demo spoke's proposal is backtested (engine
aave-v4, both versions over the market's pack), and the proposal page and the compare page
show its stored results."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backtests.models import BacktestRun
from governance import numbers
from governance.models import Member
from scenarios import services as scenario_services
from tests.backtests.conftest import make_pack, scenario_spec, set_baseline
from tests.proposals.factories import make_market, make_user
from tests.review.test_pages import client_for
from tests.review.test_proposal_page import finished

# seed_demo's proposal (up to the anti-split bound) and one on the spoke's target health factor.
HIGHER_CF = {"collateral_factor": "0.809"}
LOWER_THF = {"target_health_factor": "1.02"}


@pytest.fixture
def market(db, settings):
    settings.BACKTEST_N_BOOT = 50
    market = make_market("aave-v4")
    scenario_services.generate_book(
        market=market,
        n=600,
        seed=5,
        generator={"price": 2000.0, "threshold": 0.80, "total_debt_usd": 5e7, "h_min": 1.01, "h_median": 1.3},
    )
    make_pack(market, [scenario_spec("calm", 0.6, 48), scenario_spec("storm", 2.5, 48, lam=40.0)])
    set_baseline(market, n_paths=40, chunk_paths=20, seed=7)
    return market


@pytest.fixture
def author(db):
    return make_user("carol", Member.Role.CONTRIBUTOR)


@pytest.fixture
def runs(market, author, django_capture_on_commit_callbacks) -> list[BacktestRun]:
    return [finished(market, author, django_capture_on_commit_callbacks, c) for c in (HIGHER_CF, LOWER_THF)]


def test_the_demo_spokes_proposal_is_backtested_with_the_aave_v4_engine(runs):
    run = runs[0]
    assert run.manifest["mechanism"] == "aave-v4"
    assert run.comparisons.count() == 2
    storm = run.comparisons.get(scenario_index=1).paired
    # A higher collateral factor carries more debt on the same book: exact, no paths.
    assert storm["borrowing_power"]["diff"] == pytest.approx(
        storm["borrowing_power"]["a"] * (0.809 / 0.80 - 1)
    )
    assert run.who_gets_hurt["measure"] == "health factor"
    assert set(run.figures["health"]["worst"]) >= {"live", "proposed"}


def test_the_proposal_page_shows_the_stored_verdict_and_who_gets_hurt(runs, author):
    run = runs[0]
    response = client_for(author).get(reverse("review:detail", args=[run.proposal_id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="verdict-table"' in html and 'id="verdict-sentence"' in html
    stored = run.comparisons.get(scenario_index=0).paired["borrowing_power"]["diff"]
    assert f'data-exact="{numbers.exact(stored)}"' in html
    assert "the treasury&#x27;s reserves" in html or "the treasury's reserves" in html


def test_the_compare_page_sets_the_two_spoke_proposals_side_by_side(runs, author):
    ids = [r.proposal_id for r in runs]
    url = reverse("review:compare") + "?" + "&".join(f"ids={i}" for i in ids)
    response = client_for(author).get(url)
    assert response.status_code == 200
    for row in response.context["rows"]:
        for fig in row["figures"]:
            for run, cell in zip(runs, fig["cells"], strict=True):
                stored = run.comparisons.get(scenario_index=row["index"]).paired[fig["figure"].key]
                assert cell.diff == stored["diff"]
