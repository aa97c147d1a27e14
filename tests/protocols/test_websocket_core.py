"""The sans-IO WebSocket core: handshake checks, the 101, message assembly and limits."""

from __future__ import annotations

import os
import struct
import zlib

import pytest

from asgihost.protocols.errors import LocalProtocolError, ProtocolError
from asgihost.protocols.events import Request
from asgihost.protocols.websocket import (
    BoundedDeflate,
    Closed,
    Failed,
    Handshake,
    Message,
    WSConnection,
    accept_key,
    accept_response,
    check_upgrade,
)

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="


def upgrade(*extra: tuple[bytes, bytes], method: str = "GET", version: str = "1.1") -> Request:
    headers = [
        (b"host", b"x"),
        (b"upgrade", b"websocket"),
        (b"connection", b"keep-alive, Upgrade"),
        (b"sec-websocket-key", KEY),
        (b"sec-websocket-version", b"13"),
        *extra,
    ]
    return Request(1, method, b"/", headers, version, False, False, b"websocket")


def masked(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0) -> bytes:
    key = os.urandom(4)
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    length = len(payload)
    if length < 126:
        head += bytes([0x80 | length])
    elif length < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", length)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", length)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def test_accept_key_is_rfc_6455s_example():
    assert accept_key(KEY) == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_a_valid_handshake_lists_subprotocols_and_deflate_offers():
    handshake = check_upgrade(
        upgrade(
            (b"sec-websocket-protocol", b"chat, superchat"),
            (b"sec-websocket-extensions", b"permessage-deflate; client_max_window_bits, x-other"),
        )
    )
    assert isinstance(handshake, Handshake)
    assert handshake.subprotocols == ["chat", "superchat"]
    assert handshake.deflate_offers == ["permessage-deflate; client_max_window_bits"]


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (upgrade(method="POST"), 400),
        (upgrade(version="1.0"), 400),
        (
            Request(
                1, "GET", b"/", [(b"sec-websocket-version", b"13"), (b"connection", b"upgrade")], "1.1", 0, 0
            ),
            400,
        ),
        (upgrade((b"sec-websocket-key", b"c2hvcnQ=")), 400),  # the last key counts: 5 bytes
    ],
)
def test_bad_handshakes(request_, status):
    error = check_upgrade(request_)
    assert isinstance(error, ProtocolError) and error.status_hint == status


def test_wrong_version_asks_for_an_upgrade_to_13():
    request = upgrade()
    request.headers = [(n, b"8" if n == b"sec-websocket-version" else v) for n, v in request.headers]
    error = check_upgrade(request)
    assert isinstance(error, ProtocolError) and error.status_hint == 426


def test_101_with_subprotocol_extension_and_app_headers():
    handshake = check_upgrade(upgrade((b"sec-websocket-extensions", b"permessage-deflate")))
    assert isinstance(handshake, Handshake)
    deflate = BoundedDeflate(1024)
    head = accept_response(handshake, "chat", [(b"x-a", b"1")], deflate, b"server: asgihost\r\n")
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\nserver: asgihost\r\n")
    assert b"sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in head
    assert b"sec-websocket-protocol: chat\r\n" in head
    assert b"sec-websocket-extensions: permessage-deflate" in head
    assert head.endswith(b"x-a: 1\r\n\r\n")
    assert deflate.enabled()
    with pytest.raises(LocalProtocolError):
        accept_response(handshake, None, [(b"x-a", b"1\r\nx-b: 2")], None, b"")
    plain = accept_response(handshake, None, [], None, b"")
    assert b"sec-websocket-extensions" not in plain and b"sec-websocket-protocol" not in plain


def test_fragments_are_reassembled_and_pings_answered():
    ws = WSConnection(1 << 20, None)
    events = ws.receive_data(masked(0x1, "hé".encode(), fin=False) + masked(0x9, b"p") + masked(0x0, b"llo"))
    assert [type(e) for e in events] == [Message]
    assert events[0].data == "héllo"
    assert ws.data_to_send() == b"\x8a\x01p"  # the pong, unmasked
    events = ws.receive_data(masked(0x2, b"\x00" * 3))
    assert events[0].data == b"\x00\x00\x00" and isinstance(events[0].data, bytes)


def test_message_limit_counts_the_whole_message():
    ws = WSConnection(10, None)
    assert ws.receive_data(masked(0x1, b"12345", fin=False)) == []
    [failed] = ws.receive_data(masked(0x0, b"678901"))
    assert isinstance(failed, Failed) and failed.code == 1009
    out = ws.data_to_send()
    assert out[0] == 0x88 and out[2:4] == struct.pack("!H", 1009)  # a close frame with 1009
    assert ws.receive_data(masked(0x1, b"x")) == []  # nothing after failing


def test_text_limit_counts_utf8_bytes():
    ws = WSConnection(5, None)
    [failed] = ws.receive_data(masked(0x1, "ééé".encode()))  # 3 characters, 6 bytes
    assert isinstance(failed, Failed) and failed.code == 1009


def test_a_compressed_bomb_stops_at_the_limit():
    deflate = BoundedDeflate(1 << 16)
    assert deflate.accept("permessage-deflate") is not None
    ws = WSConnection(1 << 16, deflate)
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = (squeeze.compress(b"a" * (64 << 20)) + squeeze.flush(zlib.Z_SYNC_FLUSH))[:-4]
    [failed] = ws.receive_data(masked(0x2, bomb, rsv=0b100))
    assert isinstance(failed, Failed) and failed.code == 1009
    small = BoundedDeflate(1 << 16)
    small.accept("permessage-deflate")
    ok = WSConnection(1 << 16, small)
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = (squeeze.compress(b"hello " * 100) + squeeze.flush(zlib.Z_SYNC_FLUSH))[:-4]
    [message] = ok.receive_data(masked(0x1, data, rsv=0b100))
    assert message.data == "hello " * 100


