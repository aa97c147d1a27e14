"""The bounded cache (protocols/cache.py) and the checks that use it: its bounds hold whatever
is remembered, and every check answers the same from a cold cache, a warm one, and one under
eviction pressure, for good and bad names, values, lines, lengths and hosts, and for inputs
that are not bytes."""

from __future__ import annotations

import pytest
from conftest import HEAD_LIMITS
from hypothesis import given, settings
from hypothesis import strategies as st

from asgihost.protocols import headers as fields
from asgihost.protocols import hpack_codec, http1_head, http1_response
from asgihost.protocols.cache import SENSITIVE_FIELDS, BoundedCache
from asgihost.protocols.errors import LocalProtocolError
from asgihost.protocols.events import Malformed, Request
from asgihost.protocols.http1 import H1Connection
from asgihost.protocols.http1_response import DefaultHeaders

CACHES = [
    fields._names,
    fields._values,
    http1_response._lines,
    http1_response._lengths,
    http1_head.hosts,
    hpack_codec._encodings,
]


def clear_all() -> None:
    for cache in CACHES:
        cache.clear()


def check_invariants(cache: BoundedCache[object, object]) -> None:
    assert len(cache.entries) <= cache.max_entries
    assert cache.size <= cache.max_bytes
    assert cache.size == sum(cache._sizes.values())
    assert list(cache._sizes) == list(cache.entries)


# ---- the cache itself ----------------------------------------------------------------------


def test_the_oldest_entry_goes_first_when_there_are_too_many():
    cache: BoundedCache[int, str] = BoundedCache(3, 1000)
    for key in range(5):
        cache.remember(key, str(key), 1)
    assert list(cache.entries) == [2, 3, 4] and cache.size == 3


def test_the_oldest_entries_go_first_when_there_are_too_many_bytes():
    cache: BoundedCache[str, int] = BoundedCache(100, 10)
    cache.remember("a", 1, 4)
    cache.remember("b", 2, 4)
    cache.remember("c", 3, 4)  # 12 bytes: "a" goes
    assert list(cache.entries) == ["b", "c"] and cache.size == 8
    cache.remember("d", 4, 9)  # only "d" fits
    assert list(cache.entries) == ["d"] and cache.size == 9
    check_invariants(cache)


def test_an_entry_larger_than_the_whole_cache_is_never_kept():
    cache: BoundedCache[str, int] = BoundedCache(10, 10)
    cache.remember("a", 1, 3)
    cache.remember("huge", 2, 11)
    assert list(cache.entries) == ["a"] and cache.size == 3


def test_a_key_remembered_again_keeps_its_first_value_and_size():
    cache: BoundedCache[str, int] = BoundedCache(10, 10)
    cache.remember("a", 1, 3)
    cache.remember("a", 2, 5)
    assert cache.entries == {"a": 1} and cache.size == 3


def test_clear_forgets_entries_and_bytes():
    cache: BoundedCache[str, int] = BoundedCache(10, 10)
    cache.remember("a", 1, 3)
    cache.clear()
    assert cache.entries == {} and cache.size == 0
    cache.remember("b", 1, 10)
    assert cache.size == 10


@given(
    st.integers(1, 8),
    st.integers(0, 40),
    st.lists(st.tuples(st.integers(0, 20), st.integers(0, 50)), max_size=60),
)
def test_the_bounds_hold_after_every_remember(max_entries, max_bytes, ops):
    cache: BoundedCache[int, int] = BoundedCache(max_entries, max_bytes)
    for key, size in ops:
        cache.remember(key, key, size)
        check_invariants(cache)
        if size <= max_bytes and key in cache.entries:
            assert cache.entries[key] == key


# ---- the checks: cold, warm, and under pressure ---------------------------------------------

ALPHABET = b"aZ-_.!~:; /\t\r\n\x00\x7f\x80\xff=,0"
raw = st.binary(max_size=12) | st.lists(st.sampled_from(list(ALPHABET)), max_size=12).map(bytes)
inputs = raw | raw.map(bytearray) | raw.map(memoryview) | st.text(max_size=8) | st.none()
names = st.sampled_from([b"x-a", b"content-type", b"set-cookie", b"Authorization", b"cookie"]) | inputs


def pressure() -> None:
    """Fill every cache with other good entries, enough to evict all it held."""
    for i in range(1100):
        key = b"p%d" % i
        fields.is_valid_name(key)
        fields.is_valid_value(key, b"x-p")
        http1_response._lines.remember((key, key), key, 1)
        http1_response._lengths.remember((key, key), (key, 1), 1)
        http1_head.hosts.remember(key, True, 1)
        hpack_codec._encodings.remember((key, key), key, 1)


