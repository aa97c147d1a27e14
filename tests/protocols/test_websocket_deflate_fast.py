"""With permessage-deflate negotiated, a compressed one-frame message takes the fast path, and
what it yields and sends is what wsproto alone would: wsproto is the oracle, byte for byte.

A wsproto client sends streams that mix the fast path's frames with wsproto's (fragmented
compressed messages, uncompressed messages, pings), under context takeover and without, so
that a zlib state not shared, or shared out of order, gives other bytes."""

from __future__ import annotations

import os
from typing import Any

import pytest
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, TextMessage
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import FrameProtocol, Opcode

from asgihost.protocols.websocket import BoundedDeflate, Failed, Message, WSConnection

MAX = 300
OFFERS = [
    "permessage-deflate",
    "permessage-deflate; client_no_context_takeover",
    "permessage-deflate; server_no_context_takeover",
    "permessage-deflate; client_no_context_takeover; server_no_context_takeover",
    "permessage-deflate; client_max_window_bits=10; server_max_window_bits=10",
]
RANDOM = os.urandom(MAX + 1)  # incompressible: its compressed frame is over MAX


def negotiate(offer: str, server: PerMessageDeflate) -> PerMessageDeflate:
    """``server`` accepts ``offer``; the client extension that agrees with it."""
    accepted = server.accept(offer)
    assert isinstance(accepted, str)
    client = PerMessageDeflate()
    client.finalize(f"permessage-deflate; {accepted}" if accepted else "permessage-deflate")
    return client


class Client:
    """Masked client frames: compressed ones from one wsproto client (one zlib state, in
    order), uncompressed ones from a client without the extension."""

    def __init__(self, offer: str) -> None:
        self.ext = negotiate(offer, PerMessageDeflate())
        self.deflating = FrameProtocol(client=True, extensions=[self.ext])
        self.plain = FrameProtocol(client=True, extensions=[])

    def message(self, data: str | bytes) -> bytes:
        return bytes(self.deflating.send_data(data, True))

    def fragments(self, *parts: str | bytes) -> bytes:
        out = b"".join(bytes(self.deflating.send_data(p, False)) for p in parts[:-1])
        return out + bytes(self.deflating.send_data(parts[-1], True))

    def raw(self, opcode: Opcode, payload: bytes, fin: bool = True) -> bytes:
        """A compressed frame of any payload (invalid UTF-8 in a text frame, say)."""
        return bytes(self.deflating._serialize_frame(opcode, payload, fin))

    def uncompressed(self, data: str | bytes) -> bytes:
        return bytes(self.plain.send_data(data, True))

    def ping(self, payload: bytes) -> bytes:
        return bytes(self.plain.ping(payload))


