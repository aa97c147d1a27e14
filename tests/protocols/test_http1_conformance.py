"""HTTP/1.1 request lines each core (httptools', h11's) refuses or serves (RFC 9110 9.1, RFC 9112 2.3): an unknown
method is 501 and a malformed request line 400; HTTP/1.x is served as HTTP/1.1 whatever x>1 is,
and any other major version is 505. Each request is fed whole, byte by byte, and after a good
request in the same piece (pipelined)."""

from __future__ import annotations

import pytest
from conftest import HEAD_LIMITS

from asgihost.protocols.events import EndOfMessage, Malformed, Request
from asgihost.protocols.http1 import H1Connection
from asgihost.protocols.http1_h11 import H11Connection
from asgihost.protocols.http1_head import KNOWN_METHODS

GOOD = b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"

H1Core = H1Connection | H11Connection


@pytest.fixture(params=[H1Connection, H11Connection], ids=["httptools", "h11"])
def Core(request: pytest.FixtureRequest) -> type[H1Core]:
    """Each HTTP/1.1 core: the same bytes get the same events from both."""
    return request.param


def head(line: bytes) -> bytes:
    return line + b"\r\nHost: x\r\n\r\n"


def feed(Core: type[H1Core], data: bytes, how: str) -> list[object]:
    conn = Core(HEAD_LIMITS)
    if how == "whole":
        return list(conn.receive_data(data))
    if how == "bytes":
        events: list[object] = []
        for i in range(len(data)):
            events += conn.receive_data(data[i : i + 1])
        return events
    events = list(conn.receive_data(GOOD + data))  # pipelined behind a good request
    assert type(events[0]) is Request and events[0].target == b"/ok"
    assert type(events[1]) is EndOfMessage
    return events[2:]


def outcome(Core: type[H1Core], data: bytes, how: str) -> int | Request:
    """The status of the refusal, or the request."""
    events = feed(Core, data, how)
    assert events, "no answer"
    first = events[0]
    if type(first) is Malformed:
        assert len(events) == 1
        return first.error.status_hint
    assert type(first) is Request
    return first


HOW = ["whole", "bytes", "pipelined"]


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize(
    "line",
    [
        b"FOO / HTTP/1.1",  # a token llhttp does not know
        b"get / HTTP/1.1",  # methods are case-sensitive: not GET
        b"GETX / HTTP/1.1",  # a known method's prefix, longer
        b"FOO-BAR_1.~ * HTTP/1.1",  # every kind of tchar
        b"BREW /pot HTTP/1.0",
        b"DESCRIBE / HTTP/1.1",  # RTSP's: llhttp refuses it on an HTTP request line
    ],
)
def test_an_unknown_method_is_501(Core, line, how):
    assert outcome(Core, head(line), how) == 501


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("method", [b"PURGE", b"LINK", b"SOURCE", b"QUERY", b"M-SEARCH"])
def test_a_method_llhttp_parses_goes_to_the_app_as_in_uvicorn(Core, method, how):
    request = outcome(Core, head(method + b" / HTTP/1.1"), how)
    assert request.method == method.decode()


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize(
    "line",
    [
        b"G@T / HTTP/1.1",  # not a token
        b"GE(T / HTTP/1.1",
        b"GE\x00T / HTTP/1.1",
        b"F\xc3\x96O / HTTP/1.1",
        b" / HTTP/1.1",  # no method
        b"NOT HTTP AT ALL",  # a token, but no request line
        b"FOO /a b HTTP/1.1",
        b"FOO / HTTP/1.1 ",
        b"FOO / http/1.1",
        b"FOO /",
    ],
)
def test_a_malformed_method_or_request_line_is_400(Core, line, how):
    assert outcome(Core, head(line), how) == 400


def test_a_method_that_never_ends_is_400_at_the_request_line_limit(Core):
    conn = Core(HEAD_LIMITS)
    assert conn.receive_data(b"FOO") == []
    events = conn.receive_data(b"O" * 9000)
    assert [type(e) for e in events] == [Malformed] and events[0].error.status_hint == 400
    assert conn.receive_data(b" / HTTP/1.1\r\n") == []  # nothing more is read


