"""The two HTTP/1.1 cores (httptools' and h11's) give the same events for the same bytes: whole,
byte by byte, and in pieces of 7. Where they differ and both answers are RFC-correct, the
difference is listed in ``DIFFERENT`` with its reason; h11's limit on incomplete events and
the methods the h11 core serves are tested here too."""

from __future__ import annotations

import httptools
import pytest
from conftest import HEAD_LIMITS

from asgihost.config.model import Limits
from asgihost.plan import head_limits
from asgihost.protocols.events import Data, EndOfMessage, Malformed, Request, Upgrade
from asgihost.protocols.http1 import H1Connection
from asgihost.protocols.http1_h11 import H11Connection
from asgihost.protocols.http1_head import SERVED_METHODS

H = b"Host: a\r\n"
CHUNKED = b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
SAME = [
    b"GET /a?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Thing: Yes\r\n\r\n",
    b"POST /up HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhello",
    CHUNKED + b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\nGET / HTTP/1.1\r\n" + H + b"\r\n",
    b"GET / HTTP/1.0\r\n\r\nGET / HTTP/1.1\r\n" + H + b"\r\n",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.1\r\n" + H + b"\r\n",
    b"CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\nabc",
    b"CONNECT x:1 HTTP/1.1\r\n" + H + b"Content-Length: 2\r\n\r\nabcd",
    b"CONNECT / HTTP/1.1\r\n" + H + b"\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"Connection: upgrade\r\nUpgrade: foo\r\nContent-Length: 3\r\n\r\nabcdef",
    b"GET / HTTP/1.1\r\n" + H + b"Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x00",
    b"GET / HTTP/1.1\r\n"
    + H
    + b"Connection: upgrade\r\nUpgrade: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"\r\n\r\nGET / HTTP/1.1\r\n" + H + b"\r\n",
    b"GET / HTTP/1.1\nHost: h\n\n",  # bare LF: 400
    b"GET / HTTP/1.1\r\n" + H + b" folded\r\n\r\n",  # obs-fold: 400 (RFC 9112 5.2 allows it)
    b"GET / HTTP/1.1\r\n" + H + b"X:  a b  \r\nY:\ta\t\r\nZ:\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"Content-Length: 01\r\n\r\nx",
    b"GET / HTTP/1.1\r\n" + H + b"Content-Length: 1, 1\r\n\r\nx",
    b"GET / HTTP/1.1\r\n" + H + b"Content-Length: 1\r\nContent-Length: 1\r\n\r\nx",
    b"GET / HTTP/1.1\r\n" + H + b"Content-Length: +1\r\n\r\nx",
    b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n",
    b"GET * HTTP/1.1\r\n" + H + b"\r\n",
    b"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
    b"GET / HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: \r\n\r\n",
    b"GET / HTTP/1.2\r\n" + H + b"\r\n",
    b"GET / HTTP/2.0\r\n" + H + b"\r\n",
    b"GET /\r\n\r\n",
    b"GET / HTTP/1.10\r\n" + H + b"\r\n",
    b"DESCRIBE / HTTP/1.1\r\n" + H + b"\r\n",
    b"GET /a b HTTP/1.1\r\n" + H + b"\r\n",
    b"GET /\x7f HTTP/1.1\r\n" + H + b"\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"X: a\x00b\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"X: a\x01b\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"X: caf\xc3\xa9\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"X : a\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"X: a\rb\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
    CHUNKED + b"3\r\nabcX\r\n0\r\n\r\n",
    CHUNKED + b"zz\r\n",
    CHUNKED + b"3 \r\nabc\r\n0\r\n\r\n",  # h11 alone takes BWS after a size, 20 hex digits, bare LFs
    CHUNKED + b"f" * 17 + b"\r\nabc\r\n",
    CHUNKED + b"3\nabc\n0\n\n",
    CHUNKED + b"3\r\nabc\r\n0\nT: 1\r\n\r\n",
    CHUNKED + b"3;\x01\r\nabc\r\n0\r\n\r\n",
    CHUNKED + b"3\r\nabc\r\n0\r\nContent-Length: 9\r\n\r\n",
    CHUNKED + b"3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\n" + H + b"\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"Content-Length: 18446744073709551616\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: , chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked,\r\n\r\n0\r\n\r\n",
    CHUNKED + b"0\r\nT: " + b"x" * 9000 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"X-Forwarded-For: 1.2.3.4\r\nExpect: 100-continue\r\n\r\n",
    b"POST / HTTP/1.0\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 1\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"\r\nGET / HTTP/1.1\r\n" + H + b"\r\nFOO / HTTP/1.1\r\n" + H + b"\r\n",
    b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\n\r\nabcGET /2 HTTP/1.1\r\n" + H + b"\r\nGET /3 HT",
    b"GET / HTTP/1.1\r\n" + H + b"X: y\r\n" * 99 + b"\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"X: y\r\n" * 100 + b"\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"X: " + b"y" * 8200 + b"\r\n\r\n",
    b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n",
    b"GET /" + b"a" * 8140 + b" HTTP/1.1\r\n" + H + b"\r\n",
    b"GET /" + b"a" * 8150 + b" HTTP/1.1\r\n" + H + b"\r\n",
    b"FOO" + b"O" * 9000,
]
# Where the cores answer differently, and why both answers are right.
DIFFERENT = {
    # RFC 9112 3: a recipient MAY parse a request line on whitespace boundaries (llhttp) or refuse it (h11).
    b"GET  / HTTP/1.1\r\n" + H + b"\r\n": "400 from h11",
}


