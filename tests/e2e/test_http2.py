"""HTTP/2, end to end: httpx and curl as clients over TLS (ALPN) and cleartext (prior
knowledge); the h2 library as a raw client for malformed requests and resets."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
import httpx
import pytest
import trustme
from conftest import free_port, raw_h2_client


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def h2_server(serve):
    return lambda *flags: serve("h2_apps:app", *flags)


@pytest.fixture
def tls_server(serve, ca, tmp_path):
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    server = serve("h2_apps:app", "--ssl-certfile", str(tmp_path / "server.pem"))
    server.ca = str(tmp_path / "ca.pem")
    return server


def h2c_client(server) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, http1=False, http2=True, timeout=20)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


# ---- through real clients ----------------------------------------------------------------------


def test_h2c_prior_knowledge_many_streams_on_one_connection(h2_server):
    server = h2_server()

    async def talk():
        async with h2c_client(server) as client:
            responses = await asyncio.gather(*(client.get(f"/n/{i}") for i in range(100)))
            scope = (await client.get("/scope?x=1", headers={"x-test": "yes"})).json()
            return responses, scope

    responses, scope = run(talk())
    assert all(r.http_version == "HTTP/2" and r.status_code == 200 for r in responses)
    assert [r.text for r in responses] == [f"/n/{i}" for i in range(100)]
    assert "connection" not in responses[0].headers  # connection-specific: dropped
    assert responses[0].headers["server"] == "asgihost" and "date" in responses[0].headers
    assert scope["http_version"] == "2" and scope["scheme"] == "http" and scope["query_string"] == "x=1"
    assert scope["headers"][0][0] == "host"  # :authority, as the ASGI spec asks
    assert ["x-test", "yes"] in scope["headers"]
    assert not any(name.startswith(":") for name, _ in scope["headers"])
    log = server.wait_for_log_count('HTTP/2" 200', 101)  # access lines follow each app's end
    assert log.count('HTTP/2" 200') == 101


def test_head_gets_the_head_of_get_and_no_data(h2_server):
    # The app sends its body for HEAD as for GET (as ASGI apps do); HTTP/2 sends none of it,
    # as HTTP/1.1 does not (RFC 9110 9.3.2), and httpx would refuse DATA on a HEAD.
    server = h2_server()

    async def talk():
        async with h2c_client(server) as client:
            return await client.head("/download?size=200000"), await client.get("/download?size=200000")

    head, get = run(talk())
    assert head.status_code == get.status_code == 200 and head.http_version == "HTTP/2"
    assert head.content == b"" and len(get.content) == 200000


def test_tls_alpn_negotiates_h2_and_http11_still_works(tls_server):
    server = tls_server
    url = f"https://127.0.0.1:{server.port}"

    async def talk():
        context = ssl.create_default_context(cafile=server.ca)
        async with httpx.AsyncClient(verify=context, http2=True, timeout=20) as client:
            responses = await asyncio.gather(*(client.get(f"{url}/t/{i}") for i in range(20)))
            scope = (await client.get(f"{url}/scope")).json()
        async with httpx.AsyncClient(verify=context, timeout=20) as client:
            plain = await client.get(f"{url}/scope")
        return responses, scope, plain

    responses, scope, plain = run(talk())
    assert {r.http_version for r in responses} == {"HTTP/2"}
    assert scope["scheme"] == "https" and scope["http_version"] == "2"
    assert plain.http_version == "HTTP/1.1" and plain.json()["http_version"] == "1.1"


def test_large_upload_and_download_beyond_the_windows(h2_server):
    server = h2_server()
    upload = bytes(range(256)) * (5 * 4096)  # 5 MiB

    async def talk():
        async with h2c_client(server) as client:
            echoed = await client.post("/echo", content=upload)
            download = await client.get("/download?size=8388608")
            parallel = await asyncio.gather(
                *(client.post("/echo", content=upload[:1_000_000]) for _ in range(4))
            )
            return echoed, download, parallel

    echoed, download, parallel = run(talk())
    assert echoed.content == upload
    assert len(download.content) == 8 << 20 and set(download.content) == {ord("d")}
    assert all(r.content == upload[:1_000_000] for r in parallel)


def test_app_failures_reset_only_their_stream(h2_server):
    server = h2_server()

    async def talk():
        async with h2c_client(server) as client:
            before = await client.get("/raise-before")
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get("/raise-mid")
            bad = await client.get("/bad-header")
            after = await client.get("/still-here")
            return before, bad, after

    before, bad, after = run(talk())
    assert before.status_code == 500 and bad.status_code == 500
    assert after.status_code == 200 and after.text == "/still-here"
    log = server.log()
    assert "h2 app broke before responding" in log and "h2 app broke mid-response" in log
    assert server.proc.poll() is None


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_http2_prior_knowledge(h2_server):
    server = h2_server()
    result = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "-w", "%{http_version}", f"{server.url}/curl"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "/curl2"


# ---- a raw h2 client ---------------------------------------------------------------------------


class RawH2:
    """A client connection that sends whatever headers it is given."""

    def __init__(self, server) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        self.conn = raw_h2_client()
        self.raw = b""  # every byte received
        self.flush()

    def flush(self) -> None:
        try:
            self.sock.sendall(self.conn.data_to_send())
        except OSError:
            pass  # the server has closed the connection

    def request(self, headers: list[tuple[bytes, bytes]], end_stream: bool = True) -> int:
        stream_id = self.conn.get_next_available_stream_id()
        self.conn.send_headers(stream_id, headers, end_stream=end_stream)
        self.flush()
        return stream_id

    def events_until(self, done, timeout: float = 5.0) -> list:
        seen: list = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            self.raw += data
            if self.conn.state_machine.state == h2.connection.ConnectionState.CLOSED:
                continue  # after GOAWAY h2 reads no more; the raw bytes still count
            seen += self.conn.receive_data(data)
            self.flush()
            if done(seen):
                break
        return seen


def GET(path: bytes = b"/ok", *extra: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    return [
        (b":method", b"GET"),
        (b":scheme", b"http"),
        (b":path", path),
        (b":authority", b"localhost"),
        *extra,
    ]


def reset_code(events, stream_id):
    for event in events:
        if isinstance(event, h2.events.StreamReset) and event.stream_id == stream_id:
            return event.error_code
    return None


@pytest.mark.parametrize(
    ("name", "headers"),
    [
        ("uppercase name", GET(b"/m", (b"X-Upper", b"1"))),
        ("connection header", GET(b"/m", (b"connection", b"keep-alive"))),
        ("transfer-encoding", GET(b"/m", (b"transfer-encoding", b"chunked"))),
        ("te other than trailers", GET(b"/m", (b"te", b"gzip"))),
        ("CR in a value", GET(b"/m", (b"x-a", b"a\rb"))),
        ("NUL in a value", GET(b"/m", (b"x-a", b"a\x00b"))),
        ("space in a name", GET(b"/m", (b"x a", b"1"))),
        ("leading space in a value", GET(b"/m", (b"x-a", b" 1"))),
        ("missing :path", [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"x")]),
        ("missing :method", [(b":scheme", b"http"), (b":path", b"/m"), (b":authority", b"x")]),
        ("duplicate :method", [(b":method", b"GET"), *GET(b"/m")]),
        ("unknown pseudo-header", GET(b"/m", (b":status", b"200"))),
        (
            "pseudo-header after a field",
            [(b":method", b"GET"), (b"x-a", b"1"), (b":scheme", b"http"), (b":path", b"/m")],
        ),
        ("host disagrees with :authority", GET(b"/m", (b"host", b"other.example"))),
        ("plain CONNECT", [(b":method", b"CONNECT"), (b":authority", b"example.com:443")]),
    ],
)
def test_malformed_requests_reset_the_stream_and_never_reach_the_app(h2_server, name, headers):
    server = h2_server()
    client = RawH2(server)
    bad = client.request(headers)
    events = client.events_until(lambda seen: reset_code(seen, bad) is not None)
    assert reset_code(events, bad) == 1, name  # PROTOCOL_ERROR, a stream error
    good = client.request(GET(b"/after"))
    events = client.events_until(
        lambda seen: any(isinstance(e, h2.events.StreamEnded) and e.stream_id == good for e in seen)
    )
    assert any(isinstance(e, h2.events.DataReceived) and e.data == b"/after" for e in events), name
    assert "APP-CALLED /m" not in server.log()
    client.sock.close()


def test_a_stream_reset_by_the_client_disconnects_the_app(h2_server):
    server = h2_server()
    client = RawH2(server)
    stream_id = client.request(GET(b"/wait-disconnect"), end_stream=False)
    server.wait_for_log("APP-CALLED /wait-disconnect")
    client.conn.reset_stream(stream_id, 0x8)  # CANCEL
    client.flush()
    server.wait_for_log("DISCONNECT-SEEN")
    other = client.request(GET(b"/alive"))
    events = client.events_until(
        lambda seen: any(isinstance(e, h2.events.StreamEnded) and e.stream_id == other for e in seen)
    )
    assert any(isinstance(e, h2.events.DataReceived) and e.data == b"/alive" for e in events)
    client.sock.close()


def test_graceful_shutdown_sends_goaway_and_finishes_streams_in_flight(h2_server):
    server = h2_server()
    client = RawH2(server)
    slow = client.request(GET(b"/slow"))
    server.wait_for_log("APP-CALLED /slow")
    server.proc.send_signal(signal.SIGINT)
    events = client.events_until(lambda seen: b"slow done" in client.raw)
    goaways = [e for e in events if isinstance(e, h2.events.ConnectionTerminated)]
    assert goaways and goaways[0].last_stream_id == slow and goaways[0].error_code == 0
    assert b"slow done" in client.raw  # the stream in flight finished after the GOAWAY
    assert server.proc.wait(10) == 0
    client.sock.close()


def test_a_listener_without_h2_refuses_the_preface(serve, tmp_path):
    port = free_port()
    (tmp_path / "asgihost.toml").write_text(
        f'[listeners.web]\nbind = "127.0.0.1:{port}"\nprotocols = ["http/1.1"]\n[apps.a]\napp = "h2_apps:app"\n'
    )
    server = serve(str(tmp_path / "asgihost.toml"), "--port", str(port))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 400 ")
    assert server.proc.poll() is None


def test_a_protocol_error_ends_the_connection_with_goaway(h2_server):
    server = h2_server()
    client = RawH2(server)
    client.sock.sendall(
        b"\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    )  # WINDOW_UPDATE, increment 0, stream 0
    events = client.events_until(
        lambda seen: any(isinstance(e, h2.events.ConnectionTerminated) for e in seen)
    )
    assert any(isinstance(e, h2.events.ConnectionTerminated) for e in events)
    assert server.proc.poll() is None


def test_h2c_upgrade_makes_the_request_stream_1(h2_server):
    server = h2_server()
    client_conn = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding=None)
    )
    settings = client_conn.initiate_upgrade_connection()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.sendall(
        b"GET /scope?up=1 HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n"
        b"Upgrade: h2c\r\nHTTP2-Settings: " + settings + b"\r\nx-kept: yes\r\n\r\n"
    )
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ") and b"upgrade: h2c" in head.lower()
    sock.sendall(client_conn.data_to_send())
    events = client_conn.receive_data(rest) if rest else []
    body = b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived))
    deadline = time.monotonic() + 5
    while not any(isinstance(e, h2.events.StreamEnded) and e.stream_id == 1 for e in events):
        assert time.monotonic() < deadline
        new = client_conn.receive_data(sock.recv(65536))
        sock.sendall(client_conn.data_to_send())
        body += b"".join(e.data for e in new if isinstance(e, h2.events.DataReceived))
        events += new
    import json

    scope = json.loads(body)
    assert scope["http_version"] == "2" and scope["query_string"] == "up=1"
    assert ["x-kept", "yes"] in scope["headers"]
    assert not any(name in ("upgrade", "http2-settings", "connection") for name, _ in scope["headers"])
    # the connection goes on as HTTP/2
    client_conn.send_headers(3, GET(b"/next"), end_stream=True)
    sock.sendall(client_conn.data_to_send())
    seen = []
    while not any(isinstance(e, h2.events.StreamEnded) and e.stream_id == 3 for e in seen):
        assert time.monotonic() < deadline
        seen += client_conn.receive_data(sock.recv(65536))
    assert any(isinstance(e, h2.events.DataReceived) and e.data == b"/next" for e in seen)
    sock.close()


def test_an_upgrade_request_with_a_body_is_served_over_http11(h2_server):
    server = h2_server()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
            b"HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Length: 10\r\n\r\n01234"
        )
        server.wait_for_log("APP-CALLED /echo")  # the head is taken: the rest comes apart
        sock.sendall(b"56789")
        response = b""
        while not response.endswith(b"0123456789"):
            chunk = sock.recv(65536)
            assert chunk, response
            response += chunk
    assert response.startswith(b"HTTP/1.1 200 ")


# ---- limits and floods -------------------------------------------------------------------------


def terminated(events):
    return next((e for e in events if isinstance(e, h2.events.ConnectionTerminated)), None)


def test_content_length_that_disagrees_with_the_data_is_a_stream_error(h2_server):
    server = h2_server()
    client = RawH2(server)
    longer = client.request(GET(b"/echo", (b"content-length", b"3")), end_stream=False)
    client.conn.send_data(longer, b"too long", end_stream=True)
    shorter = client.request(GET(b"/echo", (b"content-length", b"10")), end_stream=False)
    client.conn.send_data(shorter, b"short", end_stream=True)
    promised = client.request(GET(b"/echo", (b"content-length", b"5")), end_stream=True)
    client.flush()
    events = client.events_until(
        lambda seen: all(reset_code(seen, s) is not None for s in (longer, shorter, promised))
    )
    assert [reset_code(events, s) for s in (longer, shorter, promised)] == [1, 1, 1]
    good = client.request(GET(b"/after"))
    events = client.events_until(
        lambda seen: any(isinstance(e, h2.events.StreamEnded) and e.stream_id == good for e in seen)
    )
    assert any(isinstance(e, h2.events.DataReceived) and e.data == b"/after" for e in events)
    client.sock.close()


def test_rapid_reset_gets_enhance_your_calm(h2_server):
    server = h2_server()
    client = RawH2(server)
    for _ in range(400):
        stream_id = client.conn.get_next_available_stream_id()
        client.conn.send_headers(stream_id, GET(b"/wait-disconnect"), end_stream=False)
        client.conn.reset_stream(stream_id, 0x8)
    client.flush()
    goaway = terminated(client.events_until(terminated))
    assert goaway is not None and goaway.error_code == 11  # ENHANCE_YOUR_CALM
    assert "too many reset streams" in server.wait_for_log("too many reset streams")
    assert server.proc.poll() is None


@pytest.mark.parametrize("flood", ["ping", "settings"])
def test_ping_and_settings_floods_get_enhance_your_calm(h2_server, flood):
    server = h2_server()
    client = RawH2(server)
    for i in range(300):
        if flood == "ping":
            client.conn.ping(i.to_bytes(8, "big"))
        else:
            client.conn.update_settings({h2.settings.SettingCodes.MAX_FRAME_SIZE: 16384 + i})
    client.flush()
    goaway = terminated(client.events_until(terminated))
    assert goaway is not None and goaway.error_code == 11
    assert server.proc.poll() is None


def test_a_stream_beyond_the_concurrent_limit_is_refused_and_the_others_live_on(h2_server):
    server = h2_server()
    client = RawH2(server)
    waiting = []
    for _ in range(101):  # the server allows 100
        waiting.append(client.conn.get_next_available_stream_id())
        client.conn.send_headers(waiting[-1], GET(b"/wait-disconnect"), end_stream=False)
        client.conn.remote_settings.max_concurrent_streams = 1000  # let the client break the limit
    client.flush()
    events = client.events_until(lambda seen: any(isinstance(e, h2.events.StreamReset) for e in seen))
    resets = [e for e in events if isinstance(e, h2.events.StreamReset)]
    assert [(e.stream_id, e.error_code) for e in resets] == [(waiting[-1], 7)]  # REFUSED_STREAM
    assert terminated(events) is None
    client.conn.reset_stream(waiting[0], 0x8)  # one slot frees; a new stream is served
    ok = client.request(GET())
    events = client.events_until(lambda seen: any(isinstance(e, h2.events.StreamEnded) for e in seen))
    assert any(isinstance(e, h2.events.ResponseReceived) and e.stream_id == ok for e in events)
    assert terminated(events) is None
    assert server.proc.poll() is None


def test_header_list_over_the_limit_ends_the_connection_early(h2_server):
    server = h2_server()
    client = RawH2(server)
    client.conn.max_outbound_frame_size = 16384
    client.request(GET(b"/big", *[(b"x-h%d" % i, b"v" * 1000) for i in range(80)]))  # 80 KB > 64 KiB
    goaway = terminated(client.events_until(terminated))
    assert goaway is not None
    assert "APP-CALLED /big" not in server.log()
    assert server.proc.poll() is None


def test_continuation_flood_is_cut_off(h2_server):
    server = h2_server()
    client = RawH2(server)
    # HEADERS without END_HEADERS, then CONTINUATION frames that never end the block
    block = b"\x82\x84\x86"  # :method GET, :path /, :scheme http
    frames = struct.pack("!HBBBL", 0, len(block), 0x1, 0x1, 1) + block  # END_STREAM only
    continuation = b"\x40\x03x-a\x01b"  # literal with indexing x-a: b
    for _ in range(200):
        frames += struct.pack("!HBBBL", 0, len(continuation), 0x9, 0x0, 1) + continuation
    client.sock.sendall(frames)
    goaway = terminated(client.events_until(terminated))
    assert goaway is not None
    assert server.proc.poll() is None


def test_continuation_of_full_frames_is_cut_off_near_the_header_list_size(h2_server):
    server = h2_server("--log-level", "debug")
    client = RawH2(server)
    block = b"\x82\x84\x86"
    frames = struct.pack("!HBBBL", 0, len(block), 0x1, 0x1, 1) + block
    filler = b"\x00" * 16384  # never decoded: refused before the block is complete
    for _ in range(10):  # 160 KiB: h2 alone would buffer 64 such frames (1 MiB) first
        frames += len(filler).to_bytes(3, "big") + b"\x09\x00" + (1).to_bytes(4, "big") + filler
    try:
        client.sock.sendall(frames)
    except OSError:
        pass  # the server closed while we were still sending
    client.events_until(terminated)
    server.wait_for_log("Too many continuation frames")
    assert server.proc.poll() is None


def test_http11_scopes_do_not_offer_trailers(h2_server):
    server = h2_server()
    response = httpx.get(f"{server.url}/trailers", timeout=10)
    assert response.status_code == 200 and response.text == "ttttt"


# ---- WebSockets over HTTP/2 (RFC 8441) ---------------------------------------------------------


def ws_connect(client: RawH2, path: bytes, *extra: tuple[bytes, bytes]) -> int:
    headers = [
        (b":method", b"CONNECT"),
        (b":protocol", b"websocket"),
        (b":scheme", b"http"),
        (b":path", path),
        (b":authority", b"localhost"),
        (b"sec-websocket-version", b"13"),
        *extra,
    ]
    return client.request(headers, end_stream=False)


def test_server_announces_extended_connect(h2_server):
    server = h2_server()
    client = RawH2(server)
    events = client.events_until(
        lambda seen: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in seen)
    )
    changed = next(e for e in events if isinstance(e, h2.events.RemoteSettingsChanged)).changed_settings
    assert changed[h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL].new_value == 1
    client.sock.close()


def test_websocket_over_h2_echo_subprotocol_and_close(serve):
    import wsproto.connection
    import wsproto.events

    server = serve("ws_apps:app")
    client = RawH2(server)
    stream_id = ws_connect(client, b"/echo", (b"sec-websocket-protocol", b"chat"))
    events = client.events_until(lambda seen: any(isinstance(e, h2.events.ResponseReceived) for e in seen))
    response = next(e for e in events if isinstance(e, h2.events.ResponseReceived))
    headers = dict(response.headers)
    assert headers[b":status"] == b"200" and headers[b"sec-websocket-protocol"] == b"chat"
    ws = wsproto.connection.Connection(wsproto.connection.ConnectionType.CLIENT)
    messages = []

    def send(event) -> None:
        data = ws.send(event)
        for at in range(0, len(data), 16384):  # in frames the server allows
            client.conn.send_data(stream_id, data[at : at + 16384])
        client.flush()

    def until(predicate):
        def done(seen):
            for event in seen[len(done.taken) :]:
                if isinstance(event, h2.events.DataReceived) and event.stream_id == stream_id:
                    client.conn.acknowledge_received_data(event.flow_controlled_length, stream_id)
                    ws.receive_data(event.data)
                    messages.extend(ws.events())
            client.flush()
            done.taken = list(seen)
            return predicate()

        done.taken = []
        return client.events_until(done, timeout=10)

    send(wsproto.events.TextMessage(data="hello over h2"))
    until(lambda: any(isinstance(m, wsproto.events.TextMessage) for m in messages))
    assert [m.data for m in messages if isinstance(m, wsproto.events.TextMessage)] == ["hello over h2"]
    big = os.urandom(200_000)  # beyond the client's window (65,535) on the way back
    send(wsproto.events.BytesMessage(data=big))
    until(
        lambda: sum(len(m.data) for m in messages if isinstance(m, wsproto.events.BytesMessage)) >= len(big)
    )
    assert b"".join(m.data for m in messages if isinstance(m, wsproto.events.BytesMessage)) == big
    send(wsproto.events.TextMessage(data="close:4005:done"))
    events = until(lambda: any(isinstance(m, wsproto.events.CloseConnection) for m in messages))
    close = next(m for m in messages if isinstance(m, wsproto.events.CloseConnection))
    assert (close.code, close.reason) == (4005, "done")
    send(close.response())
    client.events_until(
        lambda seen: any(isinstance(e, h2.events.StreamEnded) and e.stream_id == stream_id for e in seen)
    )
    server.wait_for_log("AFTER-CLOSE websocket.disconnect 4005")
    assert '"WebSocket /echo" 200' in server.log()
    # the connection still serves plain requests
    other = client.request(GET(b"/describe-http"))
    events = client.events_until(
        lambda seen: any(isinstance(e, h2.events.StreamEnded) and e.stream_id == other for e in seen)
    )
    assert any(
        isinstance(e, h2.events.DataReceived) and e.data == b"plain http /describe-http" for e in events
    )
    client.sock.close()


def test_websocket_over_h2_rejected_before_accept_is_403(serve):
    server = serve("ws_apps:app")
    client = RawH2(server)
    stream_id = ws_connect(client, b"/reject")
    events = client.events_until(
        lambda seen: any(isinstance(e, h2.events.StreamEnded) and e.stream_id == stream_id for e in seen)
    )
    response = next(e for e in events if isinstance(e, h2.events.ResponseReceived))
    assert dict(response.headers)[b":status"] == b"403"
    unknown = client.request(
        [
            (b":method", b"CONNECT"),
            (b":protocol", b"chat"),
            (b":scheme", b"http"),
            (b":path", b"/echo"),
            (b":authority", b"x"),
        ],
        end_stream=False,
    )
    events = client.events_until(
        lambda seen: any(isinstance(e, h2.events.ResponseReceived) and e.stream_id == unknown for e in seen)
    )
    assert (
        dict(
            next(
                e for e in events if isinstance(e, h2.events.ResponseReceived) and e.stream_id == unknown
            ).headers
        )[b":status"]
        == b"501"
    )
    client.sock.close()


def test_http_flag_chooses_the_protocols(h2_server):
    only_h2 = h2_server("--http", "h2")
    with socket.create_connection(("127.0.0.1", only_h2.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 505 ")

    async def talk(server):
        async with h2c_client(server) as client:
            return (await client.get("/h2-only")).http_version

    assert run(talk(only_h2)) == "HTTP/2"
    only_h1 = h2_server("--http", "httptools")
    with socket.create_connection(("127.0.0.1", only_h1.port), timeout=5) as sock:
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize("http", ["httptools", "zttp"])
def test_http2_flag_offers_h2_beside_http11_as_uvicorns(h2_server, http):
    """``uvicorn --http zttp --http2``: both protocols on the one port (zttp is served by
    httptools here, which the start says once)."""
    server = h2_server("--http", http, "--http2")

    async def talk():
        async with h2c_client(server) as client, httpx.AsyncClient(base_url=server.url) as h1:
            return (await client.get("/both")).http_version, (await h1.get("/both")).http_version

    assert run(talk()) == ("HTTP/2", "HTTP/1.1")
    notes = server.log().count("--http zttp: asgihost serves HTTP/1.1 on httptools and HTTP/2 on h2")
    assert notes == (1 if http == "zttp" else 0)


def test_malformed_requests_spend_the_reset_budget_too(h2_server):
    """MadeYouReset: the client makes the server reset streams, here by malformed requests."""
    server = h2_server()
    client = RawH2(server)
    seen: list = []
    for _ in range(10):  # in batches under the stream limit, each answered before the next
        batch = []
        for _ in range(40):
            stream_id = client.conn.get_next_available_stream_id()
            client.conn.send_headers(stream_id, GET(b"/m", (b"X-Upper", b"1")), end_stream=True)
            batch.append(stream_id)
        client.flush()
        seen += client.events_until(
            lambda events, batch=batch: (
                terminated(events) is not None or all(reset_code(events, s) for s in batch)
            )
        )
        if terminated(seen):
            break
    goaway = terminated(seen)
    assert goaway is not None and goaway.error_code == 11
    assert "APP-CALLED /m" not in server.log()
    assert server.proc.poll() is None


def test_a_response_head_bigger_than_a_frame_goes_out_in_continuation_frames(h2_server):
    server = h2_server()

    async def talk():
        async with h2c_client(server) as client:
            return await client.get("/big-header"), await client.get("/after-big")

    big, after = run(talk())
    assert big.headers["x-big"] == "b" * 40000 and big.headers["x-small"] == "s" and big.text == "big"
    assert after.text == "/after-big"
