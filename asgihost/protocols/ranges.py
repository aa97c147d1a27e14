"""Byte ranges of one file, sans-IO: the Range header (RFC 9110 section 14.1.2), Content-Range
values (14.4) and multipart/byteranges framing (14.6)."""

from __future__ import annotations

import secrets

MAX_RANGES = 16
_OWS = b" \t"
_HUGE = 1 << 64  # stands for a number of more than 18 digits: past every file's end
_BCHARS = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?")


def _number(digits: bytes) -> int | None:
    """A non-negative decimal of ``digits`` (1*DIGIT), or None; any beyond 18 digits (after
    leading zeros) is ``_HUGE``, so no client-sized number is ever converted."""
    if not digits.isdigit():  # bytes.isdigit: ASCII digits only, False when empty
        return None
    if len(digits) > 18:
        digits = digits.lstrip(b"0")
        if len(digits) > 18:
            return _HUGE
    return int(digits)


def _coalesce(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Ranges that overlap or touch merged into one, which takes the place of the earliest of
    them; the others keep the order they were asked in (14.6). One pass is enough: the ranges
    kept are pairwise apart, so a range that misses both of two touching ranges misses their
    union too."""
    out: list[tuple[int, int]] = []
    for start, end in ranges:
        first = -1
        i = 0
        while i < len(out):
            s, e = out[i]
            if start <= e + 1 and s <= end + 1:  # overlapping or adjacent
                start, end = min(start, s), max(end, e)
                if first == -1:
                    first = i
                    i += 1
                else:
                    del out[i]
            else:
                i += 1
        if first == -1:
            out.append((start, end))
        else:
            out[first] = (start, end)
    return out


def parse_range(value: bytes, size: int) -> list[tuple[int, int]] | None | int:
    """The Range header of a GET for a representation of ``size`` bytes (RFC 9110 14.1.2).

    Returns a list of satisfiable ``(start, end_inclusive)`` ranges, each within
    ``[0, size)``, none overlapping or touching another; None when the header is to be ignored
    (the full 200 is sent); or 416 when it is valid and nothing in it is satisfiable.

    - The unit is "bytes", case-insensitively (14.1); another unit -> None.
    - Each element is ``first-"-"[last]`` or ``"-"suffix``, OWS around commas, empty elements
      skipped (the list rule, 5.6.1). An element that is neither, a last-pos before its
      first-pos, no element at all, or more than ``MAX_RANGES`` elements -> None: 14.2 lets a
      server ignore an invalid ranges-specifier or "a set of many small ranges", and indeed
      any Range ("A server MAY ignore the Range header field").
    - An int-range is satisfiable when first-pos < size (last-pos is clamped to size - 1); a
      suffix-range when its length is not 0 (the last N bytes, or all of a shorter file). A
      file of 0 bytes satisfies nothing: 416 (14.1.2 calls a non-zero suffix satisfiable even
      then, but no Content-Range can express an empty range, so it cannot be served as 206).
    - Overlapping and adjacent ranges are COALESCED, not refused (14.2: a server "MAY coalesce
      any of the ranges that overlap, or that are separated by a gap that is smaller than the
      overhead of sending multiple parts"): 14.1.2 itself gives "bytes=500-700,601-999" as a
      valid way to ask for bytes 500-999, and merging removes what makes overlapping ranges an
      attack (a response many times the file): the parts' total never exceeds ``size``. The
      merged range takes the place of the first of its members (14.6 asks the parts in the
      order asked).
    """
    eq = value.find(b"=")
    if eq != 5 or value[:5].lower() != b"bytes":
        return None
    wanted: list[tuple[int, int]] = []
    count = 0
    for element in value[6:].split(b","):
        element = element.strip(_OWS)
        if not element:
            continue
        count += 1
        if count > MAX_RANGES:
            return None
        dash = element.find(b"-")
        if dash == -1:
            return None
        if dash == 0:
            suffix = _number(element[1:])
            if suffix is None:
                return None
            if suffix and size:
                wanted.append((size - suffix if suffix < size else 0, size - 1))
            continue
        first = _number(element[:dash])
        last_digits = element[dash + 1 :]
        last = _number(last_digits) if last_digits else _HUGE
        if first is None or last is None or last < first:
            return None
        if first < size:
            wanted.append((first, last if last < size else size - 1))
    if not count:
        return None
    if not wanted:
        return 416
    if len(wanted) == 1:
        return wanted
    return _coalesce(wanted)


def content_range(start: int, end: int, size: int) -> bytes:
    """The Content-Range of a part: ``b"bytes 0-99/1000"`` (14.4)."""
    return b"bytes %d-%d/%d" % (start, end, size)


def unsatisfied_range(size: int) -> bytes:
    """The Content-Range of a 416: ``b"bytes */1000"`` (14.4)."""
    return b"bytes */%d" % size


class Multipart:
    """multipart/byteranges framing (RFC 9110 14.6, RFC 2046 5.1.1) for ranges of one file.

    ``content_type`` is the response's header value (b"multipart/byteranges; boundary=...").
    ``parts`` is a list of ``(prefix, start, end_inclusive)``: the prefix is the delimiter
    (CRLF, but for the first part, which opens the body as in 14.6's example), the part's
    Content-Type (the file's) and Content-Range, and the blank line; the part's bytes follow.
    ``closing`` is the close delimiter (CRLF "--" boundary "--" CRLF); ``length`` the exact body
    length, for Content-Length. The boundary is random per response (``secrets.token_hex``)
    unless given (1 to 70 characters of RFC 2046's bchars, not ending in a space)."""

    __slots__ = ("boundary", "content_type", "parts", "closing", "length")

    def __init__(
        self, ranges: list[tuple[int, int]], size: int, file_type: bytes, boundary: bytes | None = None
    ) -> None:
        if boundary is None:
            boundary = secrets.token_hex(16).encode("ascii")
        elif not (0 < len(boundary) <= 70) or not _BCHARS.issuperset(boundary):
            raise ValueError(f"invalid multipart boundary {boundary!r}")
        self.boundary = boundary
        self.content_type = b"multipart/byteranges; boundary=" + boundary
        head = b"--" + boundary + b"\r\nContent-Type: " + file_type + b"\r\nContent-Range: bytes "
        tail = b"/%d\r\n\r\n" % size
        self.parts: list[tuple[bytes, int, int]] = []
        length = 0
        for start, end in ranges:
            prefix = b"%s%s%d-%d%s" % (b"\r\n" if self.parts else b"", head, start, end, tail)
            self.parts.append((prefix, start, end))
            length += len(prefix) + end - start + 1
        self.closing = b"\r\n--" + boundary + b"--\r\n"
        self.length = length + len(self.closing)
