"""The perp's per-path extras (funding paid, the backstop vault) through a run: columns after
RESULT_FIELDS in the chunks and stored per-path results, in the summaries and paired
differences, shown in the verdict table and replayed bit for bit."""

import pytest
from django.test import Client
from django.urls import reverse

from backtests import compute, inputs, replay
from backtests.models import BacktestRun, RunStatus
from engine import perp
from engine.results import RESULT_FIELDS
from governance.models import Member
from review.services import submit_proposal
from scenarios import services as scenario_services
from tests.backtests.conftest import make_pack, scenario_spec, set_baseline
from tests.backtests.test_services import drive
from tests.proposals.factories import make_market, make_proposal, make_user


@pytest.mark.django_db
def test_a_perp_run_stores_and_shows_funding_paid_and_the_backstop_vaults_pnl(
    settings, django_capture_on_commit_callbacks
):
    author = make_user("carol", Member.Role.CONTRIBUTOR)
    market = make_market("perp")
    generator = {"price": 2000.0, "mmf": 0.02, "total_notional_usd": 5e7}
    scenario_services.generate_book(market=market, n=300, seed=3, generator=generator)
    make_pack(market, [scenario_spec("storm", 2.5, 24, lam=40.0)])
    set_baseline(market, n_paths=6, chunk_paths=3)
    settings.BACKTEST_N_BOOT = 10
    # Proposed: no backstop (the live version, as seeded, takes over below 2/3 of maintenance).
    proposal = make_proposal(market, author, backstop_fraction="0")
    with django_capture_on_commit_callbacks(execute=False):
        submit_proposal(proposal=proposal, actor=author)
    run = drive(BacktestRun.objects.get(proposal=proposal), django_capture_on_commit_callbacks)
    assert run.status == RunStatus.COMPLETE, run.error
    fields = list(RESULT_FIELDS) + list(perp.EXTRA_FIELDS)
    assert run.manifest["fields"] == fields
    stored = compute.unpack(run.results.get(role="live").per_path)["per_path"]
    assert stored.shape == (6, len(fields))
    takeovers = stored[:, fields.index("backstop_takeovers")]
    paired = run.comparisons.get().paired
    assert paired["mean_backstop_takeovers"]["a"] == pytest.approx(takeovers.mean())
    assert paired["mean_backstop_takeovers"]["b"] == 0.0  # the proposed version has none
    assert "funding_paid_longs_cvar99" in paired
    assert replay.replay_backtest(run=run) == []
    client = Client()
    client.force_login(author)
    page = client.get(reverse("review:detail", args=[proposal.pk])).content.decode()
    assert "Funding paid by longs" in page and "Backstop vault P&amp;L" in page


def test_runs_of_mechanisms_without_extras_record_none() -> None:
    assert inputs.extra_fields("aave-v3") == ()
    assert inputs.extra_fields("perp") == tuple(perp.EXTRA_FIELDS)
