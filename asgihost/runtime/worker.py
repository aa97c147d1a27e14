"""One server process: load the app, run its lifespan, bind, serve, drain, stop.

``Server`` keeps Uvicorn's public shape: ``Server(config).run()``, ``await server.serve()``,
and the ``should_exit`` / ``force_exit`` / ``started`` attributes. Signal handlers only set
``should_exit``; a tick every 0.1 s notices it, refreshes the Date header and closes
connections idle past their keep-alive deadline.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..asgi.apps import AppLoadError
from ..asgi.lifespan import Lifespan, LifespanFailure
from ..protocols.http1 import DefaultHeaders
from . import loop as loops
from .clock import Clock
from .signals import capture_signals
from .sockets import BindError, bind, display_address, remove_unix_socket
from .transport import H1Protocol, ServerState

if TYPE_CHECKING:
    from ..api import Config

logger = logging.getLogger("asgihost.error")

TICK_S = 0.1


class Server:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.should_exit = False
        self.force_exit = False
        self.started = False
        self.exit_code = 0  # 1: a listener could not be bound; 3: the app could not start
        self.servers: list[asyncio.AbstractServer] = []
        self.state: ServerState | None = None
        self._unix_paths: list[str] = []

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        loops.run(self.serve(sockets=sockets), self.config.host_config.server.loop)

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self.config.configure_logging()
        with capture_signals(self):
            await self._serve(sockets)

    async def _serve(self, sockets: list[socket.socket] | None) -> None:
        hc = self.config.host_config
        loop = asyncio.get_running_loop()
        logger.info("Started server process [%d]", os.getpid())
        try:
            app = self.config.load()
        except AppLoadError as exc:
            logger.error("Error loading ASGI app. %s", exc)
            self.exit_code = 3
            return
        except Exception:
            logger.exception("Error loading ASGI app.")
            self.exit_code = 3
            return
        app_spec = next(iter(hc.apps.values()))
        app_state: dict[str, Any] = {}
        lifespan = Lifespan(app, app_spec.lifespan, loop, app_state)
        try:
            await lifespan.startup()
        except LifespanFailure as exc:
            logger.error("Application startup failed. %s", exc)
            logger.error("Application startup failed. Exiting.")
            self.exit_code = 3
            return
        if self.should_exit:
            await self._lifespan_shutdown(lifespan)
            return

        server_cfg = hc.server
        defaults = DefaultHeaders(
            server=b"server: asgihost\r\n" if server_cfg.server_header else b"",
            extra=b"".join(
                b"%s: %s\r\n" % (n.lower().encode("latin-1"), v.encode("latin-1"))
                for n, v in server_cfg.header_pairs()
            ),
        )
        clock = Clock(defaults, server_cfg.date_header)
        access = logging.getLogger("asgihost.access")
        self.state = state = ServerState(
            app=app,
            app_state=app_state,
            root_path=app_spec.root_path,
            defaults=defaults,
            clock=clock,
            keep_alive_timeout=hc.limits.keep_alive_timeout,
            limit_concurrency=hc.limits.concurrency,
            logger=logger,
            access_logger=access if access.isEnabledFor(logging.INFO) and not access.disabled else None,
        )
        try:
            await self._start_listening(sockets, state, loop)
        except BindError as exc:
            logger.error("%s", exc)
            self.exit_code = 1
            await self._lifespan_shutdown(lifespan)
            return
        self.started = True
        try:
            await self._main_loop(state)
        finally:
            await self._shutdown(state)
            await self._lifespan_shutdown(lifespan)

    async def _start_listening(
        self, sockets: list[socket.socket] | None, state: ServerState, loop: asyncio.AbstractEventLoop
    ) -> None:
        hc = self.config.host_config
        owned = sockets is None
        if sockets is None:
            sockets = []
            try:
                for listener in hc.listeners.values():
                    sockets.append(bind(listener))
            except BindError:
                for sock in sockets:
                    sock.close()
                raise
        if owned:
            self._unix_paths = [lst.bind.path for lst in hc.listeners.values() if lst.bind.kind == "unix"]

        def factory() -> H1Protocol:
            return H1Protocol(state, loop)

        backlog = next(iter(hc.listeners.values())).backlog
        for sock in sockets:
            server = await loop.create_server(factory, sock=sock, backlog=backlog)
            self.servers.append(server)
            logger.info(
                "asgihost %s running on %s (Press CTRL+C to quit)", __version__, display_address(sock)
            )

    async def _main_loop(self, state: ServerState) -> None:
        clock = state.clock
        ticks = 0
        while not self.should_exit:
            await asyncio.sleep(TICK_S)
            clock.tick()
            ticks += 1
            if ticks % 10 == 0:
                state.sweep_idle()

    async def _shutdown(self, state: ServerState) -> None:
        logger.info("Shutting down")
        for server in self.servers:
            server.close()
        for path in self._unix_paths:
            remove_unix_socket(path)
        for conn in list(state.connections):
            conn.shutdown()
        timeout = self.config.host_config.server.graceful_timeout
        deadline = None if timeout is None else state.clock.now + timeout
        if state.connections or state.tasks:
            logger.info("Waiting for connections to close. (CTRL+C to force quit)")
        while (state.connections or state.tasks) and not self.force_exit:
            if deadline is not None and state.clock.now >= deadline:
                break
            await asyncio.sleep(TICK_S)
            state.clock.tick()
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

    async def _lifespan_shutdown(self, lifespan: Lifespan) -> None:
        try:
            await lifespan.shutdown()
        except LifespanFailure as exc:
            logger.error("Application shutdown failed. %s", exc)
