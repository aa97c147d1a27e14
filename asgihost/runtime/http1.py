"""The asyncio side of an HTTP/1.1 connection: feed the core, dispatch its events, write.

Invariants:
- ``self.cycle`` is the exchange whose response is being written; requests parsed while it is
  in progress wait in ``self.pipeline`` (reading pauses meanwhile), and start in order.
- ``self.parsing`` is the exchange the parser's body bytes belong to.
- Reading is paused while a request waits in the pipeline or an exchange holds more unread
  body than ``HIGH_WATER``; it resumes when neither holds.
- A connection is idle when it has no exchange; then ``idle_deadline`` is set and the
  server's tick closes it once the deadline passes. Nothing is scheduled per request.
- A response the client does not take sets ``idle_deadline`` to its send timeout
  (``h1_writer``); once it passes the connection is aborted.
- A response written within ``_start`` (a static answer, with no task) does not start the
  next pipelined request from inside itself: ``_start`` goes on with it, in a loop, so a
  pipeline of such requests is no recursion.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..asgi.http_cycle import HTTPCycle, Response
from ..asgi.scope import FILE_EXTENSIONS, ConnectionInfo, websocket_scope
from ..logs import TRACE
from ..logs.access import format_client
from ..protocols.errors import ERROR_REASONS, ProtocolError
from ..protocols.events import Data, EndOfMessage, Malformed, Request, Upgrade
from ..protocols.h2_settings import H2Settings
from ..protocols.http1_head import HEAD
from ..protocols.http1_response import simple_response
from ..protocols.negotiate import ERROR, H2, WEBSOCKET, Negotiator, upgrade_kind
from .exchange import ExchangePath
from .h1_writer import H1Writer
from .sockets import reset_on_close, tls_extension
from .state import Mount

if TYPE_CHECKING:
    from ..protocols.websocket import Handshake

FIRST_REQUEST_GRACE_S = 1.0  # at shutdown, for a connection whose next request may be in flight


def _address(transport: asyncio.BaseTransport, name: str) -> tuple[str, int] | None:
    info = transport.get_extra_info(name)
    if isinstance(info, tuple) and len(info) >= 2:
        return (str(info[0]), int(info[1]))
    return None


class H1Protocol(H1Writer, asyncio.Protocol):
    # Slots: a connection's attributes in a dict would cost about 1 KiB more per connection.
    __slots__ = (
        "path",
        "shared",
        "listener",
        "loop",
        "scheme",
        "h2",
        "h1",
        "negotiator",
        "served",
        "logger",
        "core",
        "requests",
        "head_timing",
        "transport",
        "info",
        "parsing",
        "pipeline",
        "closing",
        "draining",
        "upgrading",
        "upgrading_h2",
        "app_finished",
        "starting",
        "next_ready",
        "unended",
    )

    def __init__(
        self,
        path: ExchangePath,
        scheme: str = "http",
        h2: H2Settings | None = None,
        h1: bool = True,
    ) -> None:
        self.path = path  # the listener's; connection_made takes the one for its peer
        self.shared = shared = path.shared
        self.listener = listener = path.listener
        self.loop = path.loop
        self.scheme = scheme
        self.h2 = h2  # HTTP/2 is served on this listener: by ALPN, or on seeing its preface
        self.h1 = h1  # HTTP/1.1 is served on this listener (else HTTP/2 only)
        # Until the first bytes decide it (cleartext, HTTP/2 offered): HTTP/1.1 or HTTP/2?
        self.negotiator: Negotiator | None = None
        self.served = 0.0  # clock.now when the last response was completed; 0: none yet
        self.logger = shared.logger
        self.core = listener.core(listener.head)  # httptools' or h11's, as the plan says
        self.requests = 0  # requests begun on this connection
        self.head_timing = False  # idle_deadline is the deadline of the head being received
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set by connection_made
        self.info: ConnectionInfo = None  # type: ignore[assignment]  # set by connection_made
        self.cycle: HTTPCycle | None = None
        self.parsing: HTTPCycle | None = None
        self.pipeline: deque[HTTPCycle | ProtocolError] = deque()
        self.read_paused = False
        self.init_flow(self.loop)
        self.closing = False
        self.draining = False  # close after the response in progress
        self.idle_deadline = 0.0
        self.upgrading: tuple[Request, Handshake, Mount, dict[str, Any]] | None = None
        self.upgrading_h2: tuple[Request, bytes] | None = None  # Upgrade: h2c, and HTTP2-Settings
        self.plain = False  # no TLS: files go out by sendfile
        self.starting = False  # within _start
        self.next_ready = False  # a response completed within _start: it goes on
        self.send_stalled = False  # idle_deadline is the send timeout of a response not taken
        self.file_waiter: asyncio.Future[None] | None = None  # zero_copy's wait for the socket
        self.unended: HTTPCycle | None = None  # answered within _start before its request ended

    # ---- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        shared = self.shared
        shared.connections.add(self)
        extensions: dict[str, Any] = FILE_EXTENSIONS
        ssl_object = transport.get_extra_info("ssl_object") if self.scheme == "https" else None
        if ssl_object is not None:
            tls = tls_extension(ssl_object)
            if tls is not None:
                extensions = {"tls": tls, **FILE_EXTENSIONS}
        self.plain = ssl_object is None and transport.get_extra_info("socket") is not None
        self.info = ConnectionInfo(
            _address(transport, "sockname"), _address(transport, "peername"), self.scheme, extensions
        )
        self.path = path = self.path.for_peer(self.info)
        if shared.trace:
            shared.logger.log(TRACE, "%s - HTTP connection made", format_client(self.info.client))
        self.app_finished: Callable[[HTTPCycle], None] = (
            path.finish
        )  # HTTPCycle calls it when the app returns
        self.idle_deadline = shared.clock.now + shared.keep_alive_timeout
        if self.h2 is not None:
            negotiator = Negotiator(h1=self.h1, h2=True, tls=ssl_object is not None)
            if ssl_object is None:
                self.negotiator = negotiator
            elif negotiator.alpn(ssl_object.selected_alpn_protocol()).protocol == H2:
                self._switch_to_h2(b"")
                return
        if shared.draining:  # accepted as the server stopped: the first request is still answered
            self.shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        self.shared.connections.discard(self)
        if self.shared.trace:
            self.shared.logger.log(TRACE, "%s - HTTP connection lost", format_client(self.info.client))
        self.closing = True
        self.idle_deadline = 0.0
        if self.cycle is not None:
            self.cycle.disconnect()
        if self.parsing is not None and self.parsing is not self.cycle:
            self.parsing.disconnect()
        for item in self.pipeline:
            if isinstance(item, HTTPCycle):
                item.disconnect()
        self.pipeline.clear()
        self.writable.wake()
        if self.file_waiter is not None and not self.file_waiter.done():
            self.file_waiter.set_result(None)

    # No eof_received: a peer that stops sending has gone, as Uvicorn takes it. The transport
    # closes and connection_lost hands http.disconnect to the exchange in flight; an app waiting
    # on receive() must learn that, and a body cut short must not be waited for.

    def data_received(self, data: bytes) -> None:
        negotiator = self.negotiator
        if negotiator is not None:
            decision = negotiator.receive_data(data)
            if decision is None:
                return  # a part of the HTTP/2 preface, so far
            self.negotiator = None
            if decision.protocol == H2:  # the whole preface: prior knowledge
                self._switch_to_h2(decision.data)
                return
            if decision.protocol == ERROR:
                assert decision.error is not None
                self._on_error(decision.error)
                return
            data = decision.data
        core = self.core
        events = core.receive_data(data)
        for event in events:
            if type(event) is Request:
                self._on_request(event)
            elif type(event) is Data:
                parsing = self.parsing
                if parsing is not None and not parsing.feed_body(event.data):
                    self._body_failed(parsing, ProtocolError("Request body too large.", 413))
                    return
            elif type(event) is EndOfMessage:
                parsing = self.parsing
                if parsing is not None:
                    parsing.end_body()
                    self.parsing = None
                    if parsing is self.unended:  # its response is written: the next one
                        self.unended = None
                        self._start(self._next(parsing))
                    elif self.cycle is not None:
                        self.idle_deadline = 0.0  # no body timeout any more
            elif type(event) is Upgrade:
                if self.upgrading is not None:
                    self._switch_to_websocket(event.trailing)
                elif self.upgrading_h2 is not None:
                    self._switch_to_h2(event.trailing, self.upgrading_h2)
            elif type(event) is Malformed:
                if self.parsing is not None:  # the body of a request in progress
                    self._body_failed(self.parsing, event.error)
                else:
                    self._on_error(event.error)
                return
        if self.unended is not None:  # answered, and its body is not all here: not read, closed
            self.unended = None
            self.close()
            return
        # Deadlines: a body being received must keep coming; a head must end in time.
        parsing = self.parsing
        if parsing is not None:
            timeout = parsing.mount.body_timeout
            if timeout:
                self.idle_deadline = self.shared.clock.now + timeout
        elif core.phase == HEAD and not self.head_timing:
            timeout = self.listener.head_timeout
            if timeout:
                self.head_timing = True
                self.idle_deadline = self.shared.clock.now + timeout

    # ---- requests ----------------------------------------------------------------------------

    def _on_request(self, request: Request) -> None:
        self.idle_deadline = 0.0
        self.head_timing = False
        self.requests += 1
        if self.draining or self.requests == self.listener.last_request:
            request.keep_alive = False  # the server is stopping, or the cap: this is the last one
        try:
            cycle = self.path.open(self, self.info, request)
        except ProtocolError as exc:
            self._on_error(exc)
            return
        mount = cycle.mount
        if request.upgrade is not None:
            upgrade = upgrade_kind(
                request,
                websocket=mount.websocket is not None,
                h2c=self.h2 is not None and self.scheme == "http",
                first=self.cycle is None,
            )
            if upgrade is not None:
                if upgrade.kind == WEBSOCKET:
                    self._on_websocket(cycle)
                else:
                    self.upgrading_h2 = (request, upgrade.settings)
                return
        if request.content_length > mount.body_size:
            self.core.stop()  # the body is not read: 413 at once, even with Expect: 100-continue
            cycle.status = 413  # refused in its turn: the app never runs
        else:
            self.parsing = cycle
        if self.cycle is None:
            self._start(cycle)
        else:
            self.pipeline.append(cycle)
            self.pause_reading()

    def _on_websocket(self, opened: HTTPCycle) -> None:
        """An upgrade to WebSocket: its session takes the transport once the request is whole."""
        from ..protocols.websocket import check_upgrade  # (wsproto: imported by the first upgrade)

        request = opened.request
        handshake = check_upgrade(request)
        if isinstance(handshake, ProtocolError):
            self._on_error(handshake)
        elif self.cycle is not None:
            self._on_error(ProtocolError("A WebSocket upgrade may not be pipelined.", 400))
        else:
            scope = websocket_scope(opened.scope, self.info, handshake.subprotocols)
            self.upgrading = (request, handshake, opened.mount, scope)

    def _switch_to_h2(self, initial: bytes, upgrade: tuple[Request, bytes] | None = None) -> None:
        """Hand the transport to an HTTP/2 protocol; this one is done. With ``upgrade`` (an
        ``Upgrade: h2c`` request and its HTTP2-Settings) the request becomes stream 1."""
        assert self.h2 is not None
        from .http2 import H2Protocol  # (h2 is imported by the first connection that speaks it)

        self.shared.connections.discard(self)
        self.closing = True
        self.idle_deadline = 0.0
        self.upgrading_h2 = None
        protocol = H2Protocol(self.path, self.transport, self.info, self.h2)
        self.transport.set_protocol(protocol)
        if upgrade is None:
            protocol.start(initial)
        else:
            protocol.start_upgraded(upgrade[0], upgrade[1], initial)

    def _switch_to_websocket(self, trailing: bytes) -> None:
        """Hand the transport to a WebSocket protocol; this one is done."""
        assert self.upgrading is not None
        from .websocket import WSProtocol

        request, handshake, mount, scope = self.upgrading
        self.upgrading = None
        app = self.path.app_for(mount)  # while this connection still counts
        self.shared.connections.discard(self)
        self.closing = True
        self.idle_deadline = 0.0
        protocol = WSProtocol(
            self.path,
            self.transport,
            self.info,
            request,
            handshake,
            mount,
            scope,
            trailing,
            self.write_paused,
        )
        protocol.read_paused = self.read_paused
        self.transport.set_protocol(protocol)
        protocol.start(app)

    def _on_error(self, error: ProtocolError) -> None:
        """A request we cannot parse: answer it in its turn, then close."""
        self.parsing = None
        if self.cycle is None:
            self._write_error(error)
        else:
            self.pipeline.append(error)
            self.pause_reading()

    def _body_failed(self, cycle: HTTPCycle, error: ProtocolError) -> None:
        """A request body that cannot go on (malformed, too large, too slow): answer with the
        error if the response has not begun, tell the app the client is gone, close."""
        self.core.stop()
        self.parsing = None
        self.idle_deadline = 0.0
        if cycle is self.unended:  # answered already: the rest of its body is not waited for
            self.unended = None
            self.close()
            return
        if cycle is not self.cycle:  # still waiting in the pipeline: the error takes its turn
            self.pipeline.remove(cycle)
            cycle.disconnect()
            self.pipeline.append(error)
            self.pause_reading()
            return
        if cycle.state is Response.START or not self.core.head_written:
            self.cycle = None  # nothing of its response was written: the error is the response
            cycle.status = error.status_hint  # what the access log says once the app has finished
            self._write_error(error)
        else:
            self.close()
        cycle.disconnect()

    def timed_out(self) -> None:
        """The tick found ``idle_deadline`` passed: a body stalled, a head too slow, a client
        that does not take its response, or idle."""
        self.idle_deadline = 0.0
        if self.send_stalled:
            if self.logger.isEnabledFor(logging.DEBUG):
                self.logger.debug(
                    "%s - the client took no more of the response: closing", format_client(self.info.client)
                )
            self.abort()
            return
        parsing = self.parsing
        if parsing is not None:
            if self.read_paused:  # we hold the body back (the app is not reading): not the peer's fault
                self.idle_deadline = self.shared.clock.now + parsing.mount.body_timeout
                return
            self._body_failed(parsing, ProtocolError("Request body timeout.", 408))
        elif self.core.phase == HEAD:
            self.core.stop()
            self.head_timing = False
            self._on_error(ProtocolError("Request head timeout.", 408))
        elif self.cycle is None:
            self.close()

    def _write_error(self, error: ProtocolError) -> None:
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug("%s", error)
        status = error.status_hint
        extra = b"sec-websocket-version: 13\r\n" if status == 426 else b""
        self.transport.write(
            simple_response(status, ERROR_REASONS.get(status, b"Error"), self.shared.defaults, extra=extra)
        )
        self.close()

    def _start(self, cycle: HTTPCycle | None) -> None:
        self.starting = True
        try:
            while cycle is not None:
                self.cycle = cycle
                if cycle.status:  # refused before it began (a body announced over the limit)
                    self.path.refuse(cycle, cycle.status)
                else:
                    self.path.start(cycle, "asgihost.http")
                if not self.next_ready:
                    return
                self.next_ready = False  # its response is written already: the next one
                cycle = self._next(cycle)
        finally:
            self.starting = False

    def _response_complete(self, cycle: HTTPCycle) -> None:
        self.cycle = None
        self.served = self.shared.clock.now
        self.send_stalled = False
        if self.starting and cycle is self.parsing and not self.closing and self.core.keep_alive:
            self.unended = cycle  # answered at once: the end of its request is being parsed
            return
        if self.closing or not self.core.keep_alive or not cycle.body_complete:
            # (An unread request body would have to be read and thrown away: close instead.)
            self.close()
            return
        if self.starting:
            self.next_ready = True
            return
        self._start(self._next(cycle))

    def _next(self, done: HTTPCycle) -> HTTPCycle | None:
        """After the response to ``done``: the pipelined exchange to start, if any (else an
        error in its turn, the drain, or the keep-alive wait)."""
        if self.pipeline:
            item = self.pipeline.popleft()
            if isinstance(item, ProtocolError):
                self._write_error(item)
                return None
            if not self.pipeline:
                self.resume_reading()
            return item
        if self.draining:
            self._drain_idle()
        else:
            self.idle_deadline = self.shared.clock.now + done.mount.keep_alive_timeout
            self.resume_reading()
        return None

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            self.transport.close()

    def abort(self) -> None:
        """Close at once, dropping what the transport and the kernel still hold (a client that
        does not read): a reset."""
        self.closing = True
        reset_on_close(self.transport)
        self.transport.abort()
        if self.file_waiter is not None and not self.file_waiter.done():
            self.file_waiter.set_result(None)

    def shutdown(self) -> None:
        """Graceful stop: every request this connection has read, or has begun to receive,
        is answered (the last response says "connection: close"), and only then it closes."""
        self.draining = True
        if self.closing:
            return
        if self.cycle is None:
            self._drain_idle()
        elif self.pipeline:
            last = self.pipeline[-1]
            if isinstance(last, HTTPCycle):
                last.request.keep_alive = False
        else:
            self.cycle.request.keep_alive = False  # says "connection: close" if not yet sent

    def _drain_idle(self) -> None:
        """Draining with no exchange: a request whose head has begun is waited for (its head
        timeout still holds). A connection that has never answered, or answered within the
        grace, may have its next request on the wire: it gets until the end of the grace, and
        that request is answered with "connection: close". Else it closes now."""
        if self.core.phase == HEAD:
            return  # the head's own deadline runs; the request is answered, then the close
        now = self.shared.clock.now
        since = self.served or now
        if now - since < FIRST_REQUEST_GRACE_S:
            self.idle_deadline = since + FIRST_REQUEST_GRACE_S
            self.resume_reading()
        else:
            self.close()
