"""The margin engine: liquidation mechanisms over price paths, pure numpy/numba.

Never imports Django, Celery or Plotly (a test guards it). See ../shared/spec/margin-engine.md
and docs/engine.md. Importing ``engine`` is light: no kernel is loaded or compiled until a
mechanism is used; the entry points are in ``engine.api``.
"""

from engine.errors import EngineError

# 0.3.0: the kernel skeleton; Aave v3's close factor is 1.0 at exactly h == 0.95 (the
# contract's comparison); the new mechanisms (aave-v4, morpho-blue, compound-v3-accounts) and the
# perp's funding, partial cooldown and backstop. Runs of 0.2.0 are refused by replay_run and by
# their pending chunks (backtests.inputs.check_manifest): their figures may differ.
__version__ = "0.3.0"

__all__ = ["EngineError", "__version__"]
