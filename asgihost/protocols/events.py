"""Events the protocol cores emit. Slotted and plain: one object per thing that happened."""

from __future__ import annotations

from .errors import ProtocolError


class Request:
    """A complete request head. ``target`` is the raw request-target bytes."""

    __slots__ = (
        "stream_id",
        "method",
        "target",
        "headers",
        "http_version",
        "keep_alive",
        "expect_continue",
        "upgrade",
        "content_length",
        "forwarded",
        "host",
    )

    def __init__(
        self,
        stream_id: int,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        http_version: str,
        keep_alive: bool,
        expect_continue: bool,
        upgrade: bytes | None = None,
        content_length: int = -1,
        forwarded: bool = False,
        host: bytes | None = None,
    ) -> None:
        self.stream_id = stream_id
        self.method = method
        self.target = target
        self.headers = headers
        self.http_version = http_version
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.upgrade = upgrade  # the Upgrade header's value when Connection says upgrade, else None
        self.content_length = content_length  # -1: none given (chunked, or no body)
        self.forwarded = forwarded  # it has X-Forwarded-For, X-Forwarded-Proto or Forwarded
        self.host = host  # the Host header's value (HTTP/2: or :authority), for routing


class Data:
    """A piece of a request body."""

    __slots__ = ("stream_id", "data")

    def __init__(self, stream_id: int, data: bytes) -> None:
        self.stream_id = stream_id
        self.data = data


class EndOfMessage:
    """The request body is complete."""

    __slots__ = ("stream_id",)

    def __init__(self, stream_id: int) -> None:
        self.stream_id = stream_id


class Upgrade:
    """The request before this event switched protocols (``Connection: Upgrade``): the bytes
    after it, ``trailing``, belong to the new protocol. Nothing more is parsed as HTTP/1.1."""

    __slots__ = ("stream_id", "trailing")

    def __init__(self, stream_id: int, trailing: bytes) -> None:
        self.stream_id = stream_id
        self.trailing = trailing


class Malformed:
    """The peer's bytes could not be parsed; everything after this is lost."""

    __slots__ = ("error",)

    def __init__(self, error: ProtocolError) -> None:
        self.error = error


Event = Request | Data | EndOfMessage | Upgrade | Malformed
