"""HTTP/1.1 response framing: status lines, the server's default headers, a response head
checked and rendered in one pass, body framing (Content-Length or chunked), and the plain
answers the server writes on its own behalf.

Invariants:
- Responses are written strictly one at a time, in request order, so one set of
  response-state attributes (``ResponseFramer``'s) suffices for a connection.
- A response head whose body length is known is held back and written together with the
  first body bytes (one write instead of two); ``head_written`` tells whether any byte of the
  current response has left, i.e. whether a 500 can still replace it.
- A header pair already checked is remembered with its rendered line (bounded caches, never
  for ``SENSITIVE_FIELDS``); framing fields are looked at every time, but Content-Length.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus

from .cache import SENSITIVE_FIELDS, BoundedCache
from .errors import LocalProtocolError
from .events import Request
from .headers import has_token, is_valid_name, is_valid_value


def _status_line(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        phrase = b""
    return b"HTTP/1.1 %d %s\r\n" % (status, phrase)


STATUS_LINES = {status.value: _status_line(status.value) for status in HTTPStatus}
# RFC 9110's names where Python's HTTPStatus keeps older ones
STATUS_LINES[413] = b"HTTP/1.1 413 Content Too Large\r\n"
STATUS_LINES[414] = b"HTTP/1.1 414 URI Too Long\r\n"
CONTINUE_100 = b"HTTP/1.1 100 Continue\r\n\r\n"

# Response header names the framing must see, lowercased.
_CONTENT_LENGTH = b"content-length"
_TRANSFER_ENCODING = b"transfer-encoding"
_CONNECTION = b"connection"
_SERVER = b"server"
_DATE = b"date"
_FRAMING_NAMES = frozenset((_CONTENT_LENGTH, _TRANSFER_ENCODING, _CONNECTION, _SERVER, _DATE))
# Response header pairs of bytes already checked, with their line: apps send the same few pairs
# again and again (often the very same tuples), and a hit skips the checks. Of the framing
# fields only Content-Length is kept, apart, with its value as a number; no SENSITIVE_FIELDS.
_lines: BoundedCache[tuple[bytes, bytes], bytes] = BoundedCache(1024, 256 * 1024)
_lengths: BoundedCache[tuple[bytes, bytes], tuple[bytes, int]] = BoundedCache(256, 16 * 1024)
_good_lines = _lines.entries
_good_lengths = _lengths.entries
COPY_LIMIT = 16384  # body pieces this large are written beside their framing, not copied into it


class DefaultHeaders:
    """Headers the server adds to every response, pre-rendered: ``date`` changes once a second."""

    __slots__ = ("date", "server", "extra")

    def __init__(self, date: bytes = b"", server: bytes = b"", extra: bytes = b"") -> None:
        self.date = date  # b"date: ...\r\n" or b""
        self.server = server  # b"server: ...\r\n" or b""
        self.extra = extra  # further b"name: value\r\n" lines


class ResponseFramer:
    """The response side of an HTTP/1.1 connection (``http1.H1Connection`` is one)."""

    __slots__ = ("head_written", "keep_alive", "_pending_head", "_chunked", "_no_body", "_remaining")

    def init_response(self) -> None:
        self.head_written = False
        self.keep_alive = True
        self._pending_head = b""
        self._chunked = False
        self._no_body = False
        self._remaining = -1  # bytes the Content-Length still promises; -1 when not given

    def start_response(
        self,
        request: Request,
        status: int,
        headers: Iterable[tuple[bytes, bytes]],
        defaults: DefaultHeaders,
    ) -> bytes:
        """Frame a response head; returns the bytes to write now (``b""`` when held back).

        Raises ``LocalProtocolError`` for a header that must not be written.
        """
        self.head_written = False
        self._pending_head = b""
        status_line = STATUS_LINES.get(status)
        if status_line is None:
            if type(status) is not int or not 100 <= status <= 999:
                raise LocalProtocolError(f"Invalid HTTP status code {status!r} in response.")
            status_line = _status_line(status)
        keep_alive = request.keep_alive
        content_length = -1
        chunked = False
        close_sent = False
        connection_at = -1
        date = defaults.date
        server = defaults.server
        parts = [status_line, b"", b""]
        append = parts.append
        for pair in headers:
            name, value = pair
            # Only a pair of bytes is looked up: a memoryview or a bytes subclass would match an
            # entry of equal bytes, a bytearray is unhashable. So is a list (TypeError); a tuple
            # subclass matches as a tuple would, and only a tuple is remembered. (``__class__``
            # is ``type()`` but for an object that lies about it, and costs 40% less here.)
            if name.__class__ is bytes and value.__class__ is bytes:
                try:
                    line = _good_lines.get(pair)
                except TypeError:  # a list
                    cacheable = False
                else:
                    if line is not None:
                        append(line)
                        continue
                    known = _good_lengths.get(pair)
                    if known is not None:
                        line, length = known
                        if content_length != -1 and length != content_length:
                            raise LocalProtocolError(f"Invalid Content-Length {value!r} in response.")
                        content_length = length
                        append(line)
                        continue
                    cacheable = type(pair) is tuple
            else:
                cacheable = False
            if not is_valid_name(name):
                raise LocalProtocolError(f"Invalid HTTP header name {name!r} in response.")
            lname = name if name.islower() else name.lower()
            if not is_valid_value(value, lname):
                raise LocalProtocolError(f"Invalid HTTP header value {value!r} in response.")
            if lname in _FRAMING_NAMES:
                if lname == _CONTENT_LENGTH:
                    if not value.isdigit() or (content_length != -1 and int(value) != content_length):
                        raise LocalProtocolError(f"Invalid Content-Length {value!r} in response.")
                    content_length = int(value)
                    if cacheable:
                        line = name + b": " + value + b"\r\n"
                        _lengths.remember(pair, (line, content_length), len(line))
                elif lname == _TRANSFER_ENCODING:
                    chunked = value.lower() == b"chunked"
                    if not chunked:
                        raise LocalProtocolError(f"Unsupported Transfer-Encoding {value!r} in response.")
                elif lname == _CONNECTION:
                    if has_token(value, b"close"):
                        keep_alive = False
                        close_sent = True
                    else:
                        connection_at = len(parts) + 2  # where its value goes, if it must say close
                elif lname == _SERVER:
                    server = b""
                else:
                    date = b""
                append(name)
                append(b": ")
                append(value)
                append(b"\r\n")
            else:
                line = name + b": " + value + b"\r\n"
                if cacheable and lname not in SENSITIVE_FIELDS:
                    _lines.remember(pair, line, len(line))
                append(line)
        parts[1] = date
        parts[2] = server + defaults.extra
        no_body = request.method == "HEAD" or status in (204, 304) or status < 200
        if chunked:
            if content_length != -1:
                raise LocalProtocolError("Response has both Content-Length and Transfer-Encoding.")
            if request.http_version != "1.1":
                raise LocalProtocolError("Chunked response to an HTTP/1.0 request.")
        elif content_length == -1 and not no_body:
            if request.http_version == "1.1":
                chunked = True
                append(b"transfer-encoding: chunked\r\n")
            else:
                keep_alive = False  # the body ends when the connection does
        if not keep_alive:
            if connection_at != -1:
                parts[connection_at] = b"close"  # the app's keep-alive cannot stand
            elif not close_sent:
                append(b"connection: close\r\n")
        elif request.http_version == "1.0":
            append(b"connection: keep-alive\r\n")
        append(b"\r\n")
        head = b"".join(parts)

        self.keep_alive = keep_alive
        self._no_body = no_body
        self._chunked = chunked and not no_body
        self._remaining = -1 if no_body else content_length
        if content_length != -1 or no_body:
            self._pending_head = head
            self.head_written = False
            return b""
        self.head_written = True
        return head

    def start_known(self, request: Request, status: int, lines: bytes, defaults: DefaultHeaders) -> None:
        """Frame the head of a whole response whose header lines were checked and rendered
        before (``render_lines``: no framing field among them but its Content-Length, which
        the body given to ``send_body`` then matches); it is held back for the body."""
        keep_alive = request.keep_alive
        head = STATUS_LINES[status] + defaults.date + defaults.server + defaults.extra + lines
        if not keep_alive:
            head += b"connection: close\r\n\r\n"
        elif request.http_version == "1.0":
            head += b"connection: keep-alive\r\n\r\n"
        else:
            head += b"\r\n"
        self.keep_alive = keep_alive
        self._no_body = request.method == "HEAD"
        self._chunked = False
        self._remaining = -1
        self._pending_head = head
        self.head_written = False

    def send_body(self, data: bytes, more: bool) -> bytes | tuple[bytes, ...]:
        """Frame a piece of the response body; returns the bytes to write (maybe none). A large
        piece comes back as a tuple of pieces to write in order, so that it is not copied."""
        if self._no_body:
            out = b""
        elif self._chunked:
            if len(data) >= COPY_LIMIT and type(data) is bytes:  # (a bytearray could change after)
                return (b"%x\r\n" % len(data), data, b"\r\n" if more else b"\r\n0\r\n\r\n")
            if data:
                out = b"%x\r\n%b\r\n" % (len(data), data)
                if not more:
                    out += b"0\r\n\r\n"
            else:
                out = b"" if more else b"0\r\n\r\n"
        elif self._remaining != -1:
            remaining = self._remaining - len(data)
            if remaining < 0:
                raise LocalProtocolError("Response content longer than Content-Length.")
            if not more and remaining:
                raise LocalProtocolError("Response content shorter than Content-Length.")
            self._remaining = remaining
            out = data
        else:
            out = data
        if not self.head_written:
            self.head_written = True
            head, self._pending_head = self._pending_head, b""
            if len(out) >= COPY_LIMIT and type(out) is bytes:
                return (head, out)
            return head + out if out else head
        return out

    def frame_file(self, count: int, more: bool) -> tuple[bytes, bytes, int]:
        """Framing around ``count`` body bytes the caller writes itself (a file, by sendfile):
        the bytes to write before them (the held-back head, a chunk-size line), after them (a
        chunk's end, the last chunk), and how many of the bytes to write (0 for a response
        with no body: HEAD, 304). Raises ``LocalProtocolError`` past the Content-Length."""
        before = after = b""
        if self._no_body:
            count = 0
        elif self._chunked:
            if count:
                before, after = b"%x\r\n" % count, b"\r\n"
            if not more:
                after += b"0\r\n\r\n"
        elif self._remaining != -1:
            remaining = self._remaining - count
            if remaining < 0:
                raise LocalProtocolError("Response content longer than Content-Length.")
            if not more and remaining:
                raise LocalProtocolError("Response content shorter than Content-Length.")
            self._remaining = remaining
        if not self.head_written:
            self.head_written = True
            before, self._pending_head = self._pending_head + before, b""
        return before, after, count


def render_lines(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """Header fields as the lines of a head, checked once, for ``start_known`` (a static
    file's, remembered with it). Raises ``LocalProtocolError`` for one that must not be
    written, or a framing field other than Content-Length."""
    lines = []
    for name, value in headers:
        if not is_valid_name(name) or not is_valid_value(value, name.lower()):
            raise LocalProtocolError(f"Invalid HTTP header {name!r}: {value!r}.")
        if name.lower() in _FRAMING_NAMES and name.lower() != _CONTENT_LENGTH:
            raise LocalProtocolError(f"{name!r} is the server's to write.")
        lines.append(b"%s: %s\r\n" % (name, value))
    return b"".join(lines)


def simple_response(
    status: int, body: bytes, defaults: DefaultHeaders, close: bool = True, extra: bytes = b""
) -> bytes:
    """A whole plain-text response the server writes on its own behalf (400, 500, 503, 404);
    ``extra`` holds further rendered header lines."""
    return b"".join(
        (
            STATUS_LINES[status],
            defaults.date,
            defaults.server,
            defaults.extra,
            extra,
            b"content-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n" if close else b"\r\n",
            body,
        )
    )
