"""The command and the server process: listeners, lifespan, loading, shutdown, exit codes."""

from __future__ import annotations

import os
import signal
import socket
import stat
import sys
import threading

import httpx
import pytest
from conftest import ROOT, free_port, http_exchange, launch, run_command


def get(server, path: str = "/", extra: bytes = b"") -> bytes:
    with server.connect() as sock:
        return http_exchange(sock, b"GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n" % (path.encode(), extra))


def test_version_and_help():
    out = run_command("--version", cwd=ROOT)
    assert out.returncode == 0 and out.stdout.startswith("asgihost ")
    out = run_command("run", "--help", cwd=ROOT)
    for flag in (
        "--host",
        "--port",
        "--uds",
        "--fd",
        "--factory",
        "--app-dir",
        "--lifespan",
        "--interface",
        "--loop",
        "--http",
        "--log-level",
        "--no-access-log",
        "--root-path",
        "--limit-concurrency",
        "--backlog",
        "--timeout-keep-alive",
        "--timeout-graceful-shutdown",
        "--header",
        "--no-server-header",
        "--no-date-header",
    ):
        assert flag in out.stdout


def test_invalid_flag_value_names_the_flag_and_exits_2():
    out = run_command("run", "m:app", "--timeout-keep-alive", "soon", cwd=ROOT)
    assert out.returncode == 2
    assert "--timeout-keep-alive" in out.stderr


def test_lifespan_state_reaches_requests_and_shutdown_runs(serve):
    server = serve("lifespan_apps:with_state")
    assert get(server).endswith(b"hello from lifespan")
    assert server.stop(signal.SIGTERM) == 0
    log = server.log()
    assert "Application startup complete." in log
    assert "SHUTDOWN-RAN" in log and "Application shutdown complete." in log


def test_failed_startup_exits_3_with_the_apps_message(serve):
    server = serve("lifespan_apps:failing_startup", wait=False)
    assert server.proc.wait(30) == 3
    assert "database is unreachable" in server.log()


def test_lifespan_on_requires_support_auto_tolerates_its_absence(serve):
    strict = serve("lifespan_apps:raising_startup", "--lifespan", "on", wait=False)
    assert strict.proc.wait(30) == 3
    assert "lifespan exploded" in strict.log()
    relaxed = serve("lifespan_apps:raising_startup")
    assert get(relaxed).startswith(b"HTTP/1.1 204 ")
    assert "ASGI 'lifespan' protocol appears unsupported." in relaxed.log()
    off = serve("lifespan_apps:raising_startup", "--lifespan", "off")
    assert "lifespan" not in off.log().lower()


def test_factory_and_asgi2_and_loop_asyncio(serve):
    assert get(serve("lifespan_apps:factory", "--factory")).endswith(b"hello from lifespan")
    assert get(serve("lifespan_apps:ASGI2App", "--loop", "asyncio")).endswith(b"asgi2")
    assert get(serve("lifespan_apps:ASGI2App", "--interface", "asgi2")).endswith(b"asgi2")


@pytest.mark.parametrize(
    ("app", "message"),
    [
        ("no_such_module:app", 'Could not import module "no_such_module"'),
        ("control:missing", 'Attribute "missing" not found'),
        ("control:not_a_factory_call", "--factory"),
    ],
)
def test_bad_app_exits_3_with_a_clear_message(serve, app, message):
    server = serve(app, wait=False)
    assert server.proc.wait(30) == 3
    assert message in server.log()


def test_app_without_attribute_is_a_usage_error(serve_process):
    server = serve_process("control", wait=False)
    assert server.proc.wait(30) == 2
    assert 'APP: an app is "module:attribute"' in server.log()


def test_port_in_use_exits_1(serve):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = serve("control:slow", "--port", str(port), wait=False)
        assert server.proc.wait(30) == 1
    assert f"127.0.0.1:{port}" in server.log()


def test_unix_socket_with_mode_is_removed_on_exit(serve, tmp_path):
    path = str(tmp_path / "app.sock")
    server = serve("lifespan_apps:with_state", "--uds", path, "--uds-mode", "600")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert get(server).endswith(b"hello from lifespan")
    assert server.stop() == 0
    assert not os.path.exists(path)


