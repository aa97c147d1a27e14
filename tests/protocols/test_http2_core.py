"""The HTTP/2 core (asgihost.protocols.http2) against h2's own client as the oracle: what the
client sends becomes the core's events; what the core frames decodes, in the client, to exactly
the fields and bytes the app gave."""

from __future__ import annotations

import struct

import h2.config
import h2.connection
import h2.events
import h2.settings
import hpack.hpack
import pytest

from asgihost.protocols.errors import H2ErrorCode
from asgihost.protocols.events import EndOfMessage, Request
from asgihost.protocols.h2_settings import H2Settings
from asgihost.protocols.http2 import FLOOD_BUDGET, GoAway, H2Connection, StreamReset, WindowOpened

GET = [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/p?q=1"), (b":authority", b"example.com")]
DEFAULTS = [(b"server", b"asgihost"), (b"date", b"Fri, 04 Dec 2026 18:00:00 GMT")]


def new_client() -> h2.connection.H2Connection:
    config = h2.config.H2Configuration(
        client_side=True,
        header_encoding=None,
        validate_outbound_headers=False,  # the tests send malformed requests on purpose
        normalize_outbound_headers=False,
        validate_inbound_headers=False,
    )
    client = h2.connection.H2Connection(config)
    client.initiate_connection()
    return client


class Pair:
    """A server core and an h2 client. The client reads the server's SETTINGS only at the first
    ``to_client``, so until then it does not know the server's limits and can break them."""

    def __init__(self, max_concurrent_streams: int = 100, initial_window_size: int = 65535) -> None:
        self.server = H2Connection(H2Settings(max_concurrent_streams, 65536, initial_window_size))
        self.server.initiate()
        self.client = new_client()
        self.opening = self.to_server()  # the client's SETTINGS (its window: WindowOpened(0))

    def to_server(self) -> list:
        return self.server.receive_data(self.client.data_to_send())

    def to_client(self) -> list:
        return self.client.receive_data(self.server.data_to_send())


def kinds(events) -> list[type]:
    return [type(event) for event in events]


def describe(events) -> list[tuple]:
    return [(type(e).__name__, *(getattr(e, name) for name in e.__slots__)) for e in events]


def frames(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """(type, flags, stream, payload) of each frame in ``data``."""
    out = []
    while data:
        length = int.from_bytes(data[:3], "big")
        kind, flags, stream = struct.unpack("!BBL", data[3:9])
        out.append((kind, flags, stream & 0x7FFFFFFF, data[9 : 9 + length]))
        data = data[9 + length :]
    return out


def raw_frame(kind: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes((kind, flags)) + stream_id.to_bytes(4, "big") + payload


def goaway_code(pair: Pair) -> int:
    terminated = [e for e in pair.to_client() if isinstance(e, h2.events.ConnectionTerminated)]
    assert len(terminated) == 1
    return terminated[0].error_code


def resets(events) -> list[tuple[int, int]]:
    return [(e.stream_id, e.error_code) for e in events if isinstance(e, h2.events.StreamReset)]


def test_handshake_settings_and_the_larger_connection_window():
    pair = Pair(max_concurrent_streams=7, initial_window_size=100_000)
    events = pair.to_client()
    changed = next(e for e in events if isinstance(e, h2.events.RemoteSettingsChanged)).changed_settings
    assert changed[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS].new_value == 7
    assert changed[h2.settings.SettingCodes.INITIAL_WINDOW_SIZE].new_value == 100_000
    assert changed[h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE].new_value == 65536
    assert changed[h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL].new_value == 1
    window = next(e for e in events if isinstance(e, h2.events.WindowUpdated))
    assert (window.stream_id, window.delta) == (0, 400_000 - 65535)
    assert describe(pair.opening) == [("WindowOpened", 0)]  # SETTINGS with INITIAL_WINDOW_SIZE
    assert any(isinstance(e, h2.events.SettingsAcknowledged) for e in events)  # of the client's
    assert pair.to_server() == []  # the client's ACK of ours


def test_a_get_is_one_request_and_its_end():
    pair = Pair()
    pair.client.send_headers(1, [*GET, (b"accept", b"*/*")], end_stream=True)
    request, end = pair.to_server()
    assert type(request) is Request and type(end) is EndOfMessage and end.stream_id == 1
    assert (request.stream_id, request.method, request.target, request.http_version) == (
        1,
        "GET",
        b"/p?q=1",
        "2",
    )
    assert request.headers == [(b"host", b"example.com"), (b"accept", b"*/*")]
    assert (request.host, request.content_length, request.upgrade) == (
        b"example.com",
        0,
        None,
    )  # ended with its head: known empty


def test_a_post_body_split_across_data_frames():
    pair = Pair()
    headers = [(b":method", b"POST"), *GET[1:], (b"content-length", b"10")]
    pair.client.send_headers(1, headers)
    pair.client.send_data(1, b"hello")
    pair.client.send_data(1, b"world", end_stream=True)
    events = pair.to_server()
    assert describe(events[1:]) == [("Data", 1, b"hello"), ("Data", 1, b"world"), ("EndOfMessage", 1)]
    assert events[0].method == "POST" and events[0].content_length == 10


def test_a_response_head_and_body_decode_byte_exact():
    pair = Pair()
    pair.client.send_headers(1, GET, end_stream=True)
    pair.to_server()
    own = [(b"Content-Type", b"text/plain"), (b"Server", b"mine"), (b"Connection", b"close"), (b"x-a", b"1")]
    pair.server.send_headers(1, 200, own, DEFAULTS, end_stream=False)
    pair.server.send_data(1, b"Hello, world!", end_stream=True)
    events = pair.to_client()
    head = next(e for e in events if isinstance(e, h2.events.ResponseReceived))
    assert head.headers == [
        (b":status", b"200"),
        (b"content-type", b"text/plain"),
        (b"server", b"mine"),  # the app's own wins over the default; connection is dropped
        (b"x-a", b"1"),
        (b"date", DEFAULTS[1][1]),
    ]
    assert b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived)) == b"Hello, world!"
    assert any(isinstance(e, h2.events.StreamEnded) for e in events)


def test_a_head_larger_than_a_frame_goes_on_in_continuation_frames():
    pair = Pair()
    pair.client.send_headers(1, GET, end_stream=True)
    pair.to_server()
    pair.to_client()
    big = [(b"x-big-%d" % i, bytes([0x61 + i]) * 9000) for i in range(4)]
    pair.server.send_headers(1, 200, big, [], end_stream=True)
    out = pair.server.data_to_send()
    assert [(kind, flags) for kind, flags, _, _ in frames(out)] == [(1, 0x1), (9, 0), (9, 0x4)]
    assert all(len(payload) <= 16384 for _, _, _, payload in frames(out))
    head = next(e for e in pair.client.receive_data(out) if isinstance(e, h2.events.ResponseReceived))
    assert head.headers == [(b":status", b"200"), *big]


def test_data_beyond_the_windows_waits_until_they_open():
    pair = Pair()
    pair.client.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 100})
    pair.client.send_headers(1, GET, end_stream=True)
    pair.to_server()
    body = bytes(range(250))
    pair.server.send_headers(1, 200, [], [], end_stream=False)
    pair.server.send_data(1, body, end_stream=True)
    assert pair.server.blocked(1)
    received = [e for e in pair.to_client() if isinstance(e, h2.events.DataReceived)]
    assert b"".join(e.data for e in received) == body[:100]
    pair.client.increment_flow_control_window(120, stream_id=1)
    assert describe(pair.to_server()) == [("WindowOpened", 1)]
    assert pair.server.blocked(1)  # 30 bytes still wait
    events = pair.to_client()
    assert b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived)) == body[100:220]
    assert not any(isinstance(e, h2.events.StreamEnded) for e in events)
    pair.client.increment_flow_control_window(30, stream_id=1)
    assert kinds(pair.to_server()) == [WindowOpened]
    assert not pair.server.blocked(1)
    events = pair.to_client()
    assert b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived)) == body[220:]
    assert any(isinstance(e, h2.events.StreamEnded) for e in events)


