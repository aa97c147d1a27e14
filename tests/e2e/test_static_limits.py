"""A static app is an app like the others for the access log, the metrics and the limits: its
hits (200, 206, 304, 404, answered at once or from an open file) are logged and counted under
its name, and the server's and its own limits apply to them."""

from __future__ import annotations

import httpx
from conftest import series, wait_until
from static_support import MIB, Reader, connect, request, site_port, write_site

STATIC = '[apps.files]\nmount = "/"\nstatic = { root = "public" }\n'


def public(tmp_path):
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "small.txt").write_text("small file\n" * 10)
    with open(tmp_path / "public" / "big.bin", "wb") as f:
        f.truncate(64 * MIB)
    return tmp_path


def counted(app: str, status: str, protocol: str = "HTTP/1.1") -> str:
    return f'asgihost_requests_total{{app="{app}",status="{status}",protocol="{protocol}"}}'


def test_static_hits_are_logged_and_counted_under_the_apps_name(serve, tmp_path):
    config = write_site(public(tmp_path), STATIC, extra='[metrics]\npath = "/metrics"\n')
    server = serve(str(config))
    base = f"http://127.0.0.1:{site_port(tmp_path)}"
    with httpx.Client(timeout=10) as client:
        whole = client.get(f"{base}/small.txt")
        assert whole.status_code == 200
        assert client.get(f"{base}/small.txt", headers={"range": "bytes=0-4"}).status_code == 206
        etag = whole.headers["etag"]
        assert client.get(f"{base}/small.txt", headers={"if-none-match": etag}).status_code == 304
        assert client.get(f"{base}/missing.txt").status_code == 404
        with client.stream("GET", f"{base}/big.bin", headers={"range": f"bytes=0-{MIB - 1}"}) as big:
            assert big.status_code == 206 and len(big.read()) == MIB  # from the open file, in a task
    with httpx.Client(http1=False, http2=True, timeout=10) as client:
        assert client.get(f"{base}/small.txt").status_code == 200
        assert client.get(f"{base}/big.bin", headers={"range": "bytes=0-9"}).status_code == 206
    log = server.wait_for_log('"GET /big.bin HTTP/2" 206')
    for line in (
        '"GET /small.txt HTTP/1.1" 200',
        '"GET /small.txt HTTP/1.1" 206',
        '"GET /small.txt HTTP/1.1" 304',
        '"GET /missing.txt HTTP/1.1" 404',
        '"GET /big.bin HTTP/1.1" 206',
        '"GET /small.txt HTTP/2" 200',
    ):
        assert line in log, f"no access line {line} in:\n{log}"
    live = series(httpx.get(f"{base}/metrics", timeout=10).text)
    assert live[counted("files", "2xx")] == 3
    assert live[counted("files", "3xx")] == 1
    assert live[counted("files", "4xx")] == 1
    assert live[counted("files", "2xx", "HTTP/2")] == 2
    assert live['asgihost_request_duration_seconds_count{app="files"}'] == 7


def test_requests_per_connection_closes_after_static_answers(serve, tmp_path):
    config = write_site(public(tmp_path), STATIC, limits="requests_per_connection = 2")
    serve(str(config))
    with connect(site_port(tmp_path)) as sock:
        sock.sendall(request("/small.txt") * 2 + request("/big.bin", extra="range: bytes=0-9\r\n"))
        reader = Reader(sock)
        status, headers = reader.head()
        assert status == 200 and "connection" not in headers
        assert reader.body(headers) == b"small file\n" * 10
        status, headers = reader.head()
        assert status == 200 and headers["connection"] == "close"
        reader.body(headers)
        assert sock.recv(1) == b""  # the third request is never answered


def test_head_limits_apply_to_a_static_app(serve, tmp_path):
    config = write_site(public(tmp_path), STATIC, limits="request_line = 256\nheader_field_size = 256")
    serve(str(config))
    port = site_port(tmp_path)
    for raw, status in (
        (request("/" + "a" * 300 + ".txt"), 414),
        (request("/small.txt", extra=f"x-big: {'b' * 300}\r\n"), 431),
        (request("/small.txt", extra=f"x-fits: {'b' * 100}\r\n"), 200),
    ):
        with connect(port) as sock:
            sock.sendall(raw)
            assert Reader(sock).head()[0] == status


def test_an_apps_concurrency_limit_counts_a_file_in_flight(serve, tmp_path):
    """A client that does not read keeps a 64 MiB answer in flight: with concurrency = 1 the
    static app's next request gets a 503, and once that client has gone, a 200 again."""
    config = write_site(
        public(tmp_path),
        STATIC + "[apps.files.limits]\nconcurrency = 1\n",
        extra='[metrics]\npath = "/metrics"\n',
    )
    server = serve(str(config))
    port = site_port(tmp_path)
    base = f"http://127.0.0.1:{port}"
    holder = connect(port, rcvbuf=4096)
    with holder:
        holder.sendall(request("/big.bin"))
        status, headers = Reader(holder).head()
        assert status == 200 and headers["content-length"] == str(64 * MIB)
        with httpx.Client(timeout=10) as client:
            refused = client.get(f"{base}/small.txt")
            assert refused.status_code == 503
            assert client.get(f"{base}/big.bin", headers={"range": "bytes=0-9"}).status_code == 503
    # The holder has gone: its file answer ends, and the app takes requests again.
    with httpx.Client(timeout=10) as client:
        assert wait_until(lambda: client.get(f"{base}/small.txt").status_code == 200, timeout=10)
    log = server.wait_for_log('"GET /small.txt HTTP/1.1" 200')
    assert "Exceeded concurrency limit." in log
    assert log.count('"GET /small.txt HTTP/1.1" 503') >= 1
    live = series(httpx.get(f"{base}/metrics", timeout=10).text)
    assert live[counted("files", "5xx")] >= 2
