"""One way to write a parameter: digits and a decimal point. A comma was once read as a
thousands separator (``1800,5`` saved as 18005, a hundredfold change)."""

from decimal import Decimal as D

import pytest

from proposals import schema


@pytest.mark.parametrize(
    "raw,value",
    [
        ("1800.5", D("1800.5")),
        ("0.06", D("0.06")),
        ("-2", D(-2)),
        (".5", D("0.5")),
        ("1e-18", D("1e-18")),
        (" 7 ", D(7)),
    ],
)
def test_plain_numbers_are_read_exactly(raw, value):
    assert schema.parse_decimal(raw, "supply_cap") == value


@pytest.mark.parametrize(
    "raw,shown",
    [
        ("1800,5", '"1800.5"'),
        ("0,06", '"0.06"'),
        ("1,800", '"1.8" or "1800"'),
        ("1,800,000", '"1800000"'),
        ("1.800.000,5", '"1800000.5"'),
        ("1 800 000", '"1800000"'),
        ("1_000", '"1000"'),
        ("1'000", '"1000"'),
    ],
)
def test_a_separator_is_refused_with_the_way_to_write_the_number(raw, shown):
    with pytest.raises(schema.SchemaError) as exc:
        schema.parse_decimal(raw, "supply_cap")
    assert str(exc.value) == (
        f"supply_cap: {raw!r} is not a plain number; write digits with a point for decimals and no "
        f"thousands separators: {shown}."
    )


def test_a_decimal_comma_is_never_read_as_a_thousands_separator():
    with pytest.raises(schema.SchemaError):
        schema.normalize("aave-v3", {**_aave(), "supply_cap": "1800,5"})


def test_text_that_is_no_number_gets_an_example():
    with pytest.raises(schema.SchemaError, match=r"e\.g\. 1800\.5 or 0\.06\.$"):
        schema.parse_decimal("six percent", "ltv")


def _aave() -> dict:
    return {
        "ltv": "0.805",
        "liquidation_threshold": "0.83",
        "liquidation_bonus": "0.05",
        "reserve_factor": "0.15",
        "liquidation_protocol_fee": "0.10",
        "supply_cap": "1800000",
        "borrow_cap": "1400000",
    }
