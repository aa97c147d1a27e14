"""Write flow control: an app's ``send`` waits while what it wrote cannot leave.

Every transport (HTTP/1.1, WebSocket over HTTP/1.1, HTTP/2 and its streams) uses one
``Waiter`` per thing that can hold a writer back: the transport above its high-water mark
(``pause_writing`` / ``resume_writing``), or an HTTP/2 stream whose data waits for the peer's
window.

Invariants:
- At most one writer waits on a ``Waiter`` at a time (one exchange, or one stream, per waiter);
  ``wake`` releases it, and is a no-op when nobody waits.
- ``wait`` returns once woken, or at once when ``wake`` came first since the last ``wait``
  started: a writer must test its condition again after it returns (``drain`` loops do).
- A lost connection wakes every waiter, so no send stays blocked on a connection that is gone.
"""

from __future__ import annotations

import asyncio


class Waiter:
    """One pending writer, woken by the transport or the peer's window."""

    __slots__ = ("loop", "future")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] | None = None

    async def wait(self) -> None:
        future = self.future
        if future is None:
            self.future = future = self.loop.create_future()
        await future

    def wake(self) -> None:
        future = self.future
        if future is not None:
            self.future = None
            if not future.done():
                future.set_result(None)


class WriteFlow(Waiter):
    """A transport's write side: ``paused`` between ``pause_writing`` and ``resume_writing``."""

    __slots__ = ("paused",)

    def __init__(self, loop: asyncio.AbstractEventLoop, paused: bool = False) -> None:
        super().__init__(loop)
        self.paused = paused

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self.wake()

    async def drain(self) -> None:
        """Wait until the transport takes writes again (or the connection is gone)."""
        if self.paused:
            await self.wait()
