"""HTTP/1.1 protocol core over h11 ([server] http = "h11", or where httptools cannot be
imported): the same interface and events as ``http1.H1Connection``, the same limits, and the
same answers to hostile input.

Invariants:
- ``receive_data`` returns the events parsed from exactly the bytes given, in order; a
  ``Malformed`` event is the last event the connection ever yields.
- A head is gathered here, line by line, and checked as the httptools core checks it (the
  request line as llhttp reads it: ``request_line.request_line_status``; every limit of
  ``HeadLimits`` as it is crossed; Host, Content-Length, Transfer-Encoding, obs-fold, bare LF)
  before h11 sees any of it. A head larger than ``HeadLimits.incomplete_event`` (h11's
  max_incomplete_event_size) is 431, whatever the reads; h11 bounds chunk lines and trailers
  by it too.
- h11 parses each whole head and its body with an ``h11.Connection`` of its own: h11 would
  wait for our response before the next request, and responses are framed by
  ``http1_response.ResponseFramer`` (which this class is), not by h11. It is given exactly
  one message's bytes: a head once whole, then its body, whose end is known here
  (Content-Length, or the chunk lines, checked as llhttp checks them before h11 sees them).
  A read holding many pipelined messages is read in one pass, each byte copied once.
- After a message that does not keep the connection alive, any byte is 400, as llhttp has it;
  after an upgrade (or CONNECT) the bytes go out in an ``Upgrade`` event.
"""

from __future__ import annotations

import re

import h11

from .errors import ProtocolError
from .events import Data, EndOfMessage, Event, Malformed, Request, Upgrade
from .headers import has_token, is_token, is_valid_value
from .http1_head import (
    BODY,
    CONTENT_LENGTH,
    EXPECT,
    FORWARDED,
    HEAD,
    HOST,
    IDLE,
    KNOWN_METHODS,
    SERVED_METHODS,
    SPECIAL_HEADERS,
    TRANSFER_ENCODING,
    HeadLimits,
    check_head,
    check_host,
    good_hosts,
)
from .http1_response import ResponseFramer
from .request_line import REASONS, request_line_status

_CONNECTION = b"connection"
_SWITCH, _STOP = 1, 2  # what follows an upgrade request (or CONNECT): another protocol, or nothing
# A chunked body, as llhttp reads it (RFC 9112 7.1): where the checker is in it.
_SIZE, _DATA, _DATA_END, _TRAILERS, _DONE = range(5)
# A chunk size that fits 64 bits, and extensions without control characters.
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:;[^\x00-\x08\x0a-\x1f\x7f]*)?\r\n")
_FRAMING = (b"content-length", b"transfer-encoding")  # never trailers (RFC 9110 6.5.1)


