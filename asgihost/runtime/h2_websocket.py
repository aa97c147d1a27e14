"""A WebSocket over one HTTP/2 stream (RFC 8441), after an extended CONNECT.

The session logic is ``WebSocketSession``'s (runtime/websocket.py); this says how its bytes
go: in DATA frames of the stream, the accept as a 200 HEADERS, the end as END_STREAM.

Invariants:
- Until the app accepts, nothing the peer sends is acknowledged: its window closes.
- After the accept, the stream's window reopens as the app takes messages.
"""

from __future__ import annotations

from typing import Any

from ..protocols.errors import H2ErrorCode
from ..protocols.events import Request
from ..protocols.websocket import BoundedDeflate, Handshake, accept_fields
from .builtin import error_fields
from .flow import Waiter
from .h2_stream import H2Link
from .state import Mount
from .websocket import WebSocketSession


class H2WebSocket(WebSocketSession):
    """A WebSocket on one HTTP/2 stream (RFC 8441): accepted with a 200, its frames in DATA,
    ended with END_STREAM. The stream's window reopens as the app takes messages."""

    def __init__(
        self,
        conn: H2Link,
        stream_id: int,
        request: Request,
        handshake: Handshake,
        mount: Mount,
        scope: dict[str, Any],
    ) -> None:
        super().__init__(conn.path, conn.info, request, handshake, mount, scope, b"")
        self.conn = conn
        self.stream_id = stream_id
        self.paused = False
        self.unacked = 0
        self.waiter = Waiter(conn.loop)

    @property
    def write_paused(self) -> bool:  # type: ignore[override]  # read-only here: the stream's and the connection's
        conn = self.conn
        return conn.write_paused or conn.core.blocked(self.stream_id)

    def feed(self, data: bytes) -> None:
        super().feed(data)
        if self.paused or self.ws is None:
            self.unacked += len(data)  # before the accept: held, so the peer's window closes
        else:
            self.conn.core.acknowledge(self.stream_id, len(data))

    def wake(self) -> None:
        self.waiter.wake()

    def _write(self, data: bytes) -> None:
        self.conn.core.send_data(self.stream_id, data, False)
        self.conn.flush_soon()

    def _end(self) -> None:
        self.conn.core.send_data(self.stream_id, b"", True)
        self.conn.flush_soon()
        self.conn.websocket_finished(self)

    def _write_accept(self, subprotocol: str | None, headers: Any, deflate: BoundedDeflate | None) -> None:
        conn = self.conn
        fields = accept_fields(self.handshake, subprotocol, headers, deflate)
        conn.core.send_headers(self.stream_id, 200, fields, conn.defaults(), False)
        conn.flush_soon()

    async def drain(self) -> None:
        while self.write_paused and not self.closing and not self.conn.closing:
            await self.waiter.wait()

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False
        if self.unacked and self.ws is not None:
            self.conn.core.acknowledge(self.stream_id, self.unacked)
            self.unacked = 0
            self.conn.flush_soon()

    def reject(self, status: int) -> None:
        if self.closing:
            return
        headers, body = error_fields(status)
        self.respond(status, headers)
        self.respond_body(body, False)

    def respond(self, status: int, headers: Any) -> None:
        conn = self.conn
        conn.core.send_headers(self.stream_id, status, headers, conn.defaults(), False)
        conn.flush_soon()
        self._log_access(status)

    def respond_body(self, body: bytes, more: bool) -> None:
        if self.closing:
            return
        conn = self.conn
        conn.core.send_data(self.stream_id, body, not more)
        conn.flush_soon()
        if not more:
            self.closing = True
            conn.websocket_finished(self)

    def abort(self) -> None:
        if not self.closing:
            self.closing = True
            self.conn.core.reset(self.stream_id, H2ErrorCode.CANCEL)
            self.conn.flush_soon()
            self.conn.websocket_finished(self)
