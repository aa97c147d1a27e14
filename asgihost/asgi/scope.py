"""Building ASGI scopes from parsed requests.

The parts of a scope that are fixed for a connection (server, client, scheme) are computed
once per connection (``ConnectionInfo``), those fixed for an app (root path, state) once at
start-up (``AppPlace``); per request only the request's own fields are added.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from ..protocols.errors import ProtocolError
from ..protocols.events import Request

ASGI_VERSION = "3.0"
HTTP_SPEC_VERSION = "2.3"
WEBSOCKET_SPEC_VERSION = "2.4"
_WS_SCHEMES = {"http": "ws", "https": "wss"}


class ConnectionInfo:
    """What every scope on one connection shares."""

    __slots__ = ("server", "client", "scheme", "extensions")

    def __init__(
        self,
        server: tuple[str, int] | None,
        client: tuple[str, int] | None,
        scheme: str,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        self.server = server
        self.client = client
        self.scheme = scheme
        self.extensions = extensions  # scope extensions of every request: "tls" with a client certificate


class AppPlace:
    """Where an app sits: what its scopes get besides the request's own fields."""

    __slots__ = ("root_path", "path_prefix", "raw_path_prefix", "state")

    def __init__(self, root_path: str, path_prefix: str, state: dict[str, Any]) -> None:
        self.root_path = root_path  # configured root path + mount
        self.path_prefix = path_prefix  # configured root path, put before the request path
        self.raw_path_prefix = path_prefix.encode("ascii")
        self.state = state  # the app's lifespan state; each scope gets a shallow copy


def parse_target(target: bytes) -> tuple[bytes, str, bytes]:
    """(raw path, percent-decoded path, query string) of a request-target. The path is decoded
    as UTF-8; a target that is not ASCII on the wire is refused."""
    if target[:1] == b"/":  # origin-form: nearly every request
        query_at = target.find(b"?")
        raw_path, query = (target, b"") if query_at == -1 else (target[:query_at], target[query_at + 1 :])
    elif target == b"*":
        raw_path, query = b"*", b""
    else:
        raw_path, query = _absolute_form(target)
    try:
        path = raw_path.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError("Request target is not ASCII.", 400) from None
    if "%" in path:
        path = unquote(path)
    return raw_path, path, query


def _absolute_form(target: bytes) -> tuple[bytes, bytes]:
    """(path, query) of an absolute-form target (RFC 9112 section 3.2.2)."""
    try:
        parts = urlsplit(target.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("Invalid request target.", 400) from None
    if not parts.scheme or not parts.netloc:
        raise ProtocolError("Invalid request target.", 400)
    return (parts.path or "/").encode("ascii"), parts.query.encode("ascii")


def http_scope(
    info: ConnectionInfo, request: Request, place: AppPlace, raw_path: bytes, path: str, query: bytes
) -> dict[str, Any]:
    """The ``http`` scope for one request. ``path`` includes the root path, as Starlette expects."""
    scope = {
        "type": "http",
        "asgi": {"version": ASGI_VERSION, "spec_version": HTTP_SPEC_VERSION},
        "http_version": request.http_version,
        "server": info.server,
        "client": info.client,
        "scheme": info.scheme,
        "method": request.method,
        "root_path": place.root_path,
        "path": place.path_prefix + path,
        "raw_path": place.raw_path_prefix + raw_path,
        "query_string": query,
        "headers": request.headers,
        "state": place.state.copy(),
    }
    if info.extensions is not None:
        scope["extensions"] = info.extensions.copy()
    return scope


def moved_scope(scope: dict[str, Any], place: AppPlace, to: AppPlace) -> dict[str, Any]:
    """An ``http`` scope made for ``place`` made again for the app at ``to`` (a static app's
    miss, handed to its fallback app), which serves it as if it were mounted at ``place``:
    the root path of ``place`` under the prefix of ``to`` (its configured root path), the
    request path under that prefix, a copy of its state. (Mounted elsewhere, it still sees a
    path that starts with its root path, and routes what follows.)"""
    moved = scope.copy()
    moved["root_path"] = to.path_prefix + place.root_path[len(place.path_prefix) :]
    moved["path"] = to.path_prefix + scope["path"][len(place.path_prefix) :]
    moved["raw_path"] = to.raw_path_prefix + scope["raw_path"][len(place.raw_path_prefix) :]
    moved["state"] = to.state.copy()
    return moved


FILE_EXTENSIONS: dict[str, Any] = {"http.response.pathsend": {}, "http.response.zerocopysend": {}}
"""The scope extensions for file bodies, which every HTTP stream serves (``HTTPCycle``)."""


def websocket_scope(http: dict[str, Any], info: ConnectionInfo, subprotocols: list[str]) -> dict[str, Any]:
    """The ``websocket`` scope of an upgrade request, from the ``http`` scope the exchange
    path opened for it (the same route, client and state copy); ``info`` gives the connection's
    extensions (not those of HTTP responses, such as trailers)."""
    scheme = http["scheme"]
    return {
        "type": "websocket",
        "asgi": {"version": ASGI_VERSION, "spec_version": WEBSOCKET_SPEC_VERSION},
        "http_version": http["http_version"],
        "server": http["server"],
        "client": http["client"],
        "scheme": _WS_SCHEMES.get(scheme, scheme),
        "root_path": http["root_path"],
        "path": http["path"],
        "raw_path": http["raw_path"],
        "query_string": http["query_string"],
        "headers": http["headers"],
        "subprotocols": subprotocols,
        "state": http["state"],
        "extensions": {"websocket.http.response": {}, **_tls_only(info.extensions)},
    }


def _tls_only(extensions: dict[str, Any] | None) -> dict[str, Any]:
    return {"tls": extensions["tls"]} if extensions is not None and "tls" in extensions else {}
