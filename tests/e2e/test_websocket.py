"""WebSockets over HTTP/1.1, end to end: the websockets client for the ASGI messages, raw frames
for RFC 6455 strictness, and hostile clients (bombs, silence, no reading) for the limits."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import signal
import socket
import struct
import time
import zlib

import pytest
from conftest import http_exchange
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

# ---- a raw client ----------------------------------------------------------------------------


def handshake(
    server, path: str = "/echo", extra: bytes = b"", rcvbuf: int | None = None
) -> tuple[socket.socket, bytes]:
    """Open a WebSocket by hand; returns the socket and the response head."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16))
    sock.sendall(
        b"GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n" % (path.encode(), key, extra)
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 101 "), head
    return sock, head


def frame(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0, mask: bool = True) -> bytes:
    first = (0x80 if fin else 0) | rsv << 4 | opcode
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", first, (0x80 if mask else 0) | length)
    elif length < 65536:
        head = struct.pack("!BBH", first, (0x80 if mask else 0) | 126, length)
    else:
        head = struct.pack("!BBQ", first, (0x80 if mask else 0) | 127, length)
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if length < 4096 else _xor(payload, key)
    return head + key + masked


def _xor(payload: bytes, key: bytes) -> bytes:
    repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(payload), "big")


def read_frame(sock: socket.socket) -> tuple[int, bytes]:
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    first, second = exactly(2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", exactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", exactly(8))
    return first & 0x0F, exactly(length)


def close_code(sock: socket.socket) -> int:
    """Read frames until the server's close frame; its code."""
    while True:
        opcode, payload = read_frame(sock)
        if opcode == 0x8:
            return struct.unpack("!H", payload[:2])[0]


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


@pytest.fixture
def ws_server(serve):
    return lambda *flags: serve("ws_apps:app", *flags)


def url(server, path: str) -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


# ---- ASGI messages through a real client -------------------------------------------------------


def test_text_bytes_large_and_fragmented_messages(ws_server):
    server = ws_server()

    async def talk(compression):
        async with connect(url(server, "/echo"), compression=compression, max_size=None) as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
            await ws.send(b"\x00\xff")
            assert await ws.recv() == b"\x00\xff"
            big = os.urandom(1 << 20)
            await ws.send(big)
            assert await ws.recv() == big
            await ws.send(["frag", "ment", "ed ✓"])
            assert await ws.recv() == "fragmented ✓"
            return ws.response.headers.get("sec-websocket-extensions")

    assert "permessage-deflate" in run(talk("deflate"))
    assert run(talk(None)) is None
    server.wait_for_log("DISCONNECT 1000")


def test_subprotocol_and_close_from_either_side(ws_server):
    server = ws_server()

    async def talk():
        async with connect(url(server, "/echo"), subprotocols=["chat", "superchat"]) as ws:
            assert ws.subprotocol == "chat"
            await ws.send("close:4001:see you")
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert (ws.close_code, ws.close_reason) == (4001, "see you")
        async with connect(url(server, "/echo")) as ws:
            await ws.close(4002, "client leaves")

    run(talk())
    log = server.wait_for_log("DISCONNECT 4002 'client leaves'")
    assert "AFTER-CLOSE websocket.disconnect 4001" in log


def test_close_before_accept_is_403_and_a_denial_response_is_sent(ws_server):
    server = ws_server()

    async def talk(path):
        with pytest.raises(InvalidStatus) as info:
            async with connect(url(server, path)):
                pass
        return info.value.response

    assert run(talk("/reject")).status_code == 403
    denied = run(talk("/deny"))
    assert denied.status_code == 401
    assert denied.headers["www-authenticate"] == "Bearer"
    assert denied.body == b"who are you?"
    log = server.log()
    assert '"WebSocket /reject" 403' in log and '"WebSocket /deny" 401' in log


