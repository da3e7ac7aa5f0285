"""Everything in this folder drives a browser (fixtures: tests/browser.py)."""

from typing import Any

import pytest


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    # Everything in this folder drives a browser: mark it, so `-m "not e2e"` leaves it out even
    # when a test forgets its marker.
    for item in items:
        if "/tests/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)
