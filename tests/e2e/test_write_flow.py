"""Write-side flow control: an app's send waits while the client does not read."""

from __future__ import annotations

import re
import socket


def sent_chunks(log: str) -> int:
    found = re.findall(r"SENT (\d+)", log)
    return int(found[-1]) if found else 0


def test_send_waits_while_the_client_does_not_read(serve):
    server = serve("control:big_download", "--no-access-log")
    sock = server.connect(timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    # Read nothing until the app stops making progress (bounded: 10 s).
    server.wait_for_log("SENT 1")
    stalled_at = server.wait_for_stall(sent_chunks)
    assert stalled_at < 64, f"the app pushed {stalled_at} chunks of 256 KiB into a client that reads nothing"
    # Now read everything: the whole body arrives and the app finishes.
    total, expected = 0, 256 * 1024 * 256
    first = sock.recv(65536)
    head, _, rest = first.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    total = len(rest)
    while total < expected:
        chunk = sock.recv(1 << 20)
        assert chunk, f"connection closed after {total} body bytes"
        total += len(chunk)
    sock.close()
    assert total == expected
    server.wait_for_log("SENT 256")
