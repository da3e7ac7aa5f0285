"""The place on the proposal page where other apps show their results.

If the ``backtests`` app is installed and has ``backtests.panels.proposal_panel(*, proposal,
user) -> dict | None`` returning ``{"template": "...", **context}``, the proposal page includes
that template (inside ``templates/proposals/_backtest_panel.html``) with that context; otherwise
the panel renders nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from proposals.models import Proposal


def backtest_panel(*, proposal: Proposal, user: AbstractBaseUser | AnonymousUser) -> dict[str, Any] | None:
    if not apps.is_installed("backtests"):
        return None
    try:
        module = importlib.import_module("backtests.panels")
    except ModuleNotFoundError:
        return None
    build = getattr(module, "proposal_panel", None)
    return build(proposal=proposal, user=user) if build is not None else None
