"""The kernel skeleton (engine/_skeleton.py): every mechanism runs through it, with the same
public surface, and returns bit for bit what it returned before the skeleton existed."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from engine import _skeleton, api
from engine.errors import EngineError
from tests.engine import skeleton_cases as SC
from tests.engine import switch_cases as C

KERNEL_ARGS = ["S", "data", "pv", "ksw", "mk", "full_scan", "track", "det", "out", "rec", "ser"]


@pytest.fixture(scope="module")
def baseline() -> dict[str, np.ndarray]:
    with np.load(SC.BASELINE) as z:
        return {f: z[f] for f in z.files}


@pytest.mark.parametrize("name", C.NAMES)
def test_every_surface_is_bit_for_bit_what_it_was_before_the_skeleton(name, baseline):
    compared = 0
    for mech, dyn, which in C.keys():
        if mech != name:
            continue
        tag = f"{name}-{'dyn' if dyn else 'static'}-{which}-"
        got = SC.run(name, dyn, which)
        want = {f[len(tag) :]: a for f, a in baseline.items() if f.startswith(tag)}
        assert set(want) <= set(got), f"{tag} lost outputs {sorted(set(want) - set(got))}"
        for key, arr in want.items():
            assert got[key].dtype == arr.dtype and got[key].shape == arr.shape, f"{tag}{key}"
            assert np.array_equal(got[key], arr, equal_nan=True), f"{tag}{key} differs"
            compared += 1
    # plain per-path + 3 series + crash per-path + two detail views of at least 2 arrays each
    assert compared >= 4 * 9


def test_the_baseline_exercises_what_the_skeleton_must_keep(baseline):
    """The cases liquidate, record, switch and leave unprofitable positions (else the
    comparison above could not fail where it matters)."""
    for name in C.NAMES:
        for dyn in ("static", "dyn"):
            crash = baseline[f"{name}-{dyn}-a-crash-per_path"]
            plain = baseline[f"{name}-{dyn}-a-plain-per_path"]
            assert plain[:, 2].sum() > 0, f"{name} {dyn}: no liquidation"
            assert crash[:, 2].sum() > 0, f"{name} {dyn}: no liquidation in the crash"
            assert baseline[f"{name}-{dyn}-a-plain-liq_volume_cum"][:, -1].sum() > 0
    assert sum(baseline[f"{n}-static-a-crash-per_path"][:, 10].sum() for n in C.NAMES) > 0


@pytest.mark.parametrize("name", list(api.MECHANISMS))
def test_every_mechanism_has_the_same_public_surface(name):
    """Every registered mechanism, the new ones included, is a module on the skeleton."""
    mod = api.load_mechanism(name)
    assert isinstance(mod.MECHANISM, _skeleton.Mechanism)
    assert mod.MECHANISM.name == name
    assert mod.MECHANISM.params_cls is mod.Params
    # perp's _kernel is a Python function choosing one of two compiled variants of the signature.
    kernel = getattr(mod._kernel, "py_func", mod._kernel)
    assert list(inspect.signature(kernel).parameters) == KERNEL_ARGS
    for fn in (mod.simulate, mod.simulate_detail):
        kw = inspect.signature(fn).parameters
        for opt in ("record_steps", "switch", "full_scan"):
            assert opt in kw and kw[opt].kind is inspect.Parameter.KEYWORD_ONLY, (fn.__name__, opt)
    assert not hasattr(mod, "simulate_positions")


@pytest.mark.parametrize("name", C.NAMES)
def test_detail_view_and_full_scan_agree_with_simulate_and_record(name):
    """Through the one wrapper, every mechanism's detail view returns simulate's results and
    series, and its full-scan reference mode the same (crash market, a switch at step 30)."""
    mod, a, b, book, prices, market = C.case(name, False)
    out, ser = mod.simulate(a, book, prices, SC.CRASH, record_steps=C.RECORD, switch=(30, b))
    d = mod.simulate_detail(a, book, prices, SC.CRASH, record_steps=C.RECORD, switch=(30, b))
    full = mod.simulate_detail(
        a, book, prices, SC.CRASH, record_steps=C.RECORD, switch=(30, b), full_scan=True
    )
    assert np.array_equal(d["per_path"], out)
    for field, arr in ser.items():
        assert np.array_equal(d["series"][field], arr)
    # The full scan visits positions in another order, so sums may differ in the last bits
    # (compound and maker add absorbs and barks in visiting order); counts are exact.
    np.testing.assert_allclose(full["per_path"], out, rtol=1e-12, atol=1e-9)
    assert np.array_equal(full["per_path"][:, 2], out[:, 2])
    for field, arr in ser.items():
        np.testing.assert_allclose(full["series"][field], arr, rtol=1e-12, atol=1e-9)


def test_asking_extras_of_a_mechanism_without_extra_outputs_names_it():
    mod, a, _, book, prices, market = C.case("aave-v3", False)
    with pytest.raises(EngineError, match="aave-v3 has no per-path extra outputs"):
        _skeleton.run(mod.MECHANISM, a, book, prices, market, extras=True)
