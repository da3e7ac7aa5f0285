"""Properties of the canonical form (hypothesis): representation never changes the hash; the
canonical JSON reads back to the same values; diffs of a set with itself are empty."""

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from proposals import schema
from review.management.commands.seed_demo import MARKETS

AAVE = next(m["values"] for m in MARKETS if m["mechanism"] == "aave-v3")
decimals = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, allow_infinity=False, places=None
).filter(lambda d: abs(d.as_tuple().exponent) <= 40)


@settings(max_examples=60, deadline=None)
@given(value=decimals, zeros=st.integers(min_value=0, max_value=6))
def test_trailing_zeros_never_change_the_hash(value, zeros):
    padded = f"{schema.fmt(value)}{'.' if '.' not in schema.fmt(value) and zeros else ''}{'0' * zeros}"
    assert Decimal(padded) == value
    a = schema.content_hash("aave-v3", {**AAVE, "supply_cap": schema.fmt(value)})
    b = schema.content_hash("aave-v3", {**AAVE, "supply_cap": padded})
    assert a == b


@settings(max_examples=60, deadline=None)
@given(value=decimals)
def test_the_canonical_json_reads_back_to_the_same_values(value):
    original = schema.normalize("aave-v3", {**AAVE, "reserve_factor": value})
    again = schema.normalize("aave-v3", json.loads(schema.canonical_json("aave-v3", original)))
    assert again == original
    assert "E" not in schema.canonical_json("aave-v3", original)


@settings(max_examples=60, deadline=None)
@given(a=decimals, b=decimals)
def test_two_sets_hash_equally_exactly_when_their_values_are_equal(a, b):
    ha = schema.content_hash("aave-v3", {**AAVE, "ltv": a})
    hb = schema.content_hash("aave-v3", {**AAVE, "ltv": b})
    assert (ha == hb) == (a == b)
