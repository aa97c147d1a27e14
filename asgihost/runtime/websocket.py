"""The asyncio side of a WebSocket session: over HTTP/1.1 after the upgrade request
(``WSProtocol``), or over an HTTP/2 stream after an extended CONNECT (``runtime.http2``).

``WebSocketSession`` feeds the WebSocket core, writes its output, runs the app's session,
pings the peer and times the closing handshake; a subclass says how bytes are written and how
the session ends (closing the transport, or ending the stream). ``H1Protocol`` hands its
transport to a ``WSProtocol`` (``transport.set_protocol``) once it has parsed a valid opening
handshake.

Invariants:
- Until the app accepts, nothing the peer sends is parsed: it is kept (reading pauses beyond
  ``PRE_ACCEPT_LIMIT``) and parsed after the 101 is written.
- Once either side has closed, or the peer broke the protocol, the session ends (transport
  closed, or stream ended): at once after answering the peer's close frame or failing; after
  ``close_timeout`` at most when waiting for the peer's answer to ours.
- Timers: one for the next ping, one for the pong it waits for, one for the closing
  handshake; all cancelled when the connection is lost.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

from ..asgi.ws_cycle import WebSocketCycle
from ..logs.access import format_client
from ..protocols.errors import ERROR_REASONS, WS_ABNORMAL, WS_GOING_AWAY, WS_INTERNAL_ERROR
from ..protocols.events import Request
from ..protocols.http1_response import ResponseFramer, simple_response
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
from .flow import WriteFlow

if TYPE_CHECKING:
    from ..asgi.scope import ConnectionInfo
    from .exchange import ExchangePath
    from .state import Mount

PRE_ACCEPT_LIMIT = 65536  # bytes the peer may send before the 101 before reading pauses


class WebSocketSession:
    """What both transports share; the subclass writes and ends."""

    def __init__(
        self,
        path: ExchangePath,
        info: ConnectionInfo,
        request: Request,
        handshake: Handshake,
        mount: Mount,
        scope: dict[str, Any],
        trailing: bytes,
    ) -> None:
        self.path = path
        self.shared = shared = path.shared
        self.loop = path.loop
        self.info = info
        self.request = request
        self.handshake = handshake
        self.mount = mount
        self.settings = mount.websocket
        self.logger = shared.logger
        self.closing = False  # the session has ended (or is ending): nothing more is written
        self.ws: WSConnection | None = None
        self.pending = bytearray(trailing)  # bytes before the accept
        settings = mount.websocket
        assert settings is not None, "a WebSocket session for an app that serves upgrades as plain HTTP"
        self.cycle = WebSocketCycle(self, scope, mount, settings.max_queue)
        self._ping_timer: asyncio.TimerHandle | None = None
        self._pong_timer: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None

    # ---- what a transport provides -----------------------------------------------------------

    write_paused: bool  # an attribute over HTTP/1.1 (WriteFlow), a property over an HTTP/2 stream

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def _end(self) -> None:
        """End the session on the wire: close the transport, or end the stream."""
        raise NotImplementedError

    def _write_accept(self, subprotocol: str | None, headers: Any, deflate: BoundedDeflate | None) -> None:
        raise NotImplementedError

    async def drain(self) -> None:
        raise NotImplementedError

    def pause_reading(self) -> None:
        raise NotImplementedError

    def resume_reading(self) -> None:
        raise NotImplementedError

    def reject(self, status: int) -> None:
        raise NotImplementedError

    def respond(self, status: int, headers: Any) -> None:
        raise NotImplementedError

    def respond_body(self, body: bytes, more: bool) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    # ---- the session -------------------------------------------------------------------------

    def start(self, app: Any) -> None:
        self.path.start_session(self.cycle, app)
        if len(self.pending) > PRE_ACCEPT_LIMIT:
            self.pause_reading()

    def feed(self, data: bytes) -> None:
        ws = self.ws
        if ws is None:
            self.pending += data
            if len(self.pending) > PRE_ACCEPT_LIMIT:
                self.pause_reading()
            return
        self._handle(ws.receive_data(data))

    def lost(self) -> None:
        """The connection (or stream) is gone: stop the timers, tell the app."""
        self.closing = True
        for timer in (self._ping_timer, self._pong_timer, self._close_timer):
            if timer is not None:
                timer.cancel()
        code = WS_ABNORMAL
        if self.ws is not None and not self.ws.finished:
            code = self.ws.connection_lost().code
        self.cycle.disconnect(code)

    def _handle(self, events: list[Any]) -> None:
        cycle = self.cycle
        for event in events:
            kind = type(event)
            if kind is Message:
                cycle.feed(event.data)
            elif event is PONG:
                if self._pong_timer is not None:
                    self._pong_timer.cancel()
                    self._pong_timer = None
            elif kind is Closed or kind is Failed:
                if kind is Failed and self.logger.isEnabledFor(logging.DEBUG):
                    self.logger.debug("WebSocket protocol error from %s: %s", self.info.client, event.reason)
                self._flush()
                self._finish()
                cycle.disconnect(event.code, event.reason)
        self._flush()

    def _flush(self) -> None:
        ws = self.ws
        if ws is not None:
            data = ws.data_to_send()
            if data and not self.closing:
                self._write(data)

    def _finish(self) -> None:
        if not self.closing:
            self.closing = True
            if self._close_timer is not None:
                self._close_timer.cancel()
                self._close_timer = None
            self._end()

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
        self.logger.info(
            "WebSocket %s did not answer a ping; closing.", format_client(self.cycle.scope["client"])
        )
        ws = self.ws
        if ws is not None:
            ws.close(WS_INTERNAL_ERROR, "keepalive ping timeout")
            self._flush()
        self._finish()
        self.cycle.disconnect(WS_INTERNAL_ERROR, "keepalive ping timeout")

    def _closing_handshake_timeout(self) -> None:
        self._close_timer = None
        self._finish()

    # ---- the stream interface WebSocketCycle talks to ------------------------------------------

    def create_future(self) -> asyncio.Future[None]:
        return self.loop.create_future()

    def accept(self, subprotocol: str | None, headers: Any) -> None:
        settings = self.settings
        assert settings is not None
        deflate = BoundedDeflate(settings.max_size) if settings.per_message_deflate else None
        self._write_accept(subprotocol, headers, deflate)  # raises for a header it cannot write
        self._log_access(101 if self.request.http_version == "1.1" else 200)
        if self.closing:
            return
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
            self._finish()
            return
        ws.close(code, reason)
        self._flush()
        if ws.local_closing:
            settings = self.settings
            timeout = settings.close_timeout if settings is not None else 0
            self._close_timer = self.loop.call_later(timeout, self._closing_handshake_timeout)
        else:
            self._finish()

    def app_finished(self) -> None:
        self.path.session_finished(self.cycle)

    def shutdown(self) -> None:
        """Graceful stop: say "going away" and let the app see the disconnect."""
        if self.ws is not None and self.ws.open:
            self.send_close(WS_GOING_AWAY, "Server shutting down")
        elif self.ws is None:
            self.abort()

    def _log_access(self, status: int) -> None:
        access = self.shared.access_log
        if access is not None:
            request = self.request
            access.log(
                self.cycle.scope["client"],
                request.method,
                request.target,
                request.headers,
                status,
                0,
                0.0,
                self.mount.name,
                self.path.listener.name,
                "WebSocket",
            )


class WSProtocol(WriteFlow, WebSocketSession, asyncio.Protocol):
    """A WebSocket over an HTTP/1.1 connection: the transport is the session's."""

    def __init__(
        self,
        path: ExchangePath,
        transport: asyncio.Transport,
        info: ConnectionInfo,
        request: Request,
        handshake: Handshake,
        mount: Mount,
        scope: dict[str, Any],
        trailing: bytes,
        write_paused: bool,
    ) -> None:
        super().__init__(path, info, request, handshake, mount, scope, trailing)
        self.transport = transport
        self.idle_deadline = 0.0  # never idle in the keep-alive sense: timed_out is never called
        self.init_flow(self.loop, write_paused)  # the transport's, as the HTTP/1.1 connection left it
        self.read_paused = False
        self._response: ResponseFramer | None = None

    def timed_out(self) -> None:
        self.idle_deadline = 0.0

    def start(self, app: Any) -> None:
        self.shared.connections.add(self)
        super().start(app)

    # ---- asyncio.Protocol --------------------------------------------------------------------

    data_received = WebSocketSession.feed

    def connection_lost(self, exc: Exception | None) -> None:
        self.shared.connections.discard(self)
        self.lost()
        self.writable.wake()

    # ---- the transport -----------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        self.transport.write(data)

    def _end(self) -> None:
        self.transport.close()

    def _write_accept(self, subprotocol: str | None, headers: Any, deflate: BoundedDeflate | None) -> None:
        head = accept_response(self.handshake, subprotocol, headers, deflate, self.shared.defaults.server)
        if not self.closing:
            self.transport.write(head)

    def pause_reading(self) -> None:
        if not self.read_paused and not self.closing:
            self.read_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.read_paused and not self.closing:
            self.read_paused = False
            self.transport.resume_reading()

    def reject(self, status: int) -> None:
        if self.closing:
            return
        self._log_access(status)
        self.transport.write(simple_response(status, ERROR_REASONS[status], self.shared.defaults))
        self._finish()

    def respond(self, status: int, headers: Any) -> None:
        self._response = core = ResponseFramer()
        core.init_response()
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
        if isinstance(data, tuple):
            if not self.closing:
                self.transport.writelines(data)
        elif data and not self.closing:
            self.transport.write(data)
        if not more:
            self._finish()

    def abort(self) -> None:
        self._finish()

    close = abort  # as H1Protocol.close: the server closes a connection
