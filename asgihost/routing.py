"""Choosing the app for a request: by Host, then by path prefix. Compiled once, immutable.

Among the apps reachable on a listener, the candidates for a request are those whose ``hosts``
match its Host header (or that have no ``hosts``) and whose ``mount`` is a prefix of its path
on a segment boundary (``/api`` matches ``/api`` and ``/api/x``, not ``/apix``). They rank by
host, an exact name before a ``*.suffix`` wildcard (longer suffixes first) before no ``hosts``,
then by the longest mount. The first candidate in that order serves the request.

Matching allocates nothing when the Host header is one of the names the table was compiled
with (as sent, lowercase, with or without the listener's port): the whole ranked route list
for that name is one dict lookup. Other Host values are normalised once (lowercase, port cut).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
U = TypeVar("U")

Routes = tuple[tuple[str, T], ...]  # (mount, target), longest mount first


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

        self._wildcards: tuple[tuple[bytes, Routes[T]], ...] = tuple(
            (suffix.encode("ascii"), wildcard_routes(suffix)) for suffix in suffixes
        )
        self._default: Routes[T] = default
        # For a known exact name, the whole ranked list: exact, matching wildcards, default.
        self._exact: dict[bytes, Routes[T]] = {}
        keys_ports = [b""] + [b":%d" % port for port in sorted(set(ports)) if port]
        for name in exact_names:
            ranked = _by_mount(r for r in routes if name in r.hosts)
            for suffix, wild in self._wildcards:
                if name.encode("ascii").endswith(suffix):
                    ranked += wild
            ranked += default
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
            routes = self._exact.get(host)
            if routes is not None:
                return _first(routes, path)
            host = normalise_host(host)
            routes = self._exact.get(host)
            if routes is not None:
                return _first(routes, path)
            for suffix, wild in self._wildcards:
                if host.endswith(suffix):
                    found = _first(wild, path)
                    if found is not None:
                        return found
        return _first(self._default, path)

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
        cache: dict[int, U] = {}

        def conv(routes: Routes[T]) -> Routes[U]:
            out = []
            for mount, target in routes:
                if id(target) not in cache:
                    cache[id(target)] = convert(target)
                out.append((mount, cache[id(target)]))
            return tuple(out)

        table._exact = {name: conv(routes) for name, routes in self._exact.items()}
        table._wildcards = tuple((suffix, conv(routes)) for suffix, routes in self._wildcards)
        table._default = conv(self._default)
        table.needs_host = self.needs_host
        table.only = None if self.only is None else conv((("/", self.only),))[0][1]
        return table

    def targets(self) -> list[T]:
        """Every target reachable through this table, once each."""
        seen: dict[int, T] = {}
        for routes in (*self._exact.values(), *(w for _, w in self._wildcards), self._default):
            for _, target in routes:
                seen.setdefault(id(target), target)
        return list(seen.values())


def _first(routes: Routes[T], path: str) -> T | None:
    for mount, target in routes:
        if mount == "/":
            return target
        if path.startswith(mount):
            size = len(mount)
            if len(path) == size or path[size] == "/":
                return target
    return None
