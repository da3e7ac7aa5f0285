"""The perp's per-path extras (funding paid, the backstop vault) through a run: computed by the
chunks, merged into the summaries and paired differences, stored beside the per-path results,
shown in the scenario tables and replayed bit for bit."""

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse

from backtests import charts, compute, replay
from backtests.inputs import _extra_fields
from backtests.models import BacktestRun, RunStatus
from engine import perp
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
    assert run.manifest["extra_fields"] == list(perp.EXTRA_FIELDS)
    stored = compute.unpack(run.results.get(role="live").per_path)
    assert stored["extras"].shape == (6, len(perp.EXTRA_FIELDS))
    assert stored["extra_fields"].tolist() == list(perp.EXTRA_FIELDS)
    takeovers = stored["extras"][:, perp.EXTRA_FIELDS.index("backstop_takeovers")]
    paired = run.comparisons.get().paired
    assert paired["mean_backstop_takeovers"]["a"] == pytest.approx(takeovers.mean())
    assert paired["mean_backstop_takeovers"]["b"] == 0.0  # the proposed version has none
    assert np.isfinite(paired["mean_funding_paid_longs"]["a"])
    rows = {r["cell"].key for r in charts.scenario_tables(run)[0]["rows"]}
    assert {"mean_funding_paid_longs", "mean_backstop_pnl", "mean_backstop_takeovers"} <= rows
    assert replay.replay_backtest(run=run) == []
    client = Client()
    client.force_login(author)
    page = client.get(reverse("backtests:panel", args=[proposal.pk])).content.decode()
    assert "Mean funding paid by longs" in page and "Mean backstop vault PnL at horizon" in page


def test_runs_of_mechanisms_without_extras_record_none() -> None:
    assert _extra_fields("aave-v3") == {} and _extra_fields("perp") == {
        "extra_fields": list(perp.EXTRA_FIELDS)
    }
