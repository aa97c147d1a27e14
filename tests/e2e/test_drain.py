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
drain_delay = 1.0

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
            load.wait_for(load.ok + 200)
        load.phase = "drain"
        server.proc.send_signal(signal.SIGTERM)  # the health check says 503, the apps still serve
        server.wait_for_log("the graceful stop begins")
        load.wait_for(load.ok + 100)
    assert server.proc.wait(30) == 0
    assert load.errors == [], (load.errors[:5], server.log()[-3000:])
    assert set(load.statuses) == {b"200"}, load.statuses
    assert load.ok > 600
    assert "reached its max requests" in server.log()  # recycles happened under the load
