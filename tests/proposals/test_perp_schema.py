"""The perp schema's funding, partial-liquidation and backstop parameters: bounds, invariants
(engine/rules.py), and how a version stored before they existed is read."""

from decimal import Decimal as D

import pytest

from proposals import schema
from proposals.models import ParameterSetVersion
from proposals.services import ProposalRefused, create_version
from review.management.commands.seed_demo import MARKETS
from tests.proposals.factories import make_market

SEED = next(m["values"] for m in MARKETS if m["mechanism"] == "perp")
NEW = (
    "funding_interval",
    "funding_interest",
    "funding_cap",
    "partial_notional",
    "partial_fraction",
    "partial_cooldown",
    "backstop_fraction",
)
OLD = {k: v for k, v in SEED.items() if k not in NEW}  # a version stored before them


def messages(**changes: str) -> list[str]:
    return [p.message for p in schema.validate("perp", schema.normalize("perp", {**SEED, **changes}))]


def test_the_demo_perp_carries_hyperliquids_funding_and_liquidation_values() -> None:
    v = schema.normalize("perp", SEED, new=True)
    assert v["funding_interval"] == 3600 and v["funding_cap"] == D("0.04")
    assert v["funding_interest"] * 8 == D("0.0001")  # 0.01 % per 8 hours
    assert (v["partial_notional"], v["partial_fraction"], v["partial_cooldown"]) == (100000, D("0.2"), 30)
    assert abs(v["backstop_fraction"] - D(2) / 3) < D("1e-6")
    assert messages() == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"partial_fraction": "0"}, "partial_fraction must be above 0 and at most 1"),
        ({"backstop_fraction": "1"}, "backstop_fraction must be below 1"),
        ({"funding_interval": "0"}, "funding_interval must be above 0"),
        ({"partial_fraction": "1.5"}, "partial_fraction must be at most 1"),
        ({"funding_cap": "0.2"}, "funding_cap must be at most 0.1"),
        ({"funding_interval": "1.5"}, "funding_interval must be a multiple of 1"),
        ({"partial_cooldown": "-1"}, "partial_cooldown must be at least 0"),
    ],
)
def test_invalid_funding_partial_and_backstop_values_are_refused_naming_the_rule(changes, message) -> None:
    got = messages(**changes)
    assert len(got) == 1 and message.lower() in got[0].lower(), got


def test_a_version_stored_before_the_new_parameters_is_read_with_them_off() -> None:
    v = schema.normalize("perp", OLD)
    assert v["funding_cap"] == 0 and v["partial_fraction"] == 1
    assert v["partial_cooldown"] == 0 and v["backstop_fraction"] == 0
    assert schema.validate("perp", v) == []
    # Its stored form and hash are those of the values as they were: nothing is added.
    assert set(schema.stored_form("perp", OLD)) == set(OLD)
    assert schema.content_hash("perp", OLD) == schema.content_hash("perp", schema.stored_form("perp", OLD))


def test_a_new_version_must_carry_every_new_parameter() -> None:
    with pytest.raises(schema.SchemaError, match="missing parameters for perp: funding_interval"):
        schema.normalize("perp", OLD, new=True)


@pytest.mark.django_db
def test_an_old_stored_version_keeps_its_json_and_hash_and_a_new_one_without_them_is_refused() -> None:
    market = make_market("perp")
    old = ParameterSetVersion.objects.create(market=market, number=99, values=OLD, author=None)
    stored = (old.values, old.content_hash)
    old.refresh_from_db()
    old.save()  # saved again (made live, for instance): the same JSON and hash
    assert (old.values, old.content_hash) == stored and "funding_cap" not in old.values
    assert old.decimal_values()["funding_cap"] == 0
    with pytest.raises(ProposalRefused):
        create_version(market=market, values=OLD, author=None, parent=None)
    assert (
        create_version(market=market, values=old.decimal_values(), author=None, parent=None).values[
            "backstop_fraction"
        ]
        == "0"
    )
