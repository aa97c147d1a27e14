"""The ASGI file extensions through the real server and real clients: FastAPI's FileResponse
(Starlette sends ``http.response.pathsend`` where the scope offers it) and raw apps of
``http.response.zerocopysend`` (offsets, counts, positions, several in a row, chunked framing
without a Content-Length), over HTTP/1.1 plain and TLS and HTTP/2; and misuse, which fails
the exchange (a 500, or a closed connection) with a logged traceback, never a hang."""

from __future__ import annotations

import os
from urllib.parse import urlencode

import httpx
import pytest
from conftest import in_process_servers
from static_support import MIB, Reader, client_context, connect, request, site_port, write_site

APPS = """
[apps.fastapi]
app = "file_apps:fastapi_files"
mount = "/"
[apps.zerocopy]
app = "file_apps:zerocopy"
mount = "/zc"
[apps.misuse]
app = "file_apps:misuse"
mount = "/bad"
"""

TRANSPORTS = ["h1-plain", "h1-tls", "h2-tls", "h2c"]


def pattern(size: int) -> bytes:
    """Bytes that show any shift or gap: a counter that does not repeat every 256."""
    block = bytes(range(251))
    return (block * (size // 251 + 1))[:size]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One server for the module (its apps hold no state): a plain listener (HTTP/1.1 and h2c)
    and a TLS one (HTTP/1.1 and h2 by ALPN); the files in its directory."""
    files = tmp_path_factory.mktemp("files")
    (files / "small.bin").write_bytes(pattern(1000))
    (files / "large.bin").write_bytes(pattern(8 * MIB + 7))
    (files / "empty.bin").write_bytes(b"")
    (files / "small.bin.dir").mkdir()
    os.mkfifo(files / "small.bin.fifo")  # no writer ever opens it
    config = write_site(files, APPS, also_tls=True)
    with in_process_servers() as start:
        server = start(str(config))
        yield server, files


@pytest.fixture
def files(shared):
    return shared[1]


@pytest.fixture(params=TRANSPORTS)
def site(request, shared):
    """(transport, an httpx client for it, its base URL, the server)."""
    server, files = shared
    kind = request.param
    tls = kind.endswith("tls")
    port = site_port(files, "tls") if tls else site_port(files)
    base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    verify = client_context(files) if tls else True
    h2 = kind.startswith("h2")
    with httpx.Client(verify=verify, http1=not h2, http2=h2, timeout=20) as client:
        yield kind, client, base, server


@pytest.fixture
def served(shared):
    """The server and its plain port, for raw HTTP/1.1."""
    server, files = shared
    return server, site_port(files)


def log_from(server, mark: int, text: str) -> str:
    """The log written since ``mark`` (a length of it), once it holds ``text``."""
    assert server._text.wait_for(lambda log: text in log[mark:], 5), f"no {text!r} in:\n{server.log()[mark:]}"
    return server.log()[mark:]


def query(**values) -> str:
    return "?" + urlencode(values)


def check_version(kind: str, response: httpx.Response) -> None:
    assert response.http_version == ("HTTP/2" if kind.startswith("h2") else "HTTP/1.1")


# ---- FastAPI's FileResponse: pathsend ----------------------------------------------------------


@pytest.mark.parametrize("name", ["small.bin", "large.bin", "empty.bin"])
def test_fastapi_file_response_goes_out_by_pathsend(served, files, name):
    server, port = served
    path = str(files / name)
    mark = len(server.log())
    with httpx.Client(timeout=20) as client:
        assert client.get(f"http://127.0.0.1:{port}/extensions").json() == [
            "http.response.pathsend",
            "http.response.zerocopysend",
        ]
        response = client.get(f"http://127.0.0.1:{port}/file" + query(path=path))
    expected = (files / name).read_bytes()
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(expected))
    assert response.content == expected
    log = log_from(server, mark, f'{name} HTTP/1.1" 200')  # (the access line follows the app's end)
    sent = log.split("SENT http.response.start")[-1]
    assert "SENT http.response.pathsend" in sent  # Starlette chose pathsend, not reads and bodies
    assert "SENT http.response.body" not in sent


@pytest.mark.parametrize("name", ["small.bin", "large.bin"])
def test_file_response_over_every_transport(site, files, name):
    kind, client, base, _ = site
    expected = (files / name).read_bytes()
    response = client.get(f"{base}/file" + query(path=str(files / name)))
    check_version(kind, response)
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(expected))
    assert response.content == expected
    head = client.head(f"{base}/file" + query(path=str(files / name)))
    assert head.status_code == 200 and head.headers["content-length"] == str(len(expected))
    assert head.content == b""
    again = client.get(f"{base}/file" + query(path=str(files / "small.bin")))  # the connection goes on
    assert again.content == (files / "small.bin").read_bytes()


def test_head_and_get_on_one_raw_connection(served, files):
    """HEAD of a FileResponse says the length and sends no body: the next response follows."""
    _, port = served
    with connect(port) as sock:
        target = "/file" + query(path=str(files / "large.bin"))
        sock.sendall(request(target, "HEAD") + request(target) + request(target, "HEAD", close=True))
        reader = Reader(sock)
        status, headers = reader.head()
        assert status == 200 and headers["content-length"] == str(8 * MIB + 7)
        status, headers = reader.head()
        assert status == 200 and reader.body(headers) == (files / "large.bin").read_bytes()
        status, headers = reader.head()
        assert status == 200 and headers["content-length"] == str(8 * MIB + 7)
        assert sock.recv(1) == b""  # and no body after the last head: the connection closed


def test_a_relative_path_from_file_response(site, files):
    """FileResponse("static/x.html"), a path relative to the working directory as apps often
    write it, reaches the server as pathsend with that relative path; it is the app's file."""
    kind, client, base, _ = site
    response = client.get(f"{base}/relative" + query(path=str(files / "small.bin")))
    check_version(kind, response)
    assert response.status_code == 200
    assert response.content == (files / "small.bin").read_bytes()


# ---- zerocopysend --------------------------------------------------------------------------------


def zerocopy_cases(data: bytes) -> list[tuple[dict[str, str], bytes]]:
    """(query, the body it must give)."""
    return [
        ({"parts": "100:5000", "length": "1"}, data[100:5100]),
        ({"parts": "100:5000"}, data[100:5100]),
        ({"parts": "100:5000", "fd": "1"}, data[100:5100]),
        ({"parts": f"{MIB}:"}, data[MIB:]),  # no count: to the end
        ({"parts": "0:10,5000:20,7:0,300:1"}, data[0:10] + data[5000:5020] + data[300:301]),
        ({"parts": "0:10,5000:20,7:0,300:1", "length": "1"}, data[0:10] + data[5000:5020] + data[300:301]),
        # No offset: from the position, which moves past the bytes; an offset leaves it alone.
        ({"parts": ":10,:20", "seek": "50", "tell": "1"}, data[50:60] + data[60:80] + b"|pos=80"),
        ({"parts": ":10,:20", "seek": "50", "tell": "1", "length": "1"}, data[50:60] + data[60:80]),
        ({"parts": "1000:10", "seek": "7", "tell": "1"}, data[1000:1010] + b"|pos=7"),
        ({"parts": ":", "seek": str(len(data) - 3), "tell": "1"}, data[-3:] + b"|pos=%d" % len(data)),
    ]


def test_zerocopysend_over_every_transport(site, files):
    kind, client, base, _ = site
    data = (files / "large.bin").read_bytes()
    for values, expected in zerocopy_cases(data):
        if values.get("tell") and values.get("length"):
            continue  # (the position's digits are not in the length: only over raw HTTP/1.1 below)
        response = client.get(f"{base}/zc" + query(path=str(files / "large.bin"), **values))
        check_version(kind, response)
        assert response.status_code == 200, values
        assert response.content == expected, values
        if "length" in values:
            assert response.headers["content-length"] == str(len(expected))


def test_zerocopysend_framing_on_raw_http11(served, files):
    """Without a Content-Length the body is chunked, each file part one chunk, and the chunked
    framing parses; with one, exactly that many bytes. All on one connection, in order."""
    _, port = served
    data = (files / "large.bin").read_bytes()
    with connect(port) as sock:
        reader = Reader(sock)
        for values, expected in zerocopy_cases(data):
            if values.get("tell") and values.get("length"):
                continue
            sock.sendall(request("/zc" + query(path=str(files / "large.bin"), **values)))
            status, headers = reader.head()
            assert status == 200, values
            if "length" in values:
                assert headers["content-length"] == str(len(expected)) and "transfer-encoding" not in headers
                assert reader.exactly(len(expected)) == expected, values
            else:
                assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
                body, sizes = reader.chunked()
                assert body == expected, values
                counts = [len(expected)] if values["parts"] in ("100:5000", f"{MIB}:") else None
                if counts is not None:
                    assert sizes == counts  # one chunk per file part, no empty chunk before the end
                assert 0 not in sizes
        assert reader.buffer == b""


# ---- misuse ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "short"])
def test_pathsend_of_a_missing_or_short_file_fails_the_exchange(site, files, kind):
    """HTTP/1.1 holds the head back until the body: a 500. HTTP/2 has sent its HEADERS: the
    stream is reset. Either way the traceback is logged and the connection serves on."""
    transport, client, base, server = site
    mark = len(server.log())
    url = f"{base}/bad" + query(kind=kind, path=str(files / "small.bin"))
    if transport.startswith("h2"):
        with pytest.raises(httpx.RemoteProtocolError, match="StreamReset"):
            client.get(url)
    else:
        response = client.get(url)
        assert response.status_code == 500 and response.headers["connection"] == "close"
    log = log_from(server, mark, "Exception in ASGI application")
    assert log_from(server, mark, "No such file" if kind == "missing" else "shorter than Content-Length")
    assert "Traceback" in log
    response = client.get(f"{base}/file" + query(path=str(files / "small.bin")))  # still serving
    assert response.status_code == 200 and response.content == pattern(1000)




def test_misuse_fails_the_exchange_and_is_logged(served, files):
    server, port = served
    mark = len(server.log())
    small = str(files / "small.bin")
    # A Content-Length one past the file's end, then pathsend: nothing has gone out yet, a 500.
    with connect(port) as sock:
        sock.sendall(request("/bad" + query(kind="short", path=small)))
        reader = Reader(sock)
        status, headers = reader.head()
        assert status == 500 and headers["connection"] == "close"
        reader.body(headers)
        assert sock.recv(1) == b""
    assert "Traceback" in log_from(server, mark, "shorter than Content-Length")
    # zerocopysend of more than the file holds: the head and the file went out, then the
    # connection closes (its framing cannot be kept).
    with connect(port) as sock:
        sock.sendall(request("/bad" + query(kind="past_end", path=small)))
        reader = Reader(sock)
        status, headers = reader.head()
        assert status == 200 and headers["content-length"] == "2000"
        body = bytes(reader.buffer)
        while len(body) <= 2000 and (chunk := sock.recv(65536)):
            body += chunk
        assert body == pattern(1000)  # the file, then the end of the connection
    log_from(server, mark, "The file ended before the length the response announced.")
    # A relative path from a raw app is the server process's working directory's.
    with connect(port) as sock:
        sock.sendall(request("/bad" + query(kind="relative", path=small), close=True))
        reader = Reader(sock)
        status, headers = reader.head()
        assert status == 200 and reader.body(headers) == pattern(1000)
    assert os.path.isabs(small)


@pytest.mark.parametrize("suffix", [".dir", ".fifo"])
def test_pathsend_of_what_is_no_regular_file_fails_the_exchange(site, files, suffix):
    """A directory or a FIFO: the exchange fails with a traceback (a FIFO must not block the
    server in its opening), and the server goes on. The head went out already (chunked on
    HTTP/1.1, HEADERS on HTTP/2): the connection closes mid-body, or the stream is reset."""
    transport, client, base, server = site
    mark = len(server.log())
    url = f"{base}/bad" + query(kind="not_a_file", path=str(files / "small.bin"), suffix=suffix)
    ended = "StreamReset" if transport.startswith("h2") else "incomplete chunked read"
    with pytest.raises(httpx.RemoteProtocolError, match=ended):
        client.get(url)
    assert "Traceback" in log_from(server, mark, "not a regular file")
    response = client.get(f"{base}/file" + query(path=str(files / "small.bin")))
    assert response.status_code == 200 and response.content == pattern(1000)


def test_zerocopysend_of_what_cannot_be_read_fails_the_exchange(site, files):
    """An open directory: sendfile refuses it (EINVAL), pread too (EISDIR). The error is the
    app's, logged with a traceback; it is not taken for a peer that has gone. By sendfile the
    head has gone before it (the connection closes); in pieces the first read fails while the
    head is held back (a 500); HTTP/2 resets the stream."""
    transport, client, base, server = site
    mark = len(server.log())
    url = f"{base}/bad" + query(kind="dir_fd", path=str(files / "small.bin"))
    if transport == "h1-tls":
        assert client.get(url).status_code == 500
    else:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(url)
    log = log_from(server, mark, "Exception in ASGI application")
    assert "Traceback" in log and ("Invalid argument" in log or "Is a directory" in log)
    response = client.get(f"{base}/file" + query(path=str(files / "small.bin")))
    assert response.status_code == 200 and response.content == pattern(1000)
