"""The cost of governance delay (margin-engine.md section 4): the third version of a run,
proposed after the vote and timelock, in the chunk, the merge, the manifest, the replay and
the page."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import timedelta

import numpy as np
import pytest
from django.urls import reverse

from backtests import compute, delay, inputs, panels, replay
from backtests.models import ScenarioResult
from engine import aave
from engine._common import RESULT_FIELDS
from governance import numbers
from governance.models import GovernancePolicy, Member
from tests.backtests.conftest import make_book, make_pack, scenario_spec
from tests.backtests.test_compute import chunked_results, make_inputs
from tests.backtests.test_services import drive, login, submitted
from tests.proposals.factories import make_market, make_proposal, make_user

BAD = RESULT_FIELDS.index("bad_debt")


def with_delay(base: compute.RunInputs, steps: int) -> compute.RunInputs:
    scenarios = tuple(dataclasses.replace(s, delay_steps=steps) for s in base.scenarios)
    return dataclasses.replace(base, scenarios=scenarios)


# -- compute, no database -------------------------------------------------------------------


def test_the_delayed_version_merged_from_chunks_equals_a_single_process_run_bit_for_bit():
    run = with_delay(make_inputs(23), 20)
    chunked = chunked_results(run, seed=11, chunk_paths=5)
    single = compute.run_in_process(run, seed=11, chunk_paths=5)
    for a, b in zip(chunked, single, strict=True):
        assert a.delayed.shape == (23, len(RESULT_FIELDS))
        assert a.delayed.tobytes() == b.delayed.tobytes()
        assert a.delayed_summary == b.delayed_summary and a.delay == b.delay


def test_the_delayed_version_is_live_until_the_delay_and_proposed_from_there_on_the_same_paths():
    run = with_delay(make_inputs(12), 20)
    storm = run.scenarios[1]
    chunks = [
        b for b in compute.plan_chunks(paths_per_scenario=[12, 12], chunk_paths=5) if b.scenario_index == 1
    ]
    prices = np.concatenate([compute.generate_chunk(run, 3, b)[0] for b in chunks])
    conditions = compute.generate_chunk(run, 3, chunks[0])[1]
    want = aave.simulate(storm.live, run.book, prices, conditions, switch=(20, storm.proposed))
    got = compute.run_in_process(run, seed=3, chunk_paths=5)[1]
    assert got.delayed.tobytes() == want.tobytes()
    assert got.delayed.tobytes() != got.live.tobytes() and got.delayed.tobytes() != got.proposed.tobytes()
    d = got.delay
    assert (d["steps"], d["hours"], d["horizon_steps"], d["beyond_horizon"]) == (20, 20.0, 48, False)
    mean = d["paired"]["mean_bad_debt"]
    assert mean["a"] == got.proposed_summary["mean_bad_debt"]
    assert mean["b"] == got.delayed_summary["mean_bad_debt"]
    assert mean["diff"] == pytest.approx(got.delayed[:, BAD].mean() - got.proposed[:, BAD].mean())
    assert mean["ci_low"] <= mean["diff"] <= mean["ci_high"]


def test_adding_the_delayed_version_leaves_live_proposed_and_their_comparison_unchanged_bit_for_bit():
    base = make_inputs(12)
    old = compute.run_in_process(base, seed=3, chunk_paths=5)
    new = compute.run_in_process(with_delay(base, 20), seed=3, chunk_paths=5)
    for a, b in zip(old, new, strict=True):
        assert a.delayed is None and a.delay is None
        assert a.live.tobytes() == b.live.tobytes() and a.proposed.tobytes() == b.proposed.tobytes()
        assert a.paired == b.paired and a.series == b.series
        assert a.live_summary == b.live_summary


def test_a_delay_at_or_beyond_the_horizon_gives_the_live_figures_and_says_so():
    run = with_delay(make_inputs(8), 48)
    got = compute.run_in_process(run, seed=3, chunk_paths=5)[1]
    assert got.delayed.tobytes() == got.live.tobytes()
    assert got.delay["beyond_horizon"] is True
    # the engine agrees: a switch at T never takes effect
    engine_run = with_delay(make_inputs(8), 47)
    assert compute.run_in_process(engine_run, seed=3, chunk_paths=5)[1].delay["beyond_horizon"] is False


def test_chunks_stored_without_the_delayed_version_merge_without_it():
    run = with_delay(make_inputs(10), 20)
    chunks = [
        compute.compute_chunk(run, 3, b)
        for b in compute.plan_chunks(paths_per_scenario=[10, 10], chunk_paths=5)
    ]
    old = [{k: v for k, v in c.items() if k != compute.DELAYED} for c in chunks[:2]]
    merged = compute.merge_scenario(run, 3, 0, old)
    assert merged.delayed is None and merged.delay is None


def test_the_delay_in_steps_is_rounded_up_to_whole_steps_of_the_scenario():
    assert inputs.delay_steps(5 * 86400, 3600) == 120
    assert inputs.delay_steps(5 * 86400 + 1, 3600) == 121
    assert inputs.delay_steps(5 * 86400, 86400) == 5
    assert inputs.delay_steps(90 * 60, 3600) == 2
    assert inputs.delay_steps(0, 3600) == 0


# -- the sentence ---------------------------------------------------------------------------


def _scenario(index: int, name: str, diff: float, lo: float, hi: float, *, beyond: bool = False):
    paired = {
        "mean_bad_debt": {"a": 1e6, "b": 1e6 + diff, "diff": diff, "ci_low": lo, "ci_high": hi},
        "bad_debt_cvar99": {
            "a": 5e6,
            "b": 5e6 + 2 * diff,
            "diff": 2 * diff,
            "ci_low": 2 * lo,
            "ci_high": 2 * hi,
        },
    }
    d = {
        "steps": 120,
        "hours": 120.0,
        "horizon_steps": 100 if beyond else 720,
        "beyond_horizon": beyond,
        "paired": paired,
    }
    return delay.DelayScenario(index=index, name=f"m: {name}", n_paths=1000, delay=d)


GOV = {"source": "the market's policy", "seconds": 5 * 86400}


def test_the_sentence_names_the_scenario_where_the_delay_costs_most_with_its_interval():
    found = delay.build_cost_of_delay(
        [_scenario(0, "calm", 1e4, -5e3, 2e4), _scenario(1, "crash", 4.2e5, 1.2e5, 7.5e5)], GOV
    )
    assert found.available and found.delay_text == "5 days"
    assert found.sentence == (
        "If this proposal takes effect after the vote and timelock (5 days) instead of now, expected bad "
        "debt in the worst scenario (crash) rises by $420.0K (95 % interval [+$120.0K, +$750.0K])."
    )
    assert [c.effect for c in found.rows[1].cells] == ["worse", "worse"]


def test_the_sentence_says_when_no_change_is_significant_and_when_the_delay_outlasts_every_scenario():
    calm = delay.build_cost_of_delay([_scenario(0, "calm", 1e4, -5e3, 2e4)], GOV)
    assert (
        "changes significantly in no scenario: the largest change, in calm, is +$10.0K (95 % interval [−$5.0K, +$20.0K])"
        in calm.sentence
    )
    long = delay.build_cost_of_delay([_scenario(0, "calm", 1e4, -5e3, 2e4, beyond=True)], GOV)
    assert long.sentence.startswith(
        "The vote and timelock (5 days) outlast every scenario (the longest lasts"
    )


def test_a_run_without_the_delayed_version_is_not_available_and_says_why():
    found = delay.build_cost_of_delay([dataclasses.replace(_scenario(0, "calm", 1, 0, 2), delay={})], None)
    assert not found.available and "made before backtests ran the proposal after the vote" in found.reason


# -- services, pages and downloads, against the database ------------------------------------


@pytest.fixture
def market(db):
    market = make_market("aave-v3")
    make_book(market, n=500)
    make_pack(market, [scenario_spec("calm", 0.6, 24), scenario_spec("storm", 2.5, 24, lam=40.0)])
    return market


@pytest.fixture
def author(db):
    return make_user("carol", Member.Role.CONTRIBUTOR)


@pytest.fixture
def voter(db):
    return make_user("vera", Member.Role.VOTER, power="10")


def short_policy(market) -> None:
    """A 10-hour delay: 2 h before the vote, 6 h of voting, 2 h of timelock (10 of 24 steps)."""
    GovernancePolicy.objects.filter(market=market).update(
        voting_delay=timedelta(hours=2), voting_period=timedelta(hours=6), timelock=timedelta(hours=2)
    )


@pytest.fixture
def delayed_run(market, author, settings, django_capture_on_commit_callbacks):
    short_policy(market)
    run = submitted(market, author, settings, django_capture_on_commit_callbacks)
    return drive(run, django_capture_on_commit_callbacks)


def test_the_manifest_records_the_delay_its_source_and_its_steps_per_scenario(delayed_run):
    m = delayed_run.manifest
    assert m["governance_delay"] == {
        "source": "the market's policy",
        "voting_delay_seconds": 7200,
        "voting_period_seconds": 21600,
        "timelock_seconds": 7200,
        "seconds": 36000,
    }
    assert [s["delay_steps"] for s in m["scenarios"]] == [10, 10]


def test_the_delay_comes_from_the_proposals_copy_then_the_market_then_the_defaults(market, author):
    proposal = make_proposal(market, author, liquidation_threshold="0.80", ltv="0.78")
    assert inputs.governance_delay(proposal)["seconds"] == 5 * 86400  # the factory's default policy
    short_policy(market)
    assert inputs.governance_delay(proposal)["seconds"] == 36000
    proposal.voting_delay, proposal.voting_period, proposal.timelock = (timedelta(days=1),) * 3
    assert inputs.governance_delay(proposal) == {
        "source": "the proposal's policy",
        "voting_delay_seconds": 86400,
        "voting_period_seconds": 86400,
        "timelock_seconds": 86400,
        "seconds": 3 * 86400,
    }
    proposal.timelock = None
    GovernancePolicy.objects.filter(market=market).delete()
    found = inputs.governance_delay(proposal)
    assert found["source"] == "the default policy (the market has none)"
    assert found["seconds"] == (1 + 3 + 1) * 86400


def test_a_complete_run_stores_three_versions_and_replays_them_bit_for_bit(delayed_run):
    roles = sorted(delayed_run.results.values_list("scenario_index", "role"))
    assert roles == [
        (0, "delayed"),
        (0, "live"),
        (0, "proposed"),
        (1, "delayed"),
        (1, "live"),
        (1, "proposed"),
    ]
    comp = delayed_run.comparisons.get(scenario_index=1)
    assert comp.delay["steps"] == 10 and comp.delay["hours"] == 10.0 and not comp.delay["beyond_horizon"]
    assert replay.replay_backtest(run=delayed_run) == []
    comp.delay["paired"]["bad_debt_cvar99"]["diff"] += 1.0
    comp.save()
    found = replay.replay_backtest(run=delayed_run)
    assert [d.figure for d in found] == ["cost of delay paired.bad_debt_cvar99.diff"]


def test_replay_names_a_changed_figure_of_the_delayed_version(delayed_run):
    row = delayed_run.results.get(scenario_index=1, role="delayed")
    data = compute.unpack(row.per_path)
    data["per_path"][0, BAD] += 1.0
    row.per_path = compute.pack(data)
    row.save()
    found = replay.replay_backtest(run=delayed_run)
    assert [d.figure for d in found] == ["delayed per-path bad_debt"]


def _page(client, user, run) -> str:
    login(client, user)
    return client.get(reverse("review:detail", args=[run.proposal_id])).content.decode()


def test_the_page_shows_the_cost_of_delay_with_the_stored_figures(client, voter, delayed_run):
    html = _page(client, voter, delayed_run)
    assert 'id="cost-of-delay"' in html and "Cost of governance delay" in html
    assert "If this proposal takes effect after the vote and timelock (10 hours) instead of now" in html
    found = panels.cost_of_delay(delayed_run)
    assert found.sentence in html.replace("&#x27;", "'")
    table = html[html.index('<table class="delay-table') :]
    for index in (0, 1):
        paired = delayed_run.comparisons.get(scenario_index=index).delay["paired"]
        for key in ("mean_bad_debt", "bad_debt_cvar99"):
            p = paired[key]
            for suffix, value in (("from-start", p["a"]), ("after-delay", p["b"]), ("difference", p["diff"])):
                cell = re.search(
                    rf'<tr data-scenario="{index}".*?data-key="{key}-{suffix}">(.*?)</td>', table, re.S
                )
                assert f'data-exact="{numbers.exact(value)}"' in cell.group(1)
                assert numbers.usd(value, signed=suffix == "difference") in cell.group(1)
    assert reverse("backtests:delay_csv", args=[delayed_run.pk]) in html


def test_the_cost_of_delay_csv_has_the_exact_stored_figures(client, voter, delayed_run):
    login(client, voter)
    response = client.get(reverse("backtests:delay_csv", args=[delayed_run.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    stored = delayed_run.comparisons.get(scenario_index=1).delay
    row = next(r for r in rows if r["scenario_index"] == "1" and r["figure"] == "mean_bad_debt")
    p = stored["paired"]["mean_bad_debt"]
    assert (row["delay_steps"], row["beyond_horizon"]) == ("10", "False")
    assert [float(row[k]) for k in ("from_start", "after_delay", "difference", "ci_low", "ci_high")] == [
        p["a"],
        p["b"],
        p["diff"],
        p["ci_low"],
        p["ci_high"],
    ]


def test_a_delay_longer_than_the_scenarios_is_said_instead_of_a_difference_read_as_a_cost(
    client, voter, market, author, settings, django_capture_on_commit_callbacks
):
    run = drive(
        submitted(market, author, settings, django_capture_on_commit_callbacks),
        django_capture_on_commit_callbacks,
    )
    html = _page(client, voter, run)  # the factory's policy: 5 days, scenarios of 24 hours
    assert "The vote and timelock (5 days) outlast every scenario (the longest lasts 1 day)" in html
    assert html.count("longer than the scenario (1 day): after delay = live") == 2
    for comp in run.comparisons.all():
        live = ScenarioResult.objects.get(run=run, scenario_index=comp.scenario_index, role="live")
        delayed = ScenarioResult.objects.get(run=run, scenario_index=comp.scenario_index, role="delayed")
        assert (
            compute.unpack(delayed.per_path)["per_path"].tobytes()
            == compute.unpack(live.per_path)["per_path"].tobytes()
        )


def test_an_old_run_without_the_delayed_version_still_renders_and_says_why(client, voter, delayed_run):
    delayed_run.results.filter(role="delayed").delete()
    delayed_run.comparisons.update(delay={})
    delayed_run.manifest.pop("governance_delay")
    for s in delayed_run.manifest["scenarios"]:
        s.pop("delay_steps")
    delayed_run.save()
    html = _page(client, voter, delayed_run)
    assert "The cost of governance delay is not available for this run." in html
    assert "It was made before backtests ran the proposal after the vote and timelock" in html
    assert 'id="verdict-table"' in html and 'id="delay-table"' not in html
    assert replay.replay_backtest(run=delayed_run) == []


def test_a_delay_that_changes_nothing_is_said_so_without_naming_a_scenario():
    one_step = [_scenario(i, name, 0.0, 0.0, 0.0) for i, name in enumerate(("calm", "crash"))]
    one_step = [
        delay.DelayScenario(
            index=s.index, name=s.name, n_paths=s.n_paths, delay={**s.delay, "steps": 1, "hours": 1.0}
        )
        for s in one_step
    ]
    found = delay.build_cost_of_delay(one_step, {"source": "the market's policy", "seconds": 330})
    assert found.sentence == (
        "If this proposal takes effect after the vote and timelock (5.5 minutes) instead of now, expected "
        "bad debt is the same in every scenario: the delay (as modelled, one step of the "
        "scenarios: 1 hour) is too short for the live and proposed versions to liquidate differently "
        "before the proposal takes effect."
    )
    longer = delay.build_cost_of_delay([_scenario(0, "calm", 0.0, 0.0, 0.0)], GOV)
    assert "is the same in every scenario: the delay is too short" in longer.sentence
    assert "calm" not in longer.sentence
