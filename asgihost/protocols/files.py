"""The HTTP semantics of the static-file server, sans-IO: request paths made safe segments, HTTP
dates, entity tags, the preconditions of RFC 9110 section 13, If-Range, media types (``media_types.py``),
Accept-Encoding and Cache-Control rules. Byte ranges are in ``ranges.py``.

Nothing here touches a file: the runtime stats and opens, and asks these functions what the
request means. Every function is called per request, concurrently from many tasks: none keeps
state but bounded memos (``protocols/cache.py``) whose answers never depend on what is kept.
"""

from __future__ import annotations

import re
import time

from .cache import BoundedCache
from .media_types import content_type

__all__ = [
    "MAX_PATH",
    "MAX_SEGMENT",
    "CacheRules",
    "accepted_encodings",
    "content_type",
    "file_segments",
    "http_date",
    "if_range_allows",
    "make_etag",
    "parse_http_date",
    "preconditions",
]

MAX_PATH = 4096
MAX_SEGMENT = 255

# --- request paths ---------------------------------------------------------------------------

_HEX = b"0123456789abcdefABCDEF"
_HEX_TO_BYTE = {
    a + b: bytes.fromhex((a + b).decode())
    for a in (bytes([c]) for c in _HEX)
    for b in (bytes([c]) for c in _HEX)
}
# after decoding: C0 controls, DEL, C1 controls, and the separators of POSIX and Windows
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f/\\\\]")
_ENCODED_SLASH = re.compile(rb"%(?:2[fF]|5[cC])")
# what takes a path off the fast way: anything but printable ASCII, "%", "\\", a "." after "/"
_SPECIAL = re.compile(rb"[^\x21-\x24\x26-\x5b\x5d-\x7e]|/\.")


def _percent_decode(raw: bytes) -> bytes | None:
    """``raw`` with each %XX made its byte; None for a "%" not followed by two hex digits."""
    parts = raw.split(b"%")
    out = [parts[0]]
    table = _HEX_TO_BYTE
    for part in parts[1:]:
        byte = table.get(part[:2])
        if byte is None:
            return None
        out.append(byte)
        out.append(part[2:])
    return b"".join(out)


def file_segments(raw_path: bytes, skip: int, hidden: bool) -> tuple[list[str], bool] | int:
    """The path below the mount as safe segments, from the RAW request path (as on the wire,
    query already removed), with the first ``skip`` non-empty raw segments dropped (the mount's).

    Returns ``(segments, trailing_slash)`` or a status:

    - 400 for a "%" not followed by two hex digits, bytes that are not strict UTF-8 once decoded
      (overlong forms such as %c0%ae, surrogates), or a NUL, raw or encoded;
    - 404 for anything that could escape the root or name something hidden: a segment that
      decodes to "." or "..", that holds "/" or "\\" once decoded (%2f, %5c), a control character
      (C0, DEL, C1), more than ``MAX_SEGMENT`` bytes decoded, a raw path over ``MAX_PATH`` bytes,
      and, unless ``hidden``, a segment starting with "."; also a skipped (mount) segment that
      holds an encoded "/" or "\\", where the raw and the decoded paths part ways.

    Empty segments ("//") are dropped; each raw segment is decoded alone. A segment returned is
    never "", ".", "..", and holds no "/", "\\" or control character.
    """
    if len(raw_path) > MAX_PATH:
        return 404
    if _SPECIAL.search(raw_path) is None and raw_path[:1] != b".":
        # nearly every path: printable ASCII, no "%", "\\" or segment starting with "."
        segments = raw_path.decode("ascii").split("/")
        if "" in segments:
            segments = [segment for segment in segments if segment]
        if skip > 0:
            del segments[:skip]
        for segment in segments:
            if len(segment) > MAX_SEGMENT:
                return 404
        return segments, raw_path[-1:] == b"/"
    return _segments(raw_path, skip, hidden)


def _segments(raw_path: bytes, skip: int, hidden: bool) -> tuple[list[str], bool] | int:
    """``file_segments`` of a path under ``MAX_PATH``, segment by segment."""
    if b"\x00" in raw_path:
        return 400
    segments: list[str] = []
    unsafe = _UNSAFE.search
    for raw in raw_path.split(b"/"):
        if not raw:
            continue
        if skip > 0:
            skip -= 1
            if b"%" in raw and _ENCODED_SLASH.search(raw) is not None:
                return 404
            continue
        if b"%" in raw:
            decoded = _percent_decode(raw)
            if decoded is None or b"\x00" in decoded:
                return 400
            raw = decoded
        if len(raw) > MAX_SEGMENT:
            return 404
        try:
            segment = raw.decode("utf-8")
        except UnicodeDecodeError:
            return 400
        if segment[0] == "." and (not hidden or segment == "." or segment == ".."):
            return 404
        if unsafe(segment) is not None:
            return 404
        segments.append(segment)
    return segments, raw_path[-1:] == b"/"


