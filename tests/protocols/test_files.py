"""The static-file server's HTTP semantics (protocols/files.py): safe path segments against a
corpus of traversal attempts and any bytes at all, HTTP-dates in their three forms, entity tags,
the preconditions in RFC 9110 13.2.2's order, If-Range, media types, Accept-Encoding and the
Cache-Control rules."""

from __future__ import annotations

import calendar
import email.utils

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asgihost.protocols import files, media_types
from asgihost.protocols.files import (
    MAX_PATH,
    MAX_SEGMENT,
    CacheRules,
    accepted_encodings,
    content_type,
    file_segments,
    http_date,
    if_range_allows,
    make_etag,
    parse_http_date,
    preconditions,
)

# --- file_segments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "skip", "expected"),
    [
        (b"/", 0, ([], True)),
        (b"", 0, ([], False)),
        (b"/index.html", 0, (["index.html"], False)),
        (b"/a/b/c.txt", 0, (["a", "b", "c.txt"], False)),
        (b"/a//b///", 0, (["a", "b"], True)),
        (b"/static/css/site.css", 1, (["css", "site.css"], False)),
        (b"//static//css/", 1, (["css"], True)),
        (b"/static", 1, ([], False)),
        (b"/static/", 1, ([], True)),
        (b"/a/b", 5, ([], False)),
        (b"/caf%C3%A9/men%c3%bc.html", 0, (["café", "menü.html"], False)),
        (b"/caf\xc3\xa9", 0, (["café"], False)),  # raw UTF-8 is decoded the same
        (b"/%F0%9F%98%80.png", 0, (["\U0001f600.png"], False)),
        (b"/a%20b%25c", 0, (["a b%c"], False)),  # %25 is a literal "%", not decoded twice
        (b"/%252e%252e/x", 0, (["%2e%2e", "x"], False)),
        (b"/a+b", 0, (["a+b"], False)),
        (b"/...", 0, 404),  # hidden (starts with ".")
        (b"/a..b/c", 0, (["a..b", "c"], False)),
        (b"/x.", 0, (["x."], False)),
        (b"/%61bc", 0, (["abc"], False)),
        (b"/st%61tic/x", 1, (["x"], False)),
    ],
)
def test_segments(raw: bytes, skip: int, expected: object) -> None:
    assert file_segments(raw, skip, False) == expected


def test_hidden_segments() -> None:
    assert file_segments(b"/.well-known/x", 0, False) == 404
    assert file_segments(b"/.well-known/x", 0, True) == ([".well-known", "x"], False)
    assert file_segments(b"/a/%2ehtaccess", 0, False) == 404
    assert file_segments(b"/a/%2ehtaccess", 0, True) == (["a", ".htaccess"], False)
    for raw in (b"/.", b"/..", b"/%2e", b"/%2E%2e", b"/a/../b"):
        assert file_segments(raw, 0, True) == 404, raw


def test_mount_segments_are_not_checked_but_an_encoded_slash_in_them_is_refused() -> None:
    assert file_segments(b"/my..mount/x", 1, False) == (["x"], False)
    assert file_segments(b"/static%2f..%2fetc/passwd", 1, False) == 404
    assert file_segments(b"/static%5C..%5Cetc/passwd", 1, False) == 404


