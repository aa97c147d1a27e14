"""The asyncio side of an HTTP/1.1 connection: feed the core, dispatch its events, write.

Invariants:
- ``self.cycle`` is the exchange whose response is being written; requests parsed while it is
  in progress wait in ``self.pipeline`` (reading pauses meanwhile), and start in order.
- ``self.parsing`` is the exchange the parser's body bytes belong to.
- Reading is paused while a request waits in the pipeline or an exchange holds more unread
  body than ``HIGH_WATER``; it resumes when neither holds.
- A connection is idle when it has no exchange; then ``idle_deadline`` is set and the
  server's tick closes it once the deadline passes. Nothing is scheduled per request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

from ..asgi.http_cycle import HTTPCycle, Response
from ..asgi.proxy import ProxyPolicy
from ..asgi.scope import AppPlace, ConnectionInfo, http_scope, parse_target, websocket_scope
from ..config.model import Limits, WebSocket
from ..logs.access import AccessLog
from ..metrics import CONTENT_TYPE, HTTP10, AppStats, Recorder
from ..protocols.errors import ProtocolError
from ..protocols.events import Data, EndOfMessage, Malformed, Request, Upgrade
from ..protocols.headers import has_token
from ..protocols.http1 import CONTINUE_100, HEAD, DefaultHeaders, H1Connection, HeadLimits, simple_response
from ..protocols.http2 import H2Settings, h2c_upgrade_settings
from ..protocols.websocket import Handshake, check_upgrade
from ..routing import RouteTable
from .clock import Clock
from .http2 import H2Protocol
from .sockets import tls_extension
from .websocket import WSProtocol

FIRST_REQUEST_GRACE_S = 1.0  # at shutdown, for a connection whose first request may be in flight
DEFAULT_LIMITS = Limits()

_REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    413: b"Content Too Large",
    414: b"URI Too Long",
    426: b"Upgrade Required",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    501: b"Not Implemented",
    503: b"Service Unavailable",
    505: b"HTTP Version Not Supported",
}


class Mount(AppPlace):
    """A running app where the router can send requests."""

    __slots__ = (
        "name",
        "app",
        "concurrency",
        "keep_alive_timeout",
        "websocket",
        "active",
        "body_size",
        "body_timeout",
        "stats",
    )

    def __init__(
        self,
        name: str,
        app: Any,
        root_path: str,
        path_prefix: str,
        state: dict[str, Any],
        concurrency: int | None,
        keep_alive_timeout: float,
        websocket: WebSocket | None = None,
        body_size: int = DEFAULT_LIMITS.body_size,
        body_timeout: float = DEFAULT_LIMITS.body_timeout,
    ) -> None:
        super().__init__(root_path, path_prefix, state)
        self.name = name
        self.app = app
        self.concurrency = concurrency
        self.keep_alive_timeout = keep_alive_timeout
        self.websocket = websocket  # None: upgrades to WebSocket are served as plain HTTP
        self.active = 0  # requests and WebSocket sessions of this app in flight
        self.body_size = body_size  # 413 beyond
        self.body_timeout = body_timeout  # 408 when the body stalls this long; 0: never
        self.stats: AppStats | None = None  # its metrics, when there are metrics


class ListenerSettings:
    """What a listener's connections share: its name, its limits on request heads and requests
    per connection, and whose proxy headers it believes."""

    __slots__ = ("name", "head", "head_timeout", "requests_per_connection", "last_request", "proxy", "own")

    def __init__(
        self,
        name: str = "default",
        head: HeadLimits | None = None,
        head_timeout: float = DEFAULT_LIMITS.head_timeout,
        requests_per_connection: int | None = None,
        proxy: ProxyPolicy | None = None,
        own: dict[str, Mount] | None = None,
    ) -> None:
        self.name = name
        self.proxy = proxy
        self.own = own or None  # paths the server answers itself (health, metrics), if any
        self.head = head or HeadLimits()
        self.head_timeout = head_timeout  # 0: none
        self.requests_per_connection = requests_per_connection
        self.last_request = requests_per_connection or -1  # the request that says "connection: close"

    @classmethod
    def from_config(
        cls, name: str, limits: Limits, proxy: ProxyPolicy | None, own: dict[str, Mount]
    ) -> ListenerSettings:
        head = HeadLimits(
            limits.request_line, limits.header_count, limits.header_field_size, limits.header_block_size
        )
        return cls(name, head, limits.head_timeout, limits.requests_per_connection, proxy, own)


DEFAULT_LISTENER_SETTINGS = ListenerSettings()


class ServerState:
    """What every connection of one server shares. Built once at start-up."""

    def __init__(
        self,
        defaults: DefaultHeaders,
        clock: Clock,
        keep_alive_timeout: float,
        limit_concurrency: int | None,
        logger: logging.Logger,
        access_log: AccessLog | None,
        metrics: Recorder | None = None,
    ) -> None:
        self.defaults = defaults
        self.clock = clock
        self.keep_alive_timeout = keep_alive_timeout
        self.limit_concurrency = limit_concurrency
        self.logger = logger
        self.access_log = access_log  # None when the access log is off
        self.metrics = metrics  # None when there are no metrics
        self.timing = access_log is not None or metrics is not None  # exchanges note when they began
        self.metrics_text: Any = None  # () -> bytes: the exposition the metrics path answers with
        self.connections: set[H1Protocol | H2Protocol | WSProtocol] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.requests = 0  # served so far, for max_requests
        self.not_found = Mount(
            "-", not_found, "", "", {}, None, keep_alive_timeout
        )  # no app: "-"; reads no body
        self.draining = False  # shutting down: the health check says 503
        self.health = Mount("health", self.health_check, "", "", {}, None, keep_alive_timeout)
        self.metrics_mount = Mount("metrics", self.metrics_page, "", "", {}, None, keep_alive_timeout)

    def app_for(self, mount: Mount) -> Any:
        """The app that answers a new request or WebSocket on ``mount``: its own, or a 503 when
        the server (tasks, or connections counting the caller's) or the app is at its limit."""
        limit = self.limit_concurrency
        if (limit is not None and (len(self.tasks) >= limit or len(self.connections) > limit)) or (
            mount.concurrency is not None and mount.active >= mount.concurrency
        ):
            self.logger.warning("Exceeded concurrency limit.")
            return service_unavailable
        return mount.app

    def start_exchange(self, cycle: HTTPCycle, loop: asyncio.AbstractEventLoop, name: str) -> None:
        """Run the app (or the 503 of ``app_for``) for an HTTP exchange in a task of its own."""
        mount: Mount = cycle.mount
        app = self.app_for(mount)
        mount.active += 1
        # The Task itself when no task factory is set, with a fixed name: on Python 3.11 uvloop's
        # create_task formats a unique one ("Task-7") first, 1.6% of a hello-world request.
        if loop.get_task_factory() is None:
            task: asyncio.Task[None] = asyncio.Task(cycle.run(app), loop=loop, name=name)
        else:
            task = loop.create_task(cycle.run(app))
        cycle.task = task
        self.tasks.add(task)

    async def health_check(self, scope: Any, receive: Any, send: Any) -> None:
        """The server's own answer on the health path: it serves (every lifespan startup has
        finished before any listener accepts), or it drains."""
        status, body = (503, b"draining\n") if self.draining else (200, b"ok\n")
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", b"%d" % len(body)),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def metrics_page(self, scope: Any, receive: Any, send: Any) -> None:
        body = self.metrics_text()
        headers = [(b"content-type", CONTENT_TYPE), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def websockets_active(self) -> int:
        count = 0
        for conn in self.connections:
            if isinstance(conn, WSProtocol):
                count += 1
            elif isinstance(conn, H2Protocol):
                count += len(conn.websockets)
        return count

    def sweep_idle(self) -> None:
        """Every connection past its deadline (idle keep-alive, slow head, stalled body) is told."""
        now = self.clock.now
        for conn in [c for c in self.connections if 0.0 < c.idle_deadline <= now]:
            conn.timed_out()


def _address(transport: asyncio.BaseTransport, name: str) -> tuple[str, int] | None:
    info = transport.get_extra_info(name)
    if isinstance(info, tuple) and len(info) >= 2:
        return (str(info[0]), int(info[1]))
    return None


async def not_found(scope: Any, receive: Any, send: Any) -> None:
    """The server's answer when no app is mounted for a request."""
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"9")]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": b"Not Found"})


