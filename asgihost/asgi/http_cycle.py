"""One HTTP request/response exchange between a protocol stream and an ASGI app.

States of the response (``Response``), in order and never backwards:
  START     nothing sent; only ``http.response.start`` is accepted.
  BODY      the head was given; only ``http.response.body`` is accepted.
  TRAILERS  the last body was given and the head announced trailers (HTTP/2 only: the
            ``http.response.trailers`` extension); only ``http.response.trailers`` is accepted.
  DONE      the last body was given (or the server answered instead); nothing more is accepted.

Invariants:
- The app's ``send`` is the only thing that moves the state from START; the server moves it to
  DONE itself only when it answers for the app (500) or the peer has gone.
- ``receive`` returns request body chunks in order, then waits; after the response is DONE or
  the peer has gone it returns ``http.disconnect`` at once.
- Misuse by the app (wrong message order, invalid header) raises into the app; when the app
  lets it escape, the exchange fails: a 500 if no byte of the response has left, else the
  connection closes. Both are logged with the app's traceback.
- A message after the last body closes the connection. An exception the app raises after its
  response went out whole (Starlette's error middleware re-raises after sending its 500) is
  logged and leaves the connection alone: it may already carry the next request.
- A message sent after the peer has gone is dropped silently, as Uvicorn does.
- A file body (``http.response.zerocopysend``: an open file, an offset and a count; or
  ``http.response.pathsend``: a path, the whole file) is a body message like the others: the
  stream sends it (``send_file``: sendfile where it can, else bounded pieces) and ``send``
  returns once it has gone out or the peer has gone. The server offers both extensions in
  every HTTP scope.
"""

from __future__ import annotations

import enum
import logging
import os
import stat
from typing import Any, Protocol

from ..protocols.events import Request

HIGH_WATER = 65536  # request body bytes buffered before reading pauses


class Response(enum.Enum):
    START = 1
    BODY = 2
    TRAILERS = 3
    DONE = 4


_START = Response.START
_BODY = Response.BODY
_TRAILERS = Response.TRAILERS
_DONE = Response.DONE


class HTTPStream(Protocol):
    """What a protocol connection offers one exchange (HTTP/1.1 today, HTTP/2 later)."""

    logger: logging.Logger

    @property
    def write_paused(self) -> bool: ...
    def create_future(self) -> Any: ...
    async def drain(self) -> None: ...
    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    def send_continue(self, cycle: HTTPCycle) -> None: ...
    def send_start(self, cycle: HTTPCycle, status: int, headers: Any) -> None: ...
    def send_body(self, cycle: HTTPCycle, body: bytes, more: bool) -> None: ...
    async def send_file(self, cycle: HTTPCycle, fd: int, offset: int, count: int, more: bool) -> None: ...
    def send_whole(self, cycle: HTTPCycle, status: int, headers: Any, lines: bytes, body: bytes) -> None: ...
    def send_trailers(self, cycle: HTTPCycle, headers: Any, more: bool) -> None: ...
    def head_written(self, cycle: HTTPCycle) -> bool: ...
    def send_error(self, cycle: HTTPCycle, status: int) -> None: ...
    def close_connection(self, cycle: HTTPCycle) -> None: ...
    def app_finished(self, cycle: HTTPCycle) -> None: ...


