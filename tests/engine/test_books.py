"""Position books: synthetic generators, CSV import and summaries."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import aave, books, comet, compound, cross, maker, perp
from engine.books import BookFileError, book_arrays, parse_book_csv, summarize_book
from engine.errors import EngineError


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- sizes and health factors ----------------------------------------------------------------


@pytest.mark.parametrize("dist", ["lognormal", "pareto"])
@pytest.mark.parametrize("share", [0.05, 0.2, 0.6, 0.95])
def test_top10_share_is_hit_exactly_and_the_total_is_kept(dist: str, share: float) -> None:
    d = books.debt_sizes(2000, rng=rng(1), total_usd=5e7, dist=dist, top10_share=share)
    assert books.top_share(d) == pytest.approx(share, rel=1e-12)
    assert d.sum() == pytest.approx(5e7, rel=1e-12)
    assert np.all(d > 0)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(11, 3000),
    frac=st.floats(0.001, 0.999),
    seed=st.integers(0, 2**32 - 1),
    dist=st.sampled_from(["lognormal", "pareto"]),
)
def test_any_reachable_top10_share_is_hit_with_the_total_kept_and_sizes_positive(
    n: int, frac: float, seed: int, dist: str
) -> None:
    share = 10 / n + frac * (1 - 10 / n)  # anywhere in the open range (10 / n, 1)
    d = books.debt_sizes(n, rng=rng(seed), total_usd=1e6, dist=dist, top10_share=share)
    assert books.top_share(d) == pytest.approx(share, rel=1e-9)
    assert d.sum() == pytest.approx(1e6, rel=1e-12)
    assert np.all(d > 0)


def test_setting_the_top10_share_keeps_the_ranking_of_positions() -> None:
    raw = books.debt_sizes(500, rng=rng(2), total_usd=1e6)
    for share in (0.03, 0.5):
        d = books.debt_sizes(500, rng=rng(2), total_usd=1e6, top10_share=share)
        assert np.array_equal(np.argsort(d, kind="stable"), np.argsort(raw, kind="stable"))


def test_pareto_sizes_are_more_concentrated_than_lognormal_with_a_small_sigma() -> None:
    pareto = books.debt_sizes(5000, rng=rng(3), total_usd=1e6, dist="pareto", alpha=1.1)
    thin = books.debt_sizes(5000, rng=rng(3), total_usd=1e6, dist="lognormal", sigma=0.3)
    assert books.top_share(pareto) > 3 * books.top_share(thin)


def test_impossible_concentration_is_rejected_naming_the_range() -> None:
    with pytest.raises(EngineError, match=r"^top10_share must be in \(0.1, 1\); got 0.05"):
        books.debt_sizes(100, rng=rng(), total_usd=1.0, top10_share=0.05)
    with pytest.raises(EngineError, match=r"^top10_share needs more than 10 positions; got n = 10"):
        books.debt_sizes(10, rng=rng(), total_usd=1.0, top10_share=0.5)
    with pytest.raises(EngineError, match=r"^dist must be one of"):
        books.debt_sizes(100, rng=rng(), total_usd=1.0, dist="uniform")


def test_health_factors_start_at_the_minimum_and_spread_upward() -> None:
    h = books.health_factors(10_000, rng=rng(4), h_min=1.1, h_median=1.8, spread=0.5)
    assert h.min() == 1.1
    assert np.median(h) == pytest.approx(1.8, rel=0.03)
    # X = (h - h_min) / (h_median - h_min) is lognormal(0, 0.5): its 10th percentile is
    # exp(-1.2816 * 0.5) = 0.527, so h's is 1.1 + 0.7 * 0.527 = 1.469.
    assert np.quantile(h, 0.1) == pytest.approx(1.469, rel=0.02)


# --- synthetic books per mechanism -------------------------------------------------------------


def test_lending_book_has_the_health_factors_it_was_drawn_with() -> None:
    b = books.lending_book(
        3000, rng=rng(5), price=2000.0, threshold=0.8, total_debt_usd=1e8, h_min=1.05, top10_share=0.25
    )
    assert set(b) == {"collateral", "debt"}
    h = b["collateral"] * 2000.0 * 0.8 / b["debt"]
    assert h.min() == pytest.approx(1.05, rel=1e-12)
    assert b["debt"].sum() == pytest.approx(1e8)
    assert books.top_share(b["debt"]) == pytest.approx(0.25)


def test_maker_book_is_collateralized_at_h_times_mat() -> None:
    b = books.maker_book(500, rng=rng(6), price=1500.0, mat=1.45, h_min=1.02)
    assert set(b) == {"ink", "debt"}
    ratio = b["ink"] * 1500.0 / b["debt"]
    assert ratio.min() == pytest.approx(1.45 * 1.02, rel=1e-12)


def test_perp_book_equity_is_h_times_maintenance_and_sides_follow_long_share() -> None:
    b = books.perp_book(4000, rng=rng(7), price=3000.0, mmf=0.03, long_share=0.7, entry_spread=0.02)
    assert set(b) == {"size", "entry_price", "margin"}
    assert np.mean(b["size"] > 0) == pytest.approx(0.7, abs=0.03)
    h = books.health(b, "perp", price=3000.0, threshold=0.03)
    assert h.min() == pytest.approx(1.05, rel=1e-9)
    assert np.all(b["margin"] >= 0)


def test_cross_book_splits_collateral_across_assets_and_keeps_health() -> None:
    p, lt = np.array([2000.0, 60000.0, 1.0]), np.array([0.8, 0.75, 0.9])
    b = books.cross_book(800, rng=rng(8), prices=p, thresholds=lt, concentration=0.2)
    assert b["collateral"].shape == (800, 3) and b["debt"].shape == (800,)
    h = books.health(b, "cross", price=p, threshold=lt)
    assert h.min() == pytest.approx(1.05, rel=1e-9)

    # Small concentration: most accounts hold most of their value in one asset; large: a mix.
    def top_asset_share(book: dict) -> float:
        value = book["collateral"] * p * lt
        return float(np.median(value.max(axis=1) / value.sum(axis=1)))

    even = books.cross_book(800, rng=rng(8), prices=p, thresholds=lt, concentration=20.0)
    assert top_asset_share(b) > 0.8
    assert top_asset_share(even) < 0.45


def test_books_are_reproducible_from_the_rng_and_fit_the_mechanisms() -> None:
    a = books.synthetic_book("aave-v3", 100, rng=rng(9), price=2000.0, threshold=0.825)
    b = books.synthetic_book("aave-v3", 100, rng=rng(9), price=2000.0, threshold=0.825)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert len(aave.book_from_arrays(a)) == 100
    assert (
        len(
            compound.book_from_arrays(
                books.synthetic_book("compound-v3", 50, rng=rng(), price=2000.0, threshold=0.895)
            ).debt
        )
        == 50
    )
    perp_rows = books.synthetic_book("perp", 50, rng=rng(), price=2000.0, mmf=0.03)
    assert len(perp.book_from_arrays(perp_rows)) == 50

    vaults = maker.book_from_arrays(books.synthetic_book("maker-clip", 40, rng=rng(), price=2000.0, mat=1.45))
    assert vaults.ink.shape == (40,)
    accounts = cross.book_from_arrays(
        books.synthetic_book(
            "cross", 30, rng=rng(), prices=np.array([2000.0, 60000.0]), thresholds=np.array([0.8, 0.7])
        )
    )
    assert accounts.collateral.shape == (30, 2)
    with pytest.raises(EngineError, match=r"^mechanism must be one of"):
        books.synthetic_book("euler", 10, rng=rng())


# --- CSV -------------------------------------------------------------------------------------


GOOD = """account,collateral_asset,collateral_amount,debt_amount
0xa,WETH,10,12000
0xb,WETH,2.5,1000.5
0xc,WETH,0,0
"""


def test_a_good_csv_parses_into_arrays() -> None:
    d = parse_book_csv(GOOD)
    assert d["account"].tolist() == ["0xa", "0xb", "0xc"]
    np.testing.assert_array_equal(d["collateral"], [10.0, 2.5, 0.0])
    np.testing.assert_array_equal(d["debt"], [12000.0, 1000.5, 0.0])
    lending = book_arrays(d, "aave-v3")
    assert set(lending) == {"collateral", "debt"}
    assert set(book_arrays(d, "maker-clip")) == {"ink", "debt"}


@pytest.mark.parametrize(
    "text, line, problem",
    [
        ("", 0, "the file is empty"),
        ("account,asset,collateral_amount,debt_amount\n0xa,WETH,1,1\n", 1, "the header must start with"),
        ("account,collateral_asset,collateral_amount,debt_amount\n", 0, "no positions"),
        (GOOD + "0xd,WETH,1\n", 5, "expected 4 fields"),
        (GOOD + "0xd,WETH,abc,1\n", 5, "collateral_amount must be a number; got 'abc'"),
        (GOOD + "0xd,WETH,1,-3\n", 5, "debt_amount must be >= 0; got '-3'"),
        (GOOD + "0xd,WETH,nan,1\n", 5, "collateral_amount must be finite"),
        (GOOD + ",WETH,1,1\n", 5, "account is empty"),
        (GOOD + "0xa,WETH,1,1\n", 5, "account '0xa' already has a row for 'WETH' (line 2)"),
        (GOOD.replace("0xb,", "\n0xb,"), 3, "blank line"),
        (
            "account,collateral_asset,collateral_amount,debt_amount,Size\n0xa,W,1,1,1\n",
            1,
            "extra column 'Size'",
        ),
    ],
)
def test_a_bad_csv_is_rejected_naming_the_line_and_problem(text: str, line: int, problem: str) -> None:
    with pytest.raises(BookFileError) as err:
        parse_book_csv(text)
    assert err.value.line == line
    assert problem in str(err.value)
    if line:
        assert str(err.value).startswith(f"line {line}: ")


def test_perp_csv_takes_size_and_entry_from_extra_columns() -> None:
    text = (
        "account,collateral_asset,collateral_amount,debt_amount,size,entry_price\n"
        "a,USDC,500,0,-2.5,3100\nb,USDC,1000,0,4,2900\n"
    )
    d = book_arrays(parse_book_csv(text), "perp")
    np.testing.assert_array_equal(d["size"], [-2.5, 4.0])
    np.testing.assert_array_equal(d["entry_price"], [3100.0, 2900.0])
    np.testing.assert_array_equal(d["margin"], [500.0, 1000.0])
    with pytest.raises(EngineError, match="needs the extra column 'size'"):
        book_arrays(parse_book_csv(GOOD), "perp")


def test_cross_csv_rows_are_pivoted_per_account_and_asset() -> None:
    text = (
        "account,collateral_asset,collateral_amount,debt_amount\n"
        "a,WETH,2,1000\na,WBTC,0.1,500\nb,WBTC,1,20000\n"
    )
    d = book_arrays(parse_book_csv(text), "cross", assets=["WETH", "WBTC"])
    np.testing.assert_array_equal(d["collateral"], [[2.0, 0.1], [0.0, 1.0]])
    np.testing.assert_array_equal(d["debt"], [1500.0, 20000.0])
    with pytest.raises(EngineError, match="must have one collateral_asset"):
        book_arrays(parse_book_csv(text), "aave-v3")


def test_comet_account_books_are_cross_books_under_the_liquidate_factors() -> None:
    p, lcf = np.array([2000.0, 60000.0]), np.array([0.895, 0.85])
    rows = books.synthetic_book("compound-v3-accounts", 300, rng=rng(4), prices=p, thresholds=lcf)
    accounts = comet.book_from_arrays(rows)
    assert accounts.collateral.shape == (300, 2)
    h = books.health(rows, "compound-v3-accounts", price=p, threshold=lcf)
    assert h.min() == pytest.approx(1.05, rel=1e-9)
    text = (
        "account,collateral_asset,collateral_amount,debt_amount\n"
        "a,WETH,2,1000\na,WBTC,0.1,500\nb,WBTC,1,20000\n"
    )
    d = book_arrays(parse_book_csv(text), "compound-v3-accounts", assets=["WETH", "WBTC"])
    np.testing.assert_array_equal(d["collateral"], [[2.0, 0.1], [0.0, 1.0]])


# --- summary -------------------------------------------------------------------------------------


def test_summary_counts_health_bins_totals_and_the_top10_share() -> None:
    b = {
        "collateral": np.array([1.0, 1.0, 2.0, 0.0, 5.0]),
        "debt": np.array([1000.0, 2000.0, 1000.0, 10.0, 0.0]),
    }
    s = summarize_book(b, "aave-v3", price=2000.0, threshold=0.8)
    # h = c * 2000 * 0.8 / d: 1.6, 0.8, 3.2, 0 and no debt.
    assert s["total_debt_usd"] == 4010.0
    assert s["total_collateral"] == 9.0 and s["total_collateral_usd"] == 18000.0
    assert s["n_liquidatable"] == 2 and s["n_without_debt"] == 1
    assert sum(s["hf_counts"]) == 4
    assert s["hf_counts"][0] == 2  # h = 0 and h = 0.8 in [0, 1)
    assert s["hf_counts"][s["hf_bins"].index(1.5)] == 1 and s["hf_counts"][s["hf_bins"].index(3.0)] == 1
    assert s["top10_share"] == 1.0
    assert json.loads(json.dumps(s, allow_nan=False)) == s


def test_summary_of_a_large_synthetic_book_reports_its_concentration() -> None:
    b = books.lending_book(5000, rng=rng(10), price=2000.0, threshold=0.8, top10_share=0.4)
    s = summarize_book(b, "aave-v3", price=2000.0, threshold=0.8)
    assert s["top10_share"] == pytest.approx(0.4)
    assert s["n_liquidatable"] == 0 and s["min_health"] == pytest.approx(1.05)
    assert sum(s["hf_counts"]) == 5000
