"""The access log: one line per response, in the configured format, with its fields also on
the log record (``record.access``) for the JSON formatter and ``formatters.AccessFormatter``.

In the default format, a record is the one Uvicorn logs: message ``'%s - "%s %s HTTP/%s" %d'``,
args (client_addr, method, full_path, http_version, status_code), formatted only when a handler
writes it; a WebSocket's is ``'%s - "WebSocket %s" %d'`` (client, target, status).

A request target, query and header values may carry control characters (raw bytes such as ESC
or CR arrive before any percent-decoding): each is written as ``\\xNN`` so a client cannot forge
log lines or drive a terminal. JSON lines escape them as JSON does.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from ..config.model import DEFAULT_ACCESS_FORMAT, access_format_fields

if TYPE_CHECKING:
    from ..asgi.http_cycle import HTTPCycle

_ESCAPES = {i: f"\\x{i:02x}" for i in [*range(0x20), *range(0x7F, 0xA0)]}
_ESCAPES[ord("\\")] = "\\\\"


def escape(text: str) -> str:
    """``text`` with control characters (and backslashes) escaped."""
    if text.isprintable() and "\\" not in text:
        return text
    return text.translate(_ESCAPES)


def format_target(target: bytes) -> str:
    """The request target as it should appear in a log line."""
    return escape(target.decode("latin-1"))


def format_client(client: tuple[str, int] | None) -> str:
    if not client:
        return "-"
    return f"{client[0]}:{client[1]}"


_WS_DEFAULT_FORMAT = '{client} - "WebSocket {target}" {status}'


class _Headers(dict[str, str]):
    """``{header[NAME]}`` in the format: the value, or "-" when the request has none."""

    def __missing__(self, key: str) -> str:
        return "-"


class AccessLog:
    """Writes access lines to ``logger`` in ``template`` (see ``[logging] access_format``)."""

    __slots__ = ("logger", "template", "headers", "ws_template", "default")

    def __init__(self, logger: logging.Logger, template: str = DEFAULT_ACCESS_FORMAT) -> None:
        self.logger = logger
        self.template = template
        _, headers = access_format_fields(template)
        self.headers = {name.encode("latin-1") for name in headers}
        # The default line of a WebSocket stays Uvicorn's: client - "WebSocket /path" status.
        self.default = template == DEFAULT_ACCESS_FORMAT
        self.ws_template = _WS_DEFAULT_FORMAT if self.default else template

    def log(
        self,
        client: tuple[str, int] | None,
        method: str,
        target: bytes,
        request_headers: list[tuple[bytes, bytes]],
        status: int,
        sent: int,
        started: float,
        app: str,
        listener: str,
        protocol: str,
    ) -> None:
        path, _, query = target.partition(b"?")
        client_addr = format_client(client)
        method = escape(method)
        full_path = format_target(target)
        fields: dict[str, Any] = {
            "client": client_addr,
            "method": method,
            "path": format_target(path),
            "query": format_target(query),
            "target": full_path,
            "status": status,
            "bytes": sent,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3) if started else 0.0,
            "app": app or "-",
            "listener": listener,
            "protocol": protocol,
        }
        if self.default:  # Uvicorn's record, formatted when written
            if protocol == "WebSocket":
                self.logger.info(
                    '%s - "WebSocket %s" %d', client_addr, full_path, status, extra={"access": fields}
                )
            else:
                self.logger.info(
                    '%s - "%s %s HTTP/%s" %d',
                    client_addr,
                    method,
                    full_path,
                    protocol[5:],  # "HTTP/1.1": "1.1", as Uvicorn's scope["http_version"]
                    status,
                    extra={"access": fields},
                )
            return
        headers = _Headers()
        if self.headers:
            for name, value in request_headers:
                if name in self.headers:
                    key = name.decode("latin-1")
                    text = escape(value.decode("latin-1"))
                    headers[key] = f"{headers[key]}, {text}" if key in headers else text
        template = self.ws_template if protocol == "WebSocket" else self.template
        line = template.format(**fields, header=headers)
        record_fields = dict(fields)
        if headers:
            record_fields["headers"] = dict(headers)
        self.logger.info("%s", line, extra={"access": record_fields})

    def log_cycle(self, cycle: HTTPCycle, listener: str, protocol: str) -> None:
        """The line of one finished HTTP exchange."""
        request = cycle.request
        self.log(
            cycle.scope.get("client"),
            request.method,
            request.target,
            request.headers,
            cycle.status,
            cycle.sent,
            cycle.started,
            cycle.mount.name,
            listener,
            protocol,
        )
