"""Logging setup, done once at start: the handlers and level are fixed before serving begins.

Loggers: ``asgihost.error`` (server and application errors) and ``asgihost.access`` (one line
per response). Level names are Uvicorn's, including ``trace`` below ``debug``.
"""

from __future__ import annotations

import configparser
import datetime
import importlib
import json
import logging
import logging.config
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .compat import translate_dict, translate_parser
from .formatters import CONTROL_ESCAPES as _CONTROL

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

LogConfig = Mapping[str, Any] | configparser.RawConfigParser | Path
"""A log configuration: a dictConfig, a fileConfig's parser, or a file holding either."""


def read_log_config(path: Path) -> dict[str, Any] | configparser.RawConfigParser:
    """The dictConfig a .json, .toml or .yaml file holds; for any other name, the fileConfig
    (INI) it holds, read as ``logging.config.fileConfig`` reads a file. Raises LogConfigError."""
    suffix = path.suffix.lower()
    if suffix not in DICT_CONFIG_SUFFIXES:
        parser = configparser.ConfigParser()
        try:
            if not parser.read(path):
                raise LogConfigError(f"cannot read {path}")
        except configparser.Error as exc:
            raise LogConfigError(f"{path} does not parse: {exc}") from None
        return parser
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


_OWN_LOGGERS = ("asgihost.error", "asgihost.access")


def _release(log: logging.Logger) -> None:
    """asgihost's own handler off, propagating as a logger does by default."""
    for old in list(log.handlers):
        if getattr(old, "_asgihost", False):
            log.removeHandler(old)
    log.propagate = True


def _apply(log_config: LogConfig, use_colors: bool | None) -> None:
    """Apply a log configuration, Uvicorn's names and formatter classes made asgihost's
    (``compat``). The asgihost loggers it configures, by name, through a parent it names or
    through the root logger it gives handlers, are its alone: asgihost's own handlers come off
    them and they propagate, as a fresh logger does, unless it says otherwise; their level
    stays asgihost's unless it gives one."""
    where = str(log_config) if isinstance(log_config, Path) else "log_config"
    data = read_log_config(log_config) if isinstance(log_config, Path) else log_config
    if isinstance(data, configparser.RawConfigParser):
        parser, names = translate_parser(data)
    else:
        config, names = translate_dict(data, use_colors)
    for name in _OWN_LOGGERS:
        if {name, "asgihost", ""} & names:
            _release(logging.getLogger(name))
    try:
        if isinstance(data, configparser.RawConfigParser):
            logging.config.fileConfig(parser, disable_existing_loggers=False)
        else:
            logging.config.dictConfig(config)
    except Exception as exc:  # dictConfig raises ValueError, fileConfig KeyError and others
        raise LogConfigError(f"{where} cannot be applied: {exc}") from None


def configure_logging(
    level: str = "info",
    fmt: str = "auto",
    access_log: bool = True,
    use_colors: bool | None = None,
    log_config: LogConfig | None = None,
    level_given: bool = True,
    own_handlers: bool = True,
) -> None:
    """Install handlers on the ``asgihost`` loggers, then apply ``log_config`` when given.
    Safe to call again: it replaces them. The level applies to the ``asgihost`` loggers; after a
    ``log_config``, only when ``level_given`` (as Uvicorn's --log-level). Without
    ``own_handlers`` (Uvicorn's ``log_config=None``), the loggers get no handler and propagate.
    Raises LogConfigError."""
    use_rich = fmt == "auto" and (sys.stderr.isatty() if use_colors is None else use_colors)
    numeric = LEVELS[level]
    for name in _OWN_LOGGERS:
        log = logging.getLogger(name)
        _release(log)
        log.setLevel(numeric)
        if own_handlers:
            handler = _handler(use_rich, force_terminal=bool(use_colors), json_lines=fmt == "json")
            handler._asgihost = True  # type: ignore[attr-defined]
            log.addHandler(handler)
            log.propagate = False
    if log_config is not None:
        _apply(log_config, use_colors)
    if log_config is not None and level_given:
        for name in _OWN_LOGGERS:
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
