"""Choosing the app for a request: by Host, then by path prefix. Compiled once, immutable.

Among the apps reachable on a listener, the candidates for a request are those whose ``hosts``
match its Host header (or that have no ``hosts``) and whose ``mount`` is a prefix of its path
on a segment boundary (``/api`` matches ``/api`` and ``/api/x``, not ``/apix``). They rank by
host, an exact name before a ``*.suffix`` wildcard (longer suffixes first) before no ``hosts``,
then by the longest mount. The first candidate in that order serves the request.

Matching allocates nothing when the Host header is one of the names the table was compiled
with (as sent, lowercase, with or without the listener's port): the whole ranked route list
for that name is one dict lookup. Other Host values are normalised once (lowercase, port cut).
Within a rank, mounts are found by dict lookups of the path cut at each mount length the rank
has (longest first), so ten apps cost about what one does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
U = TypeVar("U")

Routes = tuple[tuple[str, T], ...]  # (mount, target), longest mount first


class Mounts(Generic[T]):
    """The routes of one rank: a target by mount, tried longest mount first."""

    __slots__ = ("by_mount", "lengths", "root")

    def __init__(self, routes: Routes[T]) -> None:
        self.by_mount: dict[str, T] = {}
        self.root: T | None = None  # the target mounted at "/"
        for mount, target in routes:  # the first of equal mounts wins, as in a scan
            if mount == "/":
                if self.root is None:
                    self.root = target
            else:
                self.by_mount.setdefault(mount, target)
        self.lengths = tuple(sorted({len(mount) for mount in self.by_mount}, reverse=True))

    def first(self, path: str) -> T | None:
        """The target whose mount is a prefix of ``path`` on a segment boundary, longest first."""
        size = len(path)
        for length in self.lengths:
            if length == size:
                target = self.by_mount.get(path)
            elif length < size and path[length] == "/":
                target = self.by_mount.get(path[:length])
            else:
                continue
            if target is not None:
                return target
        return self.root

    def routes(self) -> Routes[T]:
        ordered = sorted(self.by_mount.items(), key=lambda item: len(item[0]), reverse=True)
        return (*ordered, *((("/", self.root),) if self.root is not None else ()))


Ranked = tuple[Mounts[T], ...]  # ranks in order; the first rank with a match serves


@dataclass(frozen=True)
class Route(Generic[T]):
    """One app as the router sees it."""

    target: T
    mount: str = "/"
    hosts: tuple[str, ...] = ()  # lowercase names and "*.suffix" wildcards, no ports


def _by_mount(routes: Iterable[Route[T]]) -> Routes[T]:
    ordered = sorted(routes, key=lambda route: len(route.mount), reverse=True)
    return tuple((route.mount, route.target) for route in ordered)


def normalise_host(host: bytes) -> bytes:
    """Lowercase a Host header value and cut its port (``[v6]:port`` too)."""
    if host.startswith(b"["):
        end = host.find(b"]")
        host = host[: end + 1] if end != -1 else host
    else:
        colon = host.rfind(b":")
        if colon != -1:
            host = host[:colon]
    return host.lower().rstrip(b".")


class RouteTable(Generic[T]):
    __slots__ = ("_exact", "_wildcards", "_default", "only", "needs_host")

    def __init__(self, routes: Sequence[Route[T]], ports: Iterable[int] = ()) -> None:
        exact_names = {h for r in routes for h in r.hosts if not h.startswith("*.")}
        wildcard_suffixes = {h[1:] for r in routes for h in r.hosts if h.startswith("*.")}
        suffixes = sorted(wildcard_suffixes, key=len, reverse=True)
        default = _by_mount(r for r in routes if not r.hosts)

        def wildcard_routes(suffix: str) -> Routes[T]:
            return _by_mount(r for r in routes if f"*{suffix}" in r.hosts)

        self._wildcards: tuple[tuple[bytes, Mounts[T]], ...] = tuple(
            (suffix.encode("ascii"), Mounts(wildcard_routes(suffix))) for suffix in suffixes
        )
        self._default = Mounts(default)
        # For a known exact name, the whole ranked list: exact, matching wildcards, default.
        self._exact: dict[bytes, Ranked[T]] = {}
        keys_ports = [b""] + [b":%d" % port for port in sorted(set(ports)) if port]
        for name in exact_names:
            ranked: Ranked[T] = (Mounts(_by_mount(r for r in routes if name in r.hosts)),)
            for suffix, wild in self._wildcards:
                if name.encode("ascii").endswith(suffix):
                    ranked += (wild,)
            ranked += (self._default,)
            for port in keys_ports:
                self._exact[name.encode("ascii") + port] = ranked
        self.needs_host = bool(exact_names or suffixes)
        only = default[0][1] if len(default) == 1 and default[0][0] == "/" else None
        self.only: T | None = only if not self.needs_host else None

    def match(self, host: bytes | None, path: str) -> T | None:
        """The target for a request; ``host`` is the raw Host header value or None."""
        only = self.only
        if only is not None:
            return only
        if host is not None and self.needs_host:
            ranked = self._exact.get(host)
            if ranked is None:
                host = normalise_host(host)
                ranked = self._exact.get(host)
            if ranked is not None:
                for mounts in ranked:
                    found = mounts.first(path)
                    if found is not None:
                        return found
                return None
            for suffix, wild in self._wildcards:
                if host.endswith(suffix):
                    found = wild.first(path)
                    if found is not None:
                        return found
        return self._default.first(path)

    def for_request(self, path: str, headers: list[tuple[bytes, bytes]]) -> T | None:
        """``match`` with the Host header read from a request's headers, only when it matters."""
        host = None
        if self.needs_host:
            for name, value in headers:
                if name == b"host":
                    host = value
                    break
        return self.match(host, path)

    def map(self, convert: Callable[[T], U]) -> RouteTable[U]:
        """The same table with every target converted (the plan's specs to running apps)."""
        table: RouteTable[U] = RouteTable.__new__(RouteTable)
        targets: dict[int, U] = {}
        converted: dict[int, Mounts[U]] = {}  # a rank shared by several names stays shared

        def conv_target(target: T) -> U:
            if id(target) not in targets:
                targets[id(target)] = convert(target)
            return targets[id(target)]

        def conv(mounts: Mounts[T]) -> Mounts[U]:
            if id(mounts) not in converted:
                converted[id(mounts)] = Mounts(tuple((m, conv_target(t)) for m, t in mounts.routes()))
            return converted[id(mounts)]

        table._exact = {name: tuple(conv(m) for m in ranked) for name, ranked in self._exact.items()}
        table._wildcards = tuple((suffix, conv(mounts)) for suffix, mounts in self._wildcards)
        table._default = conv(self._default)
        table.needs_host = self.needs_host
        table.only = None if self.only is None else conv_target(self.only)
        return table

    def targets(self) -> list[T]:
        """Every target reachable through this table, once each."""
        seen: dict[int, T] = {}
        ranks = [*(m for ranked in self._exact.values() for m in ranked), *(w for _, w in self._wildcards)]
        for mounts in (*ranks, self._default):
            for _, target in mounts.routes():
                seen.setdefault(id(target), target)
        return list(seen.values())
