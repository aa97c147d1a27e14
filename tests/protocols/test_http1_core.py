"""The HTTP/1.1 cores (httptools', h11's) driven byte for byte: whole, by the byte, with trailing bytes."""

from __future__ import annotations

import pytest
from conftest import HEAD_LIMITS

from asgihost.protocols.errors import LocalProtocolError, ProtocolError
from asgihost.protocols.events import Data, EndOfMessage, Malformed, Request, Upgrade
from asgihost.protocols.http1 import H1Connection
from asgihost.protocols.http1_h11 import H11Connection
from asgihost.protocols.http1_response import DefaultHeaders, simple_response

GET = b"GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Thing: Yes\r\n\r\n"
POST_CL = b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
POST_CHUNKED = (
    b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
)

H1Core = H1Connection | H11Connection


@pytest.fixture(params=[H1Connection, H11Connection], ids=["httptools", "h11"])
def Core(request: pytest.FixtureRequest) -> type[H1Core]:
    """Each HTTP/1.1 core: the same bytes get the same events from both."""
    return request.param


def feed(Core: type[H1Core], data: bytes, step: int | None = None) -> list:
    conn = Core(HEAD_LIMITS)
    if step is None:
        return conn.receive_data(data)
    events = []
    for i in range(0, len(data), step):
        events += conn.receive_data(data[i : i + step])
    return events


def body_of(events: list) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, Data))


@pytest.mark.parametrize("step", [None, 1, 7])
def test_get_request_event(Core, step):
    events = feed(Core, GET, step)
    request = events[0]
    assert isinstance(request, Request)
    assert request.method == "GET"
    assert request.target == b"/a/b?x=1"
    assert request.http_version == "1.1"
    assert request.keep_alive is True
    assert request.headers == [(b"host", b"example.com"), (b"x-thing", b"Yes")]
    assert isinstance(events[-1], EndOfMessage)
    assert len(events) == 2


@pytest.mark.parametrize("step", [None, 1, 5])
@pytest.mark.parametrize("raw", [POST_CL, POST_CHUNKED])
def test_bodies_whole_and_in_pieces(Core, raw, step):
    events = feed(Core, raw, step)
    assert isinstance(events[0], Request)
    assert isinstance(events[-1], EndOfMessage)
    assert body_of(events) in (b"hello", b"abcde")


def test_pipelined_requests_in_one_feed_keep_order(Core):
    events = feed(Core, GET + POST_CL + GET.replace(b"/a/b", b"/third"))
    requests = [e for e in events if isinstance(e, Request)]
    assert [r.target for r in requests] == [b"/a/b?x=1", b"/up", b"/third?x=1"]
    assert [r.stream_id for r in requests] == [1, 2, 3]


def test_trailing_partial_request_waits_for_more(Core):
    conn = Core(HEAD_LIMITS)
    events = conn.receive_data(GET + b"GET /next HTTP/1.1\r\nHo")
    assert [type(e) for e in events] == [Request, EndOfMessage]
    events = conn.receive_data(b"st: h\r\n\r\n")
    assert events[0].target == b"/next"


def test_expect_continue_only_for_http11(Core):
    raw = b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"
    assert feed(Core, raw)[0].expect_continue is True
    raw10 = raw.replace(b"HTTP/1.1", b"HTTP/1.0")
    assert feed(Core, raw10)[0].expect_continue is False


