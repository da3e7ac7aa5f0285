"""The proposal form and the engine refuse the same parameter sets: both apply engine.rules, the
form to exact Decimals (proposals.schema.validate, what ProposalForm calls), the engine to floats
(its Params). Checked on grids around every invariant's boundary: at the contract's precision
(whole parameter sets, through both entry points) and at the precision a float can tell apart
(the rule functions themselves, Decimal against float)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from engine import aave, compound, maker, perp, rules
from engine.errors import EngineError
from proposals import schema
from review.management.commands.seed_demo import MARKETS

SEED = {m["mechanism"]: m["values"] for m in MARKETS}


def around(center: str, step: str, n: int = 4) -> list[D]:
    c, s = D(center), D(step)
    return [c + k * s for k in range(-n, n + 1)]


def form_refuses(mechanism: str, values: dict) -> bool:
    return bool(schema.validate(mechanism, schema.normalize(mechanism, values)))


def engine_refuses(make, **kw) -> bool:
    try:
        make(**kw)
    except EngineError:
        return True
    return False


# -- whole parameter sets, at the contract's precision --------------------------------------


AAVE_GRID = [
    (ltv, lt, bonus)
    for bonus in (D("0.05"), D("0.25"), D("0.6"), D("0.075"))
    for lt in around(str((1 / (1 + bonus)).quantize(D("0.0001"))), "0.0001", 3)
    for ltv in around(str(lt), "0.0001", 2)
    if 0 <= ltv <= 1 and 0 <= lt <= 1
]


@pytest.mark.parametrize("ltv, lt, bonus", AAVE_GRID)
def test_aave_form_and_engine_agree_around_ltv_threshold_and_bonus_boundaries(ltv, lt, bonus):
    values = {
        **SEED["aave-v3"],
        "ltv": str(ltv),
        "liquidation_threshold": str(lt),
        "liquidation_bonus": str(bonus),
    }
    form = form_refuses("aave-v3", values)
    engine = engine_refuses(
        aave.Params, ltv=float(ltv), liquidation_threshold=float(lt), liquidation_bonus=float(bonus)
    )
    assert form == engine == (ltv > lt or lt * (1 + bonus) > 1)


def test_the_aave_grid_reaches_both_sides_of_every_boundary():
    outcomes = {(ltv > lt, lt * (1 + b) > 1) for ltv, lt, b in AAVE_GRID}
    assert outcomes == {(False, False), (True, False), (False, True), (True, True)}
    assert any(lt * (1 + b) == 1 for _, lt, b in AAVE_GRID)  # exactly on the boundary: accepted


@pytest.mark.parametrize("borrow", around("0.83", "0.0001", 3))
@pytest.mark.parametrize("liquidate", [D("0.83"), D("0.9999"), D("1")])
def test_compound_form_and_engine_agree_around_the_collateral_factors(borrow, liquidate):
    values = dict(SEED["compound-v3"])
    values["assets"] = {k: dict(a) for k, a in values["assets"].items()}
    values["assets"]["WETH"].update(
        borrow_collateral_factor=str(borrow), liquidate_collateral_factor=str(liquidate)
    )
    form = form_refuses("compound-v3", values)
    engine = engine_refuses(
        compound.Params,
        borrow_collateral_factor=float(borrow),
        liquidate_collateral_factor=float(liquidate),
        liquidation_factor=float(values["assets"]["WETH"]["liquidation_factor"]),
    )
    assert form == engine == (borrow >= liquidate)


@pytest.mark.parametrize(
    "name, center",
    [("mat", "1"), ("chop", "1"), ("buf", "1"), ("cut", "1"), ("cusp", "1"), ("cusp", "0.4")],
)
def test_maker_form_and_engine_agree_around_each_ratio_boundary(name, center):
    for value in around(center, "0.000000000000001"):
        if value <= 0:
            continue
        values = {**SEED["maker-clip"], name: str(value)}
        form = form_refuses("maker-clip", values)
        kw = {k: float(values[k]) for k in ("mat", "chop", "buf", "cut", "cusp")}
        engine = engine_refuses(maker.Params, **kw)
        assert form == engine, (name, value)


@pytest.mark.parametrize(
    "tier, field", [(1, "notional_floor"), (1, "maintenance_margin_fraction"), (2, "initial_margin_fraction")]
)
def test_perp_form_and_engine_agree_around_the_tier_boundaries(tier, field):
    tiers = [dict(t) for t in SEED["perp"]["tiers"]]
    prev = tiers[tier - 1]
    for value in around(str(prev[field]), "0.0001" if "fraction" in field else "1"):
        changed = [dict(t) for t in tiers]
        changed[tier][field] = str(value)
        form = form_refuses("perp", {**SEED["perp"], "tiers": changed})
        engine = engine_refuses(
            perp.Params,
            tier_floors=tuple(float(t["notional_floor"]) for t in changed),
            tier_imf=tuple(float(t["initial_margin_fraction"]) for t in changed),
            tier_mmf=tuple(float(t["maintenance_margin_fraction"]) for t in changed),
        )
        assert form == engine, (field, value)


# -- the rule functions, at the precision a float can tell apart ----------------------------


FINE = "0.000000000000001"  # 1e-15: the 15 significant digits a float keeps exactly


@pytest.mark.parametrize("bonus", ["0.05", "0.25", "0.0833"])
def test_the_aave_rule_judges_a_float_as_the_decimal_it_was_typed_as(bonus):
    b = D(bonus)
    boundary = (1 / (1 + b)).quantize(D(FINE))
    for lt in around(str(boundary), FINE, 6):
        exact = rules.aave_v3(liquidation_threshold=lt, liquidation_bonus=b)
        floated = rules.aave_v3(liquidation_threshold=float(lt), liquidation_bonus=float(b))
        assert exact == floated, lt
        assert bool(exact) == (lt * (1 + b) > 1)


def test_the_compound_and_perp_rules_judge_floats_as_their_decimals():
    for lcf in around("0.9", FINE, 6):
        exact = rules.compound_v3_asset(borrow_collateral_factor=D("0.9"), liquidate_collateral_factor=lcf)
        floated = rules.compound_v3_asset(
            borrow_collateral_factor=0.9, liquidate_collateral_factor=float(lcf)
        )
        assert exact == floated and bool(exact) == (lcf <= D("0.9"))
    for mmf in around("0.02", FINE, 6):
        tiers = [(D(0), D("0.04"), D("0.02")), (D(1000), D("0.05"), mmf)]
        exact = rules.perp_tiers(tiers)
        floated = rules.perp_tiers([(float(f), float(i), float(m)) for f, i, m in tiers])
        assert exact == floated and bool(exact) == (mmf < D("0.02"))
