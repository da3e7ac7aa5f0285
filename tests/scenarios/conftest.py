from __future__ import annotations

from pathlib import Path

import pytest

PRICES = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "prices"


@pytest.fixture
def prices_dir() -> Path:
    assert PRICES.is_dir(), f"the shared price data must be at {PRICES.resolve()}"
    return PRICES


@pytest.fixture
def write(tmp_path: Path):
    """Write text to a file in tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.write_text(text)
        return p

    return _write