def test_app_failures_get_500_before_accept_and_1011_after(ws_server):
    server = ws_server()

    async def talk():
        with pytest.raises(InvalidStatus) as info:
            async with connect(url(server, "/raise-before")):
                pass
        assert info.value.response.status_code == 500
        with pytest.raises(InvalidStatus) as info:
            async with connect(url(server, "/bad-header")):
                pass
        assert info.value.response.status_code == 500
        async with connect(url(server, "/raise-after")) as ws:
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1011
        async with connect(url(server, "/return-after-accept")) as ws:
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1000

    run(talk())
    log = server.log()
    assert "RuntimeError: broken before accept" in log and "RuntimeError: broken after accept" in log
    assert "Invalid HTTP header" in log
    assert server.proc.poll() is None


def test_websocket_scope(ws_server):
    server = ws_server()

    async def talk():
        async with connect(url(server, "/describe?q=1"), subprotocols=["a", "b"]) as ws:
            assert ws.response.headers["x-served-by"] == "ws_apps"
            return await ws.recv()

    import json

    scope = json.loads(run(talk()))
    assert scope["type"] == "websocket"
    assert scope["scheme"] == "ws" and scope["http_version"] == "1.1"
    assert (scope["path"], scope["raw_path"], scope["query_string"]) == ("/describe", "/describe", "q=1")
    assert scope["subprotocols"] == ["a", "b"]
    assert scope["extensions"] == {"websocket.http.response": {}}
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["state"] == ["ready"]
    assert ["sec-websocket-version", "13"] in scope["headers"]


# ---- the opening handshake ---------------------------------------------------------------------


def test_invalid_handshakes_are_refused(ws_server):
    server = ws_server()
    base = b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    with server.connect() as sock:
        response = http_exchange(sock, base + b"Sec-WebSocket-Version: 13\r\n\r\n", until_close=True)
    assert response.startswith(b"HTTP/1.1 400 ")
    with server.connect() as sock:
        key = b"Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)) + b"\r\n"
        response = http_exchange(sock, base + key + b"Sec-WebSocket-Version: 8\r\n\r\n", until_close=True)
    assert response.startswith(b"HTTP/1.1 426 ")
    assert b"sec-websocket-version: 13\r\n" in response
    # Upgrade: websocket without Connection: Upgrade is a plain request
    with server.connect() as sock:
        response = http_exchange(sock, b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 200 ") and response.endswith(b"plain http /echo")


def test_ws_none_serves_upgrades_as_plain_http(ws_server):
    server = ws_server("--ws", "none")
    with server.connect() as sock:
        key = base64.b64encode(os.urandom(16))
        request = (
            b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key
        )
        response = http_exchange(sock, request, until_close=True)
    assert response.startswith(b"HTTP/1.1 200 ") and b"plain http /echo" in response


@pytest.mark.parametrize("ws", ["auto", "wsproto", "websockets", "websockets-sansio"])
def test_every_ws_value_uvicorn_takes_serves_websockets(ws_server, ws):
    """Uvicorn's --ws names two implementations; asgihost has one, and serves both names with
    it, saying so in one line, rather than refusing a working command line."""
    server = ws_server("--ws", ws)

    async def talk():
        async with connect(url(server, "/echo")) as conn:
            await conn.send("hi")
            return await conn.recv()

    assert run(talk()) == "hi"
    note = f"--ws {ws}: asgihost has one WebSocket implementation"
    log = server.wait_for_log("running on")
    assert log.count(note) == (1 if ws.startswith("websockets") else 0)


def test_bytes_right_after_the_handshake_are_not_lost(ws_server):
    server = ws_server()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    key = base64.b64encode(os.urandom(16))
    sock.sendall(
        b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key + frame(0x1, b"early")
    )
    response = sock.recv(4096)
    while b"\r\n\r\n" not in response:
        response += sock.recv(4096)
    head, _, rest = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ")
    if not rest:
        rest = sock.recv(4096)
    assert rest == b"\x81\x05early"
    sock.close()


# ---- RFC 6455 strictness -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("invalid UTF-8 in text", frame(0x1, b"\xff\xfe"), 1007),
        ("invalid UTF-8 across fragments", frame(0x1, b"ok \xe2\x82", fin=False) + frame(0x0, b"\x28"), 1007),
        ("reserved bit without an extension", frame(0x1, b"x", rsv=0b010), 1002),
        ("unmasked client frame", frame(0x1, b"x", mask=False), 1002),
        ("fragmented ping", frame(0x9, b"p", fin=False), 1002),
        ("oversized ping", frame(0x9, b"p" * 126), 1002),
        ("reserved opcode", frame(0x3, b"x"), 1002),
        ("continuation with nothing to continue", frame(0x0, b"x"), 1002),
        ("close code 1005 on the wire", frame(0x8, struct.pack("!H", 1005)), 1002),
        ("close code out of range", frame(0x8, struct.pack("!H", 999)), 1002),
        ("one-byte close payload", frame(0x8, b"\x03"), 1002),
    ],
    ids=lambda value: "frame" if isinstance(value, bytes) else str(value),  # masks are random
)
def test_protocol_errors_close_with_the_right_code(ws_server, name, data, code):
    server = ws_server()
    sock, _ = handshake(server)
    sock.sendall(data)
    assert close_code(sock) == code, name
    assert closed_by_server(sock)
    sock.close()
    server.wait_for_log(f"DISCONNECT {code}")


