"""Scope building and access-line escaping: pure parts."""

from __future__ import annotations

import pytest

from asgihost.asgi.scope import AppPlace, ConnectionInfo, http_scope, parse_target
from asgihost.logs.access import format_target
from asgihost.protocols.errors import ProtocolError
from asgihost.protocols.events import Request


def make(target: bytes, root_path: str = "", state=None, mount: str = "") -> dict:
    info = ConnectionInfo(("127.0.0.1", 8000), ("10.0.0.1", 5555), "http")
    place = AppPlace(root_path + mount, root_path, state if state is not None else {})
    raw_path, path, query = parse_target(target)
    request = Request(1, "GET", target, [(b"host", b"h")], "1.1", True, False)
    return http_scope(info, request, place, raw_path, path, query)


def test_full_http_scope():
    scope = make(b"/caf%C3%A9/x%2Fy?q=1&r=%20")
    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.3"}
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET"
    assert scope["scheme"] == "http"
    assert scope["path"] == "/café/x/y"
    assert scope["raw_path"] == b"/caf%C3%A9/x%2Fy"
    assert scope["query_string"] == b"q=1&r=%20"
    assert scope["root_path"] == ""
    assert scope["headers"] == [(b"host", b"h")]
    assert scope["client"] == ("10.0.0.1", 5555)
    assert scope["server"] == ("127.0.0.1", 8000)


def test_root_path_prefixes_path_and_raw_path():
    scope = make(b"/items/1", root_path="/api")
    assert scope["root_path"] == "/api"
    assert scope["path"] == "/api/items/1"
    assert scope["raw_path"] == b"/api/items/1"


def test_mounted_app_sees_its_mount_as_root_path_and_the_full_path():
    scope = make(b"/api/items/1", mount="/api")
    assert (scope["root_path"], scope["path"], scope["raw_path"]) == ("/api", "/api/items/1", b"/api/items/1")
    scope = make(b"/api/items/1", root_path="/proxy", mount="/api")
    assert (scope["root_path"], scope["path"]) == ("/proxy/api", "/proxy/api/items/1")


def test_state_is_a_shallow_copy_per_request():
    state = {"db": object()}
    first, second = make(b"/", state=state), make(b"/", state=state)
    first["state"]["new"] = 1
    assert "new" not in state and "new" not in second["state"]
    assert first["state"]["db"] is state["db"]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (b"/", (b"/", b"")),
        (b"/a?", (b"/a", b"")),
        (b"/a?b?c", (b"/a", b"b?c")),
        (b"*", (b"*", b"")),
        (b"http://example.com/p?q=1", (b"/p", b"q=1")),
        (b"http://example.com", (b"/", b"")),
    ],
)
def test_parse_target(target, expected):
    raw_path, path, query = parse_target(target)
    assert (raw_path, query) == expected and path == raw_path.decode()


@pytest.mark.parametrize("target", [b"/caf\xc3\xa9", b"nonsense"])
def test_bad_targets_are_protocol_errors(target):
    with pytest.raises(ProtocolError):
        make(target)


def test_access_target_escapes_control_characters():
    assert format_target(b"/plain?q=1") == "/plain?q=1"
    escaped = format_target(b"/a\r\nINFO: forged\x1b[31m\\")
    assert "\r" not in escaped and "\n" not in escaped and "\x1b" not in escaped
    assert escaped == "/a\\x0d\\x0aINFO: forged\\x1b[31m\\\\"
