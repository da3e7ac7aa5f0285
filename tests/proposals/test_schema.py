"""The parameter schema (no database): bounds, invariants, canonical hashing, diffs, guardrails."""

import hashlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from proposals import schema
from proposals.schema.market import check_market_config
from review.management.commands.seed_demo import MARKETS

SEED = {m["mechanism"]: m["values"] for m in MARKETS}
NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def values(mechanism: str, **changes: object) -> dict:
    return schema.normalize(mechanism, {**SEED[mechanism], **changes})


def asset(symbol: str, **changes: str) -> dict:
    v = dict(SEED["compound-v3"])
    v["assets"] = {k: dict(a) for k, a in v["assets"].items()}
    v["assets"][symbol].update(changes)
    return schema.normalize("compound-v3", v)


def tiers(*changes: dict) -> dict:
    v = dict(SEED["perp"])
    v["tiers"] = [{**t, **c} for t, c in zip(v["tiers"], changes + ({},) * 3, strict=False)]
    return schema.normalize("perp", v)


def messages(mechanism: str, v: dict) -> list[str]:
    return [p.message for p in schema.validate(mechanism, v)]


@pytest.mark.parametrize("mechanism", sorted(SEED))
def test_the_seeded_parameters_of_every_mechanism_are_valid(mechanism):
    assert schema.validate(mechanism, schema.normalize(mechanism, SEED[mechanism])) == []


# -- Aave v3 ------------------------------------------------------------------------------------


def test_aave_ltv_above_the_liquidation_threshold_is_refused_naming_limit_and_value():
    problems = schema.validate("aave-v3", values("aave-v3", ltv="0.84"))
    assert [(p.key, p.message) for p in problems] == [
        ("ltv", "ltv must be at most liquidation_threshold (0.83); it is 0.84.")
    ]


def test_aave_ltv_equal_to_the_liquidation_threshold_is_accepted():
    assert messages("aave-v3", values("aave-v3", ltv="0.83")) == []


def test_aave_threshold_times_one_plus_bonus_above_one_is_refused():
    problems = schema.validate(
        "aave-v3", values("aave-v3", liquidation_threshold="0.96", liquidation_bonus="0.05")
    )
    assert [p.key for p in problems] == ["liquidation_bonus"]
    assert "0.96 x 1.05 = 1.008" in problems[0].message


def test_aave_threshold_times_one_plus_bonus_exactly_one_is_accepted():
    assert (
        messages(
            "aave-v3", values("aave-v3", ltv="0.8", liquidation_threshold="0.8", liquidation_bonus="0.25")
        )
        == []
    )


def test_aave_zero_bonus_with_a_threshold_is_refused():
    assert messages("aave-v3", values("aave-v3", liquidation_bonus="0")) == [
        "liquidation_bonus must be above 0 when the threshold is not 0; it is 0."
    ]


def test_aave_fraction_finer_than_one_basis_point_is_refused():
    assert messages("aave-v3", values("aave-v3", ltv="0.80555")) == [
        "ltv must be a multiple of 0.0001 (what the contract can hold); it is 0.80555."
    ]


def test_aave_cap_above_the_contract_maximum_is_refused():
    problems = messages("aave-v3", values("aave-v3", supply_cap=str(2**36)))
    assert problems == [f"supply_cap must be at most {2**36 - 1} (tokens); it is {2**36}."]


def test_value_below_its_bound_is_refused_with_unit():
    assert messages("aave-v3", values("aave-v3", reserve_factor="-0.01")) == [
        "reserve_factor must be at least 0 (fraction); it is -0.01."
    ]


# -- Compound v3 --------------------------------------------------------------------------------


def test_compound_borrow_factor_equal_to_liquidate_factor_is_refused_per_asset():
    problems = schema.validate("compound-v3", asset("WBTC", borrow_collateral_factor="0.77"))
    assert [(p.key, p.message) for p in problems] == [
        (
            "assets.WBTC.borrow_collateral_factor",
            "WBTC: borrow_collateral_factor must be below liquidate_collateral_factor (0.77); it is 0.77.",
        )
    ]