def test_close_handshake_started_by_the_client(ws_server):
    server = ws_server()
    sock, _ = handshake(server)
    sock.sendall(frame(0x1, b"hi"))
    assert read_frame(sock) == (0x1, b"hi")
    sock.sendall(frame(0x8, struct.pack("!H", 1000) + b"done"))
    opcode, payload = read_frame(sock)
    assert opcode == 0x8 and struct.unpack("!H", payload[:2])[0] == 1000
    assert closed_by_server(sock)  # the server closes TCP first (RFC 6455 section 7.1.1)
    sock.close()
    server.wait_for_log("DISCONNECT 1000 'done'")


def test_close_handshake_started_by_the_server_times_out_on_a_silent_peer(serve, tmp_path):
    (tmp_path / "asgihost.toml").write_text(
        '[websocket]\nclose_timeout = "300ms"\n[apps.ws]\napp = "ws_apps:app"\n'
    )
    server = serve(str(tmp_path / "asgihost.toml"))  # on a free --port
    sock, _ = handshake(server)
    sock.sendall(frame(0x1, b"close:4003:going"))
    assert close_code(sock) == 4003
    started = time.monotonic()
    assert closed_by_server(sock)  # no close frame from us: the server gives up
    assert time.monotonic() - started < 4
    sock.close()
    server.wait_for_log("AFTER-CLOSE websocket.disconnect 1006")


# ---- limits ------------------------------------------------------------------------------------


def test_message_over_the_limit_closes_1009(ws_server):
    server = ws_server("--ws-max-size", "1024")
    sock, _ = handshake(server)
    sock.sendall(frame(0x2, b"x" * 1024))
    assert read_frame(sock) == (0x2, b"x" * 1024)  # at the limit: fine
    sock.sendall(frame(0x2, b"x" * 600, fin=False) + frame(0x0, b"x" * 600))
    assert close_code(sock) == 1009
    assert closed_by_server(sock)
    sock.close()
    sock, _ = handshake(server)
    sock.sendall(frame(0x2, b"x" * 5000))
    assert close_code(sock) == 1009
    sock.close()


