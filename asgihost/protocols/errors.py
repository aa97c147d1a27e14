"""Errors that carry their wire answer.

A protocol core never decides how to write an error: it raises or emits one of these, and the
transport turns it into bytes (a status line for HTTP/1.1).
"""

from __future__ import annotations


class ProtocolError(Exception):
    """The peer sent something we refuse; ``status_hint`` is the HTTP status to answer with."""

    def __init__(self, message: str, status_hint: int = 400) -> None:
        super().__init__(message)
        self.status_hint = status_hint


class LocalProtocolError(Exception):
    """The application asked us to send something that would be invalid on the wire."""
