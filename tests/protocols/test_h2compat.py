"""asgihost changes h2 only for its own server connections: after importing it, h2 and hpack
behave as stock for anyone else in the process (an app's own HTTP/2 client, say)."""

from __future__ import annotations

import logging
import subprocess
import sys

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.frame_buffer
import h2.stream
import hpack
import hpack.hpack
import pytest

import asgihost.protocols.http2  # noqa: F401  (what used to patch h2 at import)
import asgihost.runtime.http2  # noqa: F401
from asgihost.protocols.h2_settings import H2Settings
from asgihost.protocols.h2compat import SUPPORTED_H2
from asgihost.protocols.http2 import GoAway, H2Connection

GET = [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":authority", b"a")]


def pair():
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None))
    client.initiate_connection()
    server.initiate_connection()
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())
    return client, server


def test_h2_and_hpack_module_state_is_stock():
    assert h2.frame_buffer.CONTINUATION_BACKLOG == 64
    assert hpack.hpack.log is logging.getLogger("hpack.hpack")
    method = h2.stream.H2Stream._initialize_content_length
    assert (method.__module__, method.__qualname__) == ("h2.stream", "H2Stream._initialize_content_length")


def test_a_plain_h2_server_still_checks_content_length():
    client, server = pair()
    client.send_headers(1, [(b":method", b"POST"), *GET[1:], (b"content-length", b"10")])
    client.send_data(1, b"abc", end_stream=True)
    with pytest.raises(h2.exceptions.InvalidBodyLengthError):
        server.receive_data(client.data_to_send())


def test_a_plain_h2_client_still_checks_content_length():
    client, server = pair()
    client.send_headers(1, GET, end_stream=True)
    server.receive_data(client.data_to_send())
    server.send_headers(1, [(b":status", b"200"), (b"content-length", b"10")])
    server.send_data(1, b"abc", end_stream=True)
    with pytest.raises(h2.exceptions.InvalidBodyLengthError):
        client.receive_data(server.data_to_send())


def test_a_plain_h2_server_takes_h2s_continuation_backlog_where_ours_refuses():
    ours = H2Connection(H2Settings(100, 65536, 65535))  # a server in the same process, first
    ours.initiate()
    headers = [*GET, *((b"x-%d" % i, b"v" * 1000) for i in range(10))]
    # A header block in more frames than asgihost's backlog for 64 KiB header lists (6),
    # fewer than h2's own (64).
    client, server = pair()
    client.max_outbound_frame_size = 1000
    client.send_headers(1, headers, end_stream=True)
    data = client.data_to_send()
    kinds, at = [], 0
    while at < len(data):
        kinds.append(data[at + 3])
        at += 9 + int.from_bytes(data[at : at + 3], "big")
    assert 6 < kinds.count(0x9) < 64  # CONTINUATION
    assert any(isinstance(e, h2.events.RequestReceived) for e in server.receive_data(data))
    preface = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    preface.initiate_connection()
    ours.receive_data(preface.data_to_send())
    events = ours.receive_data(data)
    assert len(events) == 1 and isinstance(events[0], GoAway) and "continuation" in events[0].error


def test_hpack_still_logs_at_debug(caplog):
    block = hpack.Encoder().encode([(b":method", b"GET"), (b"x-a", b"b")])
    with caplog.at_level(logging.DEBUG, logger="hpack.hpack"):
        hpack.Decoder().decode(block, raw=True)
    assert any(record.name == "hpack.hpack" for record in caplog.records)


def test_an_unknown_h2_version_fails_the_import_loudly():
    code = "import h2; h2.__version__ = '9.0.0'; import asgihost.protocols.h2compat"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "ImportError" in result.stderr and "9.0.0" in result.stderr
    assert f"h2 {SUPPORTED_H2[0]}.x" in result.stderr
