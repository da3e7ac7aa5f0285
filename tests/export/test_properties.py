"""Round trips (hypothesis): random valid parameter changes encode, decode back from the calldata
and from the batch file, and compare equal to the vote; random invalid values are refused with
a message naming the parameter. No database."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from proposals.export import (
    ExportError,
    batch_file,
    batch_transactions,
    build_export,
    changed_keys,
    decode_back,
    require_match,
)
from proposals.export.aave import aave_calls
from proposals.export.maker import maker_calls
from proposals.schema import flatten, normalize
from review.management.commands.seed_demo import DEMO_SAFE, MARKETS

SPEC = {m["mechanism"]: m for m in MARKETS}
AAVE, COMPOUND, MAKER = SPEC["aave-v3"], SPEC["compound-v3"], SPEC["maker-clip"]
FAST = settings(max_examples=60, deadline=None)


def scaled(places: int, lo: int, hi: int) -> st.SearchStrategy[Decimal]:
    """Decimals ``n / 10**places`` for whole ``n`` in [lo, hi]."""
    return st.integers(lo, hi).map(lambda n: Decimal(n).scaleb(-places))


@st.composite
def aave_values(draw: st.DrawFn) -> dict[str, str]:
    lt = draw(st.integers(1, 9500))
    ltv = draw(st.integers(0, lt))
    bonus = draw(st.integers(1, min(10_000, max(1, 10_000 * 10_000 // lt - 10_000))))
    caps = st.integers(0, 2**36 - 1)
    return {
        "ltv": str(Decimal(ltv).scaleb(-4)),
        "liquidation_threshold": str(Decimal(lt).scaleb(-4)),
        "liquidation_bonus": str(Decimal(bonus).scaleb(-4)),
        "reserve_factor": str(draw(scaled(4, 0, 10_000))),
        "liquidation_protocol_fee": str(draw(scaled(4, 0, 10_000))),
        "supply_cap": str(draw(caps)),
        "borrow_cap": str(draw(caps)),
    }


@st.composite
def compound_values(draw: st.DrawFn) -> dict:
    assets = {}
    for symbol in ("WETH", "WBTC"):
        liquidate = draw(st.integers(2, 10_000))
        assets[symbol] = {
            "borrow_collateral_factor": str(Decimal(draw(st.integers(1, liquidate - 1))).scaleb(-4)),
            "liquidate_collateral_factor": str(Decimal(liquidate).scaleb(-4)),
            "liquidation_factor": str(Decimal(draw(st.integers(0, 10_000))).scaleb(-4)),
            "supply_cap": str(draw(st.integers(0, 2**64 - 1))),  # Comet keeps whole tokens in a uint64
        }
    front = draw(scaled(18, 0, 10**18))
    return {"store_front_price_factor": str(front), "target_reserves": "5000000", "assets": assets}


@st.composite
def maker_values(draw: st.DrawFn) -> dict[str, str]:
    return {
        "mat": str(draw(scaled(27, 10**27 + 1, 10 * 10**27))),
        "chop": str(draw(scaled(18, 10**18, 2 * 10**18))),
        "hole": str(draw(scaled(45, 0, 10**53))),
        "buf": str(draw(scaled(27, 10**27, 10 * 10**27))),
        "tail": str(draw(st.integers(0, 10**9))),
        "cusp": str(draw(scaled(27, 1, 10**27 - 1))),
        "chip": str(draw(scaled(18, 0, 10**18))),
        "tip": str(draw(scaled(45, 0, 10**50))),
        "cut": str(draw(scaled(27, 0, 10**27))),
        "step": str(draw(st.integers(1, 10**6))),
        "dust": MAKER["values"]["dust"],
    }


def export(spec: dict, after: dict):
    market = {k: spec[k] for k in ("mechanism", "contracts", "target")}
    return build_export(
        market,
        spec["values"],
        after,
        safe=DEMO_SAFE,
        chain_id=1,
        nonce=5,
        safe_version="1.3.0",
        created_at_ms=1,
    )


def check_round_trip(spec: dict, after: dict) -> None:
    mechanism = spec["mechanism"]
    old, new = (
        flatten(mechanism, normalize(mechanism, spec["values"])),
        flatten(mechanism, normalize(mechanism, after)),
    )
    changed = changed_keys(old, new)
    try:
        result = export(spec, after)
    except ExportError as exc:
        assert not changed and str(exc).startswith("nothing changed"), exc
        return
    assert all(row.ok for row in result.rows)
    assert {row.key for row in result.rows} >= set(changed)
    assert {row.key for row in result.rows if old[row.key] != new[row.key]} == set(changed)
    # The batch file a signer imports carries exactly the same calldata.
    assert [data for _, _, data in batch_transactions(result.batch)] == [c.data for c in result.calls]


@FAST
@given(aave_values())
def test_random_valid_aave_changes_round_trip(after):
    check_round_trip(AAVE, after)


@FAST
@given(compound_values())
def test_random_valid_compound_changes_round_trip(after):
    check_round_trip(COMPOUND, after)


@FAST
@given(maker_values())
def test_random_valid_maker_changes_round_trip(after):
    check_round_trip(MAKER, after)


@FAST
@given(
    st.sampled_from(["reserve_factor", "liquidation_protocol_fee", "supply_cap", "borrow_cap"]),
    st.integers(1, 99_999),  # below 1 bp, so never a whole number of bps or tokens
)
def test_a_value_the_contract_would_truncate_is_refused_by_name(key, n):
    value = (Decimal(AAVE["values"][key]) + Decimal(n).scaleb(-9)).normalize()
    try:
        aave_calls(AAVE["contracts"], AAVE["target"], AAVE["values"], {**AAVE["values"], key: str(value)})
    except ExportError as exc:
        assert str(exc).startswith(f"{key}: {value:f} is not exactly representable")
    else:
        raise AssertionError(f"{key}={value} was accepted")


@FAST
@given(st.sampled_from(["mat", "hole", "tail", "chip", "tip", "step", "cut"]), st.integers(1, 10**9))
def test_a_negative_maker_value_is_refused_by_name(key, n):
    after = {**MAKER["values"], key: str(-n)}
    try:
        maker_calls(MAKER["contracts"], MAKER["target"], MAKER["values"], after)
    except ExportError as exc:
        assert str(exc).startswith(f"{key}: -{n} is negative")
    else:
        raise AssertionError(f"{key}=-{n} was accepted")


@FAST
@given(aave_values())
def test_a_batch_file_read_back_encodes_the_same_calls_and_its_checksum_validates(after):
    calls = aave_calls(AAVE["contracts"], AAVE["target"], AAVE["values"], after)
    if not calls:
        return
    batch = batch_file(calls, chain_id=1, safe=DEMO_SAFE, created_at_ms=1, name="x")
    assert batch_transactions(batch) == [(c.to, c.value, c.data) for c in calls]
    # Changed means changed in value: "0.1000" is the live "0.10".
    changed = [k for k in after if Decimal(after[k]) != Decimal(AAVE["values"][k])]
    require_match(decode_back(calls, after), changed)