def test_compound_borrow_factor_just_below_liquidate_factor_is_accepted():
    assert messages("compound-v3", asset("WBTC", borrow_collateral_factor="0.7699")) == []


def test_compound_liquidate_factor_above_one_is_refused_and_one_is_accepted():
    assert messages("compound-v3", asset("WETH", liquidate_collateral_factor="1.01")) == [
        "WETH: liquidate_collateral_factor must be at most 1; it is 1.01."
    ]
    assert messages("compound-v3", asset("WETH", liquidate_collateral_factor="1")) == []


def test_compound_store_front_factor_above_one_is_refused_and_one_is_accepted():
    assert messages("compound-v3", values("compound-v3", store_front_price_factor="1.2")) == [
        "store_front_price_factor must be at most 1; it is 1.2."
    ]
    assert messages("compound-v3", values("compound-v3", store_front_price_factor="1")) == []


# -- Maker --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,bad,good,expected",
    [
        ("chop", "0.99", "1", "chop must be at least 1 (a penalty, 1.13 = 13 %); it is 0.99."),
        ("buf", "0.99", "1", "buf must be at least 1 (the auction starts above the oracle); it is 0.99."),
        ("cut", "1.01", "1", "cut must be at most 1 (the price must fall per step); it is 1.01."),
        ("cusp", "0", "0.5", "cusp must be strictly between 0 and 1; it is 0."),
        ("cusp", "1", "0.999", "cusp must be strictly between 0 and 1; it is 1."),
        ("mat", "1", "1.01", "mat must be above 1 (a vault must be overcollateralized); it is 1."),
    ],
)
def test_maker_invariants_refuse_the_bad_side_and_accept_the_boundary(name, bad, good, expected):
    assert messages("maker-clip", values("maker-clip", **{name: bad})) == [expected]
    assert messages("maker-clip", values("maker-clip", **{name: good})) == []


def test_maker_seconds_must_be_whole():
    assert messages("maker-clip", values("maker-clip", tail="8400.5")) == [
        "tail must be a multiple of 1 (what the contract can hold); it is 8400.5."
    ]


def test_values_beyond_28_significant_digits_are_kept_exactly():
    hole = "40000000.000000000000000000000000000000000000000000001"  # 53 digits: 1 rad above 40M DAI
    v = values("maker-clip", hole=hole)
    assert json.loads(schema.canonical_json("maker-clip", v))["hole"] == hole
    assert schema.content_hash("maker-clip", v) != schema.content_hash("maker-clip", values("maker-clip"))
    rows = schema.diff("maker-clip", values("maker-clip"), v)
    assert rows[0].change == D("1e-45")


def test_maker_amounts_are_exact_at_rad_precision():
    assert (
        messages(
            "maker-clip", values("maker-clip", hole="40000000.000000000000000000000000000000000000000000001")
        )
        == []
    )
    assert messages("maker-clip", values("maker-clip", hole="1e-46")) != []


# -- Perp ---------------------------------------------------------------------------------------


def test_perp_maintenance_not_below_initial_in_a_tier_is_refused():
    assert messages("perp", tiers({}, {"maintenance_margin_fraction": "0.08"})) == [
        "Tier 2: maintenance_margin_fraction must be below initial_margin_fraction (0.08); it is 0.08."
    ]


def test_perp_floors_must_increase():
    assert messages("perp", tiers({}, {"notional_floor": "25000000"})) == [
        "Tier 3: notional_floor must be above tier 2's (25000000); it is 20000000."
    ]


def test_perp_first_floor_must_be_zero():
    assert messages("perp", tiers({"notional_floor": "1"})) == ["Tier 1: notional_floor must be 0; it is 1."]


