"""One HTTP/2 stream as its ``HTTPCycle`` sees the connection, and ``H2Link``: what a stream
(and a WebSocket session on one) needs of the connection (``runtime.http2.H2Protocol``).

Invariants:
- ``done`` once the response is complete, reset, or the connection is gone: nothing more is
  written for the stream, and a waiting ``send`` returns.
- Body bytes the app has not taken (``unacked``) are acknowledged when it takes them, or when
  the stream ends: the connection's window never shrinks for good.
- A failed or broken response resets this stream only, never the connection.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from ..asgi.http_cycle import HTTPCycle
from ..asgi.scope import ConnectionInfo
from ..protocols.errors import H2ErrorCode, LocalProtocolError
from ..protocols.http2 import H2Connection
from .builtin import error_fields
from .exchange import ExchangePath
from .flow import Waiter
from .sendfile import send_pieces


class H2Link(Protocol):
    """What a stream and a WebSocket session need of their HTTP/2 connection
    (``runtime.http2.H2Protocol``)."""

    core: H2Connection
    loop: asyncio.AbstractEventLoop
    path: ExchangePath
    info: ConnectionInfo
    logger: logging.Logger
    closing: bool

    @property
    def write_paused(self) -> bool: ...
    def flush_soon(self) -> None: ...
    def flush_after(self, size: int) -> None: ...
    def defaults(self) -> list[tuple[bytes, bytes]]: ...
    def stream_finished(self, stream: H2Stream) -> None: ...
    def websocket_finished(self, session: Any) -> None: ...


class H2Stream:
    """One stream, as its ``HTTPCycle`` sees the connection."""

    __slots__ = (
        "app_finished",
        "conn",
        "stream_id",
        "cycle",
        "head_sent",
        "paused",
        "unacked",
        "waiter",
        "logger",
        "done",
        "deadline",
        "remaining",
    )

    def __init__(self, conn: H2Link, stream_id: int) -> None:
        self.conn = conn
        self.stream_id = stream_id
        self.cycle: HTTPCycle = None  # type: ignore[assignment]  # set right after
        self.head_sent = False
        self.paused = False
        self.unacked = 0  # body bytes received but not yet acknowledged to the peer
        self.waiter: Waiter | None = None  # made when the app first has to wait
        self.logger = conn.logger
        self.done = False  # the response is complete (or the stream is gone)
        self.deadline = 0.0  # while its body comes: when it stalls; 0: not receiving
        self.remaining = -1  # body bytes the response's Content-Length still promises; -1: none
        self.app_finished = conn.path.finish  # HTTPCycle calls it when the app returns

    @property
    def write_paused(self) -> bool:
        conn = self.conn
        return conn.write_paused or conn.core.blocked(self.stream_id)

    def feed(self, data: bytes) -> None:
        if not self.cycle.feed_body(data):  # may call pause_reading
            self.conn.core.acknowledge(self.stream_id, len(data))
            self.reject(413)
            return
        if self.paused:
            self.unacked += len(data)
        else:
            self.conn.core.acknowledge(self.stream_id, len(data))

    def wake(self) -> None:
        if self.waiter is not None:
            self.waiter.wake()

    # ---- the HTTPStream interface ------------------------------------------------------------

    def create_future(self) -> asyncio.Future[None]:
        return self.conn.loop.create_future()

    async def drain(self) -> None:
        while self.write_paused and not self.done and not self.conn.closing:
            if self.waiter is None:
                self.waiter = Waiter(self.conn.loop)
            await self.waiter.wait()

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False
        if self.unacked:
            self.conn.core.acknowledge(self.stream_id, self.unacked)
            self.unacked = 0
            self.conn.flush_soon()

    def send_continue(self, cycle: HTTPCycle) -> None:
        pass  # requests over HTTP/2 are never marked expect_continue

    def send_start(self, cycle: HTTPCycle, status: int, headers: Any) -> None:
        conn = self.conn
        length = conn.core.send_headers(self.stream_id, status, headers, conn.defaults(), False)
        if length != -1 and status >= 200 and status not in (204, 304) and cycle.request.method != "HEAD":
            self.remaining = length
        self.head_sent = True
        conn.flush_soon()

    def send_body(self, cycle: HTTPCycle, body: bytes, more: bool) -> None:
        conn = self.conn
        if body and cycle.request.method == "HEAD":  # the app's body for a HEAD is not sent
            body = b""
            if more:
                return
        if self.remaining != -1:
            remaining = self.remaining - len(body)
            if remaining < 0:
                raise LocalProtocolError("Response content longer than Content-Length.")
            if not more and remaining:
                raise LocalProtocolError("Response content shorter than Content-Length.")
            self.remaining = remaining
        conn.core.send_data(self.stream_id, body, not more)
        conn.flush_after(len(body))
        if not more:
            self._complete(cycle)

    def send_whole(self, cycle: HTTPCycle, status: int, headers: Any, lines: bytes, body: bytes) -> None:
        self.send_start(cycle, status, headers)  # (``lines`` are for HTTP/1.1)
        self.send_body(cycle, body, False)

    async def send_file(self, cycle: HTTPCycle, fd: int, offset: int, count: int, more: bool) -> None:
        if cycle.request.method == "HEAD":
            self.send_body(cycle, b"", more)
            return
        await send_pieces(self, cycle, fd, offset, count, more)  # within the peer's windows

    def send_trailers(self, cycle: HTTPCycle, headers: Any, more: bool) -> None:
        conn = self.conn
        conn.core.send_trailers(self.stream_id, headers, end=not more)
        if not more:
            conn.flush_soon()
            self._complete(cycle)

    def head_written(self, cycle: HTTPCycle) -> bool:
        return self.head_sent

    def send_error(self, cycle: HTTPCycle, status: int) -> None:
        if self.done:
            return
        conn = self.conn
        cycle.status = status
        headers, body = error_fields(status)
        conn.core.send_headers(self.stream_id, status, headers, conn.defaults(), False)
        conn.core.send_data(self.stream_id, body, True)
        conn.flush_soon()
        self._complete(cycle)

    def reject(self, status: int) -> None:
        """A request body over its limit or stalled: the status if no response has begun (the
        stream is then reset with NO_ERROR, so the peer stops sending), else a reset; the app
        sees a disconnect either way."""
        cycle = self.cycle
        if not self.head_sent:
            self.send_error(cycle, status)
        else:
            self.close_connection(cycle)
        cycle.disconnect()

    def close_connection(self, cycle: HTTPCycle) -> None:
        """A response that cannot be finished: reset this stream only."""
        if not self.done:
            self.conn.core.reset(self.stream_id, H2ErrorCode.INTERNAL_ERROR)
            self.conn.flush_soon()
            self.done = True
            self.conn.stream_finished(self)

    def _complete(self, cycle: HTTPCycle) -> None:
        self.done = True
        if not cycle.body_complete and not cycle.disconnected:
            # The app answered without reading the whole body: tell the peer to stop sending.
            self.conn.core.reset(self.stream_id, H2ErrorCode.NO_ERROR)
            self.conn.flush_soon()
        self.conn.stream_finished(self)