def test_a_refused_method_waits_for_its_request_line_under_the_head_phase(Core):
    conn = Core(HEAD_LIMITS)
    assert conn.receive_data(b"FOO / HTTP/1") == []
    assert conn.phase != 0  # a head in progress: the transport's head timeout runs
    [refused] = conn.receive_data(b".1\r\n")
    assert type(refused) is Malformed and refused.error.status_hint == 501
    assert conn.receive_data(b"Host: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n") == []


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("method", sorted(KNOWN_METHODS))
def test_every_known_method_is_served(Core, method, how):
    request = outcome(Core, head(method + b" / HTTP/1.1"), how)
    if method == b"CONNECT":  # the authority form; the transport answers it
        request = outcome(Core, head(b"CONNECT x:443 HTTP/1.1"), how) if how != "pipelined" else request
    if isinstance(request, Request):
        assert request.method == method.decode()
    else:  # CONNECT with an origin-form target: llhttp's 400, not an unknown method
        assert method == b"CONNECT" and request == 400


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("minor", [b"2", b"5", b"9"])
def test_http_1_x_above_1_is_served_as_http_1_1(Core, minor, how):
    request = outcome(Core, head(b"GET / HTTP/1." + minor), how)
    assert isinstance(request, Request)
    assert request.http_version == "1.1" and request.keep_alive


def test_http_1_2_keeps_http_1_1_rules(Core):
    """Served as HTTP/1.1: a Host is required, chunked is allowed."""
    assert outcome(Core, b"GET / HTTP/1.2\r\n\r\n", "whole") == 400
    events = feed(
        Core, b"POST / HTTP/1.2\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", "whole"
    )
    assert [type(e).__name__ for e in events] == ["Request", "Data", "EndOfMessage"]


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize(
    "line",
    [
        b"GET / HTTP/2.0",
        b"GET / HTTP/3.0",
        b"GET / HTTP/3",
        b"GET / HTTP/2",
        b"GET / HTTP/9.9",
        b"GET / HTTP/0.9",
        b"GET / HTTP/0.0",
    ],
)
def test_other_versions_are_505(Core, line, how):
    assert outcome(Core, head(line), how) == 505


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize(
    "line", [b"GET / HTTP/1.10", b"GET / HTTP/1x", b"GET / HTTP/1.", b"GET / HTTP/a.1", b"GET / HTTP/"]
)
def test_malformed_versions_are_400(Core, line, how):
    assert outcome(Core, head(line), how) == 400


def test_an_http_0_9_simple_request_is_505(Core):
    assert outcome(Core, b"GET /\r\n\r\n", "whole") == 505


def test_the_known_methods_are_fixed_whatever_clients_send(Core):
    before = dict(KNOWN_METHODS)
    for i in range(100):
        outcome(Core, head(b"X%d / HTTP/1.1" % i), "whole")
    assert KNOWN_METHODS == before


def test_a_refused_method_split_across_reads_after_pipelined_requests_is_found(Core):
    """Reads that end inside request lines, after whole pipelined requests: the refused
    method is still read from where its message starts."""
    conn = Core(HEAD_LIMITS)
    events = conn.receive_data(GOOD + b"GE")
    events += conn.receive_data(b"T /2 HTTP/1.1\r\nHost: x\r\n\r\nFO")
    events += conn.receive_data(b"O / HTTP/1.1\r\n")
    assert [type(e).__name__ for e in events] == ["Request", "EndOfMessage"] * 2 + ["Malformed"]
    assert events[-1].error.status_hint == 501


def test_what_is_kept_of_request_lines_is_bounded():
    # (httptools only, as the next two: what its core keeps to read a method llhttp refuses)
    conn = H1Connection(HEAD_LIMITS)
    small = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    conn.receive_data(b"G")
    for _ in range(2000):  # each read ends inside the next request line
        assert [type(e) for e in conn.receive_data(b"ET / HTTP/1.1\r\nHost: x\r\n\r\nG")] == [
            Request,
            EndOfMessage,
        ]
    assert len(conn._carry) <= conn._max_head + len(small)


def test_a_request_line_kept_across_reads_is_let_go_once_its_request_has_ended():
    # The start of a read is kept while a request line is cut by the read's end (a method llhttp
    # refuses is answered once the line is whole); a connection gone idle keeps nothing of it.
    conn = H1Connection(HEAD_LIMITS)
    assert conn.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HT") != []
    assert len(conn.receive_data(b"TP/1.1\r\nHost: a\r\n\r\n")) == 2  # the request, its end
    assert conn._carry == b""
    assert conn.receive_data(b"GET /y HTTP/1.1\r\nHost: a\r\n\r\n")[0].target == b"/y"


def test_a_read_larger_than_a_head_is_not_kept_for_a_request_line():
    conn = H1Connection(HEAD_LIMITS)
    pipelined = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n" * 2000 + b"GET /x HT"
    assert len(conn.receive_data(pipelined)) == 4000
    assert conn._carry == b""  # (bounded: past a head's size the carry is given up)
    assert conn.receive_data(b"TP/1.1\r\nHost: a\r\n\r\n")[0].target == b"/x"
