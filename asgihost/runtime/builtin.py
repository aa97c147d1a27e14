"""The server's own answers, as ASGI apps: no app mounted (404), over a concurrency limit
(503), the health check and the metrics page. They run through the same exchange path as any
app, so the access log, metrics and limits see them too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..metrics import CONTENT_TYPE
from ..protocols.errors import ERROR_REASONS

_TEXT = b"text/plain; charset=utf-8"


def error_fields(status: int) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The header fields and body of a plain-text error the server answers with."""
    body = ERROR_REASONS.get(status, b"Error")
    return [(b"content-type", _TEXT), (b"content-length", b"%d" % len(body))], body


async def not_found(scope: Any, receive: Any, send: Any) -> None:
    """The server's answer when no app is mounted for a request."""
    headers, body = error_fields(404)
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_UNAVAILABLE_HEADERS = [*error_fields(503)[0], (b"retry-after", b"1")]


async def service_unavailable(scope: Any, receive: Any, send: Any) -> None:
    """The answer past a concurrency limit; an HTTP/1.1 connection closes after it."""
    body = ERROR_REASONS[503]
    if scope["type"] == "websocket":
        await send({"type": "websocket.http.response.start", "status": 503, "headers": _UNAVAILABLE_HEADERS})
        await send({"type": "websocket.http.response.body", "body": body})
        return
    headers = [*_UNAVAILABLE_HEADERS, (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def health_check(draining: Callable[[], bool]) -> Any:
    """The health check: 200 while serving (every lifespan startup has finished before any
    listener accepts), 503 once the server drains."""

    async def health(scope: Any, receive: Any, send: Any) -> None:
        status, body = (503, b"draining\n") if draining() else (200, b"ok\n")
        headers = [
            (b"content-type", _TEXT),
            (b"content-length", b"%d" % len(body)),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return health


def metrics_page(text: Callable[[], bytes]) -> Any:
    """The metrics path: the Prometheus exposition ``text()`` renders."""

    async def metrics(scope: Any, receive: Any, send: Any) -> None:
        body = text()
        headers = [(b"content-type", CONTENT_TYPE), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return metrics
