"""Access-line formatting. A request target may carry control characters (percent-decoding
is not applied here, but raw bytes such as ESC can still arrive): each is written as ``\\xNN``
so a client cannot forge log lines or drive a terminal."""

from __future__ import annotations

_ESCAPES = {i: f"\\x{i:02x}" for i in [*range(0x20), *range(0x7F, 0xA0)]}
_ESCAPES[ord("\\")] = "\\\\"


def format_target(target: bytes) -> str:
    """The request target as it should appear in a log line."""
    text = target.decode("latin-1")
    if text.isprintable() and "\\" not in text:
        return text
    return text.translate(_ESCAPES)


def format_client(client: tuple[str, int] | None) -> str:
    if not client:
        return "-"
    return f"{client[0]}:{client[1]}"
