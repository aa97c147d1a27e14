"""Many apps in one server, from an asgihost.toml: the example sites, routing by mount and Host,
per-app lifespan, env, listeners and limits, several listeners, systemd socket activation.

Most servers are ``asgihost run FILE``'s, run in the test process by the ``serve`` fixture;
the example files bind ``127.0.0.1:${PORT:-8000}`` (or ``unix:${ASGIHOST_SOCKET:-...}``), so
the tests set a free port or a socket under tmp_path in the environment. What needs a process
of its own (per-app env, systemd's inherited socket) runs one with conftest's ``launch``. The
other configs are written to tmp_path.
The raw ASGI apps are in tests/apps/multi_apps.py and print ``MARK ...`` lines that the tests
wait on and order.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import APPS, ROOT, RunningServer, free_port, launch

SITES = ROOT / "examples" / "sites"
SERVER_404 = "Not Found"  # asgihost's own answer when no app takes a request


def run_file(config: Path) -> list[str]:
    return [sys.executable, "-m", "asgihost", "run", str(config)]


def write_config(tmp_path: Path, text: str, name: str = "asgihost.toml") -> Path:
    path = tmp_path / name
    path.write_text(text.replace("{APPS}", str(APPS)))
    return path


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    """``start(argv, port=..., ...)``: conftest's ``launch``, and the process killed after the test."""
    servers: list[RunningServer] = []

    def run(argv: list[str], **kwargs: Any) -> RunningServer:
        server = launch(tmp_path, argv, **kwargs)
        servers.append(server)
        return server

    yield run
    for server in servers:
        if server.proc.poll() is None:
            server.stop(signal.SIGKILL)


def wait_listening(server, count: int, timeout: float = 10.0) -> str:
    """Wait until the server logged ``count`` "running on" lines (one per listener)."""
    return server.wait_for_log_count("running on", count, timeout)


def in_order(log: str, *markers: str) -> bool:
    """Every marker is in the log, each after the one before."""
    positions = [log.find(marker) for marker in markers]
    return -1 not in positions and positions == sorted(positions)


def is_server_404(response: httpx.Response) -> bool:
    return (
        response.status_code == 404
        and response.text == SERVER_404
        and response.headers["content-type"].startswith("text/plain")
    )


# ---- the example sites ---------------------------------------------------------------------------