def test_lengths() -> None:
    assert file_segments(b"/" + b"a" * MAX_SEGMENT, 0, False) == (["a" * MAX_SEGMENT], False)
    assert file_segments(b"/" + b"a" * (MAX_SEGMENT + 1), 0, False) == 404
    assert file_segments(b"/" + b"%61" * MAX_SEGMENT, 0, False) == (["a" * MAX_SEGMENT], False)
    assert file_segments(b"/" + b"%C3%A9" * 128, 0, False) == 404  # 256 bytes decoded
    long_ok = b"/" + b"/".join([b"a" * 200] * 20)
    assert len(long_ok) <= MAX_PATH and file_segments(long_ok, 0, False) != 404
    assert file_segments(b"/a" * (MAX_PATH // 2 + 1), 0, False) == 404


TRAVERSALS = [
    b"/../etc/passwd",
    b"/..",
    b"/../",
    b"/a/../../etc/passwd",
    b"/./etc",
    b"/.",
    b"/%2e%2e/x",
    b"/%2E%2E/x",
    b"/%2E%2e%2fetc",
    b"/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    b"/..%2f..%2fetc",
    b"/..%2F..%2Fetc/passwd",
    b"/a/%2e%2e/%2e%2e/b",
    b"/a/.%2e/b",
    b"/a/%2e./b",
    b"/%2e",
    b"/\\..\\x",
    b"/..\\x",
    b"/a\\..\\..\\windows\\win.ini",
    b"/%5c..%5cx",
    b"/%5C..%5Cwindows",
    b"/..%5c..%5cetc",
    b"/%00",
    b"/a%00.html",
    b"/index.html%00.png",
    b"/a\x00b",
    b"/%c0%ae%c0%ae/etc",  # overlong "."
    b"/%c0%af",  # overlong "/"
    b"/%e0%80%ae%e0%80%ae/x",  # three-byte overlong "."
    b"/%c1%9c",  # overlong "\\"
    b"/%ed%a0%80",  # a surrogate
    b"/%ff",
    b"/%fe%ff",
    b"/\xff/x",
    b"/." * 3000,
    b"/a" * 3000,
    b"/%",
    b"/%2",
    b"/%zz",
    b"/%2g",
    b"/a%",
    b"/%%32%65",
    b"/a%0ab",
    b"/a%0d%0aSet-Cookie:x",
    b"/a\r\nb",
    b"/a\tb",
    b"/%7f",
    b"/%c2%85",  # U+0085, a C1 control
    b"/%c2%9b",
    b"/.git/config",
    b"/.env",
    b"/a/%2egit/HEAD",
    b"/a/%2fetc%2fpasswd",
    b"/%2fetc/passwd",
    b"/%5cetc",
    b"/a/" + b"b" * 300,
]


@pytest.mark.parametrize("raw", TRAVERSALS)
def test_traversal_corpus_refused(raw: bytes) -> None:
    assert file_segments(raw, 0, False) in (400, 404)


@pytest.mark.parametrize(
    "raw", [r for r in TRAVERSALS if not r.startswith((b"/.git", b"/.env", b"/a/%2egit"))]
)
def test_traversal_corpus_refused_with_hidden_allowed(raw: bytes) -> None:
    assert file_segments(raw, 0, True) in (400, 404)


@pytest.mark.parametrize(
    ("raw", "status"),
    [(b"/%", 400), (b"/%zz", 400), (b"/%00", 400), (b"/a\x00", 400), (b"/%c0%ae", 400), (b"/%ff", 400)]
    + [(b"/%2e%2e", 404), (b"/%2f", 404), (b"/%5c", 404), (b"/%0a", 404), (b"/.x", 404)],
)
def test_which_status(raw: bytes, status: int) -> None:
    assert file_segments(raw, 0, False) == status


def _check_segments(result: object) -> None:
    if isinstance(result, int):
        assert result in (400, 404)
        return
    assert isinstance(result, tuple)
    segments, trailing = result
    assert isinstance(trailing, bool)
    for segment in segments:
        assert segment not in ("", ".", "..")
        assert "/" not in segment and "\\" not in segment and "\x00" not in segment
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in segment)
        assert len(segment.encode()) <= MAX_SEGMENT


@settings(max_examples=500, deadline=None)
@given(raw=st.binary(max_size=200), skip=st.integers(0, 3), hidden=st.booleans())
def test_property_any_bytes(raw: bytes, skip: int, hidden: bool) -> None:
    result = file_segments(raw, skip, hidden)
    _check_segments(result)
    if not hidden and not isinstance(result, int):
        assert not any(segment.startswith(".") for segment in result[0])


_PIECES = [
    "/",
    "%2e",
    "%2E",
    ".",
    "..",
    "%2f",
    "%5c",
    "\\",
    "%00",
    "%c0%ae",
    "%",
    "a",
    "%41",
    "é",
    "%e2%80%ae",
]


@settings(max_examples=500, deadline=None)
@given(pieces=st.lists(st.sampled_from(_PIECES), max_size=20), hidden=st.booleans())
def test_property_hostile_alphabet(pieces: list[str], hidden: bool) -> None:
    _check_segments(file_segments("".join(pieces).encode(), 0, hidden))


# --- HTTP-date -------------------------------------------------------------------------------

RFC_SECONDS = 784111777  # Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110 5.6.7's example


def test_http_date() -> None:
    assert http_date(RFC_SECONDS) == b"Sun, 06 Nov 1994 08:49:37 GMT"
    assert http_date(RFC_SECONDS + 0.999) == b"Sun, 06 Nov 1994 08:49:37 GMT"
    assert http_date(0) == b"Thu, 01 Jan 1970 00:00:00 GMT"
    assert http_date(-5) == b"Thu, 01 Jan 1970 00:00:00 GMT"
    assert http_date(1e30) == b"Fri, 31 Dec 9999 23:59:59 GMT"
    assert http_date(float("nan")) == b"Thu, 01 Jan 1970 00:00:00 GMT"
    assert http_date(951782400) == b"Tue, 29 Feb 2000 00:00:00 GMT"


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=253402300799))
def test_property_http_date_round_trip(seconds: int) -> None:
    value = http_date(seconds)
    assert value == email.utils.formatdate(seconds, usegmt=True).encode()
    assert parse_http_date(value) == seconds