def test_trailers_both_ways():
    pair = Pair()
    pair.client.send_headers(1, [(b":method", b"POST"), *GET[1:], (b"te", b"trailers")])
    pair.client.send_data(1, b"abc")
    pair.client.send_headers(1, [(b"x-sum", b"6")], end_stream=True)
    assert describe(pair.to_server())[1:] == [("Data", 1, b"abc"), ("EndOfMessage", 1)]
    pair.server.send_headers(1, 200, [], [], end_stream=False)
    pair.server.send_data(1, b"xyz", end_stream=False)
    pair.server.send_trailers(1, [(b"X-Checksum", b"abc")], end=False)
    pair.server.send_trailers(1, [(b"x-more", b"1")], end=True)
    events = pair.to_client()
    trailers = next(e for e in events if isinstance(e, h2.events.TrailersReceived))
    assert trailers.headers == [(b"x-checksum", b"abc"), (b"x-more", b"1")]
    assert trailers.stream_ended is not None


@pytest.mark.parametrize(
    "field",
    [
        (b"X-Upper", b"1"),
        (b"connection", b"keep-alive"),
        (b"transfer-encoding", b"chunked"),
        (b"te", b"gzip"),
    ],
)
def test_a_malformed_request_is_reset_with_protocol_error_and_never_reported(field):
    pair = Pair()
    pair.client.send_headers(1, [*GET, field], end_stream=True)
    pair.client.send_headers(3, GET, end_stream=True)
    events = pair.to_server()
    assert [e.stream_id for e in events] == [3, 3]  # stream 1 is not reported; 3 is served
    assert resets(pair.to_client()) == [(1, H2ErrorCode.PROTOCOL_ERROR)]


