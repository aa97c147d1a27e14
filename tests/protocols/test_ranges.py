"""Byte ranges (protocols/ranges.py): the Range header of RFC 9110 14.1.2 with its examples,
hostile values, Content-Range values and multipart/byteranges framing, which a stdlib MIME
parser reads back."""

from __future__ import annotations

import email.parser
import email.policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asgihost.protocols.ranges import MAX_RANGES, Multipart, content_range, parse_range, unsatisfied_range

SIZE = 10000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # RFC 9110 14.1.2's examples, for a 10000-byte representation
        (b"bytes=0-499", [(0, 499)]),
        (b"bytes=500-999", [(500, 999)]),
        (b"bytes=-500", [(9500, 9999)]),
        (b"bytes=9500-", [(9500, 9999)]),
        (b"bytes=0-0,-1", [(0, 0), (9999, 9999)]),
        (b"bytes=500-600,601-999", [(500, 999)]),  # "other valid ... the second 500 bytes"
        (b"bytes=500-700,601-999", [(500, 999)]),
        # clamping and the satisfiable subset
        (b"bytes=9990-20000", [(9990, 9999)]),
        (b"bytes=0-", [(0, 9999)]),
        (b"bytes=-20000", [(0, 9999)]),
        (b"bytes=9999-9999", [(9999, 9999)]),
        (b"bytes=10000-,0-1", [(0, 1)]),
        (b"bytes=-0,5-9", [(5, 9)]),
        # OWS around commas, empty elements, case of the unit
        (b"bytes= 0-1 ,\t5-9", [(0, 1), (5, 9)]),
        (b"bytes=,,0-1,,", [(0, 1)]),
        (b"BYTES=0-1", [(0, 1)]),
        (b"Bytes=0-1", [(0, 1)]),
        # order kept, coalesced ranges take the first member's place
        (b"bytes=900-999,0-99", [(900, 999), (0, 99)]),
        (b"bytes=900-999,0-99,950-", [(900, 9999), (0, 99)]),
        (b"bytes=0-9,20-29,10-19", [(0, 29)]),
        (b"bytes=0-9,0-9,0-9", [(0, 9)]),
        (b"bytes=50-60,0-9,20-29,5-25", [(50, 60), (0, 29)]),
        (b"bytes=00000000000000000000000001-2", [(1, 2)]),
        (b"bytes=1-99999999999999999999999999999999999999", [(1, 9999)]),
        (b"bytes=-99999999999999999999999999999999999999", [(0, 9999)]),
    ],
)
def test_satisfiable(value: bytes, expected: list[tuple[int, int]]) -> None:
    assert parse_range(value, SIZE) == expected


@pytest.mark.parametrize(
    "value",
    [
        b"bytes=-0",
        b"bytes=10000-",
        b"bytes=10000-10001",
        b"bytes=99999999999999999999999999999999999-",
        b"bytes=-0,10000-",
        b"bytes=-0,-0",
    ],
)
def test_unsatisfiable_is_416(value: bytes) -> None:
    assert parse_range(value, SIZE) == 416


@pytest.mark.parametrize("value", [b"bytes=0-", b"bytes=-1", b"bytes=0-0", b"bytes=-5,0-"])
def test_empty_file_satisfies_nothing(value: bytes) -> None:
    assert parse_range(value, 0) == 416


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"bytes",
        b"bytes=",
        b"bytes=,",
        b"bytes= ",
        b"bytes =0-1",
        b"bytes= =0-1",
        b"byte=0-1",
        b"items=0-1",
        b"bytes:0-1",
        b"bytes=1",
        b"bytes=-",
        b"bytes=--1",
        b"bytes=1--2",
        b"bytes=5-1",  # last-pos before first-pos: invalid
        b"bytes=0-1,5-1",
        b"bytes=-1-2",
        b"bytes=a-b",
        b"bytes=0x10-0x20",
        b"bytes=+1-2",
        b"bytes=1-+2",
        b"bytes=-1.5",
        b"bytes=1 -2",
        b"bytes=1- 2",
        b"bytes=\xd9\xa1-\xd9\xa2",  # Arabic-Indic digits are not DIGIT
        b"bytes=\x00-1",
        b"bytes=0-1;x",
        b"bytes=0-1,junk",
        b"bytes=" + b"0-0," * MAX_RANGES + b"1-1",  # more than MAX_RANGES
        b"bytes=" + b",".join(b"%d-%d" % (i * 2, i * 2) for i in range(MAX_RANGES + 1)),
        b"\xff\xfe",
    ],
)
def test_ignored(value: bytes) -> None:
    assert parse_range(value, SIZE) is None


def test_max_ranges_counts_elements_not_commas() -> None:
    parts = b",".join(b"%d-%d" % (i * 10, i * 10) for i in range(MAX_RANGES))
    assert parse_range(b"bytes=" + parts + b",,,,", SIZE) == [(i * 10, i * 10) for i in range(MAX_RANGES)]


