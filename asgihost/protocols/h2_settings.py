"""What the rest of the server knows of HTTP/2 without importing h2: the preface, the fields
that are connection-specific, and the settings a listener announces. (h2 and hpack take a
fifth of a second to import; a process that never serves HTTP/2 does not pay it.)"""

from __future__ import annotations

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# RFC 9113 section 8.2.2: fields that are connection-specific in HTTP/1.1 are malformed here.
CONNECTION_SPECIFIC = frozenset(
    (b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade")
)


class H2Settings:
    """What the server announces (SETTINGS) and enforces."""

    __slots__ = ("max_concurrent_streams", "max_header_list_size", "initial_window_size")

    def __init__(
        self, max_concurrent_streams: int, max_header_list_size: int, initial_window_size: int
    ) -> None:
        self.max_concurrent_streams = max_concurrent_streams
        self.max_header_list_size = max_header_list_size
        self.initial_window_size = initial_window_size
