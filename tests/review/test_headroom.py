"""The guardrail headroom the parameter diff shows (review.pages)."""

from decimal import Decimal
from unittest import mock

from proposals import schema
from review.pages import _line


def test_a_relative_headroom_that_is_a_repeating_decimal_is_shown_to_a_hundredth_of_a_percent():
    # 120M -> 100M is -1/6: a guardrail of 200 % leaves 183.33... %, shown rounded down.
    row = schema.DiffRow(
        key="markets.wstETH-86.vault_supply",
        label="Vault supply",
        unit=schema.Unit.USD,
        before=Decimal("120000000"),
        after=Decimal("100000000"),
    )
    guardrail = mock.Mock(max_change=Decimal("2"), kind=schema.GuardrailKind.RELATIVE)
    line = _line(row, guardrail)
    assert line.left == "183.33 %"
    assert line.guardrail == "\u00b1200 %"
