"""The perp's governed funding, partial-liquidation and backstop values in engine units."""

from decimal import Decimal as D

from backtests import params
from proposals import schema
from review.management.commands.seed_demo import MARKETS

SEED = next(m["values"] for m in MARKETS if m["mechanism"] == "perp")


def engine(values: dict, interval_seconds: int) -> dict:
    return params.engine_params_dict(
        "perp", schema.normalize("perp", values), interval_seconds=interval_seconds
    )


def test_times_become_steps_rounded_up_and_usd_and_fractions_pass_through() -> None:
    d = engine(SEED, 900)  # a replay's quarter-hour steps
    assert d["funding_interval"] == 4 and d["partial_cooldown"] == 1  # 3600 / 900; 30 s -> 1 step
    assert d["funding_interest"] == 0.0000125 and d["funding_cap"] == 0.04
    assert d["partial_above_usd"] == 100000.0 and d["partial_fraction"] == 0.2
    assert d["backstop_fraction"] == 0.666667
    d = engine({**SEED, "funding_interval": "5400", "partial_cooldown": "7"}, 3600)
    assert d["funding_interval"] == 2 and d["partial_cooldown"] == 1  # 1.5 steps -> 2
    assert engine({**SEED, "partial_cooldown": "0"}, 60)["partial_cooldown"] == 0
    assert engine({**SEED, "partial_cooldown": "120"}, 60)["partial_cooldown"] == 2


def test_a_version_stored_before_funding_maps_to_the_engines_defaults() -> None:
    old = {k: v for k, v in SEED.items() if k in ("liquidation_fee", "insurance_fund", "tiers")}
    p = params.engine_params("perp", schema.normalize("perp", old), interval_seconds=3600)
    assert (p.funding_cap, p.partial_fraction, p.partial_cooldown, p.backstop_fraction) == (0.0, 1.0, 0, 0.0)
    assert p.tier_mmf == (0.02, 0.04, 0.10) and p.liquidation_fee == float(D("0.005"))
