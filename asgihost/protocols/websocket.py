"""WebSocket protocol core (RFC 6455, RFC 7692) over wsproto's frame layer: bytes in, events
and bytes out.

The HTTP/1.1 core parses the upgrade request; ``check_upgrade`` validates it as an opening
handshake and ``accept_response`` frames the 101. From then on ``WSConnection`` owns the
bytes: it reassembles fragmented messages, answers pings, enforces the message size limit
on the decompressed size, and reports a peer that breaks the protocol as ``Failed`` with the
close code to send (1002 protocol error, 1007 invalid UTF-8, 1009 too big).

Invariants:
- ``receive_data`` returns the events completed by the bytes given; after a ``Closed`` or
  ``Failed`` event it returns nothing more.
- Output accumulates until ``data_to_send`` takes it; the caller writes it.
- Memory per connection is bounded by ``max_size`` plus one read: a message grows only up
  to the limit, and a compressed frame is inflated at most ``max_size`` bytes at a time.

Fast path: the common frame (a whole text or binary message in one masked frame, compressed
or not when permessage-deflate is negotiated) is parsed, unmasked, inflated and answered here,
and messages we send are compressed and framed here; wsproto gets every other frame (control
frames, fragments, anything malformed) as whole frames, so its buffer never holds part of one
and the two parsers never disagree on where frames start. The one exception: a frame of a
compressed message whose payload is over ``max_size`` (its size says nothing of the message's)
goes to wsproto as it arrives, ``_owed`` counting the bytes of it still to come. Compressed
frames, ours and wsproto's, share one zlib state per direction, in wire order (ws_deflate.py).
Text is checked as it arrives: the part of a text frame already received, and each frame of a
fragmented text message, go through one incremental UTF-8 decoder per message, so invalid
UTF-8 fails the connection (1007) on the bytes that carry it, not at the end of the message;
a sequence cut by a frame or read boundary is only wrong if the message ends with it.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import struct
from collections.abc import Iterable
from typing import Any

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.extensions import Extension
from wsproto.utilities import LocalProtocolError

from .errors import WS_ABNORMAL, WS_INVALID_DATA, WS_MESSAGE_TOO_BIG, ProtocolError
from .errors import LocalProtocolError as HeaderError
from .events import Request
from .headers import has_token, is_valid_name, is_valid_value
from .ws_deflate import BoundedDeflate as BoundedDeflate

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Handshake:
    """A valid opening handshake: what the app and the 101 need from it."""

    __slots__ = ("key", "subprotocols", "deflate_offers")

    def __init__(self, key: bytes, subprotocols: list[str], deflate_offers: list[str]) -> None:
        self.key = key
        self.subprotocols = subprotocols
        self.deflate_offers = deflate_offers


def check_upgrade(request: Request) -> Handshake | ProtocolError:
    """Validate an opening handshake (RFC 6455 section 4.2.1, or RFC 8441 section 5 over
    HTTP/2), or say why it is refused."""
    key = b""
    version = b""
    connection_upgrade = False
    subprotocols: list[str] = []
    offers: list[str] = []
    for name, value in request.headers:
        if name == b"sec-websocket-key":
            key = value.strip()
        elif name == b"sec-websocket-version":
            version = value.strip()
        elif name == b"connection":
            connection_upgrade = connection_upgrade or has_token(value, b"upgrade")
        elif name == b"sec-websocket-protocol":
            subprotocols += [p.strip() for p in value.decode("latin-1").split(",") if p.strip()]
        elif name == b"sec-websocket-extensions":
            for offer in value.decode("latin-1").split(","):
                offer = offer.strip()
                if offer.split(";", 1)[0].strip().lower() == "permessage-deflate":
                    offers.append(offer)
    if request.http_version == "2":  # RFC 8441: an extended CONNECT with :protocol websocket
        if request.method != "CONNECT" or version not in (b"", b"13"):
            return ProtocolError("A WebSocket over HTTP/2 is a CONNECT, version 13.", 400)
        return Handshake(b"", subprotocols, offers)
    if request.method != "GET" or request.http_version != "1.1":
        return ProtocolError("A WebSocket handshake is a GET over HTTP/1.1.", 400)
    if not connection_upgrade:
        return ProtocolError("A WebSocket handshake needs 'Connection: Upgrade'.", 400)
    if version != b"13":
        return ProtocolError("Unsupported WebSocket version; this server speaks 13.", 426)
    try:
        decoded = base64.b64decode(key, validate=True)
    except ValueError:
        decoded = b""
    if len(decoded) != 16:
        return ProtocolError("Invalid Sec-WebSocket-Key.", 400)
    return Handshake(key, subprotocols, offers)


def accept_key(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + _GUID).digest())


def accept_response(
    handshake: Handshake,
    subprotocol: str | None,
    headers: Iterable[tuple[bytes, bytes]],
    deflate: BoundedDeflate | None,
    server_headers: bytes,
) -> bytes:
    """The 101 response; ``deflate`` (when given) takes the first offer it can and says so.

    Raises ``LocalProtocolError`` (the HTTP core's) for an app header that must not be written.
    """
    parts = [
        b"HTTP/1.1 101 Switching Protocols\r\n",
        server_headers,
        b"upgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ",
        accept_key(handshake.key),
        b"\r\n",
    ]
    for name, value in accept_fields(handshake, subprotocol, headers, deflate):
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def accept_fields(
    handshake: Handshake,
    subprotocol: str | None,
    headers: Iterable[tuple[bytes, bytes]],
    deflate: BoundedDeflate | None,
) -> list[tuple[bytes, bytes]]:
    """The header fields of an HTTP/2 200 that accepts a WebSocket (RFC 8441 section 5).

    Raises ``LocalProtocolError`` (the HTTP core's) for a field that must not be written.
    """
    fields: list[tuple[bytes, bytes]] = []
    if subprotocol is not None:
        value = subprotocol.encode("latin-1")
        if not is_valid_value(value):
            raise HeaderError(f"Invalid subprotocol {subprotocol!r}.")
        fields.append((b"sec-websocket-protocol", value))
    if deflate is not None:
        for offer in handshake.deflate_offers:
            accepted = deflate.accept(offer)
            if accepted is not None and accepted is not False:
                params = f"; {accepted}" if isinstance(accepted, str) and accepted else ""
                fields.append((b"sec-websocket-extensions", f"permessage-deflate{params}".encode("latin-1")))
                break
    for name, value in headers:
        if not is_valid_name(name) or not is_valid_value(value, name.lower()):
            raise HeaderError(f"Invalid HTTP header {name!r}: {value!r} in websocket.accept.")
        fields.append((name.lower(), value))
    return fields


class Message:
    """A whole message from the peer: ``str`` for text, ``bytes`` for binary."""

    __slots__ = ("data",)

    def __init__(self, data: str | bytes) -> None:
        self.data = data


class Closed:
    """The peer closed (its close frame has been answered), or the connection was lost (1006)."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class Failed:
    """The peer broke the protocol; a close frame with ``code`` has been queued. Close the
    transport once it is written: RFC 6455 section 7.1.7, fail the WebSocket connection."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class PongReceived:
    __slots__ = ()


PONG = PongReceived()
WSEvent = Message | Closed | Failed | PongReceived


_OPCODES = frozenset((0x0, 0x1, 0x2, 0x8, 0x9, 0xA))  # continuation, text, binary, close, ping, pong
_WHOLE_TEXT, _WHOLE_BINARY = 0x81, 0x82  # first byte of a one-frame message: FIN, no RSV bits
_DEFLATED_TEXT, _DEFLATED_BINARY = 0xC1, 0xC2  # the same, compressed: FIN and RSV1
_utf8_decoder = codecs.getincrementaldecoder("utf-8")


def _unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR with the repeated 4-byte mask, as one big-integer operation (a C loop)."""
    size = len(payload)
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(size, "little")


def _frame(first: int, payload: bytes) -> bytes:
    """A server frame (unmasked) with ``first`` as its first byte."""
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 0x10000:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload


class WSConnection:
    """The server side of one WebSocket connection after the 101."""

    def __init__(self, max_size: int, deflate: BoundedDeflate | None, trailing: bytes = b"") -> None:
        self.max_size = max_size
        self._deflate = deflate if deflate is not None and deflate.enabled() else None
        extensions: list[Extension] = [self._deflate] if self._deflate is not None else []
        self._conn = Connection(ConnectionType.SERVER, extensions)
        self._owed = 0  # bytes to come of a frame that wsproto parses as they come
        self._buffer = bytearray()  # the start of a frame not yet whole
        self._fragmented = False  # wsproto has the first frames of a message, not its last
        self._utf8: codecs.IncrementalDecoder | None = None  # the text message arriving in pieces
        self._checked = 0  # payload bytes of the incomplete frame at the buffer's start checked
        self._out: list[bytes] = []
        self._parts: list[str | bytes] = []
        self._size = 0
        self.finished = False  # a Closed or Failed event was returned
        self._pending = trailing

    @property
    def local_closing(self) -> bool:
        """We sent a close frame and wait for the peer's."""
        return self._conn.state is ConnectionState.LOCAL_CLOSING

    @property
    def open(self) -> bool:
        return self._conn.state is ConnectionState.OPEN

    def start(self) -> list[WSEvent]:
        """Parse the bytes that came right after the handshake."""
        pending, self._pending = self._pending, b""
        return self.receive_data(pending) if pending else []

    def receive_data(self, data: bytes) -> list[WSEvent]:
        if self.finished:
            return []
        if self._owed:
            return self._owing(data)
        buffer = self._buffer
        buffer += data
        events: list[WSEvent] = []
        start, end = 0, len(buffer)
        while end - start >= 2:
            first, second = buffer[start], buffer[start + 1]
            size, head = second & 0x7F, start + 2
            if size == 126:
                if end - start < 4:
                    break
                size, head = int.from_bytes(buffer[head : head + 2], "big"), head + 2
            elif size == 127:
                if end - start < 10:
                    break
                size, head = int.from_bytes(buffer[head : head + 8], "big"), head + 8
            opcode = first & 0x0F
            if (
                not second & 0x80  # a client frame must be masked
                or (first & 0x70 and (first & 0x30 or self._deflate is None))  # RSV1 with deflate only
                or opcode not in _OPCODES
                or (opcode >= 0x8 and (size > 125 or not first & 0x80))  # a control frame is short, whole
            ):
                rest = bytes(buffer[start:])
                buffer.clear()
                return events + self._through_wsproto(rest)  # it fails the connection, saying why
            stop = head + 4 + size
            if opcode < 0x8 and size > self.max_size:
                deflate = self._deflate
                if deflate is None or not (first & 0x40 or deflate.inflating):
                    buffer.clear()
                    return events + [self._fail(WS_MESSAGE_TOO_BIG, "Message too big.")]
                if stop > end:  # compressed: wsproto inflates it, bounded, as it comes
                    self._owed, self._fragmented = stop - end, not first & 0x80
                    rest = bytes(buffer[start:])
                    buffer.clear()
                    return events + self._through_wsproto(rest)
            if stop > end:
                if (
                    end > head + 4 + self._checked
                    and (first & 0x4F == 1 and not self._fragmented or not opcode and self._utf8 is not None)
                    and not self._check_text(buffer, head, end, False)
                ):
                    buffer.clear()
                    return events + [self._fail(WS_INVALID_DATA, "Invalid UTF-8 in a text message.")]
                break
            if (first == _WHOLE_TEXT or first == _WHOLE_BINARY) and not self._fragmented:
                payload = _unmask(bytes(buffer[head + 4 : stop]), bytes(buffer[head : head + 4]))
                if first == _WHOLE_TEXT:
                    if self._checked:  # its start was checked as it came: forget that decoder
                        self._checked = 0
                        self._utf8 = None
                    try:
                        events.append(Message(payload.decode()))
                    except UnicodeDecodeError:
                        buffer.clear()
                        return events + [self._fail(WS_INVALID_DATA, "Invalid UTF-8 in a text message.")]
                else:
                    events.append(Message(payload))
            elif (first == _DEFLATED_TEXT or first == _DEFLATED_BINARY) and not self._fragmented:
                assert self._deflate is not None  # RSV1 passed: permessage-deflate is on
                message = self._deflate.inflate_message(
                    _unmask(bytes(buffer[head + 4 : stop]), bytes(buffer[head : head + 4]))
                )
                if isinstance(message, int):
                    buffer.clear()
                    reason = (
                        "Message too big." if message == WS_MESSAGE_TOO_BIG else "Invalid compressed data."
                    )
                    return events + [self._fail(message, reason)]
                if first == _DEFLATED_TEXT:
                    try:
                        events.append(Message(message.decode()))
                    except UnicodeDecodeError:
                        buffer.clear()
                        return events + [self._fail(WS_INVALID_DATA, "Invalid UTF-8 in a text message.")]
                else:
                    events.append(Message(message))
            else:
                if opcode < 0x8:
                    fin = first & 0x80
                    if (
                        first & 0x4F == 1 and not self._fragmented or not opcode and self._utf8 is not None
                    ) and not self._check_text(buffer, head, stop, bool(fin)):
                        buffer.clear()
                        return events + [self._fail(WS_INVALID_DATA, "Invalid UTF-8 in a text message.")]
                    self._checked = 0
                    if fin:
                        self._utf8 = None
                    self._fragmented = not fin
                events += self._through_wsproto(bytes(buffer[start:stop]))
                if self.finished:
                    buffer.clear()
                    return events
            start = stop
        del buffer[:start]
        return events

    def _owing(self, data: bytes) -> list[WSEvent]:
        """Give wsproto the rest of the frame it parses, then go on with the frames after it."""
        owed = self._owed
        self._owed = max(owed - len(data), 0)
        events = self._through_wsproto(data[:owed])
        if self.finished or len(data) <= owed:
            return events
        return events + self.receive_data(data[owed:])

    def _check_text(self, buffer: bytearray, head: int, end: int, final: bool) -> bool:
        """Whether the payload bytes of the text frame whose mask is at ``head``, received up to
        ``end`` and not checked yet, continue the message's UTF-8 (and, when ``final``, end it)."""
        checked = self._checked
        turn = checked & 3  # the mask as it stands at the first byte not checked
        mask = bytes(buffer[head + turn : head + 4]) + bytes(buffer[head : head + turn])
        start = head + 4 + checked
        self._checked = end - head - 4
        decoder = self._utf8
        if decoder is None:
            decoder = self._utf8 = _utf8_decoder()
        try:
            decoder.decode(_unmask(bytes(buffer[start:end]), mask), final)
        except UnicodeDecodeError:
            return False
        return True

    def _through_wsproto(self, data: bytes) -> list[WSEvent]:
        conn = self._conn
        conn.receive_data(data)
        events: list[WSEvent] = []
        event: Any
        for event in conn.events():
            kind = type(event)
            if kind is TextMessage or kind is BytesMessage:
                piece = event.data
                self._size += len(piece) if kind is BytesMessage or piece.isascii() else len(piece.encode())
                if self._size > self.max_size:
                    return events + [self._fail(WS_MESSAGE_TOO_BIG, "Message too big.")]
                if event.message_finished:
                    if self._parts:
                        self._parts.append(piece)
                        parts: Any = self._parts
                        whole = "".join(parts) if kind is TextMessage else b"".join(parts)
                        self._parts = []
                    else:
                        whole = piece if kind is TextMessage else bytes(piece)
                    self._size = 0
                    events.append(Message(whole))
                elif piece:
                    self._parts.append(piece)
            elif kind is Ping:
                if conn.state is ConnectionState.OPEN:
                    self._out.append(conn.send(event.response()))
            elif kind is Pong:
                events.append(PONG)
            elif kind is CloseConnection:
                code, reason = event.code, event.reason or ""
                state = conn.state
                if state is ConnectionState.OPEN:  # wsproto's way of saying the frames were bad
                    events.append(self._fail(int(code), reason))
                    return events
                if state is ConnectionState.REMOTE_CLOSING:
                    self._out.append(conn.send(event.response()))
                self.finished = True
                events.append(Closed(int(code), reason))
                return events
        return events

    def _fail(self, code: int, reason: str) -> Failed:
        self.finished = True
        try:
            self._out.append(self._conn.send(CloseConnection(code=code, reason=reason[:120])))
        except LocalProtocolError:
            pass  # a close frame has already gone
        return Failed(code, reason)

    def connection_lost(self) -> Closed:
        self.finished = True
        return Closed(WS_ABNORMAL, "")

    def send_message(self, data: str | bytes) -> None:
        if self._conn.state is ConnectionState.OPEN:
            deflate = self._deflate
            if deflate is None:
                if isinstance(data, str):
                    self._out.append(_frame(_WHOLE_TEXT, data.encode()))
                else:
                    self._out.append(_frame(_WHOLE_BINARY, bytes(data)))
            elif isinstance(data, str):
                self._out.append(_frame(_DEFLATED_TEXT, deflate.deflate_message(data.encode())))
            else:
                self._out.append(_frame(_DEFLATED_BINARY, deflate.deflate_message(data)))

    def send_ping(self, payload: bytes) -> None:
        if self._conn.state is ConnectionState.OPEN:
            self._out.append(self._conn.send(Ping(payload=payload)))

    def close(self, code: int, reason: str = "") -> None:
        """Start the closing handshake (or answer the peer's), if not done."""
        if self._conn.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            self._out.append(self._conn.send(CloseConnection(code=code, reason=reason)))

    def data_to_send(self) -> bytes:
        out = self._out
        if not out:
            return b""
        self._out = []
        return out[0] if len(out) == 1 else b"".join(out)
