"""Checks and preparation of a kernel's inputs, shared by every mechanism module."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from engine.errors import EngineError
from engine.market import DynamicThreshold


def dynamic_from_value(value: object) -> DynamicThreshold | None:
    """``dynamic`` from None, a DynamicThreshold or a dict of its fields (unknown names rejected)."""
    if value is None or isinstance(value, DynamicThreshold):
        return value
    if isinstance(value, dict):
        names = {f.name for f in fields(DynamicThreshold)}
        bad = sorted(set(value) - names)
        if bad:
            raise EngineError(f"unknown dynamic parameter {bad[0]!r}; allowed: {sorted(names)}")
        return DynamicThreshold(**value)
    raise EngineError(f"dynamic must be a dict of DynamicThreshold fields or None; got {value!r}")


def params_kwargs(cls: type, d: dict, mechanism: str, *, extra: frozenset[str] = frozenset()) -> dict:
    """Keyword arguments for the mechanism's ``Params`` from a plain dict (JSON): unknown names
    are rejected (``extra`` names are let through for the caller), ``dynamic`` may be a dict."""
    names = {f.name for f in fields(cls)} | set(extra)
    unknown = sorted(set(d) - names)
    if unknown:
        raise EngineError(f"unknown {mechanism} parameter {unknown[0]!r}; allowed: {sorted(names)}")
    kw = dict(d)
    if "dynamic" in kw:
        kw["dynamic"] = dynamic_from_value(kw["dynamic"])
    return kw


def price_array(prices: object) -> np.ndarray:
    """``prices`` as a contiguous float64 array, or EngineError for ragged rows and non-numbers.

    numpy refuses a ragged list with "inhomogeneous shape"; this names the rows instead.
    """
    try:
        return np.ascontiguousarray(prices, dtype=np.float64)
    except (TypeError, ValueError):
        rows = prices if isinstance(prices, list | tuple) else None
        if rows and all(hasattr(r, "__len__") for r in rows):
            lengths = [len(r) for r in rows]  # type: ignore[arg-type]
            if len(set(lengths)) > 1:
                i = next(i for i, n in enumerate(lengths) if n != lengths[0])
                raise EngineError(
                    f"prices must have the same number of steps on every path; path 0 has "
                    f"{lengths[0]} prices, path {i} has {lengths[i]}"
                ) from None
        raise EngineError(
            f"prices must be numbers in a (M paths, T+1 steps) array; got {type(prices).__name__}"
        ) from None


def check_prices(prices: np.ndarray) -> np.ndarray:
    """``prices`` as contiguous float64[M, T+1], finite and > 0, at least one path, or EngineError."""
    s = price_array(prices)
    if s.ndim != 2 or s.shape[1] < 1:
        raise EngineError(f"prices must be a 2-d array (M paths, T+1 steps); got shape {s.shape}")
    if s.shape[0] == 0:
        raise EngineError("prices has no paths (M = 0): give at least one price path")
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise EngineError("prices must be finite and > 0 everywhere")
    return s


def screening_order(
    collateral: np.ndarray, debt: np.ndarray, weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows sorted by ``key = debt / collateral`` descending (int64[N]), their keys, and how many have debt.

    No collateral with debt gives ``key = inf`` (liquidatable at any price); rows without debt
    get ``-inf``, sort last and are never visited. ``weight``: per-row thresholds the key is
    divided by after the ratio, ``(debt / collateral) / weight`` (Morpho's per-market LLTV): the
    product ``collateral * weight`` would lose the precision of a subnormal collateral.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = debt / collateral if weight is None else debt / collateral / weight
        key = np.where(debt > 0, ratio, -np.inf)
    order = np.argsort(-key, kind="stable").astype(np.int64)
    return order, np.ascontiguousarray(key[order]), int(np.count_nonzero(debt > 0))


def set_book_arrays(book: object, ndim: dict[str, int]) -> None:
    """Check a (frozen dataclass) book's arrays and store them back as C-contiguous float64.

    ``ndim`` names each field and its dimensions (1: one value per row; 2: a row of values per
    row, as cross-margin collateral per asset). Every array must have that many dimensions, all
    the same number of rows (and a 2-d one at least one column), and only finite values >= 0.
    EngineError names the field, and for a bad value its row.
    """
    arrays = {name: np.ascontiguousarray(getattr(book, name), dtype=np.float64) for name in ndim}
    rows = {a.shape[0] if a.ndim else -1 for a in arrays.values()}
    if (
        any(a.ndim != ndim[name] for name, a in arrays.items())
        or len(rows) != 1
        or any(a.ndim == 2 and a.shape[1] < 1 for a in arrays.values())
    ):
        names = " and ".join(f"book.{name}" for name in ndim)
        if set(ndim.values()) == {1}:
            want = "1-d arrays of one length"
        else:
            want = "arrays of one number of rows: " + ", ".join(
                f"{name} float64[{'N' if n == 1 else 'N, A'}]" for name, n in ndim.items()
            )
        shapes = " and ".join(str(a.shape) for a in arrays.values())
        raise EngineError(f"{names} must be {want}; got shapes {shapes}")
    for name, a in arrays.items():
        bad = ~(np.isfinite(a) & (a >= 0))
        if np.any(bad):
            row = int(np.argwhere(bad)[0][0])
            raise EngineError(f"book.{name} must be finite and >= 0; got {float(a[bad][0])!r} (row {row})")
        object.__setattr__(book, name, a)


def book_kwargs(d: dict, names: tuple[str, ...], mechanism: str) -> dict[str, np.ndarray]:
    """The arrays ``names`` of a book given as a dict of arrays (e.g. from a stored book), as
    float64; EngineError naming the first one missing."""
    for key in names:
        if key not in d:
            raise EngineError(f"{mechanism} book needs array {key!r}; got keys {sorted(d)}")
    return {key: np.asarray(d[key], dtype=np.float64) for key in names}
