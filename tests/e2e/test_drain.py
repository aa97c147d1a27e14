"""A real load loop across two reloads, worker recycles and a drain (the health check at 503
while the apps still serve): every request a client has sent gets its answer, and a
connection closes only after a response that says so."""

from __future__ import annotations

import signal
import socket
import threading
import time

CLIENTS = 8
LOAD_LIMIT_S = 30.0  # the loop stops by itself, whatever happens


class Load:
    """Keep-alive clients sending GET after GET; a request sent and not answered is an error."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.errors: list[str] = []
        self.statuses: dict[bytes, int] = {}
        self.phase = "start"  # what the server is doing, for the error messages
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(CLIENTS)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(LOAD_LIMIT_S)

    def _client(self) -> None:
        deadline = time.monotonic() + LOAD_LIMIT_S
        sock = None
        while not self.stop.is_set() and time.monotonic() < deadline:
            if sock is None:
                try:
                    sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                except OSError as exc:
                    self._error(f"connect: {exc}")
                    return
            try:
                sock.sendall(b"GET /n HTTP/1.1\r\nHost: x\r\n\r\n")
                status, close = _response(sock)
            except OSError as exc:
                self._error(f"request sent, no response: {exc!r}")
                sock.close()
                sock = None
                continue
            with self.lock:
                self.ok += 1
                self.statuses[status] = self.statuses.get(status, 0) + 1
            if close:
                sock.close()
                sock = None
        if sock is not None:
            sock.close()

    def _error(self, text: str) -> None:
        with self.lock:
            self.errors.append(f"{self.phase}: {text}")

    def wait_for(self, count: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while self.ok < count and time.monotonic() < deadline and not self.errors:
            time.sleep(0.01)


def _response(sock: socket.socket) -> tuple[bytes, bool]:
    """(status, whether the server closes after it) of one response with a Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("closed before a response")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    length = next(int(x.split(b":")[1]) for x in lines if x.startswith(b"content-length:"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("closed within a response")
        body += chunk
    return lines[0].split(b" ")[1], b"connection: close" in lines


def test_reloads_recycles_and_the_drain_lose_no_request(serve, tmp_path):
    config = tmp_path / "asgihost.toml"
    config.write_text(
        """
[server]
workers = 2
max_requests = 300

[health]
path = "/healthz"
drain_delay = 2.0

[logging]
access_log = false

[apps.main]
app = "basic:app"
"""
    )
    server = serve(str(config))
    with Load(server.port) as load:
        load.wait_for(200)
        for reloads in (1, 2):
            load.phase = f"reload {reloads}"
            server.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 20
            while server.log().count("Reloaded:") < reloads and time.monotonic() < deadline:
                time.sleep(0.02)
            assert server.log().count("Reloaded:") == reloads, server.log()
            if reloads == 1:
                load.wait_for(load.ok + 200)
        # At once, while the workers the reload retired are still in their own drain delay: they
        # drain on; the health check says 503 and every worker still serves.
        deadline = time.monotonic() + 10  # both reloads' old workers are in their drain delay
        while server.log().count("the graceful stop begins") < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        load.phase = "drain"
        server.proc.send_signal(signal.SIGTERM)
        server.wait_for_log("the graceful stop begins")
        load.wait_for(load.ok + 300)
    assert server.proc.wait(30) == 0
    assert load.errors == [], (load.errors[:5], server.log()[-3000:])
    assert set(load.statuses) == {b"200"}, load.statuses
    assert load.ok > 600
    assert "reached its max requests" in server.log()  # recycles happened under the load


def test_a_stop_during_a_reload_lets_the_retired_workers_finish_their_drain(serve, tmp_path):
    """Workers a reload retired are in their drain delay, serving their keep-alive connections:
    the server's own stop must not stop them at once (a second SIGTERM would)."""
    config = tmp_path / "asgihost.toml"
    config.write_text(
        '[server]\nworkers = 2\n\n[health]\npath = "/healthz"\ndrain_delay = 8.0\n\n'
        '[apps.main]\napp = "basic:app"\n'
    )
    server = serve(str(config))
    connections = [server.connect(timeout=10) for _ in range(4)]
    try:
        for sock in connections:
            sock.sendall(b"GET /n HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _response(sock)[0] == b"200"
        server.proc.send_signal(signal.SIGHUP)
        server.wait_for_log("Reloaded:", timeout=30)
        _wait_count(server, "the graceful stop begins", 2)  # the old workers drain
        server.proc.send_signal(signal.SIGTERM)
        _wait_count(server, "the graceful stop begins", 4)  # and now the new ones
        for sock in connections:  # still on the old workers, 8 s into nothing yet
            sock.sendall(b"GET /n HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _response(sock)[0] == b"200"
    finally:
        for sock in connections:
            sock.close()
    assert server.proc.wait(60) == 0


def _wait_count(server, text: str, count: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while server.log().count(text) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.log().count(text) >= count, server.log()