def base(c: Client) -> bytes:
    """Valid frames only: every kind of message, fast path and wsproto's in turn."""
    text = "héllo wörld " * 10
    return b"".join(
        (
            c.message(text),
            c.message(text),  # under context takeover: back-references into the first
            c.message(b"\x00\x01\x02" * 30),
            c.fragments("frag", "mented ", text),
            c.ping(b"p1"),
            c.message(text + "!"),
            c.uncompressed("plain text"),
            c.uncompressed(b"plain bytes"),
            c.message(""),
            c.fragments(b"\x07" * 50, b"\x08" * 50),
            c.message("a" * MAX),  # exactly the limit
            c.message(RANDOM[:MAX]),  # exactly the limit, in a frame over it
            c.fragments(RANDOM[:100], RANDOM[100:MAX]),
            c.fragments(RANDOM[:1], RANDOM[1:MAX]),  # without context takeover, a continuation over it
            c.message("é" * (MAX // 2)),  # the limit in UTF-8 bytes
            c.ping(b""),
            c.message("after " * 5),
        )
    )


ENDINGS: dict[str, Any] = {
    "clean": lambda c: b"",
    "text-over": lambda c: c.message("a" * (MAX + 1)),
    "binary-over": lambda c: c.message(b"\x00" * (MAX + 1)),
    "random-over": lambda c: c.message(RANDOM),
    "utf8-over": lambda c: c.message("é" * (MAX // 2) + "a"),
    "fragmented-over": lambda c: c.fragments("a" * MAX, "b"),
    "invalid-utf8": lambda c: c.raw(Opcode.TEXT, "ök".encode() + b"\xff\xfe"),
    "invalid-utf8-fragmented": lambda c: (
        c.raw(Opcode.TEXT, b"ok", False) + c.raw(Opcode.CONTINUATION, b"\xc3")
    ),
    "bad-deflate": lambda c: bytes((0xC2, 0x84, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF)),  # block type 3
    "rsv1-on-a-ping": lambda c: bytes((0xC9, 0x80, 0, 0, 0, 0)),
}


def oracle(offer: str, stream: bytes) -> list[tuple[str, object]]:
    """What wsproto alone, as the server, makes of ``stream``, with the size limit applied to
    each whole message."""
    ext = PerMessageDeflate()
    ext.accept(offer)
    conn = Connection(ConnectionType.SERVER, [ext])
    conn.receive_data(stream)
    out: list[tuple[str, object]] = []
    parts: list[Any] = []
    for event in conn.events():
        if isinstance(event, (TextMessage, BytesMessage)):
            parts.append(event.data)
            if event.message_finished:
                whole: Any = "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)
                parts = []
                if len(whole.encode() if isinstance(whole, str) else whole) > MAX:
                    return out + [("failed", 1009)]
                out.append(("message", whole))
        elif isinstance(event, CloseConnection):
            return out + [("failed", int(event.code))]
    return out


def ours(offer: str, chunks: list[bytes]) -> list[tuple[str, object]]:
    deflate = BoundedDeflate(MAX)
    assert deflate.accept(offer) is not None
    ws = WSConnection(MAX, deflate)
    out: list[tuple[str, object]] = []
    for chunk in chunks:
        for event in ws.receive_data(chunk):
            if isinstance(event, Message):
                out.append(("message", event.data))
            elif isinstance(event, Failed):
                out.append(("failed", event.code))
    return out


@pytest.mark.parametrize("ending", ENDINGS)
@pytest.mark.parametrize("offer", OFFERS)
def test_every_split_gives_what_wsproto_gives(offer, ending):
    c = Client(offer)
    stream = base(c) + ENDINGS[ending](c)
    expected = oracle(offer, stream)
    assert [kind for kind, _ in expected[:15]] == ["message"] * 15
    if ending != "clean":
        assert expected[-1][0] == "failed"
    assert ours(offer, [stream]) == expected
    assert ours(offer, [stream[i : i + 1] for i in range(len(stream))]) == expected
    step = 1 if ending in ("clean", "invalid-utf8") else 7  # every byte for two, a sample for the rest
    for at in range(0, len(stream) + 1, step):
        assert ours(offer, [stream[:at], stream[at:]]) == expected, at


def test_one_frame_compressed_messages_do_not_go_through_wsproto():
    c = Client(OFFERS[0])
    deflate = BoundedDeflate(MAX)
    deflate.accept(OFFERS[0])
    ws = WSConnection(MAX, deflate)
    given: list[bytes] = []
    receive = ws._conn.receive_data
    ws._conn.receive_data = lambda data: (given.append(data), receive(data))[1]  # type: ignore[method-assign]
    one = c.message("one")
    fragments = [bytes(c.deflating.send_data("a", False)), bytes(c.deflating.send_data("b", True))]
    events = ws.receive_data(one + b"".join(fragments) + c.message(b"two"))
    assert [e.data for e in events if isinstance(e, Message)] == ["one", "ab", b"two"]
    assert given == fragments  # wsproto saw those two frames only


MESSAGES: list[str | bytes] = ["hello " * 20, "hello " * 20, b"\x00" * 200, "", "é" * 40, "hello " * 20, b"x"]


@pytest.mark.parametrize("offer", OFFERS)
def test_what_we_send_is_what_wsproto_sends_and_the_client_reads_it(offer):
    deflate = BoundedDeflate(1 << 20)
    client_ext = negotiate(offer, deflate)
    ws = WSConnection(1 << 20, deflate)
    reference_ext = PerMessageDeflate()
    reference_ext.accept(offer)
    reference = FrameProtocol(client=False, extensions=[reference_ext])
    client = FrameProtocol(client=True, extensions=[client_ext])
    sizes = []
    for data in MESSAGES:
        ws.send_message(data)
        out = ws.data_to_send()
        assert out == bytes(reference.send_data(data, True))
        assert out[0] & 0x40  # compressed
        client.receive_bytes(out)
        [frame] = list(client.received_frames())
        assert frame.message_finished and frame.payload == data
        sizes.append(len(out))
    again = sizes[1] < sizes[0]  # the second copy refers back to the first
    assert again == ("server_no_context_takeover" not in offer)


def test_the_inflater_forgets_each_message_under_client_no_context_takeover():
    """A client that refers back to an earlier message although it agreed not to: wsproto
    fails that message (a distance too far back, 1007), and so do we, on either path."""
    offer = "permessage-deflate; client_no_context_takeover"
    text = "the same words again " * 5
    for fragmented in (False, True):
        c = Client("permessage-deflate")  # keeps its context
        stream = c.message(text) + (c.fragments(text[:10], text[10:]) if fragmented else c.message(text))
        expected = oracle(offer, stream)
        assert expected == [("message", text), ("failed", 1007)]
        assert ours(offer, [stream]) == expected


@pytest.mark.parametrize("offer", OFFERS)
def test_a_ping_between_the_fragments_of_a_compressed_message_leaves_it_whole(offer):
    # RFC 6455 section 5.4: control frames may come between the fragments of a message.
    c = Client(offer)
    text = "héllo wörld " * 10
    stream = b"".join(
        (
            bytes(c.deflating.send_data(text[:40], False)),
            c.ping(b"between"),
            bytes(c.deflating.send_data(text[40:], True)),
            c.ping(b"after"),
            c.message("after"),
        )
    )
    expected = [("message", text), ("message", "after")]
    assert ours(offer, [stream]) == expected
    assert ours(offer, [stream[i : i + 1] for i in range(len(stream))]) == expected
