"""Importing price files: the shared real files, every layout, and every malformed case."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from engine import prices as ep
from scenarios import services
from scenarios.models import PriceBlock, PriceSeries

pytestmark = pytest.mark.django_db

OHLCV = "timestamp,open,high,low,close,volume\n"


def test_shared_eth_hourly_file_imports_with_the_readme_counts_and_gaps(prices_dir, capsys) -> None:
    call_command("import_prices", str(prices_dir / "ETHUSDT_1h_binance_spot.csv"), "--symbol", "ETHUSDT")
    s = PriceSeries.objects.get(symbol="ETHUSDT", interval="1h")
    assert s.row_count == 70_448
    assert services.iso(s.first_ts) == "2018-01-01T00:00:00Z"
    assert services.iso(s.last_ts) == "2026-01-19T14:00:00Z"
    assert len(s.gaps) == 30 and s.missing_bars == 127
    assert s.gaps[1] == ["2018-02-08T01:00:00Z", "2018-02-09T09:00:00Z", 33]
    assert s.gaps[-1] == ["2023-03-24T13:00:00Z", "2023-03-24T13:00:00Z", 1]
    # The stored rows are exactly the file's rows.
    parsed = ep.parse_prices((prices_dir / "ETHUSDT_1h_binance_spot.csv").read_text())
    cols = tuple(getattr(parsed, c) for c in ep.COLUMNS)
    assert s.sha256 == ep.content_sha256(parsed.timestamps, cols).hexdigest()
    whole = services.load_window(s)
    assert np.array_equal(whole.timestamps, parsed.timestamps)
    assert np.array_equal(whole.close, parsed.close) and np.array_equal(whole.low, parsed.low)
    assert s.blocks.count() == 97  # one block per calendar month 2018-01 .. 2026-01
    assert "30 gaps (127 missing bars)" in capsys.readouterr().out


def test_shared_luna_minute_file_imports_without_gaps(prices_dir) -> None:
    call_command(
        "import_prices", str(prices_dir / "LUNAUSDT_1m_binance_spot_2022-05.csv"), "--symbol", "LUNAUSDT"
    )
    s = PriceSeries.objects.get(symbol="LUNAUSDT")
    assert (s.interval, s.interval_seconds, s.row_count, s.gaps) == ("1m", 60, 17_320, [])
    assert services.iso(s.last_ts) == "2022-05-13T00:39:00Z"
    data = services.load_window(s)
    assert (data.open[0], data.close[-1], data.low.min()) == (78.1, 0.00005, 0.00004)


def test_ust_quarter_hours_and_yahoo_days_are_detected(prices_dir) -> None:
    call_command(
        "import_prices", str(prices_dir / "USTUSDT_15m_binance_spot_2021-2022.csv"), "--symbol", "USTUSDT"
    )
    call_command(
        "import_prices", str(prices_dir / "ETH-USD_1d_yahoo.csv"), "--symbol", "ETHUSD", "--interval", "1d"
    )
    assert PriceSeries.objects.get(symbol="USTUSDT").interval == "15m"
    assert PriceSeries.objects.get(symbol="ETHUSD").row_count == 2478


def test_an_interval_other_than_the_one_asked_for_is_rejected(prices_dir) -> None:
    with pytest.raises(CommandError, match="rows are 1h apart, but 1m was expected"):
        call_command(
            "import_prices",
            str(prices_dir / "LUNAUSDT_1h_binance_spot_2021-2022.csv"),
            "--symbol",
            "LUNAUSDT",
            "--interval",
            "1m",
        )
    assert not PriceSeries.objects.exists()


def test_binance_kline_csv_without_header_is_detected(write) -> None:
    rows = [
        f"{1_700_000_000_000 + i * 60_000},{100 + i},{101 + i},{99 + i},{100.5 + i},12.5,"
        f"{1_700_000_000_000 + i * 60_000 + 59_999},1250.0,42,6.0,600.0,0"
        for i in range(5)
    ]
    path = write("k.csv", "\n".join(rows) + "\n")
    result = services.import_price_file(path=path, symbol="ETHUSDT")
    s = result.series
    assert (s.interval, s.row_count, s.source_detail) == ("1m", 5, "k.csv (binance)")
    assert s.first_ts == 1_700_000_000
    assert services.load_window(s).close.tolist() == [100.5, 101.5, 102.5, 103.5, 104.5]


def test_binance_close_time_that_disagrees_with_the_spacing_names_the_line(write) -> None:
    rows = [
        f"{1_700_000_000_000 + i * 60_000},1,1,1,1,1,{1_700_000_000_000 + i * 60_000 + (59_999 if i != 2 else 29_999)},"
        "1,1,1,1,0"
        for i in range(4)
    ]
    with pytest.raises(
        ep.PriceFileError, match=r"^line 3: close time gives a 30 s bar, but the rows are 60 s apart"
    ):
        services.import_price_file(path=write("k.csv", "\n".join(rows)), symbol="X")
    assert not PriceSeries.objects.exists()


def test_epoch_milliseconds_in_the_generic_layout_are_detected(write) -> None:
    text = OHLCV + "".join(f"{1_600_000_000_000 + i * 3_600_000},10,11,9,10.5,1\n" for i in range(3))
    data = ep.parse_prices(text)
    assert data.format == "ohlcv" and data.interval == "1h"
    assert data.timestamps.tolist() == [1_600_000_000 + i * 3600 for i in range(3)]


def test_epoch_seconds_in_the_generic_layout_are_detected() -> None:
    text = OHLCV + "".join(f"{1_600_000_000 + i * 86400},10,11,9,10.5,1\n" for i in range(3))
    assert ep.parse_prices(text).interval == "1d"


def test_coingecko_csv_export_is_detected_and_volume_kept(write) -> None:
    text = (
        "snapped_at,price,market_cap,total_volume\n"
        "2024-01-01 00:00:00 UTC,2281.47,274171238765.0,5731229014.0\n"
        "2024-01-02 00:00:00 UTC,2352.2,282724002291.0,\n"
        "2024-01-03 00:00:00 UTC,2355.3,283126712390.1,17398467214.9\n"
    )
    data = ep.parse_prices(text)
    assert (data.format, data.interval) == ("coingecko", "1d")
    assert data.close.tolist() == data.high.tolist() == [2281.47, 2352.2, 2355.3]
    assert data.volume.tolist() == [5731229014.0, 0.0, 17398467214.9]


def test_coingecko_json_snaps_points_to_the_hour_and_drops_the_live_point() -> None:
    t0 = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000
    pts = [[t0 + i * 3_600_000 + 7_000, 2000.0 + i] for i in range(4)] + [
        [t0 + 3 * 3_600_000 + 900_000, 2010.0]
    ]
    doc = {
        "prices": pts,
        "market_caps": [[t, 1.0] for t, _ in pts],
        "total_volumes": [[t, 5.0] for t, _ in pts],
    }
    data = ep.parse_prices(json.dumps(doc))
    assert data.format == "coingecko"
    assert data.timestamps.tolist() == [t0 // 1000 + i * 3600 for i in range(4)]
    assert data.close.tolist() == [2000.0, 2001.0, 2002.0, 2003.0]


BAD_FILES = [
    (
        "bad number",
        OHLCV + "2020-01-01T00:00:00Z,1,2,0.5,1,1\n2020-01-01T01:00:00Z,1,2x,0.5,1,1\n",
        r"^line 3: high is not a number: '2x'",
    ),
    (
        "high below low",
        OHLCV + "2020-01-01T00:00:00Z,1,2,0.5,1,1\n2020-01-01T01:00:00Z,1,0.9,1.1,1,1\n",
        r"^line 3: high 0.9 is below low 1.1",
    ),
    (
        "non-monotonic",
        OHLCV + "2020-01-01T01:00:00Z,1,2,0.5,1,1\n2020-01-01T02:00:00Z,1,2,0.5,1,1\n"
        "2020-01-01T00:00:00Z,1,2,0.5,1,1\n",
        r"^line 4: time goes backwards: 2020-01-01T00:00:00Z comes after "
        r"2020-01-01T02:00:00Z \(line 3\)",
    ),
    (
        "duplicate with different values",
        OHLCV + "2020-01-01T00:00:00Z,1,2,0.5,1,1\n2020-01-01T01:00:00Z,1,2,0.5,1,1\n"
        "2020-01-01T01:00:00Z,1,2,0.5,1.5,1\n",
        r"^line 4: duplicate timestamp 2020-01-01T01:00:00Z \(also on line 3\) "
        "with different values",
    ),
    (
        "bad timestamp",
        OHLCV + "2020-01-01T00:00:00Z,1,2,0.5,1,1\n2020-13-01T01:00:00Z,1,2,0.5,1,1\n",
        r"^line 3: timestamp '2020-13-01T01:00:00Z' is not ISO-8601",
    ),
    (
        "off the grid",
        OHLCV + "2020-01-01T00:00:00Z,1,2,0.5,1,1\n2020-01-01T01:00:00Z,1,2,0.5,1,1\n"
        "2020-01-01T02:00:00Z,1,2,0.5,1,1\n2020-01-01T02:30:00Z,1,2,0.5,1,1\n",
        r"^line 5: timestamp 2020-01-01T02:30:00Z "
        "is 1800 s after the previous row, not a whole number of 1h bars",
    ),
    (
        "negative price",
        OHLCV + "2020-01-01T00:00:00Z,1,2,0.5,1,1\n2020-01-01T01:00:00Z,-1,2,-2,1,1\n",
        r"^line 3: open must be > 0; got -1.0",
    ),
    (
        "missing field",
        OHLCV + "2020-01-01T00:00:00Z,1,2,0.5,1,1\n2020-01-01T01:00:00Z,1,2,0.5,1\n",
        r"^line 3: expected 6 comma-separated fields, found 5",
    ),
    (
        "close above high",
        OHLCV + "2020-01-01T00:00:00Z,1,2,0.5,1,1\n2020-01-01T01:00:00Z,1,2,0.5,2.5,1\n",
        r"^line 3: open 1.0 / close 2.5 lie outside \[low 0.5, high 2.0\]",
    ),
    (
        "fields that compensate across rows",
        OHLCV + "2020-01-01T00:00:00Z,1,2,0.5,1,1\n2020-01-01T01:00:00Z,1,2,0.5,1,1,7\n"
        "2020-01-01T02:00:00Z,1,2,0.5,1\n",
        r"^line 3: expected 6 comma-separated fields, found 7",
    ),
    (
        "sub-second time",
        OHLCV + "2020-01-01T00:00:00Z,1,2,0.5,1,1\n2020-01-01T01:00:00.5Z,1,2,0.5,1,1\n",
        r"^line 3: timestamp '2020-01-01T01:00:00.5Z' is not a whole second",
    ),
    ("not utc", OHLCV + "2020-01-01T00:00:00+02:00,1,2,0.5,1,1\n", r"^line 2: timestamp .* is not in UTC"),
    (
        "closes only",
        "timestamp,close\n2020-01-01T00:00:00Z,1\n2020-01-01T01:00:00Z,2\n",
        r"^line 1: header lacks column\(s\) open, high, low; expected timestamp,open,high,low,close,volume "
        r"\(replays step through each bar's open, high, low and close; for point prices",
    ),
    (
        "no low",
        "timestamp,open,high,close,volume\n2020-01-01T00:00:00Z,1,2,1,1\n",
        r"^line 1: header lacks column\(s\) low; expected",
    ),
]


@pytest.mark.parametrize("case,text,message", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_a_malformed_file_is_rejected_by_line_and_nothing_is_written(write, case, text, message) -> None:
    path = write("bad.csv", text)
    with pytest.raises(CommandError, match=message):
        call_command("import_prices", str(path), "--symbol", "ETHUSDT")
    assert not PriceSeries.objects.exists() and not PriceBlock.objects.exists()


def test_the_command_exits_non_zero_with_the_message(write, tmp_path) -> None:
    path = write("bad.csv", BAD_FILES[1][1])
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "manage.py", "import_prices", str(path), "--symbol", "ETHUSDT"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "VAR_DIR": str(tmp_path)},
    )
    assert out.returncode == 1
    assert "line 3: high 0.9 is below low 1.1" in out.stderr


def test_an_exact_duplicate_row_is_dropped_and_reported() -> None:
    text = (
        OHLCV
        + "2020-01-01T00:00:00Z,1,2,0.5,1,1\n2020-01-01T00:00:00Z,1,2,0.5,1,1\n2020-01-01T01:00:00Z,1,2,0.5,1,1\n"
    )
    data = ep.parse_prices(text)
    assert len(data) == 2 and data.duplicates_dropped == 1


def test_a_gap_is_allowed_recorded_and_shown(write, capsys) -> None:
    text = (
        OHLCV
        + "2020-01-01T00:00:00Z,1,2,0.5,1,1\n2020-01-01T01:00:00Z,1,2,0.5,1,1\n2020-01-01T05:00:00Z,1,2,0.5,1,1\n"
    )
    call_command("import_prices", str(write("g.csv", text)), "--symbol", "ETHUSDT")
    s = PriceSeries.objects.get()
    assert s.gaps == [["2020-01-01T02:00:00Z", "2020-01-01T04:00:00Z", 3]]
    assert "gap: 2020-01-01T02:00:00Z .. 2020-01-01T04:00:00Z (3 bars)" in capsys.readouterr().out


def test_importing_an_existing_series_needs_replace(write) -> None:
    text = OHLCV + "2020-01-01T00:00:00Z,1,2,0.5,1,1\n2020-01-01T01:00:00Z,1,2,0.5,1,1\n"
    path = write("a.csv", text)
    services.import_price_file(path=path, symbol="ETHUSDT")
    with pytest.raises(CommandError, match="already exists .* pass --replace"):
        call_command("import_prices", str(path), "--symbol", "ETHUSDT")
    call_command(
        "import_prices",
        str(write("b.csv", text + "2020-01-01T02:00:00Z,1,2,0.5,1,1\n")),
        "--symbol",
        "ETHUSDT",
        "--replace",
    )
    assert PriceSeries.objects.get().row_count == 3


def test_blocks_round_trip_exactly_including_binary_fractions() -> None:
    rng = np.random.default_rng(5)
    ts = np.cumsum(rng.integers(1, 3, 500)) * 60
    cols = (
        np.round(rng.uniform(1, 2, 500), 2),
        rng.uniform(1, 2, 500),
        np.full(500, 0.1),
        rng.lognormal(size=500),
        rng.uniform(0, 1e6, 500),
    )
    back_ts, back = ep.decode_block(ep.encode_block(ts, cols))
    assert np.array_equal(back_ts, ts)
    for a, b in zip(cols, back, strict=False):
        assert hashlib.sha256(a.tobytes()).digest() == hashlib.sha256(b.tobytes()).digest()


def test_ten_years_of_hourly_bars_import_in_seconds(write) -> None:
    n = 10 * 8760
    t = 1_262_304_000 + 3600 * np.arange(n)
    price = np.round(1000 + np.cumsum(np.random.default_rng(2).normal(0, 1, n)).clip(-900, None), 2)
    text = OHLCV + "".join(
        f"{a},{p},{p + 1},{p - 1},{p},5\n" for a, p in zip(t.tolist(), price.tolist(), strict=False)
    )
    path = write("ten.csv", text)
    started = time.perf_counter()
    s = services.import_price_file(path=path, symbol="TENYEARS").series
    elapsed = time.perf_counter() - started
    assert s.row_count == n and s.blocks.count() == 120
    assert elapsed < 15, f"import took {elapsed:.1f} s"
    assert np.array_equal(services.load_window(s, t[-24], None).close, price[-24:])


def test_importing_engine_prices_leaves_django_out() -> None:
    code = "import sys, engine.prices\nprint(','.join(m for m in ('django', 'plotly', 'celery') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
