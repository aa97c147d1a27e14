"""Hostile HTTP/1.1: a corpus of raw malformed, ambiguous and abusive requests, each with the
exact status the server must answer (RFC 9112 and RFC 9110), against the real server (run in
the test process by conftest's ``in_process_servers``), with each HTTP/1.1 core (httptools', and
h11's: ``--http h11``).

Every case opens a new connection, sends its bytes and reads until the server closes. A
rejected request (4xx/5xx) must get exactly one response, say ``connection: close`` and be
followed by the server closing the connection (EOF or reset, never our read timeout); nothing
smuggled inside it may be answered. After every case a plain ``GET /`` on a new connection
must still be served. One server per group of cases (module scope): defaults, lowered limits,
short timeouts. At the end no server log may hold a traceback (the app, tests/apps/
hostile_apps.py, never raises, so any traceback is the server's own).
"""

from __future__ import annotations

import concurrent.futures
import functools
import re
import select
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import pytest
from conftest import InProcessServer, in_process_servers

APP = "hostile_apps:app"
READ_TIMEOUT = 5.0  # a rejected request must be answered and closed well before this
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"  # must never be answered nor logged

# Lowered limits of the "limited" server.
LINE = 256
FIELDS = 10
FIELD_SIZE = 128
BODY = 1000
# Defaults (no flags).
DEFAULT_LINE = 8192
DEFAULT_FIELDS = 100
DEFAULT_FIELD_SIZE = 8192


# ---- servers ---------------------------------------------------------------------------------


def _start(*flags: str) -> Iterator[InProcessServer]:
    with in_process_servers() as start:
        yield start(APP, *flags)


@pytest.fixture(scope="module", params=[(), ("--http", "h11")], ids=["httptools", "h11"])
def core(request: pytest.FixtureRequest) -> tuple[str, ...]:
    """The flags of each HTTP/1.1 core: every case is answered alike by both."""
    return request.param


@pytest.fixture(scope="module")
def default_server(core: tuple[str, ...]) -> Iterator[InProcessServer]:
    yield from _start(*core)


@pytest.fixture(scope="module")
def limited_server(core: tuple[str, ...]) -> Iterator[InProcessServer]:
    yield from _start(
        *core,
        "--limit-request-line",
        str(LINE),
        "--limit-request-fields",
        str(FIELDS),
        "--limit-request-field-size",
        str(FIELD_SIZE),
        "--limit-body-size",
        str(BODY),
    )


@pytest.fixture(scope="module")
def slow_server(core: tuple[str, ...]) -> Iterator[InProcessServer]:
    yield from _start(
        *core,
        "--timeout-request-head",
        "0.5",
        "--timeout-request-body",
        "0.5",
        "--timeout-keep-alive",
        "1",
    )


# ---- the wire ----------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    head: bytes  # status line and header lines, without the blank line
    body: bytes

    def header(self, name: bytes) -> list[bytes]:
        out = []
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name:
                out.append(value.strip())
        return out


@dataclass
class Reply:
    responses: list[Response] = field(default_factory=list)
    rest: bytes = b""  # bytes after the last complete response
    closed: bool = False  # the server closed (EOF or reset) before our deadline
    elapsed: float = 0.0
    raw: bytes = b""


_STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3}) [^\r\n]*")


def parse_responses(data: bytes) -> tuple[list[Response], bytes]:
    """The complete responses at the start of ``data`` (each framed by Content-Length, as all of
    this server's and this app's are) and the bytes left over."""
    responses = []
    while True:
        end = data.find(b"\r\n\r\n")
        if end == -1:
            return responses, data
        head = data[:end]
        assert _STATUS_LINE.fullmatch(head.split(b"\r\n")[0]), f"bad status line in {data[:200]!r}"
        response = Response(int(head[9:12]), head, b"")
        lengths = response.header(b"content-length")
        assert len(lengths) == 1 and lengths[0].isdigit(), f"no single Content-Length in {head!r}"
        stop = end + 4 + int(lengths[0])
        if len(data) < stop:
            return responses, data
        response.body = data[end + 4 : stop]
        responses.append(response)
        data = data[stop:]


def read_reply(sock: socket.socket, started: float, *, stop_after: int | None, timeout: float) -> Reply:
    """Read until the server closes, our deadline passes, or ``stop_after`` responses are in."""
    reply = Reply()
    data = b""
    deadline = started + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            reply.closed = True
            break
        if not chunk:
            reply.closed = True
            break
        data += chunk
        if stop_after is not None and len(parse_responses(data)[0]) >= stop_after:
            break
    reply.elapsed = time.monotonic() - started
    reply.raw = data
    reply.responses, reply.rest = parse_responses(data)
    return reply


