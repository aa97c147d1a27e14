"""``--http h11``: HTTP/1.1 parsed by h11 (protocols/http1_h11.py), as ``asgihost run`` serves
it; its limit on incomplete events (``--h11-max-incomplete-event-size``) over a real socket;
and h11 in the place of httptools where httptools cannot be imported (one warning at start).
The answers both cores give to the same bytes are tested in tests/protocols and in the
hostile-input e2e tests, which run over both."""

from __future__ import annotations

import os

import httpx
from conftest import APPS

APP = "basic:app"  # tests/apps/basic.py: echoes the path
BIG_HEAD = b"GET /big HTTP/1.1\r\nHost: test\r\nX-Big: " + b"b" * 1200 + b"\r\n\r\n"


def read_until_closed(sock) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_run_http_h11_serves_httpx_and_a_pipelined_pair(serve):
    server = serve(APP, "--http", "h11")
    response = httpx.get(server.url + "/a?x=1", timeout=5)
    assert response.status_code == 200 and response.text == "/a?x=1"
    assert response.http_version == "HTTP/1.1"
    with server.connect() as sock:
        sock.sendall(
            b"GET /first HTTP/1.1\r\nHost: test\r\n\r\nGET /second HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        )
        data = read_until_closed(sock)
    first, second = data.split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert first.endswith(b"\r\n\r\n/first") and second.endswith(b"\r\n\r\n/second")
    assert b"connection: close" in second


def test_a_head_over_the_h11_limit_is_431_and_closes(serve):
    server = serve(APP, "--http", "h11", "--h11-max-incomplete-event-size", "1000")
    with server.connect() as sock:
        sock.sendall(BIG_HEAD + b"GET /smuggled HTTP/1.1\r\nHost: test\r\n\r\n")
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"connection: close\r\n" in data and b"/smuggled" not in data
    assert httpx.get(server.url + "/after", timeout=5).text == "/after"


def test_the_h11_limit_is_not_httptools(serve):
    server = serve(APP, "--h11-max-incomplete-event-size", "1000")  # httptools parses
    with server.connect() as sock:
        sock.sendall(BIG_HEAD.replace(b"Host: test", b"Host: test\r\nConnection: close"))
        assert read_until_closed(sock).endswith(b"\r\n\r\n/big")


def test_without_httptools_http11_is_served_by_h11_with_one_warning(serve_process, tmp_path):
    blocker = tmp_path / "no_httptools"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\n\nsys.modules['httptools'] = None\n")
    env = {"PYTHONPATH": os.pathsep.join((str(blocker), str(APPS)))}
    server = serve_process(APP, "--h11-max-incomplete-event-size", "1000", env=env)
    assert httpx.get(server.url + "/served", timeout=5).text == "/served"
    with server.connect() as sock:  # h11's limit holds: h11 parses
        sock.sendall(BIG_HEAD)
        assert read_until_closed(sock).startswith(b"HTTP/1.1 431 ")
    server.stop()
    log = server.log()
    assert log.count("httptools cannot be imported") == 1, log
    assert "serving HTTP/1.1 with h11" in log and "Traceback" not in log
