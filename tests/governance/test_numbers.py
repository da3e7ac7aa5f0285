"""Numbers for people: the same figure reads the same on every page, exact on hover and in CSV."""

from decimal import Decimal as D

import pytest
from django.template import Context, Template

from governance import numbers


@pytest.mark.parametrize(
    "x,text",
    [
        (0, "$0"),
        (0.004, "$0"),
        (3.4712, "$3.47"),
        (950.2, "$950"),
        (12_345, "$12.3K"),
        (999_600, "$1.00M"),
        (1_234_567, "$1.23M"),
        (169_530_260.2404, "$169.5M"),
        (1.5e10, "$15.0B"),
        (-400_000, "\u2212$400.0K"),
        (None, "\u2014"),
        (float("nan"), "\u2014"),
    ],
)
def test_dollars_are_scaled_with_two_or_one_decimals(x, text):
    assert numbers.usd(x) == text


def test_a_difference_carries_its_sign_and_zero_carries_none():
    assert numbers.usd(400_000, signed=True) == "+$400.0K"
    assert numbers.usd(-1_234_567, signed=True) == "\u2212$1.23M"
    assert numbers.usd(0.0, signed=True) == "$0"


@pytest.mark.parametrize(
    "x,text,signed",
    [
        (0.03, "3.0 %", False),
        (0.042, "4.2 %", False),
        (1.0, "100 %", False),
        (0.0004, "0.04 %", False),
        (0.0, "0 %", False),
        (0.012, "+1.2 pp", True),
        (-0.012, "\u22121.2 pp", True),
        (0.0, "0 pp", True),
    ],
)
def test_shares_are_percentages_and_their_differences_percentage_points(x, text, signed):
    assert numbers.share(x, signed=signed) == text


def test_counts_have_no_decimals_but_a_small_mean_keeps_one():
    assert numbers.count(426.8) == "427"
    assert numbers.count(12_345.6) == "12,346"
    assert numbers.count(3.0) == "3"
    assert numbers.count(0.4) == "0.4"
    assert numbers.count(-0.3, signed=True) == "\u22120.3"


def test_an_interval_is_in_its_figures_unit_and_scale():
    assert numbers.interval(164_155.7051, 1_055_113.7346, "USD") == "[+$0.16M, +$1.06M]"
    assert numbers.interval(-0.002, 0.03, "share") == "[\u22120.2 pp, +3.0 pp]"
    assert numbers.interval(None, 1.0, "USD") == ""


def test_parameter_values_are_exact_with_their_integer_part_grouped():
    assert numbers.decimal(D("1800000")) == "1,800,000"
    assert numbers.decimal(D("0.8350")) == "0.835"
    assert numbers.decimal(D("1E-18")) == "0.000000000000000001"


def test_the_exact_value_reads_back_to_the_same_number():
    assert numbers.exact(169_530_260.2404) == "169530260.2404"
    assert float(numbers.exact(0.1 + 0.2)) == 0.1 + 0.2
    assert numbers.exact(1e6) == "1000000"
    assert numbers.exact(None) == ""


def test_the_tags_put_the_exact_value_in_the_title_and_the_csv_attribute():
    html = Template(
        '{% load numbers %}{% num x "USD" %} {% num d "share" signed=True %} {% num_interval lo hi "USD" %}'
        " {{ x|usd }} {{ p|pct }} {{ c|count }} {{ x|fig:'USD' }}"
    ).render(Context({"x": 169_530_260.2404, "d": 0.012, "lo": 1.0e5, "hi": 2.5e5, "p": 0.042, "c": 426.8}))
    assert '<span class="n" title="169530260.2404 USD" data-exact="169530260.2404">$169.5M</span>' in html
    assert 'data-exact="0.012">+1.2 pp</span>' in html
    assert 'data-exact="[100000, 250000]">[+$100.0K, +$250.0K]</span>' in html
    assert html.endswith(" $169.5M 4.2 % 427 $169.5M")


def test_a_price_is_whole_dollars_with_separators():
    assert numbers.price(3000.0) == "$3,000"
    assert numbers.price(42.5) == "$42.50"
