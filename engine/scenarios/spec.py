"""Scenario definitions: validation and normalization of the JSON spec stored in the database.

``validate_spec(spec) -> dict`` returns a normalized copy (defaults filled in, numbers as
floats, times as ``YYYY-MM-DDTHH:MM:SSZ``) or raises EngineError naming the key, the allowed
range and the value. Unknown keys are errors, so a typo cannot silently fall back to a default.
An infinite depth is stored as ``None`` (strict JSON has no infinity).
"""

from __future__ import annotations

import math

from engine.errors import EngineError, check_range
from engine.market import IMPACT_MODELS, SECONDS_PER_YEAR, Liquidators, Liquidity, MarketConditions, Oracle
from engine.scenarios.history import iso, parse_iso

KINDS = ("replay", "bootstrap", "fhs", "gbm", "merton", "garch", "shock")
THEN_KINDS = ("gbm", "merton", "garch", "bootstrap", "fhs")
# Kinds that read real history in the window (garch only when its parameters are not given,
# gbm / merton only to estimate what is missing and, for several assets, the correlation).
NEEDS_WINDOW = ("replay", "bootstrap", "fhs")
TOP_KEYS = {
    "name",
    "description",
    "kind",
    "assets",
    "window",
    "n_steps",
    "start_price",
    "vol_multiplier",
    "params",
    "conditions",
    "interval_seconds",
    "premium",
}
GARCH_KEYS = ("mu", "omega", "alpha", "beta", "nu")
MAX_STEPS = 1_000_000

# key -> (lo, hi, lo_open, hi_open, default); None default means "required or estimated".
PARAM_RANGES: dict[str, tuple] = {
    "mu": (-10.0, 10.0, False, False, None),  # annual drift (gbm, merton); per step (garch)
    "sigma": (0.0, 20.0, False, False, None),  # annual volatility
    "lam": (0.0, 10_000.0, False, False, None),  # jumps per year
    "jump_mu": (-3.0, 3.0, False, False, None),  # mean log jump size
    "jump_sigma": (0.0, 3.0, False, False, None),  # std of log jump size
    "mean_block": (1.0, 1e6, False, False, None),  # steps
    "drop": (0.0, 1.0, True, True, None),  # fraction of the price lost at once
    "at": (1, MAX_STEPS, False, False, 1),  # step of the shock
    "omega": (0.0, 1.0, True, False, None),
    "alpha": (0.0, 1.0, False, True, None),
    "beta": (0.0, 1.0, False, True, None),
    "nu": (2.05, 500.0, False, False, None),
    # Every pair of assets' correlation of returns (gbm, merton) or innovations (garch).
    "correlation": (-1.0, 1.0, True, True, None),
}
KIND_PARAMS = {
    "replay": set(),
    "bootstrap": {"mean_block"},
    "fhs": {"mean_block"},
    "gbm": {"mu", "sigma", "correlation"},
    "merton": {"mu", "sigma", "lam", "jump_mu", "jump_sigma", "correlation"},
    "garch": {*GARCH_KEYS, "correlation"},
}
COND_KEYS = {
    "depth_usd",
    "k",
    "impact_model",
    "max_step_impact",
    "gas_cost_usd",
    "gas_spike",
    "rational",
    "oracle",
}
# Times in seconds, converted to steps of the scenario's paths by market_conditions (a replay
# steps four times a bar: margin-engine.md section 6).
ORACLE_KEYS = {"latency_seconds", "deviation", "heartbeat_seconds"}
MAX_SECONDS = 31_536_000  # a year
# The perp's premium over its index (engine.scenarios.premium): key -> (lo, hi, lo_open, hi_open,
# default); None default means required.
PREMIUM_RANGES: dict[str, tuple] = {
    "mean": (-1.0, 1.0, True, True, None),  # fraction of the index
    "stdev": (0.0, 1.0, False, True, None),  # long-run standard deviation, fraction of the index
    "reversion": (0.0, 1.0, True, False, None),  # share of the gap to the mean closed per hour
    "correlation": (-1.0, 1.0, False, False, 0.0),  # with the (first) asset's return of the step
}
# The keys of the step-counted oracle this spec had before: refused with the way to write them.
OLD_ORACLE_KEYS = {"latency": "latency_seconds", "heartbeat": "heartbeat_seconds"}


def _err(key: str, msg: str, value: object) -> EngineError:
    return EngineError(f"{key} {msg}; got {value!r}")


