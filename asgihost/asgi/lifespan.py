"""The ASGI lifespan protocol for one application.

Modes: ``on`` (the app must speak lifespan; any failure stops the server), ``off`` (never
called), ``auto`` (an app that raises before answering startup is taken not to support it).

Invariants: startup is answered at most once; shutdown is sent only after a successful
startup; the app's lifespan coroutine runs in its own task for the life of the server, and
the ``state`` dict it fills is the one copied into every request scope.
"""

from __future__ import annotations

import logging
from typing import Any

from .apps import ASGIApp

logger = logging.getLogger("asgihost.error")


class LifespanFailure(Exception):
    """Startup or shutdown failed; the message says why, in the app's words where it gave some."""


class Lifespan:
    def __init__(
        self, app: ASGIApp, mode: str, loop: Any, state: dict[str, Any], name: str | None = None
    ) -> None:
        self.app = app
        self.mode = mode
        self.loop = loop
        self.state = state
        self.name = name
        self.supported = mode != "off"
        self.started = False
        self._inbox: list[dict[str, Any]] = []
        self._inbox_waiter: Any = None
        self._answer: Any = None  # future resolved by the app's reply or its exit
        self._task: Any = None
        self._error: BaseException | None = None
        self._failed_message = ""
        self._suffix = f" [{name}]" if name else ""  # which app, when the server runs several

    async def startup(self) -> None:
        if not self.supported:
            return
        logger.info("Waiting for application startup.%s", self._suffix)
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        self._answer = self.loop.create_future()
        self._task = self.loop.create_task(self._main(scope))
        self._put({"type": "lifespan.startup"})
        reply = await self._answer
        if reply == "lifespan.startup.complete":
            self.started = True
            logger.info("Application startup complete.%s", self._suffix)
            return
        if reply == "lifespan.startup.failed":
            raise LifespanFailure(self._failed_message or "Application startup failed.")
        # The app exited or raised without answering.
        if self.mode == "auto":
            self.supported = False
            if self._error is not None:
                logger.info("ASGI 'lifespan' protocol appears unsupported.%s", self._suffix)
            return
        if self._error is not None:
            raise LifespanFailure(f"Exception in 'lifespan' protocol: {self._error!r}")
        raise LifespanFailure("Application returned from lifespan before startup completed.")

    async def shutdown(self) -> None:
        if not self.started:
            return
        logger.info("Waiting for application shutdown.%s", self._suffix)
        self._answer = self.loop.create_future()
        self._put({"type": "lifespan.shutdown"})
        reply = await self._answer
        if reply == "lifespan.shutdown.complete":
            logger.info("Application shutdown complete.%s", self._suffix)
            return
        if reply == "lifespan.shutdown.failed":
            raise LifespanFailure(self._failed_message or "Application shutdown failed.")
        if self._error is not None:
            raise LifespanFailure(f"Exception in 'lifespan' protocol: {self._error!r}")
        raise LifespanFailure("Application returned from lifespan before shutdown completed.")

    async def _main(self, scope: dict[str, Any]) -> None:
        try:
            await self.app(scope, self._receive, self._send)
        except Exception as exc:
            self._error = exc
            if self.mode == "on" or self.started:
                logger.error("Exception in 'lifespan' protocol\n", exc_info=exc)
        finally:
            self._reply("exited")

    def _put(self, message: dict[str, Any]) -> None:
        self._inbox.append(message)
        waiter = self._inbox_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _reply(self, kind: str) -> None:
        answer = self._answer
        if answer is not None and not answer.done():
            answer.set_result(kind)

    async def _receive(self) -> dict[str, Any]:
        while not self._inbox:
            self._inbox_waiter = self.loop.create_future()
            await self._inbox_waiter
        return self._inbox.pop(0)

    async def _send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        expected = (
            ("lifespan.startup.complete", "lifespan.startup.failed")
            if not self.started
            else ("lifespan.shutdown.complete", "lifespan.shutdown.failed")
        )
        if kind not in expected or self._answer is None or self._answer.done():
            raise RuntimeError(f"Unexpected ASGI lifespan message {kind!r}.")
        if kind.endswith(".failed"):
            self._failed_message = message.get("message", "")
            if self._failed_message:
                logger.error(self._failed_message)
        self._reply(kind)