def test_perp_maintenance_fraction_falling_across_tiers_is_refused():
    problems = messages("perp", tiers({}, {}, {"maintenance_margin_fraction": "0.03"}))
    assert problems == [
        "Tier 3: maintenance_margin_fraction must be at least tier 2's (0.04) so the continuous "
        "maintenance margin never falls as notional grows; it is 0.03."
    ]


def test_perp_deductions_make_the_maintenance_margin_continuous_at_every_floor():
    t = schema.normalize("perp", SEED["perp"])["tiers"]
    ded = schema.perp_deductions(t)
    assert ded == [D(0), D("100000"), D("1300000")]
    for i in range(1, len(t)):
        floor = t[i]["notional_floor"]
        below = floor * t[i - 1]["maintenance_margin_fraction"] - ded[i - 1]
        above = floor * t[i]["maintenance_margin_fraction"] - ded[i]
        assert below == above


# -- Shape and parsing --------------------------------------------------------------------------


def test_a_float_is_refused_because_it_is_not_exact():
    with pytest.raises(schema.SchemaError, match="not an exact decimal"):
        schema.normalize("aave-v3", {**SEED["aave-v3"], "ltv": 0.8})


@pytest.mark.parametrize("raw", ["abc", "NaN", "Infinity", "", None])
def test_non_numbers_are_refused(raw):
    with pytest.raises(schema.SchemaError):
        schema.parse_decimal(raw, "ltv")


def test_unknown_and_missing_parameters_are_refused():
    with pytest.raises(schema.SchemaError, match="unknown parameters for aave-v3: close_factor"):
        schema.normalize("aave-v3", {**SEED["aave-v3"], "close_factor": "0.5"})
    partial = {k: v for k, v in SEED["aave-v3"].items() if k != "ltv"}
    with pytest.raises(schema.SchemaError, match="missing parameters for aave-v3: ltv"):
        schema.normalize("aave-v3", partial)


def test_flatten_and_unflatten_are_inverse_for_nested_mechanisms():
    for mechanism in ("compound-v3", "perp", "morpho-blue"):
        v = schema.normalize(mechanism, SEED[mechanism])
        assert schema.normalize(mechanism, schema.unflatten(mechanism, schema.flatten(mechanism, v))) == v
    assert "assets.WBTC.supply_cap" in schema.flatten(
        "compound-v3", schema.normalize("compound-v3", SEED["compound-v3"])
    )


# -- Canonical JSON and hash --------------------------------------------------------------------


def test_trailing_zeros_and_key_order_do_not_change_the_hash():
    a = dict(SEED["aave-v3"], ltv="0.805", liquidation_threshold="0.83")
    b = dict(
        reversed(list({**SEED["aave-v3"], "ltv": "0.8050", "liquidation_threshold": D("0.830")}.items()))
    )
    assert schema.content_hash("aave-v3", a) == schema.content_hash("aave-v3", b)


def test_a_different_value_changes_the_hash():
    assert schema.content_hash("aave-v3", SEED["aave-v3"]) != schema.content_hash(
        "aave-v3", {**SEED["aave-v3"], "ltv": "0.8051"}
    )


def test_the_hash_is_sha256_of_sorted_compact_json_with_plain_decimal_strings():
    text = schema.canonical_json("maker-clip", SEED["maker-clip"])
    expected = dict(SEED["maker-clip"].items())
    expected.update(buf="1.2", cusp="0.4")  # normalized: no trailing zeros
    assert text == json.dumps(expected, sort_keys=True, separators=(",", ":"))
    assert '"hole":"40000000"' in text  # no exponent
    assert schema.content_hash("maker-clip", SEED["maker-clip"]) == hashlib.sha256(text.encode()).hexdigest()


# -- Diff ---------------------------------------------------------------------------------------


