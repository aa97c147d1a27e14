"""What both HTTP/1.1 cores (``http1`` over httptools, ``http1_h11`` over h11) share about a
request head: its limits, the methods served, the Host check, the phases, and the checks of a
whole head that neither parser makes. Nothing here imports a parser.
"""

from __future__ import annotations

from .cache import BoundedCache
from .errors import ProtocolError
from .request_line import served_version


class HeadLimits:
    """Bounds on a request head; crossing one is a ``ProtocolError`` with its status. Their
    values come from the plan ([limits], a listener's overrides): no default lives here.
    ``incomplete_event`` bounds what h11 holds of one unfinished head, chunk line or trailer
    block (431); the httptools core does not read it."""

    __slots__ = ("request_line", "header_count", "header_field_size", "header_block_size", "incomplete_event")

    def __init__(
        self,
        request_line: int,
        header_count: int,
        header_field_size: int,
        header_block_size: int,
        incomplete_event: int,
    ) -> None:
        self.request_line = request_line  # 414
        self.header_count = header_count  # 431 for these four
        self.header_field_size = header_field_size
        self.header_block_size = header_block_size
        self.incomplete_event = incomplete_event


# The scope's strings of the common methods, made once: RFC 9110's, PATCH (RFC 5789) and
# WebDAV's (RFC 4918, 3253, 3648, 3744, 4791, 5323, 5842). Any other method llhttp parses
# (PURGE, QUERY...) goes to the app too, as in Uvicorn: the app decides what it implements; a
# method llhttp does not know is 501 (``request_line``), never a cache entry.
# (A literal: built by a comprehension in another module, its lookup measured ~400 instructions
# slower per request, by cachegrind, for reasons of layout.)
# fmt: off
KNOWN_METHODS: dict[bytes, str] = {
    b"GET": "GET", b"HEAD": "HEAD", b"POST": "POST", b"PUT": "PUT", b"DELETE": "DELETE",
    b"CONNECT": "CONNECT", b"OPTIONS": "OPTIONS", b"TRACE": "TRACE", b"PATCH": "PATCH",
    b"PROPFIND": "PROPFIND", b"PROPPATCH": "PROPPATCH", b"MKCOL": "MKCOL", b"COPY": "COPY",
    b"MOVE": "MOVE", b"LOCK": "LOCK", b"UNLOCK": "UNLOCK", b"SEARCH": "SEARCH", b"REPORT": "REPORT",
    b"ACL": "ACL", b"MKCALENDAR": "MKCALENDAR", b"BIND": "BIND", b"REBIND": "REBIND",
    b"UNBIND": "UNBIND", b"CHECKOUT": "CHECKOUT", b"MERGE": "MERGE", b"MKACTIVITY": "MKACTIVITY",
}
# fmt: on
# Every method llhttp parses on an HTTP/1.x request line (its HTTP methods, not RTSP's): the
# methods served, by either core. h11 parses any token; the h11 core refuses the others as
# llhttp does (501), so that a request is served alike whichever core reads it.
SERVED_METHODS = frozenset(KNOWN_METHODS) | {
    b"M-SEARCH",
    b"NOTIFY",
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"PURGE",
    b"LINK",
    b"UNLINK",
    b"SOURCE",
    b"QUERY",
}

IDLE, HEAD, BODY = 0, 1, 2  # a core's phase: no message; a head has begun, not ended; a body has not ended

# Characters of a Host header value (RFC 3986 reg-name, IP literals, port); anything else: 400.
_HOST_CHARS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%:[]"
hosts: BoundedCache[bytes, bool] = BoundedCache(256, 16 * 1024)  # most requests name one of a few
good_hosts = hosts.entries


def check_host(value: bytes) -> None:
    if value.translate(None, _HOST_CHARS):
        raise ProtocolError("Invalid Host header.", 400)
    hosts.remember(value, True, len(value))


# Request headers the cores look at; every other name costs one dict lookup.
HOST, FORWARDED, CONTENT_LENGTH, TRANSFER_ENCODING, EXPECT, UPGRADE = range(6)
SPECIAL_HEADERS = {
    b"host": HOST,
    b"x-forwarded-for": FORWARDED,
    b"x-forwarded-proto": FORWARDED,
    b"forwarded": FORWARDED,
    b"content-length": CONTENT_LENGTH,
    b"transfer-encoding": TRANSFER_ENCODING,
    b"expect": EXPECT,
    b"upgrade": UPGRADE,
}


def check_head(
    method: bytes, target: bytes, version: str, host_count: int, transfer_encoding: bytes | None
) -> str:
    """What RFC 9112 asks of a whole head and the parsers do not check (raised as
    ProtocolError); returns the version the request is served as."""
    served = served_version(version)
    if served is None:
        raise ProtocolError(f"HTTP/{version} is not supported.", 505)
    if host_count != 1 and (served == "1.1" or host_count):
        raise ProtocolError("A request needs exactly one Host header.", 400)
    if transfer_encoding is not None:
        codings = [coding.strip().lower() for coding in transfer_encoding.split(b",")]
        codings = [coding for coding in codings if coding]  # empty list items do not count
        if served == "1.0" or not codings or codings[-1] != b"chunked":
            raise ProtocolError("Transfer-Encoding must end in chunked (RFC 9112 6.1).", 400)
        if len(codings) > 1:
            raise ProtocolError("Transfer codings other than chunked are not implemented.", 501)
    if target == b"*" and method != b"OPTIONS":
        raise ProtocolError("The asterisk form is for OPTIONS only.", 400)
    return served
