"""``python -m engine``: the reference workload and configured runs.

    python -m engine reference [--positions N] [--paths M] [--steps T]
                               [--variant reference|stressed] [--inputs FILE.npz] --out FILE.json
    python -m engine run --config run.json --out result.json

The run.json format is documented in docs/engine.md (example: benchmarks/example_run.json).
A bad configuration prints one message naming the key and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from engine import api, books, scenarios
from engine import reference as R
from engine.errors import EngineError
from engine.prices import parse_prices

RUN_KEYS = {
    "mechanism",
    "params",
    "params_b",
    "switch",
    "book",
    "prices",
    "market",
    "seed",
    "chunk_paths",
    "n_boot",
}
SUMMARY_ROWS = (
    "mean_bad_debt",
    "bad_debt_var95",
    "bad_debt_var99",
    "bad_debt_cvar95",
    "bad_debt_cvar99",
    "p_bad_debt",
    "p_insolvency",
    "mean_unrealized_bad_debt",
    "mean_n_liq",
    "mean_liq_volume",
    "liquidations_at_risk",
    "mean_penalty",
    "mean_protocol_fees",
    "mean_n_unprofitable",
    "borrowing_power",
)


class ConfigError(EngineError):
    """A run.json problem; the message names the key."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ref = sub.add_parser("reference", help="the reference workload of workload.md")
    ref.add_argument("--positions", type=int, default=None, help="N (default 1000)")
    ref.add_argument("--paths", type=int, default=None, help="M (default 100)")
    ref.add_argument("--steps", type=int, default=None, help="T (default 720)")
    ref.add_argument("--variant", default="reference", choices=["reference", "stressed"])
    ref.add_argument("--inputs", default=None, help="npz with collateral, debt, prices")
    ref.add_argument("--out", required=True)
    rn = sub.add_parser("run", help="run a mechanism as configured in a JSON file")
    rn.add_argument("--config", required=True)
    rn.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "reference":
            return _reference(args)
        return _run(args)
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


# ---------------------------------------------------------------------------------------------
# reference


def _reference(args: argparse.Namespace) -> int:
    w = R.variant(args.variant)
    if args.inputs:
        given = [f"--{k}" for k in ("positions", "paths", "steps") if getattr(args, k) is not None]
        if given:
            raise EngineError(
                f"{', '.join(given)} cannot be combined with --inputs (sizes come from the file)"
            )
        c0, d0, S = R.load_inputs(args.inputs)
    else:
        n = 1_000 if args.positions is None else args.positions
        m = 100 if args.paths is None else args.paths
        t = 720 if args.steps is None else args.steps
        for name, v, lo in (("--positions", n, 1), ("--paths", m, 1), ("--steps", t, 0)):
            if v < lo:
                raise EngineError(f"{name} must be >= {lo}; got {v}")
        c0, d0 = R.generate_book(w, n)
        # Paths are drawn block by block (memory bounded whatever M is), not timed.
        S = R.path_blocks(w, m, t)
    R.warm_up()
    per_path, seconds = R.run_reference(w, c0, d0, S)
    if args.inputs:
        m, t = S.shape[0], S.shape[1] - 1
    n = c0.shape[0]
    result = {
        "variant": args.variant,
        "positions": n,
        "paths": m,
        "steps": t,
        "per_path": {k: v.tolist() for k, v in per_path.items()},
        "stats": R.reference_stats(per_path),
        "seconds": seconds,
        "position_steps_per_second": n * m * t / seconds if seconds > 0 else None,
    }
    Path(args.out).write_text(json.dumps(result))
    print(
        f"{args.variant}: N={n} M={m} T={t}  {seconds:.3f} s  "
        f"{result['position_steps_per_second']:.3g} position-steps/s"
    )
    for k, v in result["stats"].items():
        print(f"  {k:18s} {v:.6g}")
    return 0


# ---------------------------------------------------------------------------------------------
# run


def _section(cfg: dict, key: str, *, required: bool = True) -> Any:
    if key not in cfg:
        if required:
            raise ConfigError(f"config key {key!r} is missing")
        return None
    return cfg[key]