# --- HTTP-date (RFC 9110 section 5.6.7) ------------------------------------------------------

_DAYS = (b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun")  # tm_wday order
_LONG_DAYS = frozenset((b"Monday", b"Tuesday", b"Wednesday", b"Thursday", b"Friday", b"Saturday", b"Sunday"))
_MONTHS = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")
_MONTH_NUMBER = {name: number for number, name in enumerate(_MONTHS, 1)}
_DAY_SET = frozenset(_DAYS)
_LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z: four digits of year, as IMF-fixdate has


def http_date(seconds: float) -> bytes:
    """IMF-fixdate of a POSIX time, e.g. ``b"Sun, 06 Nov 1994 08:49:37 GMT"``; fractions are
    dropped (floor), and times before 1970 or after 9999 are clamped to those ends."""
    whole = int(seconds // 1) if seconds == seconds else 0  # NaN -> the epoch
    whole = 0 if whole < 0 else _LAST_SECOND if whole > _LAST_SECOND else whole
    t = time.gmtime(whole)
    return b"%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[t.tm_wday],
        t.tm_mday,
        _MONTHS[t.tm_mon - 1],
        t.tm_year,
        t.tm_hour,
        t.tm_min,
        t.tm_sec,
    )


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _seconds(year: bytes, month: bytes, day: bytes, clock: bytes) -> int | None:
    """POSIX seconds of validated parts (clock is b"HH:MM:SS"), or None."""
    number = _MONTH_NUMBER.get(month)
    if (
        number is None
        or len(clock) != 8
        or clock[2:3] != b":"
        or clock[5:6] != b":"
        or not (year.isdigit() and day.isdigit() and clock[:2].isdigit())
        or not (clock[3:5].isdigit() and clock[6:].isdigit())
    ):
        return None
    y, d = int(year), int(day)
    hh, mm, ss = int(clock[:2]), int(clock[3:5]), int(clock[6:])
    if not (1 <= d <= _days_in_month(y, number)) or hh > 23 or mm > 59 or ss > 60:
        return None
    return _days_from_civil(y, number, d) * 86400 + hh * 3600 + mm * 60 + ss


def parse_http_date(value: bytes) -> int | None:
    """POSIX seconds of an HTTP-date in any of its three forms (IMF-fixdate
    ``Sun, 06 Nov 1994 08:49:37 GMT``, RFC 850 ``Sunday, 06-Nov-94 08:49:37 GMT``, asctime
    ``Sun Nov  6 08:49:37 1994``), surrounding whitespace allowed; None if it is none of them.
    Names are matched as the grammar spells them (case-sensitive); the day name must be one,
    not necessarily the right one. An RFC 850 two-digit year more than 50 years ahead is read
    as the most recent past year with those digits (section 5.6.7)."""
    value = value.strip(b" \t")
    n = len(value)
    if (
        n == 29
        and value[3:5] == b", "
        and value[25:] == b" GMT"
        and value[7:8] == b" "
        and value[11:12] == b" "
    ):
        if value[:3] not in _DAY_SET or value[16:17] != b" ":
            return None
        return _seconds(value[12:16], value[8:11], value[5:7], value[17:25])
    if (
        n == 24
        and value[3:4] == b" "
        and value[7:8] == b" "
        and value[10:11] == b" "
        and value[19:20] == b" "
    ):
        if value[:3] not in _DAY_SET:
            return None
        day = value[8:10]
        if day[:1] == b" ":
            day = day[1:]
        elif day[:1] == b"0":  # asctime pads with a space, never a zero
            return None
        return _seconds(value[20:], value[4:7], day, value[11:19])
    comma = value.find(b", ")
    if comma < 6 or value[:comma] not in _LONG_DAYS or n - comma != 24 or value[-4:] != b" GMT":
        return None
    rest = value[comma + 2 :]  # b"06-Nov-94 08:49:37 GMT"
    if rest[2:3] != b"-" or rest[6:7] != b"-" or rest[9:10] != b" " or not rest[7:9].isdigit():
        return None
    year = int(rest[7:9])
    this_year = time.gmtime().tm_year
    year += this_year - this_year % 100
    if year > this_year + 50:
        year -= 100
    return _seconds(b"%04d" % year, rest[3:6], rest[:2], rest[10:18])


# --- entity tags and preconditions (RFC 9110 sections 8.8.3 and 13) ---------------------------


def make_etag(size: int, mtime_ns: int, suffix: bytes = b"") -> bytes:
    """A strong entity tag of a file's modification time (ns) and size, both hex:
    ``b'"17f3a1b2c3d4e5f6-1a4"'``; a ``suffix`` (b"br", b"gz") makes a distinct validator for a
    precompressed variant: ``b'"17f3a1b2c3d4e5f6-1a4-br"'``."""
    if suffix:
        return b'"%x-%x-%s"' % (mtime_ns, size, suffix)
    return b'"%x-%x"' % (mtime_ns, size)


def _tag_matches(value: bytes, etag: bytes, weak: bool) -> bool:
    """Whether the list ``value`` (#entity-tag, or "*") holds ``etag`` (ours, strong), by weak
    or strong comparison (section 8.8.3.2). Tolerant: OWS, empty elements, W/ anywhere, and an
    element that is no entity tag is skipped up to the next comma."""
    if etag not in value:  # every match holds our opaque-tag whole
        return b"*" in value and _has_star(value)
    if value == etag:
        return True
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c in b" \t,":
            i += 1
            continue
        is_weak = value.startswith(b"W/", i)
        if is_weak:
            i += 2
        if value[i : i + 1] != b'"':
            if value[i : i + 1] == b"*" and value[i + 1 : i + 2] in (b"", b" ", b"\t", b","):
                return True
            comma = value.find(b",", i)
            i = n if comma == -1 else comma + 1
            continue
        end = value.find(b'"', i + 1)
        if end == -1:
            return False
        if value[i : end + 1] == etag and (weak or not is_weak):
            return True
        i = end + 1
    return False


def _has_star(value: bytes) -> bool:
    for element in value.split(b","):
        if element.strip(b" \t") == b"*":
            return True
    return False


def preconditions(
    method: str,
    if_match: bytes | None,
    if_unmodified_since: bytes | None,
    if_none_match: bytes | None,
    if_modified_since: bytes | None,
    etag: bytes,
    last_modified: int,
) -> int | None:
    """The preconditions of RFC 9110 section 13.2.2 in its order: 412, or 304 (GET and HEAD),
    or None to go on. ``etag`` is ours (strong), ``last_modified`` POSIX seconds.

    1. If-Match (strong comparison, "*" matches: the file exists) false -> 412;
    2. else If-Unmodified-Since, a valid date earlier than ``last_modified`` -> 412;
    3. If-None-Match (weak comparison, "*" matches) true -> 304 for GET/HEAD, else 412;
    4. else, for GET/HEAD, If-Modified-Since a valid date not earlier than ``last_modified``
       -> 304.
    Invalid dates are ignored (13.1.3, 13.1.4). A date in the future is not refused (RFC 7232
    did; RFC 9110 does not ask it, and it needs a clock)."""
    if if_match is not None:
        if not _tag_matches(if_match, etag, False):
            return 412
    elif if_unmodified_since is not None:
        date = parse_http_date(if_unmodified_since)
        if date is not None and last_modified > date:
            return 412
    if if_none_match is not None:
        if _tag_matches(if_none_match, etag, True):
            return 304 if method == "GET" or method == "HEAD" else 412
    elif if_modified_since is not None and (method == "GET" or method == "HEAD"):
        date = parse_http_date(if_modified_since)
        if date is not None and last_modified <= date:
            return 304
    return None


def if_range_allows(value: bytes | None, etag: bytes, last_modified: int) -> bool:
    """Whether a Range may be honoured under If-Range (RFC 9110 13.1.5): no If-Range, an entity
    tag strongly equal to ours, or an HTTP-date exactly equal to ``last_modified``. A weak tag,
    another tag or date, or a value that is neither never matches (the Range is then ignored)."""
    if value is None:
        return True
    value = value.strip(b" \t")
    if value[:1] == b'"' or value[:2] == b"W/":
        return value == etag
    return parse_http_date(value) == last_modified


# --- Accept-Encoding (RFC 9110 section 12.5.3) -----------------------------------------------

_OURS = ("br", "gzip")
_encodings: BoundedCache[bytes, tuple[str, ...]] = BoundedCache(512, 65536)


def _qvalue(params: bytes) -> float | None:
    """The weight of an element's parameters (b";q=0.5"), 1.0 with none, None if invalid."""
    q = 1.0
    for param in params.split(b";")[1:]:
        key, eq, raw = param.strip(b" \t").partition(b"=")
        if key.lower() != b"q":
            continue  # no other parameter is defined: tolerated
        raw = raw.strip(b" \t")
        if not eq or not raw or len(raw) > 5 or raw[:1] not in (b"0", b"1"):
            return None
        if len(raw) > 1 and (raw[1:2] != b"." or not (raw[2:].isdigit() or raw[2:] == b"")):
            return None
        q = float(raw)
        if q > 1.0:
            return None
    return q


def accepted_encodings(accept_encoding: bytes | None) -> tuple[str, ...]:
    """Which of ("br", "gzip") the client accepts, in our order of preference (br, then gzip),
    whatever its weights: a coding listed with q > 0 (x-gzip is gzip, 8.4.1.3), or not listed
    while "*" is with q > 0. A coding given q=0 anywhere is refused, as is every unlisted one by
    "*;q=0". Names are case-insensitive; an element with an invalid weight is skipped.
    None or empty -> () (identity only)."""
    if not accept_encoding:
        return ()
    known = _encodings.entries.get(accept_encoding)
    if known is not None:
        return known
    weights: dict[bytes, float] = {}
    for element in accept_encoding.split(b","):
        name = element.split(b";", 1)[0].strip(b" \t").lower()
        if not name:
            continue
        q = _qvalue(element)
        if q is None:
            continue
        if name == b"x-gzip":
            name = b"gzip"
        previous = weights.get(name)
        weights[name] = (
            q if previous is None else min(previous, q) if 0.0 in (previous, q) else max(previous, q)
        )
    star = weights.get(b"*", 0.0)
    result = tuple(coding for coding in _OURS if weights.get(coding.encode(), star) > 0.0)
    _encodings.remember(accept_encoding, result, len(accept_encoding) + 16)
    return result


# --- Cache-Control by path -------------------------------------------------------------------


def _glob_regex(glob: str) -> re.Pattern[str]:
    """A glob on "/"-separated relative paths: "*" and "?" within a segment, "[...]" a class
    ("[!...]" negated), a "**" segment any number of directories (none too)."""
    parts = []
    segments = glob.strip("/").split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:[^/]*/)*")
            continue
        out, i, n = [], 0, len(segment)
        while i < n:
            c = segment[i]
            i += 1
            if c == "*":
                out.append("[^/]*")
            elif c == "?":
                out.append("[^/]")
            elif c == "[" and "]" in segment[i + 1 :]:
                end = segment.index("]", i + 1)
                body = segment[i:end]
                negate = body[:1] == "!"
                body = body[1:] if negate else body
                out.append("[" + ("^/" if negate else "") + body.replace("\\", "\\\\") + "]")
                i = end + 1
            else:
                out.append(re.escape(c))
        parts.append("".join(out) + ("" if last else "/"))
    return re.compile("".join(parts), re.DOTALL)


