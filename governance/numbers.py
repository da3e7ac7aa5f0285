"""Numbers for people: how every page writes a figure (``$1.23M``, ``4.2 %``, ``1,235``).

Pure Python, no Django: the template filters of ``governance.templatetags.numbers`` and the
verdict's sentence (backtests.verdict) use these functions, so a figure reads the same in a
table cell, a sentence and a list. The exact value is never lost: pages put it in a ``title``
(hover) and a ``data-exact`` attribute (the CSV downloads), see ``exact``.

Rules (docs/review.md, "Numbers for people"):

- USD: ``$`` and a scale, K, M or B, with two decimals below 10 of the scale and one above
  (``$1.23M``, ``$169.5M``, ``$12.3K``); below a thousand, whole dollars (``$950``), cents
  below ten (``$3.47``). A difference carries its sign (``+$0.40M``, ``−$0.40M``).
- price (USD per unit): whole dollars with separators (``$3,000``), cents below $100.
- share (a probability, a fraction of something): a percentage with one decimal (``4.2 %``),
  two significant digits below 0.1 % (``0.042 %``); a difference of shares is in percentage
  points (``+1.2 pp``).
- count: whole numbers with thousands separators (``1,235``); a mean count under 10 keeps one
  decimal, so that 0.4 liquidations per path does not read as none.
- An interval is written in its figure's unit, scale and decimals (``[+$0.12M, +$0.75M]``).
- A missing value (none computed) is an em dash.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

MINUS = "\u2212"  # the typographic minus sign: "−$0.4M", not "-$0.4M"
DASH = "\u2014"
SCALES = ((1e9, "B"), (1e6, "M"), (1e3, "K"))
UNITS = ("USD", "price", "share", "count", "decimal")


def _sign(x: float, signed: bool) -> str:
    if x < 0:
        return MINUS
    return "+" if signed and x > 0 else ""


def _usd_scale(reference: float) -> tuple[float, str, int]:
    """(divisor, suffix, decimals) for USD amounts of the magnitude of ``reference``."""
    m = abs(reference)
    for divisor, suffix in SCALES:
        if m >= divisor * 0.9995:  # 999,600 is $1.00M, not $999.6K
            v = m / divisor
            return divisor, suffix, 2 if v < 9.995 else 1
    if m >= 9.995:
        return 1.0, "", 0
    return 1.0, "", 2


def usd(x: float | None, *, signed: bool = False, reference: float | None = None) -> str:
    """``$1.23M``; ``reference`` fixes the scale (an interval uses its figure's)."""
    if x is None or not math.isfinite(x):
        return DASH
    divisor, suffix, decimals = _usd_scale(x if reference is None else reference)
    text = f"{abs(x) / divisor:,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        # Nothing at this precision: no sign, and no scale unless an interval fixed one.
        return "$0" if reference is None else f"${text}{suffix}"
    return f"{_sign(x, signed)}${text}{suffix}"


def price(x: float | list[float] | None) -> str:
    """A price, not an amount: whole dollars with separators (``$3,000``), cents below $100.
    Several (a Comet market's collateral assets, in its order): each, comma-separated."""
    if isinstance(x, list | tuple):
        return ", ".join(price(v) for v in x)
    if x is None or not math.isfinite(x):
        return DASH
    m = abs(x)
    text = f"{m:,.0f}" if m >= 99.995 else f"{m:.2f}" if m >= 0.995 else f"{m:.4g}"
    return f"{_sign(x, False)}${text}"


def share(x: float | None, *, signed: bool = False) -> str:
    """``4.2 %`` for 0.042; a signed difference of shares is in percentage points: ``+1.2 pp``."""
    if x is None or not math.isfinite(x):
        return DASH
    pct = abs(x) * 100
    unit = "pp" if signed else "%"
    if pct == 0:
        return f"0 {unit}"
    if pct == 100 and not signed:
        return "100 %"
    text = f"{pct:.1f}" if pct >= 0.095 else f"{pct:.2g}"
    return f"{_sign(x, signed)}{text} {unit}"


def count(x: float | None, *, signed: bool = False) -> str:
    """``1,235``; one decimal for a non-whole value under 10 (``0.4``)."""
    if x is None or not math.isfinite(x):
        return DASH
    m = abs(x)
    text = f"{m:,.0f}" if m >= 9.95 or m == round(m) else f"{m:.1f}"
    if text in ("0", "0.0"):
        return "0"
    return f"{_sign(x, signed)}{text}"


def decimal(x: Decimal | float | int | None, *, signed: bool = False) -> str:
    """An exact parameter value with its integer part grouped: ``1,800,000``, ``0.835``."""
    if x is None:
        return DASH
    d = Decimal(x) if not isinstance(x, Decimal) else x
    text = exact(d)
    sign = MINUS if text.startswith("-") else "+" if signed and d > 0 else ""
    whole, dot, frac = text.lstrip("-").partition(".")
    return f"{sign}{int(whole):,}{dot}{frac}"


def number(x: Any, unit: str, *, signed: bool = False, reference: float | None = None) -> str:
    """Dispatch on ``unit`` (USD, share, count, decimal)."""
    if unit == "USD":
        return usd(None if x is None else float(x), signed=signed, reference=reference)
    if unit == "price":
        return price(None if x is None else x if isinstance(x, list | tuple) else float(x))
    if unit == "share":
        return share(None if x is None else float(x), signed=signed)
    if unit == "count":
        return count(None if x is None else float(x), signed=signed)
    if unit == "decimal":
        return decimal(x, signed=signed)
    raise ValueError(f"unit must be one of {UNITS}; got {unit!r}")


def interval(low: float | None, high: float | None, unit: str) -> str:
    """``[+$0.12M, +$0.75M]``: both ends signed, in one scale (the larger end's)."""
    if low is None or high is None:
        return ""
    reference = max(abs(low), abs(high))
    return f"[{number(low, unit, signed=True, reference=reference)}, {number(high, unit, signed=True, reference=reference)}]"


def exact(x: Any) -> str:
    """The exact value as text: the shortest repr that reads back to the same float, or a
    Decimal without exponent or trailing zeros; empty for none."""
    if x is None:
        return ""
    if isinstance(x, Decimal):
        if x == 0:
            return "0"
        return format(x.normalize(), "f")
    if isinstance(x, bool):
        return str(int(x))
    if isinstance(x, int):
        return str(x)
    if isinstance(x, list | tuple):
        # Several values (a Comet book's price per collateral asset): each, comma-separated.
        return ", ".join(exact(v) for v in x)
    f = float(x)
    if not math.isfinite(f):
        return ""
    return repr(f) if f != int(f) or abs(f) >= 1e16 else str(int(f))


def duration(seconds: float | None) -> str:
    """A delay for people: ``5 days``, ``1.5 days``, ``36 hours``, ``45 minutes``."""
    if seconds is None or not math.isfinite(seconds):
        return DASH
    s = float(seconds)
    if s >= 2 * 86400 or (s >= 86400 and s % 86400 == 0):
        n, unit = s / 86400, "day"
    elif s >= 3600:
        n, unit = s / 3600, "hour"
    else:
        n, unit = s / 60, "minute"
    text = f"{n:,.1f}".removesuffix(".0")
    return f"{text} {unit}{'' if text == '1' else 's'}"