def _whole(key: str, v: Any, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ConfigError(f"config key {key!r} must be a whole number >= {lo}; got {v!r}")
    return v


def _path(base: Path, key: str, v: Any) -> Path:
    if not isinstance(v, str) or not v:
        raise ConfigError(f"config key {key!r} must be a file path; got {v!r}")
    p = Path(v)
    p = p if p.is_absolute() else base / p
    if not p.is_file():
        raise ConfigError(f"config key {key!r}: file {str(p)!r} does not exist")
    return p


def load_book(spec: Any, mechanism: str, base: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``{"generate": {...engine.books.synthetic_book keywords, "n": N}}`` or ``{"file": csv|npz}``."""
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in ("generate", "file"):
        raise ConfigError(
            f'config key \'book\' must be {{"generate": {{...}}}} or {{"file": path}}; got {spec!r}'
        )
    if "file" in spec:
        p = _path(base, "book.file", spec["file"])
        if p.suffix == ".npz":
            with np.load(p) as z:
                return {k: np.asarray(z[k]) for k in z.files}
        try:
            return books.book_arrays(books.parse_book_csv(p.read_text()), mechanism)
        except EngineError as exc:
            raise ConfigError(f"config key 'book.file' ({p.name}): {exc}") from None
    gen = spec["generate"]
    if not isinstance(gen, dict) or "n" not in gen:
        raise ConfigError(f"config key 'book.generate' must be an object with 'n'; got {gen!r}")
    kw = dict(gen)
    n = _whole("book.generate.n", kw.pop("n"), 1)
    try:
        return books.synthetic_book(mechanism, n, rng=rng, **kw)
    except TypeError as exc:
        raise ConfigError(f"config key 'book.generate': {exc}") from None
    except EngineError as exc:
        raise ConfigError(f"config key 'book.generate': {exc}") from None


def load_prices(spec: Any, base: Path, rng: np.random.Generator) -> tuple[np.ndarray, Any]:
    """``{"file": .npy|.csv}`` or ``{"scenario": spec, "paths": M, "history": {symbol: csv}}``.

    Returns the prices and the scenario's MarketConditions (None for a file). A CSV of prices
    has one path per row and T+1 comma-separated prices per row, no header.
    """
    if not isinstance(spec, dict) or not ({"file", "scenario"} & set(spec)):
        raise ConfigError(f"config key 'prices' must hold 'file' or 'scenario'; got {spec!r}")
    if "file" in spec:
        p = _path(base, "prices.file", spec["file"])
        try:
            s = np.load(p) if p.suffix == ".npy" else np.loadtxt(p, delimiter=",", ndmin=2)
        except ValueError as exc:
            raise ConfigError(f"config key 'prices.file' ({p.name}): {exc}") from None
        return np.asarray(s, dtype=np.float64), None
    history = None
    if "history" in spec:
        if not isinstance(spec["history"], dict):
            raise ConfigError(
                f"config key 'prices.history' must map symbols to CSV files; got {spec['history']!r}"
            )
        history = {}
        for sym, f in spec["history"].items():
            pd = parse_prices(_path(base, f"prices.history.{sym}", f).read_text())
            history[sym] = scenarios.History(
                pd.timestamps, pd.close, pd.interval_seconds, sym, open=pd.open, high=pd.high, low=pd.low
            )
    m = _whole("prices.paths", spec.get("paths", 1), 1)
    try:
        sp = scenarios.generate(spec["scenario"], history=history, n_paths=m, rng=rng)
    except EngineError as exc:
        raise ConfigError(f"config key 'prices.scenario': {exc}") from None
    return np.array(sp.prices), sp.conditions


def _switch(spec: Any, mod: Any) -> tuple | None:
    """``{"step": k, "params": {...}}``: the run of ``params`` switches to these from step k
    (margin-engine.md section 4)."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or set(spec) != {"step", "params"} or not isinstance(spec["params"], dict):
        raise ConfigError(f"config key 'switch' must be {{'step': k, 'params': {{...}}}}; got {spec!r}")
    k = spec["step"]
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ConfigError(f"config key 'switch.step' must be a whole number of steps >= 0; got {k!r}")
    try:
        return k, mod.params_from_dict(spec["params"])
    except (EngineError, TypeError) as exc:
        raise ConfigError(f"config key 'switch.params': {exc}") from None


def _stat_line(name: str, *vals: Any) -> str:
    def f(v: Any) -> str:
        return "-" if v is None else f"{v:,.6g}"

    return f"| {name} | " + " | ".join(f(v) for v in vals) + " |"


def _run(args: argparse.Namespace) -> int:
    cfg_path = Path(args.config)
    try:
        cfg = json.loads(cfg_path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {args.config!r} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config file {args.config!r} is not valid JSON: {exc}") from None
    if not isinstance(cfg, dict):
        raise ConfigError("config must be a JSON object")
    unknown = sorted(set(cfg) - RUN_KEYS)
    if unknown:
        raise ConfigError(f"config key {unknown[0]!r} is not known; allowed: {sorted(RUN_KEYS)}")
    base = cfg_path.resolve().parent
    mechanism = _section(cfg, "mechanism")
    if mechanism not in api.MECHANISMS:
        raise ConfigError(
            f"config key 'mechanism' must be one of {sorted(api.MECHANISMS)}; got {mechanism!r}"
        )
    mod = api.load_mechanism(mechanism)
    seed = _whole("seed", cfg.get("seed", 0), 0)
    rng_book, rng_prices, rng_boot = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    params = {}
    for key in ("params", "params_b"):
        if key in cfg:
            if not isinstance(cfg[key], dict):
                raise ConfigError(f"config key {key!r} must be an object; got {cfg[key]!r}")
            try:
                params[key] = mod.params_from_dict(cfg[key])
            except (EngineError, TypeError) as exc:
                raise ConfigError(f"config key {key!r}: {exc}") from None
    if "params" not in params:
        raise ConfigError("config key 'params' is missing")
    switch = _switch(cfg.get("switch"), mod)
    book_arrays = load_book(_section(cfg, "book"), mechanism, base, rng_book)
    try:
        book = mod.book_from_arrays(book_arrays)
    except EngineError as exc:
        raise ConfigError(f"config key 'book': {exc}") from None
    prices, scen_market = load_prices(_section(cfg, "prices"), base, rng_prices)
    try:
        market = api.market_from_dict(cfg["market"]) if "market" in cfg else scen_market
    except (EngineError, TypeError) as exc:
        raise ConfigError(f"config key 'market': {exc}") from None
    market = api.market_from_dict(market)
    chunk = cfg.get("chunk_paths")
    if chunk is not None:
        chunk = _whole("chunk_paths", chunk, 1)
    n_boot = _whole("n_boot", cfg.get("n_boot", 1000), 1)

    start = time.perf_counter()
    try:
        if "params_b" in params:
            ra = api.run(mechanism, params["params"], book, prices, market, chunk_paths=chunk, switch=switch)
            rb = api.run(mechanism, params["params_b"], book, prices, market, chunk_paths=chunk)
            diffs = api.paired(ra, rb, rng=rng_boot, n_boot=n_boot)
            result = {"a": ra.to_dict(), "b": rb.to_dict(), "differences": diffs}
        else:
            ra = api.run(mechanism, params["params"], book, prices, market, chunk_paths=chunk, switch=switch)
            rb, result = None, ra.to_dict()
    except EngineError as exc:
        raise ConfigError(f"run failed: {exc}") from None
    seconds = time.perf_counter() - start
    result.update(
        {
            "config": cfg,
            "seconds": seconds,
            "n_paths": int(prices.shape[-2]),
            "n_steps": int(prices.shape[-1] - 1),
            "n_positions": int(len(next(iter(book_arrays.values())))),
        }
    )
    Path(args.out).write_text(json.dumps(result, default=float))
    print(f"{mechanism}: {result['n_paths']} paths x {result['n_steps']} steps, {seconds:.2f} s")
    if rb is None:
        print("| statistic | value |\n|---|---|")
        for k in SUMMARY_ROWS:
            print(_stat_line(k, ra.summary.get(k)))
    else:
        print("| statistic | A | B | B - A | 95 % CI |\n|---|---|---|---|---|")
        for k in SUMMARY_ROWS:
            d = result["differences"].get(k)
            ci = f"[{d['ci_low']:,.6g}, {d['ci_high']:,.6g}]" if d else "-"
            print(_stat_line(k, ra.summary.get(k), rb.summary.get(k), d["diff"] if d else None) + f" {ci} |")
    return 0
