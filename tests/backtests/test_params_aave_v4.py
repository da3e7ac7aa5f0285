"""aave-v4 versions in engine units: the schema's fractions and ratios are the engine's, the
unmodelled list names what is left out, and a synthetic book starts healthy at the live
collateral factor."""

from __future__ import annotations

import numpy as np

from backtests import hurt, params, verdict
from engine import aave_v4, health
from proposals import schema
from review.management.commands.seed_demo import MARKETS
from scenarios import services as scenario_services
from scenarios.services import decode_book
from tests.proposals.factories import make_market

SPEC = next(m for m in MARKETS if m["mechanism"] == "aave-v4")


def test_a_version_maps_to_the_engines_aave_v4_params():
    v = schema.normalize("aave-v4", SPEC["values"])
    p = params.engine_params("aave-v4", v, interval_seconds=3600)
    assert isinstance(p, aave_v4.Params)
    assert (p.collateral_factor, p.max_liquidation_bonus, p.liquidation_fee) == (0.80, 1.05, 0.10)
    assert (p.target_health_factor, p.health_factor_for_max_bonus, p.liquidation_bonus_factor) == (
        1.05,
        0.85,
        0.80,
    )
    # The protocol's dust threshold is not governed: the engine's 1,000 USD.
    assert p.dust_usd == 1000.0
    # The step length does not matter: aave-v4 governs no time.
    assert params.engine_params_dict("aave-v4", v, interval_seconds=900) == params.engine_params_dict(
        "aave-v4", v, interval_seconds=3600
    )


def test_the_run_manifest_names_what_the_engine_leaves_out_and_the_pages_their_words():
    assert params.unmodelled("aave-v4") == [
        "other reserves of the spoke",
        "positions bound to other dynamic config keys",
    ]
    assert hurt.LABELS["aave-v4"] == ("health factor", "debt", "collateral")
    assert verdict.RESERVES["aave-v4"] == ("the treasury's reserves", None)


def test_the_demo_book_starts_healthy_at_the_live_collateral_factor(db):
    market = make_market("aave-v4")
    generator = scenario_services.live_book_generator(market, price=3000.0, total_usd=1e7)
    assert generator == {"price": 3000.0, "threshold": 0.8, "total_debt_usd": 1e7}
    book = scenario_services.generate_book(market=market, n=500, seed=3, generator=generator)
    arrays = decode_book(book.data)
    p = params.engine_params("aave-v4", schema.normalize("aave-v4", SPEC["values"]), interval_seconds=3600)
    h = health.health("aave-v4", p, aave_v4.book_from_arrays(arrays), 3000.0)
    assert np.all(h[np.isfinite(h)] >= 1.0)
