"""A Comet market backtested on all its collateral at once (margin-engine.md 2.8): its book holds
a column per asset, its scenarios a price path per asset on correlated paths, its runs the engine's
compound-v3-accounts; a pack or a book of one asset is refused by name; the page shows each
asset's price."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

from backtests import compute, services
from backtests import inputs as run_inputs
from backtests.models import BacktestRun
from backtests.risk_charts import all_charts
from engine import comet, compound, health
from engine.errors import EngineError
from engine.market import MarketConditions
from governance.models import Member
from proposals.services import create_draft
from review.services import submit_proposal
from scenarios import services as scenario_services
from scenarios.models import StressPack
from scenarios.services import decode_book
from tests.backtests.conftest import make_pack, scenario_spec, set_baseline
from tests.backtests.test_services import drive
from tests.proposals.factories import make_market, make_user
from tests.review.test_pages import client_for

PRICES = {"WETH": 2000.0, "WBTC": 60000.0}


def two_asset_spec(name: str, sigma: float, steps: int, drop: float | None = None) -> dict:
    """A scenario of both collateral assets (ETH and BTC prices, correlated 0.8)."""
    params = {"mu": 0.0, "sigma": sigma, "correlation": 0.8}
    kind = "gbm"
    if drop is not None:
        kind, params = "shock", {**params, "drop": drop, "then_kind": "gbm"}
    return {
        "name": name,
        "kind": kind,
        "assets": ["ETHUSD", "BTCUSD"],
        "n_steps": steps,
        "start_price": {"ETHUSD": PRICES["WETH"], "BTCUSD": PRICES["WBTC"]},
        "params": params,
        "conditions": {"depth_usd": 2e7, "gas_cost_usd": 5.0},
    }


@pytest.fixture
def comet_market(db, settings):
    settings.BACKTEST_N_BOOT = 20
    market = make_market("compound-v3")
    generator = scenario_services.live_book_generator(market, price=PRICES, total_usd=5e7)
    assert generator["prices"] == [2000.0, 60000.0] and generator["thresholds"] == [0.90, 0.77]
    scenario_services.generate_book(market=market, n=400, seed=5, generator=generator)
    make_pack(market, [two_asset_spec("calm", 0.6, 24), two_asset_spec("crash", 1.5, 24, drop=0.35)])
    set_baseline(market, n_paths=12, chunk_paths=6, seed=7)
    return market


def submit(market, values: dict) -> BacktestRun:
    author = make_user("carol", Member.Role.CONTRIBUTOR)
    proposal = create_draft(
        author=author, market=market, title="WBTC factors up", rationale="They move with ETH.", values=values
    )
    submit_proposal(proposal=proposal, actor=author)
    return BacktestRun.objects.get(proposal=proposal)


def wbtc_up(market) -> dict:
    live = market.live_version.values
    wbtc = {
        **live["assets"]["WBTC"],
        "liquidate_collateral_factor": "0.80",
        "borrow_collateral_factor": "0.73",
    }
    return {**live, "assets": {**live["assets"], "WBTC": wbtc}}


def test_the_book_holds_a_column_per_collateral_asset_every_account_healthy(comet_market) -> None:
    book = scenario_services.default_book(comet_market)
    arrays = decode_book(book.data)
    assert arrays["collateral"].shape == (400, 2)
    lcf = np.array([0.90, 0.77])
    assert np.all(arrays["collateral"] @ (np.array([2000.0, 60000.0]) * lcf) >= arrays["debt"])
    assert book.summary["price"] == [2000.0, 60000.0] and book.summary["threshold"] == [0.90, 0.77]


def test_a_run_covers_both_assets_on_correlated_paths_and_equals_the_engine_run_alone(
    comet_market, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = submit(comet_market, wbtc_up(comet_market))
    run = drive(run, django_capture_on_commit_callbacks)
    m = run.manifest
    assert m["mechanism"] == "compound-v3" and m["engine_mechanism"] == "compound-v3-accounts"
    assert m["collateral_assets"] == ["WETH", "WBTC"] and m["collateral_asset"] is None
    assert m["versions"]["proposed"]["engine_params"]["3600"]["liquidate_collateral_factor"] == [0.90, 0.80]
    inputs = run_inputs.load_inputs(run, cached=False)
    assert inputs.assets == ("WETH", "WBTC")
    # The stored per-path results are the engine's over both assets' paths of each chunk.
    chunk = compute.plan_chunks(paths_per_scenario=[12, 12], chunk_paths=6)[3]
    prices, market, premium = compute.generate_chunk(inputs, run.seed, chunk)
    assert premium is None  # only a perp's runs read a scenario's premium
    assert prices.shape == (2, 6, 25)
    r = np.diff(np.log(prices), axis=-1)
    assert np.corrcoef(r[0].ravel(), r[1].ravel())[0, 1] > 0.5
    book = comet.book_from_arrays(decode_book(scenario_services.default_book(comet_market).data))
    expected = comet.simulate(inputs.scenarios[1].proposed, book, prices, market)
    stored = compute.unpack(run.results.get(scenario_index=1, role="proposed").per_path)["per_path"]
    np.testing.assert_array_equal(stored[6:12], expected)
    # Borrowing power at each asset's start price, under each version's borrow factors.
    c = run.comparisons.get(scenario_index=0)
    bp = c.paired["borrowing_power"]
    total = book.collateral.sum(axis=0)
    assert bp["a"] == pytest.approx(float(total @ (np.array([2000.0, 60000.0]) * [0.83, 0.70])))
    assert bp["b"] == pytest.approx(float(total @ (np.array([2000.0, 60000.0]) * [0.83, 0.73])))
    # Each asset's price bands, the first asset's as the fan's.
    # In the run's order on every database (a list: PostgreSQL's jsonb sorts a dict's keys).
    weth, wbtc = c.series["asset_prices"]
    assert (weth["asset"], wbtc["asset"]) == ("WETH", "WBTC")
    assert {k: weth[k] for k in ("p05", "p50", "p95")} == c.series["price"]
    assert wbtc["p50"][0] == pytest.approx(60000.0)
    # The book's health at the start is valued at both prices.
    assert run.figures["health"]["start"]["price"] == [2000.0, 60000.0]
    assert run.who_gets_hurt["price"] == [2000.0, 60000.0]


def test_the_proposal_page_shows_each_assets_price_and_its_csv(
    comet_market, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = submit(comet_market, wbtc_up(comet_market))
    run = drive(run, django_capture_on_commit_callbacks)
    keys = [c["key"] for c in all_charts(run)]
    assert "assets-0" in keys and "assets-1" in keys
    voter = make_user("vera", Member.Role.VOTER, power="10")
    client = client_for(voter)
    html = client.get(reverse("review:detail", args=[run.proposal_id])).content.decode()
    assert "$2,000, $60,000" in html  # who gets hurt: the book valued at both prices
    charts = client.get(reverse("backtests:charts", args=[run.pk])).content.decode()
    assert "the collateral assets&#x27; prices" in charts
    assert "WETH price (USD)" in charts  # the fan is the first asset's
    csv = client.get(reverse("backtests:chart_csv", args=[run.pk, "assets-1"])).content.decode()
    header = csv.splitlines()[0]
    assert "WETH median" in header and "WBTC median" in header


def test_a_pack_of_one_asset_or_a_book_of_one_column_is_refused_by_name(
    comet_market, django_capture_on_commit_callbacks
) -> None:
    StressPack.objects.filter(market=comet_market).delete()
    make_pack(comet_market, [scenario_spec("one asset", 0.6, 24)])
    with django_capture_on_commit_callbacks(execute=True):
        run = submit(comet_market, wbtc_up(comet_market))
    with django_capture_on_commit_callbacks(execute=False):
        services.dispatch_backtest(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "failed"
    assert "has prices of ETHUSDT" in run.error and "one price path per collateral asset" in run.error


def test_restricting_the_market_to_one_asset_runs_compound_v3_on_it(db, settings) -> None:
    market = make_market("compound-v3")
    market.target = {**market.target, "backtest_asset": "WETH"}
    market.save()
    generator = scenario_services.live_book_generator(market, price=PRICES, total_usd=5e7)
    assert generator == {"price": 2000.0, "threshold": 0.90, "total_debt_usd": 5e7}
    scenario_services.generate_book(market=market, n=50, seed=5, generator=generator)
    assert decode_book(scenario_services.default_book(market).data)["collateral"].ndim == 1


def test_a_two_asset_book_generator_needs_a_price_per_asset(db) -> None:
    market = make_market("compound-v3")
    with pytest.raises(ValueError, match="give a price for each"):
        scenario_services.live_book_generator(market, price=2000.0, total_usd=5e7)


def test_the_accounts_engine_with_one_asset_gives_compound_v3s_results_bit_for_bit() -> None:
    """Why a market restricted to one asset may keep engine compound-v3: the accounts engine
    with one asset is the same arithmetic (engine.comet's docstring)."""
    rng = np.random.default_rng(3)
    c = rng.uniform(1.0, 10.0, 300)
    d = c * 2000.0 * 0.9 / rng.uniform(1.02, 1.6, 300)
    S = 2000.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (20, 49)), axis=1))
    S[:, 0] = 2000.0
    one = compound.simulate(compound.Params(), compound.Book(collateral=c, debt=d), S, MarketConditions())
    acc = comet.simulate(
        comet.Params(),
        comet.Book(collateral=c[:, None], debt=d),
        np.ascontiguousarray(S[None]),
        MarketConditions(),
    )
    np.testing.assert_array_equal(one, acc)


