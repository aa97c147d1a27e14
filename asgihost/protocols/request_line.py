"""What an HTTP/1.1 request line may name, for the HTTP/1.1 cores' answers to one they refuse.

Methods (RFC 9110 section 9.1): llhttp (under httptools) parses a fixed list of method names
and fails on any other as a parse error, at the first byte that leaves its list. The core then
reads the rest of the request line: a well-formed one whose method (a token) the server does
not implement is answered 501, anything else 400. Methods llhttp knows but the server does not serve (RTSP's, PURGE,
LINK, SOURCE...: not in ``http1_head.KNOWN_METHODS``) go to the app. h11 parses any token as a
method: ``request_line_status`` reads a request line as llhttp does, for the h11 core, so that
both cores answer alike.

Versions (RFC 9112 section 2.3): llhttp is told to take any ``DIGIT "." DIGIT`` version; the
core serves HTTP/1.0, and any other HTTP/1.x as HTTP/1.1; every other major version is 505.
"""

from __future__ import annotations

import re

from .headers import is_token

_REQUEST_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [\x21-\x7e]+ HTTP/[0-9]\.[0-9]\r\n")


def method_status(start: bytes, limit: int) -> int:
    """The status for a request whose method llhttp refused, from the bytes of the message so
    far (``start``, its request line first): 501 for a well-formed request line (method SP
    target SP version CRLF), 400 for anything else, 0 while it may still be one: its line is
    not whole yet, its method so far is a token, and it is under ``limit``."""
    start = start.lstrip(b"\r\n")  # empty lines before a request line are ignored (RFC 9112 2.2)
    end = start.find(b"\n")
    if end != -1:
        return 501 if _REQUEST_LINE.fullmatch(start, 0, end + 1) else 400
    method, space, _ = start.partition(b" ")
    if (method and not is_token(method)) or (space and not method) or len(start) >= limit:
        return 400
    return 0


def version_status(reason: str, version: str) -> int:
    """The status for llhttp's parse error ``reason``: 505 when it stopped after a major
    version other than 1 (``HTTP/3``, ``HTTP/2x``), else 400."""
    return 505 if reason == "Expected dot" and version[:2] != "1." else 400


def served_version(version: str) -> str | None:
    """The version a request of ``version`` is served as (RFC 9112 2.3), or None for 505."""
    if version == "1.1" or version == "1.0":
        return version
    return "1.1" if version[:2] == "1." else None


_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_SERVED_LINE = re.compile(_TOKEN + rb" ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])\r\n")
_OTHER_MAJOR = re.compile(_TOKEN + rb" [\x21-\x7e]+ HTTP/[02-9]")  # "HTTP/2", "HTTP/3.0"
_SIMPLE = re.compile(_TOKEN + rb" [\x21-\x7e]+\r\n")  # an HTTP/0.9 simple request
REASONS = {
    400: "Invalid HTTP request: invalid request line.",
    414: "Request line too long.",
    501: "Method not implemented.",
    505: "Only HTTP/1.x is supported.",
}


def request_line_status(start: bytes | bytearray, methods: frozenset[bytes], limit: int) -> int:
    """For a parser that takes any token as a method (h11): the status llhttp's reading of
    the request line so far (``start``, the bytes of a message, its empty lines gone) gives,
    as the httptools core answers it; 0 while there is none (yet, or at all). ``methods``
    are llhttp's; ``limit`` is the request line's (414 past it, counted as the core counts)."""
    method, space, rest = bytes(start[: limit + 2]).partition(b" ")
    if method not in methods:
        if not space and len(method) < limit and any(known.startswith(method) for known in methods):
            return 0  # it may still be one of them
        end = start.find(b"\n")
        if method == b"PRI" and end != -1:
            return 400  # llhttp: "Expected HTTP/2 Connection Preface"
        return method_status(bytes(start[: end + 1] if end != -1 else start), limit)
    target = rest.partition(b" ")[0]
    if len(method) + len(target.partition(b"\r")[0]) + 10 > limit:
        return 414
    end = start.find(b"\n")
    if end == -1:
        return 400 if len(start) > limit + 10 else 0
    line = bytes(start[: end + 1])
    served = _SERVED_LINE.fullmatch(line)
    if served is not None:
        return 505 if served_version(f"{served[2].decode()}.{served[3].decode()}") is None else 0
    if _OTHER_MAJOR.match(line) or _SIMPLE.fullmatch(line):
        return 505
    return 400
