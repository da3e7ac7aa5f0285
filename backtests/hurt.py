"""Who gets hurt: the positions of the run's book that the proposal makes liquidatable at the
starting price, and those it moves more than 5 % closer to liquidation (engine.health), with
their count, debt and collateral and the largest of them listed: the "new liquidations" risk
stewards put beside a parameter change. Computed once per run (backtests.services
.store_who_gets_hurt) and stored with it; the page only reads it."""

from __future__ import annotations

from typing import Any

import numpy as np

from backtests.compute import to_json
from engine import health

TOP = 20
# Per mechanism: what the health measure is called, and the names of a position's two sizes.
LABELS = {
    "aave-v3": ("health factor", "debt", "collateral"),
    "aave-v4": ("health factor", "debt", "collateral"),
    "compound-v3": ("liquidation margin ratio", "debt", "collateral"),
    "maker-clip": ("collateralization over mat", "debt", "collateral"),
    "perp": ("equity over maintenance margin", "notional", "margin"),
    "cross": ("health factor", "debt", "collateral"),
    "compound-v3-accounts": ("liquidation margin ratio", "debt", "collateral"),
    "morpho-blue": ("health at the market's LLTV", "debt", "collateral"),
}
GROUP_ORDER = {"liquidatable": 0, "closer": 1}


def _totals(mask: np.ndarray, debt: np.ndarray, collateral: np.ndarray) -> dict[str, float | int]:
    return {
        "count": int(mask.sum()),
        "debt": float(debt[mask].sum()),
        "collateral": float(collateral[mask].sum()),
    }


def who_gets_hurt(
    mechanism: str, live: Any, proposed: Any, book: Any, price: float, *, top: int = TOP
) -> dict[str, Any]:
    """The stored form (JSON) of who the proposal hurts at ``price``.

    live, proposed: the versions' engine Params; book: the engine Book of the run.
    Returns counts and sums of debt and collateral (USD) of the newly liquidatable positions,
    of those moved closer (after / before <= engine.health.CLOSER_RATIO) and of those already
    liquidatable under the live version, and the ``top`` largest affected positions by debt
    (newly liquidatable first), each with its row in the book and its health before and after.
    """
    change = health.compare_health(mechanism, live, proposed, book, price)
    debt, collateral = health.exposure(mechanism, book, price)
    already = np.isfinite(change.before) & (change.before < 1.0)
    affected = np.flatnonzero(change.newly_liquidatable | change.closer)
    group = np.where(change.newly_liquidatable[affected], 0, 1)
    order = affected[np.lexsort((-debt[affected], group))][:top]
    measure, debt_label, collateral_label = LABELS[mechanism]
    return to_json(
        {
            "price": price.tolist() if isinstance(price, np.ndarray) else float(price),
            "n_positions": int(debt.shape[0]),
            "closer_ratio": health.CLOSER_RATIO,
            "measure": measure,
            "debt_label": debt_label,
            "collateral_label": collateral_label,
            "newly_liquidatable": _totals(change.newly_liquidatable, debt, collateral),
            "closer": _totals(change.closer, debt, collateral),
            "already_liquidatable": _totals(already, debt, collateral),
            "top": [
                {
                    "position": int(i),
                    "group": "liquidatable" if change.newly_liquidatable[i] else "closer",
                    "debt": float(debt[i]),
                    "collateral": float(collateral[i]),
                    "before": float(change.before[i]),
                    "after": float(change.after[i]),
                }
                for i in order
            ],
        }
    )