def test_close_from_the_peer_is_answered_once():
    ws = WSConnection(100, None)
    [closed] = ws.receive_data(masked(0x8, struct.pack("!H", 4000) + b"bye"))
    assert isinstance(closed, Closed) and (closed.code, closed.reason) == (4000, "bye")
    assert ws.data_to_send() == b"\x88\x05" + struct.pack("!H", 4000) + b"bye"
    ws.close(1000)
    assert ws.data_to_send() == b""


def test_our_close_waits_for_the_peers():
    ws = WSConnection(100, None)
    ws.close(1001, "going")
    assert ws.local_closing and ws.data_to_send().startswith(b"\x88")
    ws.send_message("late")
    assert ws.data_to_send() == b""
    [closed] = ws.receive_data(masked(0x8, struct.pack("!H", 1001)))
    assert isinstance(closed, Closed) and closed.code == 1001
    assert ws.data_to_send() == b""  # the handshake is complete: no second close frame


# ---- the fast path (no permessage-deflate): frames parsed and framed here, the rest by wsproto ----

STREAM = (
    masked(0x1, "hé".encode())
    + masked(0x2, bytes(range(256)) * 300)  # 76,800 bytes: a 64-bit length
    + masked(0x1, b"x" * 200)  # a 16-bit length
    + masked(0x1, b"frag", fin=False)
    + masked(0x9, b"ping")  # between fragments
    + masked(0x0, b"ment")
    + masked(0x2, b"")
    + masked(0xA, b"pong")
)
EXPECTED = ["hé", bytes(range(256)) * 300, "x" * 200, "fragment", b""]


def _messages(events: list) -> list:
    return [e.data for e in events if isinstance(e, Message)]


@pytest.mark.parametrize("piece", [1, 2, 3, 7, 13, 1000, len(STREAM)])
def test_fast_path_messages_at_any_split(piece: int):
    """The same messages, pong and ping answer whether the bytes come whole or in pieces."""
    ws = WSConnection(1 << 20, None)
    events = []
    for at in range(0, len(STREAM), piece):
        events += ws.receive_data(STREAM[at : at + piece])
    assert _messages(events) == EXPECTED
    assert sum(type(e).__name__ == "PongReceived" for e in events) == 1
    assert ws.data_to_send() == b"\x8a\x04ping"
    assert not ws._buffer  # nothing left over


def test_fast_path_agrees_with_wsproto():
    """Every split point of a stream gives what wsproto alone (with deflate offered but not
    compressing) gives: the same messages in the same order."""
    deflate = BoundedDeflate(1 << 20)
    deflate.accept("permessage-deflate")
    slow = WSConnection(1 << 20, deflate)
    assert _messages(slow.receive_data(STREAM)) == EXPECTED
    for split in range(0, 300):
        fast = WSConnection(1 << 20, None)
        assert _messages(fast.receive_data(STREAM[:split]) + fast.receive_data(STREAM[split:])) == EXPECTED


def test_frames_we_send():
    ws = WSConnection(1 << 20, None)
    ws.send_message("hé")
    assert ws.data_to_send() == b"\x81\x03" + "hé".encode()
    ws.send_message(b"\x00" * 126)
    assert ws.data_to_send() == b"\x82\x7e\x00\x7e" + b"\x00" * 126
    ws.send_message(b"\x01" * 70000)
    assert ws.data_to_send() == b"\x82\x7f" + struct.pack("!Q", 70000) + b"\x01" * 70000


@pytest.mark.parametrize(
    "frame, code",
    [
        (masked(0x1, b"\xff\xfe"), 1007),  # not UTF-8
        (masked(0x1, b"ok")[:1] + bytes([2]) + b"ok", 1002),  # not masked
        (masked(0x2, b"x", rsv=0b100), 1002),  # RSV1 without an extension
        (masked(0x3, b"x"), 1002),  # a reserved opcode
        (masked(0x9, b"p" * 126), 1002),  # a control frame over 125 bytes
        (masked(0x9, b"p", fin=False), 1002),  # a fragmented control frame
        (masked(0x0, b"x"), 1002),  # a continuation with nothing to continue
        (masked(0x1, b"a", fin=False) + masked(0x1, b"b"), 1002),  # a new message inside one
        (masked(0x2, b"x" * 101), 1009),  # over the limit in one frame
    ],
    ids=[
        "not-utf8",
        "unmasked",
        "rsv1",
        "reserved-opcode",
        "long-control",
        "fragmented-control",
        "stray-continuation",
        "message-inside-message",
        "over-the-limit",
    ],  # the masks are random: named, every process collects the same tests
)
def test_fast_path_failures(frame: bytes, code: int):
    ws = WSConnection(100, None)
    events = ws.receive_data(frame + masked(0x1, b"after"))
    assert isinstance(events[-1], Failed) and events[-1].code == code, events
    assert _messages(events) == []
    out = ws.data_to_send()
    assert out[0] == 0x88 and out[2:4] == struct.pack("!H", code)
    assert ws.receive_data(masked(0x1, b"more")) == []


def test_too_big_is_refused_from_its_header():
    """A frame announcing more than the limit fails before its payload is buffered."""
    ws = WSConnection(1000, None)
    head = masked(0x2, b"x" * 5000)[:8]  # the 2 + 2 length bytes + mask, no payload
    [failed] = ws.receive_data(head)
    assert isinstance(failed, Failed) and failed.code == 1009
    assert not ws._buffer
