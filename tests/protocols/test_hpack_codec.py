"""The server's HPACK: responses encoded without the dynamic table, decoded by hpack; requests
decoded by hpack with repeated all-indexed blocks remembered."""

from __future__ import annotations

import pytest
from hpack import Decoder, Encoder
from hpack.exceptions import OversizedHeaderListError

from asgihost.protocols.hpack_codec import RequestDecoder, ResponseEncoder, encode_field


def fields(decoded):
    return [tuple(field) for field in decoded]


def test_responses_round_trip_through_hpack():
    encoder, decoder = ResponseEncoder(), Decoder()
    headers = [
        (b":status", b"200"),  # static table: one byte
        (b"content-type", b"text/plain"),  # static name, literal value
        (b"x-long-custom-name", b"v" * 300),  # literal name and value, multi-byte lengths
        (b"date", b"Thu, 26 Nov 2026 01:24:46 GMT"),
    ]
    for _ in range(3):
        block = encoder.encode(headers)
        assert fields(decoder.decode(block, raw=True)) == headers
    assert encode_field(b":status", b"200") == b"\x88"
    assert (
        decoder.header_table.dynamic_entries == type(decoder.header_table.dynamic_entries)()
    )  # nothing indexed


def test_a_smaller_table_is_acknowledged_in_the_next_block():
    encoder, decoder = ResponseEncoder(), Decoder()
    encoder.header_table_size = 0
    block = encoder.encode([(b":status", b"404")])
    assert block[:1] == b"\x20"  # dynamic table size update to 0
    decoder.header_table_size = 0
    assert fields(decoder.decode(block, raw=True)) == [(b":status", b"404")]
    assert encoder.encode([(b":status", b"404")])[:1] != b"\x20"  # once only


def test_request_decoder_matches_hpack_while_the_table_changes():
    encoder = Encoder()
    ours, theirs = RequestDecoder(), Decoder()
    requests = [
        [(b":method", b"GET"), (b":path", b"/"), (b":authority", b"a"), (b"x-n", b"1")],
        [(b":method", b"GET"), (b":path", b"/"), (b":authority", b"a"), (b"x-n", b"1")],  # all indexed now
        [(b":method", b"GET"), (b":path", b"/"), (b":authority", b"a"), (b"x-n", b"1")],  # remembered
        [(b":method", b"POST"), (b":path", b"/other"), (b":authority", b"a"), (b"x-n", b"2")],
        [(b":method", b"GET"), (b":path", b"/"), (b":authority", b"a"), (b"x-n", b"1")],
    ]
    for headers in requests:
        block = encoder.encode(headers)
        assert fields(ours.decode(block, raw=True)) == fields(theirs.decode(block, raw=True)) == headers


def test_request_decoder_still_enforces_the_header_list_size():
    encoder, decoder = Encoder(), RequestDecoder()
    decoder.max_header_list_size = 100
    headers = [(b"x-big", b"v" * 40), (b"x-big2", b"w" * 40)]
    with pytest.raises(OversizedHeaderListError):
        decoder.decode(encoder.encode(headers), raw=True)
