"""Files going out of a static app, in a server process whose memory is watched: a 1 GiB sparse
file by sendfile (plain HTTP/1.1) and in pieces (TLS, HTTP/2) never grows the process by more
than a few pieces; a client that stops reading is cut off at the send timeout, for a file and
for an app's plain body messages alike; HTTP/2 keeps to a small window a client gives."""

from __future__ import annotations

import socket

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest
from static_support import (
    MIB,
    TCP_ESTABLISHED,
    H2Client,
    Memory,
    Reader,
    client_context,
    connect,
    read_to_end,
    request,
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
        memory = Memory(server.proc.pid)
        ranges_and_whole(sock, whole=True)
        grown = memory.grown()
    assert grown <= GROWTH, f"the server grew by {grown / MIB:.1f} MiB sending 1.25 GiB"
    log = server.wait_for_log_count('"GET /big.bin HTTP/1.1" 206', 5)
    assert '"GET /big.bin HTTP/1.1" 200' in server.wait_for_log('"GET /big.bin HTTP/1.1" 200')
    assert "Traceback" not in log


def test_ranges_over_tls_in_pieces_leave_the_memory_as_it_was(serve_process, sparse):
    """In 64 KiB pieces through the TLS transport (no whole GiB: it would take seconds)."""
    server, port = start(serve_process, sparse, tls=True)
    with connect(port, context=client_context(sparse, ["http/1.1"]), timeout=30) as sock:
        assert warmed(sock) == 0
        memory = Memory(server.proc.pid)
        ranges_and_whole(sock, whole=False)
        grown = memory.grown()
    assert grown <= GROWTH, f"the server grew by {grown / MIB:.1f} MiB sending 256 MiB"


def test_ranges_over_http2_in_pieces_leave_the_memory_as_it_was(serve_process, sparse):
    """h2c (prior knowledge): 64 MiB ranges and then 128 MiB, each read and dropped."""
    server, port = start(serve_process, sparse)
    client = H2Client(port)
    try:
        head, got = client.get("/big.bin", {"range": f"bytes=0-{64 * MIB - 1}"}, 64 * MIB)  # (as warmed)
        assert head[":status"] == "206" and got == 64 * MIB
        memory = Memory(server.proc.pid)
        for start_at, size in ((GIB // 3, 64 * MIB), (GIB - 64 * MIB, 64 * MIB), (GIB // 2, 128 * MIB)):
            range_ = f"bytes={start_at}-{start_at + size - 1}"
            head, got = client.get("/big.bin", {"range": range_}, size)
            assert head[":status"] == "206" and head["content-length"] == str(size) and got == size
        grown = memory.grown()
    finally:
        client.close()
    assert grown <= GROWTH, f"the server grew by {grown / MIB:.1f} MiB sending 256 MiB over HTTP/2"
    server.wait_for_log_count('"GET /big.bin HTTP/2" 206', 4)


def test_an_apps_body_messages_over_http2_leave_the_memory_as_it_was(serve_process, tmp_path):
    """control:big_download sends 64 MiB in 256 KiB bodies, awaiting nothing but send."""
    (tmp_path / "public").mkdir()
    app = '[apps.big]\napp = "control:big_download"\nmount = "/app"\n'
    server, port = start(serve_process, tmp_path, apps=app)
    client = H2Client(port)
    try:
        head, got = client.get("/app/", {}, 64 * MIB)  # (as warmed: not counted)
        memory = Memory(server.proc.pid)
        head, got = client.get("/app/", {}, 64 * MIB)
        assert head[":status"] == "200" and got == 64 * MIB
        grown = memory.grown()
    finally:
        client.close()
    assert grown <= GROWTH, (
        f"the server grew by {grown / MIB:.1f} MiB sending 64 MiB of app bodies over HTTP/2"
    )


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


def test_clients_that_stop_reading_are_cut_off_at_the_send_timeout(serve_process, tmp_path):
    """Three at once: a file by sendfile, a file in pieces over TLS, an app's 64 MiB in plain
    body messages (send_timeout applies to any HTTP/1.1 response)."""
    (tmp_path / "public").mkdir()
    with open(tmp_path / "public" / "file.bin", "wb") as f:
        f.truncate(64 * MIB)
    app = '[apps.big]\napp = "control:big_download"\nmount = "/app"\n'  # 64 MiB in 256 KiB bodies
    config = write_site(tmp_path, STATIC + app, also_tls=True, limits="send_timeout = 1")
    server = serve_process(str(config))
    port, tls_port = site_port(tmp_path), site_port(tmp_path, "tls")
    context = client_context(tmp_path, ["http/1.1"])
    memory = Memory(server.proc.pid)
    clients = {
        "sendfile": stop_reading(port, "/file.bin"),
        "tls pieces": stop_reading(tls_port, "/file.bin", context),
        "app body": stop_reading(port, "/app/"),
    }
    try:
        for name, sock in clients.items():
            assert tcp_state(sock) == TCP_ESTABLISHED, name  # still open: the client may yet read on
        for sock in clients.values():
            wait_closed_by_peer(sock, timeout=10)  # 1 s, as a tick once a second sees it; else fails
        grown = memory.grown()
        for name, sock in clients.items():
            left = read_to_end(sock, 64 * MIB)
            assert left < 32 * MIB, f"{name}: {left} bytes arrived after the client stopped"
    finally:
        for sock in clients.values():
            sock.close()
    assert grown <= GROWTH, f"the server grew by {grown / MIB:.1f} MiB for clients that read nothing"
    # The server goes on serving, on both listeners.
    for where, tls in ((port, None), (tls_port, context)):
        with connect(where, context=tls) as again:
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
