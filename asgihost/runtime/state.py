"""What the connections of one server share: the mounted apps, each listener's settings, and
the server-wide counts (connections, app tasks, WebSockets, requests).

Built once at start-up from the plan. Nothing here knows a wire protocol: a connection is any
object with the ``Connection`` shape, and registers itself in ``connections``.

Invariants:
- ``tasks`` holds every app task running (HTTP exchanges and WebSocket sessions);
  ``Mount.active`` counts those of one app; both drop when the app returns.
- ``websockets`` counts WebSocket sessions, on any protocol, from the start of their app to its
  return (``ExchangePath.start_session`` / ``session_finished``).
- A connection is in ``connections`` from its accept to its loss (or its hand-over to another
  protocol object, which registers itself).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Protocol

from ..asgi.proxy import ProxyPolicy
from ..asgi.scope import AppPlace
from ..config.model import WebSocket
from ..logs import TRACE
from ..logs.access import AccessLog
from ..metrics import AppStats, Recorder
from ..plan import AppSpec, ListenerSpec, ServerSpec
from ..protocols.http1_head import HeadLimits
from ..protocols.http1_response import DefaultHeaders
from .clock import Clock

if TYPE_CHECKING:
    from ..protocols.http1 import H1Connection
    from ..protocols.http1_h11 import H11Connection

    H1Core = type[H1Connection] | type[H11Connection]


def http1_core(name: str) -> H1Core:
    """The HTTP/1.1 core class the plan names; only that one's parser is imported."""
    if name == "h11":
        from ..protocols.http1_h11 import H11Connection

        return H11Connection
    from ..protocols.http1 import H1Connection

    return H1Connection


class Mount(AppPlace):
    """A running app where the router can send requests, with its limits from the plan."""

    __slots__ = (
        "name",
        "app",
        "concurrency",
        "keep_alive_timeout",
        "websocket",
        "active",
        "body_size",
        "body_timeout",
        "fresh_context",
        "stats",
        "send_timeout",
        "static",
    )

    def __init__(
        self,
        name: str,
        app: Any,
        root_path: str,
        path_prefix: str,
        state: dict[str, Any],
        *,
        concurrency: int | None,
        keep_alive_timeout: float,
        websocket: WebSocket | None,
        body_size: int,
        body_timeout: float,
        send_timeout: float,
        fresh_context: bool = False,
        static: Any = None,
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
        self.fresh_context = fresh_context  # each exchange's task in an empty contextvars.Context
        self.stats: AppStats | None = None  # its metrics, when there are metrics
        self.send_timeout = send_timeout  # an HTTP/1.1 client that takes no more for this long is dropped
        self.static = static  # a static app's responder (runtime.static.StaticFiles), else None

    @classmethod
    def from_spec(cls, spec: AppSpec, app: Any, state: dict[str, Any]) -> Mount:
        return cls(
            spec.name,
            app,
            spec.root_path,
            spec.path_prefix,
            state,
            concurrency=spec.concurrency,
            keep_alive_timeout=spec.keep_alive_timeout,
            websocket=spec.websocket if spec.static is None else None,
            body_size=spec.body_size,
            body_timeout=spec.body_timeout,
            send_timeout=spec.send_timeout,
            fresh_context=spec.config.reset_contextvars,
            static=app if spec.static is not None else None,
        )

    @classmethod
    def builtin(cls, name: str, app: Any, server: ServerSpec) -> Mount:
        """One of the server's own answers (no app, health, metrics): no body is read."""
        return cls(
            name,
            app,
            "",
            "",
            {},
            concurrency=None,
            keep_alive_timeout=server.keep_alive_timeout,
            websocket=None,
            body_size=server.body_size,
            body_timeout=server.body_timeout,
            send_timeout=server.send_timeout,
        )


class ListenerSettings:
    """What a listener's connections share: its name, its HTTP/1.1 core (the class), its limits
    on request heads and requests per connection, whose proxy headers it believes, and the
    paths it answers itself."""

    __slots__ = ("name", "core", "head", "head_timeout", "last_request", "proxy", "own")

    def __init__(
        self,
        name: str,
        core: H1Core,
        head: HeadLimits,
        head_timeout: float,
        requests_per_connection: int | None,
        proxy: ProxyPolicy | None,
        own: dict[str, Mount] | None,
    ) -> None:
        self.name = name
        self.core = core  # chosen once, at start: a connection calls it with ``head``
        self.proxy = proxy
        self.own = own or None  # paths the server answers itself (health, metrics), if any
        self.head = head
        self.head_timeout = head_timeout  # 0: none
        self.last_request = requests_per_connection or -1  # the request that says "connection: close"

    @classmethod
    def from_spec(cls, spec: ListenerSpec, builtins: dict[str, Mount]) -> ListenerSettings:
        own = {path: builtins[name] for path, name in spec.own_paths}
        limits = spec.limits
        return cls(
            spec.name,
            http1_core(spec.h1_core),
            spec.head,
            limits.head_timeout,
            limits.requests_per_connection,
            spec.proxy,
            own,
        )


class Connection(Protocol):
    """What the server asks of every connection it holds."""

    idle_deadline: float  # when the tick should call timed_out(); 0: never
    transport: asyncio.Transport

    def timed_out(self) -> None: ...
    def shutdown(self) -> None: ...


class ServerState:
    """What every connection of one server shares. Built once at start-up."""

    def __init__(
        self,
        server: ServerSpec,
        defaults: DefaultHeaders,
        clock: Clock,
        logger: logging.Logger,
        access_log: AccessLog | None,
        metrics: Recorder | None = None,
    ) -> None:
        self.defaults = defaults
        self.clock = clock
        self.keep_alive_timeout = server.keep_alive_timeout
        self.limit_concurrency = server.concurrency
        self.logger = logger
        self.trace = logger.isEnabledFor(TRACE)  # --log-level trace: connections made and lost are logged
        self.access_log = access_log  # None when the access log is off
        self.metrics = metrics  # None when there are no metrics
        self.timing = access_log is not None or metrics is not None  # exchanges note when they began
        self.connections: set[Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.websockets = 0  # WebSocket sessions open, on any protocol
        self.requests = 0  # served so far, for max_requests
        self.draining = False  # shutting down: the health check says 503

    def sweep_idle(self) -> None:
        """Every connection past its deadline (idle keep-alive, slow head, stalled body) is told."""
        now = self.clock.now
        for conn in [c for c in self.connections if 0.0 < c.idle_deadline <= now]:
            conn.timed_out()