async def service_unavailable(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.http.response.start", "status": 503, "headers": _UNAVAILABLE_HEADERS})
        await send({"type": "websocket.http.response.body", "body": b"Service Unavailable"})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", b"19"),
                (b"retry-after", b"1"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"Service Unavailable"})


_UNAVAILABLE_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", b"19"),
    (b"retry-after", b"1"),
]


class H1Protocol(asyncio.Protocol):
    def __init__(
        self,
        shared: ServerState,
        routes: RouteTable[Mount],
        loop: asyncio.AbstractEventLoop,
        scheme: str = "http",
        h2: H2Settings | None = None,
        h1: bool = True,
        listener: ListenerSettings | None = None,
    ) -> None:
        self.shared = shared
        self.listener = listener = listener or DEFAULT_LISTENER_SETTINGS
        self.proxy = listener.proxy  # kept by connection_made only for a trusted peer
        self.own = listener.own  # paths the server answers itself (health, metrics), if any
        self.routes = routes
        self.loop = loop
        self.scheme = scheme
        self.h2 = h2  # HTTP/2 is served on this listener: by ALPN, or on seeing its preface
        self.h1 = h1  # HTTP/1.1 is served on this listener (else HTTP/2 only)
        self.fresh = True  # no byte received yet
        self.served = False  # a response has been completed on this connection
        self.logger = shared.logger
        self.core = H1Connection(listener.head)
        self.requests = 0  # requests begun on this connection
        self.head_timing = False  # idle_deadline is the deadline of the head being received
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set by connection_made
        self.info: ConnectionInfo = None  # type: ignore[assignment]  # set by connection_made
        self.cycle: HTTPCycle | None = None
        self.parsing: HTTPCycle | None = None
        self.pipeline: deque[HTTPCycle | ProtocolError] = deque()
        self.read_paused = False
        self.write_paused = False
        self.closing = False
        self.draining = False  # close after the response in progress
        self.idle_deadline = 0.0
        self._drain_waiter: asyncio.Future[None] | None = None
        self.upgrading: tuple[Request, Handshake, Mount, dict[str, Any]] | None = None
        self.upgrading_h2: tuple[Request, bytes] | None = None  # Upgrade: h2c, and HTTP2-Settings

    # ---- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        shared = self.shared
        shared.connections.add(self)
        extensions = None
        ssl_object = transport.get_extra_info("ssl_object") if self.scheme == "https" else None
        if ssl_object is not None:
            tls = tls_extension(ssl_object)
            extensions = {"tls": tls} if tls is not None else None
        self.info = ConnectionInfo(
            _address(transport, "sockname"), _address(transport, "peername"), self.scheme, extensions
        )
        if self.proxy is not None and not self.proxy.trusts_peer(self.info):
            self.proxy = None  # its proxy headers are not believed
        self.idle_deadline = shared.clock.now + shared.keep_alive_timeout
        if self.h2 is not None and ssl_object is not None:
            if ssl_object.selected_alpn_protocol() == "h2" or not self.h1:
                self._switch_to_h2(b"")

    def connection_lost(self, exc: Exception | None) -> None:
        self.shared.connections.discard(self)
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
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # No eof_received: a peer that stops sending has gone, as Uvicorn takes it. The transport
    # closes and connection_lost hands http.disconnect to the exchange in flight; an app waiting
    # on receive() must learn that, and a body cut short must not be waited for.

    def data_received(self, data: bytes) -> None:
        if self.fresh:
            self.fresh = False
            if self.h2 is not None and data[:3] == b"PRI":  # the HTTP/2 preface: prior knowledge
                self._switch_to_h2(data)
                return
            if not self.h1:
                self._on_error(ProtocolError("This listener speaks HTTP/2 only.", 505))
                return
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
                if self.parsing is not None:
                    self.parsing.end_body()
                    self.parsing = None
                    if self.cycle is not None:
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

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        waiter = self._drain_waiter
        if waiter is not None:
            self._drain_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # ---- requests ----------------------------------------------------------------------------

    def _on_request(self, request: Request) -> None:
        self.idle_deadline = 0.0
        self.head_timing = False
        self.requests += 1
        if self.draining or self.requests == self.listener.last_request:
            request.keep_alive = False  # the server is stopping, or the cap: this is the last one
        try:
            raw_path, path, query = parse_target(request.target)
        except ProtocolError as exc:
            self._on_error(exc)
            return
        own = self.own
        if own is not None and path in own:
            mount = own[path]
        else:
            routes = self.routes
            mount = routes.only or routes.match(request.host, path) or self.shared.not_found
        info = (
            self.info
            if self.proxy is None or not request.forwarded
            else self.proxy.apply(self.info, request.headers)
        )
        if request.upgrade is not None:
            if mount.websocket is not None and has_token(request.upgrade, b"websocket"):
                self._on_websocket(request, mount, raw_path, path, query, info)
                return
            if self.h2 is not None and self.cycle is None and self.scheme == "http":
                settings = h2c_upgrade_settings(request)
                if settings is not None:
                    self.upgrading_h2 = (request, settings)
                    return
        if request.content_length > mount.body_size:
            self.core.stop()  # the body is not read: 413 at once, even with Expect: 100-continue
            self._on_error(ProtocolError("Request body too large.", 413))
            return
        cycle = HTTPCycle(self, request, http_scope(info, request, mount, raw_path, path, query), mount)
        if self.shared.timing:
            cycle.started = time.perf_counter()
        self.parsing = cycle
        if self.cycle is None:
            self._start(cycle)
        else:
            self.pipeline.append(cycle)
            self.pause_reading()

    def _on_websocket(
        self, request: Request, mount: Mount, raw_path: bytes, path: str, query: bytes, info: ConnectionInfo
    ) -> None:
        handshake = check_upgrade(request)
        if isinstance(handshake, ProtocolError):
            self._on_error(handshake)
        elif self.cycle is not None:
            self._on_error(ProtocolError("A WebSocket upgrade may not be pipelined.", 400))
        else:
            scope = websocket_scope(info, request, mount, raw_path, path, query, handshake.subprotocols)
            self.upgrading = (request, handshake, mount, scope)

    def _switch_to_h2(self, initial: bytes, upgrade: tuple[Request, bytes] | None = None) -> None:
        """Hand the transport to an HTTP/2 protocol; this one is done. With ``upgrade`` (an
        ``Upgrade: h2c`` request and its HTTP2-Settings) the request becomes stream 1."""
        assert self.h2 is not None
        shared = self.shared
        shared.connections.discard(self)
        self.closing = True
        self.idle_deadline = 0.0
        self.upgrading_h2 = None
        protocol = H2Protocol(
            shared, self.routes, self.loop, self.transport, self.info, self.h2, self.proxy, self.listener
        )
        self.transport.set_protocol(protocol)
        if upgrade is None:
            protocol.start(initial)
        else:
            protocol.start_upgraded(upgrade[0], upgrade[1], initial)

    def _switch_to_websocket(self, trailing: bytes) -> None:
        """Hand the transport to a WebSocket protocol; this one is done."""
        assert self.upgrading is not None
        request, handshake, mount, scope = self.upgrading
        self.upgrading = None
        shared = self.shared
        app = shared.app_for(mount)  # while this connection still counts
        shared.connections.discard(self)
        self.closing = True
        self.idle_deadline = 0.0
        protocol = WSProtocol(
            shared,
            self.loop,
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
        protocol.listener_name = self.listener.name
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
        """The tick found ``idle_deadline`` passed: a body stalled, a head too slow, or idle."""
        self.idle_deadline = 0.0
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
            simple_response(status, _REASONS.get(status, b"Error"), self.shared.defaults, extra=extra)
        )
        self.close()

    def _start(self, cycle: HTTPCycle) -> None:
        self.cycle = cycle
        shared = self.shared
        shared.requests += 1
        shared.start_exchange(cycle, self.loop, "asgihost.http")

    def _response_complete(self, cycle: HTTPCycle) -> None:
        self.cycle = None
        self.served = True
        if self.closing or self.draining or not self.core.keep_alive or not cycle.body_complete:
            # (An unread request body would have to be read and thrown away: close instead.)
            self.close()
            return
        if self.pipeline:
            item = self.pipeline.popleft()
            if isinstance(item, ProtocolError):
                self._write_error(item)
                return
            self._start(item)
            if not self.pipeline:
                self.resume_reading()
        else:
            self.idle_deadline = self.shared.clock.now + cycle.mount.keep_alive_timeout
            self.resume_reading()

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            self.transport.close()

    def shutdown(self) -> None:
        """Graceful stop: close when idle, else after the response in progress. A connection
        that has had no response yet may have its first request on the way (accepted just
        before the stop): it gets a moment to send it, which is then answered and closes."""
        if self.cycle is None:
            if self.served or self.closing:
                self.close()
            else:
                self.draining = True
                self.idle_deadline = self.shared.clock.now + FIRST_REQUEST_GRACE_S
        else:
            self.cycle.request.keep_alive = False  # says "connection: close" if not yet sent
            self.draining = True
            self.pipeline.clear()

    # ---- the stream interface HTTPCycle talks to ------------------------------------------------

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
        if self.read_paused and not self.pipeline and not self.closing:
            parsing = self.parsing
            if parsing is not None and parsing.body_paused:
                return
            self.read_paused = False
            self.transport.resume_reading()

    def send_continue(self, cycle: HTTPCycle) -> None:
        if cycle is self.cycle and not self.closing:
            self.transport.write(CONTINUE_100)

    def send_start(self, cycle: HTTPCycle, status: int, headers: Any) -> None:
        data = self.core.start_response(cycle.request, status, headers, self.shared.defaults)
        if data:
            self.transport.write(data)

    def send_body(self, cycle: HTTPCycle, body: bytes, more: bool) -> None:
        data = self.core.send_body(body, more)
        if isinstance(data, tuple):
            self.transport.writelines(data)
        elif data:
            self.transport.write(data)
        if not more:
            self._response_complete(cycle)

    def send_trailers(self, cycle: HTTPCycle, headers: Any, more: bool) -> None:
        """Never called: HTTP/1.1 scopes do not offer the http.response.trailers extension."""

    def head_written(self, cycle: HTTPCycle) -> bool:
        return cycle is not self.cycle or self.core.head_written

    def send_error(self, cycle: HTTPCycle, status: int) -> None:
        if cycle is not self.cycle or self.closing:
            return
        self.cycle = None
        self.transport.write(simple_response(status, _REASONS[status], self.shared.defaults))
        self.close()

    def close_connection(self, cycle: HTTPCycle) -> None:
        self.close()

    def app_finished(self, cycle: HTTPCycle) -> None:
        cycle.mount.active -= 1
        self.shared.tasks.discard(cycle.task)
        cycle.task = None
        shared = self.shared
        if shared.timing:
            stats = cycle.mount.stats
            if stats is not None:  # AppStats.observe, inlined: this runs for every exchange
                stats.statuses.append(
                    cycle.status if cycle.request.http_version == "1.1" else cycle.status + HTTP10
                )
                stats.durations.append(time.perf_counter() - cycle.started)
            if shared.access_log is not None:
                shared.access_log.log_cycle(cycle, self.listener.name, "HTTP/" + cycle.request.http_version)