@pytest.mark.parametrize("sent", [b"abc", b"0123456789ab"])
def test_a_body_that_disagrees_with_content_length_resets_the_stream(sent):
    pair = Pair()
    pair.client.send_headers(1, [(b":method", b"POST"), *GET[1:], (b"content-length", b"10")])
    pair.client.send_data(1, sent, end_stream=True)
    events = pair.to_server()
    assert kinds(events) == [Request, StreamReset] and events[1].stream_id == 1
    assert resets(pair.to_client()) == [(1, H2ErrorCode.PROTOCOL_ERROR)]
    pair.client.send_headers(3, GET, end_stream=True)
    assert kinds(pair.to_server()) == [Request, EndOfMessage]  # the connection goes on


def test_goaway_names_the_last_stream_taken():
    pair = Pair()
    pair.client.send_headers(1, GET, end_stream=True)
    pair.client.send_headers(5, GET, end_stream=True)
    pair.to_server()
    pair.server.goaway()
    terminated = next(e for e in pair.to_client() if isinstance(e, h2.events.ConnectionTerminated))
    assert (terminated.last_stream_id, terminated.error_code) == (5, H2ErrorCode.NO_ERROR)
    pair.server.send_headers(5, 204, [], [], end_stream=True)  # streams up to it still finish
    assert frames(pair.server.data_to_send())[0][:3] == (1, 0x5, 5)


def test_rapid_reset_gets_enhance_your_calm():
    pair = Pair()
    for i in range(3 * FLOOD_BUDGET):
        pair.client.send_headers(1 + 2 * i, GET)
        pair.client.reset_stream(1 + 2 * i, H2ErrorCode.CANCEL)
    events = pair.to_server()
    assert isinstance(events[-1], GoAway) and events[-1].flood and "reset streams" in events[-1].error
    assert goaway_code(pair) == H2ErrorCode.ENHANCE_YOUR_CALM


def test_a_settings_ack_with_a_payload_is_a_frame_size_error():
    pair = Pair()
    events = pair.server.receive_data(raw_frame(0x4, 0x1, 0, b"\x00\x03\x00\x00\x00\x01"))
    assert kinds(events) == [GoAway]
    assert goaway_code(pair) == H2ErrorCode.FRAME_SIZE_ERROR


@pytest.mark.parametrize(
    "block",
    [
        b"\xbe",  # indexed field 62: past the static table (61) and the empty dynamic one
        bytes((0x20 | hpack.hpack.encode_integer(8192, 5)[0],)) + hpack.hpack.encode_integer(8192, 5)[1:],
    ],
    ids=["index-past-both-tables", "table-size-update-over-the-limit"],
)
def test_a_field_block_that_does_not_decode_is_a_compression_error(block):
    pair = Pair()
    events = pair.server.receive_data(raw_frame(0x1, 0x5, 1, block))
    assert kinds(events) == [GoAway]
    assert goaway_code(pair) == H2ErrorCode.COMPRESSION_ERROR


