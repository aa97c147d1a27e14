"""The asyncio side of a WebSocket connection, after the HTTP/1.1 upgrade request.

``H1Protocol`` hands the transport over (``transport.set_protocol``) once it has parsed a
valid opening handshake; from then on this protocol feeds the WebSocket core, writes its
output, runs the app's session, pings the peer and times the closing handshake.

Invariants:
- Until the app accepts, nothing the peer sends is parsed: it is kept (reading pauses beyond
  ``PRE_ACCEPT_LIMIT``) and parsed after the 101 is written.
- Once either side has closed, or the peer broke the protocol, the transport closes: at once
  after answering the peer's close frame or failing; after ``close_timeout`` at most when
  waiting for the peer's answer to ours.
- Timers: one for the next ping, one for the pong it waits for, one for the closing
  handshake; all cancelled when the connection is lost.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

from ..asgi.ws_cycle import WebSocketCycle
from ..logs.access import format_client, format_target
from ..protocols.events import Request
from ..protocols.http1 import H1Connection, simple_response
from ..protocols.websocket import (
    PONG,
    BoundedDeflate,
    Closed,
    Failed,
    Handshake,
    Message,
    WSConnection,
    accept_response,
)

if TYPE_CHECKING:
    from ..asgi.scope import ConnectionInfo
    from .transport import Mount, ServerState

PRE_ACCEPT_LIMIT = 65536  # bytes the peer may send before the 101 before reading pauses
GOING_AWAY = 1001


class WSProtocol(asyncio.Protocol):
    def __init__(
        self,
        shared: ServerState,
        loop: asyncio.AbstractEventLoop,
        transport: asyncio.Transport,
        info: ConnectionInfo,
        request: Request,
        handshake: Handshake,
        mount: Mount,
        scope: dict[str, Any],
        trailing: bytes,
        write_paused: bool,
    ) -> None:
        self.shared = shared
        self.loop = loop
        self.transport = transport
        self.info = info
        self.request = request
        self.handshake = handshake
        self.mount = mount
        self.settings = mount.websocket
        self.logger = shared.logger
        self.idle_deadline = 0.0  # never idle in the keep-alive sense
        self.write_paused = write_paused
        self.read_paused = False
        self.closing = False
        self.ws: WSConnection | None = None
        self.pending = bytearray(trailing)  # bytes before the accept
        self.cycle = WebSocketCycle(self, scope, mount)
        self._drain_waiter: asyncio.Future[None] | None = None
        self._ping_timer: asyncio.TimerHandle | None = None
        self._pong_timer: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._response: H1Connection | None = None

    def start(self, app: Any) -> None:
        shared = self.shared
        shared.connections.add(self)
        self.mount.active += 1
        task = self.loop.create_task(self.cycle.run(app))
        self.cycle.task = task
        shared.tasks.add(task)
        if len(self.pending) > PRE_ACCEPT_LIMIT:
            self.pause_reading()

    # ---- asyncio.Protocol --------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        ws = self.ws
        if ws is None:
            self.pending += data
            if len(self.pending) > PRE_ACCEPT_LIMIT:
                self.pause_reading()
            return
        self._handle(ws.receive_data(data))

    def connection_lost(self, exc: Exception | None) -> None:
        self.shared.connections.discard(self)
        self.closing = True
        for timer in (self._ping_timer, self._pong_timer, self._close_timer):
            if timer is not None:
                timer.cancel()
        code = 1006
        if self.ws is not None and not self.ws.finished:
            code = self.ws.connection_lost().code
        self.cycle.disconnect(code)
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        waiter = self._drain_waiter
        if waiter is not None:
            self._drain_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # ---- events from the core ----------------------------------------------------------------

    def _handle(self, events: list[Any]) -> None:
        ws = self.ws
        assert ws is not None
        cycle = self.cycle
        for event in events:
            kind = type(event)
            if kind is Message:
                cycle.feed(event.data)
            elif event is PONG:
                if self._pong_timer is not None:
                    self._pong_timer.cancel()
                    self._pong_timer = None
            elif kind is Closed:
                self._flush()
                self._close_transport()
                cycle.disconnect(event.code, event.reason)
            elif kind is Failed:
                if self.logger.isEnabledFor(logging.DEBUG):
                    self.logger.debug("WebSocket protocol error from %s: %s", self.info.client, event.reason)
                self._flush()
                self._close_transport()
                cycle.disconnect(event.code, event.reason)
        self._flush()

    def _flush(self) -> None:
        ws = self.ws
        if ws is not None:
            data = ws.data_to_send()
            if data and not self.closing:
                self.transport.write(data)

    def _close_transport(self) -> None:
        if not self.closing:
            self.closing = True
            self.transport.close()

    # ---- keep-alive pings --------------------------------------------------------------------

    def _schedule_ping(self) -> None:
        interval = self.settings.ping_interval if self.settings is not None else None
        if interval and not self.closing:
            self._ping_timer = self.loop.call_later(interval, self._ping)

    def _ping(self) -> None:
        self._ping_timer = None
        ws = self.ws
        if ws is None or not ws.open or self.closing:
            return
        ws.send_ping(os.urandom(4))
        self._flush()
        timeout = self.settings.ping_timeout if self.settings is not None else None
        if timeout and self._pong_timer is None:
            self._pong_timer = self.loop.call_later(timeout, self._pong_missed)
        self._schedule_ping()

    def _pong_missed(self) -> None:
        self._pong_timer = None
        self.logger.info("WebSocket %s did not answer a ping; closing.", format_client(self.info.client))
        ws = self.ws
        if ws is not None:
            ws.close(1011, "keepalive ping timeout")
            self._flush()
        self._close_transport()
        self.cycle.disconnect(1011, "keepalive ping timeout")

    def _closing_handshake_timeout(self) -> None:
        self._close_timer = None
        self._close_transport()

    # ---- the stream interface WebSocketCycle talks to ------------------------------------------

    def create_future(self) -> asyncio.Future[None]:
        return self.loop.create_future()

    async def drain(self) -> None:
        if self._drain_waiter is None:
            self._drain_waiter = self.loop.create_future()
        await self._drain_waiter

    def pause_reading(self) -> None:
        if not self.read_paused and not self.closing:
            self.read_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.read_paused and not self.closing:
            self.read_paused = False
            self.transport.resume_reading()

    def accept(self, subprotocol: str | None, headers: Any) -> None:
        settings = self.settings
        assert settings is not None
        deflate = BoundedDeflate(settings.max_size) if settings.per_message_deflate else None
        head = accept_response(self.handshake, subprotocol, headers, deflate, self.shared.defaults.server)
        self._log_access(101)
        if self.closing:
            return
        self.transport.write(head)
        self.ws = ws = WSConnection(settings.max_size, deflate, bytes(self.pending))
        self.pending = bytearray()
        self._handle(ws.start())
        self.resume_reading()
        self._schedule_ping()

    def send_message(self, data: str | bytes) -> None:
        ws = self.ws
        if ws is not None and not self.closing:
            ws.send_message(data)
            self._flush()

    def send_close(self, code: int, reason: str) -> None:
        ws = self.ws
        if ws is None or self.closing:
            self._close_transport()
            return
        ws.close(code, reason)
        self._flush()
        if ws.local_closing:
            settings = self.settings
            timeout = settings.close_timeout if settings is not None else 0
            self._close_timer = self.loop.call_later(timeout, self._closing_handshake_timeout)
        else:
            self._close_transport()

    def reject(self, status: int) -> None:
        if self.closing:
            return
        self._log_access(status)
        body = b"Forbidden" if status == 403 else b"Internal Server Error"
        self.transport.write(simple_response(status, body, self.shared.defaults))
        self._close_transport()

    def respond(self, status: int, headers: Any) -> None:
        self._response = core = H1Connection()
        request = self.request
        request.keep_alive = False
        data = core.start_response(request, status, headers, self.shared.defaults)
        self._log_access(status)
        if data and not self.closing:
            self.transport.write(data)

    def respond_body(self, body: bytes, more: bool) -> None:
        core = self._response
        assert core is not None
        data = core.send_body(body, more)
        if data and not self.closing:
            self.transport.write(data)
        if not more:
            self._close_transport()

    def abort(self) -> None:
        self._close_transport()

    close = abort  # as H1Protocol.close: the server closes a connection

    def app_finished(self) -> None:
        self.mount.active -= 1
        self.shared.tasks.discard(self.cycle.task)
        self.cycle.task = None

    # ---- server shutdown ---------------------------------------------------------------------

    def shutdown(self) -> None:
        """Graceful stop: say "going away" and let the app see the disconnect."""
        if self.ws is not None and self.ws.open:
            self.send_close(GOING_AWAY, "Server shutting down")
        elif self.ws is None:
            self._close_transport()

    def _log_access(self, status: int) -> None:
        access = self.shared.access_logger
        if access is not None:
            access.info(
                '%s - "WebSocket %s" %d',
                format_client(self.info.client),
                format_target(self.request.target),
                status,
            )
