"""Files and server configurations for suite.py's ``static`` and ``pathsend`` scenarios.

Everything is written into a temporary directory the suite owns: the files served (random bytes,
so a server that sends the wrong ones fails its check), the ``asgihost.toml`` of a static app, and
nginx's own ``nginx.conf`` with its pid file and temp paths beside it, so Debian's nginx runs in
the foreground (``daemon off``) without reading or writing anything under /etc, /var or /run.

It is also a load generator for big files (``python files.py splice HOST PORT PATH CONNS SECONDS``):
on loopback the receiver makes the only copy of the bytes, and wrk, copying them 8 KiB at a time
on one CPU, is what limits every server that uses sendfile (about 1.1 GB/s here, nginx and
Granian alike). This client moves each response body from the socket into a pipe and on to
/dev/null with splice(2), which copies nothing, so the server's side is what is measured.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

KIB, MIB = 1 << 10, 1 << 20
BLOCK = MIB  # a big file is one random block repeated: cheap to write, still not all zeros
STATIC_MOUNT = "/static"
NGINX_TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ (Linux), missing from fcntl before Python 3.10
SPLICE_CHUNK = MIB
SPLICE_TIMEOUT_S = 5.0  # a socket that gives nothing for this long is an error, as wrk's --timeout
MAX_HEAD = 64 * KIB


@dataclass(frozen=True)
class File:
    """A file written for a benchmark: its URL path under a mount, its size and its SHA-256."""

    name: str
    path: Path
    size: int
    sha256: str

    def matches(self, body: bytes) -> bool:
        return len(body) == self.size and hashlib.sha256(body).hexdigest() == self.sha256


def write_file(directory: Path, name: str, size: int) -> File:
    """``size`` random bytes (a random block repeated past 1 MiB) in ``directory/name``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    digest = hashlib.sha256()
    block = os.urandom(min(size, BLOCK))
    with open(path, "wb") as f:
        left = size
        while left:
            piece = block[:left]
            f.write(piece)
            digest.update(piece)
            left -= len(piece)
    return File(name, path, size, digest.hexdigest())


def size_name(size: int) -> str:
    """1024 -> '1 KiB', 104857600 -> '100 MiB'."""
    return f"{size // MIB} MiB" if size >= MIB and not size % MIB else f"{size // KIB} KiB"


def static_site(directory: Path, root: Path) -> Path:
    """An asgihost.toml with one static app serving ``root`` at ``/static`` (host and port: flags)."""
    site = directory / "asgihost.toml"
    directory.mkdir(parents=True, exist_ok=True)
    content = {"apps": {"files": {"mount": STATIC_MOUNT, "static": {"root": str(root)}}}}
    site.write_text(tomli_w.dumps(content), encoding="utf-8")
    return site


def nginx_conf(prefix: Path, root: Path, host: str, port: int) -> Path:
    """nginx.conf for one worker serving ``root`` at ``/static/`` on host:port, all paths in ``prefix``.

    The directives are the benchmark's (``sendfile on; tcp_nopush on; access_log off``) and
    ``keepalive_requests`` high enough that no connection is closed during a run (asgihost closes
    none either); everything else is nginx's default. As root, the worker stays root: the files
    are in a temporary directory only root may enter.
    """
    prefix.mkdir(parents=True, exist_ok=True)
    temps = "\n".join(f"    {kind}_temp_path {prefix / ('temp_' + kind)};" for kind in NGINX_TEMP_PATHS)
    user = "user root;\n" if os.geteuid() == 0 else ""
    text = f"""{user}worker_processes 1;
daemon off;
pid {prefix / "nginx.pid"};
error_log stderr warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
{temps}
    server {{
        listen {host}:{port};
        location {STATIC_MOUNT}/ {{
            alias {root}/;
        }}
    }}
}}
"""
    conf = prefix / f"nginx-{port}.conf"
    conf.write_text(text, encoding="utf-8")
    return conf


def nginx_argv(prefix: Path, root: Path, host: str, port: int) -> list[str]:
    conf = nginx_conf(prefix, root, host, port)
    return ["nginx", "-p", str(prefix), "-e", "stderr", "-c", str(conf)]