def test_stale_unix_socket_is_replaced(serve, tmp_path):
    path = str(tmp_path / "stale.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file stays, nobody listens
    server = serve("lifespan_apps:with_state", "--uds", path)
    assert get(server).endswith(b"hello from lifespan")


def test_inherited_file_descriptor(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    fd = sock.fileno()
    try:
        server = launch(
            tmp_path,
            [sys.executable, "-m", "asgihost", "run", "lifespan_apps:with_state", "--fd", str(fd)],
            port=port,
            pass_fds=(fd,),
        )
        try:
            assert get(server).endswith(b"hello from lifespan")
        finally:
            server.stop()
    finally:
        sock.close()


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
def test_ipv6_listener(serve):
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("::1 is not configured")
    port = free_port()
    server = serve("lifespan_apps:with_state", "--host", "::1", "--port", str(port))
    assert f"http://[::1]:{port}" in server.log()
    with socket.create_connection(("::1", port), timeout=5) as sock:
        assert http_exchange(sock, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").endswith(b"hello from lifespan")


def test_graceful_shutdown_lets_the_request_in_flight_finish(serve):
    server = serve("control:slow")
    result: list[bytes] = []
    sock = server.connect(timeout=10)
    sock.sendall(b"GET /x?800 HTTP/1.1\r\nHost: t\r\n\r\n")
    server.wait_for_log("REQUEST-STARTED")
    reader = threading.Thread(
        target=lambda: result.append(http_exchange(sock, b"", until_close=True, timeout=10))
    )
    reader.start()
    assert server.stop(signal.SIGINT) == 0
    reader.join(10)
    sock.close()
    assert result and result[0].startswith(b"HTTP/1.1 200 ") and result[0].endswith(b"done")
    assert b"connection: close" in result[0]  # no keep-alive past shutdown


def test_graceful_timeout_cancels_what_does_not_finish(serve):
    server = serve("control:forever", "--timeout-graceful-shutdown", "0.5")
    sock = server.connect(timeout=10)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    server.wait_for_log("REQUEST-STARTED")
    assert server.stop(signal.SIGTERM, timeout=10) == 0
    sock.close()
    log = server.log()
    assert "REQUEST-CANCELLED" in log
    assert "timeout graceful shutdown exceeded" in log
    assert "Exception in ASGI application" not in log


def test_a_connection_accepted_before_shutdown_gets_its_first_request_answered(serve):
    server = serve("basic:app")
    with server.connect() as sock:
        # Connections are accepted in the order they came: once a later one is answered, this
        # one has been accepted (and nothing sent on it yet).
        assert get(server).startswith(b"HTTP/1.1 200 ")
        server.proc.send_signal(signal.SIGINT)
        server.wait_for_log("Waiting for connections to close")  # told to drain: now the request
        sock.sendall(b"GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
        response = sock.recv(65536)
    assert response.startswith(b"HTTP/1.1 200 ") and b"connection: close" in response
    assert server.proc.wait(10) == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_stops_at_once(serve_process, sig):
    server = serve_process("control:forever", "--timeout-graceful-shutdown", "60")
    sock = server.connect(timeout=10)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    server.wait_for_log("REQUEST-STARTED")
    server.proc.send_signal(sig)
    server.wait_for_log("Waiting for connections to close")
    assert server.proc.poll() is None  # draining: the request has 60 s
    server.proc.send_signal(sig)
    assert server.proc.wait(10) == 0
    sock.close()
    assert "REQUEST-CANCELLED" in server.log()


@pytest.mark.parametrize(
    ("loop", "name"),
    [("auto", "Loop"), ("uvloop", "Loop"), ("asyncio", "_UnixSelectorEventLoop"), ("none", "_UnixSelectorEventLoop"),
     ("loop_apps:new_loop", "MarkedLoop")],
)  # fmt: skip
def test_every_loop_uvicorn_takes(serve, loop, name):
    """Uvicorn's --loop values, and its loop factory given as "module:callable"."""
    server = serve("loop_apps:app", "--loop", loop)
    assert httpx.get(f"http://127.0.0.1:{server.port}/", timeout=5).text == name


@pytest.mark.parametrize(
    ("loop", "message"),
    [
        ("zuvloop", "--loop zuvloop was asked for, but zuvloop is not installed"),
        (
            "loop_apps:no_such_factory",
            "--loop loop_apps:no_such_factory: the loop factory cannot be imported",
        ),
    ],
)
def test_a_loop_that_cannot_be_had_is_one_line_and_status_1(serve_process, loop, message):
    server = serve_process("loop_apps:app", "--loop", loop, wait=False)
    assert server.proc.wait(15) == 1
    log = server.log()
    assert f"asgihost: error: {message}" in log and "Traceback" not in log


def test_interface_wsgi_says_what_to_use(serve_process):
    server = serve_process("loop_apps:app", "--interface", "wsgi", wait=False)
    assert server.proc.wait(15) == 2
    assert "--interface: asgihost does not serve WSGI apps; wrap the app in an ASGI adapter" in server.log()


def test_uvicorn_app_and_port_from_the_environment_and_the_command_line_wins(tmp_path):
    """``UVICORN_APP=basic:app UVICORN_PORT=P asgihost`` serves, as ``uvicorn`` does; a flag
    beats its variable."""
    port, other = free_port(), free_port()
    env = {"UVICORN_APP": "basic:app", "UVICORN_PORT": str(other), "ASGIHOST_PORT": str(port)}
    server = launch(tmp_path, [sys.executable, "-m", "asgihost"], port=port, env=env)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
    finally:
        assert server.stop() == 0
    flagged = launch(tmp_path, [sys.executable, "-m", "asgihost", "--port", str(other)], port=other, env=env)
    try:
        assert httpx.get(f"http://127.0.0.1:{other}/", timeout=10).status_code == 200
    finally:
        assert flagged.stop() == 0
