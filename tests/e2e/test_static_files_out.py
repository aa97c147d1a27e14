"""Files going out of a static app, in a server process whose memory is watched: a 1 GiB sparse
file by sendfile (plain HTTP/1.1) and in pieces (TLS, HTTP/2) never grows the process by more
than a few pieces; a client that stops reading is cut off at the send timeout, for a file and
for an app's plain body messages alike; HTTP/2 keeps to a small window a client gives."""

from __future__ import annotations

import asyncio
import socket

import h2.config
import h2.connection
import h2.events
import h2.settings
import httpx
import pytest
from static_support import (
    MIB,
    TCP_ESTABLISHED,
    Reader,
    client_context,
    connect,
    read_to_end,
    request,
    rss,
    site_port,
    tcp_state,
    wait_closed_by_peer,
    write_site,
)

GIB = 1 << 30
GROWTH = 16 * MIB  # the most the server process may grow by while it sends the files
STATIC = '[apps.files]\nmount = "/"\nstatic = { root = "public" }\n'


@pytest.fixture
def sparse(tmp_path):
    """public/big.bin: 1 GiB of holes (no disk, no page cache to speak of)."""
    (tmp_path / "public").mkdir()
    with open(tmp_path / "public" / "big.bin", "wb") as f:
        f.truncate(GIB)
    return tmp_path


def start(serve_process, tmp_path, **site):
    config = write_site(tmp_path, STATIC + site.pop("apps", ""), **site)
    server = serve_process(str(config))
    return server, site_port(tmp_path)


