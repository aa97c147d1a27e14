"""Uvicorn's formatter classes, owned by asgihost: a logging config written for Uvicorn names
``uvicorn.logging.DefaultFormatter`` or ``AccessFormatter``, and gets these (see docs/logging.md),
whether Uvicorn is installed or not.

They take Uvicorn's arguments (``fmt``, ``datefmt``, ``style``, ``use_colors``) and supply its
fields: ``%(levelprefix)s`` ("INFO:     ", the level padded to 8 and a colon), and on an access
record ``%(client_addr)s``, ``%(request_line)s`` ("GET /path HTTP/1.1") and ``%(status_code)s``
("200 OK"). An access record is asgihost's (its fields in ``record.access``) or one logged as
Uvicorn does (args: client_addr, method, full_path, http_version, status_code). As asgihost's
own formatters, they write control characters in a message or traceback as ``\\xNN``.
"""

from __future__ import annotations

import http
import logging
import sys
from copy import copy
from typing import Any, Literal

# Control characters other than newline and tab, written as \xNN: a message may quote what a
# client sent (an exception's text, a header), and must not forge lines or drive a terminal.
CONTROL_ESCAPES = {i: f"\\x{i:02x}" for i in [*range(0x20), *range(0x7F, 0xA0)] if i not in (0x09, 0x0A)}

_ANSI = {"blue": 34, "cyan": 36, "green": 32, "yellow": 33, "red": 31, "bright_red": 91, "bright_white": 97}


def _style(text: str, fg: str | None = None, bold: bool = False) -> str:
    prefix = (f"\033[{_ANSI[fg]}m" if fg else "") + ("\033[1m" if bold else "")
    return f"{prefix}{text}\033[0m"


_LEVEL_COLOURS = {
    5: "blue",
    logging.DEBUG: "cyan",
    logging.INFO: "green",
    logging.WARNING: "yellow",
    logging.ERROR: "red",
    logging.CRITICAL: "bright_red",
}
_STATUS_COLOURS = {1: "bright_white", 2: "green", 3: "yellow", 4: "red", 5: "bright_red"}


class ColourizedFormatter(logging.Formatter):
    """``%(levelprefix)s``, coloured when ``use_colors`` (None: when stdout is a terminal, as
    Uvicorn decides); with colours, a record's ``color_message`` replaces its message."""

    def __init__(
        self,
        fmt: str | None = None,
        datefmt: str | None = None,
        style: Literal["%", "{", "$"] = "%",
        use_colors: bool | None = None,
        **kwargs: Any,  # logging.Formatter's own (validate, defaults)
    ) -> None:
        self.use_colors = use_colors if use_colors in (True, False) else sys.stdout.isatty()
        super().__init__(fmt=fmt, datefmt=datefmt, style=style, **kwargs)

    def color_level_name(self, level_name: str, level_no: int) -> str:
        colour = _LEVEL_COLOURS.get(level_no)
        return _style(level_name, fg=colour) if colour else level_name

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record = copy(record)
        fields = record.__dict__
        levelname = record.levelname
        separator = " " * (8 - len(levelname))
        if self.use_colors:
            levelname = self.color_level_name(levelname, record.levelno)
            if "color_message" in fields:
                record.msg = fields["color_message"]
                fields["message"] = record.getMessage()
        fields["message"] = str(fields.get("message", "")).translate(CONTROL_ESCAPES)
        fields["levelprefix"] = levelname + ":" + separator
        self.add_fields(record)
        return super().formatMessage(record)

    def add_fields(self, record: logging.LogRecord) -> None:
        """A subclass's own fields on the record's copy."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return super().formatException(ei).translate(CONTROL_ESCAPES)


class DefaultFormatter(ColourizedFormatter):
    """Uvicorn's ``uvicorn.logging.DefaultFormatter``: for the server's lines."""


class AccessFormatter(ColourizedFormatter):
    """Uvicorn's ``uvicorn.logging.AccessFormatter``: for access lines."""

    def get_status_code(self, status_code: int) -> str:
        try:
            phrase = http.HTTPStatus(status_code).phrase
        except ValueError:
            phrase = ""
        text = f"{status_code} {phrase}"
        colour = _STATUS_COLOURS.get(status_code // 100)
        return _style(text, fg=colour) if self.use_colors and colour else text

    def add_fields(self, record: logging.LogRecord) -> None:
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            client, status = access["client"], access["status"]
            if access["protocol"] == "WebSocket":
                request_line = f"WebSocket {access['target']}"
            else:
                request_line = f"{access['method']} {access['target']} {access['protocol']}"
        elif isinstance(record.args, tuple) and len(record.args) == 5:  # logged as Uvicorn logs it
            client, method, full_path, http_version, status = record.args
            request_line = f"{method} {full_path} HTTP/{http_version}"
        else:
            return
        if self.use_colors:
            request_line = _style(request_line, bold=True)
        fields = record.__dict__
        fields["client_addr"] = client
        fields["request_line"] = request_line
        fields["status_code"] = self.get_status_code(int(status))