def test_a_stream_beyond_the_limit_is_refused_and_the_others_go_on():
    pair = Pair(max_concurrent_streams=2)
    pair.client.send_headers(1, GET)
    pair.client.send_headers(3, GET)
    pair.client.send_headers(5, [*GET, (b"x-trace", b"refused")])  # indexed by the client's HPACK
    pair.client.send_data(5, b"body")
    events = pair.to_server()
    assert [e.stream_id for e in events] == [1, 3]
    client_events = pair.to_client()
    assert resets(client_events) == [(5, H2ErrorCode.REFUSED_STREAM)]
    assert not any(isinstance(e, h2.events.ConnectionTerminated) for e in client_events)
    pair.client.send_data(1, b"", end_stream=True)
    assert kinds(pair.to_server()) == [EndOfMessage]
    pair.server.send_headers(1, 200, [], [], end_stream=True)  # stream 1 closes; a slot frees
    pair.to_client()
    pair.client.send_headers(7, [*GET, (b"x-trace", b"refused")], end_stream=True)
    request = pair.to_server()[0]  # its block refers to the entry the refused block added
    assert request.stream_id == 7 and request.headers[-1] == (b"x-trace", b"refused")


def test_streams_refused_again_and_again_get_enhance_your_calm():
    pair = Pair(max_concurrent_streams=1)
    pair.client.send_headers(1, GET)
    for i in range(1, FLOOD_BUDGET + 2):
        pair.client.send_headers(1 + 2 * i, GET)
    events = pair.to_server()
    assert kinds(events) == [Request, GoAway] and events[1].flood
    assert goaway_code(pair) == H2ErrorCode.ENHANCE_YOUR_CALM


def test_whole_and_byte_by_byte_input_give_the_same_events():
    client = new_client()
    client.send_headers(1, GET, end_stream=True)
    client.send_headers(3, [(b":method", b"POST"), *GET[1:], (b"content-length", b"5")])
    client.send_data(3, b"he", pad_length=3)
    client.send_data(3, b"llo")
    client.ping(b"12345678")
    client.send_headers(5, [*GET, (b"x-long", b"v" * 20000)], end_stream=True)  # CONTINUATION
    client.increment_flow_control_window(1000)
    client.send_headers(7, [*GET, (b"Bad", b"1")], end_stream=True)
    client.send_headers(3, [(b"x-t", b"1")], end_stream=True)
    data = client.data_to_send()
    whole, single = H2Connection(H2Settings(100, 65536, 65535)), H2Connection(H2Settings(100, 65536, 65535))
    whole.initiate()
    single.initiate()
    expected = describe(whole.receive_data(data))
    got = []
    for i in range(len(data)):
        got += describe(single.receive_data(data[i : i + 1]))
    assert got == expected
    assert [e[0] for e in expected] == [
        "WindowOpened", "Request", "EndOfMessage", "Request", "Data", "Data", "Request", "EndOfMessage",
        "WindowOpened", "EndOfMessage",
    ]  # fmt: skip
    assert whole.data_to_send() == single.data_to_send()


def test_an_h2c_upgrade_answers_stream_1():
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    settings = client.initiate_upgrade_connection()
    server = H2Connection(H2Settings(100, 65536, 65535))
    server.initiate(settings)
    assert server.last_stream_id == 1 and server.open_streams == 1
    server.receive_data(client.data_to_send())  # the preface and the client's SETTINGS
    server.send_headers(1, 200, [(b"content-type", b"text/plain")], [], end_stream=False)
    server.send_data(1, b"upgraded", end_stream=True)
    events = client.receive_data(server.data_to_send())
    head = next(e for e in events if isinstance(e, h2.events.ResponseReceived))
    assert (head.stream_id, head.headers) == (1, [(b":status", b"200"), (b"content-type", b"text/plain")])
    assert b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived)) == b"upgraded"


def test_the_limit_counts_open_streams_only_with_closed_ones_still_held():
    pair = Pair(max_concurrent_streams=3)
    pair.client.send_headers(1, GET)  # stays open
    pair.client.send_headers(3, GET)  # stays open
    pair.to_server()
    pair.to_client()
    for stream_id in range(5, 45, 2):  # one at a time, each answered and closed
        pair.client.send_headers(stream_id, GET, end_stream=True)
        assert kinds(pair.to_server()) == [Request, EndOfMessage]
        pair.server.send_headers(stream_id, 204, [], [], end_stream=True)
        assert resets(pair.to_client()) == []
    assert pair.server.open_streams == 2
    pair.client.remote_settings.max_concurrent_streams = 100  # let the client break the limit
    pair.client.remote_settings.acknowledge()
    pair.client.send_headers(45, GET)  # the third open stream: taken
    pair.client.send_headers(47, GET)  # a fourth: refused
    assert [e.stream_id for e in pair.to_server()] == [45]
    assert resets(pair.to_client()) == [(47, H2ErrorCode.REFUSED_STREAM)]
