"""The margin engine: liquidation mechanisms over price paths, pure numpy/numba.

Never imports Django, Celery or Plotly (a test guards it). See ../shared/spec/margin-engine.md
and docs/engine.md. Importing ``engine`` is light: no kernel is loaded or compiled until a
mechanism is used; the entry points are in ``engine.api``.
"""

from engine.errors import EngineError

__version__ = "0.2.0"

__all__ = ["EngineError", "__version__"]
