"""HTTP/2 streams take the limits HTTP/1.1 requests take: a stalled body gets 408, a connection
goes idle after the keep-alive timeout of the app that answered last, and a client whose
preface arrives in pieces still speaks HTTP/2."""

from __future__ import annotations

import select
import socket
import time

import h2.config
import h2.connection
import h2.events
from test_http2 import GET, RawH2


def responses_by_stream(events: list) -> dict[int, bytes]:
    """The status of each stream that has its response head."""
    return {
        e.stream_id: dict(e.headers)[b":status"] for e in events if isinstance(e, h2.events.ResponseReceived)
    }


def POST(path: bytes) -> list[tuple[bytes, bytes]]:
    return [(b":method", b"POST"), (b":scheme", b"http"), (b":path", path), (b":authority", b"localhost")]


def test_a_stalled_request_body_gets_408_and_the_connection_serves_on(serve):
    server = serve("h2_apps:app", "--http", "h2", "--timeout-request-body", "0.5")
    client = RawH2(server)
    stalled = client.request(POST(b"/echo"), end_stream=False)
    client.conn.send_data(stalled, b"part of a body")
    client.flush()
    started = time.monotonic()
    events = client.events_until(lambda seen: stalled in responses_by_stream(seen), timeout=10)
    assert responses_by_stream(events)[stalled] == b"408", events
    assert time.monotonic() - started >= 0.5  # not before the body timeout
    served = client.request(GET(b"/after"))
    events = client.events_until(lambda seen: served in responses_by_stream(seen))
    assert responses_by_stream(events)[served] == b"200"
    assert server.wait_for_log('"POST /echo HTTP/2" 408')


def test_a_body_that_keeps_coming_is_not_cut_off(serve):
    server = serve("h2_apps:app", "--http", "h2", "--timeout-request-body", "0.5")
    client = RawH2(server)
    stream = client.request(POST(b"/echo"), end_stream=False)

    def answered(seen: list) -> bool:
        return any(getattr(e, "stream_id", 0) == stream for e in seen)

    for _ in range(6):  # 1.5 s in all, never 0.5 s without a byte
        client.conn.send_data(stream, b"x")
        client.flush()
        if select.select([client.sock], [], [], 0.25)[0]:
            assert not answered(client.conn.receive_data(client.sock.recv(65536)))
            client.flush()
    client.conn.end_stream(stream)
    client.flush()
    events = client.events_until(lambda seen: any(isinstance(e, h2.events.StreamEnded) for e in seen))
    assert responses_by_stream(events)[stream] == b"200"
    assert b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived)) == b"xxxxxx"


def test_the_keep_alive_timeout_of_the_app_that_answered_holds_over_http2(serve, tmp_path):
    config = tmp_path / "asgihost.toml"
    config.write_text(
        """
[limits]
keep_alive_timeout = 60

[listeners.default]
bind = "127.0.0.1:0"
protocols = ["h2"]

[apps.main]
app = "h2_apps:app"
limits = { keep_alive_timeout = 0.5 }
"""
    )
    server = serve(str(config))
    client = RawH2(server)
    stream = client.request(GET(b"/ok"))
    events = client.events_until(lambda seen: stream in responses_by_stream(seen))
    assert responses_by_stream(events)[stream] == b"200"
    started = time.monotonic()
    events = client.events_until(
        lambda seen: any(isinstance(e, h2.events.ConnectionTerminated) for e in seen)
    )
    assert any(isinstance(e, h2.events.ConnectionTerminated) for e in events), events
    assert time.monotonic() - started < 30  # the app's 0.5 s, not the server's 60 s


def test_a_preface_split_across_reads_is_still_http2(serve):
    server = serve("h2_apps:app")
    client = RawH2(server)  # its preface and SETTINGS go whole on this connection, so: another
    client.sock.close()
    client.sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.conn = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding=None)
    )
    client.conn.initiate_connection()
    opening = client.conn.data_to_send()
    client.sock.sendall(opening[:1])  # "P" alone: neither HTTP/1.1 nor HTTP/2 can be told yet
    assert not select.select([client.sock], [], [], 0.3)[0], "the server answered a lone 'P'"
    client.sock.sendall(opening[1:10])
    assert not select.select([client.sock], [], [], 0.3)[0], "the server answered part of a preface"
    client.sock.sendall(opening[10:])
    stream = client.request(GET(b"/split"))
    events = client.events_until(lambda seen: stream in responses_by_stream(seen))
    assert responses_by_stream(events)[stream] == b"200"


def test_a_header_block_left_unfinished_ends_the_connection_at_the_head_timeout(serve):
    server = serve(
        "h2_apps:app", "--http", "h2", "--timeout-request-head", "0.5", "--timeout-keep-alive", "60"
    )
    client = RawH2(server)
    client.events_until(lambda seen: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in seen))
    # HEADERS on stream 1 without END_HEADERS (":method: GET", indexed): a CONTINUATION must follow
    client.sock.sendall(b"\x00\x00\x01\x01\x00\x00\x00\x00\x01\x82")
    started = time.monotonic()
    events = client.events_until(
        lambda seen: any(isinstance(e, h2.events.ConnectionTerminated) for e in seen), timeout=15
    )
    assert any(isinstance(e, h2.events.ConnectionTerminated) for e in events), events
    assert time.monotonic() - started >= 0.5
    assert server.wait_for_log("request head timeout")
    other = RawH2(server)  # the server goes on
    stream = other.request(GET(b"/still-serving"))
    assert (
        responses_by_stream(other.events_until(lambda seen: stream in responses_by_stream(seen)))[stream]
        == b"200"
    )