def exchange(
    server: InProcessServer, request: bytes, *, stop_after: int | None = None, timeout: float = READ_TIMEOUT
) -> Reply:
    """Send ``request`` on a new connection and read what comes back."""
    with server.connect(timeout=timeout) as sock:
        started = time.monotonic()
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking it all: read what it said
        return read_reply(sock, started, stop_after=stop_after, timeout=timeout)


def assert_rejected(reply: Reply, status: int) -> Response:
    """Exactly one response, with ``status``, ``connection: close``, then the server closed."""
    assert reply.raw.startswith(b"HTTP/1.1 %d " % status), reply.raw[:300]
    assert len(reply.responses) == 1, f"expected one response, got {reply.raw!r}"
    assert reply.rest == b"", f"bytes after the response: {reply.rest!r}"
    assert reply.closed, f"not closed within {READ_TIMEOUT}s after {reply.raw[:100]!r}"
    response = reply.responses[0]
    assert response.header(b"connection") == [b"close"], response.head
    return response


def assert_still_serving(server: InProcessServer) -> None:
    reply = exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", stop_after=1)
    assert reply.responses, f"no answer to a plain GET after the case: {reply.raw!r}"
    status = reply.responses[0].status
    assert 200 <= status < 300 or status == 404, reply.raw[:300]


def check_case(server: InProcessServer, request: bytes, status: int, body: bytes | None) -> None:
    if status < 400:
        reply = exchange(server, request, stop_after=1)
        assert reply.raw.startswith(b"HTTP/1.1 %d " % status), reply.raw[:300]
        assert reply.responses, f"incomplete response: {reply.raw!r}"
        if body is not None:
            assert reply.responses[0].body == body
    else:
        reply = exchange(server, request)
        assert_rejected(reply, status)
        assert b"100 Continue" not in reply.raw
    assert_still_serving(server)


# ---- request builders --------------------------------------------------------------------------


def post(fields: bytes, body: bytes = b"", *, version: bytes = b"HTTP/1.1", host: bytes = b"x") -> bytes:
    """POST /echo (the app echoes the body it reads) with a Host and ``fields`` (CRLF-ended lines)."""
    return b"POST /echo " + version + b"\r\nHost: " + host + b"\r\n" + fields + b"\r\n" + body


def get(
    fields: bytes = b"", *, line: bytes = b"GET / HTTP/1.1", host: bytes | None = b"Host: x\r\n"
) -> bytes:
    return line + b"\r\n" + (host or b"") + fields + b"\r\n"


def chunked(body: bytes) -> bytes:
    return post(b"Transfer-Encoding: chunked\r\n", body)


def request_line(length: int, method: bytes = b"GET") -> bytes:
    """A request line of exactly ``length`` bytes (CRLF not counted): METHOD /aaa... HTTP/1.1."""
    target = b"/" + b"a" * (length - len(method) - len(b"  HTTP/1.1") - 1)
    line = method + b" " + target + b" HTTP/1.1"
    assert len(line) == length
    return line


def many_fields(count: int) -> bytes:
    return b"".join(b"X-%d: v\r\n" % i for i in range(count))


def field_of(size: int, name: bytes = b"X-A") -> bytes:
    """One field line whose name and value together are ``size`` bytes."""
    return name + b": " + b"v" * (size - len(name)) + b"\r\n"


class Case(NamedTuple):
    id: str
    request: bytes
    status: int
    body: bytes | None = None  # the echoed body a 200 must carry


def params(cases: list[Case]) -> list:
    ids = [case.id for case in cases]
    assert len(set(ids)) == len(ids), "duplicate case ids"
    return [pytest.param(case.request, case.status, case.body, id=case.id) for case in cases]


# ---- the corpus: default limits -----------------------------------------------------------------

