"""Types, exact decimals and their canonical text."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from enum import StrEnum
from functools import wraps
from typing import Any

from governance.guardrails import GuardrailKind

# Arithmetic on parameter values must not round: Python's default context keeps 28 significant
# digits, and a Maker amount in rad has up to 45 decimals. Every function here that computes on
# values runs in this context (parse_decimal caps values at 80 digits, so 200 is exact).
EXACT = Context(prec=200)


def exact(func: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with localcontext(EXACT):
            return func(*args, **kwargs)

    return wrapper


class Unit(StrEnum):
    FRACTION = "fraction"
    RATIO = "ratio"
    TOKENS = "tokens"
    USD = "USD"
    SECONDS = "seconds"


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    label: str
    unit: Unit
    min: Decimal | None
    max: Decimal | None
    description: str
    guardrail: GuardrailKind
    # The smallest increment the contract can hold (1 bp for Aave's bps fields, 1 wad/ray unit,
    # 1 second): a value that is not a multiple would be rounded by the export, so it is refused.
    step: Decimal | None = None
    # A parameter added after versions were stored: a stored version without it is read with
    # this value (the engine's "off" value, which gives the results from before it existed).
    # None: every version carries the parameter. A new version must carry it in any case.
    default: Decimal | None = None


@dataclass(frozen=True)
class Violation:
    """A broken rule: ``key`` is the parameter's flat key ("" for the whole set)."""

    key: str
    message: str

    def __str__(self) -> str:
        return self.message


class SchemaError(ValueError):
    """The values do not have the mechanism's shape (unknown, missing or non-decimal values)."""


@dataclass(frozen=True)
class Group:
    """A repeated group of parameters: collateral assets (by symbol) or margin tiers (by index)."""

    name: str  # "assets" or "tiers"
    label: str  # "Collateral asset" or "Tier"
    params: tuple[ParameterSpec, ...]
    keyed_by_index: bool  # True for a list (tiers), False for a mapping (assets)


@dataclass(frozen=True)
class MechanismSchema:
    mechanism: str
    params: tuple[ParameterSpec, ...]
    group: Group | None
    invariants: Callable[[Mapping[str, Any]], list[Violation]]


D = Decimal
BP = D("0.0001")
WAD = D("1e-18")
RAY = D("1e-27")
RAD = D("1e-45")
ONE_SECOND = D(1)
WHOLE = D(1)


# -- Decimals -----------------------------------------------------------------------------------


# The one way a number is written: an optional sign, digits, and an optional decimal point
# followed by digits, optionally in scientific notation (1e-18). No thousands separators of any
# kind: "1,800" is 1.8 in half the world and 1800 in the other half, and "1800,5" read as 18005
# once changed a supply cap a hundredfold. Anything else is refused with the way to write it.
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def parse_decimal(raw: Any, key: str = "value") -> Decimal:
    """An exact decimal from a string, int or Decimal; floats, NaN and infinities are refused.

    A string must be written as NUMBER (``1800.5``, ``0.06``, ``-2``, ``1e-18``): a comma, a
    space, an underscore or an apostrophe is refused with a message that shows how to write it.
    """
    if isinstance(raw, bool) or isinstance(raw, float):
        raise SchemaError(f'{key}: {raw!r} is not an exact decimal; write it as a string such as "0.825".')
    if isinstance(raw, str):
        text = raw.strip()
        if not NUMBER.fullmatch(text):
            raise SchemaError(f"{key}: {raw!r} is not a plain number; {how_to_write(text)}")
        value = Decimal(text)
    elif isinstance(raw, (int, Decimal)):
        value = Decimal(raw)
    else:
        raise SchemaError(f"{key}: {raw!r} is not a number.")
    if not value.is_finite():
        raise SchemaError(f"{key}: {raw!r} is not a finite number.")
    if abs(value.as_tuple().exponent) > 60 or len(value.as_tuple().digits) > 80:
        raise SchemaError(f"{key}: {raw!r} has too many digits.")
    return value


def how_to_write(text: str) -> str:
    """What to type instead of ``text``: the readings a separator allows, each in NUMBER form."""
    rule = "write digits with a point for decimals and no thousands separators"
    readings = []
    if re.fullmatch(r"[+-]?\d+,\d+", text):
        # One comma: a decimal comma (1800,5) or a thousands separator (1,800).
        readings.append(text.replace(",", "."))
        if re.fullmatch(r"[+-]?\d{1,3},\d{3}", text):
            readings.append(text.replace(",", ""))
    elif re.fullmatch(r"[+-]?\d{1,3}([,.' _\u00a0\u202f])\d{3}(\1\d{3})*(?:[.,]\d+)?", text):
        # Grouped thousands (1,800,000 or 1.800.000 or 1 800 000), maybe with decimals.
        sep = re.search(r"\d([,.' _\u00a0\u202f])\d{3}", text).group(1)
        whole, _, frac = text.replace(sep, "").partition("," if sep == "." else ".")
        readings.append(f"{whole}.{frac}" if frac else whole)
    if not readings:
        return f"{rule}, e.g. 1800.5 or 0.06."
    examples = " or ".join(f'"{fmt(Decimal(r))}"' for r in dict.fromkeys(readings))
    return f"{rule}: {examples}."


@exact
def fmt(value: Decimal) -> str:
    """The canonical text of a decimal: no exponent, no trailing zeros ("0.83", "40000000")."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


@exact
def is_multiple(value: Decimal, step: Decimal) -> bool:
    quotient = value / step
    return quotient == quotient.to_integral_value()
