"""The one path every exchange takes, whatever the protocol: route, proxy trust, scope,
concurrency limit, early refusal, the app's task, and at the end the access log and metrics.

HTTP/1.1 and HTTP/2 connections each hold one ``ExchangePath`` (its listener's routes and
settings) and call it in this order for a request:

  route()  -> the mount, raw path, path and query (a ``ProtocolError`` for a bad target)
  open()   -> the ``HTTPCycle``, its scope made with the client the proxy policy believes
  start()  -> the app (or the 503 past a concurrency limit) runs in its own task
  finish() <- the cycle, once the app has returned: counts, metrics, the access line

or ``refuse()`` in place of ``start()`` (a body announced over its limit: the app never
runs, the access log and metrics still see the exchange). WebSocket sessions take the same
``route``/``client`` and ``start_session``/``session_finished``.

Invariants:
- ``Mount.active`` and ``ServerState.tasks`` count an exchange from ``start`` to ``finish``.
- Every exchange that gets a status is noted once: by ``finish`` or by ``refuse``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ..asgi.http_cycle import HTTPCycle, HTTPStream
from ..asgi.scope import ConnectionInfo, http_scope, parse_target
from ..asgi.ws_cycle import WebSocketCycle
from ..metrics import HTTP2, HTTP10
from ..protocols.events import Request
from ..routing import RouteTable
from .builtin import service_unavailable
from .state import ListenerSettings, Mount, ServerState

# The protocol of an exchange, by the request's http_version: its metrics code and log label.
_METRICS_CODE = {"1.1": 0, "1.0": HTTP10, "2": HTTP2}
_LABEL = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0", "2": "HTTP/2"}
_TASK_NAME = {"1.1": "asgihost.http", "1.0": "asgihost.http", "2": "asgihost.h2"}


class ExchangePath:
    """One connection's way to its listener's apps."""

    __slots__ = ("shared", "routes", "not_found", "listener", "own", "proxy", "loop")

    def __init__(
        self,
        shared: ServerState,
        routes: RouteTable[Mount],
        not_found: Mount,
        listener: ListenerSettings,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.shared = shared
        self.routes = routes
        self.not_found = not_found
        self.listener = listener
        self.own = listener.own  # paths the server answers itself (health, metrics), if any
        self.proxy = listener.proxy  # cleared by distrust() when the peer is not trusted
        self.loop = loop

    def distrust(self, info: ConnectionInfo) -> None:
        """Believe no proxy header on this connection unless its peer is a trusted proxy."""
        if self.proxy is not None and not self.proxy.trusts_peer(info):
            self.proxy = None

    def route(self, request: Request) -> tuple[Mount, bytes, str, bytes]:
        """The mount for a request, with its raw path, decoded path and query. Raises
        ``ProtocolError`` for a target that cannot be parsed."""
        raw_path, path, query = parse_target(request.target)
        own = self.own
        if own is not None and path in own:
            return own[path], raw_path, path, query
        routes = self.routes
        return routes.only or routes.match(request.host, path) or self.not_found, raw_path, path, query

    def client(self, info: ConnectionInfo, request: Request) -> ConnectionInfo:
        """The connection as the scope tells it: with the proxy's word for a trusted peer."""
        if self.proxy is None or not request.forwarded:
            return info
        return self.proxy.apply(info, request.headers)

    def open(
        self,
        stream: HTTPStream,
        info: ConnectionInfo,
        request: Request,
        mount: Mount,
        raw_path: bytes,
        path: str,
        query: bytes,
    ) -> HTTPCycle:
        if self.proxy is not None and request.forwarded:  # client(), inlined: every request
            info = self.proxy.apply(info, request.headers)
        scope = http_scope(info, request, mount, raw_path, path, query)
        cycle = HTTPCycle(stream, request, scope, mount)
        if self.shared.timing:
            cycle.started = time.perf_counter()
        return cycle

    def app_for(self, mount: Mount) -> Any:
        """The mount's app, or the 503 when the server or the app is at its limit."""
        return service_unavailable if self.shared.over_limit(mount) else mount.app

    def start(self, cycle: HTTPCycle) -> None:
        """Run the app (or the 503 of ``app_for``) for an HTTP exchange in a task of its own."""
        shared = self.shared
        shared.requests += 1
        mount: Mount = cycle.mount
        app = self.app_for(mount)
        mount.active += 1
        loop = self.loop
        # The Task itself when no task factory is set, with a fixed name: on Python 3.11 uvloop's
        # create_task formats a unique one ("Task-7") first, 1.6% of a hello-world request.
        if loop.get_task_factory() is None:
            task: asyncio.Task[None] = asyncio.Task(
                cycle.run(app), loop=loop, name=_TASK_NAME[cycle.request.http_version]
            )
        else:
            task = loop.create_task(cycle.run(app))
        cycle.task = task
        shared.tasks.add(task)

    def refuse(self, cycle: HTTPCycle, status: int) -> None:
        """Answer ``status`` instead of running the app (a body announced over its limit)."""
        self.shared.requests += 1
        cycle.status = status
        cycle.stream.send_error(cycle, status)
        cycle.disconnect()
        self._note(cycle)

    def finish(self, cycle: HTTPCycle) -> None:
        """The app of an exchange has returned."""
        cycle.mount.active -= 1
        self.shared.tasks.discard(cycle.task)
        cycle.task = None
        if self.shared.timing:
            self._note(cycle)

    def _note(self, cycle: HTTPCycle) -> None:
        shared = self.shared
        version = cycle.request.http_version
        stats = cycle.mount.stats
        if stats is not None:  # AppStats.observe, inlined: this runs for every exchange
            stats.statuses.append(cycle.status + _METRICS_CODE[version])
            stats.durations.append(time.perf_counter() - cycle.started)
        if shared.access_log is not None:
            shared.access_log.log_cycle(cycle, self.listener.name, _LABEL[version])

    # ---- WebSocket sessions --------------------------------------------------------------------

    def start_session(self, cycle: WebSocketCycle, app: Any) -> None:
        """Run a WebSocket session's app (``app_for`` chose it while the connection counted)."""
        shared = self.shared
        cycle.mount.active += 1
        shared.websockets += 1
        task = self.loop.create_task(cycle.run(app))
        cycle.task = task
        shared.tasks.add(task)

    def session_finished(self, cycle: WebSocketCycle) -> None:
        shared = self.shared
        cycle.mount.active -= 1
        shared.websockets -= 1
        shared.tasks.discard(cycle.task)
        cycle.task = None
