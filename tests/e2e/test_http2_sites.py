"""The multi-app example over HTTP/2: h2c with prior knowledge and TLS with ALPN, through httpx
and curl: routing by :authority and path, many streams on one connection, every app reachable."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import ssl
import subprocess
import time

import h2.config
import h2.connection
import h2.events
import httpx
import pytest
import trustme
from conftest import ROOT, free_port

SITE = ROOT / "examples" / "sites" / "multi-app"


@pytest.fixture
def site(serve, tmp_path, monkeypatch):
    """``site(tls)``: the example's server, in this process; ``PORT`` in the environment, as
    its file reads ``${PORT:-8000}``."""

    def start(tls: bool):
        port = free_port()
        config = SITE / "asgihost.toml"
        if tls:
            ca = trustme.CA()
            ca.issue_cert(
                "127.0.0.1", "localhost", "blog.localhost"
            ).private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
            ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
            text = (SITE / "asgihost.toml").read_text()
            text = text.replace('app_dir = "services"', f'app_dir = "{SITE / "services"}"')
            text = text.replace(
                'bind = "127.0.0.1:${PORT:-8000}"',
                'bind = "127.0.0.1:${PORT:-8000}"\ntls = { certfile = "server.pem" }',
            )
            config = tmp_path / "asgihost.toml"
            config.write_text(text)
        monkeypatch.setenv("PORT", str(port))
        server = serve(str(config))
        server.ca = str(tmp_path / "ca.pem")
        server.base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        return server

    return start


async def exercise(client: httpx.AsyncClient, base: str) -> None:
    items = await asyncio.gather(*(client.get(f"{base}/api/items/{1 + i % 2}") for i in range(60)))
    assert all(r.http_version == "HTTP/2" and r.status_code == 200 for r in items)
    assert {r.json()["name"] for r in items} == {"widget", "gadget"}
    admin = (await client.get(f"{base}/admin/whoami")).json()
    assert admin["app"] == "admin" and admin["root_path"] == "/admin"
    blog = (await client.get(f"{base}/", headers={"host": "blog.localhost"})).json()
    assert blog["app"] == "blog"
    assert (await client.get(f"{base}/nothing-here")).text == "Not Found"
    docs = await client.get(f"{base}/api/openapi.json")
    assert docs.json()["servers"] == [{"url": "/api"}]


def test_multi_app_site_over_h2c(site):
    server = site(tls=False)

    async def talk():
        async with httpx.AsyncClient(http1=False, http2=True, timeout=20) as client:
            await exercise(client, server.base)

    asyncio.run(asyncio.wait_for(talk(), 60))


def test_multi_app_site_over_tls_alpn(site):
    server = site(tls=True)

    async def talk():
        context = ssl.create_default_context(cafile=server.ca)
        async with httpx.AsyncClient(http2=True, verify=context, timeout=20) as client:
            await exercise(client, server.base)

    asyncio.run(asyncio.wait_for(talk(), 60))


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("tls", [False, True])
def test_curl_http2_against_the_site(site, tls):
    server = site(tls=tls)
    flags = ["--cacert", server.ca, "--http2"] if tls else ["--http2-prior-knowledge"]
    result = subprocess.run(
        ["curl", "-sS", *flags, "-w", " %{http_version}", f"{server.base}/api/items/2"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == '{"id":2,"name":"gadget"} 2'


def _h2_body(sock, conn, stream_id: int, events: list) -> bytes:
    """Read until ``stream_id`` ends; its body."""
    deadline = time.monotonic() + 10
    while not any(isinstance(e, h2.events.StreamEnded) and e.stream_id == stream_id for e in events):
        assert time.monotonic() < deadline
        events += conn.receive_data(sock.recv(65536))
        sock.sendall(conn.data_to_send())
    return b"".join(
        e.data for e in events if isinstance(e, h2.events.DataReceived) and e.stream_id == stream_id
    )


def test_host_routing_for_an_h2c_upgrade_and_a_host_field_without_authority(site):
    server = site(tls=False)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    settings = conn.initiate_upgrade_connection()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"GET / HTTP/1.1\r\nHost: blog.localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            b"Upgrade: h2c\r\nHTTP2-Settings: " + settings + b"\r\n\r\n"
        )
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, _, rest = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 ")
        sock.sendall(conn.data_to_send())
        events = list(conn.receive_data(rest)) if rest else []
        assert json.loads(_h2_body(sock, conn, 1, events))["app"] == "blog"  # the upgraded request
        request = [
            (b":method", b"GET"),
            (b":scheme", b"http"),
            (b":path", b"/"),
            (b"host", b"blog.localhost"),
        ]
        conn.send_headers(3, request, end_stream=True)
        sock.sendall(conn.data_to_send())
        assert json.loads(_h2_body(sock, conn, 3, []))["app"] == "blog"  # Host, no :authority
