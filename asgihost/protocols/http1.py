"""HTTP/1.1 protocol core over httptools: bytes in, events out; response framing, bytes out.

Invariants:
- ``receive_data`` returns the events parsed from exactly the bytes given, in order. A parse
  error ends parsing: a ``Malformed`` event is the last event the connection ever yields. A
  method llhttp refuses is answered once its request line is whole (501, or 400 for a malformed
  line: see ``request_line``); until then nothing is yielded and ``phase`` stays ``HEAD``.
- Requests are served as HTTP/1.0 or HTTP/1.1 (any HTTP/1.x above 1.1); other versions are 505.
- Requests are parsed ahead of responses (pipelining); responses are written strictly one at
  a time, in request order, so one set of response-state attributes suffices.
- Responses are framed by ``http1_response.ResponseFramer``, which this class is.
- Nothing here awaits or knows about sockets: the transport feeds and writes.
"""

from __future__ import annotations

import httptools

from .errors import ProtocolError
from .events import Data, EndOfMessage, Event, Malformed, Request, Upgrade
from .http1_head import (
    BODY,
    CONTENT_LENGTH,
    EXPECT,
    FORWARDED,
    HEAD,
    HOST,
    IDLE,
    KNOWN_METHODS,
    SPECIAL_HEADERS,
    TRANSFER_ENCODING,
    HeadLimits,
    check_head,
    check_host,
    good_hosts,
)
from .http1_response import ResponseFramer
from .request_line import method_status, version_status

_RTSP_METHOD = "Invalid method for HTTP/x.x request"  # llhttp's error for DESCRIBE, SETUP...