def test_small_file_suffix_and_open_ranges() -> None:
    assert parse_range(b"bytes=0-0,-1", 1) == [(0, 0)]
    assert parse_range(b"bytes=-1", 1) == [(0, 0)]
    assert parse_range(b"bytes=1-", 1) == 416


def test_content_range_values() -> None:
    assert content_range(0, 99, 1000) == b"bytes 0-99/1000"
    assert content_range(9999, 9999, 10000) == b"bytes 9999-9999/10000"
    assert unsatisfied_range(1000) == b"bytes */1000"
    assert unsatisfied_range(0) == b"bytes */0"


def test_multipart_framing_exact() -> None:
    m = Multipart([(0, 1), (5, 5)], 10, b"text/plain; charset=utf-8", boundary=b"BOUND")
    assert m.content_type == b"multipart/byteranges; boundary=BOUND"
    assert m.parts == [
        (b"--BOUND\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-1/10\r\n\r\n", 0, 1),
        (
            b"\r\n--BOUND\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 5-5/10\r\n\r\n",
            5,
            5,
        ),
    ]
    assert m.closing == b"\r\n--BOUND--\r\n"
    data = b"0123456789"
    body = b"".join(prefix + data[s : e + 1] for prefix, s, e in m.parts) + m.closing
    assert m.length == len(body)


def test_multipart_boundary_random_and_checked() -> None:
    a = Multipart([(0, 0), (2, 2)], 3, b"application/pdf")
    b = Multipart([(0, 0), (2, 2)], 3, b"application/pdf")
    assert a.boundary != b.boundary and len(a.boundary) == 32
    assert a.content_type == b"multipart/byteranges; boundary=" + a.boundary
    for bad in (b"", b"x" * 71, b"a\r\nb", b"a;b", b'a"b'):
        with pytest.raises(ValueError):
            Multipart([(0, 0)], 1, b"text/plain", boundary=bad)


def _body(m: Multipart, data: bytes) -> bytes:
    return b"".join(prefix + data[s : e + 1] for prefix, s, e in m.parts) + m.closing


def test_multipart_parses_back_with_the_stdlib() -> None:
    data = bytes(range(256)) * 4
    ranges = parse_range(b"bytes=0-9,100-199,-5", len(data))
    assert isinstance(ranges, list)
    m = Multipart(ranges, len(data), b"application/octet-stream")
    raw = b"Content-Type: " + m.content_type + b"\r\n\r\n" + _body(m, data)
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    parts = list(message.iter_parts())  # type: ignore[attr-defined]
    assert [p["Content-Range"] for p in parts] == [
        "bytes 0-9/1024",
        "bytes 100-199/1024",
        "bytes 1019-1023/1024",
    ]
    assert [p.get_payload(decode=True) for p in parts] == [data[0:10], data[100:200], data[1019:]]


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(min_value=0, max_value=5000),
    specs=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 6000)), st.one_of(st.none(), st.integers(0, 6000))),
        min_size=1,
        max_size=MAX_RANGES,
    ),
)
def test_property_ranges_inside_and_multipart_length(
    size: int, specs: list[tuple[int | None, int | None]]
) -> None:
    elements = []
    for first, last in specs:
        if first is None:
            elements.append(b"-%d" % (last or 0))
        elif last is None:
            elements.append(b"%d-" % first)
        else:
            elements.append(b"%d-%d" % (min(first, last), max(first, last)))
    result = parse_range(b"bytes=" + b", ".join(elements), size)
    assert result is not None  # every element is valid here
    if result == 416:
        return
    assert isinstance(result, list) and result
    total = 0
    for start, end in result:
        assert 0 <= start <= end < size
        total += end - start + 1
    assert total <= size  # coalesced: never more than the file
    ordered = sorted(result)
    for (_, e1), (s2, _) in zip(ordered, ordered[1:], strict=False):
        assert s2 > e1 + 1  # apart: neither overlapping nor touching
    data = bytes(i % 251 for i in range(size))
    m = Multipart(result, size, b"text/plain")
    assert m.length == len(_body(m, data))


@settings(max_examples=300, deadline=None)
@given(value=st.binary(max_size=80), size=st.integers(min_value=0, max_value=1 << 40))
def test_property_any_bytes(value: bytes, size: int) -> None:
    result = parse_range(value, size)
    assert result is None or result == 416 or isinstance(result, list)
    if isinstance(result, list):
        assert 0 < len(result) <= MAX_RANGES
        assert all(0 <= s <= e < size for s, e in result)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789-, \t", max_size=60))
def test_property_range_like_text(text: str) -> None:
    result = parse_range(b"bytes=" + text.encode(), 1000)
    if isinstance(result, list):
        assert all(0 <= s <= e < 1000 for s, e in result)
