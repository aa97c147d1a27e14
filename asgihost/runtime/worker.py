"""One server process: load the app, run its lifespan, bind, serve, drain, stop.

``Server`` keeps Uvicorn's public shape: ``Server(config).run()``, ``await server.serve()``,
the ``should_exit`` / ``force_exit`` / ``started`` attributes, and ``capture_signals`` /
``install_signal_handlers`` to override. Signal handlers only set flags; a tick every 0.1 s
acts on them, refreshes the Date header and closes connections idle past their keep-alive
deadline; every ``timeout_notify`` s it awaits the config's ``callback_notify`` if given.

A lone server writes the pid file and answers SIGHUP with a warning (reloading the config needs
the supervisor's processes); a worker of a supervisor or reloader (``supervised``) leaves both
to its parent. SIGUSR1 reopens log files in either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
import ssl
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..asgi.apps import AppLoadError
from ..asgi.lifespan import Lifespan, LifespanFailure
from ..asgi.message_log import MessageLogger
from ..config.types import Bind
from ..logs import TRACE, reopen_log_files
from ..logs.access import AccessLog
from ..logs.summary import print_summary
from ..metrics import Recorder, Snapshot, empty, exposition
from ..protocols.h2_settings import H2Settings
from ..protocols.http1_response import DefaultHeaders
from ..version import __version__
from . import loop as loops
from .builtin import health_check, metrics_page, not_found
from .clock import Clock
from .exchange import ExchangePath
from .http1 import H1Protocol
from .metrics_server import serve_metrics
from .pidfile import PidFileError, pid_file
from .signals import SERVER_SIGNALS, handlers_restored, install_server_handlers
from .sockets import BindError, TlsError, bind, display_address, remove_unix_socket, tls_context
from .state import ListenerSettings, Mount, ServerState
from .static import StaticFiles

if TYPE_CHECKING:
    from ..plan import ListenerSpec
    from ..settings import Config

logger = logging.getLogger("asgihost.error")

TICK_S = 0.1


class Server:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.should_exit = False
        self.force_exit = False
        self.started = False
        self.on_started: Callable[[], None] | None = None  # called once serving, before any request
        self.exit_code = 0  # 1: a listener could not be bound; 3: the app could not start
        self.servers: list[asyncio.AbstractServer] = []
        self.state: ServerState | None = None
        self._unix_paths: list[str] = []
        self.hangup = False
        self.reopen_logs = False
        self.stop_signals: list[int] = []  # SIGINT/SIGTERM received while serving, in order
        self.owns_loop = (
            False  # run() (or a worker process): the loop is its own, stop signals are not raised again
        )
        self.supervised = False  # a worker of a supervisor or reloader: no pid file, SIGHUP ignored
        self.show_summary = True  # print what is served once ready (a supervisor does it for its workers)
        self.addresses: list[str] = []  # where each listener is reached, once listening
        self.metrics_latest: Snapshot | None = None  # taken every second on the loop
        self.metrics_aggregate: Snapshot | None = None  # a supervisor's worker: the sum, from the supervisor
        self.metrics_from_supervisor = False  # a supervisor's worker: it serves [metrics] bind, and sums
        self._metrics_server: Any = None

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve on an event loop of its own (the config's ``loop``) until stopped."""
        self.owns_loop = True
        try:
            loops.run(lambda: self.serve(sockets=sockets), self.config.plan.server.loop)
        except loops.LoopError as exc:
            print(f"asgihost: error: {exc}", file=sys.stderr)
            self.exit_code = 1

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve on the running loop until ``should_exit`` (or a stop signal) and the drain."""
        if not self.config.configure_logging():
            self.exit_code = 1
            return
        try:
            with pid_file(None if self.supervised else self.config.pid_path), self.capture_signals():
                await self._serve(sockets)
        except PidFileError as exc:
            logger.error("%s", exc)
            self.exit_code = 1

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """While serving: ``install_signal_handlers()``; after, the handlers from before. When
        ``serve()`` was awaited on the caller's loop, the SIGINT/SIGTERM that stopped it are
        raised again once those are back, so that they act too (asyncio.run's, a program's own),
        as Uvicorn does. Uvicorn's hooks: override this, or replace ``install_signal_handlers``
        (``server.install_signal_handlers = lambda: None``), to leave signals alone."""
        with handlers_restored(SERVER_SIGNALS):
            self.install_signal_handlers()
            yield
        if not self.owns_loop:
            for sig in reversed(self.stop_signals):
                signal.raise_signal(sig)

    def install_signal_handlers(self) -> None:
        """On the main thread (elsewhere nothing): SIGINT/SIGTERM stop gracefully, a second one
        at once; SIGHUP and SIGUSR1 are acted on by the loop."""
        install_server_handlers(self)

    async def _serve(self, sockets: list[socket.socket] | None) -> None:
        plan = self.config.plan
        loop = asyncio.get_running_loop()
        logger.info("Started server process [%d]", os.getpid())
        if not self.supervised:
            self.config.log_notes()
        try:
            contexts = [self._tls_context(listener) if listener.tls else None for listener in plan.listeners]
        except TlsError as exc:
            logger.error("%s", exc)
            self.exit_code = 1
            return
        try:
            apps: dict[str, Any] = self.config.load()
        except AppLoadError as exc:
            logger.error("Error loading ASGI app. %s", exc)
            self.exit_code = 3
            return
        except Exception:
            logger.exception("Error loading ASGI app.")
            self.exit_code = 3
            return
        if logger.isEnabledFor(TRACE):
            apps = {name: MessageLogger(app) for name, app in apps.items()}
        for app_spec in plan.apps:  # a static app's responder, made here (it has nothing to import)
            if app_spec.static is not None:
                apps[app_spec.name] = StaticFiles(app_spec.static, app_spec.config.mount)
        named = len(plan.apps) > 1
        lifespans = [
            Lifespan(apps[spec.name], spec.lifespan, loop, {}, spec.name if named else None)
            for spec in plan.apps
        ]
        started: list[Lifespan] = []
        for lifespan in lifespans:
            try:
                await lifespan.startup()
            except LifespanFailure as exc:
                where = f" for app {lifespan.name!r}" if named else ""
                logger.error("Application startup failed%s. %s", where, exc)
                logger.error("Application startup failed. Exiting.")
                self.exit_code = 3
                await self._lifespan_shutdown(started)
                return
            started.append(lifespan)
        if self.should_exit:
            await self._lifespan_shutdown(started)
            return

        spec = plan.server
        defaults = DefaultHeaders(server=spec.server_header, extra=spec.extra_headers)
        access = logging.getLogger("asgihost.access")
        self.state = state = ServerState(
            spec,
            defaults,
            Clock(defaults, spec.date_header),
            logger,
            metrics=Recorder() if spec.metrics else None,
            access_log=(
                AccessLog(access, spec.access_format)
                if access.isEnabledFor(logging.INFO) and not access.disabled
                else None
            ),
        )
        mounts = {
            app.name: Mount.from_spec(app, apps[app.name], lifespan.state)
            for app, lifespan in zip(plan.apps, lifespans, strict=True)
        }
        for app_spec in plan.apps:
            if app_spec.static is not None and app_spec.static.fallback_app is not None:
                mounts[app_spec.name].static.fallback = mounts[app_spec.static.fallback_app]
        builtins = {
            "-": Mount.builtin("-", not_found, spec),  # no app: "-"; reads no body
            "health": Mount.builtin("health", health_check(lambda: state.draining), spec),
            "metrics": Mount.builtin("metrics", metrics_page(self._metrics_text), spec),
        }
        if state.metrics is not None:  # before any request can come
            for mount in (*mounts.values(), *builtins.values()):
                mount.stats = state.metrics.for_app(mount.name)
        try:
            await self._start_listening(sockets, contexts, state, mounts, builtins, loop)
        except BindError as exc:
            logger.error("%s", exc)
            self.exit_code = 1
            await self._lifespan_shutdown(started)
            return
        if state.metrics is not None:
            self.metrics_latest = self.metrics_snapshot()
            metrics_bind = plan.metrics_bind
            if metrics_bind is not None and not self.metrics_from_supervisor:
                try:
                    self._start_metrics(metrics_bind)
                except BindError as exc:
                    logger.error("%s", exc)
                    self.exit_code = 1
                    await self._shutdown(state)
                    await self._lifespan_shutdown(started)
                    return
        self.started = True
        if self.on_started is not None:
            self.on_started()
        if self.show_summary:
            print_summary(plan, self.addresses, 1, os.getpid())
        try:
            await self._main_loop(state)
        finally:
            await self._shutdown(state)
            await self._lifespan_shutdown(started)
        logger.info("Finished server process [%d]", os.getpid())

    def _tls_context(self, listener: ListenerSpec) -> ssl.SSLContext:
        """asgihost's SSL context for a TLS listener, or what the config's ``ssl_context_factory``
        makes of it (Uvicorn's hook: it is given the config and a function making ours)."""
        tls = listener.tls
        assert tls is not None

        def default() -> ssl.SSLContext:
            return tls_context(tls, listener.protocols)

        factory = self.config.ssl_context_factory
        if factory is None:
            return default()
        try:
            return factory(self.config, default)
        except TlsError:
            raise
        except Exception as exc:
            raise TlsError(f"ssl_context_factory failed: {exc!r}") from exc

    async def _start_listening(
        self,
        sockets: list[socket.socket] | None,
        contexts: list[ssl.SSLContext | None],
        state: ServerState,
        mounts: dict[str, Mount],
        builtins: dict[str, Mount],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        listeners = self.config.plan.listeners
        if sockets is None:
            sockets = []
            try:
                for listener in listeners:
                    sockets.append(bind(listener.bind, listener.config.backlog, listener.config.mode))
            except BindError:
                for sock in sockets:
                    sock.close()
                raise
            self._unix_paths = [listener.bind.path for listener in listeners if listener.bind.kind == "unix"]
        elif len(sockets) != len(listeners):
            raise BindError(f"{len(sockets)} sockets were given for {len(listeners)} listeners")

        not_found = builtins["-"]
        for listener, sock, context in zip(listeners, sockets, contexts, strict=True):
            routes = listener.routes.map(lambda spec: mounts[spec.name])
            scheme = "https" if context is not None else "http"
            settings = ListenerSettings.from_spec(listener, builtins)

            path = ExchangePath(state, routes, not_found, settings, loop)  # the listener's

            def factory(
                path: ExchangePath = path,
                scheme: str = scheme,
                h2: H2Settings | None = listener.h2,
                h1: bool = listener.h1,
            ) -> H1Protocol:
                return H1Protocol(path, scheme, h2, h1)

            server = await loop.create_server(
                factory,
                sock=sock,
                backlog=listener.config.backlog,
                ssl=context,
                ssl_handshake_timeout=listener.tls.handshake_timeout if listener.tls else None,
            )
            self.servers.append(server)
            self.addresses.append(display_address(sock, tls=context is not None))
            logger.info("asgihost %s running on %s (Press CTRL+C to quit)", __version__, self.addresses[-1])

    def _start_metrics(self, address: Bind) -> None:
        sock = bind(address, 128, 0o666)
        self._metrics_server = serve_metrics(
            sock, lambda: exposition(self.metrics_latest if self.metrics_latest is not None else empty())
        )
        if address.kind == "unix":
            self._unix_paths.append(address.path)
        logger.info("Metrics on %s", display_address(sock))

    def metrics_snapshot(self) -> Snapshot:
        """This process's metrics now (call on the event loop)."""
        state = self.state
        assert state is not None and state.metrics is not None
        return state.metrics.snapshot(len(state.connections), state.websockets)

    def _metrics_text(self) -> bytes:
        """What the metrics path answers: a supervisor's sum over its workers, or this process's."""
        if self.metrics_from_supervisor:
            return exposition(self.metrics_aggregate if self.metrics_aggregate is not None else empty())
        return exposition(self.metrics_snapshot())

    async def _main_loop(self, state: ServerState) -> None:
        clock = state.clock
        ticks = 0
        drain_delay = self.config.plan.server.drain_delay
        stop_at = 0.0  # with a drain delay, once asked to stop: when the graceful stop begins
        notify_at = 0.0  # when callback_notify is next awaited: the first tick, then each timeout_notify
        limit = self._max_requests()
        while True:
            if self.should_exit:
                if self.force_exit or not drain_delay or 0.0 < stop_at <= clock.now:
                    break
                if not stop_at:
                    stop_at = clock.now + drain_delay
                    state.draining = True
                    logger.info("Health check answers 503; the graceful stop begins in %.3g s", drain_delay)
            await asyncio.sleep(TICK_S)
            clock.tick()
            ticks += 1
            if self.config.callback_notify is not None and clock.now >= notify_at:
                notify_at = clock.now + self.config.timeout_notify
                await self._notify()
            if limit is not None and state.requests >= limit and not self.should_exit:
                logger.info("Maximum request limit of %d exceeded. Terminating process.", limit)
                self.should_exit = True
            if ticks % 10 == 0:
                state.sweep_idle()
                if state.metrics is not None:
                    self.metrics_latest = self.metrics_snapshot()  # for the bind thread
            if self.reopen_logs:
                self.reopen_logs = False
                reopen_log_files()
            if self.hangup:
                self.hangup = False
                if not self.supervised:
                    logger.warning(
                        "SIGHUP: reloading the configuration needs workers under a supervisor "
                        "(--workers N, [server] workers); this server goes on unchanged"
                    )

    def _max_requests(self) -> int | None:
        """A lone server stops after its max requests (and a jitter), as Uvicorn's; a worker
        of a supervisor asks to be recycled instead (``child.serve_worker``)."""
        server = self.config.plan.server
        if self.supervised or server.max_requests is None:
            return None
        return server.max_requests + random.randint(0, server.max_requests_jitter)

    async def _notify(self) -> None:
        """Await the config's ``callback_notify`` (Uvicorn's heartbeat hook); its failure is
        logged and serving goes on."""
        assert self.config.callback_notify is not None
        try:
            await self.config.callback_notify()
        except Exception:
            logger.exception("callback_notify raised")

    async def _shutdown(self, state: ServerState) -> None:
        logger.info("Shutting down")
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
            self._metrics_server = None
        state.draining = True  # the health check answers 503 from now on
        for server in self.servers:
            server.close()
        for path in self._unix_paths:
            remove_unix_socket(path)
        for conn in list(state.connections):
            conn.shutdown()
        timeout = self.config.plan.server.graceful_timeout
        deadline = None if timeout is None else state.clock.now + timeout
        if state.connections or state.tasks:
            logger.info("Waiting for connections to close. (CTRL+C to force quit)")
        while (state.connections or state.tasks) and not self.force_exit:
            if deadline is not None and state.clock.now >= deadline:
                break
            await asyncio.sleep(TICK_S)
            state.clock.tick()
            state.sweep_idle()  # connections given a moment for a first request, then closed
        if state.tasks:
            logger.error("Cancel %d running task(s), timeout graceful shutdown exceeded", len(state.tasks))
            for task in list(state.tasks):
                task.cancel()
            await asyncio.gather(*state.tasks, return_exceptions=True)
        for conn in list(state.connections):
            conn.transport.abort()
        for server in self.servers:
            await server.wait_closed()
        self.servers.clear()

    async def _lifespan_shutdown(self, started: list[Lifespan]) -> None:
        """Shut down every app that started, last started first, whatever the others do."""
        for lifespan in reversed(started):
            try:
                await lifespan.shutdown()
            except LifespanFailure as exc:
                where = f" for app {lifespan.name!r}" if lifespan.name else ""
                logger.error("Application shutdown failed%s. %s", where, exc)