def nginx_version() -> str | None:
    """``1.22.1`` from ``nginx -v`` (it prints to stderr), or None without nginx."""
    if not shutil.which("nginx"):
        return None
    try:
        proc = subprocess.run(["nginx", "-v"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (proc.stderr or proc.stdout).strip().rpartition("/")[2] or "?"


# ---- the splice load generator ----------------------------------------------------------------------


def _read_until(sock: socket.socket, marker: bytes, deadline: float) -> bytes:
    """Read exactly up to and including ``marker``, leaving what follows queued in the socket."""
    while True:
        peek = sock.recv(MAX_HEAD, socket.MSG_PEEK)
        if not peek:
            raise ConnectionError("the server closed the connection")
        end = peek.find(marker)
        if end >= 0:
            return sock.recv(end + len(marker), socket.MSG_WAITALL)
        if len(peek) >= MAX_HEAD or time.monotonic() > deadline:
            raise ValueError(f"no {marker!r} in {peek[:80]!r}")
        time.sleep(0.0005)  # the rest is on its way; MSG_PEEK would not wait for it


def _read_head(sock: socket.socket, deadline: float) -> tuple[int, int | None]:
    """Status and Content-Length (None: chunked) of the response, reading exactly its head."""
    lines = _read_until(sock, b"\r\n\r\n", deadline).decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = [x.partition(":") for x in lines[1:]]
    lengths = [v.strip() for k, _, v in fields if k.strip().lower() == "content-length"]
    chunked = any(k.strip().lower() == "transfer-encoding" and "chunked" in v.lower() for k, _, v in fields)
    if len(lengths) == 1 and not chunked:
        return status, int(lengths[0])
    if chunked and not lengths:
        return status, None
    raise ValueError(f"neither one content-length nor chunked: {lines!r}")


def _discard(
    sock: socket.socket, left: int, pipe_r: int, pipe_w: int, null: int, end: float, box: Any
) -> bool:
    """Splice ``left`` body bytes from the socket through the pipe to /dev/null; False if out of time."""
    while left and time.monotonic() < end:
        moved = os.splice(sock.fileno(), pipe_w, min(left, SPLICE_CHUNK))
        if not moved:
            raise ConnectionError("the server closed the connection mid-body")
        left -= moved
        box["bytes"] += moved
        while moved:
            moved -= os.splice(pipe_r, null, moved)
    return not left


def _discard_chunks(sock: socket.socket, pipe_r: int, pipe_w: int, null: int, end: float, box: Any) -> bool:
    """A chunked body: each size line read, each chunk spliced away; False if out of time."""
    while time.monotonic() < end:
        size = int(_read_until(sock, b"\r\n", end + SPLICE_TIMEOUT_S).split(b";")[0], 16)
        if not size:
            _read_until(sock, b"\r\n", end + SPLICE_TIMEOUT_S)  # no trailers are sent here
            return True
        if not _discard(sock, size, pipe_r, pipe_w, null, end, box):
            return False
        if sock.recv(2, socket.MSG_WAITALL) != b"\r\n":
            raise ValueError("a chunk without its CRLF")
    return False


def _splice_connection(host: str, port: int, path: str, end: float, box: dict[str, Any]) -> None:
    """GET ``path`` over and over on one keep-alive connection until ``end``; body bytes go to /dev/null."""
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode("ascii")
    pipe_r, pipe_w = os.pipe()
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        fcntl.fcntl(pipe_w, F_SETPIPE_SZ, SPLICE_CHUNK)
        with socket.create_connection((host, port), timeout=SPLICE_TIMEOUT_S) as sock:
            # splice(2) wants a blocking socket; the kernel's own timeouts bound every call instead
            sock.settimeout(None)
            timeval = struct.pack("ll", int(SPLICE_TIMEOUT_S), 0)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
            while time.monotonic() < end:
                sock.sendall(request)
                status, length = _read_head(sock, end + SPLICE_TIMEOUT_S)
                if status != 200:
                    box["non_2xx"] += 1
                if length is not None:
                    done = _discard(sock, length, pipe_r, pipe_w, null, end, box)
                else:
                    done = _discard_chunks(sock, pipe_r, pipe_w, null, end, box)
                box["responses"] += done
    except (OSError, ValueError) as exc:
        box["errors"].append(repr(exc))
    finally:
        for fd in (pipe_r, pipe_w, null):
            os.close(fd)


def splice_load(host: str, port: int, path: str, connections: int, seconds: float) -> dict[str, Any]:
    """``connections`` threads (splice releases the GIL) for ``seconds``: body bytes, responses, errors."""
    boxes = [{"bytes": 0, "responses": 0, "non_2xx": 0, "errors": []} for _ in range(connections)]
    started = time.monotonic()
    end = started + seconds
    threads = [
        threading.Thread(target=_splice_connection, args=(host, port, path, end, box), daemon=True)
        for box in boxes
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 2 * SPLICE_TIMEOUT_S)
    elapsed = min(time.monotonic(), end) - started
    errors = [e for b in boxes for e in b["errors"]] + ["a connection overran"] * sum(
        t.is_alive() for t in threads
    )
    return {
        "read_bytes": sum(b["bytes"] for b in boxes),
        "seconds": elapsed,
        "responses": sum(b["responses"] for b in boxes),
        "non_2xx": sum(b["non_2xx"] for b in boxes),
        "errors": errors,
    }


if __name__ == "__main__":
    if len(sys.argv) != 7 or sys.argv[1] != "splice":
        sys.exit("usage: python files.py splice HOST PORT PATH CONNECTIONS SECONDS")
    _, _, host_, port_, path_, conns_, seconds_ = sys.argv
    print(json.dumps(splice_load(host_, int(port_), path_, int(conns_), float(seconds_))))