def test_diff_lists_changed_parameters_with_units_and_relative_change():
    rows = schema.diff(
        "aave-v3", values("aave-v3"), values("aave-v3", liquidation_threshold="0.8466", supply_cap="0")
    )
    assert [(r.key, r.unit, r.before, r.after, r.change) for r in rows] == [
        ("liquidation_threshold", schema.Unit.FRACTION, D("0.83"), D("0.8466"), D("0.0166")),
        ("supply_cap", schema.Unit.TOKENS, D("1800000"), D("0"), D("-1800000")),
    ]
    assert rows[0].relative_change == D("0.02")
    assert rows[1].relative_change == D(-1)


def test_diff_of_nested_values_names_the_asset_and_tier():
    rows = schema.diff("compound-v3", values("compound-v3"), asset("WETH", supply_cap="400000"))
    assert [(r.key, r.label) for r in rows] == [("assets.WETH.supply_cap", "WETH: Supply cap")]
    before = values("perp")
    after = {
        **before,
        "tiers": before["tiers"]
        + [
            {
                "notional_floor": D("50000000"),
                "initial_margin_fraction": D("0.3"),
                "maintenance_margin_fraction": D("0.15"),
            }
        ],
    }
    added = schema.diff("perp", before, after)
    assert [(r.label, r.before, r.after) for r in added][0] == ("Tier 4: Notional floor", None, D("50000000"))


def test_relative_change_from_zero_is_none():
    assert schema.DiffRow("x", "x", schema.Unit.TOKENS, D(0), D(5)).relative_change is None


# -- Guardrails ---------------------------------------------------------------------------------

RULES = {
    "liquidation_threshold": schema.GuardrailRule(D("0.05"), timedelta(days=3)),
    "supply_cap": schema.GuardrailRule(D("1.0"), None),
}


def guard(after: dict, last: dict | None = None) -> list[str]:
    return [
        p.message
        for p in schema.check_guardrails("aave-v3", values("aave-v3"), after, RULES, last or {}, NOW)
    ]


def test_an_absolute_change_at_the_limit_is_accepted():
    assert guard(values("aave-v3", liquidation_threshold="0.88", ltv="0.8")) == []
    assert guard(values("aave-v3", liquidation_threshold="0.78", ltv="0.7")) == []


def test_an_absolute_change_beyond_the_limit_names_parameter_limit_and_values():
    assert guard(values("aave-v3", liquidation_threshold="0.8801")) == [
        "liquidation_threshold: the change from 0.83 to 0.8801 (+0.0501) exceeds the guardrail of 0.05 "
        "(absolute) per proposal."
    ]


def test_a_relative_cap_change_up_to_the_limit_is_accepted_and_beyond_refused():
    assert guard(values("aave-v3", supply_cap="3600000")) == []
    assert guard(values("aave-v3", supply_cap="900000")) == []
    assert guard(values("aave-v3", supply_cap="3700000")) == [
        "supply_cap: the change from 1800000 to 3700000 (+105.5556 %) exceeds the guardrail of 100 % (relative) "
        "per proposal."
    ]


def test_a_relative_guardrail_refuses_a_change_to_no_cap():
    assert guard(values("aave-v3", supply_cap="0")) == [
        "supply_cap: the change from 1800000 to 0 cannot be measured against the relative guardrail of 100 % "
        "(0 means no cap)."
    ]


def test_a_change_within_the_minimum_delay_is_refused_and_after_it_accepted():
    after = values("aave-v3", liquidation_threshold="0.84")
    recent = {"liquidation_threshold": NOW - timedelta(days=2)}
    assert guard(after, recent) == [
        "liquidation_threshold last changed on 2026-11-22 12:00 UTC; the guardrail requires 3 days between changes "
        "(possible from 2026-11-25 12:00 UTC)."
    ]
    assert guard(after, {"liquidation_threshold": NOW - timedelta(days=3)}) == []


def test_a_parameter_without_guardrail_may_change_freely():
    assert guard(values("aave-v3", reserve_factor="0.9")) == []


