"""permessage-deflate (RFC 7692) for the WebSocket core: wsproto's extension, bounded by the
message size limit, with the two calls the fast path makes for a one-frame message.

Invariants:
- One zlib state per direction per connection, shared by wsproto's frames and the fast path:
  inbound ``_inflater`` (created on the first compressed message, dropped after each message
  under ``client_no_context_takeover``), outbound wsproto's own ``_compressor`` (dropped after
  each message under ``server_no_context_takeover``). The WebSocket core calls
  ``inflate_message`` only between messages wsproto parses (``_in_compressed`` is None), so
  messages use the state in the order they are on the wire.
- Inflating stops one byte past ``max_size``: a small compressed frame never becomes more than
  the limit in memory; the message fails with 1009.
"""

from __future__ import annotations

import zlib

from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import CloseReason, FrameDecoder, FrameProtocol, Opcode, RsvBits

_TAIL = b"\x00\x00\xff\xff"  # the end of a sync flush, left off on the wire (RFC 7692 7.2.1)


class BoundedDeflate(PerMessageDeflate):
    """permessage-deflate whose inflating stops at the message size limit (1009), so that a
    small compressed frame cannot become gigabytes in memory. The negotiation is wsproto's."""

    def __init__(self, max_size: int) -> None:
        super().__init__()
        self.max_size = max_size
        self._in_compressed: bool | None = None
        self._in_compressible = False
        self._inflater: zlib._Decompress | None = None
        self._in_size = 0  # bytes of the current message inflated so far

    def frame_inbound_header(
        self, proto: FrameDecoder | FrameProtocol, opcode: Opcode, rsv: RsvBits, payload_length: int
    ) -> CloseReason | RsvBits:
        if rsv.rsv1 and (opcode.iscontrol() or opcode is Opcode.CONTINUATION):
            return CloseReason.PROTOCOL_ERROR
        self._in_compressible = not opcode.iscontrol()
        if self._in_compressible and self._in_compressed is None:  # (a ping between fragments: not ours)
            self._in_compressed = rsv.rsv1
            self._in_size = 0
            if rsv.rsv1 and self._inflater is None:
                self._inflater = zlib.decompressobj(-int(self.client_max_window_bits))
        return RsvBits(True, False, False)

    def _inflate(self, data: bytes) -> bytes | CloseReason:
        assert self._inflater is not None
        budget = self.max_size - self._in_size
        try:
            out = self._inflater.decompress(data, budget + 1)
        except zlib.error:
            return CloseReason.INVALID_FRAME_PAYLOAD_DATA
        self._in_size += len(out)
        if self._in_size > self.max_size:
            return CloseReason.MESSAGE_TOO_BIG
        return out

    def frame_inbound_payload_data(
        self, proto: FrameDecoder | FrameProtocol, data: bytes
    ) -> bytes | CloseReason:
        if not self._in_compressed or not self._in_compressible:
            return data
        return self._inflate(bytes(data))

    def frame_inbound_complete(
        self, proto: FrameDecoder | FrameProtocol, fin: bool
    ) -> bytes | CloseReason | None:
        if not fin or not self._in_compressible:
            return None
        compressed = self._in_compressed and self._in_compressible
        self._in_compressed = None
        if not compressed:
            return None
        out = self._inflate(_TAIL)
        if self.client_no_context_takeover:
            self._inflater = None
        return out

    @property
    def inflating(self) -> bool:
        """wsproto is inflating a message: it has its first frame, not its last."""
        return bool(self._in_compressed)

    def inflate_message(self, payload: bytes) -> bytes | int:
        """The message a whole compressed one-frame message carries (unmasked ``payload``),
        or the close code failing it: 1009 past the limit, 1007 for data zlib refuses."""
        inflater = self._inflater
        if inflater is None:
            inflater = self._inflater = zlib.decompressobj(-int(self.client_max_window_bits))
        limit = self.max_size + 1
        try:
            out = inflater.decompress(payload, limit)
            if len(out) < limit:  # all of the payload went in
                out += inflater.decompress(_TAIL, limit - len(out))
        except zlib.error:
            return CloseReason.INVALID_FRAME_PAYLOAD_DATA.value
        if len(out) >= limit:
            return CloseReason.MESSAGE_TOO_BIG.value
        if self.client_no_context_takeover:
            self._inflater = None
        return out

    def deflate_message(self, data: bytes) -> bytes:
        """The payload of a one-frame message we send, compressed as wsproto would (its
        ``frame_outbound``, with the same compressor)."""
        compressor = self._compressor
        if compressor is None:
            bits = -int(self.server_max_window_bits)
            compressor = self._compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, bits)
        out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
        if self.server_no_context_takeover:
            self._compressor = None
        return out[:-4]