def test_multi_app_example(serve, monkeypatch):
    config = SITES / "multi-app" / "asgihost.toml"
    port = free_port()
    checked = subprocess.run(
        [sys.executable, "-m", "asgihost", "check", "--import", "--format", "json", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        env=dict(os.environ, PORT=str(port)),
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert report["listeners"] == [{"name": "web", "bind": f"127.0.0.1:{port}"}]  # ${PORT:-8000}
    assert [(r["app"], r["mount"], r["hosts"]) for r in report["routes"]] == [  # in the order tried
        ("blog", "/", ["blog.localhost", "*.blog.localhost"]),
        ("admin", "/admin", ["*"]),
        ("api", "/api", ["*"]),
    ]

    monkeypatch.setenv("PORT", str(port))  # the file binds 127.0.0.1:${PORT:-8000}
    server = serve(str(config))
    log = server.log()
    assert in_order(log, "startup complete. [api]", "startup complete. [admin]", "startup complete. [blog]")
    blog = {"Host": "blog.localhost"}
    with httpx.Client(base_url=server.url, timeout=10) as client:
        # By path: each mounted app sees root_path = its mount and the full path.
        api = client.get("/api/whoami").json()
        assert (api["app"], api["root_path"], api["path"]) == ("api", "/api", "/api/whoami")
        admin = client.get("/admin/whoami").json()
        assert (admin["app"], admin["root_path"], admin["path"]) == ("admin", "/admin", "/admin/whoami")
        assert client.get("/api/items/2").json() == {"id": 2, "name": "gadget"}
        missing = client.get("/api/items/9")
        assert missing.status_code == 404 and missing.json() == {"detail": "no such item"}

        # By Host: exact, wildcard, with a port; a matching host ranks before the /api mount.
        mine = client.get("/whoami", headers=blog).json()
        assert (mine["app"], mine["root_path"], mine["path"]) == ("blog", "", "/whoami")
        alice = client.get("/", headers={"Host": f"alice.blog.localhost:{port}"}).json()
        assert (alice["app"], alice["author"]) == ("blog", "alice")
        assert alice["title"] == "Notes from asgihost"  # [apps.blog.env], read at import
        on_blog = client.get("/api/items", headers=blog)
        assert on_blog.status_code == 404 and on_blog.json() == {"detail": "Not Found"}

        # Each app's lifespan state, and only its own, reaches its requests.
        assert api["state_keys"] == ["app_name", "chat", "items", "started"]  # chat: /api/ws/chat
        assert admin["state_keys"] == ["app_name", "audit_log", "started"]
        assert mine["state_keys"] == ["app_name", "posts", "started"]
        assert client.post("/admin/audit", params={"event": "login"}).json() == {"events": 1}
        assert client.post("/admin/audit", params={"event": "logout"}).json() == {"events": 2}

        # FastAPI's docs under the mount.
        docs = client.get("/api/docs")
        assert docs.status_code == 200 and "'/api/openapi.json'" in docs.text
        spec = client.get("/api/openapi.json").json()
        assert spec["info"]["title"] == "API"
        assert spec["servers"] == [{"url": "/api"}]
        assert "/items/{item_id}" in spec["paths"]

        # No app at "/" for other hosts: the server's own 404; mounts match on a "/" boundary.
        assert is_server_404(client.get("/nothing-here"))
        assert is_server_404(client.get("/apix"))
        assert is_server_404(client.get("/nothing-here", headers={"Host": "example.com"}))
        assert client.get("/nothing-here", headers=blog).json() == {"detail": "Not Found"}
    assert server.stop() == 0
    log = server.log()
    assert in_order(
        log, "shutdown complete. [blog]", "shutdown complete. [admin]", "shutdown complete. [api]"
    )


def test_hello_example_from_its_file(serve, monkeypatch):
    port = free_port()
    monkeypatch.setenv("PORT", str(port))
    server = serve(str(SITES / "hello" / "asgihost.toml"))
    assert f"running on http://127.0.0.1:{port}" in server.log()
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert "Served by asgihost" in client.get("/").text
        assert client.get("/hello/world").json() == {"message": "Hello, world!"}
        assert client.get("/uptime").json()["seconds"] >= 0  # its lifespan state
    assert server.stop() == 0


def test_unix_socket_example(serve, tmp_path, monkeypatch):
    path = tmp_path / "site.sock"
    monkeypatch.setenv("ASGIHOST_SOCKET", str(path))
    server = serve(str(SITES / "unix-socket" / "asgihost.toml"))
    assert f"running on unix:{path}" in server.log()
    assert stat.S_ISSOCK(os.stat(path).st_mode) and stat.S_IMODE(os.stat(path).st_mode) == 0o660
    proxy_headers = {"Host": "example.com", "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    transport = httpx.HTTPTransport(uds=str(path))
    with httpx.Client(transport=transport, base_url="http://localhost", timeout=10) as client:
        assert client.get("/healthz").json() == {"ok": True}
        seen = client.get("/", headers=proxy_headers).json()
        assert seen["host"] == "example.com" and seen["scheme"] == "https"
        assert seen["client"] == "203.0.113.7" and seen["socket_peer"] is None
    assert server.stop() == 0
    assert not path.exists()  # the server removes the socket it bound


# ---- listeners -----------------------------------------------------------------------------------


def test_tcp_and_unix_listeners_serve_the_same_apps(serve, tmp_path):
    port = free_port()
    config = write_config(
        tmp_path,
        f"""
[listeners.tcp]
bind = "127.0.0.1:{port}"

[listeners.local]
bind = "unix:web.sock"      # relative: next to this file
mode = "600"

[apps.first]
app = "multi_apps:first"
app_dir = "{{APPS}}"
mount = "/first"
lifespan = "on"

[apps.second]
app = "multi_apps:second"
app_dir = "{{APPS}}"
hosts = ["second.test"]
lifespan = "on"
""",
    )
    uds = tmp_path / "web.sock"
    server = serve(str(config), wait=False)
    wait_listening(server, 2)
    assert stat.S_IMODE(os.stat(uds).st_mode) == 0o600
    pids = set()
    clients = [
        httpx.Client(base_url=server.url, timeout=10),
        httpx.Client(transport=httpx.HTTPTransport(uds=str(uds)), base_url="http://local", timeout=10),
    ]
    for client in clients:
        with client:
            first = client.get("/first/x").json()
            assert (first["app"], first["owner"], first["root_path"]) == ("first", "first", "/first")
            assert first["state_keys"] == ["only_first", "owner"]
            second = client.get("/anything", headers={"Host": "second.test"}).json()
            assert (second["app"], second["owner"]) == ("second", "second")
            assert second["state_keys"] == ["only_second", "owner"]
            assert is_server_404(client.get("/anything", headers={"Host": "other.test"}))
            pids |= {first["pid"], second["pid"]}
    assert pids == {server.proc.pid}  # one process serves both listeners
    assert server.stop() == 0
    assert not uds.exists()


def test_app_listeners_restrict_an_app_to_its_listeners(serve, tmp_path):
    public, internal = free_port(), free_port()
    config = write_config(
        tmp_path,
        f"""
[listeners.public]
bind = "127.0.0.1:{public}"

[listeners.internal]
bind = "127.0.0.1:{internal}"

[apps.site]
app = "multi_apps:first"
app_dir = "{{APPS}}"
mount = "/site"

[apps.admin]
app = "multi_apps:second"
app_dir = "{{APPS}}"
mount = "/admin"
listeners = ["internal"]
""",
    )
    server = serve(str(config), wait=False)
    wait_listening(server, 2)
    with httpx.Client(base_url=f"http://127.0.0.1:{public}", timeout=10) as client:
        assert client.get("/site/").json()["app"] == "first"
        assert is_server_404(client.get("/admin/"))
    with httpx.Client(base_url=f"http://127.0.0.1:{internal}", timeout=10) as client:
        assert client.get("/site/").json()["app"] == "first"
        admin = client.get("/admin/users").json()
        assert admin["app"] == "second" and admin["server"] == ["127.0.0.1", internal]
    assert server.stop() == 0


def test_systemd_socket_activation(start, tmp_path):
    config = write_config(
        tmp_path,
        """
[listeners.web]
bind = "systemd:web"

[apps.first]
app = "multi_apps:first"
app_dir = "{APPS}"
lifespan = "on"
""",
    )
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen(16)
    port = listening.getsockname()[1]
    # What systemd does: the socket at fd 3, LISTEN_PID the pid of the process it execs.
    wrapper = (
        "import os, sys\n"
        "os.dup2(int(os.environ.pop('SD_TEST_FD')), 3)\n"
        "os.environ['LISTEN_PID'] = str(os.getpid())\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'asgihost', 'run', sys.argv[1]])\n"
    )
    env = {"LISTEN_FDS": "1", "LISTEN_FDNAMES": "web", "SD_TEST_FD": str(listening.fileno())}
    try:
        server = start(
            [sys.executable, "-c", wrapper, str(config)], port=port, env=env, pass_fds=(listening.fileno(),)
        )
    finally:
        listening.close()  # the server holds its own copy
    assert f"running on http://127.0.0.1:{port}" in server.log()
    with httpx.Client(base_url=server.url, timeout=10) as client:
        first = client.get("/hello").json()
        assert (first["app"], first["owner"], first["pid"]) == ("first", "first", server.proc.pid)
    assert server.stop() == 0

    # Inherited variables meant for another process (LISTEN_PID is not the server's) are ignored.
    refused = start(run_file(config), wait=False, env={**env, "LISTEN_PID": str(os.getpid())})
    assert refused.proc.wait(20) == 1
    assert "systemd passed no socket 'web'" in refused.log()


# ---- per-app lifespan ----------------------------------------------------------------------------


def lifespan_config(tmp_path: Path, port: int, *names: str) -> Path:
    """One listener, and the apps of multi_apps.py named, in order, each at /NAME with lifespan on."""
    apps = "".join(
        f'\n[apps.{name}]\napp = "multi_apps:{name}"\napp_dir = "{APPS}"\nmount = "/{name}"\nlifespan = "on"\n'
        for name in names
    )
    return write_config(tmp_path, f'[listeners.web]\nbind = "127.0.0.1:{port}"\n{apps}')


def test_failed_startup_stops_the_server_and_shuts_down_the_started_apps(serve, tmp_path):
    port = free_port()
    config = lifespan_config(tmp_path, port, "first", "second", "broken_startup", "fourth")
    server = serve(str(config), wait=False)
    assert server.proc.wait(20) == 3
    log = server.log()
    assert in_order(log, "MARK startup first", "MARK startup second", "MARK startup broken_startup")
    assert "MARK startup fourth" not in log  # startup stops at the first failure
    failure = [line for line in log.splitlines() if "startup failed" in line and "broken_startup" in line]
    assert failure, log
    assert "cannot reach the database" in log
    assert in_order(log, "MARK startup broken_startup", "MARK shutdown second", "MARK shutdown first")
    assert "MARK shutdown broken_startup" not in log and "MARK shutdown fourth" not in log
    assert "running on" not in log  # it never listened


def test_shutdown_runs_for_every_app_in_reverse_order_even_when_one_fails(serve, tmp_path):
    port = free_port()
    config = lifespan_config(tmp_path, port, "first", "broken_shutdown", "third")
    server = serve(str(config))
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for name in ("first", "broken_shutdown", "third"):
            answer = client.get(f"/{name}/").json()
            assert (answer["app"], answer["owner"]) == (name, name)
            assert answer["state_keys"] == sorted([f"only_{name}", "owner"])
    assert server.stop(signal.SIGTERM) == 0  # as Uvicorn: a failed shutdown still exits 0
    log = server.log()
    assert in_order(log, "MARK shutdown third", "MARK shutdown broken_shutdown", "MARK shutdown first")
    assert "Application shutdown failed for app 'broken_shutdown'" in log
    assert "cannot flush the cache" in log
    assert in_order(log, "shutdown complete. [third]", "MARK shutdown first", "shutdown complete. [first]")


# ---- per-app env and limits ----------------------------------------------------------------------


def test_app_env_is_set_for_its_import_only(start, tmp_path):
    port = free_port()
    config = write_config(
        tmp_path,
        f"""
[listeners.web]
bind = "127.0.0.1:{port}"

[apps.a]
app = "multi_env_a:app"
app_dir = "{{APPS}}"
mount = "/a"

[apps.a.env]
ASGIHOST_T_GREETING = "hello from a"
ASGIHOST_T_SHARED = "inner"

[apps.b]
app = "multi_env_b:app"
app_dir = "{{APPS}}"
mount = "/b"
""",
    )
    server = start(run_file(config), port=port, env={"ASGIHOST_T_SHARED": "outer"})
    outside = {"ASGIHOST_T_GREETING": None, "ASGIHOST_T_SHARED": "outer"}
    with httpx.Client(base_url=server.url, timeout=10) as client:
        a = client.get("/a/").json()
        b = client.get("/b/").json()
    assert a["at_import"] == {"ASGIHOST_T_GREETING": "hello from a", "ASGIHOST_T_SHARED": "inner"}
    assert b["at_import"] == outside  # imported after a: a's env is gone, the outer value is back
    assert a["at_request"] == outside and b["at_request"] == outside
    assert server.stop() == 0


def test_app_concurrency_limit_gives_that_app_503s_only(serve, tmp_path):
    port = free_port()
    config = write_config(
        tmp_path,
        f"""
[listeners.web]
bind = "127.0.0.1:{port}"

[apps.holder]
app = "multi_apps:holder"
app_dir = "{{APPS}}"
mount = "/held"

[apps.holder.limits]
concurrency = 1

[apps.releaser]
app = "multi_apps:releaser"
app_dir = "{{APPS}}"
mount = "/other"
""",
    )
    server = serve(str(config))
    with (
        concurrent.futures.ThreadPoolExecutor(1) as pool,
        httpx.Client(base_url=server.url, timeout=15) as holding,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        held = pool.submit(holding.get, "/held/hold")
        try:
            server.wait_for_log("MARK holding holder")
            busy = client.get("/held/ping")
            assert busy.status_code == 503 and busy.text == "Service Unavailable"
            other = client.get("/other/ping")
            assert other.status_code == 200 and other.json()["app"] == "releaser"
        finally:
            client.get("/other/release")
        assert held.result(timeout=15).json() == {"app": "holder", "released": True}
        assert client.get("/held/ping").json()["app"] == "holder"  # the slot is free again
    assert "Exceeded concurrency limit." in server.log()
    assert server.stop() == 0