class H11Connection(ResponseFramer):
    """One HTTP/1.1 connection, server side, parsed by h11."""

    __slots__ = (
        "_limits",
        "_max_head",
        "_headers",
        "_parser",
        "_head",
        "_scanned",
        "_method",
        "_target",
        "_version",
        "_count",
        "_block",
        "_hosts",
        "_host",
        "_transfer_encoding",
        "_content_length",
        "_expect_continue",
        "_upgrade",
        "_connection",
        "_forwarded",
        "_keep_alive",
        "_switch",
        "_closed",
        "phase",
        "_stream_id",
        "_stopped",
        "_chunk",
        "_chunk_left",
        "_chunk_line",
        "_body_left",
    )

    def __init__(self, limits: HeadLimits) -> None:
        self._limits = limits
        # A head may not exceed what h11 holds of an incomplete event, nor our own bounds.
        self._max_head = min(limits.request_line + limits.header_block_size, limits.incomplete_event)
        self._parser: h11.Connection | None = None  # the message's own, once its head is whole
        self._head = bytearray()  # the head being gathered; its lines up to _scanned are checked
        self._scanned = 0
        self.phase = IDLE
        self._stream_id = 0
        self._stopped = False
        self._closed = False  # the last message did not keep the connection alive
        self._begin()
        self.init_response()

    def _begin(self) -> None:
        self._method = b""
        self._target = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._version = ""
        self._count = 0
        self._block = 0
        self._hosts = 0
        self._host: bytes | None = None
        self._transfer_encoding: bytes | None = None
        self._content_length = -1
        self._expect_continue = False
        self._upgrade: bytes | None = None
        self._connection = b""
        self._forwarded = False
        self._keep_alive = True
        self._switch = 0  # after the message: _SWITCH (Upgrade event), _STOP (nothing more), or 0
        self._chunk = _SIZE  # (read only for a chunked body)
        self._chunk_left = 0
        self._chunk_line = b""
        self._body_left = 0  # of a Content-Length body

    # ---- input -------------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[Event]:
        """Parse ``data``; return the events it completes."""
        events: list[Event] = []
        if self._stopped:
            return events
        if self._head:  # a head begun in earlier reads (bounded by _max_head)
            data = bytes(self._head) + data
            self._head = bytearray()
        pos, size = 0, len(data)
        try:
            while pos < size and not self._stopped:
                if self.phase == BODY:
                    pos = self._body(data, pos, events)
                else:
                    pos = self._head_at(data, pos, events)
        except ProtocolError as exc:
            self.stop()
            events.append(Malformed(exc))
        return events

    def stop(self) -> None:
        """Parse nothing more: the connection is answered and closed."""
        self._stopped = True
        self._parser = None
        self._head = bytearray()
        self.phase = IDLE

    def _head_at(self, data: bytes, pos: int, events: list[Event]) -> int:
        """Read the head that begins (or went on) at ``pos``; return where reading goes on."""
        if self.phase == IDLE:
            if self._closed:
                raise ProtocolError("Invalid HTTP request: data after Connection: close.", 400)
            while data.startswith(b"\r\n", pos):  # empty lines before a request (RFC 9112 2.2)
                pos += 2
            if pos == len(data) or data[pos:] == b"\r":
                self._head = bytearray(data[pos:])
                return len(data)
            self._begin()
            self.phase = HEAD
        end = self._scan(data, pos)
        if end == -1:
            if len(data) - pos > self._max_head:
                raise ProtocolError("Request header fields too large.", 431)
            self._head = bytearray(data[pos:])
            return len(data)
        self._scanned = 0
        if end - pos > self._max_head:
            raise ProtocolError("Request header fields too large.", 431)
        self._end_of_head()
        parser = h11.Connection(h11.SERVER, max_incomplete_event_size=self._limits.incomplete_event)
        te = self._transfer_encoding
        if te is None or te.lower() == b"chunked":
            parser.receive_data(data[pos:end])
        else:  # chunked, as the checks found it, said otherwise (", chunked"): h11 takes "chunked" alone
            fields = b"".join(
                b"%s: %s\r\n" % field for field in self._headers if field[0] != b"transfer-encoding"
            )
            line = data[pos : data.index(b"\n", pos) + 1]
            parser.receive_data(b"%s%stransfer-encoding: chunked\r\n\r\n" % (line, fields))
        self._parser = parser
        self._parse(events)  # the Request
        if self._method == b"CONNECT":  # as llhttp: no body; what follows is the tunnel's
            self.stop()
            events += (EndOfMessage(self._stream_id), Upgrade(self._stream_id, data[end:]))
            return len(data)
        return self._body(data, end, events)

    def _scan(self, data: bytes, base: int) -> int:
        """Check the lines of the head at ``base`` not yet checked; return where it ends, or -1."""
        pos = base + self._scanned
        if pos == base:
            end = data.find(b"\n", base)
            line = data[base : end + 1] if end != -1 else data[base:]
            status = request_line_status(line, SERVED_METHODS, self._limits.request_line)
            if status:
                raise ProtocolError(REASONS[status], status)
            if end == -1:
                return -1
            method, _, rest = line[:-2].partition(b" ")
            target, _, version = rest.partition(b" ")
            self._method, self._target, self._version = method, target, version[5:].decode("ascii")
            pos = end + 1
        while True:
            end = data.find(b"\n", pos)
            if end == -1:
                self._scanned = pos - base
                return -1
            if end == pos + 1 and data[pos] == 0x0D:  # the empty line
                return end + 1
            self._field(data[pos : end + 1])
            pos = end + 1

    def _field(self, line: bytes) -> None:
        limits = self._limits
        if line[-2:] != b"\r\n":
            raise ProtocolError("Invalid HTTP request: a header line ends in a bare LF.", 400)
        if line[0] in b" \t":  # obs-fold: refused, as RFC 9112 5.2 allows (llhttp does too)
            raise ProtocolError("Invalid HTTP request: obsolete line folding.", 400)
        name, colon, value = line[:-2].partition(b":")
        value = value.strip(b" \t")
        if not colon or not is_token(name) or not is_valid_value(value):  # (as llhttp: no CTL)
            raise ProtocolError("Invalid HTTP request: invalid header line.", 400)
        size = len(name) + len(value)
        self._count += 1
        self._block += size + 4
        if (
            size > limits.header_field_size
            or self._count > limits.header_count
            or self._block > limits.header_block_size
        ):
            raise ProtocolError("Request header fields too large.", 431)
        name = name.lower()
        kind = SPECIAL_HEADERS.get(name)
        if kind is None:
            if name == _CONNECTION:
                self._connection += b"," + value
        elif kind == HOST:
            self._hosts += 1
            self._host = value
            if value not in good_hosts:
                check_host(value)
        elif kind == FORWARDED:
            self._forwarded = True
        elif kind == CONTENT_LENGTH:
            # One, of digits, within 64 bits (as llhttp)
            if not value.isdigit() or self._content_length != -1 or int(value) >= 1 << 64:
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

    def _end_of_head(self) -> None:
        """The checks of a whole head, and how its connection goes on (as llhttp decides it)."""
        te = self._transfer_encoding
        if te is not None:  # as llhttp: chunked once, last (an empty item before it is let be)
            codings = [coding.strip().lower() for coding in te.split(b",")]
            if codings[-1] == b"chunked" and b"chunked" in codings[:-1] or not codings[-1]:
                raise ProtocolError("Invalid HTTP request: chunked is not the last transfer coding.", 400)
        version = check_head(self._method, self._target, self._version, self._hosts, self._transfer_encoding)
        self._version = version
        if self._transfer_encoding is not None and self._content_length != -1:
            raise ProtocolError("Invalid HTTP request: Content-Length with Transfer-Encoding.", 400)
        connection = self._connection
        if version == "1.1":
            self._keep_alive = not has_token(connection, b"close")
        else:
            self._keep_alive = has_token(connection, b"keep-alive")
        upgrade = self._upgrade is not None and (
            has_token(connection, b"upgrade") or self._method == b"CONNECT"
        )
        self._body_left = max(self._content_length, 0)
        if upgrade or self._method == b"CONNECT":
            if self._transfer_encoding is not None:
                raise ProtocolError("A chunked body on an upgrade request is not supported.", 400)
            self._keep_alive = False
            if self._content_length > 0:  # served as HTTP/1.1, its body read; then nothing more
                upgrade = False
                self._switch = _STOP
            else:
                self._switch = _SWITCH
        if not upgrade:
            self._upgrade = None

    def _body(self, data: bytes, pos: int, events: list[Event]) -> int:
        """Give h11 the bytes of this message's body from ``pos`` (of a chunked body, those up
        to a chunk line llhttp would refuse, then that refusal); return where it ended."""
        error = None
        if self._transfer_encoding is not None:
            end, error = self._check_chunks(data, pos)
        else:
            end = pos + min(self._body_left, len(data) - pos)
            self._body_left -= end - pos
        parser = self._parser
        assert parser is not None
        if end > pos:  # (never b"": to h11, that is the end of the stream)
            parser.receive_data(data[pos:end])
        self._parse(events)
        if error is not None:
            raise error
        if self._switch == _SWITCH and self.phase == IDLE:
            events.append(Upgrade(self._stream_id, data[end:]))
            return len(data)
        return end

    def _check_chunks(self, data: bytes, pos: int) -> tuple[int, ProtocolError | None]:
        """Where, from ``pos``, the chunked body in ``data`` ends or stops being one llhttp
        takes (h11 takes BWS after a size, sizes of 20 hex digits, bare LFs), and the error."""
        size = len(data)
        while pos < size:
            state = self._chunk
            if state == _DATA:
                taken = min(self._chunk_left, size - pos)
                pos += taken
                self._chunk_left -= taken
                if not self._chunk_left:
                    self._chunk = _DATA_END
            elif state == _DATA_END:
                kept = self._chunk_line
                line = kept + data[pos : pos + 2 - len(kept)]
                if not b"\r\n".startswith(line):
                    return pos, ProtocolError("Invalid HTTP request: no CRLF after chunk data.", 400)
                pos += len(line) - len(kept)
                self._chunk_line = b"" if line == b"\r\n" else line
                if line == b"\r\n":
                    self._chunk = _SIZE
            elif state == _DONE:
                break  # the bytes of the next message
            else:
                end = data.find(b"\n", pos)
                if end == -1:  # (h11 bounds the line: 431 past its incomplete event size)
                    self._chunk_line += data[pos:]
                    return size, None
                line = self._chunk_line + data[pos : end + 1]
                self._chunk_line = b""
                if state == _SIZE:
                    match = _CHUNK_SIZE.fullmatch(line)
                    if match is None:
                        return pos, ProtocolError("Invalid HTTP request: invalid chunk size line.", 400)
                    self._chunk_left = int(match[1], 16)
                    self._chunk = _DATA if self._chunk_left else _TRAILERS
                elif line == b"\r\n":
                    self._chunk = _DONE
                elif line[-2:] != b"\r\n":
                    return pos, ProtocolError("Invalid HTTP request: a trailer line ends in a bare LF.", 400)
                pos = end + 1
        return pos, None

    def _parse(self, events: list[Event]) -> None:
        parser = self._parser
        assert parser is not None
        while True:
            try:
                event = parser.next_event()
            except h11.RemoteProtocolError as exc:
                raise ProtocolError(f"Invalid HTTP request: {exc}", exc.error_status_hint) from exc
            kind = type(event)
            if kind is h11.Data:
                events.append(Data(self._stream_id, bytes(event.data)))  # type: ignore[union-attr]
            elif kind is h11.Request:  # (of a head fed alone: the caller feeds what follows)
                self._request(event, events)  # type: ignore[arg-type]
                return
            elif kind is h11.EndOfMessage:
                self._end_of_message(event, events)  # type: ignore[arg-type]
                return
            else:  # NEED_DATA (PAUSED comes only after the end of a message)
                return

    def _request(self, event: h11.Request, events: list[Event]) -> None:
        self.phase = BODY
        self._stream_id += 1
        raw_method = bytes(event.method)
        version = self._version
        events.append(
            Request(
                self._stream_id,
                KNOWN_METHODS.get(raw_method) or raw_method.decode("ascii"),
                bytes(event.target),
                self._headers,
                version,
                self._keep_alive,
                self._expect_continue and version == "1.1",
                self._upgrade,
                self._content_length,
                self._forwarded,
                self._host,
            )
        )

    def _end_of_message(self, event: h11.EndOfMessage, events: list[Event]) -> None:
        limits = self._limits
        count = block = 0
        for name, value in event.headers:  # trailer fields: bounded with the head's, then dropped
            if name in _FRAMING:
                raise ProtocolError("Invalid HTTP request: a framing field as a trailer.", 400)
            size = len(name) + len(value)
            count += 1
            block += size + 4
            if (
                size > limits.header_field_size
                or block > limits.header_block_size
                or count > limits.header_count
            ):
                raise ProtocolError("Request trailer fields too large.", 431)
        self.phase = IDLE
        events.append(EndOfMessage(self._stream_id))
        self._parser = None
        if self._switch:
            self._stopped = True  # (after an upgrade, the caller hands on the bytes that follow)
        self._closed = not self._keep_alive
