"""Proxy headers: the client address and scheme a trusted proxy reports.

Only a connection whose peer is trusted has its requests' headers read (a Unix-socket peer only
when "unix" is listed). The client is found by walking the forwarded-for list from the right
(the nearest proxy's entry) and skipping trusted hops: the first untrusted address is the
client; when every hop is trusted, the leftmost one is. Several header lines are one list, in
order (RFC 9110 section 5.3), never "the last one wins". Headers are left in the scope as they
came; only ``client`` and ``scheme`` change.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from .scope import ConnectionInfo

_SCHEMES = frozenset(("http", "https", "ws", "wss"))
_CACHE_MAX = 1024


class ProxyPolicy:
    """Which peers are trusted, and which headers they speak (``x-forwarded`` or ``forwarded``)."""

    __slots__ = ("networks", "trust_all", "trust_unix", "forwarded", "_known")

    def __init__(self, trusted: Iterable[str], headers: str = "x-forwarded") -> None:
        entries = list(trusted)
        self.trust_all = "*" in entries
        self.trust_unix = "unix" in entries or self.trust_all
        self.networks = [ipaddress.ip_network(e, strict=False) for e in entries if e not in ("*", "unix")]
        self.forwarded = headers == "forwarded"
        self._known: dict[str, bool] = {}

    def trusts(self, host: str) -> bool:
        """Whether an address (as text) is one of the trusted proxies."""
        if self.trust_all:
            return True
        known = self._known.get(host)
        if known is None:
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                known = False  # "unknown", an obfuscated identifier, a name: never a trusted hop
            else:
                known = any(address in network for network in self.networks)
            if len(self._known) < _CACHE_MAX:
                self._known[host] = known
        return known

    def trusts_peer(self, info: ConnectionInfo) -> bool:
        """Whether the connection's peer may speak for its clients."""
        if info.client is None:  # a Unix socket (or a peer without an address)
            return self.trust_unix
        return self.trusts(info.client[0])

    def apply(self, info: ConnectionInfo, headers: list[tuple[bytes, bytes]]) -> ConnectionInfo:
        """``info`` with the client and scheme the headers report; ``info`` itself when they
        report nothing usable. Call only for a trusted peer."""
        if self.forwarded:
            hops = _forwarded_hops(headers)
        else:
            hops = _x_forwarded_hops(headers)
        if not hops:
            return info
        index = len(hops) - 1
        while index > 0:
            host = hops[index][0]
            if host is None or not self.trusts(host):
                break
            index -= 1
        host, proto = hops[index]
        client = info.client if host is None else (host, 0)
        scheme = info.scheme
        if proto is not None and proto in _SCHEMES:
            scheme = proto
        if client is info.client and scheme == info.scheme:
            return info
        return ConnectionInfo(info.server, client, scheme, info.extensions)


Hop = tuple[str | None, str | None]  # (client address, scheme) one proxy reports


def _x_forwarded_hops(headers: list[tuple[bytes, bytes]]) -> list[Hop]:
    forwarded_for: list[str] = []
    protos: list[str] = []
    for name, value in headers:
        if name == b"x-forwarded-for":
            forwarded_for += [item.strip() for item in value.decode("latin-1").split(",")]
        elif name == b"x-forwarded-proto":
            protos += [item.strip().lower() for item in value.decode("latin-1").split(",")]
    addresses = [_strip_port(item) for item in forwarded_for if item]
    if not addresses:
        return [(None, protos[-1])] if protos else []
    if len(protos) == len(addresses):  # one scheme per hop: each client's own
        return list(zip(addresses, protos, strict=True))
    # Otherwise the scheme one proxy reports (the nearest's) stands for whichever client it is.
    proto = protos[-1] if protos else None
    return [(address, proto) for address in addresses]


def _forwarded_hops(headers: list[tuple[bytes, bytes]]) -> list[Hop]:
    hops: list[Hop] = []
    for name, value in headers:
        if name == b"forwarded":
            for element in _split(value.decode("latin-1"), ","):
                params: dict[str, str] = {}
                for pair in _split(element, ";"):
                    key, sep, val = pair.partition("=")
                    if sep:
                        params[key.strip().lower()] = _unquote(val.strip())
                node = params.get("for")
                proto = params.get("proto")
                address = None if node is None else _strip_port(node)
                hops.append((address, None if proto is None else proto.lower()))
    return hops


def _split(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside quoted strings (RFC 7239 values may be quoted)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def _strip_port(node: str) -> str:
    """An address without its port: "[2001:db8::1]:4711" → "2001:db8::1", "192.0.2.1:80" → "192.0.2.1"."""
    if node.startswith("["):
        end = node.find("]")
        return node[1:end] if end != -1 else node
    if node.count(":") == 1:  # IPv4 or a name with a port; a bare IPv6 address has several
        return node.split(":", 1)[0]
    return node
