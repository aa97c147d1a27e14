"""Field name and value checks (RFC 9110 section 5), asked once and again: what is remembered
as good must answer as the check would."""

from __future__ import annotations

import pytest

from asgihost.protocols import headers
from asgihost.protocols.headers import is_valid_name, is_valid_value

GOOD_VALUES = [b"", b"text/plain", b"a\tb c", b"\x80\xff obs-text", b"x" * 129]
BAD_VALUES = [b"a\r\nInjected: 1", b"nul\x00", b"\x7f", b"bell\x07", b"lf\n"]


@pytest.mark.parametrize("value", GOOD_VALUES)
def test_good_values_pass_every_time(value):
    assert is_valid_value(value, b"x-a") and is_valid_value(value, b"x-a")
    assert (value in headers._good_values) == (len(value) <= headers._GOOD_VALUE_SIZE)


@pytest.mark.parametrize("value", BAD_VALUES)
def test_bad_values_fail_every_time_and_are_never_remembered(value):
    assert not is_valid_value(value, b"x-a") and not is_valid_value(value, b"x-a")
    assert value not in headers._good_values


@pytest.mark.parametrize("field", [None, b"set-cookie", b"cookie", b"authorization", b"proxy-authorization"])
def test_values_of_credentials_or_of_no_named_field_are_never_remembered(field):
    value = b"session=%d" % id(field)
    assert is_valid_value(value, field)
    assert value not in headers._good_values


@pytest.mark.parametrize(
    "value", ["text/plain", bytearray(b"text/plain"), memoryview(b"text/plain"), None, 1]
)
def test_values_that_are_not_bytes_fail_even_when_their_bytes_were_seen(value):
    assert is_valid_value(b"text/plain")
    assert not is_valid_value(value)


def test_names_are_nonempty_tokens():
    assert is_valid_name(b"x-ok") and is_valid_name(b"x-ok")
    for name in (b"", b"bad name", b"x:y", b"x\r\n", "str-name", bytearray(b"x-ok"), memoryview(b"x-ok")):
        assert not is_valid_name(name)
