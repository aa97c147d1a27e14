"""The writing side of an HTTP/1.1 connection, mixed into ``H1Protocol``: the stream interface
an ``HTTPCycle`` talks to (heads, bodies, files, errors), and the send timeout of a client that
takes no more of its response.

Invariants:
- A response the client does not take (the transport above its high-water mark, or a file
  the socket does not take) sets ``idle_deadline`` to the app's send timeout, renewed by
  every progress; once it passes, the protocol's tick aborts the connection (``send_stalled``).
- Files go out by sendfile on a plain socket (``zero_copy``), in pieces through ``send_body``
  over TLS.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from ..asgi.http_cycle import HTTPCycle
from ..protocols.errors import ERROR_REASONS, ProtocolError
from ..protocols.http1_response import CONTINUE_100, simple_response
from .flow import WriteFlow
from .sendfile import send_pieces, zero_copy
from .state import ServerState


class H1Writer(WriteFlow):
    """What ``H1Protocol`` writes with; its attributes are the protocol's."""

    __slots__ = ("cycle", "read_paused", "plain", "send_stalled", "file_waiter", "idle_deadline")

    cycle: HTTPCycle | None  # the exchange whose response is being written
    read_paused: bool
    plain: bool  # no TLS: files go out by sendfile
    send_stalled: bool  # idle_deadline is the send timeout of a response the client stopped taking
    file_waiter: asyncio.Future[None] | None  # zero_copy's wait for the socket
    idle_deadline: float

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    shared: ServerState
    core: Any
    parsing: HTTPCycle | None
    pipeline: deque[HTTPCycle | ProtocolError]
    closing: bool
    close: Callable[[], None]
    _response_complete: Callable[[HTTPCycle], None]

    def create_future(self) -> asyncio.Future[None]:
        return self.loop.create_future()

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

    def send_whole(self, cycle: HTTPCycle, status: int, headers: Any, lines: bytes, body: bytes) -> None:
        if lines:
            self.core.start_known(cycle.request, status, lines, self.shared.defaults)
        else:
            self.send_start(cycle, status, headers)
        self.send_body(cycle, body, False)

    def send_trailers(self, cycle: HTTPCycle, headers: Any, more: bool) -> None:
        """Never called: HTTP/1.1 scopes do not offer the http.response.trailers extension."""

    def head_written(self, cycle: HTTPCycle) -> bool:
        return cycle is not self.cycle or self.core.head_written

    def send_error(self, cycle: HTTPCycle, status: int) -> None:
        if cycle is not self.cycle or self.closing:
            return
        self.cycle = None
        self.transport.write(simple_response(status, ERROR_REASONS[status], self.shared.defaults))
        self.close()

    def close_connection(self, cycle: HTTPCycle) -> None:
        self.close()

    def stalled(self) -> None:
        """The client takes no more for now: its send timeout runs (unless a body being read
        has the deadline)."""
        timeout = self.cycle.mount.send_timeout if self.cycle is not None else 0.0
        if timeout and self.parsing is None:
            self.send_stalled = True
            self.idle_deadline = self.shared.clock.now + timeout

    def progressed(self) -> None:
        """The client took more of the response."""
        if self.send_stalled:
            self.send_stalled = False
            if self.parsing is None:
                self.idle_deadline = 0.0

    async def drain(self) -> None:
        if self.write_paused:
            self.stalled()
            await self.writable.wait()
            self.progressed()

    async def send_file(self, cycle: HTTPCycle, fd: int, offset: int, count: int, more: bool) -> None:
        if not self.plain:  # TLS: the bytes must be encrypted, in pieces
            await send_pieces(self, cycle, fd, offset, count, more)
            return
        before, after, count = self.core.frame_file(count, more)
        if before:
            self.transport.write(before)
        if count:
            await zero_copy(self, fd, offset, count)
        if self.closing:
            return
        if after:
            self.transport.write(after)
        if not more:
            self._response_complete(cycle)
