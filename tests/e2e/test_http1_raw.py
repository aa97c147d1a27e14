"""HTTP/1.1 on the wire: raw sockets against the real server (apps in tests/apps/basic.py).

Every assertion is about bytes the server wrote or lines it logged. The tests of how requests
are read run with each HTTP/1.1 core (``serve_each``); those of responses and of apps run with
httptools' alone (the response side, ``ResponseFramer``, is one for both). Waits are on socket reads
and log markers, each bounded by a socket timeout.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
from dataclasses import dataclass

import pytest

APP = "basic:app"


@pytest.fixture(params=["httptools", "h11"])
def serve_each(serve, request: pytest.FixtureRequest):
    """``serve``, with each HTTP/1.1 core: httptools' (the default), and h11's (``--http h11``)."""
    if request.param == "httptools":
        return serve
    return lambda app, *flags, **options: serve(app, "--http", "h11", *flags, **options)


# ---- a strict little HTTP/1.1 response reader ------------------------------------------------


@dataclass
class Response:
    version: bytes
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]  # names lowercased, as received otherwise
    body: bytes
    raw: bytes  # every byte of this response as it came off the wire

    def get_all(self, name: bytes) -> list[bytes]:
        return [v for n, v in self.headers if n == name]

    def get(self, name: bytes) -> bytes | None:
        values = self.get_all(name)
        assert len(values) <= 1, f"{name!r} appears {len(values)} times in {self.raw!r}"
        return values[0] if values else None


class Wire:
    """A client socket with a read buffer; every read is bounded by the socket timeout."""

    def __init__(self, sock: socket.socket, timeout: float = 5.0) -> None:
        self.sock = sock
        sock.settimeout(timeout)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        self.sock.close()

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(f"connection closed; unparsed bytes: {self.buf!r}")
        self.buf += chunk

    def read_until(self, sep: bytes) -> bytes:
        while sep not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(sep)
        return head + sep

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_to_eof(self) -> bytes:
        """Everything until the server closes (a socket timeout fails the test)."""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        out, self.buf = self.buf, b""
        return out

    def assert_closed(self) -> None:
        """The server closes without sending anything more."""
        rest = self.read_to_eof()
        assert rest == b"", f"unexpected bytes before close: {rest!r}"

    def read_response(self, *, head: bool = False) -> Response:
        raw_head = self.read_until(b"\r\n\r\n")
        lines = raw_head[:-4].split(b"\r\n")
        status_line = lines[0].split(b" ", 2)
        assert len(status_line) == 3, f"bad status line {lines[0]!r}"
        version, status_text, reason = status_line
        assert version in (b"HTTP/1.1", b"HTTP/1.0") and status_text.isdigit(), lines[0]
        status = int(status_text)
        headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            assert sep and name and name == name.strip(), f"bad header line {line!r} in {raw_head!r}"
            headers.append((name.lower(), value.strip()))
        response = Response(version, status, reason, headers, b"", raw_head)
        if head or status < 200 or status in (204, 304):
            return response
        encoding = response.get(b"transfer-encoding")
        length = response.get(b"content-length")
        if encoding is not None:
            assert encoding.lower() == b"chunked" and length is None, raw_head
            response.body, raw_body = self._read_chunked()
        elif length is not None:
            raw_body = response.body = self.read_exact(int(length))
        else:
            raw_body = response.body = self.read_to_eof()
        response.raw += raw_body
        return response

    def _read_chunked(self) -> tuple[bytes, bytes]:
        body = raw = b""
        while True:
            size_line = self.read_until(b"\r\n")
            assert re.fullmatch(rb"[0-9a-fA-F]+\r\n", size_line), f"bad chunk size line {size_line!r}"
            size = int(size_line, 16)
            raw += size_line
            if size == 0:
                end = self.read_exact(2)
                assert end == b"\r\n", f"trailers or junk after the last chunk: {end!r}"
                return body, raw + end
            data = self.read_exact(size + 2)
            assert data.endswith(b"\r\n"), f"chunk not followed by CRLF: {data!r}"
            body += data[:-2]
            raw += data


def req(method: str, target: str, *headers: str, body: bytes = b"", version: str = "1.1") -> bytes:
    lines = [f"{method} {target} HTTP/{version}", "Host: test", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def open_wire(server, timeout: float = 5.0) -> Wire:
    return Wire(server.connect(timeout=timeout), timeout)


def get(server, target: str, *headers: str) -> Response:
    wire = open_wire(server)
    try:
        wire.send(req("GET", target, *headers))
        return wire.read_response()
    finally:
        wire.close()


# ---- framing and ordering -------------------------------------------------------------------


def test_pipelined_requests_are_answered_in_request_order(serve_each):
    server = serve_each(APP)
    wire = open_wire(server)
    # /slow sleeps before answering: a server answering out of order would send /a first.
    wire.send(req("GET", "/slow") + req("GET", "/a?x=1") + req("GET", "/b"))
    responses = [wire.read_response() for _ in range(3)]
    assert [r.status for r in responses] == [200, 200, 200]
    assert [r.body for r in responses] == [b"/slow", b"/a?x=1", b"/b"]
    assert all(r.get(b"connection") is None for r in responses)
    # The connection is still good afterwards.
    wire.send(req("GET", "/after"))
    assert wire.read_response().body == b"/after"


def test_chunked_request_body_reaches_the_app_intact(serve_each):
    server = serve_each(APP)
    wire = open_wire(server)
    pieces = [b"hello", b" ", bytes(range(256)) * 2, b"\r\n0\r\n\r\n", b"end"]
    wire.send(req("POST", "/echo", "Transfer-Encoding: chunked"))
    for piece in pieces:
        wire.send(b"%x\r\n%b\r\n" % (len(piece), piece))
    wire.send(b"0\r\n\r\n")
    response = wire.read_response()
    assert response.status == 200
    assert response.get(b"x-method") == b"POST"
    assert response.body == b"".join(pieces)


def test_content_length_request_body(serve_each):
    server = serve_each(APP)
    wire = open_wire(server)
    # Larger than the 64 KiB the server buffers before pausing reads, so reading resumes too.
    body = bytes(range(256)) * 1024
    wire.send(req("PUT", "/echo", f"Content-Length: {len(body)}", body=body))
    response = wire.read_response()
    assert response.status == 200
    assert response.get(b"x-method") == b"PUT"
    assert response.get(b"content-length") == str(len(body)).encode()
    assert response.body == body
    wire.send(req("POST", "/echo", "Content-Length: 2", body=b"ok"))
    assert wire.read_response().body == b"ok"


def test_head_sends_headers_but_no_body_and_keeps_the_connection(serve_each):
    server = serve_each(APP)
    wire = open_wire(server)
    wire.send(req("HEAD", "/head"))
    head = wire.read_response(head=True)
    assert head.status == 200
    assert head.get(b"content-length") == b"11"  # what the app gave for its (dropped) body
    assert head.get(b"transfer-encoding") is None
    # Any body byte would come before the next response and break its status line.
    wire.send(req("GET", "/head"))
    response = wire.read_response()
    assert response.raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert response.body == b"hello world"


def test_chunked_response_when_the_app_gives_no_length(serve):
    server = serve(APP)
    wire = open_wire(server)
    wire.send(req("GET", "/chunked"))
    response = wire.read_response()
    assert response.status == 200
    assert response.get(b"transfer-encoding") == b"chunked"
    assert response.get(b"content-length") is None
    head_end = response.raw.index(b"\r\n\r\n") + 4
    # An empty more_body message writes nothing (a bare 0-size chunk would end the body early).
    assert response.raw[head_end:] == b"5\r\nhello\r\n2\r\n, \r\nd\r\nchunked world\r\n0\r\n\r\n"
    assert response.body == b"hello, chunked world"
    wire.send(req("GET", "/next"))
    assert wire.read_response().body == b"/next"


# ---- Expect: 100-continue ---------------------------------------------------------------------


def test_expect_continue_is_sent_when_the_app_reads_the_body(serve_each):
    server = serve_each(APP)
    wire = open_wire(server)
    wire.send(req("POST", "/expect-read", "Content-Length: 5", "Expect: 100-continue"))
    interim = wire.read_response()
    assert interim.raw == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert "EXPECT-APP-STARTED" in server.log()
    wire.send(b"hello")
    final = wire.read_response()
    assert final.status == 200
    assert final.body == b"got:hello"
    wire.send(req("GET", "/again"))
    assert wire.read_response().body == b"/again"


def test_expect_continue_is_not_sent_when_the_app_answers_without_reading(serve_each):
    server = serve_each(APP)
    wire = open_wire(server)
    wire.send(req("POST", "/expect-reject", "Content-Length: 5", "Expect: 100-continue"))
    response = wire.read_response()
    assert response.status == 401
    assert response.body == b"no"
    # The body was never read, so the server closes; no 100 Continue was ever written.
    rest = wire.read_to_eof()
    assert b"100 Continue" not in response.raw + rest
    assert rest == b""


def test_expect_continue_rejection_announces_the_close(serve_each):
    """RFC 9110 section 10.1.1: a final answer before the content SHOULD say whether the server
    will close or read the content. asgihost closes, so the head must say ``connection: close``;
    otherwise the client believes the connection is reusable."""
    server = serve_each(APP)
    wire = open_wire(server)
    wire.send(req("POST", "/expect-reject", "Content-Length: 5", "Expect: 100-continue"))
    response = wire.read_response()
    assert response.status == 401
    wire.assert_closed()
    assert response.get(b"connection") == b"close"


# ---- connection management --------------------------------------------------------------------


def test_http10_request_closes_by_default(serve_each):
    server = serve_each(APP)
    wire = open_wire(server)
    wire.send(req("GET", "/old", version="1.0"))
    response = wire.read_response()
    assert response.status == 200
    assert response.body == b"/old"
    assert response.get(b"connection") == b"close"
    wire.assert_closed()


def test_http10_keep_alive_is_honoured(serve_each):
    server = serve_each(APP)
    wire = open_wire(server)
    for path in ("/one", "/two"):
        wire.send(req("GET", path, "Connection: keep-alive", version="1.0"))
        response = wire.read_response()
        assert response.status == 200
        assert response.body == path.encode()
        assert response.get(b"connection") == b"keep-alive"
        assert response.get(b"transfer-encoding") is None


def test_http10_response_without_length_is_delimited_by_close(serve_each):
    server = serve_each(APP)
    wire = open_wire(server)
    wire.send(req("GET", "/chunked", "Connection: keep-alive", version="1.0"))
    response = wire.read_response()  # no length, no chunking: reads to EOF
    assert response.status == 200
    assert response.get(b"transfer-encoding") is None
    assert response.get(b"connection") == b"close"
    assert response.body == b"hello, chunked world"


def test_client_connection_close_is_honoured(serve_each):
    server = serve_each(APP)
    wire = open_wire(server)
    wire.send(req("GET", "/bye", "Connection: close"))
    response = wire.read_response()
    assert response.body == b"/bye"
    assert response.get(b"connection") == b"close"
    wire.assert_closed()


def test_keep_alive_timeout_closes_an_idle_connection(serve):
    server = serve(APP, "--timeout-keep-alive", "1")
    wire = open_wire(server)
    wire.send(req("GET", "/ka"))
    assert wire.read_response().body == b"/ka"
    idle_since = time.monotonic()
    wire.assert_closed()  # socket timeout 5 s bounds the wait
    assert time.monotonic() - idle_since < 3.0


def test_limit_concurrency_answers_503_while_busy(serve):
    server = serve(APP, "--limit-concurrency", "1")
    busy = open_wire(server)
    busy.send(req("GET", "/hold"))
    server.wait_for_log("HOLD-STARTED")
    other = open_wire(server)
    other.send(req("GET", "/x"))
    refused = other.read_response()
    assert refused.status == 503
    assert refused.body == b"Service Unavailable"
    assert refused.get(b"connection") == b"close"
    assert refused.get(b"retry-after") == b"1"
    other.assert_closed()
    assert "Exceeded concurrency limit." in server.log()
    held = busy.read_response()
    assert held.status == 200 and held.body == b"held"
    # Capacity is back once the other connection is gone.
    busy.send(req("GET", "/x"))
    assert busy.read_response().status == 200


# ---- the client going away -----------------------------------------------------------------------


def test_app_sees_disconnect_when_client_closes_after_the_body(serve):
    server = serve(APP)
    wire = open_wire(server)
    wire.send(req("POST", "/disconnect", "Content-Length: 3", body=b"abc"))
    server.wait_for_log("BODY-READ 3")
    wire.close()
    server.wait_for_log("DISCONNECT-SEEN body=3 type=http.disconnect")
    assert get(server, "/still-up").body == b"/still-up"


def test_app_sees_disconnect_when_client_closes_mid_body(serve_each):
    server = serve_each(APP)
    wire = open_wire(server)
    wire.send(req("POST", "/disconnect", "Content-Length: 100", body=b"abc"))
    wire.close()
    server.wait_for_log("DISCONNECT-SEEN body=3")
    assert get(server, "/still-up").body == b"/still-up"


def test_app_sees_disconnect_when_client_resets(serve):
    server = serve(APP)
    wire = open_wire(server)
    wire.send(req("POST", "/disconnect", "Content-Length: 3", body=b"abc"))
    server.wait_for_log("BODY-READ 3")
    wire.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    wire.close()  # RST
    server.wait_for_log("DISCONNECT-SEEN body=3 type=http.disconnect")
    assert get(server, "/still-up").body == b"/still-up"


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_large_upload_to_a_slow_reader_keeps_memory_bounded(serve_process):
    server = serve_process(APP, "--no-access-log")  # its own process: its memory is the server's
    pid = server.proc.pid
    assert get(server, "/warm-up").status == 200
    baseline = _rss_kib(pid)
    size = 64 * 1024 * 1024
    piece = memoryview(bytes(1024 * 1024))
    wire = open_wire(server, timeout=20)
    outcome: dict[str, object] = {}

    def upload() -> None:
        try:
            wire.send(req("POST", "/slow-reader", f"Content-Length: {size}"))
            for _ in range(size // len(piece)):
                wire.send(piece)
            outcome["response"] = wire.read_response()
        except BaseException as exc:  # reported by the main thread
            outcome["error"] = exc

    thread = threading.Thread(target=upload, daemon=True)
    started = time.monotonic()
    thread.start()
    peak = baseline
    while thread.is_alive() and time.monotonic() - started < 20:
        peak = max(peak, _rss_kib(pid))
        thread.join(0.01)
    assert not thread.is_alive(), "upload did not finish in 20 s"
    wire.close()
    assert "error" not in outcome, outcome.get("error")
    response = outcome["response"]
    assert isinstance(response, Response)
    assert response.status == 200
    assert response.body == str(size).encode()
    growth_mib = (peak - baseline) / 1024
    assert growth_mib < 32, f"server RSS grew by {growth_mib:.1f} MiB during a 64 MiB upload"


# ---- application errors ----------------------------------------------------------------------------


def test_app_raising_before_responding_gets_500_and_server_carries_on(serve):
    server = serve(APP)
    wire = open_wire(server)
    wire.send(req("GET", "/raise"))
    response = wire.read_response()
    assert response.status == 500
    assert response.body == b"Internal Server Error"
    assert response.get(b"connection") == b"close"
    wire.assert_closed()
    log = server.wait_for_log("Exception in ASGI application")
    assert "RuntimeError: boom before start" in log
    assert get(server, "/next").body == b"/next"


def test_app_raising_after_start_with_content_length_gets_500(serve):
    server = serve(APP)
    wire = open_wire(server)
    wire.send(req("GET", "/raise-after-start"))
    data = wire.read_to_eof()
    # The 200 head was held back for its body, so a 500 could still replace it.
    assert data.startswith(b"HTTP/1.1 500 Internal Server Error\r\n"), data
    assert b"200 OK" not in data
    assert data.endswith(b"\r\n\r\nInternal Server Error")
    log = server.wait_for_log("Exception in ASGI application")
    assert "RuntimeError: boom after start" in log
    assert get(server, "/next").body == b"/next"


def test_app_raising_mid_stream_closes_the_connection(serve):
    server = serve(APP)
    wire = open_wire(server)
    wire.send(req("GET", "/raise-mid-stream"))
    head = wire.read_until(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    rest = wire.read_to_eof()
    # The body is cut off: no terminating chunk, so the client knows it is incomplete.
    assert rest == b"7\r\npartial\r\n"
    log = server.wait_for_log("Exception in ASGI application")
    assert "RuntimeError: boom mid stream" in log
    assert get(server, "/next").body == b"/next"


def test_header_value_with_crlf_is_refused(serve):
    server = serve(APP)
    wire = open_wire(server)
    wire.send(req("GET", "/crlf-header"))
    data = wire.read_to_eof()
    assert data.startswith(b"HTTP/1.1 500 "), data
    assert b"Injected" not in data
    assert b"x-evil" not in data.lower()
    server.wait_for_log("Invalid HTTP header value")
    assert get(server, "/next").body == b"/next"


def test_header_name_with_nul_is_refused(serve):
    server = serve(APP)
    wire = open_wire(server)
    wire.send(req("GET", "/nul-header-name"))
    data = wire.read_to_eof()
    assert data.startswith(b"HTTP/1.1 500 "), data
    assert b"Injected" not in data
    assert b"\x00" not in data
    server.wait_for_log("Invalid HTTP header name")


def test_invalid_status_from_the_app_gets_500(serve):
    server = serve(APP)
    for query in ("text", "large", "small"):
        wire = open_wire(server)
        wire.send(req("GET", f"/bad-status?{query}"))
        data = wire.read_to_eof()
        assert data.startswith(b"HTTP/1.1 500 "), data
        assert b"never" not in data
    log = server.wait_for_log("Invalid HTTP status code 99 in response.")
    assert "Invalid HTTP status code '200' in response." in log
    assert "Invalid HTTP status code 1000 in response." in log
    assert get(server, "/next").body == b"/next"


def test_app_returning_without_a_response_gets_500(serve):
    server = serve(APP)
    wire = open_wire(server)
    wire.send(req("GET", "/no-response"))
    response = wire.read_response()
    assert response.status == 500
    server.wait_for_log("ASGI callable returned without starting response.")
    assert get(server, "/next").body == b"/next"


def test_app_sending_body_before_start_gets_500(serve):
    server = serve(APP)
    wire = open_wire(server)
    wire.send(req("GET", "/body-before-start"))
    data = wire.read_to_eof()
    assert data.startswith(b"HTTP/1.1 500 "), data
    assert b"too early" not in data
    log = server.wait_for_log("Exception in ASGI application")
    assert "Expected ASGI message 'http.response.start', but got 'http.response.body'" in log


def test_app_sending_after_the_final_body_is_logged(serve):
    server = serve(APP)
    wire = open_wire(server)
    wire.send(req("GET", "/send-after-final"))
    response = wire.read_response()
    assert response.status == 200
    assert response.body == b"done"
    log = server.wait_for_log("after response already completed")
    assert "Unexpected ASGI message 'http.response.body' sent" in log
    assert b"one too many" not in response.raw + wire.read_to_eof()


# ---- malformed requests --------------------------------------------------------------------------


def _assert_400_and_closed(wire: Wire) -> None:
    response = wire.read_response()
    assert response.status == 400
    assert response.get(b"connection") == b"close"
    wire.assert_closed()


def test_garbage_request_gets_400_and_close(serve_each):
    server = serve_each(APP)
    wire = open_wire(server)
    wire.send(b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
    _assert_400_and_closed(wire)
    assert get(server, "/next").body == b"/next"


def test_invalid_header_line_gets_400_and_close(serve_each):
    server = serve_each(APP)
    wire = open_wire(server)
    wire.send(b"GET / HTTP/1.1\r\nHost: test\r\nThis is not a header\r\n\r\n")
    _assert_400_and_closed(wire)
    assert get(server, "/next").body == b"/next"


def test_malformed_request_after_a_good_one_is_answered_in_turn(serve_each):
    server = serve_each(APP)
    wire = open_wire(server)
    wire.send(req("GET", "/slow") + b"NOT HTTP AT ALL\r\n\r\n")
    good = wire.read_response()
    assert good.status == 200 and good.body == b"/slow"
    _assert_400_and_closed(wire)


# ---- access log ------------------------------------------------------------------------------------


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def test_access_log_line_format(serve):
    server = serve(APP)
    wire = open_wire(server)
    port = wire.sock.getsockname()[1]
    wire.send(req("GET", "/path?q=1"))
    assert wire.read_response().status == 200
    log = server.wait_for_log(f'127.0.0.1:{port} - "GET /path?q=1 HTTP/1.1" 200')
    line = next(line for line in log.splitlines() if "/path?q=1" in line)
    assert re.fullmatch(rf'INFO: +127\.0\.0\.1:{port} - "GET /path\?q=1 HTTP/1\.1" 200', line), line


def test_access_log_cannot_be_injected_through_the_target(serve):
    server = serve(APP)
    # httptools refuses raw control bytes (and any byte outside 0x21-0x7e) in a target: 400.
    for raw in (b"\x1b", b"\x7f", b"\x85", b"\t"):
        wire = open_wire(server)
        wire.send(b"GET /a" + raw + b"[31mred HTTP/1.1\r\nHost: test\r\n\r\n")
        _assert_400_and_closed(wire)
    # Percent-encoded CR LF is logged as is, never decoded.
    assert get(server, "/x%0d%0aINFO:%20forged").status == 200
    server.wait_for_log('"GET /x%0d%0aINFO:%20forged HTTP/1.1" 200')
    # A literal backslash is escaped, so it cannot pass for an escaped control byte.
    assert get(server, "/y\\x1b[31m").status == 200
    log = server.wait_for_log('"GET /y\\\\x1b[31m HTTP/1.1" 200')
    assert not _CONTROL.search(log), repr(_CONTROL.search(log))
    assert "\r" not in log and "\t" not in log
    assert not any(line.startswith("INFO: forged") for line in log.splitlines())


# ---- default headers -----------------------------------------------------------------------------------


_DATE = re.compile(
    rb"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
    rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT"
)


def test_date_and_server_headers_by_default(serve):
    server = serve(APP)
    response = get(server, "/")
    assert response.get(b"server") == b"asgihost"
    date = response.get(b"date")
    assert date is not None and _DATE.fullmatch(date), date


def test_default_headers_can_be_turned_off_and_extra_added(serve):
    server = serve(APP, "--no-server-header", "--no-date-header", "--header", "X-A:1")
    response = get(server, "/")
    assert response.status == 200
    assert response.get(b"server") is None
    assert response.get(b"date") is None
    assert response.get(b"x-a") == b"1"
    # Server-made responses carry the extra header too.
    error = get(server, "/raise")
    assert error.status == 500
    assert error.get(b"x-a") == b"1"
    assert error.get(b"server") is None


def test_app_server_header_replaces_the_default(serve):
    server = serve(APP)
    response = get(server, "/own-server-header")
    assert response.get_all(b"server") == [b"custom-server/1.0"]
    assert response.get(b"date") is not None
