"""The aave-v4 schema: the demo's published example values pass; each of the protocol's rules
(engine/rules.py aave_v4, shared with the engine) is refused on its field, in the schema, in the
engine and on the proposal form; values the Spoke cannot hold (finer than a bp or a wad) are
refused; the market names its spoke and reserve."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from engine import aave_v4
from engine.errors import EngineError
from proposals import schema
from proposals.models import Proposal
from proposals.schema.market import check_market_config
from review.management.commands.seed_demo import MARKETS
from tests.proposals.factories import make_market
from tests.review.test_pages import client_for, form_data

SPEC = next(m for m in MARKETS if m["mechanism"] == "aave-v4")


def values(**changes: str) -> dict:
    return schema.normalize("aave-v4", {**SPEC["values"], **changes})


def test_the_demo_values_from_aave_v4s_docs_are_valid_and_keep_the_anti_split_rule():
    v = values()
    assert schema.validate("aave-v4", v) == []
    assert v["max_liquidation_bonus"] * v["collateral_factor"] <= v["health_factor_for_max_bonus"]


@pytest.mark.parametrize(
    "changes, key, rule",
    [
        # 1.05 x 0.82 = 0.861 > 0.85: liquidations could be split for more bonus.
        (
            {"collateral_factor": "0.82"},
            "collateral_factor",
            "the anti-split rule, maxLB * cf <= hfForMaxBonus",
        ),
        (
            {
                "max_liquidation_bonus": "1.3",
                "collateral_factor": "0.8",
                "health_factor_for_max_bonus": "0.99",
            },
            "max_liquidation_bonus",
            "maxLB * cf < 100 %, the reserve's solvency rule",
        ),
        (
            {"health_factor_for_max_bonus": "1"},
            "health_factor_for_max_bonus",
            "hfForMaxBonus < the liquidation",
        ),
    ],
)
def test_each_rule_is_refused_on_its_field_by_the_schema_and_the_engine(changes, key, rule):
    # The first breach is the rule's (maxLB x cf >= 1 also breaks the anti-split rule, after it).
    problems = schema.validate("aave-v4", values(**changes))
    assert problems[0].key == key and rule in problems[0].message
    engine_kw = {k: float(v) for k, v in values(**changes).items()}
    with pytest.raises(EngineError) as exc:
        aave_v4.Params(**engine_kw)
    assert rule in str(exc.value)


def test_the_anti_split_bound_is_exact_at_the_boundary():
    # 1.05 x 0.8095 = 0.849975 <= 0.85; 1.05 x 0.8096 = 0.85008 > 0.85.
    assert schema.validate("aave-v4", values(collateral_factor="0.8095")) == []
    assert [p.key for p in schema.validate("aave-v4", values(collateral_factor="0.8096"))] == [
        "collateral_factor"
    ]
    assert schema.validate("aave-v4", values(health_factor_for_max_bonus="0.840000000000000001")) == []
    assert schema.validate("aave-v4", values(health_factor_for_max_bonus="0.839999999999999999"))


@pytest.mark.parametrize(
    "changes, key, words",
    [
        ({"max_liquidation_bonus": "0.99"}, "max_liquidation_bonus", "must be at least 1 (ratio)"),
        ({"target_health_factor": "0.99"}, "target_health_factor", "must be at least 1 (ratio)"),
        ({"liquidation_bonus_factor": "1.01"}, "liquidation_bonus_factor", "must be at most 1 (fraction)"),
        ({"liquidation_fee": "1.01"}, "liquidation_fee", "must be at most 1 (fraction)"),
        ({"collateral_factor": "0.80005"}, "collateral_factor", "must be a multiple of 0.0001"),
        (
            {"target_health_factor": "1.0500000000000000001"},
            "target_health_factor",
            "multiple of 0.000000000000000001",
        ),
    ],
)
def test_values_outside_the_spokes_ranges_or_units_are_refused_on_their_field(changes, key, words):
    problems = schema.validate("aave-v4", values(**changes))
    assert [p.key for p in problems] == [key]
    assert words in problems[0].message


def test_the_form_refuses_an_anti_split_breach_naming_the_rule_and_the_field(db, contributor):
    market = make_market("aave-v4")
    response = client_for(contributor).post(
        reverse("review:create", args=[market.slug]), form_data(market, collateral_factor="0.82")
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "the anti-split rule, maxLB * cf &lt;= hfForMaxBonus" in html
    assert response.context["form"].errors["p__collateral_factor"]
    assert Proposal.objects.count() == 0


def test_a_contributor_submits_a_collateral_factor_within_the_anti_split_bound(db, contributor):
    market = make_market("aave-v4")
    response = client_for(contributor).post(
        reverse("review:create", args=[market.slug]), form_data(market, collateral_factor="0.809")
    )
    assert response.status_code == 302
    proposal = Proposal.objects.get()
    assert proposal.status == Proposal.Status.BACKTESTING
    assert Decimal(proposal.proposed_version.values["collateral_factor"]) == Decimal("0.809")


def test_an_aave_v4_market_names_its_spoke_and_reserve_id():
    assert check_market_config("aave-v4", SPEC["contracts"], SPEC["target"]) == []
    assert check_market_config("aave-v4", {}, {"reserve_id": -1}) == [
        "contracts: spoke is required for aave-v4.",
        "target.reserve_id: the reserve's id on the Spoke, an integer >= 0; it is -1.",
    ]
