"""What the HTTP/2 core needs from h2's internals, per connection: no process-wide patch.

h2 and hpack stay stock for everything else in the process (an app's own HTTP/2 client, say):
the changes below live in subclasses that only the server's connections use.

- ``ServerStream``: h2 counts DATA against content-length and ends the whole connection when
  they disagree; RFC 9113 section 8.1.1 makes that a stream error, which the core applies
  itself. The stream's own count is off.
- ``ServerFrameBuffer``: its CONTINUATION backlog (CVE-2024-27316) is an attribute, bounded by
  the connection to what a header list of the allowed size needs; a SETTINGS frame with ACK and
  a payload is a FRAME_SIZE_ERROR (RFC 9113 section 6.5; h2 says PROTOCOL_ERROR).
- ``ServerConnection``: response heads are framed without h2's send_headers (its state
  machines are told); the open streams are counted (and the closed ones forgotten) only when
  the streams held reach the limit or double, not for every new stream; a field block that does not decode is a COMPRESSION_ERROR (RFC 9113
  section 4.3, RFC 7541 sections 2.3.3 and 6.3); a stream opened beyond MAX_CONCURRENT_STREAMS
  is refused with RST_STREAM REFUSED_STREAM (RFC 9113 section 5.1.2), its field block still
  decoded so that the HPACK table stays in step, and the other streams live on.

Invariants:
- No attribute of the h2, hpack or hyperframe modules or of their classes is written: only
  ``ServerConnection`` objects, which only the core makes, behave differently.
- The overrides copy the private methods of h2 ``SUPPORTED_H2`` (checked at import, which fails
  loudly on another version) and keep their logic except where said above. hpack is used
  through its public API (``SUPPORTED_HPACK``: its major version).
- A refused stream's id becomes the highest inbound one and h2 records it as closed by our
  RST_STREAM, so frames that follow on it get h2's stream-error answers (RST_STREAM
  STREAM_CLOSED, the connection window still credited), never a connection error.
- hpack's debug logging is left as it is: muting it saved about 3% of decoding a 12-field first
  request, and nothing on the repeated blocks that ``RequestDecoder`` remembers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import h2
import h2.config
import h2.connection
import h2.errors
import h2.exceptions
import h2.frame_buffer
import h2.settings
import h2.stream
import hpack
from h2.connection import AllowedStreamIDs, ConnectionInputs
from h2.settings import SettingCodes
from hpack.exceptions import HPACKError, OversizedHeaderListError
from hyperframe.frame import ContinuationFrame, Frame, HeadersFrame, PushPromiseFrame, RstStreamFrame

from .hpack_codec import RequestDecoder, ResponseEncoder

SUPPORTED_H2 = ("4.4",)  # major.minor series whose internals this module was checked against
SUPPORTED_HPACK = ("4",)


def _series(version: str, parts: int) -> str:
    return ".".join(version.split(".")[:parts])


if _series(h2.__version__, 2) not in SUPPORTED_H2 or _series(hpack.__version__, 1) not in SUPPORTED_HPACK:
    raise ImportError(
        f"asgihost's HTTP/2 supports h2 {', '.join(SUPPORTED_H2)}.x and hpack {', '.join(SUPPORTED_HPACK)}.x;"
        f" found h2 {h2.__version__} and hpack {hpack.__version__}"
    )

_SETTINGS = 0x4  # frame type
_ACK = 0x1  # its flag
_COUNT_AT = 4  # streams held (open or closed) below which the open ones are not counted


class CompressionError(h2.exceptions.ProtocolError):
    """A field block that does not decode: the HPACK state is lost, so the connection is."""

    error_code = h2.errors.ErrorCodes.COMPRESSION_ERROR


class ServerStream(h2.stream.H2Stream):
    def _initialize_content_length(self, headers: Iterable[Any]) -> None:
        """Not counted here: the core checks content-length per stream."""


class ServerFrameBuffer(h2.frame_buffer.FrameBuffer):
    def __init__(self, continuation_backlog: int) -> None:
        super().__init__(server=True)
        self.continuation_backlog = continuation_backlog

    def _validate_frame_length(self, length: int) -> None:
        # Called with the frame's header still at the start of the buffer, before its body
        # is parsed (which would make a SETTINGS ACK payload a PROTOCOL_ERROR).
        if length > self.max_frame_size:
            msg = f"Received overlong frame: length {length}, max {self.max_frame_size}"
            raise h2.exceptions.FrameTooLargeError(msg)
        if length and self._data[3] == _SETTINGS and self._data[4] & _ACK:
            msg = f"SETTINGS ack frame must not have payload: got {length} bytes"
            raise h2.exceptions.FrameTooLargeError(msg)

    def _update_header_buffer(self, f: Frame | None) -> Frame | None:
        # h2's, with the backlog of this buffer rather than h2.frame_buffer's global.
        if self._headers_buffer:
            stream_id = self._headers_buffer[0].stream_id
            if not isinstance(f, ContinuationFrame) or f.stream_id != stream_id:
                msg = "Invalid frame during header block."
                raise h2.exceptions.ProtocolError(msg)
            self._headers_buffer.append(f)
            if len(self._headers_buffer) > self.continuation_backlog:
                msg = "Too many continuation frames received."
                raise h2.exceptions.ProtocolError(msg)
            if "END_HEADERS" in f.flags:
                first = self._headers_buffer[0]
                first.flags.add("END_HEADERS")
                first.data = b"".join(x.data for x in self._headers_buffer)
                self._headers_buffer = []
                return first
            return None
        if isinstance(f, (HeadersFrame, PushPromiseFrame)) and "END_HEADERS" not in f.flags:
            self._headers_buffer.append(f)
            return None
        return f


def _decode(decoder: Any, block: bytes) -> Any:
    """h2's ``_decode_headers``, with COMPRESSION_ERROR for a block that does not decode."""
    try:
        return decoder.decode(block, raw=True)
    except OversizedHeaderListError as exc:
        raise h2.exceptions.DenialOfServiceError(f"Oversized header block: {exc}") from exc
    except (HPACKError, IndexError, TypeError, UnicodeDecodeError) as exc:
        raise CompressionError(f"Error decoding header block: {exc}") from exc


