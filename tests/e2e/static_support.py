"""What the tests of files going out share: a site with a static app (and apps) written as an
asgihost.toml, raw HTTP/1.1 reading (a head, a body by Content-Length or chunked framing),
a process's resident memory, and a TCP socket's state as the kernel sees it."""

from __future__ import annotations

import socket
import ssl
import struct
import time
from pathlib import Path
from typing import Any

import trustme
from conftest import free_port

MIB = 1 << 20
TCP_ESTABLISHED = 1


def write_site(
    tmp_path: Path, body: str, *, tls: bool = False, also_tls: bool = False, limits: str = "", extra: str = ""
) -> Path:
    """An asgihost.toml in ``tmp_path``: one listener (TLS with a certificate for 127.0.0.1
    when ``tls``; the CA at tmp_path/ca.pem), ``[limits]`` holding ``limits``, the apps
    ``body``, and ``extra`` (other tables); its port is ``site_port(tmp_path)``. With
    ``also_tls`` a second listener, of TLS, at ``site_port(tmp_path, "tls")``."""
    port = free_port()
    own_tls = 'tls = { certfile = "server.pem" }\n'
    listener = f'[listeners.web]\nbind = "127.0.0.1:{port}"\n' + (own_tls if tls else "")
    if also_tls:
        second = free_port()
        (tmp_path / "tls-port").write_text(str(second))
        listener += f'[listeners.tls]\nbind = "127.0.0.1:{second}"\n' + own_tls
    if tls or also_tls:
        ca = trustme.CA()
        ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(
            str(tmp_path / "server.pem")
        )
        ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    text = f"[logging]\naccess_log = true\n[limits]\n{limits}\n{listener}{extra}\n{body}"
    config = tmp_path / "asgihost.toml"
    config.write_text(text)
    (tmp_path / "port").write_text(str(port))
    return config


def site_port(tmp_path: Path, listener: str = "") -> int:
    return int((tmp_path / (f"{listener}-port" if listener else "port")).read_text())


def client_context(tmp_path: Path, alpn: list[str] | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


def connect(
    port: int, *, rcvbuf: int = 0, context: ssl.SSLContext | None = None, timeout: float = 10.0
) -> Any:
    """A client socket to 127.0.0.1:port (its receive buffer set before connecting, so the
    window it offers is small from the start), TLS over it when ``context`` is given."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    if context is not None:
        return context.wrap_socket(sock, server_hostname="127.0.0.1")
    return sock


class Reader:
    """Raw HTTP/1.1 responses off a socket, read in bounded pieces."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def _more(self, size: int = 1 << 20) -> None:
        chunk = self.sock.recv(size)
        if not chunk:
            raise EOFError(f"the server closed the connection ({len(self.buffer)} bytes unread)")
        self.buffer += chunk

    def head(self) -> tuple[int, dict[str, str]]:
        """The status and headers (lower-case names; the last of a repeated name)."""
        while (end := self.buffer.find(b"\r\n\r\n")) == -1:
            assert len(self.buffer) < 65536, "no end of head"
            self._more(65536)
        lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        del self.buffer[: end + 4]
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    def exactly(self, count: int, keep: bool = True) -> bytes:
        """The next ``count`` bytes (only counted, not kept, when ``keep`` is false)."""
        kept = bytearray()
        while count:
            if not self.buffer:
                self._more()
            take = min(count, len(self.buffer))
            if keep:
                kept += self.buffer[:take]
            del self.buffer[:take]
            count -= take
        return bytes(kept)

    def line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) == -1:
            assert len(self.buffer) < 4096, "no end of line"
            self._more(4096)
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 2]
        return line

    def chunked(self, limit: int = 64 * MIB) -> tuple[bytes, list[int]]:
        """A chunked body, checked as RFC 9112 frames it: its bytes and its chunks' sizes."""
        body = bytearray()
        sizes = []
        while True:
            size = int(self.line().split(b";")[0], 16)
            if size == 0:
                assert self.line() == b"", "trailers or a bad last chunk"
                return bytes(body), sizes
            sizes.append(size)
            body += self.exactly(size)
            assert self.line() == b"", "a chunk's data not followed by CRLF"
            assert len(body) <= limit

    def body(self, headers: dict[str, str], keep: bool = True) -> bytes:
        if headers.get("transfer-encoding") == "chunked":
            return self.chunked()[0]
        return self.exactly(int(headers["content-length"]), keep)


