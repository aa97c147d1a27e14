"""Proxy headers through the real server: believed from trusted peers only (IPv4, IPv6, Unix),
over HTTP/1.1 and HTTP/2, in the scope and in the access log."""

from __future__ import annotations

import socket

import httpx
import pytest
from conftest import check_config, free_port

XFF = {"x-forwarded-for": "203.0.113.7, 10.0.0.3", "x-forwarded-proto": "https"}


def ask(server, headers=XFF, **client_options) -> dict:
    with httpx.Client(timeout=10, **client_options) as client:
        return client.get(f"{server.url}/", headers=headers).json()


def test_a_trusted_peer_is_believed_and_logged(serve):
    server = serve("client_app:app", "--forwarded-allow-ips", "127.0.0.1, 10.0.0.0/8")
    seen = ask(server)
    assert seen["client"] == ["203.0.113.7", 0] and seen["scheme"] == "https"
    assert seen["x_forwarded_for"] == "203.0.113.7, 10.0.0.3"  # the header itself is left as it came
    server.wait_for_log('203.0.113.7:0 - "GET / HTTP/1.1" 200')
    h2 = ask(server, http1=False, http2=True)  # HTTP/2 with prior knowledge
    assert h2["http_version"] == "2" and h2["client"] == ["203.0.113.7", 0] and h2["scheme"] == "https"


def test_the_default_trusts_loopback_only_as_uvicorn_does(serve):
    server = serve("client_app:app")
    seen = ask(server)
    assert seen["client"] == ["10.0.0.3", 0]  # 10.0.0.3 is not trusted: it is the client
    assert seen["scheme"] == "https"


@pytest.mark.parametrize("flags", [("--forwarded-allow-ips", "10.0.0.1"), ("--no-proxy-headers",)])
def test_an_untrusted_peer_is_not_believed(serve, flags):
    server = serve("client_app:app", *flags)
    seen = ask(server)
    assert seen["client"][0] == "127.0.0.1" and seen["client"][1] != 0
    assert seen["scheme"] == "http"
    assert seen["x_forwarded_for"] == "203.0.113.7, 10.0.0.3"


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
@pytest.mark.parametrize(
    ("trusted", "believed"), [("127.0.0.1", False), ("::1", True), ("::/0", True), (None, True)]
)
def test_ipv6_peers(serve, trusted, believed):
    """None: the default, Uvicorn's "127.0.0.1,::1"."""
    port = free_port()
    trust = () if trusted is None else ("--forwarded-allow-ips", trusted)
    serve("client_app:app", "--host", "::1", "--port", str(port), *trust)
    with httpx.Client(timeout=10) as client:
        seen = client.get(f"http://[::1]:{port}/", headers={"x-forwarded-for": "203.0.113.7"}).json()
    if believed:
        assert seen["client"] == ["203.0.113.7", 0]
    else:
        assert seen["client"][0] == "::1"


@pytest.mark.parametrize(("trusted", "believed"), [(None, False), ("unix", True), ("*", True)])
def test_unix_socket_peers_are_trusted_only_when_listed(serve, tmp_path, trusted, believed):
    path = str(tmp_path / "s.sock")
    flags = ["--uds", path] + (["--forwarded-allow-ips", trusted] if trusted else [])
    serve("client_app:app", *flags)
    headers = {"x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https"}
    with httpx.Client(transport=httpx.HTTPTransport(uds=path), timeout=10) as client:
        seen = client.get("http://x/", headers=headers).json()
    if believed:
        assert seen["client"] == ["203.0.113.7", 0] and seen["scheme"] == "https"
    else:
        assert seen["client"] is None and seen["scheme"] == "http"


def test_a_listener_that_speaks_forwarded(serve, tmp_path):
    port = free_port()
    config = tmp_path / "asgihost.toml"
    config.write_text(
        f"""
[listeners.web]
bind = "127.0.0.1:{port}"
proxy = {{ trusted = ["127.0.0.1"], headers = "forwarded" }}
[apps.main]
app = "client_app:app"
"""
    )
    server = serve(str(config))
    try:
        seen = ask(
            server, {"forwarded": 'for="[2001:db8::17]:4711";proto=https', "x-forwarded-for": "198.51.100.1"}
        )
        assert seen["client"] == ["2001:db8::17", 0] and seen["scheme"] == "https"
        plain = ask(server, {"x-forwarded-for": "198.51.100.1"})
        assert plain["client"][0] == "127.0.0.1"  # X-Forwarded-For is not what this listener reads
    finally:
        assert server.stop() == 0


def test_check_refuses_a_bad_trusted_entry(tmp_path):
    result = check_config(
        tmp_path, '[listeners.web]\nproxy = { trusted = ["10.0.0.0/33"] }\n[apps.main]\napp = "m:app"\n'
    )
    assert result.returncode == 1
    assert "listeners.web.proxy.trusted.0" in result.stderr and "not an IP address" in result.stderr