@pytest.mark.parametrize(
    "value",
    [
        b"Sun, 06 Nov 1994 08:49:37 GMT",
        b"Sunday, 06-Nov-94 08:49:37 GMT",
        b"Sun Nov  6 08:49:37 1994",
        b"  Sun, 06 Nov 1994 08:49:37 GMT\t",
    ],
)
def test_parse_three_forms(value: bytes) -> None:
    assert parse_http_date(value) == RFC_SECONDS


def test_parse_dates() -> None:
    assert parse_http_date(b"Sun Nov 16 08:49:37 1994") == RFC_SECONDS + 10 * 86400
    assert parse_http_date(b"Tue, 29 Feb 2000 00:00:00 GMT") == 951782400
    assert parse_http_date(b"Thu, 01 Jan 1970 00:00:00 GMT") == 0
    assert parse_http_date(b"Fri, 31 Dec 9999 23:59:59 GMT") == 253402300799
    assert parse_http_date(b"Mon, 06 Nov 1994 08:49:37 GMT") == RFC_SECONDS  # a wrong day name is tolerated
    expected = calendar.timegm((2024, 3, 1, 0, 0, 0))
    assert parse_http_date(b"Friday, 01-Mar-24 00:00:00 GMT") == expected


def test_rfc850_two_digit_year_window() -> None:
    # 5.6.7: more than 50 years in the future means the most recent past year with those digits
    import time

    this_year = time.gmtime().tm_year
    for offset in (-60, -10, 0, 10, 49, 51, 60):
        year = this_year + offset
        yy = year % 100
        parsed = parse_http_date(b"Monday, 01-Jan-%02d 00:00:00 GMT" % yy)
        assert parsed is not None
        got = time.gmtime(parsed).tm_year
        assert got % 100 == yy and this_year - 50 <= got <= this_year + 50


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"garbage",
        b"Sun, 06 Nov 1994 08:49:37 UTC",
        b"Sun, 06 Nov 1994 08:49:37 gmt",
        b"sun, 06 Nov 1994 08:49:37 GMT",
        b"Sun, 06 nov 1994 08:49:37 GMT",
        b"Xyz, 06 Nov 1994 08:49:37 GMT",
        b"Sun, 31 Nov 1994 08:49:37 GMT",
        b"Sun, 29 Feb 1900 08:49:37 GMT",
        b"Sun, 00 Nov 1994 08:49:37 GMT",
        b"Sun, 06 Nov 1994 24:00:00 GMT",
        b"Sun, 06 Nov 1994 08:60:00 GMT",
        b"Sun, 06 Nov 1994 08:49:61 GMT",
        b"Sun, 06 Nov 1994 08-49-37 GMT",
        b"Sun, 6 Nov 1994 08:49:37 GMT",
        b"Sun, 06 Nov 94 08:49:37 GMT",
        b"Sun, 06 Nov +994 08:49:37 GMT",
        b"Sun, 06 Nov 1994 08:49:3 GMT",
        b"Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",  # a list
        b"Sunday, 06-Nov-1994 08:49:37 GMT",
        b"Sun, 06-Nov-94 08:49:37 GMT",
        b"Funday, 06-Nov-94 08:49:37 GMT",
        b"Sunday, 06-Nov-9x 08:49:37 GMT",
        b"Sunday, 06 Nov 94 08:49:37 GMT",
        b"Sun Nov 06 08:49:37 1994",
        b"Sun Nov  6 08:49:37 94  ",
        b"Sun Nov x6 08:49:37 1994",
        b"1994-11-06T08:49:37Z",
        b"784111777",
        b"\xff" * 29,
        b"Sun, \xd9\xa1\xd9\xa2 Nov 1994 08:49:37 GMT",
    ],
)
def test_parse_invalid(value: bytes) -> None:
    assert parse_http_date(value) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_property_parse_any_bytes(value: bytes) -> None:
    result = parse_http_date(value)
    assert result is None or 0 <= result + 62135596800  # year 1 or later: a plain int, never an error


