"""asgihost: a fast ASGI server, a drop-in for uvicorn."""

from __future__ import annotations

__version__ = "0.1.0"

from .api import Config, run  # noqa: E402
from .runtime.worker import Server  # noqa: E402

__all__ = ["Config", "Server", "__version__", "run"]