class HTTPCycle:
    __slots__ = (
        "stream",
        "request",
        "scope",
        "state",
        "status",
        "body",
        "body_size",
        "received",
        "body_limit",
        "sent",
        "started",
        "body_complete",
        "body_paused",
        "delivered",
        "disconnected",
        "waiter",
        "expect_continue",
        "task",
        "mount",
        "trailers",
    )

    def __init__(self, stream: HTTPStream, request: Request, scope: dict[str, Any], mount: Any) -> None:
        self.stream = stream
        self.mount = mount  # the app this exchange was routed to, as the stream knows it
        self.request = request
        self.scope = scope
        self.state = _START
        self.status = 0
        self.body: list[bytes] = []
        self.body_size = 0  # buffered, not yet handed to the app
        self.received = 0  # the whole body so far
        self.body_limit: int = mount.body_size
        self.sent = 0  # response body bytes the app gave, for the access log
        self.started = 0.0  # perf_counter() at the request, when the access log needs it
        self.body_complete = False
        self.body_paused = False
        self.delivered = False
        self.disconnected = False
        self.waiter: Any = None
        self.expect_continue = request.expect_continue
        self.task: Any = None
        self.trailers = False  # the app announced trailers (only where the scope offers them)

    # ---- fed by the protocol connection ------------------------------------------------------

    def feed_body(self, data: bytes) -> bool:
        """Buffer a piece of the body for the app; False when it takes the body past the
        limit (nothing is buffered then: the stream answers 413)."""
        self.received += len(data)
        if self.received > self.body_limit:
            return False
        if self.state is _DONE or self.disconnected:
            return True  # nobody will read it
        self.body.append(data)
        self.body_size += len(data)
        if self.body_size > HIGH_WATER and not self.body_paused:
            self.body_paused = True
            self.stream.pause_reading()
        self._wake()
        return True

    def end_body(self) -> None:
        self.body_complete = True
        self.expect_continue = False
        self._wake()

    def disconnect(self) -> None:
        self.disconnected = True
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # ---- the ASGI callables ------------------------------------------------------------------

    async def run(self, app: Any) -> None:
        logger = self.stream.logger
        try:
            result = await app(self.scope, self.receive, self.send)
        except Exception as exc:
            logger.error("Exception in ASGI application\n", exc_info=exc)
        else:
            if result is not None:
                logger.error("ASGI callable should return None, but returned %r.", result)
            elif self.state is _START and not self.disconnected:
                logger.error("ASGI callable returned without starting response.")
            elif self.state in (_BODY, _TRAILERS) and not self.disconnected:
                logger.error("ASGI callable returned without completing response.")
        finally:
            try:
                if self.state is not _DONE:
                    self._fail()
            except Exception:  # a bug of ours must not go unseen in a task nobody awaits
                logger.exception("Error while ending a failed response")
            self.stream.app_finished(self)

    def _fail(self) -> None:
        if self.disconnected:
            self.state = _DONE
        elif not self.stream.head_written(self):
            self.state = _DONE
            self.status = 500
            self.stream.send_error(self, 500)
        else:
            self.state = _DONE
            self.stream.close_connection(self)
        self._wake()

    async def receive(self) -> dict[str, Any]:
        if self.expect_continue:
            self.expect_continue = False
            if self.state is _START and not self.disconnected:
                self.stream.send_continue(self)
        while True:
            if self.disconnected or self.state is _DONE:
                return {"type": "http.disconnect"}
            if self.body or (self.body_complete and not self.delivered):
                break
            # Nothing to hand over: wait for body, the end of the response, or the peer leaving.
            if self.body_paused:
                self.body_paused = False
                self.stream.resume_reading()
            self.waiter = self.stream.create_future()
            await self.waiter
        body = self.body
        chunk = body[0] if len(body) == 1 else b"".join(body)
        self.body = []
        self.body_size = 0
        if self.body_complete:
            self.delivered = True
        if self.body_paused:  # (also for the last chunk: HTTP/2 acknowledges what it held back)
            self.body_paused = False
            self.stream.resume_reading()
        return {"type": "http.request", "body": chunk, "more_body": not self.body_complete}

    async def send(self, message: dict[str, Any]) -> None:
        stream = self.stream
        if stream.write_paused and not self.disconnected:
            await stream.drain()
        kind = message["type"]
        state = self.state
        if state is _BODY:
            if kind != "http.response.body":
                if kind == "http.response.zerocopysend" or kind == "http.response.pathsend":
                    await self._send_file(message, kind)
                    return
                raise RuntimeError(f"Expected ASGI message 'http.response.body', but got {kind!r}.")
            more = message.get("more_body", False)
            body = message.get("body", b"")
            self.sent += len(body)
            if not self.disconnected:
                stream.send_body(self, body, more or self.trailers)
            if not more:
                if self.trailers:
                    self.state = _TRAILERS
                else:
                    self.state = _DONE
                    self._wake()
        elif state is _START:
            if kind != "http.response.start":
                raise RuntimeError(f"Expected ASGI message 'http.response.start', but got {kind!r}.")
            self.state = _BODY
            if self.expect_continue:
                # No 100 Continue was sent, so the client holds its body back and it will not be
                # read: the connection closes after this response, and the head must say so.
                self.request.keep_alive = False
                self.expect_continue = False
            status = message["status"]
            if type(status) is not int or not 100 <= status <= 999:
                raise RuntimeError(f"Invalid HTTP status code {status!r} in response.")
            if not self.status:  # (else the server has answered for the app: 408, 413)
                self.status = status
            if (
                message.get("trailers")
                and "extensions" in self.scope
                and "http.response.trailers" in self.scope["extensions"]
            ):
                self.trailers = True
            if not self.disconnected:
                stream.send_start(self, self.status, message.get("headers", ()))
        elif state is _TRAILERS:
            if kind != "http.response.trailers":
                raise RuntimeError(f"Expected ASGI message 'http.response.trailers', but got {kind!r}.")
            more = message.get("more_trailers", False)
            if not self.disconnected:
                stream.send_trailers(self, message.get("headers", ()), more)
            if not more:
                self.state = _DONE
                self._wake()
        else:
            if not self.disconnected:
                stream.close_connection(self)
            raise RuntimeError(f"Unexpected ASGI message {kind!r} sent, after response already completed.")

    async def _send_file(self, message: dict[str, Any], kind: str) -> None:
        """A file body: ``http.response.pathsend`` (the whole file at ``path``, absolute as
        the extension asks or relative to the working directory; the last body message) or
        ``http.response.zerocopysend`` (``count`` bytes of the open ``file``, a descriptor or
        an object with ``fileno()``, from ``offset``; without an offset from the file's
        position, which then moves past them, as sendfile(2) does; without a count to the
        file's end)."""
        if kind == "http.response.pathsend":
            path = message["path"]
            if not isinstance(path, str) or not path:
                raise RuntimeError(f"http.response.pathsend needs a path, not {path!r}.")
            # (A relative path is the process's working directory's, as the app that made it
            # saw it: Starlette's FileResponse("static/x.html") sends it as given.)
            # (O_NONBLOCK: a FIFO's opening must not wait for a writer, with the loop)
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
            try:
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode):
                    raise RuntimeError(f"http.response.pathsend: {path!r} is not a regular file.")
                await self._file_body(fd, 0, info.st_size, False)
            finally:
                os.close(fd)
            return
        file = message["file"]
        fd = file if type(file) is int else file.fileno()
        offset: Any = message.get("offset")
        count: Any = message.get("count")
        more = message.get("more_body", False)
        at_position = offset is None
        if at_position:
            offset = os.lseek(fd, 0, os.SEEK_CUR)
        if count is None:
            count = max(0, os.fstat(fd).st_size - offset)
        if type(offset) is not int or type(count) is not int or offset < 0 or count < 0:
            raise RuntimeError(f"Invalid offset {offset!r} or count {count!r} in {kind}.")
        await self._file_body(fd, offset, count, more)
        if at_position:
            os.lseek(fd, offset + count, os.SEEK_SET)

    async def _file_body(self, fd: int, offset: int, count: int, more: bool) -> None:
        self.sent += count
        if not self.disconnected:
            await self.stream.send_file(self, fd, offset, count, more or self.trailers)
        if not more:
            if self.trailers:
                self.state = _TRAILERS
            else:
                self.state = _DONE
                self._wake()

    def respond(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, lines: bytes) -> None:
        """A whole response the server writes for the exchange at once, without a task (a
        static app's answer): the app never runs. ``lines`` are ``headers`` checked and
        rendered for HTTP/1.1 already, or b"" (``HTTPStream.send_whole``)."""
        self.state = _DONE
        self.status = status
        self.sent = len(body)
        self.stream.send_whole(self, status, headers, lines, body)
