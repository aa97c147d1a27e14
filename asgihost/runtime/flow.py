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
        if future is None or future.done():  # (done: a wait before this one was cancelled)
            self.future = future = self.loop.create_future()
        await future

    def wake(self) -> None:
        future = self.future
        if future is not None:
            self.future = None
            if not future.done():
                future.set_result(None)


class WriteFlow:
    """A transport's write side, mixed into its ``asyncio.Protocol``: ``write_paused`` between
    ``pause_writing`` and ``resume_writing``. A plain attribute, not a property: every ``send``
    of an app reads it."""

    __slots__ = ("write_paused", "writable")

    write_paused: bool
    writable: Waiter

    def init_flow(self, loop: asyncio.AbstractEventLoop, paused: bool = False) -> None:
        self.write_paused = paused
        self.writable = Waiter(loop)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self.writable.wake()

    async def drain(self) -> None:
        """Wait until the transport takes writes again (or the connection is gone)."""
        if self.write_paused:
            await self.writable.wait()
