"""HPACK (RFC 7541) for the server side: an encoder for responses that never uses the dynamic
table, and a decoder that remembers blocks that cannot change it.

Response header sections repeat (status, server, content-type, a date that changes once a
second), so each field's encoding is computed once and kept, in one bounded cache for the
process (a field's encoding depends on nothing else): encoding a section is a few dict lookups
and one join. Fields go out as static-table references or literals without indexing; the
peer's decoder needs no table space from us. h2 uses it in place of hpack's encoder.

No field named in ``SENSITIVE_FIELDS`` is kept, by either side. That also keeps the encoder's
lookups exact: h2 hands a plain tuple of bytes for every field but those it marks never-indexed
(``NeverIndexedHeaderTuple``, equal to the plain tuple), which are all sensitive ones, so one of
them never finds the plain encoding of its equal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hpack import Decoder
from hpack.struct import NeverIndexedHeaderTuple
from hpack.table import HeaderTable

from .cache import SENSITIVE_FIELDS, BoundedCache

_encodings: BoundedCache[tuple[bytes, bytes], bytes] = BoundedCache(1024, 128 * 1024)
_encoded = _encodings.entries

_STATIC_FIELD: dict[tuple[bytes, bytes], int] = {}
_STATIC_NAME: dict[bytes, int] = {}
for _index, (_name, _value) in enumerate(HeaderTable.STATIC_TABLE, start=1):
    _STATIC_FIELD.setdefault((_name, _value), _index)
    _STATIC_NAME.setdefault(_name, _index)


def _integer(value: int, prefix_bits: int, flags: int) -> bytes:
    """RFC 7541 section 5.1."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((flags | value,))
    out = bytearray((flags | limit,))
    value -= limit
    while value >= 128:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _string(data: bytes) -> bytes:
    return _integer(len(data), 7, 0) + data  # no Huffman coding


def encode_field(name: bytes, value: bytes, never_indexed: bool = False) -> bytes:
    index = _STATIC_FIELD.get((name, value))
    if index is not None:
        return _integer(index, 7, 0x80)
    flags = 0x10 if never_indexed else 0x00
    name_index = _STATIC_NAME.get(name)
    if name_index is not None:
        return _integer(name_index, 4, flags) + _string(value)
    return bytes((flags,)) + _string(name) + _string(value)


class ResponseEncoder:
    """Duck-types ``hpack.Encoder`` for h2: ``encode`` and ``header_table_size``."""

    def __init__(self) -> None:
        self._table_size = 4096
        self._size_update: bytes = b""

    @property
    def header_table_size(self) -> int:
        return self._table_size

    @header_table_size.setter
    def header_table_size(self, value: int) -> None:
        # Our table stays empty whatever its size; a smaller maximum is still acknowledged
        # with a size update at the start of the next block (RFC 7541 section 4.2).
        if value < self._table_size:
            self._size_update = _integer(value, 5, 0x20)
        self._table_size = value

    def encode(self, headers: Iterable[tuple[bytes, bytes]], huffman: bool = True) -> bytes:
        cache = _encoded
        parts = [self._size_update] if self._size_update else []
        self._size_update = b""
        for field in headers:
            encoded = cache.get(field)
            if encoded is None:
                name, value = field
                name = name.encode() if isinstance(name, str) else bytes(name)
                value = value.encode() if isinstance(value, str) else bytes(value)
                encoded = encode_field(name, value, isinstance(field, NeverIndexedHeaderTuple))
                if (
                    type(field) is tuple
                    and type(field[0]) is bytes
                    and type(field[1]) is bytes
                    and name not in SENSITIVE_FIELDS
                ):
                    _encodings.remember(field, encoded, len(encoded) + len(name) + len(value))
            parts.append(encoded)
        return b"".join(parts)


_INDEXED_BYTES = bytes(range(0x81, 0xFF))  # one-byte indexed fields, indexes 1 to 126


class RequestDecoder(Decoder):
    """hpack's decoder, plus: a header block made only of one-byte indexed fields, as a client
    repeating a request sends, changes no table, so while the table does not change its
    decoding is remembered (per connection, bounded, and none with a sensitive field). Any
    other block may change the table and forgets them all."""

    def __init__(self) -> None:
        super().__init__()
        self._blocks: BoundedCache[bytes, list[Any]] = BoundedCache(256, 64 * 1024)
        self._known = self._blocks.entries

    def decode(self, data: bytes, raw: bool = False) -> Iterable[Any]:
        if raw and data:
            known = self._known.get(data)  # only blocks of indexed fields are ever kept
            if known is not None:
                return list(known)
            if not data.translate(None, _INDEXED_BYTES):
                headers = list(super().decode(data, raw=True))
                if not any(name in SENSITIVE_FIELDS for name, _ in headers):
                    size = len(data) + sum(len(name) + len(value) for name, value in headers)
                    self._blocks.remember(bytes(data), headers, size)
                return list(headers)
        self._blocks.clear()
        return super().decode(data, raw)

    @property
    def header_table_size(self) -> int:
        return self.header_table.maxsize

    @header_table_size.setter
    def header_table_size(self, value: int) -> None:
        self._blocks.clear()
        self.header_table.maxsize = value
