"""Field checks shared by the HTTP/1.1 and HTTP/2 cores (RFC 9110 section 5).

Response headers come from applications, so they are checked before a byte is written: a name
must be a token, a value may hold visible characters, spaces, tabs and obs-text but no other
control character (CR, LF and NUL above all: they would split the response). A check is one
``bytes.translate`` through a 256-byte table, mapping every byte not allowed to NUL, and a
search for NUL (two C loops, no regex). Names, and short values whose caller names a field
that is not a credential, already seen to be good are remembered in bounded caches, so the
common case is a type check and one dict lookup.
"""

from __future__ import annotations

from .cache import SENSITIVE_FIELDS, BoundedCache

_TOKEN_CHARS = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_VALUE_CHARS = b"\t" + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))
# Each allowed byte maps to itself (never NUL: NUL is allowed in neither), each other one to NUL.
_TOKEN_MAP = bytes(i if i in _TOKEN_CHARS else 0 for i in range(256))
_VALUE_MAP = bytes(i if i in _VALUE_CHARS else 0 for i in range(256))

_names: BoundedCache[bytes, bool] = BoundedCache(1024, 64 * 1024)
_values: BoundedCache[bytes, bool] = BoundedCache(1024, 64 * 1024)
_good_names = _names.entries
_good_values = _values.entries
_GOOD_VALUE_SIZE = 128  # longer values (policies, long lists) rarely repeat


def is_token(value: bytes) -> bool:
    """A non-empty token (RFC 9110 section 5.6.2), checked afresh: nothing is remembered."""
    return bool(value) and b"\x00" not in value.translate(_TOKEN_MAP)


def is_valid_name(name: bytes) -> bool:
    """A field name is a non-empty token."""
    if type(name) is not bytes:
        return False
    if name in _good_names:
        return True
    if not is_token(name):
        return False
    _names.remember(name, True, len(name))
    return True


def is_valid_value(value: bytes, field: bytes | None = None) -> bool:
    """A field value holds no control character other than horizontal tab.

    A short good value is remembered only when ``field`` (the lowercased name) is given and is
    not one of ``SENSITIVE_FIELDS``: a cookie or a credential never outlives its request here.
    """
    if type(value) is not bytes:
        return False
    if value in _good_values:
        return True
    if b"\x00" in value.translate(_VALUE_MAP):
        return False
    if field is not None and len(value) <= _GOOD_VALUE_SIZE and field not in SENSITIVE_FIELDS:
        _values.remember(value, True, len(value))
    return True


def has_token(value: bytes, token: bytes) -> bool:
    """Whether a comma-separated list field (Connection, Expect) holds ``token``, ignoring case."""
    value = value.lower()
    if value == token:
        return True
    return any(part.strip() == token for part in value.split(b","))
