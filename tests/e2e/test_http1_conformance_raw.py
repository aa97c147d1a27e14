"""HTTP/1.1 request lines against the real server over raw sockets: an unknown method is 501,
HTTP/1.2 is served as HTTP/1.1 (keep-alive, chunked body), HTTP/3 is 505, and each refusal
closes the connection after its answer; with each HTTP/1.1 core."""

from __future__ import annotations

import socket

import pytest

APP = "basic:app"  # tests/apps/basic.py: echoes the path, and the body at /echo


@pytest.fixture(params=["httptools", "h11"])
def serve_each(serve, request: pytest.FixtureRequest):
    """``serve``, with each HTTP/1.1 core: httptools' (the default), and h11's (``--http h11``)."""
    if request.param == "httptools":
        return serve
    return lambda app, *flags, **options: serve(app, "--http", "h11", *flags, **options)


class Wire:
    """A client socket with a read buffer; every read is bounded by the socket timeout."""

    def __init__(self, sock: socket.socket) -> None:
        sock.settimeout(5.0)
        self.sock, self.buf = sock, b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bytes:
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return chunk

    def read_response(self) -> tuple[bytes, dict[bytes, bytes], bytes]:
        """Status line, headers (names lowercased) and a Content-Length body."""
        while b"\r\n\r\n" not in self.buf:
            assert self._fill(), f"closed before a response: {self.buf!r}"
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        status, *lines = head.split(b"\r\n")
        headers = {n.strip().lower(): v.strip() for n, _, v in (line.partition(b":") for line in lines)}
        length = int(headers[b"content-length"])
        while len(self.buf) < length:
            assert self._fill(), "closed inside a body"
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body

    def assert_closed(self) -> None:
        while self._fill():
            pass
        assert self.buf == b"", f"unexpected bytes before close: {self.buf!r}"

    def close(self) -> None:
        self.sock.close()


def open_wire(server) -> Wire:
    return Wire(server.connect(timeout=5.0))


def refused(wire: Wire, status: int) -> None:
    line, headers, _ = wire.read_response()
    assert line.startswith(b"HTTP/1.1 %d " % status), line
    assert headers.get(b"connection") == b"close"
    wire.assert_closed()


def test_request_lines_get_501_505_or_are_served_as_http_1_1(serve_each):
    server = serve_each(APP)

    wire = open_wire(server)
    wire.send(b"BREW /pot HTTP/1.1\r\nHost: test\r\n\r\n")
    refused(wire, 501)

    wire = open_wire(server)  # the refused method arrives byte by byte, after a good request
    wire.send(b"GET /first HTTP/1.1\r\nHost: test\r\n\r\n")
    assert wire.read_response()[2] == b"/first"
    for byte in b"FOO / HTTP/1.1\r\n":
        wire.send(bytes((byte,)))
    refused(wire, 501)

    wire = open_wire(server)
    wire.send(b"G@T / HTTP/1.1\r\nHost: test\r\n\r\n")
    refused(wire, 400)

    wire = open_wire(server)
    wire.send(b"GET / HTTP/3\r\nHost: test\r\n\r\n")
    refused(wire, 505)

    wire = open_wire(server)  # HTTP/1.2: an HTTP/1.1 request, on a connection kept alive
    wire.send(
        b"POST /echo HTTP/1.2\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    )
    line, headers, body = wire.read_response()
    assert line == b"HTTP/1.1 200 OK" and body == b"hello" and b"connection" not in headers
    wire.send(b"GET /again HTTP/1.9\r\nHost: test\r\n\r\n")
    assert wire.read_response()[::2] == (b"HTTP/1.1 200 OK", b"/again")
    wire.close()