def three_ways(compute):
    """The answer with cold caches, warm ones (computed again) and after pressure."""
    clear_all()
    cold = compute()
    warm = compute()
    pressure()
    evicted = compute()
    for cache in CACHES:
        check_invariants(cache)
    return cold, warm, evicted


@settings(max_examples=150, deadline=None)
@given(names, inputs)
def test_field_checks_agree_cold_warm_and_evicted(name, value):
    field = name.lower() if isinstance(name, bytes) else None

    def compute():
        return (fields.is_valid_name(name), fields.is_valid_value(value), fields.is_valid_value(value, field))

    cold, warm, evicted = three_ways(compute)
    assert cold == warm == evicted
    if type(value) is not bytes:
        assert not cold[1]


def head_of(pairs) -> bytes | str:
    """The response head (or the error) for ``pairs``, on a HEAD request: held back, then
    handed out whole."""
    conn = H1Connection(HEAD_LIMITS)
    request = Request(1, "HEAD", b"/", [(b"host", b"x")], "1.1", True, False, None, -1, False, b"x")
    try:
        conn.start_response(request, 200, pairs, DefaultHeaders(b"", b"server: t\r\n"))
    except LocalProtocolError as exc:  # (a TypeError, as a lookup of a bytearray raised, fails)
        return f"{type(exc).__name__}: {exc}"
    out = conn.send_body(b"", False)
    assert isinstance(out, bytes)
    return out


lengths = st.sampled_from([b"0", b"13", b"013", b"-1", b"1 ", b"x", b"99999999999999999999"])
pair = st.tuples(names, inputs) | st.tuples(st.just(b"content-length"), lengths | inputs)
pairs = st.lists(pair | pair.map(list), max_size=4)


def as_bytes(item: object) -> object:
    return bytes(item) if isinstance(item, (bytearray, memoryview)) else item


@settings(max_examples=200, deadline=None)
@given(pairs)
def test_response_heads_agree_cold_warm_and_evicted(pairs):
    cold, warm, evicted = three_ways(lambda: head_of(pairs))
    assert cold == warm == evicted
    # warm with the same pairs made of bytes, one by one: an equal pair of another type
    # (bytearray, memoryview) must not be answered from them
    for name, value in pairs:
        head_of([(as_bytes(name), as_bytes(value))])
    assert head_of(pairs) == cold


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from([b"set-cookie", b"Set-Cookie", b"cookie", b"authorization", b"proxy-authorization"]), raw
)
def test_credentials_are_never_remembered(name, value):
    clear_all()
    head_of([(name, value)])
    lname = name.lower()
    assert lname in SENSITIVE_FIELDS
    assert (name, value) not in http1_response._good_lines
    assert not any(key[0].lower() == lname for key in http1_response._good_lines)
    assert value not in fields._good_values


hosts = st.lists(st.sampled_from(list(b'aZ0-.:[]_~%@ /"<>{}\xff')), max_size=10).map(bytes)


@settings(max_examples=150, deadline=None)
@given(hosts)
def test_host_checks_agree_cold_warm_and_evicted(host):
    def compute():
        events = H1Connection(HEAD_LIMITS).receive_data(b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
        kind = type(events[0])
        return (kind.__name__, events[0].error.status_hint if kind is Malformed else events[0].host)

    cold, warm, evicted = three_ways(compute)
    assert cold == warm == evicted


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(names, raw), max_size=4))
def test_hpack_encodings_agree_cold_warm_and_evicted(pairs):
    fields_ = [(n, v) for n, v in pairs if isinstance(n, bytes)]
    cold, warm, evicted = three_ways(lambda: hpack_codec.ResponseEncoder().encode(fields_))
    assert cold == warm == evicted
    assert not any(key[0] in SENSITIVE_FIELDS for key in hpack_codec._encoded)


@pytest.mark.parametrize(
    "kind", [bytearray, memoryview, lambda b: b.decode()], ids=["bytearray", "memoryview", "str"]
)
@pytest.mark.parametrize("which", [0, 1], ids=["name", "value"])
@pytest.mark.parametrize("name", [b"x-a", b"content-length"])
def test_a_pair_of_equal_bytes_in_another_type_is_refused_even_when_remembered(kind, which, name):
    good = (name, b"13")
    clear_all()
    assert isinstance(head_of([good]), bytes)  # remembered
    other = list(good)
    other[which] = kind(other[which])
    assert head_of([tuple(other)]).startswith("LocalProtocolError")
