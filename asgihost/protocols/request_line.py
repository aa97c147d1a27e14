"""What an HTTP/1.1 request line may name, for the HTTP/1.1 core's answers to one it refuses.

Methods (RFC 9110 section 9.1): llhttp (under httptools) parses a fixed list of method names
and fails on any other as a parse error, at the first byte that leaves its list. The core then
reads the rest of the request line: a well-formed one whose method (a token) the server does
not implement is answered 501, anything else 400. Methods llhttp knows but the server does not serve (RTSP's, PURGE,
LINK, SOURCE...: not in ``http1.KNOWN_METHODS``) are refused 501 once their head is parsed.

Versions (RFC 9112 section 2.3): llhttp is told to take any ``DIGIT "." DIGIT`` version; the
core serves HTTP/1.0, and any other HTTP/1.x as HTTP/1.1; every other major version is 505.
"""

from __future__ import annotations

import re

import httptools

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


class _Counter:
    """httptools protocol counting whole messages."""

    def __init__(self) -> None:
        self.done = 0

    def on_message_complete(self) -> None:
        self.done += 1


def _completed(data: bytes) -> int:
    counter = _Counter()
    parser = httptools.HttpRequestParser(counter)
    parser.set_dangerous_leniencies(lenient_version=True)  # as the core's parser
    try:
        parser.feed_data(data)
    except httptools.HttpParserError:
        pass
    return counter.done


def message_start(data: bytes, completed: int) -> int:
    """Where, in bytes fed to a parser from a message boundary, the message after the first
    ``completed`` ones starts (the shortest prefix that completes them): found by bisection
    with fresh parsers, on the error path only, as httptools does not say where messages end."""
    low, high = 0, len(data)
    while low < high:
        middle = (low + high) // 2
        if _completed(data[:middle]) >= completed:
            high = middle
        else:
            low = middle + 1
    return low
