"""Choosing the app for a request: by Host, then by path prefix. Compiled once, immutable.

Among the apps reachable on a listener, the candidates for a request are those whose ``hosts``
match its Host header (or that have no ``hosts``) and whose ``mount`` is a prefix of its path
on a segment boundary (``/api`` matches ``/api`` and ``/api/x``, not ``/apix``). They rank by
host, an exact name before a ``*.suffix`` wildcard (longer suffixes first) before no ``hosts``,
then by the longest mount. The first candidate in that order serves the request.

Matching allocates nothing but one path slice per step when the Host header is one of the names
the table was compiled with (as sent, lowercase, with or without the listener's port): every rank
for that name is compiled into one chain of steps, found by one dict lookup. Other Host values
are normalised once (lowercase, port cut). Each step is one dict lookup of the path cut just past
a mount length (longest first within a rank), so ten apps cost about what one does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
U = TypeVar("U")

Routes = tuple[tuple[str, T], ...]  # (mount, target), longest mount first


class Step(Generic[T]):
    """One step of a chain: a rank's targets for the mounts of one length, keyed by each mount
    alone and followed by "/". The path cut at ``end`` (that length plus one) is one of those
    keys exactly when the mount is a prefix of the path on a segment boundary."""

    __slots__ = ("end", "keys", "next")

    def __init__(self, end: int, keys: dict[str, T], next_step: Step[T] | None) -> None:
        self.end = end
        self.keys = keys
        self.next = next_step  # a linked list, walked with a while loop: cheaper than a for loop


class Mounts(Generic[T]):
    """Ranks of routes compiled into one chain of steps, longest mount first within a rank, rank
    after rank; the first hit serves. A rank with an app at "/" ends the chain: that app is the
    fallback, and later ranks are never reached."""

    __slots__ = ("head", "fallback", "ranks")

    def __init__(self, ranks: Sequence[Routes[T]]) -> None:
        self.ranks = tuple(ranks)  # as given: what map() and targets() read
        steps: list[tuple[int, dict[str, T]]] = []
        self.fallback: T | None = None
        for routes in self.ranks:
            by_length: dict[int, dict[str, T]] = {}
            root: T | None = None
            for mount, target in routes:  # the first of equal mounts wins, as in a scan
                if mount == "/":
                    if root is None:
                        root = target
                else:
                    keys = by_length.setdefault(len(mount), {})
                    keys.setdefault(mount, target)
                    keys.setdefault(mount + "/", target)
            steps.extend((length + 1, by_length[length]) for length in sorted(by_length, reverse=True))
            if root is not None:
                self.fallback = root
                break
        self.head: Step[T] | None = None
        for end, keys in reversed(steps):
            self.head = Step(end, keys, self.head)


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

        wildcards = [(suffix.encode("ascii"), wildcard_routes(suffix)) for suffix in suffixes]
        # For a name that ends with a wildcard suffix (the longest that matches): the ranks of
        # that suffix and of every shorter one it ends with, then the default.
        self._wildcards: tuple[tuple[bytes, Mounts[T]], ...] = tuple(
            (suffix, Mounts((*(ranked for other, ranked in wildcards if suffix.endswith(other)), default)))
            for suffix, _ in wildcards
        )
        self._default = Mounts((default,))
        # For a known exact name, every rank in one: exact, matching wildcards, default.
        self._exact: dict[bytes, Mounts[T]] = {}
        keys_ports = [b""] + [b":%d" % port for port in sorted(set(ports)) if port]
        for name in exact_names:
            key = name.encode("ascii")
            ranks = [_by_mount(r for r in routes if name in r.hosts)]
            ranks += [ranked for suffix, ranked in wildcards if key.endswith(suffix)]
            chain = Mounts((*ranks, default))
            for port in keys_ports:
                self._exact[key + port] = chain
        self.needs_host = bool(exact_names or suffixes)
        only = default[0][1] if len(default) == 1 and default[0][0] == "/" else None
        self.only: T | None = only if not self.needs_host else None

    def match(self, host: bytes | None, path: str) -> T | None:
        """The target for a request; ``host`` is the raw Host header value or None."""
        chain = self._default
        if host is not None and self.needs_host:
            found = self._exact.get(host)
            chain = found if found is not None else self._for_host(normalise_host(host))
        step = chain.head  # walked here, not in a method of Mounts: a call costs more
        while step is not None:
            target = step.keys.get(path[: step.end])
            if target is not None:
                return target
            step = step.next
        return chain.fallback

    def _for_host(self, host: bytes) -> Mounts[T]:
        """The chain for a normalised Host value: its exact name's, its longest wildcard
        suffix's, or the default."""
        chain = self._exact.get(host)
        if chain is not None:
            return chain
        for suffix, wild in self._wildcards:
            if host.endswith(suffix):
                return wild
        return self._default

    def map(self, convert: Callable[[T], U]) -> RouteTable[U]:
        """The same table with every target converted (the plan's specs to running apps)."""
        table: RouteTable[U] = RouteTable.__new__(RouteTable)
        targets: dict[int, U] = {}
        converted: dict[int, Mounts[U]] = {}  # one chain for a name with and without ports

        def conv_target(target: T) -> U:
            if id(target) not in targets:
                targets[id(target)] = convert(target)
            return targets[id(target)]

        def conv(mounts: Mounts[T]) -> Mounts[U]:
            if id(mounts) not in converted:
                ranks = tuple(tuple((m, conv_target(t)) for m, t in routes) for routes in mounts.ranks)
                converted[id(mounts)] = Mounts(ranks)
            return converted[id(mounts)]

        table._exact = {name: conv(chain) for name, chain in self._exact.items()}
        table._wildcards = tuple((suffix, conv(mounts)) for suffix, mounts in self._wildcards)
        table._default = conv(self._default)
        table.needs_host = self.needs_host
        table.only = None if self.only is None else conv_target(self.only)
        return table

    def targets(self) -> list[T]:
        """Every target reachable through this table, once each."""
        seen: dict[int, T] = {}
        for mounts in (*self._exact.values(), *(w for _, w in self._wildcards), self._default):
            for routes in mounts.ranks:
                for _, target in routes:
                    seen.setdefault(id(target), target)
        return list(seen.values())