def _number(
    key: str,
    value: object,
    lo: float | None,
    hi: float | None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _err(key, "must be a number", value)
    check_range(key, value, lo, hi, lo_open=lo_open, hi_open=hi_open)
    return float(value)


def _whole(key: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise _err(key, f"must be a whole number in [{lo}, {hi}]", value)
    if not lo <= value <= hi:
        raise _err(key, f"must be a whole number in [{lo}, {hi}]", value)
    return int(value)


def _param(key: str, name: str, value: object) -> float | list[float]:
    """One model parameter: a number, or a list of numbers (one per asset)."""
    lo, hi, lo_open, hi_open, _ = PARAM_RANGES[name]
    if isinstance(value, list):
        return [
            _number(f"{key}[{i}]", v, lo, hi, lo_open=lo_open, hi_open=hi_open) for i, v in enumerate(value)
        ]
    return _number(key, value, lo, hi, lo_open=lo_open, hi_open=hi_open)


def validate_spec(spec: dict) -> dict:
    """Check a scenario spec and return a normalized deep copy.

    See engine/scenarios/__init__.py for the keys. Raises EngineError naming the offending
    key (dotted path, e.g. ``params.sigma``), its allowed range and the value.
    """
    if not isinstance(spec, dict):
        raise _err("spec", "must be a dict", spec)
    unknown = sorted(set(spec) - TOP_KEYS)
    if unknown:
        raise _err(unknown[0], f"is not a scenario key (allowed: {sorted(TOP_KEYS)})", spec[unknown[0]])
    out: dict = {}
    if "name" in spec:
        if not isinstance(spec["name"], str) or not spec["name"].strip():
            raise _err("name", "must be a non-empty string", spec["name"])
        out["name"] = spec["name"]
    if "description" in spec:
        if not isinstance(spec["description"], str):
            raise _err("description", "must be a string", spec["description"])
        out["description"] = spec["description"]
    kind = spec.get("kind")
    if kind not in KINDS:
        raise _err("kind", f"must be one of {KINDS}", kind)
    out["kind"] = kind
    assets = spec.get("assets")
    if (
        not isinstance(assets, list)
        or not assets
        or not all(isinstance(a, str) and a for a in assets)
        or len(set(assets)) != len(assets)
    ):
        raise _err("assets", "must be a non-empty list of distinct symbols", assets)
    out["assets"] = list(assets)
    out["window"] = _window(spec.get("window"))
    then_kind = _then_kind(spec)
    needs_window = kind in NEEDS_WINDOW or then_kind in NEEDS_WINDOW
    if needs_window and out["window"] is None:
        raise _err(
            "window", f"is required for kind {kind!r}" + (f" then {then_kind!r}" if then_kind else ""), None
        )
    n_steps = spec.get("n_steps")
    if n_steps is None and kind != "replay":
        n_steps = 720
    out["n_steps"] = None if n_steps is None else _whole("n_steps", n_steps, 1, MAX_STEPS)
    out["start_price"] = _start_price(spec.get("start_price"), out["assets"])
    out["vol_multiplier"] = _number(
        "vol_multiplier", spec.get("vol_multiplier", 1.0), 0.0, 10.0, lo_open=True
    )
    if "interval_seconds" in spec and spec["interval_seconds"] is not None:
        out["interval_seconds"] = _whole("interval_seconds", spec["interval_seconds"], 1, 31_536_000)
    else:
        out["interval_seconds"] = None
    out["params"] = _params(spec.get("params", {}), kind, then_kind, out)
    out["conditions"] = _conditions(spec.get("conditions", {}))
    # Only a spec that has a premium gets the key: the specs stored before it keep their JSON.
    if spec.get("premium") is not None:
        out["premium"] = _premium(spec["premium"])
    return out


def _premium(p: object) -> dict:
    """The perp's premium process: mean, stdev and reversion required, correlation 0 unless given."""
    if not isinstance(p, dict):
        raise _err("premium", f"must be a dict with keys {sorted(PREMIUM_RANGES)}", p)
    unknown = sorted(set(p) - set(PREMIUM_RANGES))
    if unknown:
        raise _err(
            f"premium.{unknown[0]}",
            f"is not a premium setting (allowed: {sorted(PREMIUM_RANGES)})",
            p[unknown[0]],
        )
    out = {}
    for name, (lo, hi, lo_open, hi_open, default) in PREMIUM_RANGES.items():
        if name not in p and default is None:
            left, right = "(" if lo_open else "[", ")" if hi_open else "]"
            raise _err(f"premium.{name}", f"is required (a number in {left}{lo:g}, {hi:g}{right})", None)
        value = p.get(name, default)
        out[name] = _number(f"premium.{name}", value, lo, hi, lo_open=lo_open, hi_open=hi_open)
    return out


def _window(w: object) -> dict | None:
    if w is None:
        return None
    if not isinstance(w, dict) or set(w) != {"start", "end"}:
        raise _err("window", "must be {'start': ISO time, 'end': ISO time}", w)
    start = parse_iso("window.start", w["start"])
    end = parse_iso("window.end", w["end"])
    if end <= start:
        raise _err("window.end", f"must be after window.start ({w['start']})", w["end"])
    return {"start": iso(start), "end": iso(end)}


def _then_kind(spec: dict) -> str | None:
    if spec.get("kind") != "shock":
        return None
    params = spec.get("params", {})
    then_kind = params.get("then_kind", "gbm") if isinstance(params, dict) else "gbm"
    if then_kind not in THEN_KINDS:
        raise _err("params.then_kind", f"must be one of {THEN_KINDS}", then_kind)
    return then_kind


def _start_price(sp: object, assets: list[str]) -> dict | float | None:
    if sp is None:
        return None
    if isinstance(sp, dict):
        extra = sorted(set(sp) - set(assets))
        if extra:
            raise _err(f"start_price.{extra[0]}", f"must name one of the assets {assets}", sp[extra[0]])
        return {a: _number(f"start_price.{a}", v, 0.0, None, lo_open=True) for a, v in sp.items()}
    if len(assets) != 1:
        raise _err("start_price", "must be a dict {asset: price} when there are several assets", sp)
    return _number("start_price", sp, 0.0, None, lo_open=True)


def _params(params: object, kind: str, then_kind: str | None, out: dict) -> dict:
    if not isinstance(params, dict):
        raise _err("params", "must be a dict", params)
    model = then_kind or kind
    allowed = set(KIND_PARAMS[model]) | ({"drop", "then_kind", "at"} if kind == "shock" else set())
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise _err(
            f"params.{unknown[0]}",
            f"is not a parameter of kind {kind!r}"
            + (f" then {then_kind!r}" if then_kind else "")
            + f" (allowed: {sorted(allowed)})",
            params[unknown[0]],
        )
    n_assets = len(out["assets"])
    res: dict = {}
    for name, value in params.items():
        if name == "then_kind":
            res[name] = then_kind
        elif name == "at":
            res[name] = _whole("params.at", value, 1, out["n_steps"] or MAX_STEPS)
        else:
            res[name] = _param(f"params.{name}", name, value)
            if isinstance(res[name], list) and len(res[name]) != n_assets:
                raise _err(
                    f"params.{name}",
                    f"must be a number or a list of {n_assets} numbers (one per asset)",
                    value,
                )
    if kind == "shock":
        if "drop" not in res:
            raise _err("params.drop", "is required for kind 'shock' (fraction in (0, 1))", None)
        if isinstance(res["drop"], list):
            raise _err("params.drop", "must be one number in (0, 1)", res["drop"])
        res.setdefault("then_kind", then_kind)
        res.setdefault("at", 1)
        if res["at"] > out["n_steps"]:
            raise _err("params.at", f"must be in [1, n_steps={out['n_steps']}]", res["at"])
    if "correlation" in res:
        if isinstance(res["correlation"], list):
            raise _err(
                "params.correlation", "must be one number in (-1, 1), every pair's", res["correlation"]
            )
        if n_assets < 2:
            raise _err(
                "params.correlation",
                "needs several assets (it is every pair's correlation)",
                res["correlation"],
            )
        if res["correlation"] <= -1.0 / (n_assets - 1):
            raise _err(
                "params.correlation",
                f"must be > {-1.0 / (n_assets - 1):g} for {n_assets} assets (a correlation matrix)",
                res["correlation"],
            )
    if model in ("bootstrap", "fhs"):
        res.setdefault("mean_block", 24.0 if model == "bootstrap" else 1.0)
    if model in ("gbm", "merton"):
        res.setdefault("mu", 0.0)
        if "sigma" not in res and out["window"] is None:
            raise _err(
                "params.sigma",
                f"is required for kind {model!r} without a window to "
                "estimate it from (annual volatility in [0, 20])",
                None,
            )
    if model == "merton":
        for name in ("lam", "jump_mu", "jump_sigma"):
            if name not in res:
                raise _err(
                    f"params.{name}", f"is required for kind 'merton' (range {PARAM_RANGES[name][:2]})", None
                )
    if model == "garch":
        given = [k for k in GARCH_KEYS if k in res]
        if given and len(given) != len(GARCH_KEYS):
            missing = [k for k in GARCH_KEYS if k not in res][0]
            raise _err(
                f"params.{missing}",
                "must be given with the other GARCH parameters "
                f"{GARCH_KEYS} (or none of them, to fit them on the window)",
                None,
            )
        if not given and out["window"] is None:
            raise _err("window", "is required for kind 'garch' without parameters (fitted on it)", None)
        if given:
            for i in range(n_assets):
                a, b = (res[n][i] if isinstance(res[n], list) else res[n] for n in ("alpha", "beta"))
                if a + b >= 1.0:
                    raise _err("params.alpha + params.beta", "must be < 1 (stationary)", a + b)
    needs_price = model in ("gbm", "merton") or (model == "garch" and "omega" in res)
    if needs_price and out["window"] is None:
        sp = out["start_price"]
        missing = [a for a in out["assets"] if sp is None or (isinstance(sp, dict) and a not in sp)]
        if missing:
            raise _err("start_price", f"is required for {missing[0]} without a window (price > 0)", sp)
    if (
        model in ("gbm", "merton", "garch")
        and n_assets > 1
        and out["window"] is None
        and "correlation" not in res
    ):
        raise _err(
            "window",
            "is required for several assets without params.correlation (their correlation is estimated from it)",
            None,
        )
    return res


def _conditions(c: object) -> dict:
    if not isinstance(c, dict):
        raise _err("conditions", "must be a dict", c)
    unknown = sorted(set(c) - COND_KEYS)
    if unknown:
        raise _err(
            f"conditions.{unknown[0]}",
            f"is not a market condition (allowed: {sorted(COND_KEYS)})",
            c[unknown[0]],
        )
    depth = c.get("depth_usd")
    if depth is not None and not (isinstance(depth, float) and math.isinf(depth) and depth > 0):
        depth = _number("conditions.depth_usd", depth, 0.0, None, lo_open=True)
    elif depth is not None:
        depth = None
    model = c.get("impact_model", "linear")
    if model not in IMPACT_MODELS:
        raise _err("conditions.impact_model", f"must be one of {IMPACT_MODELS}", model)
    rational = c.get("rational", True)
    if not isinstance(rational, bool):
        raise _err("conditions.rational", "must be true or false", rational)
    oracle = c.get("oracle", {})
    if not isinstance(oracle, dict):
        raise _err("conditions.oracle", "must be a dict", oracle)
    old = sorted(set(oracle) & set(OLD_ORACLE_KEYS))
    if old:
        raise _err(
            f"conditions.oracle.{old[0]}",
            f"counted steps, which depend on the data (a replay steps four times a bar); give "
            f"conditions.oracle.{OLD_ORACLE_KEYS[old[0]]}, a time in seconds (3600 for an hour)",
            oracle[old[0]],
        )
    unknown = sorted(set(oracle) - ORACLE_KEYS)
    if unknown:
        raise _err(
            f"conditions.oracle.{unknown[0]}",
            f"is not an oracle setting (allowed: {sorted(ORACLE_KEYS)})",
            oracle[unknown[0]],
        )
    return {
        "depth_usd": depth,
        "k": _number("conditions.k", c.get("k", 1.0), 0.0, None),
        "impact_model": model,
        "max_step_impact": _number(
            "conditions.max_step_impact", c.get("max_step_impact", 0.5), 0.0, 1.0, hi_open=True
        ),
        "gas_cost_usd": _number("conditions.gas_cost_usd", c.get("gas_cost_usd", 0.0), 0.0, None),
        "gas_spike": _number("conditions.gas_spike", c.get("gas_spike", 0.0), 0.0, None),
        "rational": rational,
        "oracle": {
            "latency_seconds": _whole(
                "conditions.oracle.latency_seconds", oracle.get("latency_seconds", 0), 0, MAX_SECONDS
            ),
            "deviation": _number(
                "conditions.oracle.deviation", oracle.get("deviation", 0.0), 0.0, 1.0, hi_open=True
            ),
            "heartbeat_seconds": _whole(
                "conditions.oracle.heartbeat_seconds", oracle.get("heartbeat_seconds", 0), 0, MAX_SECONDS
            ),
        },
    }


def market_conditions(conditions: dict, step_seconds: int) -> MarketConditions:
    """engine.market.MarketConditions from a normalized ``conditions`` dict, on paths whose
    step lasts ``step_seconds`` (a replay's is a quarter bar): the oracle's times become whole
    steps, rounded up (engine.market.steps_for_seconds)."""
    c = conditions
    return MarketConditions(
        oracle=Oracle.from_seconds(**c["oracle"], step_seconds=step_seconds),
        liquidity=Liquidity(
            depth_usd=float("inf") if c["depth_usd"] is None else c["depth_usd"],
            k=c["k"],
            model=c["impact_model"],
            max_step_impact=c["max_step_impact"],
        ),
        liquidators=Liquidators(
            rational=c["rational"], gas_cost_usd=c["gas_cost_usd"], gas_spike=c["gas_spike"]
        ),
        steps_per_year=SECONDS_PER_YEAR / step_seconds,
    )
