"""The one path every exchange takes, whatever the protocol: route, proxy trust, scope,
concurrency limit, early refusal, the app's task, and at the end the access log and metrics.

HTTP/1.1 and HTTP/2 connections hold their listener's ``ExchangePath`` (its routes and
settings; ``for_peer`` gives the one that believes no proxy header to a peer that is not a
trusted proxy) and call it in this order for a request:

  open()   -> the ``HTTPCycle``: routed (the server's own paths, the router, else the 404),
              its scope made with the client the proxy policy believes (a ``ProtocolError``
              for a target that cannot be parsed)
  start()  -> the app (or the 503 past a concurrency limit) runs in its own task; a static
              app's answer is written at once (no task), or its file sent by a task, or its
              miss handed to the fallback app (the scope made again for that app)
  finish() <- the cycle, once the app has returned: counts, metrics, the access line

or ``refuse()`` in place of ``start()`` (a body announced over its limit: the app never
runs, the access log and metrics still see the exchange). A WebSocket upgrade is opened the
same way; its scope is made from the opened exchange's (``asgi.scope.websocket_scope``) and its
session runs with ``start_session``/``session_finished``.

Invariants:
- ``Mount.active`` and ``ServerState.tasks`` count an exchange from ``start`` to ``finish``.
- Every exchange that gets a status is noted once: by ``finish``, by ``refuse``, or by
  ``start`` for a static answer written at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from typing import Any

from ..asgi.http_cycle import HTTPCycle, HTTPStream
from ..asgi.scope import ConnectionInfo, http_scope, moved_scope, parse_target
from ..asgi.ws_cycle import WebSocketCycle
from ..metrics import HTTP2, HTTP10
from ..protocols.events import Request
from ..routing import RouteTable
from .builtin import service_unavailable
from .state import ListenerSettings, Mount, ServerState
from .static import Answer


class ExchangePath:
    """A listener's way to its apps, shared by its connections (a trusted peer's or not)."""

    __slots__ = ("shared", "routes", "not_found", "listener", "own", "proxy", "loop", "untrusted")

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
        self.proxy = listener.proxy  # whose proxy headers are believed; None: nobody's
        self.loop = loop
        self.untrusted: ExchangePath | None = None  # the twin for peers who are not believed

    def for_peer(self, info: ConnectionInfo) -> ExchangePath:
        """The path of a connection from ``info``: this one, or for a peer that is not a
        trusted proxy its twin that believes no proxy header (made once per listener)."""
        proxy = self.proxy
        if proxy is None or proxy.trusts_peer(info):
            return self
        twin = self.untrusted
        if twin is None:
            twin = self.untrusted = ExchangePath(
                self.shared, self.routes, self.not_found, self.listener, self.loop
            )
            twin.proxy = None
        return twin

    def open(self, stream: HTTPStream, info: ConnectionInfo, request: Request) -> HTTPCycle:
        """The exchange of a request: routed, with its scope. Raises ``ProtocolError`` for a
        target that cannot be parsed."""
        raw_path, path, query = parse_target(request.target)
        own = self.own
        if own is not None and path in own:
            mount = own[path]
        else:
            routes = self.routes
            mount = routes.only or routes.match(request.host, path) or self.not_found
        if self.proxy is not None and request.forwarded:  # the proxy's word for a trusted peer
            info = self.proxy.apply(info, request.headers)
        cycle = HTTPCycle(stream, request, http_scope(info, request, mount, raw_path, path, query), mount)
        if self.shared.timing:
            cycle.started = time.perf_counter()
        return cycle

    def app_for(self, mount: Mount) -> Any:
        """The mount's app, or the 503 when the server (tasks, or connections counting the
        caller's) or the app is at its limit."""
        shared = self.shared
        limit = shared.limit_concurrency
        if (limit is not None and (len(shared.tasks) >= limit or len(shared.connections) > limit)) or (
            mount.concurrency is not None and mount.active >= mount.concurrency
        ):
            shared.logger.warning("Exceeded concurrency limit.")
            return service_unavailable
        return mount.app

    def start(self, cycle: HTTPCycle, name: str) -> None:
        """Run the app (or the 503 of ``app_for``) for an HTTP exchange in a task of its own,
        named ``name`` (asgihost.http, asgihost.h2)."""
        shared = self.shared
        shared.requests += 1
        mount: Mount = cycle.mount
        app = self.app_for(mount)
        static = mount.static
        if static is not None and app is not service_unavailable:
            scope = cycle.scope
            request = cycle.request
            app = static.answer(request.method, scope["raw_path"], scope["query_string"], request.headers)
            if app is None:  # a miss: the fallback app's
                fallback: Mount = static.fallback
                cycle.scope = moved_scope(scope, mount, fallback)
                cycle.mount = mount = fallback
                cycle.body_limit = fallback.body_size
                app = self.app_for(mount)
            elif type(app) is Answer:  # a whole response, written now
                if cycle.expect_continue:  # (the body is not read: close after)
                    request.keep_alive = False
                cycle.respond(app.status, app.headers, app.body, app.lines)
                if shared.timing:
                    self._note(cycle)
                return
        mount.active += 1
        loop = self.loop
        # The Task itself when no task factory is set, with a fixed name: on Python 3.11 uvloop's
        # create_task formats a unique one ("Task-7") first, 1.6% of a hello-world request.
        task: asyncio.Task[None]
        if mount.fresh_context:
            task = contextvars.Context().run(loop.create_task, cycle.run(app), name=name)
        elif loop.get_task_factory() is None:
            task = asyncio.Task(cycle.run(app), loop=loop, name=name)
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
        version = cycle.request.http_version  # (equality, not a dict: the parser's str is not hashed yet)
        code = 0 if version == "1.1" else HTTP2 if version == "2" else HTTP10
        stats = cycle.mount.stats
        if stats is not None:  # AppStats.observe, inlined: this runs for every exchange
            stats.statuses.append(cycle.status + code)
            stats.durations.append(time.perf_counter() - cycle.started)
        if shared.access_log is not None:
            shared.access_log.log_cycle(cycle, self.listener.name, "HTTP/" + version)

    # ---- WebSocket sessions --------------------------------------------------------------------

    def start_session(self, cycle: WebSocketCycle, app: Any) -> None:
        """Run a WebSocket session's app (``app_for`` chose it while the connection counted)."""
        shared = self.shared
        cycle.mount.active += 1
        shared.websockets += 1
        if cycle.mount.fresh_context:
            task = contextvars.Context().run(self.loop.create_task, cycle.run(app))
        else:
            task = self.loop.create_task(cycle.run(app))
        cycle.task = task
        shared.tasks.add(task)

    def session_finished(self, cycle: WebSocketCycle) -> None:
        shared = self.shared
        cycle.mount.active -= 1
        shared.websockets -= 1
        shared.tasks.discard(cycle.task)
        cycle.task = None
