"""TLS listeners: Uvicorn's --ssl-* flags, tls tables in asgihost.toml, client certificates,
and bad input on a TLS port (plain HTTP, a silent client, a wrong key)."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import ssl
import subprocess
import sys
import time

import httpx
import pytest
import trustme
from conftest import APPS, free_port, launch, serving
from scheme_app import app as scheme_app

import asgihost
from asgihost.config import ConfigError


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def certs(ca, tmp_path):
    """Server certificate and key files for localhost/127.0.0.1, the CA file, a client cert."""
    server = ca.issue_cert("localhost", "127.0.0.1")
    server.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    for blob in server.cert_chain_pems[1:]:
        blob.write_to_path(str(tmp_path / "cert.pem"), append=True)
    server.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    client = ca.issue_cert("client@example.com")
    client.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "client.pem"))
    return tmp_path


@pytest.fixture
def run(serve):
    """``run(dir, *args, port=P, wait=...)``: ``asgihost run ARGS``'s server, in this process."""
    return lambda tmp_path, *args, port=None, wait=True: serve(*args, wait=wait)


@pytest.fixture
def run_process(tmp_path):
    """``run`` as a child process: for exit statuses of the command, and a key's password
    prompt that must not come up (the process has no terminal to ask on)."""
    started = []

    def start(tmp_path, *args: str, port: int | None = None, wait: bool = True):
        started.append(
            launch(tmp_path, [sys.executable, "-m", "asgihost", "run", *args], port=port, wait=wait)
        )
        return started[-1]

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.stop(signal.SIGKILL)


def test_ssl_flags_serve_https(run, certs):
    port = free_port()
    server = run(
        certs, "scheme_app:app", "--port", str(port),
        "--ssl-certfile", str(certs / "cert.pem"), "--ssl-keyfile", str(certs / "key.pem"),
    )  # fmt: skip
    try:
        assert f"running on https://127.0.0.1:{port}" in server.log()
        with httpx.Client(
            verify=ssl.create_default_context(cafile=str(certs / "ca.pem")), timeout=10
        ) as client:
            response = client.get(f"https://127.0.0.1:{port}/a/b")
            again = client.get(f"https://127.0.0.1:{port}/c")  # same connection
        assert response.status_code == 200
        assert response.text == f"https {port} /a/b"
        assert again.text == f"https {port} /c"
    finally:
        assert server.stop() == 0


def test_a_file_serves_tls_and_plain_listeners_side_by_side(run, certs):
    tls_port, plain_port = free_port(), free_port()
    (certs / "asgihost.toml").write_text(
        f'[listeners.secure]\nbind = "127.0.0.1:{tls_port}"\n'
        'tls = { certfile = "cert.pem", keyfile = "key.pem" }\n\n'
        f'[listeners.plain]\nbind = "127.0.0.1:{plain_port}"\n\n'
        f'[apps.web]\napp = "scheme_app:app"\napp_dir = "{APPS}"\n'
    )
    server = run(certs, str(certs / "asgihost.toml"), port=plain_port)
    try:
        with httpx.Client(
            verify=ssl.create_default_context(cafile=str(certs / "ca.pem")), timeout=10
        ) as client:
            assert client.get(f"https://localhost:{tls_port}/x").text == f"https {tls_port} /x"
            assert client.get(f"http://127.0.0.1:{plain_port}/y").text == f"http {plain_port} /y"
    finally:
        assert server.stop() == 0


