"""A bounded memo for checks that repeat: bounded by entries and by bytes, oldest out first.

The protocol cores remember what they have already found valid (response header lines, field
names and short values, Host values) so that the common case costs one dict lookup. Some of
those keys come from clients, so a memo must not grow with them: ``BoundedCache`` holds at most
``max_entries`` keys and ``max_bytes`` bytes (the sizes its callers give), and makes room by
forgetting the oldest entries (insertion order, as dicts keep it).

Invariants:
- Reads are reads of ``entries``, a plain ``dict`` (``get``, ``in``), which callers bind once:
  the class adds nothing per lookup. (A ``dict`` subclass would: on CPython 3.11 its ``get``
  and ``in`` cost about 170 more instructions each, by cachegrind.)
- Only ``remember`` adds entries; after it returns, ``len(entries) <= max_entries`` and
  ``size <= max_bytes``, ``size`` being the sum of the sizes of the entries kept.
- An entry larger than ``max_bytes`` is never kept; forgetting an entry never changes an
  answer, only its cost (callers keep only what they would compute again the same).

Callers check their inputs' types before a lookup (a ``bytearray`` is unhashable; a ``str``
must not be answered from a ``bytes`` entry) and keep no credential: see ``SENSITIVE_FIELDS``.
"""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

# Fields whose values are secrets or per-user state: never kept in a memo that outlives a request.
SENSITIVE_FIELDS = frozenset((b"set-cookie", b"cookie", b"authorization", b"proxy-authorization"))


class BoundedCache(Generic[K, V]):
    """``entries``, a dict, with a ``remember`` that keeps it within ``max_entries`` and
    ``max_bytes``."""

    __slots__ = ("entries", "max_entries", "max_bytes", "size", "_sizes")

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.entries: dict[K, V] = {}
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.size = 0
        self._sizes: dict[K, int] = {}  # in the same order as the entries

    def remember(self, key: K, value: V, size: int) -> None:
        """Keep ``key -> value``, accounted as ``size`` bytes, forgetting the oldest entries
        while either bound is crossed. A key already kept is left as it is."""
        entries = self.entries
        if size > self.max_bytes or key in entries:
            return
        sizes = self._sizes
        entries[key] = value
        sizes[key] = size
        self.size += size
        while len(sizes) > self.max_entries or self.size > self.max_bytes:
            oldest = next(iter(sizes))
            self.size -= sizes.pop(oldest)
            del entries[oldest]

    def clear(self) -> None:
        self.entries.clear()
        self._sizes.clear()
        self.size = 0
