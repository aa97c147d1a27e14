"""Shared fixtures: start the real server in a subprocess on a free loopback port and wait for it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
APPS = TESTS / "apps"
ROOT = TESTS.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningServer:
    """A server process; ``log()`` returns what it has written so far."""

    def __init__(
        self, proc: subprocess.Popen[bytes], log_path: Path, port: int | None, uds: str | None
    ) -> None:
        self.proc = proc
        self.log_path = log_path
        self.port = port
        self.uds = uds
        self.host = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def connect(self, timeout: float = 5.0) -> socket.socket:
        if self.uds:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(self.uds)
            return sock
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def wait_for_log(self, text: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if text in log:
                return log
            time.sleep(0.02)
        raise AssertionError(f"{text!r} not in server log:\n{self.log()}")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"server did not stop within {timeout}s:\n{self.log()}") from None
        return self.proc.returncode


def _wait_ready(server: RunningServer, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"server exited with {server.proc.returncode}:\n{server.log()}")
        if "running on" in server.log():
            return
        time.sleep(0.02)
    server.stop(signal.SIGKILL)
    raise AssertionError(f"server did not start:\n{server.log()}")


def launch(
    tmp_path: Path,
    argv: list[str],
    *,
    port: int | None = None,
    uds: str | None = None,
    wait: bool = True,
    env: dict[str, str] | None = None,
    pass_fds: tuple[int, ...] = (),
) -> RunningServer:
    log_path = tmp_path / f"server-{len(list(tmp_path.glob('server-*.log')))}.log"
    log_file = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    full_env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(APPS))
    full_env.update(env or {})
    proc = subprocess.Popen(
        argv, stdout=log_file, stderr=subprocess.STDOUT, env=full_env, cwd=str(APPS), pass_fds=pass_fds
    )
    log_file.close()
    server = RunningServer(proc, log_path, port, uds)
    if wait:
        _wait_ready(server)
    return server


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    """``serve("module:app", "--flag", ...)`` runs ``asgihost run`` on a free port."""
    started: list[RunningServer] = []

    def start(app: str, *flags: str, wait: bool = True, env: dict[str, str] | None = None) -> RunningServer:
        uds = None
        port = None
        if "--uds" in flags:
            uds = flags[flags.index("--uds") + 1]
            extra: list[str] = []
        elif "--fd" in flags or "--port" in flags:
            extra = []
        else:
            port = free_port()
            extra = ["--port", str(port)]
        argv = [sys.executable, "-m", "asgihost", "run", app, *extra, *flags]
        server = launch(tmp_path, argv, port=port, uds=uds, wait=wait, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.stop(signal.SIGKILL)


def check_config(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    """``asgihost check`` of an asgihost.toml holding ``text`` (written to ``tmp_path``)."""
    config = tmp_path / "asgihost.toml"
    config.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "asgihost", "check", str(config)], capture_output=True, text=True, timeout=30
    )


def http_exchange(
    sock: socket.socket, request: bytes, *, until_close: bool = False, timeout: float = 5.0
) -> bytes:
    """Send raw bytes; read until the peer closes (``until_close``) or one response is complete."""
    sock.settimeout(timeout)
    sock.sendall(request)
    data = bytearray()
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
        if not until_close and _complete(data):
            break
    return bytes(data)


def _complete(data: bytearray) -> bool:
    end = data.find(b"\r\n\r\n")
    if end == -1:
        return False
    head = bytes(data[:end]).lower()
    body_len = len(data) - end - 4
    if b"content-length:" in head:
        return body_len >= int(head.split(b"content-length:")[1].split(b"\r\n")[0])
    if b"transfer-encoding: chunked" in head:
        return data.endswith(b"0\r\n\r\n")
    status_line = head.split(b"\r\n")[0]
    return status_line.startswith(b"http/1.1 1") or b" 204 " in status_line or b" 304 " in status_line