class H1Connection(ResponseFramer):
    """One HTTP/1.1 connection, server side."""

    # Slots: more than 30 instance attributes would leave CPython's shared-key instance
    # layout for a plain dict, and every attribute access on the hot path would pay for it.
    __slots__ = (
        "_parser",
        "_limits",
        "_max_url",
        "_max_field",
        "_max_block",
        "_max_count",
        "_max_head",
        "_events",
        "_url",
        "_headers",
        "_expect_continue",
        "_upgrade",
        "phase",
        "_unparsed",
        "_header_bytes",
        "_hosts",
        "_transfer_encoding",
        "_content_length",
        "_forwarded",
        "_host",
        "_got_data",
        "_trailers",
        "_raw_body",
        "_stream_id",
        "_current",
        "_stopped",
        "_carry",
        "_carry_done",
        "_bad_method",
    )

    def __init__(self, limits: HeadLimits) -> None:
        self._parser = httptools.HttpRequestParser(self)
        self._parser.set_dangerous_leniencies(lenient_version=True)  # any DIGIT.DIGIT: see request_line
        self._limits = limits
        # The limits as plain attributes: they are read for every request and header.
        self._max_url = limits.request_line - 10 - 32  # below it no method makes the line too long
        self._max_field = limits.header_field_size
        self._max_block = limits.header_block_size
        self._max_count = limits.header_count
        self._max_head = limits.request_line + limits.header_block_size
        self._events: list[Event] = []
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._expect_continue = False
        self._upgrade: bytes | None = None
        self.phase = IDLE  # HEAD: a request head has begun, not ended; BODY: its message has not
        self._unparsed = 0  # bytes fed while a head or a body's metadata made no progress
        self._header_bytes = 0
        self._hosts = 0
        self._transfer_encoding: bytes | None = None
        self._content_length = -1
        self._forwarded = False  # a proxy header is present (read only from trusted peers)
        self._host: bytes | None = None
        self._got_data = False  # body bytes came out of the last feed
        self._trailers = 0
        self._raw_body = 0  # body bytes of an upgrade request still to come
        self._stream_id = 0
        self._current: Request | None = None
        self._stopped = False
        self.init_response()
        # Error path only: the bytes from a message boundary while a feed ends inside a request
        # line, and how many messages they complete (-1: unknown), to read a method llhttp
        # refuses; then, until its request line is whole, the start of the refused message.
        self._carry = b""
        self._carry_done = -1
        self._bad_method: bytes | None = None

    # ---- input -------------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[Event]:
        """Parse ``data``; return the events it completes."""
        if self._stopped:
            if self._raw_body:
                return self._take_raw_body(data, [])
            if self._bad_method is not None:
                return self._read_bad_method(self._bad_method + data)
            return []
        events: list[Event] = []
        self._events = events
        phase_before = self.phase
        try:
            self._parser.feed_data(data)
            phase = self.phase
            if phase == IDLE:
                if self._carry_done != -1:  # the request line it kept has ended: nothing to keep
                    self._carry, self._carry_done = b"", -1
            else:
                if phase == HEAD and not self._headers:  # the feed ended in a request line: keep it
                    if phase_before == IDLE and len(data) <= self._max_head:
                        self._carry = data
                        self._carry_done = sum(type(event) is EndOfMessage for event in events)
                    elif self._carry_done != -1 and len(self._carry) < self._max_head:
                        self._carry += data
                        self._carry_done += sum(type(event) is EndOfMessage for event in events)
                    else:  # (bounded: past a head's size, the carry is given up)
                        self._carry, self._carry_done = b"", -1
                elif self._carry_done != -1:
                    self._carry, self._carry_done = b"", -1
                # httptools holds a header or trailer line until it ends, and chunk extensions
                # cost bytes without data: bound what is fed without progress (the exact head
                # checks are in the callbacks). A piece that changed the phase, brought body data
                # or completed requests starts the count again: it may end a previous body, or be one.
                if phase != phase_before or self._got_data or events:
                    self._got_data = False
                    self._unparsed = 0
                else:
                    self._unparsed += len(data)
                    if self._unparsed > self._max_head:
                        raise httptools.HttpParserError("too many bytes without progress") from ProtocolError(
                            "Request header fields too large."
                            if phase == HEAD
                            else "Chunk extensions or trailers too large.",
                            431,
                        )
        except httptools.HttpParserUpgrade as exc:
            # Upgrade or CONNECT: the bytes after this request belong to another protocol. The
            # transport switches (WebSocket, h2c) or answers the request and closes. An upgrade
            # request with a body is never taken: llhttp leaves its body to us, here.
            self._stopped = True
            if self._current is not None:
                self._current.keep_alive = False
            trailing = data[exc.args[0] :] if exc.args else b""
            if self._raw_body:
                return self._take_raw_body(trailing, events)
            events.append(Upgrade(self._stream_id, trailing))
        except httptools.HttpParserError as exc:
            self._stopped = True
            self.phase = IDLE
            cause = exc.__cause__ or exc.__context__  # a limit or check raised in a callback
            if isinstance(cause, ProtocolError):
                events.append(Malformed(cause))
            elif isinstance(exc, httptools.HttpParserInvalidMethodError) or str(exc) == _RTSP_METHOD:
                return events + self._refused_method(data, phase_before, events)
            elif version_status(str(exc), self._parser.get_http_version()) == 505:
                events.append(Malformed(ProtocolError("Only HTTP/1.x is supported.", 505)))
            else:
                events.append(Malformed(ProtocolError(f"Invalid HTTP request: {exc}", 400)))
        return events

    def _refused_method(self, data: bytes, phase_before: int, events: list[Event]) -> list[Event]:
        """llhttp refused a method in ``data``: find where its message starts, then read on."""
        done = sum(type(event) is EndOfMessage for event in events)
        if phase_before == IDLE:
            start = data
        elif phase_before == HEAD and self._carry_done != -1:
            start, done = self._carry + data, self._carry_done + done
        else:  # the feed began inside a message whose length we do not know here
            return [Malformed(ProtocolError("Invalid HTTP request: invalid method.", 400))]
        self._carry = b""
        return self._read_bad_method(start[message_start(start, done) :] if done else start)

    def _read_bad_method(self, start: bytes) -> list[Event]:
        """501 or 400 once the refused method is whole (see ``request_line.method_status``)."""
        status = method_status(start, self._limits.request_line)
        if not status:
            self._bad_method = start
            self.phase = HEAD  # a head in progress, under the head timeout
            return []
        self._bad_method = None
        self.phase = IDLE
        reason = "Method not implemented." if status == 501 else "Invalid HTTP request: invalid method."
        return [Malformed(ProtocolError(reason, status))]

    def stop(self) -> None:
        """Parse nothing more: the connection is answered and closed."""
        self._stopped = True
        self._raw_body = 0
        self._bad_method = None
        self.phase = IDLE

    def _take_raw_body(self, data: bytes, events: list[Event]) -> list[Event]:
        """The body of an upgrade request, which llhttp does not parse (Content-Length only)."""
        piece = data[: self._raw_body]
        self._raw_body -= len(piece)
        if piece:
            events.append(Data(self._stream_id, piece))
        if not self._raw_body:
            events.append(EndOfMessage(self._stream_id))
        return events

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._expect_continue = False
        self._upgrade = None
        self.phase = HEAD
        self._header_bytes = 0
        self._hosts = 0
        self._host = None
        self._transfer_encoding = None
        self._content_length = -1
        self._forwarded = False
        self._trailers = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self._max_url:
            # method SP target SP "HTTP/1.1" (the CRLF not counted)
            if len(self._parser.get_method()) + len(self._url) + 10 > self._limits.request_line:
                raise ProtocolError("Request line too long.", 414)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.phase != HEAD:  # a trailer field: bounded with the head's fields, then dropped
            size = len(name) + len(value)
            self._header_bytes += size + 4
            self._trailers += 1
            if (
                size > self._max_field
                or self._header_bytes > self._max_block
                or self._trailers > self._max_count
            ):
                raise ProtocolError("Request trailer fields too large.", 431)
            return
        name = name.lower()
        value = value.rstrip(b" \t")  # trailing whitespace is not part of a value (RFC 9112 5)
        size = len(name) + len(value)
        if size > self._max_field:
            raise ProtocolError("Request header fields too large.", 431)
        self._header_bytes += size + 4  # with ": " and CRLF; the block and count are checked at its end
        kind = SPECIAL_HEADERS.get(name)
        if kind is not None:
            if kind == HOST:
                self._hosts += 1
                self._host = value
                if value not in good_hosts:
                    check_host(value)
            elif kind == FORWARDED:
                self._forwarded = True
            elif kind == CONTENT_LENGTH:
                if not value.isdigit():  # llhttp checks it too; never trust an int() of it blindly
                    raise ProtocolError("Invalid Content-Length.", 400)
                self._content_length = int(value)
            elif kind == TRANSFER_ENCODING:
                te = self._transfer_encoding
                self._transfer_encoding = value if te is None else te + b"," + value
            elif kind == EXPECT:
                if value.lower() == b"100-continue":
                    self._expect_continue = True
            else:
                self._upgrade = value
        self._headers.append((name, value))

    def _check_head(self, method: bytes, version: str) -> str:
        """What llhttp lets through and RFC 9112 does not (raised as ProtocolError); returns
        the version the request is served as."""
        if len(self._headers) > self._max_count or self._header_bytes > self._max_block:
            raise ProtocolError("Request header fields too large.", 431)
        return check_head(method, self._url, version, self._hosts, self._transfer_encoding)

    def on_headers_complete(self) -> None:
        parser = self._parser
        raw_method = parser.get_method()
        self.phase = BODY
        version = parser.get_http_version()
        headers = self._headers
        if (
            self._hosts != 1
            or version != "1.1"
            or self._transfer_encoding is not None
            or self._url == b"*"
            or len(headers) > self._max_count
            or self._header_bytes > self._max_block
        ):
            version = self._check_head(raw_method, version)
        method = KNOWN_METHODS.get(raw_method) or raw_method.decode("ascii")  # (llhttp parsed it: a token)
        self._stream_id += 1
        upgrade = self._upgrade if self._upgrade is not None and parser.should_upgrade() else None
        if upgrade is not None:
            for name, value in self._headers:
                if name == b"content-length" and value.strip() not in (b"", b"0"):
                    upgrade = None  # served as HTTP/1.1; its body arrives through _take_raw_body
                    self._raw_body = int(value) if value.strip().isdigit() else 0
                elif name == b"transfer-encoding":
                    raise httptools.HttpParserError("A chunked body on an upgrade request is not supported.")
        self._current = request = Request(
            self._stream_id,
            method,
            self._url,
            self._headers,
            version,
            parser.should_keep_alive(),
            self._expect_continue and version == "1.1",
            upgrade,
            self._content_length,
            self._forwarded,
            self._host,
        )
        self._events.append(request)

    def on_body(self, body: bytes) -> None:
        self._got_data = True
        self._events.append(Data(self._stream_id, body))

    def on_message_complete(self) -> None:
        self.phase = IDLE
        if not self._raw_body:
            self._events.append(EndOfMessage(self._stream_id))

    # ---- output ------------------------------------------------------------------------------


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