_CONFIG = h2.config.H2Configuration(
    client_side=False,
    header_encoding=None,
    validate_inbound_headers=False,  # checked by the core, so that a bad request is a stream error
    normalize_inbound_headers=False,
    validate_outbound_headers=False,  # checked by the core, once
    normalize_outbound_headers=False,
)


class ServerConnection(h2.connection.H2Connection):
    """h2's server connection with the stream, frame buffer and HEADERS handling above, the
    settings the server announces, and asgihost's HPACK (``hpack_codec``)."""

    def __init__(
        self, max_concurrent_streams: int, max_header_list_size: int, initial_window_size: int
    ) -> None:
        super().__init__(_CONFIG)
        self.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                SettingCodes.MAX_CONCURRENT_STREAMS: max_concurrent_streams,
                SettingCodes.MAX_HEADER_LIST_SIZE: max_header_list_size,
                SettingCodes.INITIAL_WINDOW_SIZE: initial_window_size,
                SettingCodes.ENABLE_CONNECT_PROTOCOL: 1,  # RFC 8441: WebSockets
            },
        )
        # CONTINUATION flood (CVE-2024-27316): h2 buffers a header block's frames until it ends,
        # up to a backlog of them (h2's own is 64: 1 MiB of 16 KiB frames). Bound them to what a
        # header list of the allowed size needs, so the bytes held before decoding stay near it.
        self.incoming_buffer = ServerFrameBuffer(max(4, max_header_list_size // 16384 + 2))
        self.decoder = RequestDecoder()
        self.decoder.max_header_list_size = max_header_list_size
        self.encoder = ResponseEncoder()  # type: ignore[assignment]
        self.refused = 0  # streams refused for MAX_CONCURRENT_STREAMS
        self._count_at = _COUNT_AT  # streams held at which open ones are next counted

    @property
    def head_pending(self) -> bool:
        """A header block has begun and not ended (HEADERS waiting for its CONTINUATION)."""
        return bool(self.incoming_buffer._headers_buffer)

    def send_head(self, stream_id: int, fields: list[tuple[bytes, bytes]]) -> bytes:
        """A response head that does not end the stream, framed here (h2's send_headers costs
        more than the rest of a hello-world response), after what h2 has to send. h2's state
        machines still see the headers go (in the order h2 itself moves them), so its checks
        and later frames stay right. Raises h2's StreamClosedError for a stream gone."""
        stream = self.streams.get(stream_id)
        if stream is None:
            raise h2.exceptions.StreamClosedError(stream_id)
        self.state_machine.process_input(ConnectionInputs.SEND_HEADERS)
        stream.state_machine.process_input(h2.stream.StreamInputs.SEND_HEADERS)
        block = self.encoder.encode(fields)
        limit = self.max_outbound_frame_size
        frames: list[bytes] = [self.data_to_send()]
        kind = b"\x01"  # HEADERS, then CONTINUATION (0x9) while the block does not fit one frame
        sid = stream_id.to_bytes(4, "big")
        for at in range(0, max(len(block), 1), limit):
            piece = block[at : at + limit]
            last = at + limit >= len(block)
            frames += (len(piece).to_bytes(3, "big"), kind, b"\x04" if last else b"\x00", sid, piece)
            kind = b"\x09"
        return b"".join(frames)

    def _begin_new_stream(self, stream_id: int, allowed_ids: AllowedStreamIDs) -> h2.stream.H2Stream:
        # h2's, making a ServerStream (and without its debug log lines).
        outbound = self._stream_id_is_outbound(stream_id)
        highest = self.highest_outbound_stream_id if outbound else self.highest_inbound_stream_id
        if stream_id <= highest:
            raise h2.exceptions.StreamIDTooLowError(stream_id, highest)
        if (stream_id % 2) != int(allowed_ids):
            msg = "Invalid stream ID for peer."
            raise h2.exceptions.ProtocolError(msg)
        stream = ServerStream(
            stream_id,
            config=self.config,
            inbound_window_size=self.local_settings.initial_window_size,
            outbound_window_size=self.remote_settings.initial_window_size,
        )
        stream.max_outbound_frame_size = self.max_outbound_frame_size
        self.streams[stream_id] = stream
        if outbound:
            self.highest_outbound_stream_id = stream_id
        else:
            self.highest_inbound_stream_id = stream_id
        return stream

    def _receive_headers_frame(self, frame: HeadersFrame) -> tuple[list[Frame], list[Any]]:
        # h2's, refusing a stream over the limit and decoding with COMPRESSION_ERROR.
        stream_id = frame.stream_id
        if stream_id not in self.streams and stream_id > self.highest_inbound_stream_id and stream_id % 2:
            limit = self.local_settings.max_concurrent_streams
            held = len(self.streams)
            # h2 counts the open streams, forgetting closed ones, for every new stream: O(n)
            # each. They are no more than the streams held, so count only at the limit, or when
            # the held streams doubled since the last count: amortized O(1), and the closed
            # streams held stay under twice the open ones of the last count (or _COUNT_AT).
            if held >= limit or held >= self._count_at:
                open_streams = self.open_inbound_streams
                self._count_at = max(2 * open_streams, _COUNT_AT)
                if open_streams >= limit:
                    return self._refuse(frame)
        headers = _decode(self.decoder, frame.data)
        events = self.state_machine.process_input(ConnectionInputs.RECV_HEADERS)
        stream = self._get_or_create_stream(stream_id, AllowedStreamIDs.ODD)
        frames, stream_events = stream.receive_headers(
            headers, "END_STREAM" in frame.flags, self.config.header_encoding
        )
        if "PRIORITY" in frame.flags:
            _, p_events = self._receive_priority_frame(frame)
            stream_events[0].priority_updated = p_events[0]  # type: ignore[attr-defined]
            stream_events.extend(p_events)
        return frames, events + stream_events

    def _refuse(self, frame: HeadersFrame) -> tuple[list[Frame], list[Any]]:
        """RST_STREAM REFUSED_STREAM for a new stream over the limit."""
        _decode(self.decoder, frame.data)  # the block may change the HPACK table
        self.state_machine.process_input(ConnectionInputs.RECV_HEADERS)
        self.highest_inbound_stream_id = frame.stream_id
        self._closed_streams[frame.stream_id] = h2.stream.StreamClosedBy.SEND_RST_STREAM
        self.refused += 1
        refusal = RstStreamFrame(frame.stream_id)
        refusal.error_code = h2.errors.ErrorCodes.REFUSED_STREAM
        return [refusal], []
