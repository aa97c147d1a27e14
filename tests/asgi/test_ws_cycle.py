"""asgi/ws_cycle.py: one WebSocket session (WebSocketCycle) driven through a recording fake stream."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

import pytest

from asgihost.asgi.ws_cycle import ClientDisconnected, State, WebSocketCycle

LOGGER = "tests.ws_cycle"
ACCEPT = {"type": "websocket.accept"}


class FakeStream:
    """A WebSocketStream that records every call."""

    def __init__(self) -> None:
        self.logger = logging.getLogger(LOGGER)
        self.calls: list[tuple[Any, ...]] = []
        self.paused = False
        self.finished = 0

    @property
    def write_paused(self) -> bool:
        return self.paused

    def create_future(self) -> asyncio.Future[None]:
        return asyncio.get_running_loop().create_future()

    async def drain(self) -> None:
        self.calls.append(("drain",))
        self.paused = False

    def pause_reading(self) -> None:
        self.calls.append(("pause_reading",))

    def resume_reading(self) -> None:
        self.calls.append(("resume_reading",))

    def accept(self, subprotocol: str | None, headers: Any) -> None:
        self.calls.append(("accept", subprotocol, list(headers)))

    def send_message(self, data: str | bytes) -> None:
        self.calls.append(("send_message", data))

    def send_close(self, code: int, reason: str) -> None:
        self.calls.append(("send_close", code, reason))

    def respond(self, status: int, headers: Any) -> None:
        self.calls.append(("respond", status, list(headers)))

    def respond_body(self, body: bytes, more: bool) -> None:
        self.calls.append(("respond_body", body, more))

    def reject(self, status: int) -> None:
        self.calls.append(("reject", status))

    def abort(self) -> None:
        self.calls.append(("abort",))

    def app_finished(self) -> None:
        self.finished += 1

    def names(self) -> list[str]:
        return [call[0] for call in self.calls]


MAX_QUEUE = 32


def make(max_queue: int = MAX_QUEUE) -> tuple[WebSocketCycle, FakeStream]:
    stream = FakeStream()
    return WebSocketCycle(stream, {"type": "websocket"}, None, max_queue), stream


def run(coro: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, 5)

    return asyncio.run(main())


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.ERROR]


# ---- the handshake ---------------------------------------------------------------------------


def test_connect_accept_messages_close(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        assert await receive() == {"type": "websocket.connect"}
        await send({"type": "websocket.accept", "subprotocol": "chat", "headers": [(b"x", b"1")]})
        assert cycle.state is State.CONNECTED
        await send({"type": "websocket.send", "text": "hi"})
        await send({"type": "websocket.send", "bytes": b"\x00"})
        await send({"type": "websocket.close", "code": 4000, "reason": "bye"})

    run(cycle.run(app))
    assert stream.calls == [
        ("accept", "chat", [(b"x", b"1")]),
        ("send_message", "hi"),
        ("send_message", b"\x00"),
        ("send_close", 4000, "bye"),
    ]
    assert cycle.state is State.CLOSED
    assert stream.finished == 1
    assert errors(caplog) == []


def test_accept_defaults():
    cycle, stream = make()
    run(cycle.send(ACCEPT))
    assert stream.calls == [("accept", None, [])]


def test_close_before_accept_rejects_with_403(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.close"})

    run(cycle.run(app))
    assert stream.calls == [("reject", 403)]
    assert stream.finished == 1
    assert errors(caplog) == []


def test_a_denial_response():
    cycle, stream = make()

    async def app(scope, receive, send):
        await send({"type": "websocket.http.response.start", "status": 401, "headers": [(b"a", b"b")]})
        assert cycle.state is State.RESPONSE
        await send({"type": "websocket.http.response.body", "body": b"no", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b"pe"})

    run(cycle.run(app))
    assert stream.calls == [
        ("respond", 401, [(b"a", b"b")]),
        ("respond_body", b"no", True),
        ("respond_body", b"pe", False),
    ]
    assert stream.finished == 1


def test_a_denial_response_cut_short_aborts(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        await send({"type": "websocket.http.response.start", "status": 401})
        await send({"type": "websocket.http.response.body", "body": b"x", "more_body": True})

    run(cycle.run(app))
    assert stream.names() == ["respond", "respond_body", "abort"]


@pytest.mark.parametrize(
    ("before", "message", "expected"),
    [
        ([], {"type": "websocket.send", "text": "x"}, "Expected 'websocket.accept'"),
        ([ACCEPT], ACCEPT, "Expected 'websocket.send' or 'websocket.close'"),
        ([ACCEPT], {"type": "websocket.send"}, "exactly one of"),
        ([ACCEPT], {"type": "websocket.send", "text": "a", "bytes": b"a"}, "exactly one of"),
        (
            [{"type": "websocket.http.response.start", "status": 403}],
            ACCEPT,
            "Expected 'websocket.http.response.body'",
        ),
        ([{"type": "websocket.close"}], ACCEPT, "after the WebSocket was closed"),
        (
            [ACCEPT, {"type": "websocket.close"}],
            {"type": "websocket.send", "text": "x"},
            "after the WebSocket",
        ),
        ([ACCEPT], {"type": "websocket.close", "code": 1005}, "Invalid WebSocket close code"),
        ([ACCEPT], {"type": "websocket.close", "code": "1000"}, "Invalid WebSocket close code"),
        ([ACCEPT], {"type": "websocket.close", "reason": "x" * 124}, "at most 123 bytes"),
    ],
)
def test_a_message_that_does_not_fit_raises_runtime_error(before, message, expected):
    cycle, stream = make()

    async def main() -> None:
        for earlier in before:
            await cycle.send(earlier)
        with pytest.raises(RuntimeError, match=expected):
            await cycle.send(message)

    run(main())


@pytest.mark.parametrize("code", [1000, 1001, 1003, 1007, 1014, 3000, 4999])
def test_valid_close_codes(code):
    cycle, stream = make()

    async def main() -> None:
        await cycle.send(ACCEPT)
        await cycle.send({"type": "websocket.close", "code": code, "reason": "é" * 61})

    run(main())
    assert stream.calls[-1] == ("send_close", code, "é" * 61)


def test_close_code_defaults_to_1000():
    cycle, stream = make()

    async def main() -> None:
        await cycle.send(ACCEPT)
        await cycle.send({"type": "websocket.close", "code": None, "reason": None})

    run(main())
    assert stream.calls[-1] == ("send_close", 1000, "")


# ---- receiving -------------------------------------------------------------------------------


def test_receive_connect_then_messages_in_order_then_disconnect_for_ever():
    cycle, stream = make()

    async def main() -> list[dict[str, Any]]:
        got = [await cycle.receive()]
        cycle.feed("one")
        cycle.feed(b"two")
        got += [await cycle.receive(), await cycle.receive()]
        waiting = asyncio.ensure_future(cycle.receive())
        await _settle()
        assert not waiting.done()
        cycle.feed("three")
        got.append(await waiting)
        cycle.disconnect(1001, "going away")
        cycle.feed("after close")  # dropped
        cycle.disconnect(1000)  # the first close stays
        got += [await cycle.receive(), await cycle.receive()]
        return got

    assert run(main()) == [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "one"},
        {"type": "websocket.receive", "bytes": b"two"},
        {"type": "websocket.receive", "text": "three"},
        {"type": "websocket.disconnect", "code": 1001, "reason": "going away"},
        {"type": "websocket.disconnect", "code": 1001, "reason": "going away"},
    ]


def test_queued_messages_come_before_the_disconnect():
    cycle, stream = make()

    async def main() -> list[dict[str, Any]]:
        await cycle.receive()
        cycle.feed("last words")
        cycle.disconnect(1006)
        return [await cycle.receive(), await cycle.receive()]

    assert run(main()) == [
        {"type": "websocket.receive", "text": "last words"},
        {"type": "websocket.disconnect", "code": 1006, "reason": ""},
    ]


def test_disconnect_wakes_a_waiting_receive():
    cycle, stream = make()

    async def main() -> dict[str, Any]:
        await cycle.receive()
        waiting = asyncio.ensure_future(cycle.receive())
        await _settle()
        cycle.disconnect(1006)
        return await waiting

    assert run(main()) == {"type": "websocket.disconnect", "code": 1006, "reason": ""}


@pytest.mark.parametrize("max_queue", [MAX_QUEUE, 5, 1])
def test_reading_pauses_at_max_queue_and_resumes_at_half(max_queue):
    cycle, stream = make(max_queue)

    async def main() -> None:
        await cycle.receive()
        for i in range(max_queue - 1):
            cycle.feed(str(i))
        assert stream.calls == []
        cycle.feed("full")
        assert stream.calls == [("pause_reading",)]
        while len(cycle.queue) > max_queue // 2 + 1:
            await cycle.receive()
        assert stream.calls == [("pause_reading",)]
        await cycle.receive()  # the queue drops to half
        assert stream.calls == [("pause_reading",), ("resume_reading",)]
        while cycle.queue:
            await cycle.receive()
        assert stream.calls == [("pause_reading",), ("resume_reading",)]

    run(main())


# ---- sending after the peer has gone, write back-pressure -------------------------------------


@pytest.mark.parametrize(
    "message",
    [{"type": "websocket.send", "text": "x"}, {"type": "websocket.close"}],
)
def test_send_after_the_peer_has_gone_raises_client_disconnected(message):
    cycle, stream = make()

    async def main() -> None:
        await cycle.send(ACCEPT)
        cycle.disconnect(1001)
        with pytest.raises(ClientDisconnected):
            await cycle.send(message)

    run(main())
    assert issubclass(ClientDisconnected, OSError)
    assert stream.names() == ["accept"]


def test_send_after_own_close_and_then_the_peers_raises_client_disconnected():
    cycle, stream = make()

    async def main() -> None:
        await cycle.send(ACCEPT)
        await cycle.send({"type": "websocket.close"})
        cycle.disconnect(1000)
        with pytest.raises(ClientDisconnected):
            await cycle.send({"type": "websocket.send", "text": "x"})

    run(main())


def test_send_drains_while_writing_is_paused_but_not_once_the_peer_has_gone():
    cycle, stream = make()

    async def main() -> None:
        stream.paused = True
        await cycle.send(ACCEPT)
        stream.paused = True
        await cycle.send({"type": "websocket.send", "text": "x"})
        stream.paused = True
        cycle.disconnect(1006)
        with pytest.raises(ClientDisconnected):
            await cycle.send({"type": "websocket.send", "text": "y"})

    run(main())
    assert stream.names() == ["drain", "accept", "drain", "send_message"]


# ---- how the app ends ------------------------------------------------------------------------


def test_app_raising_before_accept_gets_a_500(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        raise ValueError("boom")

    run(cycle.run(app))
    assert stream.calls == [("reject", 500)]
    assert errors(caplog) == ["Exception in ASGI application\n"]
    assert cycle.state is State.CLOSED and stream.finished == 1


def test_app_raising_after_accept_closes_with_1011(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        await send(ACCEPT)
        raise ValueError("boom")

    run(cycle.run(app))
    assert stream.calls == [("accept", None, []), ("send_close", 1011, "")]
    assert errors(caplog) == ["Exception in ASGI application\n"]
    assert stream.finished == 1


def test_app_returning_after_accept_closes_with_1000(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        await send(ACCEPT)

    run(cycle.run(app))
    assert stream.calls == [("accept", None, []), ("send_close", 1000, "")]
    assert errors(caplog) == []


def test_app_returning_without_handshake_gets_a_500(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        await receive()

    run(cycle.run(app))
    assert stream.calls == [("reject", 500)]
    assert errors(caplog) == ["ASGI callable returned without sending handshake."]
    assert stream.finished == 1


def test_a_non_none_return_is_logged(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        await send(ACCEPT)
        await send({"type": "websocket.close"})
        return 7

    run(cycle.run(app))
    assert stream.names() == ["accept", "send_close"]  # closed once, by the app
    assert errors(caplog) == ["ASGI callable should return None, but returned 7."]


def test_client_disconnected_escaping_the_app_is_not_reported(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        await send(ACCEPT)
        cycle.disconnect(1001)
        await send({"type": "websocket.send", "text": "x"})

    run(cycle.run(app))
    assert stream.names() == ["accept"]  # the peer has gone: no close is sent
    assert errors(caplog) == []
    assert stream.finished == 1


def test_app_after_the_peer_left_during_the_handshake_still_gets_its_500():
    # The peer gave up before the app answered: the upgrade still needs its answer.
    cycle, stream = make()

    async def app(scope, receive, send):
        cycle.disconnect(1006)
        raise ValueError

    run(cycle.run(app))
    assert stream.calls == [("reject", 500)]


async def _ok(scope, receive, send):
    await send(ACCEPT)
    await send({"type": "websocket.close"})


async def _raises_early(scope, receive, send):
    raise ValueError


async def _raises_late(scope, receive, send):
    await send(ACCEPT)
    raise ValueError


async def _no_handshake(scope, receive, send):
    pass


async def _denial(scope, receive, send):
    await send({"type": "websocket.http.response.start", "status": 403})
    await send({"type": "websocket.http.response.body"})


async def _peer_gone(scope, receive, send):
    await send(ACCEPT)
    cycle_disconnect = scope["disconnect"]
    cycle_disconnect(1006)
    await send({"type": "websocket.send", "text": "x"})


@pytest.mark.parametrize("app", [_ok, _raises_early, _raises_late, _no_handshake, _denial, _peer_gone])
def test_app_finished_once_and_the_server_answers_at_most_once(app):
    cycle, stream = make()
    cycle.scope["disconnect"] = cycle.disconnect
    run(cycle.run(app))
    assert stream.finished == 1
    assert cycle.state is State.CLOSED
    ends = [c for c in stream.names() if c in ("reject", "send_close", "abort")]
    assert len(ends) <= 1
