"""asgi/http_cycle.py: one HTTP exchange (HTTPCycle) driven through a recording fake stream."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest

from asgihost.asgi.http_cycle import HIGH_WATER, HTTPCycle, Response
from asgihost.protocols.events import Request

LOGGER = "tests.http_cycle"
START = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
TRAILERS_EXT = {"http.response.trailers": {}}


class FakeStream:
    """An HTTPStream that records every call; the head counts as written once sent."""

    def __init__(self) -> None:
        self.logger = logging.getLogger(LOGGER)
        self.calls: list[tuple[Any, ...]] = []
        self.paused = False
        self.finished = 0
        self.fail_on_error = False

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

    def send_continue(self, cycle: HTTPCycle) -> None:
        self.calls.append(("send_continue",))

    def send_start(self, cycle: HTTPCycle, status: int, headers: Any) -> None:
        self.calls.append(("send_start", status, list(headers)))

    def send_body(self, cycle: HTTPCycle, body: bytes, more: bool) -> None:
        self.calls.append(("send_body", body, more))

    def send_trailers(self, cycle: HTTPCycle, headers: Any, more: bool) -> None:
        self.calls.append(("send_trailers", list(headers), more))

    def head_written(self, cycle: HTTPCycle) -> bool:
        return any(call[0] == "send_start" for call in self.calls)

    def send_error(self, cycle: HTTPCycle, status: int) -> None:
        self.calls.append(("send_error", status))
        if self.fail_on_error:
            raise ValueError("broken stream")

    def close_connection(self, cycle: HTTPCycle) -> None:
        self.calls.append(("close_connection",))

    def app_finished(self, cycle: HTTPCycle) -> None:
        self.finished += 1

    def names(self) -> list[str]:
        return [call[0] for call in self.calls]


def make(
    *, expect_continue: bool = False, body_limit: int = 1 << 20, extensions: dict[str, Any] | None = None
) -> tuple[HTTPCycle, FakeStream]:
    stream = FakeStream()
    request = Request(1, "POST", b"/", [], "1.1", True, expect_continue)
    scope: dict[str, Any] = {"type": "http"}
    if extensions is not None:
        scope["extensions"] = extensions
    cycle = HTTPCycle(stream, request, scope, SimpleNamespace(body_size=body_limit))
    return cycle, stream


def run(coro: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, 5)

    return asyncio.run(main())


def run_app(cycle: HTTPCycle, app: Callable[..., Awaitable[Any]]) -> None:
    run(cycle.run(app))


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.ERROR]


# ---- response message order ------------------------------------------------------------------


def test_start_then_bodies_then_done(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        await send(START)
        await send({"type": "http.response.body", "body": b"he", "more_body": True})
        await send({"type": "http.response.body", "body": b"llo"})

    run_app(cycle, app)
    assert stream.calls == [
        ("send_start", 200, [(b"content-type", b"text/plain")]),
        ("send_body", b"he", True),
        ("send_body", b"llo", False),
    ]
    assert cycle.state is Response.DONE
    assert (cycle.status, cycle.sent) == (200, 5)
    assert stream.finished == 1
    assert errors(caplog) == []


def test_defaults_of_start_and_body():
    cycle, stream = make()

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body"})

    run_app(cycle, app)
    assert stream.calls == [("send_start", 204, []), ("send_body", b"", False)]


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([{"type": "http.response.body", "body": b"x"}], "Expected ASGI message 'http.response.start'"),
        ([START, START], "Expected ASGI message 'http.response.body'"),
        ([START, {"type": "http.response.trailers"}], "Expected ASGI message 'http.response.body'"),
    ],
)
def test_a_message_out_of_order_raises_into_the_app(messages, expected):
    cycle, stream = make()
    raised: list[BaseException] = []

    async def app(scope, receive, send):
        try:
            for message in messages:
                await send(message)
        except RuntimeError as exc:
            raised.append(exc)

    run_app(cycle, app)
    assert len(raised) == 1 and expected in str(raised[0])


@pytest.mark.parametrize("status", ["200", 200.0, True, 99, 1000, None])
def test_an_invalid_status_raises(status):
    cycle, stream = make()
    raised: list[BaseException] = []

    async def app(scope, receive, send):
        try:
            await send({"type": "http.response.start", "status": status})
        except RuntimeError as exc:
            raised.append(exc)
            raise

    run_app(cycle, app)
    assert len(raised) == 1 and "Invalid HTTP status code" in str(raised[0])
    assert "send_start" not in stream.names()
    assert stream.calls == [("send_error", 500)]  # nothing left: the server answers 500
    assert cycle.status == 500


@pytest.mark.parametrize("status", [100, 999])
def test_status_bounds_are_accepted(status):
    cycle, stream = make()

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": status})
        await send({"type": "http.response.body"})

    run_app(cycle, app)
    assert stream.calls[0] == ("send_start", status, [])


def test_trailers_where_the_scope_offers_them():
    cycle, stream = make(extensions=dict(TRAILERS_EXT))

    async def app(scope, receive, send):
        await send({**START, "trailers": True})
        await send({"type": "http.response.body", "body": b"x"})
        assert cycle.state is Response.TRAILERS
        await send({"type": "http.response.trailers", "headers": [(b"a", b"1")], "more_trailers": True})
        assert cycle.state is Response.TRAILERS
        await send({"type": "http.response.trailers", "headers": [(b"b", b"2")]})

    run_app(cycle, app)
    assert stream.calls[1:] == [
        ("send_body", b"x", True),  # the stream is not ended by the last body: trailers follow
        ("send_trailers", [(b"a", b"1")], True),
        ("send_trailers", [(b"b", b"2")], False),
    ]
    assert cycle.state is Response.DONE
    assert stream.finished == 1


@pytest.mark.parametrize("extensions", [None, {}, {"tls": {}}])
def test_trailers_are_ignored_where_the_scope_does_not_offer_them(extensions):
    cycle, stream = make(extensions=extensions)

    async def app(scope, receive, send):
        await send({**START, "trailers": True})
        await send({"type": "http.response.body", "body": b"x"})

    run_app(cycle, app)
    assert stream.calls[1:] == [("send_body", b"x", False)]
    assert cycle.state is Response.DONE and not cycle.trailers


def test_in_trailers_only_trailers_are_accepted():
    cycle, stream = make(extensions=dict(TRAILERS_EXT))
    raised: list[BaseException] = []

    async def app(scope, receive, send):
        await send({**START, "trailers": True})
        await send({"type": "http.response.body", "body": b"x"})
        try:
            await send({"type": "http.response.body", "body": b"y"})
        except RuntimeError as exc:
            raised.append(exc)
        await send({"type": "http.response.trailers", "headers": []})

    run_app(cycle, app)
    assert "Expected ASGI message 'http.response.trailers'" in str(raised[0])
    assert stream.calls[-1] == ("send_trailers", [], False)


def test_a_message_after_the_last_body_closes_the_connection_and_raises(caplog):
    cycle, stream = make()
    raised: list[BaseException] = []

    async def app(scope, receive, send):
        await send(START)
        await send({"type": "http.response.body", "body": b"x"})
        try:
            await send({"type": "http.response.body", "body": b"y"})
        except RuntimeError as exc:
            raised.append(exc)

    run_app(cycle, app)
    assert "after response already completed" in str(raised[0])
    assert stream.names() == ["send_start", "send_body", "close_connection"]
    assert stream.finished == 1
    assert errors(caplog) == []  # the app caught it and returned


def test_an_exception_after_a_whole_response_is_logged_and_leaves_the_connection(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        await send(START)
        await send({"type": "http.response.body", "body": b"x"})
        raise ValueError("re-raised after the 500")

    run_app(cycle, app)
    assert stream.names() == ["send_start", "send_body"]
    [record] = errors(caplog)
    assert "Exception in ASGI application" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is ValueError
    assert stream.finished == 1


# ---- the request body ------------------------------------------------------------------------


def test_receive_hands_chunks_in_order_then_more_body_false():
    cycle, stream = make()

    async def main() -> list[dict[str, Any]]:
        got = []
        cycle.feed_body(b"a")
        got.append(await cycle.receive())
        cycle.feed_body(b"b")
        cycle.feed_body(b"c")
        got.append(await cycle.receive())  # what waits is handed over in one piece
        waiting = asyncio.ensure_future(cycle.receive())
        await _settle()
        assert not waiting.done()  # nothing buffered: it waits
        cycle.feed_body(b"d")
        got.append(await waiting)
        waiting = asyncio.ensure_future(cycle.receive())
        await _settle()
        cycle.end_body()
        got.append(await waiting)
        return got

    got = run(main())
    assert got == [
        {"type": "http.request", "body": b"a", "more_body": True},
        {"type": "http.request", "body": b"bc", "more_body": True},
        {"type": "http.request", "body": b"d", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": False},
    ]


def test_the_last_chunk_comes_with_more_body_false():
    cycle, stream = make()
    cycle.feed_body(b"ab")
    cycle.end_body()
    assert run(cycle.receive()) == {"type": "http.request", "body": b"ab", "more_body": False}


def test_after_the_whole_body_receive_waits_until_the_response_is_done():
    cycle, stream = make()

    async def main() -> dict[str, Any]:
        cycle.end_body()
        await cycle.receive()
        waiting = asyncio.ensure_future(cycle.receive())
        await _settle()
        assert not waiting.done()
        await cycle.send(START)
        await _settle()
        assert not waiting.done()
        await cycle.send({"type": "http.response.body", "body": b""})
        return await waiting

    assert run(main()) == {"type": "http.disconnect"}


def test_http_disconnect_at_once_after_done():
    cycle, stream = make()

    async def main() -> list[dict[str, Any]]:
        await cycle.send(START)
        await cycle.send({"type": "http.response.body", "body": b""})
        cycle.feed_body(b"late")  # nobody will read it
        return [await cycle.receive(), await cycle.receive()]

    assert run(main()) == [{"type": "http.disconnect"}] * 2
    assert cycle.body == []


def test_http_disconnect_after_disconnect_even_with_body_buffered():
    cycle, stream = make()
    cycle.feed_body(b"x")
    cycle.disconnect()
    assert run(cycle.receive()) == {"type": "http.disconnect"}
    assert cycle.feed_body(b"more") and cycle.body == [b"x"]  # nothing more is buffered


def test_disconnect_wakes_a_waiting_receive():
    cycle, stream = make()

    async def main() -> dict[str, Any]:
        waiting = asyncio.ensure_future(cycle.receive())
        await _settle()
        assert not waiting.done()
        cycle.disconnect()
        return await waiting

    assert run(main()) == {"type": "http.disconnect"}


def test_reading_pauses_above_high_water_and_resumes_when_drained():
    cycle, stream = make()
    assert cycle.feed_body(b"x" * HIGH_WATER)
    assert stream.calls == []  # at the mark: still reading
    cycle.feed_body(b"y")
    assert stream.calls == [("pause_reading",)]
    cycle.feed_body(b"z")
    assert stream.calls == [("pause_reading",)]  # once
    message = run(cycle.receive())
    assert message["body"] == b"x" * HIGH_WATER + b"yz" and message["more_body"]
    assert stream.calls == [("pause_reading",), ("resume_reading",)]
    assert cycle.body_size == 0 and not cycle.body_paused


def test_pause_and_resume_repeat():
    cycle, stream = make()
    for _ in range(3):
        cycle.feed_body(b"x" * (HIGH_WATER + 1))
        run(cycle.receive())
    assert stream.names() == ["pause_reading", "resume_reading"] * 3


def test_reading_resumes_when_the_last_chunk_is_taken_while_paused():
    cycle, stream = make()
    cycle.feed_body(b"x" * (HIGH_WATER + 1))
    cycle.end_body()
    assert run(cycle.receive())["more_body"] is False
    assert stream.names() == ["pause_reading", "resume_reading"]


def test_feed_body_is_false_past_the_limit_and_buffers_nothing():
    cycle, stream = make(body_limit=10)
    assert cycle.feed_body(b"x" * 6)
    assert cycle.feed_body(b"x" * 4)  # exactly at the limit
    assert not cycle.feed_body(b"x")
    assert cycle.received == 11
    assert cycle.body_size == 10 and cycle.body == [b"x" * 6, b"x" * 4]


# ---- 100 Continue ----------------------------------------------------------------------------


def test_expect_continue_sends_100_on_the_first_receive_only():
    cycle, stream = make(expect_continue=True)

    async def main() -> None:
        cycle.feed_body(b"a")
        await cycle.receive()
        cycle.feed_body(b"b")
        await cycle.receive()

    run(main())
    assert stream.names() == ["send_continue"]
    assert cycle.request.keep_alive


def test_expect_continue_answered_without_reading_closes_after_the_response():
    cycle, stream = make(expect_continue=True)

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 417})
        await send({"type": "http.response.body", "body": b""})

    run_app(cycle, app)
    assert "send_continue" not in stream.names()
    assert cycle.request.keep_alive is False


def test_expect_continue_with_the_body_already_complete_sends_no_100():
    cycle, stream = make(expect_continue=True)
    cycle.end_body()
    run(cycle.receive())
    assert stream.calls == []


def test_expect_continue_after_the_peer_has_gone_sends_no_100():
    cycle, stream = make(expect_continue=True)
    cycle.disconnect()
    assert run(cycle.receive()) == {"type": "http.disconnect"}
    assert stream.calls == []


# ---- how the app ends ------------------------------------------------------------------------


def test_app_raising_before_the_response_gets_a_500(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        raise ValueError("boom")

    run_app(cycle, app)
    assert stream.calls == [("send_error", 500)]
    assert (cycle.status, cycle.state) == (500, Response.DONE)
    [record] = errors(caplog)
    assert "Exception in ASGI application" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is ValueError
    assert stream.finished == 1


def test_app_raising_after_the_head_closes_the_connection(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        await send(START)
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        raise ValueError("boom")

    run_app(cycle, app)
    assert stream.names() == ["send_start", "send_body", "close_connection"]
    assert cycle.status == 200  # the status that went out
    assert len(errors(caplog)) == 1
    assert stream.finished == 1


def test_app_returning_without_a_response_gets_a_500(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        return None

    run_app(cycle, app)
    assert stream.calls == [("send_error", 500)]
    assert [r.getMessage() for r in errors(caplog)] == ["ASGI callable returned without starting response."]


def test_app_returning_mid_response_closes_the_connection(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        await send(START)

    run_app(cycle, app)
    assert stream.names() == ["send_start", "close_connection"]
    assert [r.getMessage() for r in errors(caplog)] == ["ASGI callable returned without completing response."]


def test_app_returning_in_trailers_closes_the_connection(caplog):
    cycle, stream = make(extensions=dict(TRAILERS_EXT))

    async def app(scope, receive, send):
        await send({**START, "trailers": True})
        await send({"type": "http.response.body", "body": b""})

    run_app(cycle, app)
    assert stream.names()[-1] == "close_connection"
    assert [r.getMessage() for r in errors(caplog)] == ["ASGI callable returned without completing response."]


def test_a_non_none_return_is_logged(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        await send(START)
        await send({"type": "http.response.body", "body": b""})
        return 42

    run_app(cycle, app)
    assert stream.names() == ["send_start", "send_body"]
    assert [r.getMessage() for r in errors(caplog)] == ["ASGI callable should return None, but returned 42."]


def test_a_failing_stream_while_ending_is_logged_and_app_finished_still_called(caplog):
    cycle, stream = make()
    stream.fail_on_error = True

    async def app(scope, receive, send):
        return None

    run_app(cycle, app)
    messages = [r.getMessage() for r in errors(caplog)]
    assert "Error while ending a failed response" in messages
    assert stream.finished == 1


# ---- the peer gone, write back-pressure, the server's own status ------------------------------


def test_sends_after_the_peer_has_gone_are_dropped_silently(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        cycle.disconnect()
        await send(START)
        await send({"type": "http.response.body", "body": b"abc", "more_body": True})
        await send({"type": "http.response.body", "body": b"d"})

    run_app(cycle, app)
    assert stream.calls == []
    assert cycle.state is Response.DONE and cycle.sent == 4
    assert errors(caplog) == []
    assert stream.finished == 1


def test_returning_without_a_response_after_the_peer_has_gone_is_quiet(caplog):
    cycle, stream = make()

    async def app(scope, receive, send):
        assert await receive() == {"type": "http.disconnect"}

    cycle.disconnect()
    run_app(cycle, app)
    assert stream.calls == []
    assert errors(caplog) == []
    assert cycle.state is Response.DONE and stream.finished == 1


def test_a_message_after_the_last_body_once_the_peer_has_gone_does_not_close_again():
    cycle, stream = make()

    async def main() -> None:
        await cycle.send(START)
        await cycle.send({"type": "http.response.body", "body": b""})
        cycle.disconnect()
        with pytest.raises(RuntimeError):
            await cycle.send({"type": "http.response.body", "body": b""})

    run(main())
    assert "close_connection" not in stream.names()


def test_send_awaits_drain_while_writing_is_paused():
    cycle, stream = make()

    async def main() -> None:
        stream.paused = True
        await cycle.send(START)
        stream.paused = True
        await cycle.send({"type": "http.response.body", "body": b"x"})

    run(main())
    assert stream.names() == ["drain", "send_start", "drain", "send_body"]


def test_send_does_not_drain_once_the_peer_has_gone():
    cycle, stream = make()
    stream.paused = True
    cycle.disconnect()
    run(cycle.send(START))
    assert stream.calls == []


def test_the_status_the_server_set_is_kept():
    cycle, stream = make()
    cycle.status = 408  # the server answered for the app (a stalled body)

    async def app(scope, receive, send):
        await send(START)
        await send({"type": "http.response.body", "body": b""})

    run_app(cycle, app)
    assert stream.calls[0][:2] == ("send_start", 408)
    assert cycle.status == 408


async def _app_ok(scope, receive, send):
    await send(START)
    await send({"type": "http.response.body", "body": b""})


async def _app_raises_early(scope, receive, send):
    raise ValueError


async def _app_raises_late(scope, receive, send):
    await send(START)
    raise ValueError


async def _app_returns_nothing(scope, receive, send):
    pass


async def _app_returns_value(scope, receive, send):
    return "value"


async def _app_misuses_send(scope, receive, send):
    await send({"type": "http.response.body"})


@pytest.mark.parametrize(
    "app",
    [
        _app_ok,
        _app_raises_early,
        _app_raises_late,
        _app_returns_nothing,
        _app_returns_value,
        _app_misuses_send,
    ],
)
@pytest.mark.parametrize("gone", [False, True])
def test_app_finished_is_called_exactly_once(app, gone):
    cycle, stream = make()
    if gone:
        cycle.disconnect()
    run_app(cycle, app)
    assert stream.finished == 1
    assert cycle.state is Response.DONE
    # the server answers at most once for the app, never when the peer has gone
    answers = [name for name in stream.names() if name in ("send_error", "close_connection")]
    assert len(answers) <= (0 if gone else 1)
