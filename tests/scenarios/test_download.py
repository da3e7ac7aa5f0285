"""Downloading Binance klines against a local stub of the public endpoint (no network)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from engine import prices as ep
from scenarios import binance, services
from scenarios.models import PriceSeries
from tests.scenarios.binance_stub import HOUR_MS, KlineStub, make_klines

pytestmark = pytest.mark.django_db

T0 = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp() * 1000)
N = 2500  # 2.5 pages of 1,000


@pytest.fixture
def stub():
    with KlineStub(make_klines(T0, N, skip=(1200, 1201))) as s:
        yield s


def _expected_sha(rows: list[list]) -> str:
    data = ep.parse_klines(rows, interval_seconds=3600)
    return ep.content_sha256(data.timestamps, tuple(getattr(data, c) for c in ep.COLUMNS)).hexdigest()


def test_download_pages_through_the_range_and_stores_every_bar(stub, capsys) -> None:
    call_command(
        "import_prices",
        "--download",
        "binance",
        "--symbol",
        "ETHUSDT",
        "--interval",
        "1h",
        "--start",
        "2020-01-01",
        "--end",
        "2020-12-31",
        "--base-url",
        stub.url,
    )
    s = PriceSeries.objects.get(symbol="ETHUSDT", interval="1h")
    assert s.row_count == N - 2 and s.source == PriceSeries.Source.BINANCE
    # The second page spans the two missing bars, so the third starts 1,002 hours after it.
    assert stub.start_times == [T0, T0 + 1000 * HOUR_MS, T0 + 2002 * HOUR_MS]
    assert {q["limit"] for q in stub.queries} == {"1000"} and {q["symbol"] for q in stub.queries} == {
        "ETHUSDT"
    }
    assert s.gaps == [[services.iso(T0 // 1000 + 1200 * 3600), services.iso(T0 // 1000 + 1201 * 3600), 2]]
    assert s.sha256 == _expected_sha(stub.klines)
    # Every bar keeps its open, high and low: what a replay steps through.
    h = services.load_history(s, services.iso(T0 // 1000), services.iso(T0 // 1000 + 9 * 3600))
    kl = np.array(stub.klines[:10], dtype=object)
    for name, col in (("open", 1), ("high", 2), ("low", 3), ("close", 4)):
        assert np.array_equal(getattr(h, name), kl[:, col].astype(np.float64)), name
    assert np.any(h.high > np.maximum(h.open, h.close)) or np.any(h.low < np.minimum(h.open, h.close))
    err = capsys.readouterr().err
    assert "ETHUSDT 1h [" in err and "2,498 bars" in err and "100%" in err


def test_a_second_run_resumes_after_the_last_stored_bar(stub) -> None:
    common = [
        "--download",
        "binance",
        "--symbol",
        "ETHUSDT",
        "--interval",
        "1h",
        "--start",
        "2020-01-01",
        "--base-url",
        stub.url,
    ]
    mid = services.iso(T0 // 1000 + 1499 * 3600)
    call_command("import_prices", *common, "--end", mid)
    assert PriceSeries.objects.get().row_count == 1498  # bars 0..1499 less the two missing
    stub.queries.clear()
    call_command("import_prices", *common, "--end", "2020-12-31")
    # A full page of 1,000 may not be the last: one more (empty) request confirms the end.
    assert stub.start_times == [T0 + 1500 * HOUR_MS, T0 + 2500 * HOUR_MS]
    s = PriceSeries.objects.get()
    assert s.row_count == N - 2 and s.sha256 == _expected_sha(stub.klines)
    whole = services.load_window(s)
    assert np.all(np.diff(whole.timestamps) > 0)


def test_an_interrupted_download_keeps_what_it_fetched_and_resumes(stub, monkeypatch) -> None:
    monkeypatch.setattr(binance, "RETRIES", 0)
    stub.fail_from = 3  # the third page fails
    args = [
        "import_prices",
        "--download",
        "binance",
        "--symbol",
        "ETHUSDT",
        "--interval",
        "1h",
        "--start",
        "2020-01-01",
        "--end",
        "2020-12-31",
        "--base-url",
        stub.url,
    ]
    with pytest.raises(CommandError, match="HTTP 500"):
        call_command(*args)
    assert PriceSeries.objects.get().row_count == 2000  # the two full pages fetched before the failure
    stub.fail_from = None
    stub.queries.clear()
    call_command(*args)
    assert stub.start_times == [T0 + 2002 * HOUR_MS]
    assert PriceSeries.objects.get().sha256 == _expected_sha(stub.klines)


def test_the_still_open_bar_is_not_stored(stub) -> None:
    now_ms = T0 + 100 * HOUR_MS + 10_000  # inside bar 100
    res = services.download_binance(
        symbol="ETHUSDT", interval="1h", start="2020-01-01", base_url=stub.url, now_ms=now_ms
    )
    assert res.series.row_count == 100 and res.series.last_ts == T0 // 1000 + 99 * 3600


def test_a_rejected_request_fails_at_once_with_the_exchange_message(stub) -> None:
    with pytest.raises(CommandError, match="HTTP 404"):
        call_command(
            "import_prices",
            "--download",
            "binance",
            "--symbol",
            "ETHUSDT",
            "--interval",
            "1h",
            "--start",
            "2020-01-01",
            "--base-url",
            stub.url + "/nope",
        )
    assert not PriceSeries.objects.exists()


def test_the_base_url_comes_from_the_setting(settings) -> None:
    settings.BINANCE_BASE_URL = "http://127.0.0.1:9/"
    assert binance.base_url() == "http://127.0.0.1:9"


def test_appending_after_a_gap_records_it_and_keeps_the_hash_canonical() -> None:
    rows = make_klines(T0, 100)
    first = ep.parse_klines(rows[:40], interval_seconds=3600)
    later = ep.parse_klines(rows[50:], interval_seconds=3600)
    series = services.store_prices(symbol="ETHUSDT", data=first, source=PriceSeries.Source.BINANCE)
    assert services.append_prices(series=series, data=later) == 50
    series.refresh_from_db()
    assert series.gaps == [[services.iso(T0 // 1000 + 40 * 3600), services.iso(T0 // 1000 + 49 * 3600), 10]]
    assert series.row_count == 90 and series.sha256 == _expected_sha(rows[:40] + rows[50:])
    with pytest.raises(ValueError, match="must start after the last stored bar"):
        services.append_prices(series=series, data=first)


def test_an_end_date_alone_includes_that_whole_day(stub) -> None:
    res = services.download_binance(
        symbol="ETHUSDT", interval="1h", start="2020-01-01", end="2020-01-02", base_url=stub.url
    )
    assert res.series.row_count == 48 and services.iso(res.series.last_ts) == "2020-01-02T23:00:00Z"


def test_a_short_page_holding_only_the_two_sides_of_a_gap_is_accepted() -> None:
    rows = make_klines(T0, 5, skip=(1, 2, 3))
    page = ep.parse_klines(rows, interval_seconds=3600)
    assert page.timestamps.tolist() == [T0 // 1000, T0 // 1000 + 4 * 3600] and page.gaps[0][2] == 3