def test_required_client_certificate(run, certs):
    port = free_port()
    server = run(
        certs, "scheme_app:app", "--port", str(port),
        "--ssl-certfile", str(certs / "cert.pem"), "--ssl-keyfile", str(certs / "key.pem"),
        "--ssl-ca-certs", str(certs / "ca.pem"), "--ssl-cert-reqs", "2",
    )  # fmt: skip
    try:
        anonymous = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        with pytest.raises((ssl.SSLError, httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
            with httpx.Client(verify=anonymous, timeout=10) as client:
                client.get(f"https://127.0.0.1:{port}/")
        known = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        known.load_cert_chain(str(certs / "client.pem"))
        with httpx.Client(verify=known, timeout=10) as client:
            assert client.get(f"https://127.0.0.1:{port}/ok").text == f"https {port} /ok"
    finally:
        assert server.stop() == 0


def test_plain_http_and_silent_clients_on_a_tls_port_lose_nothing(run, certs):
    port = free_port()
    (certs / "asgihost.toml").write_text(
        f'[listeners.secure]\nbind = "127.0.0.1:{port}"\n'
        'tls = { certfile = "cert.pem", keyfile = "key.pem", handshake_timeout = "300ms" }\n\n'
        f'[apps.web]\napp = "scheme_app:app"\napp_dir = "{APPS}"\n'
    )
    server = run(certs, str(certs / "asgihost.toml"), port=port)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert not sock.recv(65536).startswith(b"HTTP/1.1 200")  # an alert or nothing, then close
        with socket.create_connection(("127.0.0.1", port), timeout=10) as silent:
            started = time.monotonic()
            assert silent.recv(1) == b""  # closed once the handshake timed out
            assert time.monotonic() - started < 9  # the server closed it, not the socket timeout
        with httpx.Client(
            verify=ssl.create_default_context(cafile=str(certs / "ca.pem")), timeout=10
        ) as client:
            assert client.get(f"https://127.0.0.1:{port}/still").text == f"https {port} /still"
    finally:
        assert server.stop() == 0
    assert "Traceback" not in server.log()


def test_encrypted_key_with_password(run_process, ca, tmp_path):
    from cryptography.hazmat.primitives import serialization

    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    key = serialization.load_pem_private_key(cert.private_key_pem.bytes(), None)
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"sesame"),
        )
    )
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    common = [
        "scheme_app:app",
        "--ssl-certfile",
        str(tmp_path / "cert.pem"),
        "--ssl-keyfile",
        str(tmp_path / "key.pem"),
    ]
    wrong = run_process(
        tmp_path, *common, "--port", str(free_port()), "--ssl-keyfile-password", "nope", wait=False
    )
    assert wrong.proc.wait(30) == 1
    assert "wrong password" in wrong.log()
    unasked = run_process(
        tmp_path, *common, "--port", str(free_port()), wait=False
    )  # no prompt on a terminal
    assert unasked.proc.wait(30) == 1
    assert "is encrypted: give its password" in unasked.log()
    port = free_port()
    server = run_process(
        tmp_path, *common, "--port", str(port), "--ssl-keyfile-password", "sesame", port=port
    )
    try:
        with httpx.Client(
            verify=ssl.create_default_context(cafile=str(tmp_path / "ca.pem")), timeout=10
        ) as client:
            assert client.get(f"https://127.0.0.1:{port}/").status_code == 200
    finally:
        assert server.stop() == 0


def test_a_key_that_is_not_the_certificates_stops_the_start_and_fails_check(run, ca, certs):
    other = ca.issue_cert("other.example")
    other.private_key_pem.write_to_path(str(certs / "other-key.pem"))
    server = run(
        certs, "scheme_app:app", "--port", str(free_port()),
        "--ssl-certfile", str(certs / "cert.pem"), "--ssl-keyfile", str(certs / "other-key.pem"), wait=False,
    )  # fmt: skip
    assert server.proc.wait(30) == 1
    assert "the key does not belong to the certificate" in server.log()
    (certs / "asgihost.toml").write_text(
        '[listeners.web]\nbind = "127.0.0.1:8443"\ntls = { certfile = "cert.pem", keyfile = "other-key.pem" }\n\n'
        '[apps.web]\napp = "main:app"\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "asgihost", "check", "--format", "json", "asgihost.toml"],
        capture_output=True, text=True, timeout=30, cwd=certs,
    )  # fmt: skip
    assert result.returncode == 1
    [problem] = json.loads(result.stdout)["problems"]
    assert problem["key"] == "listeners.web.tls" and problem["line"] == 3
    assert "does not belong" in problem["message"]


def test_ssl_options_without_a_certificate_change_nothing(run, tmp_path):
    port = free_port()
    server = run(
        tmp_path,
        "scheme_app:app",
        "--port",
        str(port),
        "--ssl-ciphers",
        "TLSv1",
        "--ssl-cert-reqs",
        "0",
        port=port,
    )
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/p", timeout=10).text == f"http {port} /p"
    finally:
        assert server.stop() == 0


def test_a_key_without_a_certificate_is_refused(run_process, tmp_path):
    server = run_process(
        tmp_path, "scheme_app:app", "--port", str(free_port()), "--ssl-keyfile", "k.pem", wait=False
    )
    assert server.proc.wait(30) == 2
    assert "--ssl-certfile" in server.log()


def test_websocket_over_tls_is_wss(run, certs):
    import asyncio

    from websockets.asyncio.client import connect

    port = free_port()
    server = run(
        certs, "ws_apps:app", "--port", str(port),
        "--ssl-certfile", str(certs / "cert.pem"), "--ssl-keyfile", str(certs / "key.pem"),
    )  # fmt: skip

    async def talk():
        context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        async with connect(f"wss://127.0.0.1:{port}/describe", ssl=context) as ws:
            return json.loads(await ws.recv())

    try:
        scope = asyncio.run(asyncio.wait_for(talk(), 20))
        assert scope["scheme"] == "wss" and scope["path"] == "/describe"
    finally:
        assert server.stop() == 0


