"""Named stress windows of real history and the standard scenario pack built on them.

Dates and levels: shared/data/prices/README.md ("Stress windows covered", "Price checks").
The suggested conditions are the project's choices (scaled from the market's normal depth),
not measured figures: a crash day is modelled with thinner order books, dearer gas and, on
2020-03-12, a congested (late) oracle. Oracle times are seconds (margin-engine.md section 6).

A perpetual's pack (``perp=True``) gives its crash scenarios the perp's premium over its index
(``CRASH_PREMIUM``, engine.scenarios.premium), which its funding reads: the perp gaps to a
discount with the crash and reverts. Other markets' packs have none, so their specs (and
stored figures) are as before.

A replay's description states the fall it reaches: ``describe_replay`` measures it on the
replay itself (four steps a bar, so from the highs to the lows) and beside it the fall of the
closes alone, which a replay of closes would have shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import EngineError
from engine.scenarios.generate import generate
from engine.scenarios.history import STEPS_PER_BAR, History, max_drawdown
from engine.scenarios.spec import validate_spec


@dataclass(frozen=True)
class StressWindow:
    """A named window of real history around a stress day.

    date: the stress day (UTC); start, end: ISO UTC times of the first and last bar replayed.
    depth_factor: suggested depth as a fraction of the market's normal depth.
    gas_cost_usd, gas_spike: suggested liquidation gas cost and its growth with drawdown
        (engine.market.Liquidators). oracle_latency_seconds: suggested oracle staleness.
    """

    name: str
    date: str
    start: str
    end: str
    description: str
    depth_factor: float
    gas_cost_usd: float
    gas_spike: float
    oracle_latency_seconds: int = 0

    @property
    def window(self) -> dict:
        return {"start": self.start, "end": self.end}

    def conditions(self, depth_usd: float | None) -> dict:
        """Suggested spec["conditions"] for a market whose normal depth is ``depth_usd``."""
        return {
            "depth_usd": None if depth_usd is None else depth_usd * self.depth_factor,
            "gas_cost_usd": self.gas_cost_usd,
            "gas_spike": self.gas_spike,
            "oracle": {
                "latency_seconds": self.oracle_latency_seconds,
                "deviation": 0.005,
                "heartbeat_seconds": 86400,
            },
        }


STRESS_WINDOWS: dict[str, StressWindow] = {
    w.name: w
    for w in (
        StressWindow(
            "black-thursday",
            "2020-03-12",
            "2020-03-11T00:00:00Z",
            "2020-03-14T00:00:00Z",
            "ETH fell from about 200 on 03-11 to a low of 86 (03-13 02:00); Ethereum congested, "
            "gas spiked, Maker keepers failed and auctions cleared at zero bids.",
            depth_factor=0.25,
            gas_cost_usd=100.0,
            gas_spike=5.0,
            oracle_latency_seconds=3600,
        ),
        StressWindow(
            "may-2021",
            "2021-05-19",
            "2021-05-18T00:00:00Z",
            "2021-05-21T00:00:00Z",
            "China mining crackdown sell-off: ETH low 1888, BTC low 30000 on 05-19.",
            depth_factor=0.5,
            gas_cost_usd=60.0,
            gas_spike=3.0,
        ),
        StressWindow(
            "luna-ust",
            "2022-05-09",
            "2022-05-07T00:00:00Z",
            "2022-05-14T00:00:00Z",
            "UST depeg and LUNA collapse; ETH low 1800 on 05-12.",
            depth_factor=0.5,
            gas_cost_usd=40.0,
            gas_spike=2.0,
        ),
        StressWindow(
            "steth-3ac",
            "2022-06-13",
            "2022-06-10T00:00:00Z",
            "2022-06-20T00:00:00Z",
            "stETH discount, Celsius and Three Arrows Capital; ETH under 900 on 06-18.",
            depth_factor=0.5,
            gas_cost_usd=30.0,
            gas_spike=2.0,
        ),
        StressWindow(
            "ftx",
            "2022-11-08",
            "2022-11-06T00:00:00Z",
            "2022-11-11T00:00:00Z",
            "FTX insolvency; ETH low 1073 on 11-09.",
            depth_factor=0.5,
            gas_cost_usd=20.0,
            gas_spike=2.0,
        ),
        StressWindow(
            "aug-2024",
            "2024-08-05",
            "2024-08-03T00:00:00Z",
            "2024-08-07T00:00:00Z",
            "Yen carry-trade unwind: ETH low 2111 at 01:10, BTC 49000 at 06:24 on 08-05 "
            "(1m data exist for that day).",
            depth_factor=0.5,
            gas_cost_usd=5.0,
            gas_spike=2.0,
        ),
    )
}

# The perp's premium over its index in a crash (the project's choice, of the order perpetual
# venues' funding showed in sell-offs, not a fit): on average 0.005 % below the index, a
# long-run standard deviation of 0.05 %, a fifth of the gap closed an hour (half-life about 3
# hours) and moving with the index (correlation 0.6), so a -30 % or -45 % step takes the perp
# some 0.4 % under it. With hourly funding, shorts pay longs about 0.4 % in the crash's hour,
# some 2 % over the following day, and about 5 % of their notional over a 30-day horizon.
CRASH_PREMIUM = {"mean": -0.00005, "stdev": 0.0005, "reversion": 0.2, "correlation": 0.6}
PREMIUM_NOTE = (
    "The perp trades at a discount to its index that moves with it and reverts (premium mean "
    "-0.005 %, sd 0.05 %, a fifth of the gap closed an hour, correlation 0.6 with the index): its "
    "funding has shorts pay longs."
)


def with_crash_premium(spec: dict) -> dict:
    """``spec`` with ``CRASH_PREMIUM`` and a description that says so (a perp's crash scenario)."""
    text = f"{spec.get('description', '')} {PREMIUM_NOTE}".strip()
    return {**spec, "premium": CRASH_PREMIUM, "description": text}


# Windows of ordinary history used to fit and bootstrap (covered by the hourly ETH/BTC files).
FIT_WINDOW = {"start": "2022-01-01T00:00:00Z", "end": "2022-12-31T23:00:00Z"}
BOOTSTRAP_WINDOW = {"start": "2021-01-01T00:00:00Z", "end": "2024-12-31T23:00:00Z"}


def standard_pack(
    asset: str, *, start_price: float | None, depth_usd: float, n_steps: int = 720, perp: bool = False
) -> list[dict]:
    """Eight named, validated scenario specs for one market.

    asset: the history symbol (e.g. "ETHUSDT"); start_price: the market's current price to
    rescale every scenario onto (None: keep the history's own levels; the synthetic ones then
    start at the last close of their window); depth_usd: the market's normal depth;
    n_steps: horizon of the simulated scenarios (replays keep their window's length);
    perp: a perpetual's pack: the Black Thursday replay and the shock carry ``CRASH_PREMIUM``.
    """
    normal = {"depth_usd": depth_usd}
    bt = STRESS_WINDOWS["black-thursday"]
    luna = STRESS_WINDOWS["luna-ust"]
    ftx = STRESS_WINDOWS["ftx"]
    common = {"assets": [asset], "start_price": start_price}
    specs = [
        {
            "name": "Black Thursday replay (thin depth, gas spike)",
            "description": bt.description,
            "kind": "replay",
            "window": bt.window,
            "conditions": bt.conditions(depth_usd),
        },
        {
            "name": "LUNA/UST week replay",
            "description": luna.description,
            "kind": "replay",
            "window": luna.window,
            "conditions": luna.conditions(depth_usd),
        },
        {
            "name": "FTX replay",
            "description": ftx.description,
            "kind": "replay",
            "window": ftx.window,
            "conditions": ftx.conditions(depth_usd),
        },
        {
            "name": "Block bootstrap of 2021-2024",
            "kind": "bootstrap",
            "window": BOOTSTRAP_WINDOW,
            "n_steps": n_steps,
            "params": {"mean_block": 24},
            "conditions": normal,
        },
        {
            "name": "Filtered historical simulation on 2022",
            "kind": "fhs",
            "window": FIT_WINDOW,
            "n_steps": n_steps,
            "conditions": normal,
        },
        {
            "name": "GARCH-t fitted on 2022",
            "kind": "garch",
            "window": FIT_WINDOW,
            "n_steps": n_steps,
            "conditions": normal,
        },
        {
            "name": "Merton jumps (about one -10 % jump a month)",
            "kind": "merton",
            "window": FIT_WINDOW,
            "n_steps": n_steps,
            "params": {"mu": 0.0, "sigma": 0.7, "lam": 12.0, "jump_mu": -0.10, "jump_sigma": 0.05},
            "conditions": normal,
        },
        {
            "name": "-30 % shock then GBM (half depth)",
            "kind": "shock",
            "window": FIT_WINDOW,
            "n_steps": n_steps,
            "params": {"drop": 0.30, "then_kind": "gbm", "sigma": 0.9},
            "conditions": {"depth_usd": depth_usd * 0.5},
        },
    ]
    if perp:
        crash = [s["kind"] == "shock" or s.get("window") == bt.window for s in specs]
        specs = [with_crash_premium(s) if c else s for s, c in zip(specs, crash, strict=True)]
    return [validate_spec({**common, **s}) for s in specs]


def synthetic_pack(
    asset: str | list[str],
    *,
    start_price: float | dict[str, float],
    depth_usd: float,
    n_steps: int = 720,
    correlation: float | None = None,
    perp: bool = False,
) -> list[dict]:
    """Six named, validated scenario specs that need no price history.

    For a market with no imported history yet (the demo, a new deployment): calm and stressed
    GBM, Merton jumps, GARCH(1,1)-t with hourly parameters of the order that fits on ETH
    2022 gives (``fit_garch_t``; fit on real data with ``standard_pack`` once history is
    imported), and two instantaneous shocks, the worse with thin depth, a gas spike and a
    slower oracle (Black Thursday's conditions without its prices). For a perpetual
    (``perp``) both shocks carry ``CRASH_PREMIUM``.

    Several assets (a list, ``start_price`` a dict by asset, for a market whose accounts hold
    several collaterals): the same six on correlated paths, every pair's returns (GARCH: its
    innovations) correlated by ``correlation``, each asset with the same volatility, and the
    shocks hitting every asset at once.
    """
    assets = [asset] if isinstance(asset, str) else list(asset)
    if len(assets) > 1 and correlation is None:
        raise EngineError("correlation is required for a synthetic pack of several assets (in (-1, 1))")
    sp = (
        {a: float(v) for a, v in start_price.items()} if isinstance(start_price, dict) else float(start_price)
    )
    common = {"assets": assets, "start_price": sp, "n_steps": n_steps}
    rho = {} if len(assets) == 1 else {"correlation": float(correlation)}
    normal = {"depth_usd": depth_usd}
    specs = [
        {
            "name": "GBM, 60 % annual volatility",
            "kind": "gbm",
            "params": {"mu": 0.0, "sigma": 0.6, **rho},
            "conditions": normal,
        },
        {
            "name": "GBM, 120 % annual volatility",
            "kind": "gbm",
            "params": {"mu": 0.0, "sigma": 1.2, **rho},
            "conditions": normal,
        },
        {
            "name": "Merton jumps (about one -10 % jump a month)",
            "kind": "merton",
            "params": {"mu": 0.0, "sigma": 0.7, "lam": 12.0, "jump_mu": -0.10, "jump_sigma": 0.05, **rho},
            "conditions": normal,
        },
        {
            "name": "GARCH(1,1)-t, hourly",
            "kind": "garch",
            "params": {"mu": 0.0, "omega": 2e-7, "alpha": 0.08, "beta": 0.91, "nu": 4.0, **rho},
            "conditions": normal,
        },
        {
            "name": "-30 % shock then GBM (half depth)",
            "kind": "shock",
            "params": {"drop": 0.30, "then_kind": "gbm", "mu": 0.0, "sigma": 0.9, **rho},
            "conditions": {"depth_usd": depth_usd * 0.5},
        },
        {
            "name": "-45 % shock, thin depth, gas spike, slow oracle",
            "kind": "shock",
            "params": {"drop": 0.45, "then_kind": "gbm", "mu": 0.0, "sigma": 1.5, **rho},
            "conditions": {
                "depth_usd": depth_usd * 0.15,
                "gas_cost_usd": 50.0,
                "gas_spike": 10.0,
                "oracle": {"latency_seconds": 7200},
            },
        },
    ]
    if perp:
        specs = [with_crash_premium(s) if s["kind"] == "shock" else s for s in specs]
    return [validate_spec({**common, **s}) for s in specs]


def replay_drawdowns(spec: dict, history: dict[str, History]) -> dict[str, tuple[float, float]]:
    """Per asset, the largest fall from the running peak of a replay (four steps a bar) and of
    its closes alone, as fractions: ``{"ETHUSDT": (0.577, 0.522)}``."""
    paths = generate(spec, history=history, n_paths=1, rng=np.random.default_rng(0))
    prices = paths.prices[None] if paths.prices.ndim == 2 else paths.prices
    closes = slice(STEPS_PER_BAR - 1, None, STEPS_PER_BAR)
    return {
        asset: (max_drawdown(prices[a, 0]), max_drawdown(prices[a, 0, closes]))
        for a, asset in enumerate(paths.assets)
    }


def describe_replay(spec: dict, history: dict[str, History]) -> dict:
    """A replay spec whose description ends with the fall the replay reaches, measured on it:
    "... ETHUSDT falls 57.7 % from its running peak in this replay (52.2 % on closes alone)."
    """
    if spec.get("kind") != "replay":
        raise EngineError(f"describe_replay needs a replay spec; got kind {spec.get('kind')!r}")
    figures = "; ".join(
        f"{asset} falls {100 * dd:.1f} % from its running peak in this replay "
        f"({100 * closes:.1f} % on closes alone)"
        for asset, (dd, closes) in replay_drawdowns(spec, history).items()
    )
    text = f"{spec.get('description', '')} {figures}.".strip()
    return validate_spec({**spec, "description": text})