def ranges_and_whole(sock, whole: bool, size: int = 64 * MIB) -> None:
    """Ranges of ``size`` spread over the file, then (``whole``) the file, read and dropped."""
    reader = Reader(sock)
    for start in (0, GIB // 3, GIB // 2, GIB - size):
        sock.sendall(request("/big.bin", extra=f"range: bytes={start}-{start + size - 1}\r\n"))
        status, headers = reader.head()
        assert status == 206 and headers["content-range"] == f"bytes {start}-{start + size - 1}/{GIB}"
        assert int(headers["content-length"]) == size
        assert reader.exactly(size, keep=False) == b""
    if whole:
        sock.sendall(request("/big.bin"))
        status, headers = reader.head()
        assert status == 200 and int(headers["content-length"]) == GIB
        reader.exactly(GIB, keep=False)


def warmed(sock) -> int:
    """One 64 MiB range first, so that what the first file answer costs once (imports, the
    file's entry, the allocator's first pieces) is not counted: what is measured is growth
    with the bytes sent."""
    sock.sendall(request("/big.bin", extra=f"range: bytes=0-{64 * MIB - 1}\r\n"))
    reader = Reader(sock)
    assert reader.head()[0] == 206 and reader.exactly(64 * MIB, keep=False) == b""
    return len(reader.buffer)


def test_a_gib_by_sendfile_leaves_the_memory_as_it_was(serve_process, sparse):
    server, port = start(serve_process, sparse)
    with connect(port, timeout=30) as sock:
        assert warmed(sock) == 0
        before = rss(server.proc.pid)
        ranges_and_whole(sock, whole=True)
        after = rss(server.proc.pid)
    assert after - before <= GROWTH, f"the server grew by {(after - before) / MIB:.1f} MiB sending 1.25 GiB"
    log = server.wait_for_log_count('"GET /big.bin HTTP/1.1" 206', 5)
    assert '"GET /big.bin HTTP/1.1" 200' in server.wait_for_log('"GET /big.bin HTTP/1.1" 200')
    assert "Traceback" not in log


def test_ranges_over_tls_in_pieces_leave_the_memory_as_it_was(serve_process, sparse):
    """In 64 KiB pieces through the TLS transport (no whole GiB: it would take seconds)."""
    server, port = start(serve_process, sparse, tls=True)
    with connect(port, context=client_context(sparse, ["http/1.1"]), timeout=30) as sock:
        assert warmed(sock) == 0
        before = rss(server.proc.pid)
        ranges_and_whole(sock, whole=False)
        after = rss(server.proc.pid)
    assert after - before <= GROWTH, f"the server grew by {(after - before) / MIB:.1f} MiB sending 256 MiB"


def test_ranges_over_http2_in_pieces_leave_the_memory_as_it_was(serve_process, sparse):
    """h2c (prior knowledge), httpx streaming: 64 MiB ranges, each read and dropped (the h2
    library reads some 50 MiB a second: no whole GiB)."""
    server, port = start(serve_process, sparse)
    url = f"http://127.0.0.1:{port}/big.bin"

    async def fetch(client, start: int, size: int) -> int:
        headers = {"range": f"bytes={start}-{start + size - 1}"}
        async with client.stream("GET", url, headers=headers) as response:
            assert response.http_version == "HTTP/2" and response.status_code == 206
            assert int(response.headers["content-length"]) == size
            got = 0
            async for chunk in response.aiter_raw(1 << 20):
                got += len(chunk)
            return got

    async def talk() -> int:
        async with httpx.AsyncClient(http1=False, http2=True, timeout=30) as client:
            assert await fetch(client, 0, 64 * MIB) == 64 * MIB  # (as warmed: not counted)
            before = rss(server.proc.pid)
            for start in (GIB // 3, GIB // 2, GIB - 64 * MIB):
                assert await fetch(client, start, 64 * MIB) == 64 * MIB
            return rss(server.proc.pid) - before

    grown = asyncio.run(asyncio.wait_for(talk(), 50))
    assert grown <= GROWTH, f"the server grew by {grown / MIB:.1f} MiB sending 192 MiB over HTTP/2"
    server.wait_for_log_count('"GET /big.bin HTTP/2" 206', 4)


# ---- a client that stops reading ---------------------------------------------------------------


def stop_reading(port: int, path: str, context=None):
    """A client with a small receive buffer that reads the head and a few KiB, then no more."""
    sock = connect(port, rcvbuf=4096, context=context)
    sock.sendall(request(path))
    reader = Reader(sock)
    status, headers = reader.head()
    assert status == 200 and int(headers["content-length"]) == 64 * MIB
    reader.exactly(8192 - min(len(reader.buffer), 8192), keep=False)
    return sock


@pytest.mark.parametrize(
    ("path", "tls"),
    [("/file.bin", False), ("/file.bin", True), ("/app/", False)],
    ids=["static-sendfile", "static-tls-pieces", "app-body-messages"],
)
def test_a_client_that_stops_reading_is_cut_off_at_the_send_timeout(serve_process, tmp_path, path, tls):
    (tmp_path / "public").mkdir()
    with open(tmp_path / "public" / "file.bin", "wb") as f:
        f.truncate(64 * MIB)
    app = '[apps.big]\napp = "control:big_download"\nmount = "/app"\n'  # 64 MiB in 256 KiB bodies
    server, port = start(serve_process, tmp_path, apps=app, tls=tls, limits="send_timeout = 1")
    context = client_context(tmp_path, ["http/1.1"]) if tls else None
    before = rss(server.proc.pid)
    sock = stop_reading(port, path, context)
    with sock:
        assert tcp_state(sock) == TCP_ESTABLISHED  # still open: the client may yet read on
        waited = wait_closed_by_peer(sock, timeout=10)  # the 1 s timeout, seen by a tick each second
        grown = rss(server.proc.pid) - before
        left = read_to_end(sock, 64 * MIB)
    assert left < 32 * MIB, f"{left} bytes arrived after the client stopped: it was not cut off"
    assert grown <= GROWTH, f"the server grew by {grown / MIB:.1f} MiB for a client that reads nothing"
    assert waited < 10
    # The server goes on serving.
    with connect(port, context=context) as again:
        again.sendall(request("/file.bin", extra="range: bytes=0-9\r\n", close=True))
        reader = Reader(again)
        assert reader.head()[0] == 206 and reader.exactly(10) == bytes(10)


# ---- HTTP/2: a client's small window ------------------------------------------------------------


def test_http2_keeps_to_a_small_window_the_client_gives(serve, tmp_path):
    """A 16 KiB stream window and the connection's 64 KiB: the client gives more only once it
    has what it allowed, by hand. h2 raises FlowControlError on any DATA past a window."""
    (tmp_path / "public").mkdir()
    data = bytes(range(251)) * (4 * MIB // 251 + 1)
    data = data[: 4 * MIB + 123]
    (tmp_path / "public" / "data.bin").write_bytes(data)
    config = write_site(tmp_path, STATIC)
    serve(str(config))
    window = 16384
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.local_settings = h2.settings.Settings(
        client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window}
    )
    conn.initiate_connection()  # the preface's SETTINGS carry the window
    with socket.create_connection(("127.0.0.1", site_port(tmp_path)), timeout=10) as sock:
        sock.sendall(conn.data_to_send())
        stream = conn.get_next_available_stream_id()
        conn.send_headers(
            stream,
            [(":method", "GET"), (":path", "/data.bin"), (":scheme", "http"), (":authority", "t")],
            end_stream=True,
        )
        sock.sendall(conn.data_to_send())
        body = bytearray()
        status = None
        unacked = 0  # flow-controlled bytes the client has not given back yet
        largest = 0  # the most the server had in flight on the stream at once
        ended = False
        for _ in range(100_000):  # bounded: a 4 MiB body in 16 KiB windows is ~260 windows
            if ended:
                break
            incoming = sock.recv(65536)
            assert incoming, "the server closed the connection"
            for event in conn.receive_data(incoming):  # raises on DATA beyond a window
                if isinstance(event, h2.events.ResponseReceived):
                    status = dict(event.headers)[":status"]
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data
                    unacked += event.flow_controlled_length
                    largest = max(largest, unacked)
                elif isinstance(event, h2.events.StreamEnded):
                    ended = True
            if unacked >= window and not ended:  # the whole window: give it back
                conn.increment_flow_control_window(unacked, stream_id=stream)
                conn.increment_flow_control_window(unacked)
                unacked = 0
            sock.sendall(conn.data_to_send())
        assert ended
    assert status == "200"
    assert len(body) == len(data) and body == data
    assert largest <= window  # never more in flight than the stream's window allowed
