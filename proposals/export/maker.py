"""``maker-clip``: ``file`` calls on dss Spot, Dog, Clipper and Abacus for one ``ilk``.

Units (dss): wad = 1e18, ray = 1e27, rad = 1e45. The Clipper keeps ``chip`` as ``uint64`` and
``tip`` as ``uint192`` (``Clipper.file`` casts them), so larger values are refused here rather
than truncated on chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from engine import rules
from proposals.export.abi import (
    Call,
    Field,
    bytes32_text,
    changed,
    checksum_address,
    function_abi,
    read_values,
    refuse_breaches,
)

WAD, RAY, RAD = Decimal(10) ** 18, Decimal(10) ** 27, Decimal(10) ** 45

FILE_ILK = function_abi("file", [("ilk", "bytes32"), ("what", "bytes32"), ("data", "uint256")])
FILE = function_abi("file", [("what", "bytes32"), ("data", "uint256")])

# parameter -> (contract key, whether the call names the ilk, field), in the spec's table order.
FIELDS: dict[str, tuple[str, bool, Field]] = {
    "mat": ("spot", True, Field(RAY, "uint256", "ratio", why="Spot keeps mat in ray")),
    "chop": ("dog", True, Field(WAD, "uint256", "ratio", why="Dog keeps chop in wad")),
    "hole": ("dog", True, Field(RAD, "uint256", "DAI", why="Dog keeps hole in rad")),
    "buf": ("clip", False, Field(RAY, "uint256", "ratio", why="the Clipper keeps buf in ray")),
    "cusp": ("clip", False, Field(RAY, "uint256", "ratio", why="the Clipper keeps cusp in ray")),
    "tail": ("clip", False, Field(Decimal(1), "uint256", "seconds", why="the Clipper keeps whole seconds")),
    "chip": (
        "clip",
        False,
        Field(WAD, "uint256", "percent", limit=2**64 - 1, why="the Clipper keeps chip in wad"),
    ),
    "tip": (
        "clip",
        False,
        Field(RAD, "uint256", "DAI", limit=2**192 - 1, why="the Clipper keeps tip in rad"),
    ),
    "cut": ("calc", False, Field(RAY, "uint256", "ratio", why="the Abacus keeps cut in ray")),
    "step": ("calc", False, Field(Decimal(1), "uint256", "seconds", why="the Abacus keeps whole seconds")),
}
PARAMETERS = tuple(FIELDS)
CONTRACTS = {"spot": "Spot", "dog": "Dog", "clip": "Clipper", "calc": "Abacus"}


def maker_calls(
    contracts: Mapping[str, Any],
    target: Mapping[str, Any],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> list[Call]:
    """The ``file`` calls that move one ilk from ``before`` to ``after``: only what changed, in
    the spec's order."""
    addresses = {k: checksum_address(f"contracts.{k}", contracts.get(k)) for k in CONTRACTS}
    ilk = bytes32_text("target.ilk", target.get("ilk"))
    old = read_values("before", before, PARAMETERS)
    new = read_values("after", after, PARAMETERS)
    calls = []
    for name in changed(old, new, PARAMETERS):
        contract, with_ilk, field = FIELDS[name]
        raw = field.raw(name, new[name])
        what = bytes32_text("what", name)
        args = (ilk, what, raw) if with_ilk else (what, raw)
        binding = (field.binding(name, len(args) - 1),)
        function = FILE_ILK if with_ilk else FILE
        calls.append(Call(addresses[contract], function, args, binding, contract=CONTRACTS[contract]))
    # The protocol's rules, the same the proposal form and the engine apply (engine.rules),
    # after each changed value's own checks (type, sign, precision).
    refuse_breaches(
        rules.maker_clip(mat=new["mat"], chop=new["chop"], buf=new["buf"], cut=new["cut"], cusp=new["cusp"])
    )
    return calls