def test_decompression_bomb_is_bounded(serve_process):
    server = serve_process("ws_apps:app", "--ws-max-size", "1048576")  # its own process: its memory
    sock, head = handshake(server, extra=b"Sec-WebSocket-Extensions: permessage-deflate\r\n")
    assert b"permessage-deflate" in head.lower()
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = compressor.compress(b"\0" * (200 << 20)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    bomb = bomb[:-4]
    assert len(bomb) < 300_000  # 200 MiB of zeros, compressed
    sock.sendall(frame(0x2, bomb, rsv=0b100))
    assert close_code(sock) == 1009
    sock.close()
    server.wait_for_log("DISCONNECT 1009")
    status = open(f"/proc/{server.proc.pid}/status").read()
    rss_kib = int(re.search(r"VmRSS:\s+(\d+)", status)[1])
    assert rss_kib < 150 * 1024  # the 200 MiB never existed in the server


def test_a_peer_that_never_answers_pings_is_closed(ws_server):
    server = ws_server("--ws-ping-interval", "0.2", "--ws-ping-timeout", "0.3")
    sock, _ = handshake(server, "/hold")
    opcode, _ = read_frame(sock)
    assert opcode == 0x9  # a ping, which we do not answer
    assert close_code(sock) == 1011
    assert closed_by_server(sock)
    sock.close()
    server.wait_for_log("DISCONNECT 1011")


def test_a_peer_that_answers_pings_stays(ws_server):
    server = ws_server("--ws-ping-interval", "0.1", "--ws-ping-timeout", "0.3")
    sock, _ = handshake(server, "/echo")
    sock.settimeout(5)
    for _ in range(10):  # a second of pings, each answered: far past the 0.3 s timeout
        opcode, payload = read_frame(sock)
        assert opcode == 0x9, opcode
        sock.sendall(frame(0xA, payload))
    sock.sendall(frame(0x1, b"still here"))
    opcode, payload = read_frame(sock)
    while opcode == 0x9:
        sock.sendall(frame(0xA, payload))
        opcode, payload = read_frame(sock)
    assert (opcode, payload) == (0x1, b"still here")
    sock.close()


def test_a_client_that_stops_reading_holds_the_app_back(ws_server):
    server = ws_server()
    sock, _ = handshake(server, "/flood", rcvbuf=65536)
    server.wait_for_log("SENT 16")

    def sent_so_far(log: str) -> int:
        return max(int(n) for n in re.findall(r"SENT (\d+)", log))

    sent = server.wait_for_stall(sent_so_far)  # no new SENT line for a while
    later = sent_so_far(server.log())
    assert later == sent  # the app's send waits on the transport
    assert sent * 65536 < 64 << 20  # what the kernel buffers hold, not what the app would send
    sock.close()
    server.wait_for_log("SEND-FAILED ClientDisconnected")


def test_an_app_that_stops_reading_pauses_the_client(ws_server):
    server = ws_server()
    sock, _ = handshake(server, "/slow-consumer")
    server.wait_for_log("NOT-READING")
    message = frame(0x2, b"y" * 65536)
    sock.settimeout(2)
    sent = 0
    with pytest.raises(TimeoutError):
        while sent < 2000:  # 128 MiB, if nothing pushed back
            sock.sendall(message)
            sent += 1
    assert sent < 1000
    sock.close()


@pytest.mark.parametrize("max_queue", [1, 4])
def test_ws_max_queue_messages_wait_for_the_app_and_then_reading_pauses(ws_server, max_queue):
    """Each message goes with a ping, and the next pair only once the pong is back: the server
    reads (and answers) until ``max_queue`` messages wait for the app, then reads nothing more."""
    server = ws_server("--ws-max-queue", str(max_queue))
    sock, _ = handshake(server, "/slow-consumer")
    server.wait_for_log("NOT-READING")
    sock.settimeout(1)
    answered = 0
    with pytest.raises(TimeoutError):
        while answered <= max_queue:
            sock.sendall(frame(0x1, b"m%d" % answered) + frame(0x9, b"p%d" % answered))
            assert read_frame(sock) == (0xA, b"p%d" % answered)
            answered += 1
    assert answered == max_queue
    sock.close()


# ---- the server around it ----------------------------------------------------------------------


def test_shutdown_says_going_away(ws_server):
    server = ws_server()
    sock, _ = handshake(server, "/hold")
    server.proc.send_signal(signal.SIGINT)
    assert close_code(sock) == 1001
    sock.sendall(frame(0x8, struct.pack("!H", 1001)))
    assert server.proc.wait(10) == 0
    assert "DISCONNECT 1001" in server.log()
    sock.close()


def test_access_log_escapes_the_websocket_target(ws_server):
    server = ws_server()
    sock, _ = handshake(server, "/echo?x=%0a")
    sock.close()
    log = server.wait_for_log('"WebSocket /echo?x=%0a" 101')
    assert "\n" not in log.split('"WebSocket ')[1].split('"')[0]
