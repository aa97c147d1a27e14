"""Errors that carry their wire answer.

A protocol core never decides how to write an error: it raises or emits one of these, and the
transport turns it into bytes (a status line for HTTP/1.1).
"""

from __future__ import annotations

from enum import IntEnum


class ProtocolError(Exception):
    """The peer sent something we refuse; ``status_hint`` is the HTTP status to answer with."""

    def __init__(self, message: str, status_hint: int = 400) -> None:
        super().__init__(message)
        self.status_hint = status_hint


class LocalProtocolError(Exception):
    """The application asked us to send something that would be invalid on the wire."""


# The reason phrase, and the body, of each error status the server answers itself.
ERROR_REASONS: dict[int, bytes] = {
    400: b"Bad Request",
    403: b"Forbidden",
    404: b"Not Found",
    408: b"Request Timeout",
    413: b"Content Too Large",
    414: b"URI Too Long",
    426: b"Upgrade Required",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    501: b"Not Implemented",
    503: b"Service Unavailable",
    505: b"HTTP Version Not Supported",
}

# WebSocket close codes the server sends or reports (RFC 6455 section 7.4.1).
WS_NORMAL = 1000
WS_GOING_AWAY = 1001
WS_PROTOCOL_ERROR = 1002
WS_ABNORMAL = 1006  # never on the wire: the connection was lost without a close frame
WS_INVALID_DATA = 1007  # invalid UTF-8 in a text message
WS_MESSAGE_TOO_BIG = 1009
WS_INTERNAL_ERROR = 1011


class H2ErrorCode(IntEnum):
    """HTTP/2 error codes (RFC 9113 section 7), as RST_STREAM and GOAWAY carry them."""

    NO_ERROR = 0x0
    PROTOCOL_ERROR = 0x1
    INTERNAL_ERROR = 0x2
    FLOW_CONTROL_ERROR = 0x3
    SETTINGS_TIMEOUT = 0x4
    STREAM_CLOSED = 0x5
    FRAME_SIZE_ERROR = 0x6
    REFUSED_STREAM = 0x7
    CANCEL = 0x8
    COMPRESSION_ERROR = 0x9
    CONNECT_ERROR = 0xA
    ENHANCE_YOUR_CALM = 0xB
    INADEQUATE_SECURITY = 0xC
    HTTP_1_1_REQUIRED = 0xD