def request(path: str, method: str = "GET", extra: str = "", close: bool = False) -> bytes:
    connection = "connection: close\r\n" if close else ""
    return f"{method} {path} HTTP/1.1\r\nhost: t\r\n{connection}{extra}\r\n".encode()


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


class Memory:
    """The resident memory of process ``pid``, from now: ``grown()`` is how far its peak
    (VmHWM, reset at the start through /proc/PID/clear_refs) rose above its VmRSS at the
    start. The peak, not the end: memory held while sending and freed after counts."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak is the current RSS again
        self.start = _status(pid, "VmRSS")

    def grown(self) -> int:
        return _status(self.pid, "VmHWM") - self.start


def tcp_state(sock: Any) -> int:
    """The kernel's state of a TCP socket (TCP_INFO's first byte: 1 established, 7 closed,
    8 close-wait), read without touching its data."""
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    return struct.unpack("B", raw[:1])[0]


def wait_closed_by_peer(sock: Any, timeout: float) -> float:
    """Seconds until the peer has closed or reset the connection (polled, never read); fails
    after ``timeout``."""
    started = time.monotonic()
    deadline = started + timeout
    while tcp_state(sock) == TCP_ESTABLISHED:
        assert time.monotonic() < deadline, f"the server kept the connection open for {timeout}s"
        time.sleep(0.02)
    return time.monotonic() - started


def read_to_end(sock: Any, limit: int) -> int:
    """Bytes read until EOF or a reset (at most ``limit``: the test's bound)."""
    total = 0
    while total <= limit:
        try:
            chunk = sock.recv(1 << 20)
        except (ConnectionResetError, ssl.SSLError, ssl.SSLEOFError):
            return total
        if not chunk:
            return total
        total += len(chunk)
    raise AssertionError(f"more than {limit} bytes after the server should have stopped")


class H2Client:
    """A raw HTTP/2 client (h2c, prior knowledge) that reads bodies and drops them: large
    frames and windows, so that the client is not what is measured."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        import h2.config
        import h2.connection
        import h2.settings

        self.events = __import__("h2.events").events
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        )
        codes = h2.settings.SettingCodes
        self.conn.local_settings = h2.settings.Settings(
            client=True,
            initial_values={codes.INITIAL_WINDOW_SIZE: 2**31 - 1, codes.MAX_FRAME_SIZE: 2**24 - 1},
        )
        self.conn.initiate_connection()
        # (h2 itself takes the larger frames only once the server has acknowledged them)
        self.conn.max_inbound_frame_size = self.conn.incoming_buffer.max_frame_size = 2**24 - 1
        self.conn.increment_flow_control_window(2**31 - 1 - 65535)
        self.sock.sendall(self.conn.data_to_send())

    def get(self, path: str, headers: dict[str, str], limit: int) -> tuple[dict[str, str], int]:
        """The response head and the number of body bytes (at most ``limit``: the bound)."""
        stream = self.conn.get_next_available_stream_id()
        fields = [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", "t")]
        self.conn.send_headers(stream, fields + list(headers.items()), end_stream=True)
        self.sock.sendall(self.conn.data_to_send())
        head: dict[str, str] = {}
        got = unacked = 0
        while got <= limit:
            data = self.sock.recv(1 << 20)
            if not data:
                raise EOFError("the server closed the connection")
            for event in self.conn.receive_data(data):
                if isinstance(event, self.events.ResponseReceived):
                    head = dict(event.headers)
                elif isinstance(event, self.events.DataReceived):
                    got += len(event.data)
                    unacked += event.flow_controlled_length
                elif isinstance(event, self.events.StreamEnded):
                    return head, got
                elif isinstance(event, self.events.StreamReset):
                    raise AssertionError(f"stream reset: {event}")
            if unacked >= 64 * MIB:
                self.conn.increment_flow_control_window(unacked, stream_id=stream)
                self.conn.increment_flow_control_window(unacked)
                unacked = 0
            self.sock.sendall(self.conn.data_to_send())
        raise AssertionError(f"more than {limit} body bytes")

    def close(self) -> None:
        self.sock.close()
