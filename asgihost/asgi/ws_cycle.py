"""One WebSocket session between a protocol connection and an ASGI app.

States, in order and never backwards:
  CONNECTING  the upgrade request is pending: the app may accept, close (403) or answer
              with an HTTP response (the ``websocket.http.response`` extension).
  CONNECTED   accepted: messages both ways until either side closes.
  RESPONSE    the app started an HTTP response instead of accepting; body messages follow.
  CLOSED      the app closed, finished its response, or the server answered for it.

Invariants:
- ``receive`` returns ``websocket.connect`` first, then the peer's messages in order, then
  ``websocket.disconnect`` (with the peer's close code, or 1006 when the connection was
  lost) for ever.
- ``send`` after the peer has gone raises ``ClientDisconnected`` (an ``OSError``), as the
  ASGI spec asks; a message that does not fit the state raises ``RuntimeError``.
- An app that fails or returns before accepting gets a 500; after accepting, a close with
  1011 (failed) or 1000 (returned). Never both, never twice.
- Reading pauses while ``max_queue`` messages wait for the app (Uvicorn's ws_max_queue), and
  resumes once half of them are taken.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from typing import Any, Protocol

from ..protocols.errors import WS_INTERNAL_ERROR, WS_NORMAL


class ClientDisconnected(OSError):
    """The peer has gone; nothing can be sent on this WebSocket."""


class State(enum.Enum):
    CONNECTING = 1
    CONNECTED = 2
    RESPONSE = 3
    CLOSED = 4


_CONNECTING = State.CONNECTING
_CONNECTED = State.CONNECTED
_RESPONSE = State.RESPONSE
_CLOSED = State.CLOSED


class WebSocketStream(Protocol):
    """What a protocol connection offers one WebSocket session."""

    logger: logging.Logger

    @property
    def write_paused(self) -> bool: ...
    def create_future(self) -> Any: ...
    async def drain(self) -> None: ...
    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    def accept(self, subprotocol: str | None, headers: Any) -> None: ...
    def send_message(self, data: str | bytes) -> None: ...
    def send_close(self, code: int, reason: str) -> None: ...
    def respond(self, status: int, headers: Any) -> None: ...
    def respond_body(self, body: bytes, more: bool) -> None: ...
    def reject(self, status: int) -> None: ...
    def abort(self) -> None: ...
    def app_finished(self) -> None: ...


class WebSocketCycle:
    __slots__ = (
        "stream",
        "scope",
        "state",
        "connect_sent",
        "queue",
        "max_queue",
        "resume_at",
        "closed",
        "waiter",
        "task",
        "mount",
    )

    def __init__(self, stream: WebSocketStream, scope: dict[str, Any], mount: Any, max_queue: int) -> None:
        self.stream = stream
        self.scope = scope
        self.mount = mount
        self.state = _CONNECTING
        self.connect_sent = False
        self.queue: deque[str | bytes] = deque()
        self.max_queue = max_queue  # messages waiting for the app before reading pauses
        self.resume_at = max_queue // 2
        self.closed: tuple[int, str] | None = None  # the peer's close code and reason, once gone
        self.waiter: Any = None
        self.task: Any = None

    # ---- fed by the protocol connection ------------------------------------------------------

    def feed(self, data: str | bytes) -> None:
        if self.closed is not None:
            return
        self.queue.append(data)
        if len(self.queue) >= self.max_queue:
            self.stream.pause_reading()
        self._wake()

    def disconnect(self, code: int, reason: str = "") -> None:
        if self.closed is None:
            self.closed = (code, reason)
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
        failed = False
        try:
            result = await app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass  # the app sent after the peer left and let it escape: nothing to report
        except Exception as exc:
            failed = True
            logger.error("Exception in ASGI application\n", exc_info=exc)
        else:
            if result is not None:
                logger.error("ASGI callable should return None, but returned %r.", result)
            if self.state is _CONNECTING and self.closed is None:
                failed = True
                logger.error("ASGI callable returned without sending handshake.")
        finally:
            self._finish(failed)
            self.stream.app_finished()

    def _finish(self, failed: bool) -> None:
        state = self.state
        self.state = _CLOSED
        if self.closed is not None and state is not _CONNECTING:
            return
        if state is _CONNECTING:
            self.stream.reject(500)
        elif state is _CONNECTED:
            self.stream.send_close(WS_INTERNAL_ERROR if failed else WS_NORMAL, "")
        elif state is _RESPONSE:
            self.stream.abort()  # a response cut short: the connection just closes

    async def receive(self) -> dict[str, Any]:
        if not self.connect_sent:
            self.connect_sent = True
            return {"type": "websocket.connect"}
        while True:
            queue = self.queue
            if queue:
                data = queue.popleft()
                if len(queue) == self.resume_at:
                    self.stream.resume_reading()
                if type(data) is str:
                    return {"type": "websocket.receive", "text": data}
                return {"type": "websocket.receive", "bytes": data}
            if self.closed is not None:
                code, reason = self.closed
                return {"type": "websocket.disconnect", "code": code, "reason": reason}
            self.waiter = self.stream.create_future()
            await self.waiter

    async def send(self, message: dict[str, Any]) -> None:
        stream = self.stream
        if stream.write_paused and self.closed is None:
            await stream.drain()
        kind = message["type"]
        state = self.state
        if self.closed is not None and state is not _CLOSED:
            raise ClientDisconnected(f"Cannot send {kind!r}: the client has disconnected.")
        if state is _CONNECTED:
            if kind == "websocket.send":
                text = message.get("text")
                data = message.get("bytes")
                if (text is None) == (data is None):
                    raise RuntimeError("A 'websocket.send' message has exactly one of 'bytes' and 'text'.")
                stream.send_message(text if text is not None else data)  # type: ignore[arg-type]
            elif kind == "websocket.close":
                self.state = _CLOSED
                stream.send_close(*_close_args(message))
            else:
                raise RuntimeError(f"Expected 'websocket.send' or 'websocket.close', but got {kind!r}.")
        elif state is _CONNECTING:
            # The stream may refuse what the app asks (an invalid header): the state moves after.
            if kind == "websocket.accept":
                stream.accept(message.get("subprotocol"), message.get("headers") or ())
                self.state = _CONNECTED
            elif kind == "websocket.close":
                self.state = _CLOSED
                stream.reject(403)
            elif kind == "websocket.http.response.start":
                stream.respond(message["status"], message.get("headers") or ())
                self.state = _RESPONSE
            else:
                raise RuntimeError(
                    "Expected 'websocket.accept', 'websocket.close' or 'websocket.http.response.start', "
                    f"but got {kind!r}."
                )
        elif state is _RESPONSE:
            if kind != "websocket.http.response.body":
                raise RuntimeError(f"Expected 'websocket.http.response.body', but got {kind!r}.")
            more = message.get("more_body", False)
            if not more:
                self.state = _CLOSED
            stream.respond_body(message.get("body", b""), more)
        else:
            if self.closed is not None:
                raise ClientDisconnected(f"Cannot send {kind!r}: the client has disconnected.")
            raise RuntimeError(f"Unexpected ASGI message {kind!r}, after the WebSocket was closed.")


def _close_args(message: dict[str, Any]) -> tuple[int, str]:
    code = message.get("code") or WS_NORMAL
    reason = message.get("reason") or ""
    if type(code) is not int or not (
        code in (1000, 1001, 1002, 1003) or 1007 <= code <= 1014 or 3000 <= code <= 4999
    ):
        raise RuntimeError(f"Invalid WebSocket close code {code!r}.")
    if len(reason.encode("utf-8")) > 123:
        raise RuntimeError("A WebSocket close reason is at most 123 bytes of UTF-8.")
    return code, reason
