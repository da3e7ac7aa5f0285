"""The engine's one exception type, and the checks of values at its entry."""

from dataclasses import fields


class EngineError(ValueError):
    """Bad input to the engine: the message names the parameter, its range and the value."""


def check_range(
    name: str,
    value: float,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> None:
    """Raise EngineError unless ``lo <= value <= hi`` (open ends when asked).

    >>> check_range("liquidation_threshold", 1.2, 0, 1)
    Traceback (most recent call last):
    ...
    engine.errors.EngineError: liquidation_threshold must be in [0, 1]; got 1.2
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise EngineError(f"{name} must be a number; got {value!r}") from None
    if v != v:
        raise EngineError(f"{name} must be a number; got NaN")
    bad = (lo is not None and (v <= lo if lo_open else v < lo)) or (
        hi is not None and (v >= hi if hi_open else v > hi)
    )
    if bad:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        lo_s = "-inf" if lo is None else f"{lo:g}"
        hi_s = "inf" if hi is None else f"{hi:g}"
        raise EngineError(f"{name} must be in {left}{lo_s}, {hi_s}{right}; got {value!r}")


def coerce_numbers(obj: object) -> None:
    """Make a frozen dataclass's numeric fields numbers, or raise EngineError naming the field.

    Called first in each parameter dataclass's ``__post_init__``, so that a value read from
    text or JSON (``liquidation_threshold="0.825"``) is converted once at the entry and a value
    that is no number (``"0,825"``, ``None``, ``True``) is refused with its name, instead of a
    raw TypeError deep in a check or a string kept in a float field. Fields annotated ``float``
    become float; ``int`` fields take integers or integral numbers (``"3"``, ``3.0``);
    ``tuple[float, ...]`` fields become tuples of floats. Booleans are no numbers here.
    """
    for f in fields(obj):  # type: ignore[arg-type]
        t = f.type
        kind = t if isinstance(t, str) else t.__name__ if isinstance(t, type) else str(t)
        value = getattr(obj, f.name)
        if kind == "float":
            object.__setattr__(obj, f.name, _number(f.name, value))
        elif kind == "int":
            object.__setattr__(obj, f.name, _integer(f.name, value))
        elif kind == "tuple[float, ...]":
            if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
                raise EngineError(f"{f.name} must be a list of numbers; got {value!r}")
            items = tuple(_number(f"{f.name}[{i}]", v) for i, v in enumerate(value))
            object.__setattr__(obj, f.name, items)


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or value is None:
        raise EngineError(f"{name} must be a number; got {value!r}")
    try:
        return float(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise EngineError(f"{name} must be a number; got {value!r}") from None


def _integer(name: str, value: object) -> int:
    v = _number(name, value)
    if v != v or v in (float("inf"), float("-inf")) or v != int(v):
        raise EngineError(f"{name} must be a whole number; got {value!r}")
    return int(v)
