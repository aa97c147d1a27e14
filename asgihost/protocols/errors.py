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
