"""Field checks shared by the HTTP/1.1 and HTTP/2 cores (RFC 9110 section 5).

Response headers come from applications, so they are checked before a byte is written: a name
must be a token, a value may hold visible characters, spaces, tabs and obs-text but no other
control character (CR, LF and NUL above all: they would split the response). The checks are
``bytes.translate`` deletions (one C loop each, no regex), and names and short values already
seen to be good are remembered, so the common case is one set lookup.
"""

from __future__ import annotations

_TOKEN_CHARS = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_VALUE_CHARS = b"\t" + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))

_good_names: set[bytes] = set()
_GOOD_NAMES_MAX = 1024
_good_values: set[bytes] = set()  # short values only: long ones (cookies, policies) rarely repeat
_GOOD_VALUES_MAX = 1024
_GOOD_VALUE_SIZE = 128


def is_valid_name(name: bytes) -> bool:
    """A field name is a non-empty token."""
    if name in _good_names:
        return True
    if type(name) is not bytes or not name or name.translate(None, _TOKEN_CHARS):
        return False
    if len(_good_names) < _GOOD_NAMES_MAX:
        _good_names.add(name)
    return True


def is_valid_value(value: bytes) -> bool:
    """A field value holds no control character other than horizontal tab."""
    if type(value) is not bytes:
        return False
    if value in _good_values:
        return True
    if value.translate(None, _VALUE_CHARS):  # (translate builds a 256-entry table per call)
        return False
    if len(value) <= _GOOD_VALUE_SIZE and len(_good_values) < _GOOD_VALUES_MAX:
        _good_values.add(value)
    return True


def has_token(value: bytes, token: bytes) -> bool:
    """Whether a comma-separated list field (Connection, Expect) holds ``token``, ignoring case."""
    value = value.lower()
    if value == token:
        return True
    return any(part.strip() == token for part in value.split(b","))
