"""asgihost: a fast ASGI server, a drop-in for uvicorn."""

from __future__ import annotations

from .api import Config, run
from .runtime.worker import Server
from .version import __version__

__all__ = ["Config", "Server", "__version__", "run"]
