"""The compare page: 2-4 proposals of one market side by side, from their stored results; the
verdict table has one column per proposal, equal to each run's stored differences; the charts
overlay the proposals; the proposal page links to it; who may see what is checked as on the
proposal page."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from backtests import compare
from backtests.models import BacktestRun
from governance import numbers
from governance.models import Member
from proposals.models import Proposal
from tests.proposals.factories import make_market, make_proposal, make_user
from tests.review.test_pages import client_for
from tests.review.test_proposal_page import LOOSER, TIGHTER, finished
from tests.review.test_proposal_page import market as _market

market = _market
MIDDLE = {"liquidation_threshold": "0.80", "ltv": "0.78"}


@pytest.fixture
def author(db):
    return make_user("carol", Member.Role.CONTRIBUTOR)


@pytest.fixture
def runs(market, author, django_capture_on_commit_callbacks) -> list[BacktestRun]:
    return [
        finished(market, author, django_capture_on_commit_callbacks, c) for c in (TIGHTER, LOOSER, MIDDLE)
    ]


def url(*ids: int) -> str:
    return reverse("review:compare") + "?" + "&".join(f"ids={i}" for i in ids)


def test_three_proposals_side_by_side_with_their_own_stored_differences(runs, author):
    ids = [r.proposal_id for r in runs]
    response = client_for(author).get(url(*ids))
    assert response.status_code == 200
    html = response.content.decode()
    rows = response.context["rows"]
    assert [e.proposal.pk for e in response.context["entries"]] == ids
    # One column per proposal; each cell is that run's stored paired difference.
    for row in rows:
        for fig in row["figures"]:
            for run, cell in zip(runs, fig["cells"], strict=True):
                stored = run.comparisons.get(scenario_index=row["index"]).paired[fig["figure"].key]
                assert cell.diff == stored["diff"]
            # The one baseline: every run's live figure is the same number.
            lives = {
                run.comparisons.get(scenario_index=row["index"]).paired[fig["figure"].key]["a"]
                for run in runs
            }
            assert lives == {fig["live"]}
    assert html.count('data-proposal="') >= 2 * len(ids)
    keys = [c["key"] for c in response.context["charts"]]
    assert keys == ["paired", "cdf-0", "tornado-0", "vol-0", "cdf-1", "tornado-1", "vol-1"]
    paired = response.context["charts"][0]
    assert {t["name"] for t in paired["figure"]["data"]} == {e.label for e in response.context["entries"]}
    assert response.context["baseline_note"] == ""


def test_each_compare_charts_csv_is_its_table(runs, author):
    client = client_for(author)
    ids = [r.proposal_id for r in runs]
    charts = client.get(url(*ids)).context["charts"]
    for chart in charts:
        response = client.get(chart["csv_url"])
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0] == [c["label"] for c in chart["columns"]]
        assert rows[1:] == [[v if isinstance(v, str) else numbers.exact(v) for v in r] for r in chart["rows"]]
    cdf = next(c for c in charts if c["key"] == "cdf-1")
    # Live once, then each proposal's own distribution.
    stored = runs[1].comparisons.get(scenario_index=1).series["bad_debt_quantiles"]
    assert cdf["rows"][-1][1] == stored["live"][-1] and cdf["rows"][-1][3] == stored["proposed"][-1]
    assert compare.MAX_PROPOSALS == 4


def test_the_proposal_page_links_to_the_comparison_with_the_other_open_proposals(runs, author):
    html = client_for(author).get(reverse("review:detail", args=[runs[0].proposal_id])).content.decode()
    others = "&amp;".join(f"ids={r.proposal_id}" for r in sorted(runs[1:], key=lambda r: -r.proposal_id))
    assert f'href="{reverse("review:compare")}?ids={runs[0].proposal_id}&amp;{others}"' in html


def test_a_selection_must_be_two_to_four_proposals_of_one_market_the_member_may_see(runs, author):
    client = client_for(author)
    ids = [r.proposal_id for r in runs]
    assert client.get(url(ids[0])).status_code == 400
    assert "choose 2 to 4 proposals" in client.get(url(ids[0])).content.decode()
    assert client.get(url(ids[0], "x")).status_code == 400
    other_market = make_market("aave-v3", slug="other-market")
    elsewhere = make_proposal(other_market, author, liquidation_threshold="0.80", ltv="0.78")
    Proposal.objects.filter(pk=elsewhere.pk).update(status="voting")
    response = client.get(url(ids[0], elsewhere.pk))
    assert response.status_code == 400 and "different markets" in response.content.decode()
    # Someone else's draft is not there at all, as on the proposal page.
    Proposal.objects.filter(pk=ids[2]).update(status="draft")
    voter = client_for(make_user("olga", Member.Role.VOTER))
    assert voter.get(url(ids[0], ids[2])).status_code == 404
    assert (
        voter.get(reverse("review:compare_csv", args=["paired"]) + f"?ids={ids[0]}&ids={ids[2]}").status_code
        == 404
    )
    assert voter.get(url(ids[0], ids[1])).status_code == 200
    # Signed out: the sign-in page.
    assert Client().get(url(ids[0], ids[1])).status_code == 302
