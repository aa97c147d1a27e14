"""The asyncio side of an HTTP/2 connection: feed the core, run one exchange per stream, write.

``H1Protocol`` hands a connection over when TLS negotiated ``h2`` (ALPN) or the first bytes
are the HTTP/2 preface (h2c with prior knowledge). Each stream is an ``HTTPCycle``, the same
ASGI exchange HTTP/1.1 uses, opened and finished by the same ``ExchangePath``; ``H2Stream`` is
what the cycle talks to.

Invariants:
- Frames are written once per loop iteration (``flush_soon``): the responses of many streams
  share a write.
- A stream's request body reopens the peer's windows as the app takes it: while the cycle
  holds more than its high-water mark unread, nothing is acknowledged, so the peer stops.
- An app's ``send`` waits while its stream's response data is queued behind the peer's window,
  or while the transport is above its high-water mark.
- A failed or broken response resets its stream, never the connection.
- Deadlines (``idle_deadline``, checked by the server's tick): with no stream, the keep-alive
  timeout of the app that answered last; while a request body comes, no later than the body
  timeout of each stream receiving one (a stalled body gets 408, or a reset once its response
  has begun).
"""

from __future__ import annotations

import asyncio
import logging

from ..asgi.http_cycle import HTTPCycle
from ..asgi.scope import ConnectionInfo, websocket_scope
from ..logs import TRACE
from ..logs.access import format_client
from ..protocols.errors import H2ErrorCode, ProtocolError
from ..protocols.events import Data, EndOfMessage, Request
from ..protocols.h2_settings import H2Settings
from ..protocols.http2 import GoAway, H2Connection, StreamReset, WindowOpened
from ..protocols.negotiate import upgraded_request
from ..protocols.websocket import check_upgrade
from .exchange import ExchangePath
from .flow import WriteFlow
from .h2_stream import H2Stream
from .h2_websocket import H2WebSocket
from .state import Mount

FLUSH_AT = 65536  # body bytes framed before they are written without waiting for the next turn