# --- entity tags and preconditions -----------------------------------------------------------

ETAG = make_etag(420, 1_700_000_000_123_456_789)
LM = RFC_SECONDS
BEFORE = http_date(LM - 1)
AT = http_date(LM)
AFTER = http_date(LM + 1)


def test_make_etag() -> None:
    assert ETAG == b'"%x-1a4"' % 1_700_000_000_123_456_789
    assert make_etag(420, 1_700_000_000_123_456_789, b"br") == ETAG[:-1] + b'-br"'
    assert (
        len(
            {
                make_etag(1, 2),
                make_etag(2, 1),
                make_etag(1, 3),
                make_etag(1, 2, b"gz"),
                make_etag(1, 2, b"br"),
            }
        )
        == 5
    )
    assert make_etag(0, 0) == b'"0-0"'


def pre(
    method: str = "GET",
    im: bytes | None = None,
    ius: bytes | None = None,
    inm: bytes | None = None,
    ims: bytes | None = None,
) -> int | None:
    return preconditions(method, im, ius, inm, ims, ETAG, LM)


def test_no_preconditions() -> None:
    assert pre() is None
    assert pre("POST") is None


@pytest.mark.parametrize(
    ("if_match", "expected"),
    [
        (ETAG, None),
        (b"*", None),
        (b" * ", None),
        (b'"other", ' + ETAG, None),
        (b'"other",' + ETAG + b',"third"', None),
        (b",, " + ETAG + b" ,", None),
        (b"W/" + ETAG, 412),  # strong comparison
        (b'"other"', 412),
        (b"", 412),
        (b"junk", 412),
        (b'"' + ETAG, 412),
        (ETAG[:-1], 412),
        (b'W/"x", ' + ETAG, None),
        (b"junk, " + ETAG, None),
        (b'"a,b", ' + ETAG, None),  # a comma inside an opaque-tag
        (b'"' + ETAG[1:-1] + b'-x"', 412),  # our tag as a prefix is not ours
    ],
)
def test_if_match(if_match: bytes, expected: int | None) -> None:
    assert pre(im=if_match) == expected
    assert pre("PUT", im=if_match) == expected


@pytest.mark.parametrize(
    ("if_none_match", "get", "other"),
    [
        (ETAG, 304, 412),
        (b"W/" + ETAG, 304, 412),  # weak comparison
        (b"*", 304, 412),
        (b'"x", W/' + ETAG, 304, 412),
        (b'"x" ,\t' + ETAG, 304, 412),
        (b'"x"', None, None),
        (b'W/"x"', None, None),
        (b"", None, None),
        (b"junk", None, None),
        (b'"' + ETAG[1:-1] + b'x"', None, None),
        (b'"unterminated, ' + ETAG, None, None),  # the opening quote swallows the rest
    ],
)
def test_if_none_match(if_none_match: bytes, get: int | None, other: int | None) -> None:
    assert pre("GET", inm=if_none_match) == get
    assert pre("HEAD", inm=if_none_match) == get
    assert pre("POST", inm=if_none_match) == other