def test_http10_is_not_keep_alive_unless_asked(Core):
    assert feed(Core, b"GET / HTTP/1.0\r\n\r\n")[0].keep_alive is False
    assert feed(Core, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")[0].keep_alive is True
    assert feed(Core, b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")[0].keep_alive is False


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_malformed_input_is_one_final_event(Core, raw):
    conn = Core(HEAD_LIMITS)
    events = conn.receive_data(raw)
    assert isinstance(events[-1], Malformed)
    assert isinstance(events[-1].error, ProtocolError)
    assert events[-1].error.status_hint == 400
    assert conn.receive_data(GET) == []  # nothing more is parsed


def test_upgrade_hands_over_the_bytes_after_the_request(Core):
    conn = Core(HEAD_LIMITS)
    raw = b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x00"
    events = conn.receive_data(raw)
    assert [type(e) for e in events] == [Request, EndOfMessage, Upgrade]
    assert events[0].keep_alive is False  # an upgrade not taken is answered, then the connection closes
    assert events[2].trailing == b"\x81\x00"
    assert conn.receive_data(b"more") == []


# ---- responses ---------------------------------------------------------------------------------

DEFAULTS = DefaultHeaders(date=b"date: X\r\n", server=b"server: asgihost\r\n", extra=b"x-extra: 1\r\n")


def request(method="GET", version="1.1", keep_alive=True) -> Request:
    return Request(1, method, b"/", [], version, keep_alive, False)


def test_head_with_content_length_is_held_until_the_body(Core):
    conn = Core(HEAD_LIMITS)
    assert conn.start_response(request(), 200, [(b"content-length", b"2")], DEFAULTS) == b""
    assert conn.head_written is False
    out = conn.send_body(b"hi", False)
    assert out == (
        b"HTTP/1.1 200 OK\r\ndate: X\r\nserver: asgihost\r\nx-extra: 1\r\ncontent-length: 2\r\n\r\nhi"
    )
    assert conn.head_written is True
    assert conn.keep_alive is True


def test_no_length_means_chunked_on_http11(Core):
    conn = Core(HEAD_LIMITS)
    head = conn.start_response(request(), 200, [], DEFAULTS)
    assert b"transfer-encoding: chunked\r\n" in head
    assert conn.send_body(b"abc", True) == b"3\r\nabc\r\n"
    assert conn.send_body(b"", True) == b""
    assert conn.send_body(b"", False) == b"0\r\n\r\n"


def test_large_pieces_are_not_copied_into_their_framing(Core):
    big = bytes(range(256)) * 64  # 16 KiB: COPY_LIMIT
    conn = Core(HEAD_LIMITS)
    conn.start_response(request(), 200, [], DEFAULTS)
    out = conn.send_body(big, True)
    assert out == (b"4000\r\n", big, b"\r\n") and out[1] is big
    last = conn.send_body(big, False)
    assert b"".join(last) == b"4000\r\n" + big + b"\r\n0\r\n\r\n"
    assert conn.send_body(bytearray(big), True) == b"4000\r\n" + big + b"\r\n"  # copied: it may change

    conn = Core(HEAD_LIMITS)
    conn.start_response(request(), 200, [(b"content-length", b"%d" % len(big))], DEFAULTS)
    head, body = conn.send_body(big, False)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\n\r\n") and body is big


def test_no_length_on_http10_closes_instead_of_chunking(Core):
    conn = Core(HEAD_LIMITS)
    head = conn.start_response(request(version="1.0", keep_alive=True), 200, [], DEFAULTS)
    assert b"chunked" not in head
    assert b"connection: close\r\n" in head
    assert conn.keep_alive is False
    assert conn.send_body(b"raw", False) == b"raw"


def test_http10_keep_alive_is_acknowledged(Core):
    conn = Core(HEAD_LIMITS)
    conn.start_response(request(version="1.0"), 200, [(b"content-length", b"0")], DEFAULTS)
    assert b"connection: keep-alive\r\n" in conn.send_body(b"", False)


def test_head_request_sends_no_body(Core):
    conn = Core(HEAD_LIMITS)
    conn.start_response(request("HEAD"), 200, [(b"content-length", b"10")], DEFAULTS)
    out = conn.send_body(b"0123456789", False)
    assert out.endswith(b"content-length: 10\r\n\r\n")


def test_app_server_and_date_headers_replace_defaults(Core):
    conn = Core(HEAD_LIMITS)
    conn.start_response(request(), 204, [(b"Server", b"mine"), (b"date", b"then")], DEFAULTS)
    out = conn.send_body(b"", False)
    assert out.count(b"erver:") == 1 and b"Server: mine" in out
    assert out.count(b"date:") == 1 and b"date: then" in out


def test_connection_close_from_app_ends_keep_alive(Core):
    conn = Core(HEAD_LIMITS)
    conn.start_response(request(), 200, [(b"connection", b"close"), (b"content-length", b"0")], DEFAULTS)
    out = conn.send_body(b"", False)
    assert out.count(b"connection: close") == 1
    assert conn.keep_alive is False


@pytest.mark.parametrize(
    "header",
    [
        (b"x-a", b"1\r\nInjected: yes"),
        (b"x-a", b"nul\x00"),
        (b"x-a\r\n", b"1"),
        (b"bad name", b"1"),
        (b"", b"1"),
        (b"x-a", "text"),
        (b"content-length", b"-1"),
        (b"transfer-encoding", b"gzip"),
    ],
)
def test_invalid_response_headers_are_refused(Core, header):
    conn = Core(HEAD_LIMITS)
    with pytest.raises(LocalProtocolError):
        conn.start_response(request(), 200, [header], DEFAULTS)
    assert conn.head_written is False


def test_content_length_is_enforced_both_ways(Core):
    conn = Core(HEAD_LIMITS)
    conn.start_response(request(), 200, [(b"content-length", b"3")], DEFAULTS)
    with pytest.raises(LocalProtocolError, match="longer"):
        conn.send_body(b"four", False)
    assert conn.head_written is False  # a 500 can still replace it
    conn = Core(HEAD_LIMITS)
    conn.start_response(request(), 200, [(b"content-length", b"3")], DEFAULTS)
    with pytest.raises(LocalProtocolError, match="shorter"):
        conn.send_body(b"ab", False)


def test_unknown_status_code_gets_a_line_and_bad_ones_are_refused(Core):
    conn = Core(HEAD_LIMITS)
    conn.start_response(request(), 599, [(b"content-length", b"0")], DEFAULTS)
    assert conn.send_body(b"", False).startswith(b"HTTP/1.1 599 \r\n")
    with pytest.raises(LocalProtocolError):
        Core(HEAD_LIMITS).start_response(request(), 42, [], DEFAULTS)


def test_simple_response(Core):
    out = simple_response(400, b"Bad Request", DEFAULTS)
    assert out.startswith(b"HTTP/1.1 400 Bad Request\r\ndate: X\r\n")
    assert out.endswith(b"content-length: 11\r\nconnection: close\r\n\r\nBad Request")


def test_an_apps_keep_alive_becomes_close_when_the_connection_closes(Core):
    conn = Core(HEAD_LIMITS)
    head = conn.start_response(request(version="1.0"), 200, [(b"Connection", b"keep-alive")], DEFAULTS)
    head += conn.send_body(b"x", False)
    assert head.count(b"onnection") == 1
    assert b"Connection: close\r\n" in head


def test_remembered_header_pairs_are_checked_and_framed_as_the_first_time(Core):
    length = (b"Content-Length", b"2")
    kind = (b"X-Kind", b"same")
    for _ in range(2):  # the second response takes every pair from what the first remembered
        conn = Core(HEAD_LIMITS)
        head = conn.start_response(request(), 200, [kind, length, length], DEFAULTS)
        assert head == b""  # held back: the length is known
        out = conn.send_body(b"ok", False)
        assert out.endswith(b"X-Kind: same\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok")
        with pytest.raises(LocalProtocolError, match="longer"):
            conn = Core(HEAD_LIMITS)
            conn.start_response(request(), 200, [length], DEFAULTS)
            conn.send_body(b"abc", False)
        with pytest.raises(LocalProtocolError, match="Content-Length"):
            Core(HEAD_LIMITS).start_response(request(), 200, [length, (b"content-length", b"3")], DEFAULTS)
        with pytest.raises(LocalProtocolError, match="Content-Length"):
            Core(HEAD_LIMITS).start_response(request(), 200, [(b"content-length", b"3"), length], DEFAULTS)