def events(
    core: type[H1Connection | H11Connection], data: bytes, step: int | None
) -> list[tuple[object, ...]]:
    conn = core(HEAD_LIMITS)
    found = []
    pieces = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    for piece in pieces:
        found += conn.receive_data(piece)
    seen: list[tuple[object, ...]] = []
    for event in found:
        if type(event) is Request:
            seen.append((Request, *(getattr(event, name) for name in Request.__slots__)))
        elif type(event) is Data:
            if seen and seen[-1][0] is Data:  # where pieces split a body is the reads', not the core's
                seen[-1] = (Data, seen[-1][1] + event.data)  # type: ignore[operator]
            else:
                seen.append((Data, event.data))
        elif type(event) is Malformed:
            seen.append((Malformed, event.error.status_hint))
        elif type(event) is Upgrade:
            seen.append((Upgrade, event.trailing))
        else:
            assert type(event) is EndOfMessage
            seen.append((EndOfMessage, event.stream_id))
    return seen + [("phase", conn.phase)]


@pytest.mark.parametrize("step", [None, 1, 7])
@pytest.mark.parametrize("data", SAME, ids=range(len(SAME)))
def test_both_cores_give_the_same_events(data, step):
    assert events(H11Connection, data, step) == events(H1Connection, data, step)


@pytest.mark.parametrize("data", list(DIFFERENT), ids=list(DIFFERENT.values()))
def test_the_listed_differences_are_still_differences(data):
    # When one goes (an h11 release as strict as llhttp), it moves to SAME.
    assert events(H11Connection, data, None) != events(H1Connection, data, None)


def test_the_h11_core_serves_the_methods_llhttp_parses():
    class Counter:
        def __init__(self) -> None:
            self.done = 0

        def on_message_complete(self) -> None:
            self.done += 1

    candidates = sorted(SERVED_METHODS) + [b"PRI", b"DESCRIBE", b"SETUP", b"FLUSH", b"FOO", b"get"]
    parsed = set()
    for method in candidates:
        counter = Counter()
        parser = httptools.HttpRequestParser(counter)
        try:
            target = b"x:1" if method == b"CONNECT" else b"/"
            parser.feed_data(method + b" " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        except httptools.HttpParserUpgrade:
            counter.done = 1
        except httptools.HttpParserError:
            pass
        if counter.done:
            parsed.add(method)
    assert parsed == SERVED_METHODS


def limits(size: int) -> object:
    return head_limits(Limits(h11_max_incomplete_event_size=size))


def test_a_head_over_h11s_incomplete_event_size_is_431_in_one_read_or_many():
    head = b"GET / HTTP/1.1\r\n" + H + b"X: " + b"y" * 1000 + b"\r\n\r\n"
    for step in (None, 100):
        conn = H11Connection(limits(1000))  # type: ignore[arg-type]
        pieces = [head] if step is None else [head[i : i + step] for i in range(0, len(head), step)]
        found = [event for piece in pieces for event in conn.receive_data(piece)]
        assert [type(event) for event in found] == [Malformed]
        assert found[0].error.status_hint == 431
    conn = H11Connection(limits(2000))  # type: ignore[arg-type]
    assert type(conn.receive_data(head)[0]) is Request


def test_a_chunk_line_or_trailers_over_h11s_incomplete_event_size_are_431():
    for tail in (b"1;" + b"e" * 1200, b"0\r\nT: " + b"t" * 1200):
        conn = H11Connection(limits(1000))  # type: ignore[arg-type]
        found = conn.receive_data(CHUNKED)
        found += conn.receive_data(tail)
        assert [type(event) for event in found] == [Request, Malformed]
        assert found[-1].error.status_hint == 431
        assert conn.receive_data(b"GET / HTTP/1.1\r\n" + H + b"\r\n") == []


def test_thousands_of_pipelined_requests_in_one_read():
    one = b"GET / HTTP/1.1\r\n" + H + b"\r\nPOST /b HTTP/1.1\r\n" + H + b"Content-Length: 1\r\n\r\nx"
    data = one * 2000 + b"GET /last HT"
    found = events(H11Connection, data, None)
    assert len(found) == 2000 * 5 + 1 and found == events(H1Connection, data, None)