def test_if_modified_since() -> None:
    assert pre(ims=AT) == 304
    assert pre(ims=AFTER) == 304
    assert pre(ims=BEFORE) is None
    assert pre("HEAD", ims=AT) == 304
    assert pre("POST", ims=AT) is None  # ignored for other methods
    assert pre(ims=b"yesterday") is None  # invalid: ignored
    assert pre(ims=b"Sunday, 06-Nov-94 08:49:37 GMT") == 304
    assert pre(ims=b"Sun Nov  6 08:49:37 1994") == 304


def test_if_unmodified_since() -> None:
    assert pre(ius=AT) is None
    assert pre(ius=AFTER) is None
    assert pre(ius=BEFORE) == 412
    assert pre("PUT", ius=BEFORE) == 412
    assert pre(ius=b"not a date") is None


def test_precedence_13_2_2() -> None:
    # 1: If-Match decides; If-Unmodified-Since is then ignored
    assert pre(im=ETAG, ius=BEFORE) is None
    assert pre(im=b'"x"', ius=AFTER) == 412
    # 2 before 3: a failed If-Unmodified-Since wins over a matching If-None-Match
    assert pre(ius=BEFORE, inm=ETAG) == 412
    assert pre(im=b'"x"', inm=ETAG) == 412
    # 3: If-None-Match present -> If-Modified-Since ignored, either way
    assert pre(inm=b'"x"', ims=AFTER) is None
    assert pre(inm=ETAG, ims=BEFORE) == 304
    # passing 1 and 2 leads on to 3 and 4
    assert pre(im=ETAG, inm=ETAG) == 304
    assert pre(im=b"*", ims=AT) == 304
    assert pre(ius=AT, ims=AT) == 304
    assert pre(ius=AT, ims=BEFORE) is None


def test_if_range() -> None:
    assert if_range_allows(None, ETAG, LM)
    assert if_range_allows(ETAG, ETAG, LM)
    assert if_range_allows(b" " + ETAG + b" ", ETAG, LM)
    assert not if_range_allows(b"W/" + ETAG, ETAG, LM)  # weak never matches
    assert not if_range_allows(b'"other"', ETAG, LM)
    assert not if_range_allows(ETAG + b", " + ETAG, ETAG, LM)
    assert if_range_allows(AT, ETAG, LM)
    assert if_range_allows(b"Sunday, 06-Nov-94 08:49:37 GMT", ETAG, LM)
    assert not if_range_allows(AFTER, ETAG, LM)  # exactly equal, not later
    assert not if_range_allows(BEFORE, ETAG, LM)
    assert not if_range_allows(b"", ETAG, LM)
    assert not if_range_allows(b"junk", ETAG, LM)
    assert not if_range_allows(b"*", ETAG, LM)


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT"]),
    headers=st.lists(
        st.one_of(st.none(), st.binary(max_size=40), st.sampled_from([ETAG, b"*", AT, BEFORE])),
        min_size=4,
        max_size=4,
    ),
)
def test_property_preconditions_total(method: str, headers: list[bytes | None]) -> None:
    result = preconditions(method, headers[0], headers[1], headers[2], headers[3], ETAG, LM)
    assert result in (None, 304, 412)
    if result == 304:
        assert method in ("GET", "HEAD")
    if headers[0] is None and headers[1] is None:
        assert result != 412 or method not in ("GET", "HEAD")