class CacheRules:
    """Cache-Control values by relative path: ``(glob, header value)`` pairs, the first that
    matches wins; "*" is the default, used only when no other rule matches (wherever it is
    listed). A glob with "/" matches the whole relative path ("assets/**/*.js"); one without
    matches the file name in any directory ("*.html"). Matching is case-sensitive. Answers are
    remembered per relative path in a bounded memo."""

    __slots__ = ("_rules", "_default", "_memo")

    def __init__(self, rules: list[tuple[str, str]]) -> None:
        self._rules: list[tuple[bool, re.Pattern[str], bytes]] = []
        self._default: bytes | None = None
        for glob, value in rules:
            encoded = value.encode("latin-1")
            if any(b < 0x20 and b != 0x09 or b == 0x7F for b in encoded) or encoded != encoded.strip(b" \t"):
                raise ValueError(f"Cache-Control value {value!r} for {glob!r} is not a valid field value")
            if glob == "*":
                if self._default is None:
                    self._default = encoded
                continue
            self._rules.append(("/" in glob.strip("/"), _glob_regex(glob), encoded))
        self._memo: BoundedCache[str, bytes | None] = BoundedCache(4096, 1 << 20)

    def value_for(self, relative: str) -> bytes | None:
        """The Cache-Control value for ``relative`` ("/"-separated, below the root), or None."""
        memo = self._memo.entries
        if relative in memo:
            return memo[relative]
        path = relative.lstrip("/")
        name = path.rpartition("/")[2]
        value = self._default
        for whole, pattern, rule_value in self._rules:
            if pattern.fullmatch(path if whole else name) is not None:
                value = rule_value
                break
        self._memo.remember(relative, value, len(relative) + 64)
        return value
