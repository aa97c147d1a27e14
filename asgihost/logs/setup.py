"""Logging setup, done once at start: the handlers and level are fixed before serving begins.

Loggers: ``asgihost.error`` (server and application errors) and ``asgihost.access`` (one line
per response). Level names are Uvicorn's, including ``trace`` below ``debug``.
"""

from __future__ import annotations

import datetime
import importlib
import json
import logging
import logging.config
import sys
from pathlib import Path
from typing import Any

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


# Control characters other than newline and tab, written as \xNN: a message may quote what a
# client sent (an exception's text, a header), and must not forge lines or drive a terminal.
_CONTROL = {i: f"\\x{i:02x}" for i in [*range(0x20), *range(0x7F, 0xA0)] if i not in (0x09, 0x0A)}


class _EscapingFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return super().formatMessage(record).translate(_CONTROL)

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return super().formatException(ei).translate(_CONTROL)


class _PlainFormatter(_EscapingFormatter):
    def format(self, record: logging.LogRecord) -> str:
        record.levelname = record.levelname + ":"
        try:
            return super().format(record)
        finally:
            record.levelname = record.levelname[:-1]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message; an access line's fields
    (client, method, path, query, status, bytes, duration_ms, app, listener, protocol, ...);
    a traceback as ``exc_info``. JSON escapes every control character."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            data.update(access)
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


def _handler(use_rich: bool, force_terminal: bool, json_lines: bool = False) -> logging.Handler:
    if json_lines:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    elif use_rich:
        from rich.console import Console
        from rich.logging import RichHandler

        console = Console(stderr=True, force_terminal=force_terminal or None)
        # Tracebacks as text, through the escaping formatter: rich would print an exception's
        # text (a client's bytes, maybe) with its escape sequences.
        handler = RichHandler(console=console, show_path=False, rich_tracebacks=False, markup=False)
        handler.setFormatter(_EscapingFormatter("%(message)s", datefmt="[%X]"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_PlainFormatter(_PLAIN_FORMAT))
    return handler


class LogConfigError(Exception):
    pass


DICT_CONFIG_SUFFIXES = (".json", ".toml", ".yaml", ".yml")


def read_log_config(path: Path) -> dict[str, Any] | None:
    """The dictConfig a .json, .toml or .yaml file holds; None for a fileConfig (.ini) file,
    which the logging module reads itself. Raises LogConfigError."""
    suffix = path.suffix.lower()
    if suffix not in DICT_CONFIG_SUFFIXES:
        return None
    try:
        text = path.read_text()
    except OSError as exc:
        raise LogConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        if suffix == ".json":
            data = json.loads(text)
        elif suffix == ".toml":
            from ..config.toml import loads

            data = loads(text)
        else:
            try:
                yaml = importlib.import_module("yaml")  # optional: PyYAML
            except ImportError:
                raise LogConfigError(f"{path}: reading YAML needs PyYAML (pip install pyyaml)") from None
            data = yaml.safe_load(text)
    except LogConfigError:
        raise
    except Exception as exc:  # each parser has its own error class
        raise LogConfigError(f"{path} does not parse: {exc}") from None
    if not isinstance(data, dict):
        raise LogConfigError(f"{path} does not hold a logging dictConfig (a table at the top)")
    return data


def configure_logging(
    level: str = "info",
    fmt: str = "auto",
    access_log: bool = True,
    use_colors: bool | None = None,
    log_config: Path | None = None,
    level_given: bool = True,
) -> None:
    """Install handlers on the ``asgihost`` loggers, then apply ``log_config`` when given.
    Safe to call again: it replaces them. The level applies to the ``asgihost`` loggers; after a
    ``log_config``, only when ``level_given`` (as Uvicorn's --log-level). Raises LogConfigError."""
    use_rich = fmt == "auto" and (sys.stderr.isatty() if use_colors is None else use_colors)
    numeric = LEVELS[level]
    for name in ("asgihost.error", "asgihost.access"):
        log = logging.getLogger(name)
        for old in list(log.handlers):
            if getattr(old, "_asgihost", False):
                log.removeHandler(old)
        handler = _handler(use_rich, force_terminal=bool(use_colors), json_lines=fmt == "json")
        handler._asgihost = True  # type: ignore[attr-defined]
        log.addHandler(handler)
        log.propagate = False
        log.setLevel(numeric)
    if log_config is not None:
        data = read_log_config(log_config)
        try:
            if data is None:
                logging.config.fileConfig(log_config, disable_existing_loggers=False)
            else:
                logging.config.dictConfig(data)
        except Exception as exc:  # dictConfig raises ValueError, fileConfig KeyError and others
            raise LogConfigError(f"{log_config} cannot be applied: {exc}") from None
        if level_given:
            for name in ("asgihost.error", "asgihost.access"):
                logging.getLogger(name).setLevel(numeric)
    access = logging.getLogger("asgihost.access")
    access.disabled = not access_log


def reopen_log_files() -> None:
    """Close and open again every log file (SIGUSR1), so that a rotated file is let go and
    logging goes on in a new file at the configured path."""
    loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values())]
    seen: set[int] = set()
    for log in loggers:
        if not isinstance(log, logging.Logger):  # a PlaceHolder
            continue
        for handler in log.handlers:
            if not isinstance(handler, logging.FileHandler) or id(handler) in seen:
                continue
            seen.add(id(handler))
            handler.acquire()
            try:
                if handler.stream is not None:  # delay=True: not opened yet, nothing to reopen
                    handler.stream.close()
                    handler.stream = handler._open()
            finally:
                handler.release()
