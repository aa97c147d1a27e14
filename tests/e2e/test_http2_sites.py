"""The multi-app example over HTTP/2: h2c with prior knowledge and TLS with ALPN, through httpx
and curl: routing by :authority and path, many streams on one connection, every app reachable."""

from __future__ import annotations

import asyncio
import shutil
import signal
import ssl
import subprocess
import sys

import httpx
import pytest
import trustme
from conftest import ROOT, free_port, launch

SITE = ROOT / "examples" / "sites" / "multi-app"


@pytest.fixture
def site(tmp_path):
    servers = []

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
        server = launch(
            tmp_path,
            [sys.executable, "-m", "asgihost", "run", str(config)],
            port=port,
            env={"PORT": str(port)},
        )
        servers.append(server)
        server.ca = str(tmp_path / "ca.pem")
        server.base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        return server

    yield start
    for server in servers:
        if server.proc.poll() is None:
            server.stop(signal.SIGKILL)


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
