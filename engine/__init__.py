"""The margin engine: liquidation mechanisms over price paths, pure numpy/numba.

Never imports Django, Celery or Plotly (a test guards it). See ../shared/spec/margin-engine.md.
"""
from engine.errors import EngineError

__version__ = "0.1.0"

__all__ = ["EngineError", "__version__"]