class H2Protocol(WriteFlow, asyncio.Protocol):
    def __init__(
        self, path: ExchangePath, transport: asyncio.Transport, info: ConnectionInfo, settings: H2Settings
    ) -> None:
        self.path = path
        self.shared = shared = path.shared
        self.loop = path.loop
        self.transport = transport
        self.info = info
        self.listener = path.listener
        # HTTP/2 requests also offer response trailers: the scope extensions, made once
        self.http_info = ConnectionInfo(
            info.server, info.client, info.scheme, {**(info.extensions or {}), "http.response.trailers": {}}
        )
        self.logger = shared.logger
        self.core = H2Connection(settings)
        self.streams: dict[int, H2Stream] = {}
        self.websockets: dict[int, H2WebSocket] = {}
        self.receiving = 0  # streams whose request body is still coming (they have deadlines)
        self.head_timeout = path.listener.head_timeout  # for a header block begun and not ended
        self.head_deadline = 0.0  # while one is: when it must have ended; 0: none pending
        self.keep_alive_timeout = shared.keep_alive_timeout  # of the app that answered last
        self.init_flow(self.loop)
        self.closing = False
        self.draining = False
        self.idle_deadline = 0.0
        self._flush_scheduled = False
        self.unflushed = 0  # body bytes framed since the last write to the transport
        self._defaults_date = b""
        self._defaults: list[tuple[bytes, bytes]] = []

    def start(self, initial: bytes = b"") -> None:
        shared = self.shared
        shared.connections.add(self)
        self.idle_deadline = shared.clock.now + shared.keep_alive_timeout
        self.core.initiate()
        self._flush()
        if initial:
            self.data_received(initial)
        if shared.draining:  # accepted as the server stopped: the streams begun are answered
            self.shutdown()

    def start_upgraded(self, request: Request, settings: bytes, trailing: bytes) -> None:
        """After ``Upgrade: h2c``: 101, our SETTINGS, then the request as stream 1."""
        shared = self.shared
        shared.connections.add(self)
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n"
        )
        self.core.initiate(upgrade_settings=settings)
        self._flush()
        self._on_request(upgraded_request(request))
        stream = self.streams.get(1)
        if stream is not None:
            stream.cycle.end_body()  # (it had no body: its request said content-length 0)
        if trailing:
            self.data_received(trailing)

    # ---- asyncio.Protocol --------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        for event in self.core.receive_data(data):
            kind = type(event)
            if kind is Data:
                stream = self.streams.get(event.stream_id)  # type: ignore[union-attr]
                if stream is not None and not stream.cycle.disconnected:
                    if stream.deadline:
                        stream.deadline = self._body_deadline(stream.cycle.mount)
                    stream.feed(event.data)  # type: ignore[union-attr]
                elif event.stream_id in self.websockets:  # type: ignore[union-attr]
                    self.websockets[event.stream_id].feed(event.data)  # type: ignore[union-attr]
                else:
                    self.core.acknowledge(event.stream_id, len(event.data))  # type: ignore[union-attr]
            elif kind is Request:
                self._on_request(event)  # type: ignore[arg-type]
            elif kind is EndOfMessage:
                stream = self.streams.get(event.stream_id)  # type: ignore[union-attr]
                if stream is not None:
                    if stream.deadline:
                        stream.deadline = 0.0
                        self.receiving -= 1
                    stream.cycle.end_body()
                elif event.stream_id in self.websockets:  # type: ignore[union-attr]
                    # END_STREAM is the peer's TCP FIN (RFC 8441 section 4): no more frames
                    session = self.websockets[event.stream_id]  # type: ignore[union-attr]
                    session._finish()
                    session.lost()
            elif kind is WindowOpened:
                self._window_opened(event.stream_id)  # type: ignore[union-attr]
            elif kind is StreamReset:
                reset = self.streams.pop(event.stream_id, None)  # type: ignore[union-attr]
                if reset is not None:
                    self._release(reset)
                    reset.done = True
                    reset.cycle.disconnect()
                    reset.wake()
                    self._maybe_idle()
                gone = self.websockets.pop(event.stream_id, None)  # type: ignore[union-attr]
                if gone is not None:
                    gone.closing = True
                    gone.lost()
                    gone.wake()
                    self._maybe_idle()
            elif kind is GoAway:
                if event.flood:  # type: ignore[union-attr]
                    self.logger.warning(
                        "HTTP/2 connection from %s closed: %s",
                        format_client(self.info.client),
                        event.error,  # type: ignore[union-attr]
                    )
                elif self.logger.isEnabledFor(logging.DEBUG):
                    self.logger.debug("HTTP/2 connection from %s ends: %s", self.info.client, event.error)  # type: ignore[union-attr]
                self._flush()
                self.close()
                return
        if self.head_timeout:
            if self.core.head_pending:
                if not self.head_deadline:
                    self.head_deadline = deadline = self.shared.clock.now + self.head_timeout
                    if not self.idle_deadline or self.idle_deadline > deadline:
                        self.idle_deadline = deadline
            else:
                self.head_deadline = 0.0
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.shared.connections.discard(self)
        if self.shared.trace:
            self.shared.logger.log(TRACE, "%s - HTTP connection lost", format_client(self.info.client))
        self.closing = True
        self.idle_deadline = 0.0
        for stream in self.streams.values():
            stream.done = True
            stream.cycle.disconnect()
            stream.wake()
        self.streams.clear()
        for session in self.websockets.values():
            session.lost()
            session.wake()
        self.websockets.clear()
        self.writable.wake()

    def pause_writing(self) -> None:
        # A peer that does not read gets nothing more read from it either: whatever it sends
        # (pings, settings, requests) makes output, and output waits in memory until it reads.
        self.write_paused = True
        if not self.closing:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        if not self.closing:
            self.transport.resume_reading()
        for stream in self.streams.values():
            stream.wake()
        for session in self.websockets.values():
            session.wake()

    # ---- streams -----------------------------------------------------------------------------

    def _on_request(self, request: Request) -> None:
        if not self.receiving:
            self.idle_deadline = 0.0  # (else it is the first body deadline of those streams)
        stream_id = request.stream_id
        if self.draining:
            self.core.reset(stream_id, H2ErrorCode.REFUSED_STREAM)  # after our GOAWAY
            return
        stream = H2Stream(self, stream_id)
        path = self.path
        try:
            cycle = path.open(stream, self.http_info, request)
        except ProtocolError:
            self.core.reset(stream_id, H2ErrorCode.PROTOCOL_ERROR)
            return
        mount = cycle.mount
        if request.upgrade is not None:
            self._on_connect(cycle)
            return
        stream.cycle = cycle
        self.streams[stream_id] = stream
        if request.content_length > mount.body_size:  # 413 at once; the app never runs
            path.refuse(cycle, 413)
            return
        if mount.body_timeout and request.content_length:  # until EndOfMessage: the body must keep coming
            stream.deadline = self._body_deadline(mount)
            self.receiving += 1
        path.start(cycle, "asgihost.h2")

    def _body_deadline(self, mount: Mount) -> float:
        deadline = self.shared.clock.now + mount.body_timeout
        if not self.idle_deadline or self.idle_deadline > deadline:
            self.idle_deadline = deadline
        return deadline

    def _stop_receiving(self, stream: H2Stream) -> None:
        if stream.deadline:
            stream.deadline = 0.0
            self.receiving -= 1

    def _release(self, stream: H2Stream) -> None:
        """A stream is over: what it held back unread still counts in the connection's window."""
        self._stop_receiving(stream)
        if stream.unacked:
            self.core.acknowledge(stream.stream_id, stream.unacked)
            stream.unacked = 0
            self.flush_soon()

    def _on_connect(self, opened: HTTPCycle) -> None:
        """An extended CONNECT: a WebSocket on this stream, if the app takes WebSockets."""
        request = opened.request
        mount = opened.mount
        stream_id = request.stream_id
        handshake = check_upgrade(request) if request.upgrade == b"websocket" else None
        if mount.websocket is None or handshake is None or isinstance(handshake, ProtocolError):
            status = handshake.status_hint if isinstance(handshake, ProtocolError) else 501
            self.core.send_headers(stream_id, status, [(b"content-length", b"0")], self.defaults(), True)
            self.flush_soon()
            return
        scope = websocket_scope(opened.scope, self.info, handshake.subprotocols)
        session = H2WebSocket(self, stream_id, request, handshake, mount, scope)
        self.websockets[stream_id] = session
        session.start(self.path.app_for(mount))

    def websocket_finished(self, session: H2WebSocket) -> None:
        if self.websockets.get(session.stream_id) is session:
            del self.websockets[session.stream_id]
        session.wake()
        self._maybe_idle()

    def stream_finished(self, stream: H2Stream) -> None:
        streams = self.streams
        if streams.get(stream.stream_id) is stream:
            del streams[stream.stream_id]
        if stream.deadline or stream.unacked:
            self._release(stream)
        if stream.waiter is not None:
            stream.waiter.wake()
        if not streams and not self.websockets:
            self.keep_alive_timeout = stream.cycle.mount.keep_alive_timeout  # the app that answered last
            self._maybe_idle()

    def _maybe_idle(self) -> None:
        if not self.streams and not self.websockets:
            if self.draining:
                self._flush()
                self.close()
            else:
                self.idle_deadline = self.shared.clock.now + self.keep_alive_timeout

    def _window_opened(self, stream_id: int) -> None:
        if stream_id == 0:
            for stream in self.streams.values():
                stream.wake()
        else:
            one = self.streams.get(stream_id)
            if one is not None:
                one.wake()

    # ---- output ------------------------------------------------------------------------------

    def defaults(self) -> list[tuple[bytes, bytes]]:
        """Date, server and extra headers as fields, re-rendered when the date changes."""
        defaults = self.shared.defaults
        if defaults.date is not self._defaults_date:
            self._defaults_date = defaults.date
            fields: list[tuple[bytes, bytes]] = []
            for line in (defaults.date, defaults.server, *defaults.extra.split(b"\r\n")):
                name, sep, value = line.rstrip(b"\r\n").partition(b": ")
                if sep:
                    fields.append((name.lower(), value))
            self._defaults = fields
        return self._defaults

    def flush_soon(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def flush_after(self, size: int) -> None:
        """``size`` more body bytes are framed: written at once past ``FLUSH_AT`` (so the
        transport's high-water mark holds the app's sends back, and no more than that piles
        up while an app sends without waiting), else on the next turn."""
        self.unflushed += size
        if self.unflushed >= FLUSH_AT:
            self._flush()
        else:
            self.flush_soon()

    def _flush(self) -> None:
        self._flush_scheduled = False
        self.unflushed = 0
        data = self.core.data_to_send()
        if data and not self.closing:
            self.transport.write(data)

    def timed_out(self) -> None:
        """A deadline passed: idle past the keep-alive timeout, a header block unfinished past
        the head timeout (the connection ends: nothing after it can be decoded), or a stream's
        body stalled."""
        self.idle_deadline = 0.0
        now = self.shared.clock.now
        head_deadline = self.head_deadline
        if head_deadline:
            if head_deadline <= now:
                self.logger.info(
                    "HTTP/2 connection from %s closed: request head timeout", format_client(self.info.client)
                )
                self.close()
                return
            self.idle_deadline = head_deadline
        elif not self.streams and not self.websockets:
            self.close()
            return
        if not self.receiving:
            return
        for stream in [s for s in self.streams.values() if s.deadline]:
            if stream.paused:  # we hold the body back (the app is not reading): not the peer's fault
                stream.deadline = self._body_deadline(stream.cycle.mount)
            elif stream.deadline <= now:
                self._stop_receiving(stream)
                stream.reject(408)
            else:
                if not self.idle_deadline or self.idle_deadline > stream.deadline:
                    self.idle_deadline = stream.deadline
        self._flush()

    def close(self) -> None:
        if not self.closing:
            self.core.goaway()  # a no-op when the connection is already over
            self._flush()
            self.closing = True
            self.transport.close()

    def shutdown(self) -> None:
        """Graceful stop: GOAWAY; streams already taken finish, then the connection closes."""
        if not self.draining:
            self.draining = True
            self.core.goaway()
            for session in list(self.websockets.values()):
                session.shutdown()
            self._flush()
        if not self.streams and not self.websockets:
            self.close()
