"""The engine's one exception type."""


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