def test_client_certificate_reaches_the_scope_over_http11_and_h2(run, certs):
    import asyncio

    port = free_port()
    server = run(
        certs, "h2_apps:app", "--port", str(port),
        "--ssl-certfile", str(certs / "cert.pem"), "--ssl-keyfile", str(certs / "key.pem"),
        "--ssl-ca-certs", str(certs / "ca.pem"), "--ssl-cert-reqs", "1",
    )  # fmt: skip

    async def talk(http2: bool, with_cert: bool):
        context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        if with_cert:
            context.load_cert_chain(str(certs / "client.pem"))
        async with httpx.AsyncClient(verify=context, http2=http2, timeout=10) as client:
            response = await client.get(f"https://127.0.0.1:{port}/scope")
            return response.http_version, response.json()

    try:
        for http2, version in ((False, "HTTP/1.1"), (True, "HTTP/2")):
            got_version, scope = asyncio.run(talk(http2, True))
            assert got_version == version
            tls = scope["tls"]
            assert tls["client_cert_chain"][0].startswith("-----BEGIN CERTIFICATE-----")
            assert (
                tls["client_cert_name"].startswith("OU=Testing cert")
                and ",O=trustme" in tls["client_cert_name"]
            )
            assert tls["tls_version"] in (0x0303, 0x0304)
        _, anonymous = asyncio.run(talk(True, False))  # optional: no certificate, no extension
        assert anonymous["tls"] is None
    finally:
        assert server.stop() == 0


def test_min_version_13_refuses_a_tls12_client(run, certs):
    port = free_port()
    (certs / "asgihost.toml").write_text(
        f'[listeners.web]\nbind = "127.0.0.1:{port}"\n'
        'tls = { certfile = "cert.pem", keyfile = "key.pem", min_version = "1.3" }\n'
        f'[apps.web]\napp = "scheme_app:app"\napp_dir = "{APPS}"\n'
    )
    server = run(certs, str(certs / "asgihost.toml"), port=port)
    try:
        old = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        old.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"https://127.0.0.1:{port}/", verify=old, timeout=10)
        new = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        assert httpx.get(f"https://127.0.0.1:{port}/", verify=new, timeout=10).status_code == 200
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize(("ssl_version", "newest"), [("17", "TLSv1.3"), ("2", "TLSv1.3"), ("5", "TLSv1.2")])
def test_ssl_version_as_uvicorn_takes_it(run, certs, ssl_version, newest):
    """Uvicorn's --ssl-version: 17 (its default, PROTOCOL_TLS_SERVER) and 2 serve TLS 1.2 and
    1.3; 5 (PROTOCOL_TLSv1_2) TLS 1.2 only, so a client that speaks only TLS 1.3 is refused."""
    port = free_port()
    server = run(
        certs, "scheme_app:app", "--port", str(port), "--ssl-version", ssl_version,
        "--ssl-certfile", str(certs / "cert.pem"), "--ssl-keyfile", str(certs / "key.pem"),
    )  # fmt: skip
    try:
        context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                assert tls.version() == newest
        only_13 = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        only_13.minimum_version = ssl.TLSVersion.TLSv1_3
        if newest == "TLSv1.2":
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"https://127.0.0.1:{port}/", verify=only_13, timeout=10)
        else:
            assert httpx.get(f"https://127.0.0.1:{port}/", verify=only_13, timeout=10).status_code == 200
    finally:
        assert server.stop() == 0


def test_an_ssl_version_that_asks_for_tls_10_is_refused(run_process, certs):
    server = run_process(
        certs, "scheme_app:app", "--ssl-version", "3",
        "--ssl-certfile", str(certs / "cert.pem"), "--ssl-keyfile", str(certs / "key.pem"), wait=False,
    )  # fmt: skip
    assert server.proc.wait(15) == 2
    assert "--ssl-version" in server.log()


def test_ssl_context_factory_makes_the_listeners_context_from_asgihosts(certs):
    """Uvicorn's ``ssl_context_factory=``: called with the config and a function making the
    context the ssl_* keywords describe; what it returns is served (here: TLS 1.2 at most, and
    the ALPN asgihost set, so HTTP/2 is still offered)."""
    calls = []

    def factory(config, default):
        context = default()
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        calls.append(config)
        return context

    config = asgihost.Config(
        scheme_app, port=0, log_level="warning", ssl_certfile=str(certs / "cert.pem"),
        ssl_keyfile=str(certs / "key.pem"), ssl_context_factory=factory,
    )  # fmt: skip

    async def main() -> tuple[str | None, str | None]:
        async with serving(asgihost.Server(config)) as port:
            context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
            context.set_alpn_protocols(["h2", "http/1.1"])
            _, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=context, server_hostname="localhost"
            )
            tls = writer.get_extra_info("ssl_object")
            version, alpn = tls.version(), tls.selected_alpn_protocol()
            writer.close()
            return version, alpn

    assert asyncio.run(main()) == ("TLSv1.2", "h2")
    assert calls == [config]


def test_ssl_context_factory_without_a_certificate_says_so():
    with pytest.raises(ConfigError, match=r"ssl_context_factory=: needs ssl_certfile= too"):
        asgihost.Config(scheme_app, ssl_context_factory=lambda config, default: default())
