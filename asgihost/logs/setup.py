"""Logging setup, done once at start: the handlers and level are fixed before serving begins.

Loggers: ``asgihost.error`` (server and application errors) and ``asgihost.access`` (one line
per response). Level names are Uvicorn's, including ``trace`` below ``debug``.
"""

from __future__ import annotations

import logging
import sys

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

LEVELS = {
    "critical": logging.CRITICAL,
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": TRACE,
}

_PLAIN_FORMAT = "%(levelname)-9s %(message)s"
_ACCESS_FORMAT = "%(levelname)-9s %(message)s"


class _PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.levelname = record.levelname + ":"
        try:
            return super().format(record)
        finally:
            record.levelname = record.levelname[:-1]


def _handler(use_rich: bool) -> logging.Handler:
    if use_rich:
        from rich.console import Console
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(
            console=Console(stderr=True), show_path=False, rich_tracebacks=True, markup=False
        )
        handler.setFormatter(logging.Formatter("%(message)s", datefmt="[%X]"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_PlainFormatter(_PLAIN_FORMAT))
    return handler


def configure_logging(level: str = "info", fmt: str = "auto", access_log: bool = True) -> None:
    """Install handlers on the ``asgihost`` loggers. Safe to call again: it replaces them."""
    use_rich = fmt == "auto" and sys.stderr.isatty()
    numeric = LEVELS[level]
    for name in ("asgihost.error", "asgihost.access"):
        log = logging.getLogger(name)
        for old in list(log.handlers):
            if getattr(old, "_asgihost", False):
                log.removeHandler(old)
        handler = _handler(use_rich)
        handler._asgihost = True  # type: ignore[attr-defined]
        log.addHandler(handler)
        log.propagate = False
        log.setLevel(numeric)
    access = logging.getLogger("asgihost.access")
    access.disabled = not access_log