# --- content_type ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("index.html", b"text/html; charset=utf-8"),
        ("INDEX.HTM", b"text/html; charset=utf-8"),
        ("app.js", b"text/javascript; charset=utf-8"),
        ("mod.mjs", b"text/javascript; charset=utf-8"),
        ("data.json", b"application/json; charset=utf-8"),
        ("logo.svg", b"image/svg+xml; charset=utf-8"),
        ("app.wasm", b"application/wasm"),
        ("a.webp", b"image/webp"),
        ("a.avif", b"image/avif"),
        ("f.woff2", b"font/woff2"),
        ("f.woff", b"font/woff"),
        ("site.webmanifest", b"application/manifest+json; charset=utf-8"),
        ("feed.xml", b"application/xml; charset=utf-8"),
        ("style.css", b"text/css; charset=utf-8"),
        ("photo.JPG", b"image/jpeg"),
        ("a.png", b"image/png"),
        ("doc.pdf", b"application/pdf"),
        ("x.tar.gz", b"application/gzip"),
        ("README", b"application/octet-stream"),
        (".htaccess", b"application/octet-stream"),
        ("dir/.hidden", b"application/octet-stream"),
        ("dir.d/file", b"application/octet-stream"),
        ("assets/app.js", b"text/javascript; charset=utf-8"),
        ("file.", b"application/octet-stream"),
        ("file.unknownext", b"application/octet-stream"),
        ("", b"application/octet-stream"),
    ],
)
def test_content_type_built_in(name: str, expected: bytes) -> None:
    assert content_type(name, {}) == expected


def test_content_type_extra_first() -> None:
    extra = {
        ".js": "application/javascript",
        ".foo": "application/x-foo",
        ".txt": "text/plain; charset=latin-1",
    }
    assert content_type("a.js", extra) == b"application/javascript; charset=utf-8"
    assert content_type("a.FOO", extra) == b"application/x-foo"
    assert content_type("a.txt", extra) == b"text/plain; charset=latin-1"  # parameters kept as given
    assert content_type("a.css", extra) == b"text/css; charset=utf-8"
    assert content_type("a.md", {".md": "text/markdown"}) == b"text/markdown; charset=utf-8"


def test_content_type_table_is_the_modules_own() -> None:
    # deterministic: every built-in value is a type/subtype, with charset where asked
    for ext, value in media_types._BUILT_IN.items():
        assert ext.startswith(".") and ext == ext.lower()
        media = value.split(b";")[0]
        assert media.count(b"/") == 1
        assert (b"charset=utf-8" in value) == (
            media.startswith(b"text/") or media.decode() in media_types._CHARSET_TYPES
        )


# --- accepted_encodings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        (b"", ()),
        (b"gzip", ("gzip",)),
        (b"br", ("br",)),
        (b"gzip, deflate, br, zstd", ("br", "gzip")),
        (b"gzip;q=1.0, br;q=0.1", ("br", "gzip")),  # our order, whatever the weights
        (b"GZIP, BR", ("br", "gzip")),
        (b" gzip ; q=0.5 ,\tbr ", ("br", "gzip")),
        (b"gzip;q=0", ()),
        (b"gzip;q=0.000, br", ("br",)),
        (b"gzip;Q=0", ()),
        (b"*", ("br", "gzip")),
        (b"*;q=0", ()),
        (b"*;q=0, gzip", ("gzip",)),
        (b"*, br;q=0", ("gzip",)),
        (b"*;q=0.5, gzip;q=0", ("br",)),
        (b"identity", ()),
        (b"deflate", ()),
        (b"x-gzip", ("gzip",)),
        (b"gzip, gzip;q=0", ()),  # a q=0 anywhere refuses it
        (b"gzip;q=2", ()),  # invalid weight: element skipped
        (b"gzip;q=abc, br", ("br",)),
        (b"gzip;q=0.5000", ()),
        (b"gzip;q=", ()),
        (b"br;level=5", ("br",)),
        (b",,, ,", ()),
        (b"brotli, gz", ()),
        (b"\xff\xfe", ()),
    ],
)
def test_accepted_encodings(value: bytes | None, expected: tuple[str, ...]) -> None:
    assert accepted_encodings(value) == expected
    assert accepted_encodings(value) == expected  # again, from the memo


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_property_accepted_encodings_any_bytes(value: bytes) -> None:
    result = accepted_encodings(value)
    assert result in ((), ("br",), ("gzip",), ("br", "gzip"))


def test_accepted_encodings_memo_is_bounded() -> None:
    for i in range(2000):
        accepted_encodings(b"gzip, x%d" % i)
    memo = files._encodings
    assert len(memo.entries) <= memo.max_entries and memo.size <= memo.max_bytes