def test_the_first_live_version_is_not_a_change_but_later_ones_are():
    t0, t1, t2 = NOW - timedelta(days=10), NOW - timedelta(days=5), NOW - timedelta(days=1)
    history = [
        (t0, values("aave-v3")),
        (t1, values("aave-v3", ltv="0.8")),
        (t2, values("aave-v3", ltv="0.8", supply_cap="2000000")),
    ]
    assert schema.last_changed_keys("aave-v3", history) == {"ltv": t1, "supply_cap": t2}


def test_engine_view_merges_market_and_one_collateral_asset():
    view = schema.engine_view("compound-v3", values("compound-v3"), "WBTC")
    assert view["liquidate_collateral_factor"] == D("0.77") and view["store_front_price_factor"] == D("0.6")
    with pytest.raises(schema.SchemaError, match="name one collateral asset"):
        schema.engine_view("compound-v3", values("compound-v3"), "DAI")


TARGET = next(m["target"] for m in MARKETS if m["mechanism"] == "compound-v3")


def test_a_compound_supply_cap_finer_than_the_tokens_decimals_is_refused():
    assert [
        p.message
        for p in schema.check_target("compound-v3", asset("WBTC", supply_cap="18000.000000001"), TARGET)
    ] == ["WBTC: supply_cap must be a multiple of 0.00000001 (WBTC has 8 decimals); it is 18000.000000001."]
    assert schema.check_target("compound-v3", asset("WBTC", supply_cap="18000.00000001"), TARGET) == []


def test_a_compound_collateral_asset_without_an_address_is_refused():
    v = values("compound-v3")
    v["assets"]["DAI"] = dict(v["assets"]["WETH"])
    assert [p.message for p in schema.check_target("compound-v3", v, TARGET)] == [
        "DAI: the market has no address for this collateral asset; it knows WBTC, WETH."
    ]


def test_compound_target_reserves_must_fit_the_base_tokens_decimals():
    assert [
        p.key
        for p in schema.check_target(
            "compound-v3", values("compound-v3", target_reserves="1.0000001"), TARGET
        )
    ] == ["target_reserves"]


def test_every_seeded_market_names_what_its_export_needs():
    for m in MARKETS:
        assert check_market_config(m["mechanism"], m["contracts"], m["target"]) == [], m["slug"]


def test_a_market_with_a_bad_checksum_or_missing_contract_is_refused():
    bad = "0x64b761D848206f447Fe2dd461b0c635Ec39EbB28"  # mixed case, last digit changed
    assert check_market_config("aave-v3", {"pool_configurator": bad}, {"asset": bad.lower()}) == [
        f"contracts.pool_configurator: {bad} has mixed case with a wrong EIP-55 checksum."
    ]
    assert check_market_config("maker-clip", {"spot": "0x12"}, {"ilk": "X" * 33}) == [
        "contracts: dog is required for maker-clip.",
        "contracts: clip is required for maker-clip.",
        "contracts: calc is required for maker-clip.",
        "contracts.spot: '0x12' is not a 20-byte hex address.",
        "target.ilk: an ASCII name of 1 to 32 bytes is required (bytes32); it is '" + "X" * 33 + "'.",
    ]
    weth = {"asset": "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "decimals": "18"}
    assert check_market_config(
        "compound-v3",
        {"configurator": bad.lower(), "proxy_admin": bad.lower()},
        {"comet": bad.lower(), "assets": {"WETH": weth}},
    ) == ["target.assets.WETH.decimals: an integer from 0 to 36 is required; it is '18'."]


def test_a_compound_backtest_asset_must_be_one_of_its_collateral_assets():
    addr = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
    contracts = {"configurator": addr, "proxy_admin": addr}
    target = {"comet": addr, "assets": {"WETH": {"asset": addr, "decimals": 18}}}
    assert check_market_config("compound-v3", contracts, {**target, "backtest_asset": "WETH"}) == []
    assert check_market_config("compound-v3", contracts, {**target, "backtest_asset": "WBTC"}) == [
        "target.backtest_asset: must be one of the collateral assets ['WETH']; it is 'WBTC'."
    ]
