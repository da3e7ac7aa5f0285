"""Windows of stored prices, stress packs, scenario previews, books and who may see them."""

from __future__ import annotations

import base64
import json
import re
from importlib import import_module

import numpy as np
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from engine import prices as ep
from engine.books import synthetic_book
from engine.scenarios import max_drawdown
from proposals.models import Market
from scenarios import charts, services
from scenarios.models import Book, PriceSeries, Scenario, StressPack

pytestmark = pytest.mark.django_db


@pytest.fixture
def eth(prices_dir) -> PriceSeries:
    return services.import_price_file(
        path=prices_dir / "ETHUSDT_1h_binance_spot.csv", symbol="ETHUSDT"
    ).series


@pytest.fixture
def market() -> Market:
    return Market.objects.create(slug="aave-v3-weth", name="Aave v3 WETH", mechanism="aave-v3")


@pytest.fixture
def pack(eth, market) -> StressPack:
    call_command("create_stress_pack", market.slug, "--series", "ETHUSDT-1h", "--depth-usd", "40000000")
    return StressPack.objects.get(market=market)


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_user("ops", password="pw-123456", is_staff=True)
    client.force_login(user)
    return client


def _charts(response) -> list[dict]:
    m = re.search(
        r'<script id="charts-data" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    assert m, "the page must embed its figures"
    return json.loads(m.group(1))


def _values(v) -> np.ndarray:
    """A trace's x or y: a list, or plotly's typed array ``{"dtype", "bdata"}`` (base64)."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v)


# --- windows ---------------------------------------------------------------------------------


def test_a_week_window_reads_only_the_blocks_it_overlaps(eth, monkeypatch) -> None:
    decoded = []
    real = ep.decode_block

    def counting(blob):
        out = real(blob)
        decoded.append((int(out[0][0]), int(out[0][-1])))
        return out

    monkeypatch.setattr(ep, "decode_block", counting)
    data = services.load_window(eth, "2020-03-09T00:00:00Z", "2020-03-15T23:00:00Z")
    assert len(decoded) == 1  # March 2020 only, out of 97 monthly blocks
    assert len(data) == 7 * 24 and services.iso(data.timestamps[0]) == "2020-03-09T00:00:00Z"
    decoded.clear()
    across = services.load_window(eth, "2020-03-29T00:00:00Z", "2020-04-04T23:00:00Z")
    assert len(decoded) == 2 and len(across) == 7 * 24


def test_a_window_equals_the_same_rows_of_the_file(eth, prices_dir) -> None:
    parsed = ep.parse_prices((prices_dir / "ETHUSDT_1h_binance_spot.csv").read_text())
    lo, hi = 1_583_971_200, 1_584_144_000  # 2020-03-12 00:00 .. 2020-03-14 00:00
    keep = (parsed.timestamps >= lo) & (parsed.timestamps <= hi)
    hist = services.load_history(eth, lo, hi)
    assert np.array_equal(hist.timestamps, parsed.timestamps[keep])
    assert np.array_equal(hist.close, parsed.close[keep]) and hist.symbol == "ETHUSDT"
    assert services.window_sha256(eth) == eth.sha256
    assert services.window_sha256(eth, lo, hi) != eth.sha256


def test_an_empty_window_is_an_error_naming_the_covered_range(eth) -> None:
    with pytest.raises(
        ValueError, match="no bars in .* it covers 2018-01-01T00:00:00Z .. 2026-01-19T14:00:00Z"
    ):
        services.load_history(eth, "2010-01-01", "2010-02-01")


# --- stress packs ----------------------------------------------------------------------------


def test_the_standard_pack_has_the_engine_scenarios_in_order_with_their_own_seeds(pack, market, eth) -> None:
    scenarios = services.pack_for_market(market)
    kinds = [s.spec["kind"] for s in scenarios]
    assert len(scenarios) >= 6
    assert {"replay", "bootstrap", "garch", "merton"} <= set(kinds)
    assert kinds[0] == "replay" and scenarios[0].name.startswith("aave-v3-weth: Black Thursday")
    assert [s.seed for s in scenarios] == list(range(20200312, 20200312 + len(scenarios)))
    assert all(list(s.series.all()) == [eth] for s in scenarios)
    assert pack.is_default and services.default_pack(market) == pack
    assert scenarios[3].spec["conditions"]["depth_usd"] == 40_000_000.0


def test_the_black_thursday_replay_is_the_stored_bars_four_steps_each(pack, market, eth) -> None:
    replay = services.pack_for_market(market)[0]
    paths = services.generate_paths(replay, n_paths=50)
    window = services.load_window(eth, replay.spec["window"]["start"], replay.spec["window"]["end"])
    assert paths.prices.shape == (1, 4 * len(window))
    assert (paths.interval_seconds, paths.steps_per_bar) == (900, 4)
    assert np.array_equal(paths.prices[0, 3::4], window.close)  # each bar ends at its close
    assert np.array_equal(paths.prices[0, 0::4], window.open)
    assert paths.prices[0].min() == window.low.min() == 86.0  # the intrabar low is reached
    assert paths.prices[0].max() == window.high.max()


def test_each_replays_description_states_the_fall_the_replay_reaches(pack, market) -> None:
    replays = [s for s in services.pack_for_market(market) if s.spec["kind"] == "replay"]
    assert len(replays) == 3
    for sc in replays:
        found = re.search(
            r"ETHUSDT falls (\d+\.\d) % from its running peak in this replay \((\d+\.\d) % on closes alone\)",
            sc.description,
        )
        assert found, sc.description
        assert sc.spec["description"] == sc.description
        path = services.generate_paths(sc, n_paths=1).prices[0]
        assert float(found[1]) == round(100 * max_drawdown(path), 1), sc.name
        assert float(found[2]) == round(100 * max_drawdown(path[3::4]), 1), sc.name
    assert (
        "falls 57.7 % from its running peak in this replay (52.2 % on closes alone)" in replays[0].description
    )


def test_a_replay_comes_from_finer_data_where_the_window_has_it(eth, market) -> None:
    """A 15-minute series covering Black Thursday (here the hourly bars cut in four flat
    quarters, a stand-in for real finer data) is what that replay reads; the other replays,
    whose windows it does not cover, read the hourly bars."""
    hourly = services.load_window(eth, "2020-03-10T00:00:00Z", "2020-03-15T00:00:00Z")
    ts = (hourly.timestamps[:, None] + 900 * np.arange(4)).ravel()
    price = np.repeat(hourly.close, 4)
    fine = ep.PriceData(ts, price, price, price, price, np.ones(ts.size), interval_seconds=900)
    services.store_prices(symbol="ETHUSDT", data=fine, source=PriceSeries.Source.FILE)
    call_command("create_stress_pack", market.slug, "--series", "ETHUSDT-1h", "--depth-usd", "40000000")
    bt, luna = services.pack_for_market(market)[:2]
    assert [s.name for s in bt.series.all()] == ["ETHUSDT-15m"]
    assert [s.name for s in luna.series.all()] == ["ETHUSDT-1h"]
    paths = services.generate_paths(bt, n_paths=1)
    # 03-11 00:00 .. 03-14 00:00 (bar opens, both included): 4 * 72 + 1 quarter-hour bars.
    assert paths.interval_seconds == 225 and paths.n_steps == 4 * (4 * 72 + 1) - 1
    assert services.scenario_manifest(bt)["prices"]["ETHUSDT"]["series"] == "ETHUSDT-15m"


def test_stored_oracle_step_counts_become_times_of_their_bars(eth) -> None:
    """The data migration of 0004: a spec written when the oracle counted steps of its data."""
    migration = import_module("scenarios.migrations.0004_oracle_times_in_seconds")
    spec = services.normalize_spec(
        {
            "kind": "replay",
            "assets": ["ETHUSDT"],
            "window": {"start": "2020-03-11T00:00:00Z", "end": "2020-03-12T00:00:00Z"},
        }
    )
    old = {
        **spec,
        "conditions": {**spec["conditions"], "oracle": {"latency": 1, "deviation": 0.005, "heartbeat": 24}},
    }
    sc = Scenario.objects.create(name="old", seed=1, spec=old)
    sc.series.set([eth])
    daily = Scenario.objects.create(
        name="old daily", seed=2, spec={**old, "interval_seconds": 86400, "kind": "gbm"}
    )
    migration.to_seconds(apps, None)
    sc.refresh_from_db()
    daily.refresh_from_db()
    assert sc.spec["conditions"]["oracle"] == {
        "latency_seconds": 3600,
        "deviation": 0.005,
        "heartbeat_seconds": 86400,
    }
    assert daily.spec["conditions"]["oracle"]["heartbeat_seconds"] == 24 * 86400
    assert services.normalize_spec(sc.spec) == sc.spec
    migration.to_steps(apps, None)
    sc.refresh_from_db()
    assert sc.spec["conditions"]["oracle"] == {"latency": 1, "deviation": 0.005, "heartbeat": 24}


def test_scenario_paths_are_reproducible_from_the_seed(pack, market) -> None:
    garch = next(s for s in services.pack_for_market(market) if s.spec["kind"] == "garch")
    a = services.generate_paths(garch, n_paths=40)
    b = services.generate_paths(garch, n_paths=40)
    c = services.generate_paths(garch, n_paths=40, seed=garch.seed + 1)
    assert a.prices.shape == (40, 721)
    assert np.array_equal(a.prices, b.prices)
    assert not np.array_equal(a.prices, c.prices)


def test_the_manifest_names_the_window_and_its_hash(pack, market, eth) -> None:
    sc = services.pack_for_market(market)[0]
    m = services.scenario_manifest(sc)
    w = sc.spec["window"]
    assert m["seed"] == sc.seed and m["spec"] == sc.spec
    assert m["prices"]["ETHUSDT"] == {
        "series": "ETHUSDT-1h",
        "start": w["start"],
        "end": w["end"],
        "sha256": services.window_sha256(eth, w["start"], w["end"]),
    }


def test_rebuilding_a_pack_needs_replace_and_keeps_one_default(pack, market) -> None:
    with pytest.raises(CommandError, match="already has a pack 'Standard stress pack'; pass --replace"):
        call_command("create_stress_pack", market.slug, "--series", "ETHUSDT-1h")
    call_command("create_stress_pack", market.slug, "--series", "ETHUSDT-1h", "--replace", "--n-steps", "240")
    assert StressPack.objects.filter(market=market).count() == 1
    assert services.pack_for_market(market)[3].spec["n_steps"] == 240
    call_command("create_stress_pack", market.slug, "--series", "ETHUSDT-1h", "--name", "Second")
    assert list(StressPack.objects.filter(market=market, is_default=True).values_list("name", flat=True)) == [
        "Second"
    ]


def test_a_pack_on_a_series_that_misses_its_windows_is_refused(market, prices_dir) -> None:
    services.import_price_file(path=prices_dir / "ETHUSDT_1m_binance_spot_2024-08-05.csv", symbol="ETHUSDT")
    with pytest.raises(CommandError, match="ETHUSDT-1m covers 2024-08-05T00:00:00Z .. 2024-08-05T23:59:00Z"):
        call_command("create_stress_pack", market.slug, "--series", "ETHUSDT-1m")
    assert not Scenario.objects.exists() and not StressPack.objects.exists()


def test_an_unknown_market_or_series_is_named(eth, market) -> None:
    with pytest.raises(CommandError, match="no market 'nope'; markets: aave-v3-weth"):
        call_command("create_stress_pack", "nope", "--series", "ETHUSDT-1h")
    with pytest.raises(CommandError, match="no price series 'BTCUSDT-1h'.*stored: ETHUSDT-1h"):
        call_command("create_stress_pack", market.slug, "--series", "BTCUSDT-1h")


def test_a_bad_spec_is_rejected_naming_the_key() -> None:
    sc = Scenario(
        name="bad",
        seed=1,
        spec={"kind": "gbm", "assets": ["ETHUSDT"], "start_price": 2000, "params": {"sigma": 25}},
    )
    with pytest.raises(ValidationError, match=r"params.sigma must be in \[0, 20\]; got 25"):
        sc.full_clean()


# --- pages -----------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page(pack, client) -> None:
    sc = pack.ordered_scenarios()[0]
    for url in (
        reverse("scenarios:scenario", args=[sc.pk]),
        reverse("scenarios:pack", args=[pack.pk]),
        reverse("scenarios:library"),
        reverse("scenarios:series", args=[sc.series.get().pk]),
    ):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith(reverse("login") + "?next=")


def test_a_voter_reads_every_scenario_page_but_cannot_build_or_edit(pack, market, client) -> None:
    """Voters followed the Scenarios link to a 403; they must be able to read what each stress
    scenario is (definition, window, conditions, fan chart) without editing it."""
    client.force_login(get_user_model().objects.create_user("voter", password="pw-123456"))
    replay = next(s for s in services.pack_for_market(market) if s.spec["kind"] == "replay")
    pages = [
        reverse("scenarios:library"),
        reverse("scenarios:pack", args=[pack.pk]),
        reverse("scenarios:scenario", args=[replay.pk]),
        reverse("scenarios:series", args=[replay.series.first().pk]),
    ]
    for url in pages:
        r = client.get(url)
        assert r.status_code == 200, url
        html = r.content.decode()
        assert "/admin/" not in html and "pack/new" not in html, url
    html = client.get(reverse("scenarios:scenario", args=[replay.pk])).content.decode()
    assert replay.spec["window"]["start"] in html  # its window
    # In words: four steps a bar, the step, and the oracle's times as times.
    assert "each bar is four steps of a quarter bar" in html
    assert "15 min (4 steps a bar of 1 h)" in html
    assert "oracle 1 h late" in html and "or every 24 h" in html
    assert "liquidators act only when it pays" in html and "gas <span" in html  # its conditions
    assert 'data-testid="fan-chart"' in html
    assert client.get(reverse("scenarios:pack_new")).status_code == 403
    assert client.post(reverse("scenarios:pack_new"), {}).status_code == 403


def test_the_scenario_preview_is_a_fan_chart_of_seeded_paths(pack, market, staff) -> None:
    sc = next(s for s in services.pack_for_market(market) if s.spec["kind"] == "merton")
    r = staff.get(reverse("scenarios:scenario", args=[sc.pk]))
    assert r.status_code == 200
    html = r.content.decode()
    assert '<script src="/static/js/plotly-basic.min.js">' in html and not re.search(
        r'<script[^>]+src="(https?:)?//', html
    )
    (chart,) = _charts(r)
    traces = {t["name"]: t for t in chart["figure"]["data"]}
    assert {"5%-95%", "25%-75%", "median", "sample paths"} <= set(traces)
    paths = services.generate_paths(sc, n_paths=200).prices
    assert np.allclose(_values(traces["median"]["y"]), np.median(paths, axis=0))
    assert np.allclose(_values(traces["5%-95%"]["y"]), np.quantile(paths, 0.05, axis=0))
    assert sum(t["name"] == "sample paths" for t in chart["figure"]["data"]) == 5


def test_a_replays_fan_chart_is_dated_every_quarter_bar(pack, market, staff) -> None:
    replay = services.pack_for_market(market)[0]
    (chart,) = _charts(staff.get(reverse("scenarios:scenario", args=[replay.pk])))
    (trace,) = chart["figure"]["data"]
    x = [str(t) for t in _values(trace["x"])]
    assert len(x) == 4 * 73
    assert x[0].startswith("2020-03-11T00:15:00") and x[1].startswith("2020-03-11T00:30:00")
    assert x[-1].startswith("2020-03-14T01:00:00")  # the close of the last bar, 03-14 00:00
    assert min(_values(trace["y"])) == 86.0


def test_the_pack_preview_shows_every_scenario(pack, staff) -> None:
    r = staff.get(reverse("scenarios:pack", args=[pack.pk]))
    assert r.status_code == 200
    assert r.content.decode().count('data-testid="pack-scenario"') == pack.entries.count()
    assert len(_charts(r)) == pack.entries.count()


def test_the_series_page_shows_range_rows_and_gaps(eth, staff) -> None:
    r = staff.get(reverse("scenarios:series", args=[eth.pk]))
    html = r.content.decode()
    assert "70,448" in html and "30 gaps, 127 missing bars" in html
    assert "2018-01-01 00:00 .. 2026-01-19 14:00" in html
    assert len(_values(_charts(r)[0]["figure"]["data"][0]["x"])) <= charts.MAX_POINTS + 30


def test_staff_build_a_pack_from_the_web_form(eth, market, staff) -> None:
    assert staff.get(reverse("scenarios:pack_new")).status_code == 200
    r = staff.post(
        reverse("scenarios:pack_new"),
        {
            "market": market.pk,
            "series": eth.pk,
            "depth_usd": "30000000",
            "n_steps": "168",
            "seed": "7",
            "name": "Web pack",
        },
    )
    pack = StressPack.objects.get(market=market, name="Web pack")
    assert r.status_code == 302 and r["Location"] == reverse("scenarios:pack", args=[pack.pk])
    scenarios = pack.ordered_scenarios()
    assert [s.seed for s in scenarios] == list(range(7, 7 + len(scenarios)))
    assert (
        scenarios[3].spec["n_steps"] == 168 and scenarios[3].spec["conditions"]["depth_usd"] == 30_000_000.0
    )
    again = staff.post(
        reverse("scenarios:pack_new"),
        {
            "market": market.pk,
            "series": eth.pk,
            "depth_usd": "1",
            "n_steps": "168",
            "seed": "7",
            "name": "Web pack",
        },
    )
    assert again.status_code == 200 and "already has a pack &#x27;Web pack&#x27;" in again.content.decode()


def test_members_who_are_not_staff_cannot_build_a_pack(eth, market, client) -> None:
    client.force_login(get_user_model().objects.create_user("voter", password="pw-123456"))
    r = client.post(
        reverse("scenarios:pack_new"),
        {"market": market.pk, "series": eth.pk, "depth_usd": "1", "n_steps": "10", "seed": "1", "name": "x"},
    )
    assert r.status_code == 403 and not StressPack.objects.exists()


def test_the_library_and_admin_pages_render_for_staff(pack, staff) -> None:
    assert staff.get(reverse("scenarios:library")).status_code == 200
    user = get_user_model().objects.get(username="ops")
    user.is_superuser = True
    user.save()
    r = staff.get(reverse("admin:scenarios_stresspack_change", args=[pack.pk]))
    assert r.status_code == 200 and "entries-TOTAL_FORMS" in r.content.decode()


# --- charts ----------------------------------------------------------------------------------


def test_fan_bands_are_the_quantiles_over_paths() -> None:
    p = np.random.default_rng(0).lognormal(size=(300, 11))
    bands = charts.fan_bands(p)
    assert np.array_equal(bands[0.5], np.quantile(p, 0.5, axis=0))
    assert np.all(bands[0.05] <= bands[0.25]) and np.all(bands[0.75] <= bands[0.95])


def test_the_price_chart_breaks_the_line_at_a_gap() -> None:
    ts = np.array([0, 3600, 7200, 36000, 39600], dtype=np.int64)
    fig = charts.price_chart(ts, np.arange(5.0) + 1, interval_seconds=3600, title="t")
    assert fig["data"][0]["y"] == [1.0, 2.0, 3.0, None, 4.0, 5.0]


# --- books -----------------------------------------------------------------------------------

BOOK = (
    "account,collateral_asset,collateral_amount,debt_amount\n"
    "0xa,WETH,10,12000\n0xb,WETH,2,3500\n0xc,WETH,1,100\n"
)


def test_a_synthetic_book_is_reproducible_from_generator_and_seed(market) -> None:
    args = [
        "generate_book",
        market.slug,
        "--positions",
        "2000",
        "--seed",
        "11",
        "--set",
        "price=2000",
        "--set",
        "threshold=0.825",
        "--set",
        "top10_share=0.25",
    ]
    call_command(*args)
    first = Book.objects.get()
    call_command(*args, "--replace")
    again = Book.objects.get()
    assert first.sha256 == again.sha256 and again.kind == "synthetic" and again.n_positions == 2000
    arrays = services.book_for_market(market)
    expect = synthetic_book(
        "aave-v3", 2000, rng=np.random.default_rng(11), price=2000, threshold=0.825, top10_share=0.25
    )
    assert set(arrays) == {"collateral", "debt"}
    assert np.array_equal(arrays["debt"], expect["debt"]) and np.array_equal(
        arrays["collateral"], expect["collateral"]
    )
    assert again.summary["top10_share"] == pytest.approx(0.25)


def test_an_imported_book_is_summarized_on_its_page(market, write, staff) -> None:
    call_command(
        "import_book", market.slug, str(write("book.csv", BOOK)), "--price", "1500", "--threshold", "0.8"
    )
    book = Book.objects.get()
    assert book.n_positions == 3 and book.is_default
    assert book.summary["total_debt_usd"] == 15600 and book.summary["total_collateral"] == 13
    assert book.summary["n_liquidatable"] == 1  # 0xa: 10 * 1500 * 0.8 = 12000 <= 12000 is not < 1; 0xb: 0.69
    r = staff.get(reverse("scenarios:book", args=[book.pk]))
    html = r.content.decode()
    assert "$15.6K" in html and "100 %" in html
    (hist,) = _charts(r)
    assert _values(hist["figure"]["data"][0]["y"]).sum() == 3


def test_a_malformed_book_names_the_line_and_writes_nothing(market, write) -> None:
    bad = BOOK + "0xd,WETH,abc,5\n"
    with pytest.raises(CommandError, match="line 5: collateral_amount must be a number; got 'abc'"):
        call_command(
            "import_book", market.slug, str(write("bad.csv", bad)), "--price", "1500", "--threshold", "0.8"
        )
    assert not Book.objects.exists()