FRAMING = [
    # Content-Length and Transfer-Encoding together: RFC 9112 6.3 (a smuggling vector) -> 400.
    Case(
        "cl-and-te",
        post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n" + SMUGGLED),
        400,
    ),
    Case(
        "te-and-cl",
        post(b"Transfer-Encoding: chunked\r\nContent-Length: 40\r\n", b"0\r\n\r\n" + SMUGGLED),
        400,
    ),
    Case(
        "cl-and-te-http10",
        post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"hello", version=b"HTTP/1.0"),
        400,
    ),
    # Content-Length: differing, repeated, a list, not 1*DIGIT (RFC 9110 8.6, RFC 9112 6.3).
    Case("cl-two-differing", post(b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!"), 400),
    Case("cl-two-equal", post(b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello"), 400),
    Case("cl-two-equal-other-case", post(b"Content-Length: 5\r\ncontent-length: 5\r\n", b"hello"), 400),
    Case("cl-list", post(b"Content-Length: 5, 5\r\n", b"hello"), 400),
    Case("cl-plus", post(b"Content-Length: +5\r\n", b"hello"), 400),
    Case("cl-minus", post(b"Content-Length: -5\r\n", b"hello"), 400),
    Case("cl-hex", post(b"Content-Length: 0x5\r\n", b"hello"), 400),
    Case("cl-inner-space", post(b"Content-Length: 1 2\r\n", b"hello"), 400),
    Case("cl-letters", post(b"Content-Length: abc\r\n", b"hello"), 400),
    Case("cl-empty", post(b"Content-Length: \r\n", b"hello"), 400),
    Case("cl-overflow", post(b"Content-Length: 99999999999999999999999\r\n", b"hello"), 400),
    Case("cl-2**64", post(b"Content-Length: 18446744073709551616\r\n", b"hello"), 400),
    Case("cl-space-before-colon", post(b"Content-Length : 5\r\n", b"hello"), 400),
    Case("cl-tab-before-colon", post(b"Content-Length\t: 5\r\n", b"hello"), 400),
    # 1*DIGIT allows leading zeros: 005 is 5.
    Case("cl-leading-zeros", post(b"Content-Length: 005\r\n", b"hello"), 200, b"hello"),
    # Transfer-Encoding whose final coding is not chunked: RFC 9112 6.3 says 400 and close.
    Case("te-gzip", post(b"Transfer-Encoding: gzip\r\n", b"0\r\n\r\n" + SMUGGLED), 400),
    Case("te-identity", post(b"Transfer-Encoding: identity\r\n", b"0\r\n\r\n"), 400),
    Case("te-xchunked", post(b"Transfer-Encoding: xchunked\r\n", b"0\r\n\r\n"), 400),
    Case("te-chunked-then-gzip", post(b"Transfer-Encoding: chunked, gzip\r\n", b"0\r\n\r\n"), 400),
    Case(
        "te-two-lines-chunked-gzip",
        post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", b"0\r\n\r\n"),
        400,
    ),
    Case("te-empty", post(b"Transfer-Encoding: \r\n", b"0\r\n\r\n"), 400),
    Case("te-vertical-tab", post(b"Transfer-Encoding: \x0bchunked\r\n", b"0\r\n\r\n"), 400),
    # chunked applied twice (RFC 9112 7: a sender MUST NOT): faulty framing.
    Case("te-chunked-twice", post(b"Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n"), 400),
    Case(
        "te-two-lines-chunked",
        post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
        400,
    ),
    # A coding the server does not implement before chunked: 501 (RFC 9112 6.1).
    Case("te-gzip-then-chunked", post(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"), 501),
    # HTTP/1.0 has no Transfer-Encoding: faulty framing (RFC 9112 6.1).
    Case("te-in-http10", post(b"Transfer-Encoding: chunked\r\n", b"0\r\n\r\n", version=b"HTTP/1.0"), 400),
    Case("te-space-before-colon", post(b"Transfer-Encoding : chunked\r\n", b"0\r\n\r\n" + SMUGGLED), 400),
    # Valid spellings: a tab as OWS, coding names are case-insensitive.
    Case("te-tab-ows", post(b"Transfer-Encoding:\tchunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"), 200, b"hello"),
    Case("te-upper-case", post(b"Transfer-Encoding: CHUNKED\r\n", b"5\r\nhello\r\n0\r\n\r\n"), 200, b"hello"),
]

CHUNKED = [
    Case("chunked-valid", chunked(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), 200, b"hello world"),
    Case("chunk-size-bare-lf", chunked(b"5\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-size-garbage", chunked(b"5zz\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-size-overflow", chunked(b"ffffffffffffffffff\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-size-negative", chunked(b"-5\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-size-0x", chunked(b"0x5\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-size-empty", chunked(b"\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-size-leading-space", chunked(b" 5\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-size-trailing-space", chunked(b"5 \r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-data-missing-crlf", chunked(b"5\r\nhelloXX0\r\n\r\n"), 400),
    Case("chunk-data-longer-than-size", chunked(b"3\r\nhello\r\n0\r\n\r\n" + SMUGGLED), 400),
    Case("chunk-data-bare-cr", chunked(b"5\r\nhello\r0\r\n\r\n"), 400),
    Case("last-chunk-bare-lf", chunked(b"5\r\nhello\r\n0\n\n"), 400),
    Case("chunk-ext-control-char", chunked(b"5;\x01\r\nhello\r\n0\r\n\r\n"), 400),
    Case("trailer-invalid-name", chunked(b"5\r\nhello\r\n0\r\nX T: 1\r\n\r\n"), 400),
    # Framing fields may not be sent as trailers (RFC 9110 6.5.1): refused rather than guessed at.
    Case("trailer-content-length", chunked(b"5\r\nhello\r\n0\r\nContent-Length: 99\r\n\r\n"), 400),
    Case("trailer-transfer-encoding", chunked(b"5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400),
    # Trailers are fields: the field size limit holds for them too.
    Case("trailer-too-large", chunked(b"5\r\nhello\r\n0\r\n" + field_of(9000) + b"\r\n"), 431),
    # ... and the count limit (100 by default).
    Case("trailers-too-many", chunked(b"5\r\nhello\r\n0\r\n" + many_fields(150) + b"\r\n"), 431),
    # Valid: extensions (token, quoted, no value), trailers, upper-case hex, leading zeros.
    Case("chunk-ext", chunked(b"5;a=b\r\nhello\r\n0\r\n\r\n"), 200, b"hello"),
    Case("chunk-ext-quoted", chunked(b'5;a="b c"\r\nhello\r\n0\r\n\r\n'), 200, b"hello"),
    Case("chunk-ext-no-value", chunked(b"5;a\r\nhello\r\n0\r\n\r\n"), 200, b"hello"),
    Case("chunk-trailers", chunked(b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n"), 200, b"hello"),
    Case("chunk-size-upper-hex", chunked(b"A\r\nhellohello\r\n0\r\n\r\n"), 200, b"hellohello"),
    Case("chunk-size-leading-zeros", chunked(b"0005\r\nhello\r\n0\r\n\r\n"), 200, b"hello"),
]

HEADERS = [
    # Whitespace after a value is not part of it (RFC 9112 section 5).
    Case("content-length-trailing-space", post(b"Content-Length: 5 \r\n", b"hello"), 200, b"hello"),
    Case("content-length-trailing-tab", post(b"Content-Length: 5\t\r\n", b"hello"), 200, b"hello"),
    Case("host-trailing-space", get(host=b"Host: x \r\n"), 200),
    # Empty list items do not count (RFC 9110 section 5.6.1.2)...
    # ... except after "chunked": llhttp then finds chunked not final and refuses; on framing,
    # refusing the doubtful is the safe side.
    Case("te-trailing-comma", post(b"Transfer-Encoding: chunked,\r\n", b"5\r\nhello\r\n0\r\n\r\n"), 400),
    Case(
        "te-leading-comma",
        post(b"Transfer-Encoding: , chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
        200,
        b"hello",
    ),
    Case("te-only-commas", post(b"Transfer-Encoding: , ,\r\n", b"5\r\nhello\r\n0\r\n\r\n"), 400),
    # Host (RFC 9112 3.2): exactly one, with a valid value, in every HTTP/1.1 request.
    Case("host-missing", get(host=None), 400),
    Case("host-twice", get(host=b"Host: a\r\nHost: b\r\n"), 400),
    Case("host-twice-equal", get(host=b"Host: a\r\nHost: a\r\n"), 400),
    Case("host-twice-http10", get(line=b"GET / HTTP/1.0", host=b"Host: a\r\nHost: b\r\n"), 400),
    Case("host-space", get(host=b"Host: a b\r\n"), 400),
    Case("host-slash", get(host=b"Host: a/b\r\n"), 400),
    Case("host-userinfo", get(host=b"Host: user@a\r\n"), 400),
    Case("host-empty", get(host=b"Host:\r\n"), 200),
    Case("host-port", get(host=b"Host: x:8080\r\n"), 200),
    Case("host-ipv6", get(host=b"Host: [::1]:8080\r\n"), 200),
    Case("http10-without-host", get(line=b"GET / HTTP/1.0", host=None), 200),
    # obs-fold and whitespace where it may not be (RFC 9112 5.1, 5.2, 2.2).
    Case("obs-fold-space", get(b"X-A: 1\r\n continued\r\n"), 400),
    Case("obs-fold-tab", get(b"X-A: 1\r\n\tcontinued\r\n"), 400),
    Case("space-before-first-field", get(host=b" Host: x\r\n"), 400),
    Case("space-before-colon", get(b"X-A : 1\r\n"), 400),
    Case("tab-before-colon", get(b"X-A\t: 1\r\n"), 400),
    # Control characters in a value (RFC 9110 5.5).
    Case("value-ctl-01", get(b"X-A: a\x01b\r\n"), 400),
    Case("value-nul", get(b"X-A: a\x00b\r\n"), 400),
    Case("value-del", get(b"X-A: a\x7fb\r\n"), 400),
    Case("value-escape", get(b"X-A: a\x1b[31mb\r\n"), 400),
    Case("value-bare-cr", get(b"X-A: a\rb\r\n"), 400),
    # Names: empty, no colon, not a token.
    Case("name-empty", get(b": 1\r\n"), 400),
    Case("no-colon", get(b"X-A 1\r\n"), 400),
    Case("name-paren", get(b"X(A): 1\r\n"), 400),
    Case("name-slash", get(b"X/A: 1\r\n"), 400),
    Case("name-at", get(b"X@A: 1\r\n"), 400),
    Case("name-non-ascii", get(b"X\xe9A: 1\r\n"), 400),
    Case("name-nul", get(b"X\x00A: 1\r\n"), 400),
    # Line endings: bare LF and bare CR.
    Case("bare-lf-everywhere", b"GET / HTTP/1.1\nHost: x\n\n", 400),
    Case("bare-lf-in-fields", b"GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n", 400),
    Case("bare-lf-end-of-head", b"GET / HTTP/1.1\r\nHost: x\r\n\n", 400),
    Case("bare-lf-request-line", b"GET / HTTP/1.1\n\r\n", 400),
    Case("bare-cr-request-line", b"GET / HTTP/1.1\rHost: x\r\n\r\n", 400),
    # Valid: a tab inside a value, obs-text, every tchar in a name.
    Case("value-tab", get(b"X-A: a\tb\r\n"), 200),
    Case("value-obs-text", get(b"X-A: a\xffb\xe9\r\n"), 200),
    Case("name-all-tchars", get(b"X-!#$%&'*+.^_`|~A: 1\r\n"), 200),
]

REQUEST_LINE = [
    Case("version-2.0", get(line=b"GET / HTTP/2.0"), 505),
    Case("version-0.9-no-version", b"GET /\r\n\r\n", 505),
    Case("version-lower-case", get(line=b"GET / http/1.1"), 400),
    Case("version-garbage", get(line=b"GET / HTTP/1.x"), 400),
    Case("version-not-http", get(line=b"GET / XTTP/1.1"), 400),
    Case("version-missing", get(line=b"GET / "), 400),
    Case("version-trailing-space", get(line=b"GET / HTTP/1.1 "), 400),
    Case("method-paren", get(line=b"GE(T / HTTP/1.1"), 400),
    Case("method-nul", get(line=b"GE\x00T / HTTP/1.1"), 400),
    Case("method-empty", get(line=b" / HTTP/1.1"), 400),
    Case("space-before-method", get(line=b" GET / HTTP/1.1"), 400),
    Case("target-space", get(line=b"GET /a b HTTP/1.1"), 400),
    Case("target-ctl", get(line=b"GET /a\x01b HTTP/1.1"), 400),
    Case("target-nul", get(line=b"GET /a\x00b HTTP/1.1"), 400),
    Case("target-del", get(line=b"GET /a\x7f HTTP/1.1"), 400),
    Case("target-tab", get(line=b"GET /a\tb HTTP/1.1"), 400),
    Case("target-non-ascii", get(line=b"GET /\xff HTTP/1.1"), 400),
    Case("target-empty", get(line=b"GET  HTTP/1.1"), 400),
    Case("target-relative", get(line=b"GET abc HTTP/1.1"), 400),
    Case("connect", get(line=b"CONNECT host:443 HTTP/1.1", host=b"Host: host:443\r\n"), 400),
    Case("asterisk-with-get", get(line=b"GET * HTTP/1.1"), 400),
    Case("asterisk-with-options", get(line=b"OPTIONS * HTTP/1.1"), 200),
    Case("absolute-form", get(line=b"GET http://x/abs HTTP/1.1"), 200),
    # RFC 9112 2.2: at least one empty line before the request line SHOULD be ignored.
    Case("leading-empty-line", b"\r\n" + get(), 200),
    Case("leading-two-empty-lines", b"\r\n\r\n" + get(), 200),
    Case("tls-client-hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40), 400),
    Case("not-http", b"HELLO\r\n\r\n", 400),
    Case("nul-bytes", b"\x00\x00\x00\x00\r\n\r\n", 400),
]

WEBSOCKET = [
    # RFC 6455 4.2.1/4.2.2: no key is a bad handshake, an unknown version gets 426.
    Case(
        "ws-no-key",
        get(b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"),
        400,
    ),
    Case(
        "ws-version-8",
        get(
            b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        ),
        426,
    ),
    Case(
        "ws-post",
        post(
            b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 0\r\n"
        ),
        400,
    ),
    # A server may ignore an Upgrade it does not speak (RFC 9110 7.8).
    Case("upgrade-unknown-protocol", get(b"Upgrade: foo\r\nConnection: Upgrade\r\n"), 200),
]

DEFAULT_LIMITS = [
    Case("line-just-under-8192", get(line=request_line(DEFAULT_LINE - 1)), 200),
    Case("line-just-over-8192", get(line=request_line(DEFAULT_LINE + 1)), 414),
    Case("url-100k", get(line=b"GET /" + b"a" * 100_000 + b" HTTP/1.1"), 414),
    Case("fields-100", get(many_fields(DEFAULT_FIELDS - 1)), 200),  # with Host: 100
    Case("fields-101", get(many_fields(DEFAULT_FIELDS)), 431),
    Case("field-8192", get(field_of(DEFAULT_FIELD_SIZE)), 200),
    Case("field-8193", get(field_of(DEFAULT_FIELD_SIZE + 1)), 431),
    # The whole block: 16384 bytes (each line counted with ": " and CRLF).
    Case("block-under-16384", get(field_of(8150, b"X-A") + field_of(8150, b"X-B")), 200),
    Case(
        "block-over-16384", get(field_of(8150, b"X-A") + field_of(8150, b"X-B") + field_of(100, b"X-C")), 431
    ),
    Case("body-cl-over-100mib", post(b"Content-Length: 104857601\r\n"), 413),
    Case("body-cl-2**64-1", post(b"Content-Length: 18446744073709551615\r\n"), 413),
]

DEFAULT_CASES = FRAMING + CHUNKED + HEADERS + REQUEST_LINE + WEBSOCKET + DEFAULT_LIMITS


@pytest.mark.parametrize(("request_bytes", "status", "body"), params(DEFAULT_CASES))
def test_hostile_request(default_server, request_bytes: bytes, status: int, body: bytes | None):
    check_case(default_server, request_bytes, status, body)


# ---- the corpus: lowered limits -------------------------------------------------------------------

LIMITED_CASES = [
    Case("line-just-under", get(line=request_line(LINE - 1)), 200),
    Case("line-at-limit", get(line=request_line(LINE)), 200),
    Case("line-just-over", get(line=request_line(LINE + 1)), 414),
    # The limit is the whole line (method SP target SP version), whatever the method.
    Case("line-at-limit-delete", get(line=request_line(LINE, b"DELETE")), 200),
    Case("line-over-delete", get(line=request_line(LINE + 1, b"DELETE")), 414),
    Case("line-at-limit-options", get(line=request_line(LINE, b"OPTIONS")), 200),
    Case("line-over-options", get(line=request_line(LINE + 1, b"OPTIONS")), 414),
    Case("line-far-over", get(line=request_line(LINE * 4)), 414),
    Case("fields-at-limit", get(many_fields(FIELDS - 1)), 200),  # with Host
    Case("fields-over-limit", get(many_fields(FIELDS)), 431),
    Case("field-at-limit", get(field_of(FIELD_SIZE)), 200),
    Case("field-over-limit", get(field_of(FIELD_SIZE + 1)), 431),
    Case("field-name-over-limit", get(b"X-" + b"a" * (FIELD_SIZE - 2) + b": v\r\n"), 431),
    Case("body-at-limit", post(b"Content-Length: %d\r\n" % BODY, b"b" * BODY), 200, b"b" * BODY),
    # Over the limit by Content-Length: 413 at once, the body never sent.
    Case("body-cl-over-limit", post(b"Content-Length: %d\r\n" % (BODY + 1)), 413),
    # ... and no 100 Continue first: the client must not start sending it.
    Case(
        "body-cl-over-limit-expect", post(b"Content-Length: %d\r\nExpect: 100-continue\r\n" % (BODY + 1)), 413
    ),
    Case(
        "chunked-at-limit",
        chunked(b"1f4\r\n" + b"b" * 500 + b"\r\n1f4\r\n" + b"b" * 500 + b"\r\n0\r\n\r\n"),
        200,
        b"b" * BODY,
    ),
    Case(
        "chunked-crossing-limit",
        chunked(b"1f4\r\n" + b"b" * 500 + b"\r\n1f5\r\n" + b"b" * 501 + b"\r\n0\r\n\r\n"),
        413,
    ),
    Case("chunk-size-over-limit", chunked(b"fffff\r\n" + b"b" * 2000), 413),
]


@pytest.mark.parametrize(("request_bytes", "status", "body"), params(LIMITED_CASES))
def test_hostile_request_lowered_limits(
    limited_server, request_bytes: bytes, status: int, body: bytes | None
):
    check_case(limited_server, request_bytes, status, body)


# ---- streamed heads that never end ----------------------------------------------------------------


def stream_until_answered(
    server: InProcessServer, head: bytes, piece: bytes, total: int
) -> tuple[Reply, int]:
    """Send ``head`` then ``piece`` repeatedly (up to ``total`` bytes), never ending the line;
    stop as soon as the server answers or closes. Returns what it said and the bytes sent."""
    with server.connect(timeout=READ_TIMEOUT) as sock:
        started = time.monotonic()
        sock.sendall(head)
        sent = len(head)
        while sent < total and time.monotonic() - started < READ_TIMEOUT:
            readable, _, _ = select.select([sock], [], [], 0.01)
            if readable:
                break
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        return read_reply(sock, started, stop_after=None, timeout=READ_TIMEOUT), sent


@pytest.mark.parametrize(
    ("head", "status"),
    [
        pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ", 431, id="huge-header-value"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big", 431, id="huge-header-name"),
        pytest.param(b"GET /", 414, id="huge-target"),
    ],
)
def test_endless_line_is_cut_off(default_server, head: bytes, status: int):
    """1 MiB of one line, in 16 KiB pieces: the server answers long before, and closes."""
    reply, sent = stream_until_answered(default_server, head, b"a" * 16384, 1 << 20)
    assert_rejected(reply, status)
    assert sent < 256 * 1024, f"the server took {sent} bytes of one line before answering"
    assert_still_serving(default_server)


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(chunked(b"5\r\nhello\r\n0\r\nX-T: "), id="endless-trailer-value"),
        pytest.param(chunked(b"5\r\nhello\r\n0\r\nX-T"), id="endless-trailer-name"),
        pytest.param(chunked(b"5;a="), id="endless-chunk-extension"),
    ],
)
def test_endless_chunk_metadata_is_cut_off(default_server, head: bytes):
    """What a chunked body carries besides data is bounded like a head: 431, and closed."""
    reply, sent = stream_until_answered(default_server, head, b"a" * 16384, 1 << 20)
    assert_rejected(reply, 431)
    assert sent < 256 * 1024, f"the server took {sent} bytes before answering"
    assert_still_serving(default_server)


def test_trailers_are_not_merged_into_the_headers(default_server):
    """RFC 9110 section 6.5.1: trailer fields stay out of the header section (a second Host
    in a trailer must not reach the app as a header)."""
    request = (
        b"POST /headers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\nX-Trailer: evil\r\nHost: evil\r\n\r\n"
    )
    with default_server.connect(timeout=READ_TIMEOUT) as sock:
        sock.sendall(request)
        reply = read_reply(sock, time.monotonic(), stop_after=1, timeout=READ_TIMEOUT)
    assert reply.responses and reply.responses[0].status == 200
    assert reply.responses[0].body.split(b"\n") == [b"host", b"transfer-encoding"]


def test_endless_header_block_is_cut_off(default_server):
    """Small valid fields without end: 431 once they pass the count or the block size."""
    head = b"GET / HTTP/1.1\r\nHost: x\r\n"
    reply, sent = stream_until_answered(default_server, head, many_fields(50), 1 << 20)
    assert_rejected(reply, 431)
    assert sent < 256 * 1024
    assert_still_serving(default_server)


# ---- slow clients ------------------------------------------------------------------------------------


STALLED_HEADS = {
    "one-byte": b"G",
    "request-line-only": b"GET / HTTP/1.1\r\n",
    "inside-a-field": b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1",
}
STALLED_BODIES = {
    "content-length": post(b"Content-Length: 100\r\n", b"0123456789"),
    "chunked": chunked(b"64\r\n0123456789"),
    "chunked-between-chunks": chunked(b"5\r\nhello\r\n"),
}
IDLE = {"nothing": b"", "only-empty-lines": b"\r\n\r\n"}


def _stalled(server: InProcessServer, request_bytes: bytes) -> None:
    """A head or body begun and never finished: 408 after its timeout (0.5 s), then close."""
    reply = exchange(server, request_bytes)
    assert_rejected(reply, 408)
    assert reply.elapsed < 3.5, reply.elapsed


def _idle(server: InProcessServer, request_bytes: bytes) -> None:
    """No request begun: closed after the keep-alive timeout (1 s), with no status at all."""
    reply = exchange(server, request_bytes)
    assert reply.closed, "an idle connection was not closed"
    assert reply.raw == b"", reply.raw
    assert 0.5 < reply.elapsed < 3.5, reply.elapsed


def _slow_head(server: InProcessServer) -> None:
    """One byte every 0.2 s: the head timeout (0.5 s, checked each second) ends it."""
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    with server.connect(timeout=READ_TIMEOUT) as sock:
        started = time.monotonic()
        for i in range(len(head)):
            if select.select([sock], [], [], 0.2)[0] or time.monotonic() - started > READ_TIMEOUT:
                break
            try:
                sock.sendall(head[i : i + 1])
            except (BrokenPipeError, ConnectionResetError):
                break
        else:
            pytest.fail("the whole slow head was taken without an answer")
        reply = read_reply(sock, started, stop_after=None, timeout=READ_TIMEOUT)
    assert_rejected(reply, 408)
    assert reply.elapsed < 3.5, reply.elapsed


def _slow_head_after_a_served_request(server: InProcessServer) -> None:
    """Keep-alive does not reset the head timeout: a second head that never ends gets 408."""
    with server.connect(timeout=READ_TIMEOUT) as sock:
        sock.sendall(get())
        first = read_reply(sock, time.monotonic(), stop_after=1, timeout=READ_TIMEOUT)
        assert [r.status for r in first.responses] == [200]
        started = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        reply = read_reply(sock, started, stop_after=None, timeout=READ_TIMEOUT)
    assert_rejected(reply, 408)
    assert reply.elapsed < 3.5, reply.elapsed


def test_slow_clients_get_408_or_are_closed(slow_server):
    """Every slow client at once, each on its own connection (their timeouts run side by
    side, so the cases cost one timeout, not one each): stalled heads and bodies, a head sent
    a byte at a time, a second head that never ends (408 each, then close), idle connections
    (closed without a status). Then the server still serves."""
    cases: dict[str, Callable[[], None]] = {}
    for name, data in STALLED_HEADS.items():
        cases[f"stalled head, {name}"] = functools.partial(_stalled, slow_server, data)
    for name, data in STALLED_BODIES.items():
        cases[f"stalled body, {name}"] = functools.partial(_stalled, slow_server, data)
    for name, data in IDLE.items():
        cases[f"idle, {name}"] = functools.partial(_idle, slow_server, data)
    cases["slow head"] = functools.partial(_slow_head, slow_server)
    cases["slow second head"] = functools.partial(_slow_head_after_a_served_request, slow_server)
    with concurrent.futures.ThreadPoolExecutor(len(cases)) as pool:
        futures = {name: pool.submit(case) for name, case in cases.items()}
    failed = {name: repr(future.exception()) for name, future in futures.items() if future.exception()}
    assert failed == {}
    assert_still_serving(slow_server)


# ---- pipelining ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_bytes", "statuses"),
    [
        pytest.param(get() + b"NOT HTTP AT ALL\r\n\r\n", [200, 400], id="get-then-garbage"),
        pytest.param(get() + get() + get(host=None), [200, 200, 400], id="two-gets-then-no-host"),
        pytest.param(
            post(b"Content-Length: 5\r\n", b"hello")
            + post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
            [200, 400],
            id="post-then-cl-and-te",
        ),
        pytest.param(
            chunked(b"5\r\nhello\r\n0\r\n\r\n") + chunked(b"5zz\r\nhello\r\n0\r\n\r\n"),
            [200, 400],
            id="chunked-then-bad-chunk",
        ),
        pytest.param(get() + get(line=b"GET / HTTP/2.0"), [200, 505], id="get-then-http2-line"),
        pytest.param(get() + get(line=request_line(DEFAULT_LINE + 1)), [200, 414], id="get-then-long-line"),
        # The rejected request's bytes are not read as a further request.
        pytest.param(get() + get(b"X-A : 1\r\n") + SMUGGLED, [200, 400], id="get-then-bad-then-more"),
    ],
)
def test_pipelined_malformed_request_is_answered_in_turn(default_server, request_bytes: bytes, statuses):
    reply = exchange(default_server, request_bytes)
    assert [r.status for r in reply.responses] == statuses, reply.raw
    assert reply.rest == b"", reply.rest
    assert reply.closed, f"not closed within {READ_TIMEOUT}s"
    assert reply.responses[-1].header(b"connection") == [b"close"]
    assert_still_serving(default_server)


@pytest.mark.parametrize(
    ("request_bytes", "body"),
    [
        pytest.param(get(b"Content-Length: %d\r\n" % len(SMUGGLED)) + SMUGGLED, b"/", id="get-with-body"),
        pytest.param(
            post(b"Content-Length: %d\r\n" % len(SMUGGLED), SMUGGLED), SMUGGLED, id="post-content-length"
        ),
        pytest.param(
            chunked(b"%x\r\n%b\r\n0\r\n\r\n" % (len(SMUGGLED), SMUGGLED)), SMUGGLED, id="post-chunked"
        ),
    ],
)
def test_a_request_inside_a_body_is_never_served(default_server, request_bytes: bytes, body: bytes):
    """A body that holds a request stays a body: the next response on the connection answers
    the next real request (or the server has closed)."""
    with default_server.connect(timeout=READ_TIMEOUT) as sock:
        sock.sendall(request_bytes)
        first = read_reply(sock, time.monotonic(), stop_after=1, timeout=READ_TIMEOUT)
        assert [(r.status, r.body) for r in first.responses] == [(200, body)], first.raw
        assert first.rest == b"", first.rest
        try:
            sock.sendall(get(line=b"GET /after HTTP/1.1"))
        except (BrokenPipeError, ConnectionResetError):
            pass
        then = read_reply(sock, time.monotonic(), stop_after=1, timeout=READ_TIMEOUT)
    bodies = [r.body for r in then.responses]
    assert bodies == [b"/after"] or (bodies == [] and then.rest == b"" and then.closed), then.raw
    assert_still_serving(default_server)


# ---- the servers themselves ------------------------------------------------------------------------


def test_servers_survived_without_tracebacks(default_server, limited_server, slow_server):
    """Last: every server is still up and logged no traceback, no error, nothing smuggled."""
    for server in (default_server, limited_server, slow_server):
        assert server.proc.poll() is None, f"the server exited:\n{server.log()}"
        assert_still_serving(server)
        log = server.log()
        assert "Traceback" not in log, log
        assert "ERROR" not in log, log
        assert "/smuggled" not in log, log
