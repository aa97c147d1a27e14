"""Which protocol a connection speaks, and whether an HTTP/1.1 request switches to another one.

Sans-IO: the runtime feeds what it learnt (the ALPN protocol a TLS handshake selected, or the
first bytes of a cleartext connection) and gets back a ``Decision``: the protocol to hand the
connection to and the bytes to feed that protocol's core. ``upgrade_kind`` looks at one parsed
HTTP/1.1 request and says whether it is a WebSocket upgrade, an h2c upgrade or plain HTTP;
``upgraded_request`` makes an h2c upgrade's request stream 1 of the HTTP/2 connection.

Invariants of ``Negotiator``:
- It decides exactly once. Over TLS only ``alpn`` decides, and always does; over cleartext
  only ``receive_data`` does. Any other call (a second decision, the wrong input for the
  connection) is a programming error and raises ``RuntimeError``.
- Until it decides, the bytes it holds are a proper prefix of the 24-byte HTTP/2 preface
  (``PREFACE``), never anything else, so at most 23 bytes are buffered. An empty read decides
  nothing.
- A cleartext decision hands back every byte received so far, in order: nothing is lost or
  repeated. HTTP/2 is decided only on the whole preface, however the reads split it (the h2
  core gets the preface too, as it expects); HTTP/1.1 as soon as the bytes leave the preface.
- A listener that does not offer HTTP/2 decides HTTP/1.1 on its first byte, preface or not;
  one that offers only HTTP/2 decides an error (505) on bytes that are not the preface.
- Fast path: a first read that does not start with ``P`` (every HTTP/1.1 method but POST, PUT,
  PATCH, PRI) is decided at once, and its ``data`` is the very bytes object given: no copy.

ALPN: "h2" selects HTTP/2 when the listener offers it; "http/1.1", none at all (a client
without ALPN) or anything else selects HTTP/1.1 when the listener offers it, else HTTP/2.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final, Literal, NamedTuple

from .errors import ProtocolError
from .events import Request
from .h2_settings import CONNECTION_SPECIFIC, PREFACE
from .headers import has_token

H1: Final = "h1"
H2: Final = "h2"
ERROR: Final = "error"

_P: Final = PREFACE[0]  # b"P": what a read must start with to be the preface, or part of it
_LENGTH: Final = len(PREFACE)


class Decision(NamedTuple):
    """The protocol a connection speaks and ``data``, the bytes to feed its core first. With
    ``protocol == ERROR``, ``error`` is what to answer before closing and ``data`` is empty."""

    protocol: Literal["h1", "h2", "error"]
    data: bytes
    error: ProtocolError | None = None


class Negotiator:
    """Decides the protocol of one connection on a listener offering ``h1`` and/or ``h2``."""

    __slots__ = ("h1", "h2", "tls", "_buffer", "_decided")

    def __init__(self, *, h1: bool, h2: bool, tls: bool) -> None:
        if not (h1 or h2):
            raise ValueError("A listener offers HTTP/1.1, HTTP/2 or both.")
        self.h1 = h1
        self.h2 = h2
        self.tls = tls
        self._buffer = b""  # a proper prefix of PREFACE, received and not yet handed on
        self._decided = False

    def alpn(self, selected: str | None) -> Decision:
        """The decision for a TLS connection whose handshake selected ``selected``."""
        if not self.tls:
            raise RuntimeError("ALPN decides only over TLS.")
        self._check_undecided()
        self._decided = True
        if self.h2 and (selected == "h2" or not self.h1):
            return Decision(H2, b"")
        return Decision(H1, b"")

    def receive_data(self, data: bytes) -> Decision | None:
        """Bytes received on a cleartext connection: the decision, or None to wait for more."""
        if self.tls:
            raise RuntimeError("Over TLS, ALPN decides the protocol.")
        self._check_undecided()
        if not data:
            return None
        buffer = self._buffer
        if buffer:
            data = buffer + data
        elif data[0] != _P or not self.h2:  # the fast path: not the preface, nor a part of it
            self._decided = True
            return self._not_preface(data)
        if len(data) < _LENGTH:
            if PREFACE.startswith(data):
                self._buffer = data
                return None
        elif data.startswith(PREFACE):
            self._decided = True
            return Decision(H2, data)
        self._decided = True
        return self._not_preface(data)

    def _not_preface(self, data: bytes) -> Decision:
        if self.h1:
            return Decision(H1, data)
        return Decision(ERROR, b"", ProtocolError("This listener speaks HTTP/2 only.", 505))

    def _check_undecided(self) -> None:
        if self._decided:
            raise RuntimeError("The protocol is already decided.")


# Not passed on to the HTTP/2 stream an h2c upgrade makes of its request (RFC 9113 8.2.2).
_NOT_FORWARDED = frozenset((*CONNECTION_SPECIFIC, b"http2-settings", b"te"))


def h2c_upgrade_settings(request: Request) -> bytes | None:
    """The HTTP2-Settings of an ``Upgrade: h2c`` request the server can take (RFC 7540
    section 3.2: exactly one such header, valid base64url of whole settings; no request body),
    else None: the request is then served over HTTP/1.1, as the upgrade is optional."""
    upgrade = request.upgrade
    if upgrade is None or not has_token(upgrade, b"h2c") or request.http_version != "1.1":
        return None
    settings = [value for name, value in request.headers if name == b"http2-settings"]
    if len(settings) != 1:
        return None
    connection = b",".join(value for name, value in request.headers if name == b"connection")
    if not has_token(connection, b"http2-settings"):
        return None
    for name, value in request.headers:
        if (name == b"content-length" and value.strip() != b"0") or name == b"transfer-encoding":
            return None
    try:
        raw = base64.urlsafe_b64decode(settings[0] + b"=" * (-len(settings[0]) % 4))
    except (ValueError, binascii.Error):
        return None
    return settings[0] if len(raw) % 6 == 0 else None


def upgraded_request(request: Request) -> Request:
    """An HTTP/1.1 request that asked for h2c, as stream 1 of the HTTP/2 connection."""
    headers = [(name, value) for name, value in request.headers if name not in _NOT_FORWARDED]
    # Its body was empty (or it would not be upgraded); it keeps its proxy headers and Host.
    return Request(
        1, request.method, request.target, headers, "2", True, False, None, 0, request.forwarded, request.host
    )


WEBSOCKET: Final = "websocket"
H2C: Final = "h2c"


class UpgradeTo(NamedTuple):
    """An HTTP/1.1 request that switches protocols: ``kind`` WEBSOCKET, or H2C with
    ``settings``, the request's HTTP2-Settings value for the HTTP/2 core."""

    kind: Literal["websocket", "h2c"]
    settings: bytes = b""


_TO_WEBSOCKET: Final = UpgradeTo(WEBSOCKET)


def upgrade_kind(request: Request, *, websocket: bool, h2c: bool, first: bool) -> UpgradeTo | None:
    """Whether ``request`` switches protocols, or None: it is served as plain HTTP.

    ``websocket``: the app the request is routed to takes WebSockets. ``h2c``: the listener
    offers HTTP/2 and the connection is cleartext. ``first``: no exchange is in flight on the
    connection (nothing before this request is still being answered).

    A WebSocket upgrade is one whose Upgrade lists "websocket" for an app that takes them,
    pipelined or not (the caller refuses a pipelined one, and checks the handshake). Else an
    h2c upgrade is one the listener can take (``h2c`` and ``first``) with valid HTTP2-Settings
    (``h2c_upgrade_settings``); any other upgrade is optional and ignored."""
    upgrade = request.upgrade
    if upgrade is None:
        return None
    if websocket and has_token(upgrade, b"websocket"):
        return _TO_WEBSOCKET
    if h2c and first:
        settings = h2c_upgrade_settings(request)
        if settings is not None:
            return UpgradeTo(H2C, settings)
    return None