def test_import_book_takes_a_price_and_threshold_per_asset(comet_market, tmp_path) -> None:
    f = tmp_path / "book.csv"
    f.write_text(
        "account,collateral_asset,collateral_amount,debt_amount\n"
        "a,WETH,10,5000\na,WBTC,1,20000\nb,WBTC,2,30000\n"
    )
    with pytest.raises(ValueError, match="give one price per collateral asset"):
        scenario_services.import_book(market=comet_market, path=f, price=2000.0, threshold=0.9, name="csv")
    book = scenario_services.import_book(
        market=comet_market, path=f, price=[2000.0, 60000.0], threshold=[0.9, 0.77], name="csv"
    )
    arrays = decode_book(book.data)
    np.testing.assert_array_equal(arrays["collateral"], [[10.0, 1.0], [0.0, 2.0]])
    np.testing.assert_array_equal(arrays["debt"], [25000.0, 30000.0])


def test_a_health_check_on_two_assets_sums_them(db) -> None:
    book = comet.Book(collateral=np.array([[1.0, 0.1], [0.0, 1.0]]), debt=np.array([5000.0, 50000.0]))
    params = comet.Params(
        borrow_collateral_factor=(0.8, 0.7),
        liquidate_collateral_factor=(0.9, 0.77),
        liquidation_factor=(0.95, 0.95),
    )
    h = health.health("compound-v3-accounts", params, book, np.array([2000.0, 60000.0]))
    np.testing.assert_allclose(h, [(2000 * 0.9 + 6000 * 0.77) / 5000, 60000 * 0.77 / 50000])
    with pytest.raises(EngineError, match="float64\\[A\\]"):
        health.health("compound-v3-accounts", params, book, 2000.0)
