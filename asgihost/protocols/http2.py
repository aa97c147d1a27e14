"""HTTP/2 protocol core (RFC 9113) over h2: bytes in, events out; frames for responses out.

h2 keeps the connection's state machine, HPACK and flow-control windows; this module turns
its events into the engine's (``Request``, ``Data``, ``EndOfMessage``, ``StreamReset``,
``WindowOpened``, ``GoAway``), checks requests as RFC 9113 section 8 asks, and queues
response bodies that do not fit the peer's windows until they open.

Invariants:
- A request with a malformed header section is reset (PROTOCOL_ERROR) and never reported; nor
  is a stream opened beyond MAX_CONCURRENT_STREAMS, which is refused (REFUSED_STREAM) while the
  others go on. Both count as resets against the flood budget.
- h2 and hpack are used as they are, in the whole process: what the server changes in h2's
  behaviour lives in the ``h2compat`` subclasses of its own connections.
- ``send_data`` never blocks and never drops: what the windows do not allow waits in the
  stream's queue; ``blocked(stream_id)`` says whether the app should wait before sending more.
- After a connection error (``GoAway``) nothing more is parsed.
- Output accumulates in h2 until ``data_to_send``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

import h2.events
import h2.exceptions
import h2.settings

from .errors import H2ErrorCode, LocalProtocolError
from .events import Data, EndOfMessage, Request
from .h2_settings import CONNECTION_SPECIFIC, H2Settings
from .h2compat import ServerConnection
from .headers import is_valid_name, is_valid_value

_FORWARDED_NAMES = frozenset((b"x-forwarded-for", b"x-forwarded-proto", b"forwarded"))
_REQUEST_PSEUDO = frozenset((b":method", b":scheme", b":path", b":authority", b":protocol"))
_DROP_RESPONSE = CONNECTION_SPECIFIC  # dropped from responses: meaningless or forbidden in HTTP/2


class StreamReset:
    """The peer reset a stream, or we did because its request was malformed."""

    __slots__ = ("stream_id",)

    def __init__(self, stream_id: int) -> None:
        self.stream_id = stream_id


class WindowOpened:
    """Flow-control windows grew: queued response data may have gone out (``stream_id`` 0: all)."""

    __slots__ = ("stream_id",)

    def __init__(self, stream_id: int) -> None:
        self.stream_id = stream_id


class GoAway:
    """The connection is over: the peer said GOAWAY, or broke the protocol or flooded us (we
    said it; ``flood`` then names what)."""

    __slots__ = ("error", "flood")

    def __init__(self, error: str, flood: bool = False) -> None:
        self.error = error
        self.flood = flood


H2Event = Request | Data | EndOfMessage | StreamReset | WindowOpened | GoAway


FLOOD_BUDGET = 100  # frames of each flooding kind a connection may send beyond what its requests justify


class H2Connection:
    """The server side of one HTTP/2 connection."""

    def __init__(self, settings: H2Settings) -> None:
        self.settings = settings
        conn = ServerConnection(
            settings.max_concurrent_streams, settings.max_header_list_size, settings.initial_window_size
        )
        self._conn = conn
        self._pending: dict[int, list[bytes]] = {}  # stream -> response data waiting for window
        self._pending_end: set[int] = set()  # streams whose END_STREAM waits behind that data
        self.closed = False
        self.last_stream_id = 0
        self._goaway_sent = False
        # Flood accounting (Rapid Reset CVE-2023-44487, MadeYouReset CVE-2025-8671, ping and
        # settings floods): each kind of frame that costs us work but serves no request has a
        # budget that grows with the requests the connection makes.
        self.requests = 0
        self.resets = 0  # streams reset by the peer, or by us for its malformed requests
        self.pings = 0
        self.settings_frames = 0
        self._extra: list[bytes] = []  # frames written around h2, in order before its next output
        self._lengths: dict[int, list[int]] = {}  # stream -> [content-length, body bytes so far]
        self._trailers: dict[int, list[tuple[bytes, bytes]]] = {}  # stream -> trailer fields so far
        self._trailers_ready: set[int] = set()  # streams whose trailers are complete

    def initiate(self, upgrade_settings: bytes | None = None) -> None:
        """Send our SETTINGS (and a larger connection window); for an h2c upgrade, take the
        client's HTTP2-Settings."""
        conn = self._conn
        if upgrade_settings is None:
            conn.initiate_connection()
        else:
            conn.initiate_upgrade_connection(upgrade_settings)
            self.last_stream_id = 1
        grow = self.settings.initial_window_size * 4 - 65535
        if grow > 0:
            conn.increment_flow_control_window(grow)

    # ---- input -------------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[H2Event]:
        if self.closed:
            return []
        try:
            h2_events = self._conn.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            self.closed = True
            return [GoAway(f"{type(exc).__name__}: {exc}")]
        except (ValueError, TypeError, KeyError, IndexError) as exc:  # h2 is not proof against every input
            self._conn.close_connection(H2ErrorCode.PROTOCOL_ERROR, last_stream_id=self.last_stream_id)
            self.closed = True
            return [GoAway(f"{type(exc).__name__}: {exc}")]
        events: list[H2Event] = []
        append = events.append
        for event in h2_events:
            kind = type(event)
            if kind is h2.events.DataReceived:
                stream_id = event.stream_id  # type: ignore[attr-defined]
                data = event.data  # type: ignore[attr-defined]
                padding = event.flow_controlled_length - len(data)  # type: ignore[attr-defined]
                if padding:
                    self.acknowledge(stream_id, padding)  # padding is nobody's to read
                length = self._lengths.get(stream_id)
                if length is not None:
                    length[1] += len(data)
                    ended = event.stream_ended is not None  # type: ignore[attr-defined]
                    if length[1] > length[0] or (ended and length[1] != length[0]):
                        self.acknowledge(stream_id, len(data))
                        self._malformed(stream_id)
                        append(StreamReset(stream_id))
                        continue
                if data:
                    append(Data(stream_id, data))
                if event.stream_ended is not None:  # type: ignore[attr-defined]
                    self._lengths.pop(stream_id, None)
                    append(EndOfMessage(stream_id))
            elif kind is h2.events.RequestReceived:
                self.requests += 1
                request = self._request(event.stream_id, event.headers)  # type: ignore[attr-defined]
                if request is not None:
                    ended = event.stream_ended is not None  # type: ignore[attr-defined]
                    length = self._lengths.get(request.stream_id)
                    if ended and length is not None and length[0] != 0:
                        self._malformed(request.stream_id)  # a promised body that never came
                        continue
                    if ended:
                        self._lengths.pop(request.stream_id, None)
                        request.content_length = 0  # known to be empty (no body deadline for it)
                    append(request)
                    if ended:
                        append(EndOfMessage(request.stream_id))
            elif kind is h2.events.StreamEnded:
                pass  # reported with the DATA or HEADERS that ended the stream
            elif kind is h2.events.WindowUpdated:
                append(WindowOpened(self._flush_pending(event.stream_id)))  # type: ignore[attr-defined]
            elif kind is h2.events.PingReceived:
                self.pings += 1
            elif kind is h2.events.RemoteSettingsChanged:
                self.settings_frames += 1
                if h2.settings.SettingCodes.INITIAL_WINDOW_SIZE in event.changed_settings:  # type: ignore[attr-defined]
                    append(WindowOpened(self._flush_pending(0)))
            elif kind is h2.events.StreamReset:
                self.resets += 1
                self._drop(event.stream_id)  # type: ignore[attr-defined]
                self._lengths.pop(event.stream_id, None)  # type: ignore[attr-defined]
                append(StreamReset(event.stream_id))  # type: ignore[attr-defined]
            elif kind is h2.events.TrailersReceived:
                if event.stream_ended is not None:  # type: ignore[attr-defined]
                    append(EndOfMessage(event.stream_id))  # type: ignore[attr-defined]
            elif kind is h2.events.ConnectionTerminated:
                self.closed = True
                append(GoAway(f"GOAWAY from the peer ({event.error_code!r})"))  # type: ignore[attr-defined]
        flood = self._flood()
        if flood is not None:
            self._conn.close_connection(H2ErrorCode.ENHANCE_YOUR_CALM, last_stream_id=self.last_stream_id)
            self.closed = True
            events.append(GoAway(flood, flood=True))
        return events

    def _flood(self) -> str | None:
        """What the peer floods us with, if it is over its budget."""
        budget = FLOOD_BUDGET + self.requests
        resets = self.resets + self._conn.refused
        if resets > FLOOD_BUDGET + self.requests // 2:
            return f"too many reset streams ({resets} of {self.requests})"
        if self.pings > budget:
            return f"too many pings ({self.pings})"
        if self.settings_frames > budget:
            return f"too many settings frames ({self.settings_frames})"
        return None

    def _request(self, stream_id: int, headers: list[tuple[bytes, bytes]]) -> Request | None:
        """A request from a header section, or None when it is malformed (the stream is reset)."""
        method = path = scheme = authority = protocol = None
        fields: list[tuple[bytes, bytes]] = []
        host = None
        content_length: int | None = None
        forwarded = False
        regular = False
        for name, value in headers:
            if name[:1] == b":":
                if regular or name not in _REQUEST_PSEUDO:
                    return self._malformed(stream_id)
                if name == b":method":
                    if method is not None:
                        return self._malformed(stream_id)
                    method = value
                elif name == b":path":
                    if path is not None:
                        return self._malformed(stream_id)
                    path = value
                elif name == b":scheme":
                    if scheme is not None:
                        return self._malformed(stream_id)
                    scheme = value
                elif name == b":authority":
                    if authority is not None:
                        return self._malformed(stream_id)
                    authority = value
                else:  # :protocol, of an extended CONNECT (RFC 8441)
                    if protocol is not None:
                        return self._malformed(stream_id)
                    protocol = value
                continue
            regular = True
            if (
                not is_valid_name(name) or name != name.lower() or not is_valid_value(value)
            ):  # (a client's: not remembered)
                return self._malformed(stream_id)
            if name in CONNECTION_SPECIFIC or (name == b"te" and value != b"trailers"):
                return self._malformed(stream_id)
            if value[:1] in (b" ", b"\t") or value[-1:] in (b" ", b"\t"):
                return self._malformed(stream_id)
            if name == b"host":
                if host is not None:
                    return self._malformed(stream_id)
                host = value
            elif name == b"content-length":
                if not value.isdigit() or (content_length is not None and int(value) != content_length):
                    return self._malformed(stream_id)
                content_length = int(value)
            elif name in _FORWARDED_NAMES:
                forwarded = True
            fields.append((name, value))
        if method is None or scheme is None or not path or (method == b"CONNECT") != (protocol is not None):
            return self._malformed(stream_id)  # a plain CONNECT (no :path, :scheme) lands here too
        if authority is not None:
            if host is not None and host != authority:
                return self._malformed(stream_id)  # one canonical authority
            if host is None:
                fields.insert(0, (b"host", authority))
                host = authority
        self.last_stream_id = stream_id
        try:
            method_text = method.decode("ascii")
        except UnicodeDecodeError:
            return self._malformed(stream_id)
        if content_length is not None:
            self._lengths[stream_id] = [content_length, 0]
        length = -1 if content_length is None else content_length
        return Request(
            stream_id, method_text, path, fields, "2", True, False, protocol, length, forwarded, host
        )

    def _malformed(self, stream_id: int) -> Request | None:
        """Reset a stream whose request is malformed (RFC 9113 section 8.1.1): a stream error."""
        self.resets += 1
        self._lengths.pop(stream_id, None)
        self._conn.reset_stream(stream_id, H2ErrorCode.PROTOCOL_ERROR)
        return None

    def acknowledge(self, stream_id: int, size: int) -> None:
        """The app has taken ``size`` bytes of the stream's body: reopen the windows for them."""
        if size and not self.closed:
            try:
                self._conn.acknowledge_received_data(size, stream_id)
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                pass

    # ---- output ------------------------------------------------------------------------------

    def send_headers(
        self,
        stream_id: int,
        status: int,
        headers: Iterable[tuple[bytes, bytes]],
        defaults: list[tuple[bytes, bytes]],
        end_stream: bool,
    ) -> int:
        """Frame a response head; returns its Content-Length (-1: none), which the caller holds
        the body to. Raises ``LocalProtocolError`` for a header that must not be sent."""
        if type(status) is not int or not 100 <= status <= 999:
            raise LocalProtocolError(f"Invalid HTTP status code {status!r} in response.")
        fields: list[tuple[bytes, bytes]] = [(b":status", b"%d" % status)]
        own = set()
        length = -1
        for name, value in headers:
            if not is_valid_name(name):
                raise LocalProtocolError(f"Invalid HTTP header name {name!r} in response.")
            lname = name.lower()
            if not is_valid_value(value, lname):
                raise LocalProtocolError(f"Invalid HTTP header value {value!r} in response.")
            if lname == b"content-length":
                if not value.isdigit() or (length != -1 and int(value) != length):
                    raise LocalProtocolError(f"Invalid Content-Length {value!r} in response.")
                length = int(value)
            if lname in _DROP_RESPONSE:
                continue
            own.add(lname)
            fields.append((lname, value))
        for name, value in defaults:
            if name not in own:
                fields.append((name, value))
        if not self.closed:
            try:
                if status >= 200 and not end_stream:  # framed by us: h2's costs more than the rest
                    self._extra.append(self._conn.send_head(stream_id, fields))
                else:
                    self._conn.send_headers(stream_id, fields, end_stream=end_stream)
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                pass  # the peer reset the stream meanwhile
        return length

    def send_data(self, stream_id: int, data: bytes, end_stream: bool) -> None:
        if self.closed:
            return
        pending = self._pending.get(stream_id)
        if pending is not None:
            if data:
                pending.append(data)
            if end_stream:
                self._pending_end.add(stream_id)
            return
        conn = self._conn
        try:
            if data:
                window = conn.local_flow_control_window(stream_id)
                frame_size = conn.max_outbound_frame_size
                size = len(data)
                if size <= window and size <= frame_size:  # the common case: one frame
                    conn.send_data(stream_id, data, end_stream=end_stream)
                    return
                view = memoryview(data)
                sent = 0
                while sent < size and window > 0:
                    piece = min(window, frame_size, size - sent)
                    last = end_stream and sent + piece == size
                    conn.send_data(stream_id, view[sent : sent + piece].tobytes(), end_stream=last)
                    sent += piece
                    window -= piece
                if sent < size:
                    self._pending[stream_id] = [data[sent:]]
                    if end_stream:
                        self._pending_end.add(stream_id)
                return
            if end_stream:
                conn.end_stream(stream_id)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            self._drop(stream_id)

    def send_trailers(self, stream_id: int, headers: Iterable[tuple[bytes, bytes]], end: bool) -> None:
        """Trailer fields; with ``end`` they go out (after any queued data) and end the stream.
        Raises ``LocalProtocolError`` for a field that must not be sent."""
        fields = self._trailers.setdefault(stream_id, [])
        for name, value in headers:
            if not is_valid_name(name) or not is_valid_value(value):
                raise LocalProtocolError(f"Invalid trailer {name!r}: {value!r} in response.")
            lname = name.lower()
            if lname not in _DROP_RESPONSE:
                fields.append((lname, value))
        if end:
            self._trailers_ready.add(stream_id)
            if stream_id not in self._pending:
                self._send_trailers(stream_id)

    def _send_trailers(self, stream_id: int) -> None:
        self._trailers_ready.discard(stream_id)
        fields = self._trailers.pop(stream_id, [])
        if self.closed:
            return
        try:
            self._conn.send_headers(stream_id, fields, end_stream=True)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            self._drop(stream_id)

    def blocked(self, stream_id: int) -> bool:
        """Response data of the stream waits for the peer's window."""
        return stream_id in self._pending

    def _flush_pending(self, stream_id: int) -> int:
        """Send what the windows now allow, for one stream or (0) all; returns ``stream_id``."""
        ids = [stream_id] if stream_id in self._pending else list(self._pending)  # 0 is never pending
        for sid in ids:
            chunks = self._pending.pop(sid)
            end = sid in self._pending_end
            self._pending_end.discard(sid)
            self.send_data(sid, b"".join(chunks), end)
            if sid in self._trailers_ready and sid not in self._pending:
                self._send_trailers(sid)
        return stream_id

    def _drop(self, stream_id: int) -> None:
        self._trailers.pop(stream_id, None)
        self._trailers_ready.discard(stream_id)
        self._pending.pop(stream_id, None)
        self._pending_end.discard(stream_id)

    def reset(self, stream_id: int, code: int = H2ErrorCode.INTERNAL_ERROR) -> None:
        self._drop(stream_id)
        if not self.closed:
            try:
                self._conn.reset_stream(stream_id, code)
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                pass

    def goaway(self) -> None:
        """Say GOAWAY (NO_ERROR) with the last stream we took; streams up to it may finish.

        Written here rather than by h2, whose connection takes no frame after its GOAWAY.
        """
        if not self.closed and not self._goaway_sent:
            self._goaway_sent = True
            # length 8, type GOAWAY (7), no flags, stream 0; last stream id; NO_ERROR
            frame = struct.pack("!HBBBLLL", 0, 8, 0x7, 0, 0, self.last_stream_id & 0x7FFFFFFF, 0)
            self._extra.append(self._conn.data_to_send() + frame)

    def data_to_send(self) -> bytes:
        data = self._conn.data_to_send()
        if self._extra:
            data = b"".join(self._extra) + data
            self._extra = []
        return data

    @property
    def open_streams(self) -> int:
        """Streams open or half-closed (h2 forgets the closed ones as it counts)."""
        return self._conn.open_inbound_streams

    @property
    def head_pending(self) -> bool:
        """A header block has begun and not ended (HEADERS waiting for its CONTINUATION)."""
        return self._conn.head_pending