# --- CacheRules ------------------------------------------------------------------------------


RULES = [
    ("assets/**/*.js", "public, max-age=31536000, immutable"),
    ("*.html", "no-cache"),
    ("*", "public, max-age=60"),
    ("img/?.png", "max-age=5"),
    ("fonts/*.woff[2]", "max-age=7"),
    ("docs/**", "max-age=9"),
    ("**/sw.js", "no-store"),
    ("[!a]*.txt", "max-age=11"),
]


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("assets/app.js", b"public, max-age=31536000, immutable"),
        ("assets/a/b/c/app.js", b"public, max-age=31536000, immutable"),
        ("assets/app.css", b"public, max-age=60"),
        ("other/assets/app.js", b"public, max-age=60"),
        ("index.html", b"no-cache"),
        ("deep/down/page.html", b"no-cache"),
        ("docs/page.html", b"no-cache"),  # an earlier rule wins
        ("docs/x/y.pdf", b"max-age=9"),
        ("img/a.png", b"max-age=5"),
        ("img/ab.png", b"public, max-age=60"),
        ("fonts/f.woff2", b"max-age=7"),
        ("fonts/f.woff", b"public, max-age=60"),
        ("sw.js", b"no-store"),
        ("x/y/sw.js", b"no-store"),
        ("b.txt", b"max-age=11"),
        ("a.txt", b"public, max-age=60"),
        ("INDEX.HTML", b"public, max-age=60"),  # case-sensitive
        ("/index.html", b"no-cache"),
    ],
)
def test_cache_rules(relative: str, expected: bytes) -> None:
    rules = CacheRules(RULES)
    assert rules.value_for(relative) == expected
    assert rules.value_for(relative) == expected  # from the memo


def test_cache_rules_default_and_none() -> None:
    assert CacheRules([]).value_for("a") is None
    assert CacheRules([("*.css", "x")]).value_for("a.js") is None
    # "*" is the default wherever it stands
    rules = CacheRules([("*", "default"), ("*.js", "js")])
    assert rules.value_for("a.js") == b"js"
    assert rules.value_for("a.css") == b"default"
    # the first default wins
    assert CacheRules([("*", "one"), ("*", "two")]).value_for("x") == b"one"


def test_cache_rules_special_characters_are_literal() -> None:
    rules = CacheRules([("a.b+(c)$.js", "lit")])
    assert rules.value_for("a.b+(c)$.js") == b"lit"
    assert rules.value_for("axb+(c)$.js") is None


@pytest.mark.parametrize("value", ["a\r\nSet-Cookie: x", "a\nb", "\x00", " padded"])
def test_cache_rules_refuse_bad_values(value: str) -> None:
    with pytest.raises(ValueError):
        CacheRules([("*", value)])


def test_cache_rules_memo_is_bounded() -> None:
    rules = CacheRules([("*.js", "js")])
    for i in range(6000):
        rules.value_for(f"dir/{i}.js")
    memo = rules._memo
    assert len(memo.entries) <= memo.max_entries
    assert rules.value_for("dir/1.js") == b"js" and rules.value_for("dir/1.css") is None


@settings(max_examples=500, deadline=None)
@given(
    raw=st.one_of(st.binary(max_size=120), st.text(max_size=60).map(str.encode)),
    skip=st.integers(0, 3),
    hidden=st.booleans(),
)
def test_property_fast_way_agrees_with_the_segment_by_segment_way(
    raw: bytes, skip: int, hidden: bool
) -> None:
    assert file_segments(raw, skip, hidden) == files._segments(raw, skip, hidden)


@pytest.mark.parametrize(
    "raw", [b"/a/b", b"a/b", b"/a//b/", b"//", b"/" + b"x" * 256, b"/a.b/c.d", b"/~user/x", b"/a?b", b"/a#b"]
)
def test_fast_way_examples_agree(raw: bytes) -> None:
    for skip in (0, 1, 2):
        for hidden in (False, True):
            assert file_segments(raw, skip, hidden) == files._segments(raw, skip, hidden)
