"""WebSocket echo round trips: asgihost against Uvicorn (wsproto and websockets), same app, same flags.

  uv run --group bench python benchmarks/ws.py [--rounds N] [--duration S] [--connections C]
      [--size B] [--binary] [--pipeline N] [--compression] [--uvicorn-ws wsproto,websockets] [--json]

Every server serves ``benchmarks.apps:ws_echo`` (accept, then send every message back) as ONE
process (no workers), access log off, on 127.0.0.1 only, on a free port, with the same
``--loop``/``--http`` and permessage-deflate off unless ``--compression``. Uvicorn is measured
once per WebSocket implementation (``--ws wsproto``, ``--ws websockets``) whose library is
importable; each is a peer of its own. The load generator is ``ws_client/client.mjs`` (Node.js,
npm package ``ws``): ``--connections`` WebSockets, each sending a ``--size``-byte message and
waiting for its echo before sending the next (``--pipeline N``: N in flight), so messages/s are
round trips per second. With two or more CPUs the server is pinned to one CPU and the client to
another (taskset). Servers alternate round by round (A B C A B C ...); each round starts a fresh
server process, checks one echo with a small Python client, warms up, then measures.

A peer that fails the WebSocket handshake (asgihost before it supports WebSockets) is reported
as a problem and not tried again. Exit status: 1 when a problem was seen, 2 when Node.js or the
client's npm packages are missing, else 0. Nothing here asserts timings; the numbers are for
people to read.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from http1 import (
    HOST,
    ROOT,
    SOCKET_TIMEOUT_S,
    START_TIMEOUT_S,
    Server,
    bounded_int,
    cpu_plan,
    fmt_ms,
    free_port,
    installed,
    median_or_none,
    module_version,
    pinned,
    raise_nofile,
    rss_kib,
    scan_log,
    write_report,
)

CLIENT_DIR = ROOT / "benchmarks" / "ws_client"
CLIENT = CLIENT_DIR / "client.mjs"
APP = "benchmarks.apps:ws_echo"
APP_HTTP_BODY = b"WebSocket echo: connect with a WebSocket client.\n"  # apps.WS_ECHO_HTTP_BODY

WARMUP_S = 1  # client warm-up before each measured run
CONNECT_TIMEOUT_S = 10  # per WebSocket handshake in the client
CLIENT_SLACK_S = 30  # client subprocess timeout beyond connect + duration
NPM_TIMEOUT_S = 300
CLIENT_CPU_WARN = 0.9  # a client busier than this may be the bottleneck
MAX_HEAD = 64 * 1024
MAX_FRAMES = 10_000
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
UVICORN_WS = ("wsproto", "websockets", "websockets-sansio")
UVICORN_WS_MODULE = {"wsproto": "wsproto", "websockets": "websockets", "websockets-sansio": "websockets"}


class HandshakeError(Exception):
    """The server did not switch to WebSocket, or did not echo correctly."""


# ---- a tiny blocking WebSocket client (RFC 6455), for the check before and after each round ------


def _recv_exact(sock: socket.socket, buf: bytearray, n: int, deadline: float) -> bytes:
    while len(buf) < n:
        if time.monotonic() > deadline:
            raise HandshakeError("timed out waiting for a frame")
        chunk = sock.recv(max(65536, n - len(buf)))
        if not chunk:
            raise HandshakeError("the server closed the connection")
        buf += chunk
    out = bytes(buf[:n])
    del buf[:n]
    return out


def _frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked client frame."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 1 << 16:
        head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    key = os.urandom(4)
    mask = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big") if n else b""
    return head + key + masked


def _read_message(sock: socket.socket, buf: bytearray, deadline: float) -> tuple[int, bytes]:
    """(opcode, payload) of the next data or close message; pings and pongs are skipped."""
    opcode, parts = None, []
    for _ in range(MAX_FRAMES):
        b0, b1 = _recv_exact(sock, buf, 2, deadline)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(_recv_exact(sock, buf, 2, deadline), "big")
        elif n == 127:
            n = int.from_bytes(_recv_exact(sock, buf, 8, deadline), "big")
        if n > 64 * 1024 * 1024:
            raise HandshakeError(f"a frame of {n} bytes")
        key = _recv_exact(sock, buf, 4, deadline) if b1 & 0x80 else b""
        data = _recv_exact(sock, buf, n, deadline)
        if key:
            data = bytes(c ^ key[i % 4] for i, c in enumerate(data))
        op = b0 & 0x0F
        if op in (0x9, 0xA):  # ping, pong
            continue
        if op == 0x8:
            return op, data
        if op != 0x0:
            opcode = op
        parts.append(data)
        if b0 & 0x80:
            if opcode is None:
                raise HandshakeError("a continuation frame without a first frame")
            return opcode, b"".join(parts)
    raise HandshakeError("too many frames")


def _describe_refusal(status_line: str, body: bytes) -> str:
    text = f"answered the WebSocket handshake with {status_line!r}"
    if body:
        text += f", body {body[:200]!r}"
    if status_line.split()[1:2] == ["426"] and body == APP_HTTP_BODY:
        text += (
            " -- that is the echo app's answer to plain HTTP: the server handed the upgrade request to"
            " the app as an HTTP request, i.e. it has no WebSocket support (yet)"
        )
    elif status_line.split()[1:2] == ["200"]:
        text += " -- the server treated it as a plain HTTP request (no WebSocket support?)"
    return text


def ws_echo_check(port: int, size: int, binary: bool) -> str:
    """Handshake, one echo of a ``size``-byte message, close handshake; the negotiated extensions."""
    deadline = time.monotonic() + SOCKET_TIMEOUT_S + size / 1e6
    key = base64.b64encode(os.urandom(16))
    request = (
        b"GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (HOST.encode(), port, key)
    )
    with socket.create_connection((HOST, port), timeout=SOCKET_TIMEOUT_S) as sock:
        sock.sendall(request)
        buf = bytearray()
        while b"\r\n\r\n" not in buf:
            if len(buf) > MAX_HEAD or time.monotonic() > deadline:
                raise HandshakeError("no complete answer to the WebSocket handshake")
            chunk = sock.recv(65536)
            if not chunk:
                raise HandshakeError(
                    "closed the connection without answering the WebSocket handshake"
                    + (f" (sent {bytes(buf[:200])!r})" if buf else "")
                )
            buf += chunk
        head, _, rest = bytes(buf).partition(b"\r\n\r\n")
        buf = bytearray(rest)
        lines = head.decode("latin-1").split("\r\n")
        status_line = lines[0]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status_line.split()[1:2] != ["101"]:
            body = bytes(buf[:4096])
            with contextlib.suppress(OSError, ValueError, HandshakeError):
                length = min(int(headers.get("content-length", "0")), 4096)
                body = _recv_exact(sock, buf, length, min(deadline, time.monotonic() + 1))
            raise HandshakeError(_describe_refusal(status_line, body))
        accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            raise HandshakeError(
                f"101 with a wrong Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}"
            )
        payload = (b"0123456789abcdef" * (size // 16 + 1))[:size]
        opcode = 0x2 if binary else 0x1
        sock.sendall(_frame(opcode, payload))
        got_op, got = _read_message(sock, buf, deadline)
        if (got_op, got) != (opcode, payload):
            raise HandshakeError(
                f"echoed opcode {got_op} with {len(got)} bytes for opcode {opcode} with {len(payload)} bytes"
            )
        sock.sendall(_frame(0x8, (1000).to_bytes(2, "big")))
        with contextlib.suppress(OSError, HandshakeError):
            for _ in range(10):  # until the server's close frame (or EOF)
                if _read_message(sock, buf, min(deadline, time.monotonic() + 2))[0] == 0x8:
                    break
        return headers.get("sec-websocket-extensions", "")


# ---- servers ------------------------------------------------------------------------------------------

_asgihost_help: str | None = None


def asgihost_deflate_flag(compression: bool) -> list[str]:
    """asgihost's permessage-deflate flag, in whichever form its ``run --help`` shows; [] if none."""
    global _asgihost_help
    if _asgihost_help is None:
        try:
            out = subprocess.run(
                [sys.executable, "-m", "asgihost", "run", "--help"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
            )
            _asgihost_help = out.stdout
        except (OSError, subprocess.TimeoutExpired):
            _asgihost_help = ""
    if "--no-ws-per-message-deflate" in _asgihost_help:
        return ["--ws-per-message-deflate" if compression else "--no-ws-per-message-deflate"]
    if "--ws-per-message-deflate" in _asgihost_help:  # Uvicorn's form: a boolean value
        return ["--ws-per-message-deflate", "true" if compression else "false"]
    return []


def peer_argv(peer: str, port: int, loop: str, compression: bool) -> list[str]:
    common = [
        APP,
        "--host",
        HOST,
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--loop",
        loop,
        "--http",
        "httptools",
    ]
    if peer == "asgihost":
        return [sys.executable, "-m", "asgihost", "run", *common, *asgihost_deflate_flag(compression)]
    if peer.startswith("uvicorn(") and peer.endswith(")"):
        impl = peer[len("uvicorn(") : -1]
        deflate = "true" if compression else "false"
        return [sys.executable, "-m", "uvicorn", *common, "--ws", impl, "--ws-per-message-deflate", deflate]
    raise ValueError(peer)


class WsServer(Server):
    """http1.Server with a WebSocket command line: ready once it accepts TCP connections."""

    def __init__(self, peer: str, loop: str, cpu: int | None, compression: bool):
        self.name = peer
        self.port = free_port()
        self.argv = pinned(peer_argv(peer, self.port, loop, compression), cpu)
        self.log = tempfile.TemporaryFile()
        self.proc = None

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        last: Exception | None = None
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=SOCKET_TIMEOUT_S):
                    return
            except OSError as exc:
                last = exc
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not listen on port {self.port}: {last}\n{self.output()}")


# ---- the Node.js client ----------------------------------------------------------------------------


def node_version() -> str | None:
    try:
        out = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def ws_package_version() -> str | None:
    try:
        with open(CLIENT_DIR / "node_modules" / "ws" / "package.json", encoding="utf-8") as f:
            return str(json.load(f)["version"])
    except (OSError, ValueError, KeyError):
        return None


def ensure_client(log: Any) -> str | None:
    """None when the client can run, else what is missing (the caller exits with status 2)."""
    if not shutil.which("node"):
        return (
            "Node.js is not installed; the load generator is a Node.js script.\n"
            "On Debian/Ubuntu: sudo apt-get install -y nodejs npm"
        )
    if ws_package_version() is not None:
        return None
    if not shutil.which("npm"):
        return "npm is not installed (needed once, for the `ws` package). On Debian/Ubuntu: sudo apt-get install -y npm"
    print(f"installing the client's npm packages in {CLIENT_DIR} ...", file=log, flush=True)
    try:
        out = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"],
            cwd=CLIENT_DIR,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return f"`npm install` in {CLIENT_DIR} did not finish within {NPM_TIMEOUT_S} s"
    except OSError as exc:
        return f"`npm install` in {CLIENT_DIR} could not run: {exc}"
    if out.returncode != 0 or ws_package_version() is None:
        return (
            f"`npm install` in {CLIENT_DIR} failed ({out.returncode}):\n{(out.stderr or out.stdout)[-2000:]}"
        )
    return None


def run_client(port: int, duration: int, args: argparse.Namespace, cpu: int | None) -> dict[str, Any]:
    cmd = [
        "node",
        str(CLIENT),
        f"ws://{HOST}:{port}/",
        str(args.connections),
        str(duration),
        str(args.size),
        "binary" if args.binary else "text",
        "--pipeline",
        str(args.pipeline),
        "--connect-timeout",
        str(CONNECT_TIMEOUT_S),
    ]
    if args.compression:
        cmd.append("--compression")
    timeout = duration + CONNECT_TIMEOUT_S + CLIENT_SLACK_S
    proc = subprocess.run(pinned(cmd, cpu), cwd=CLIENT_DIR, capture_output=True, text=True, timeout=timeout)
    lines = proc.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
        result["messages_per_s"] = result["messages"] / result["seconds"] if result["seconds"] else 0.0
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        raise RuntimeError(
            f"the client failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[-2000:]}"
        ) from exc
    return result


# ---- a round -------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/PID/stat; 0.0 when unreadable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def ws_round(peer: str, args: argparse.Namespace, ctx: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    with WsServer(peer, ctx["loop"], ctx["server_cpu"], args.compression) as server:
        try:
            ws_echo_check(server.port, args.size, args.binary)
        except OSError as exc:
            raise HandshakeError(f"failed the WebSocket handshake: {exc}") from exc
        run_client(server.port, WARMUP_S, args, ctx["client_cpu"])
        rss_before = rss_kib(server.pid)
        cpu_before = cpu_seconds(server.pid)
        result = run_client(server.port, args.duration, args, ctx["client_cpu"])
        result["server_cpu"] = (
            round((cpu_seconds(server.pid) - cpu_before) / result["seconds"], 3)
            if result["seconds"]
            else None
        )
        result["rss_before_kib"] = rss_before
        result["rss_after_kib"] = rss_kib(server.pid)
        result["alive"] = server.alive()
        if not result["alive"]:
            problems.append(f"{peer} died under load (exit {server.proc.returncode}):\n{server.output()}")
        else:
            try:
                ws_echo_check(server.port, args.size, args.binary)
            except (OSError, HandshakeError) as exc:
                problems.append(f"{peer} echoed wrongly after the load: {exc}")
        if result["errors"] or result["opened"] != args.connections:
            problems.append(
                f"{peer}: {result['errors']} client errors, {result['opened']}/{args.connections} connections"
                f" opened; e.g. {result['error_samples']}"
            )
        if not result["messages"]:
            problems.append(f"{peer}: no message was echoed in the measured window")
        negotiated = "permessage-deflate" in (result.get("extensions") or "")
        if negotiated != args.compression:
            problems.append(
                f"{peer}: permessage-deflate {'was' if negotiated else 'was not'} negotiated"
                f" (extensions {result.get('extensions')!r}) but --compression is {'on' if args.compression else 'off'}"
            )
        scan_log(server, problems, "the WebSocket run")
        return result


# ---- reporting -------------------------------------------------------------------------------------------


def summarize(rounds: dict[str, list[dict[str, Any]]], names: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name in names:
        rs = rounds[name]
        rate = [r["messages_per_s"] for r in rs]
        summary[name] = {
            "median_messages_per_s": statistics.median(rate),
            "min_messages_per_s": min(rate),
            "max_messages_per_s": max(rate),
            "median_p50_ms": median_or_none([r["p50_ms"] for r in rs]),
            "median_p99_ms": median_or_none([r["p99_ms"] for r in rs]),
            "errors": sum(r["errors"] for r in rs),
            "median_server_cpu": median_or_none([r["server_cpu"] for r in rs]),
            "median_client_cpu": median_or_none([r["client_cpu"] for r in rs]),
            "median_rss_after_load_kib": median_or_none([r["rss_after_kib"] for r in rs]),
        }
    ratios: dict[str, dict[str, float | None]] = {}
    if "asgihost" in summary:
        a = summary["asgihost"]
        for name in names:
            if name == "asgihost":
                continue
            u = summary[name]
            ratios[name] = {
                "messages_per_s": a["median_messages_per_s"] / u["median_messages_per_s"]
                if u["median_messages_per_s"]
                else None,
                "p99": a["median_p99_ms"] / u["median_p99_ms"]
                if a["median_p99_ms"] is not None and u["median_p99_ms"]
                else None,
            }
    summary["ratios_asgihost_over"] = ratios
    return summary


def print_summary(summary: dict[str, Any], names: list[str], label: str, out: Any) -> None:
    width = max(10, *(len(n) for n in names))
    print(file=out)
    print(f"WebSocket echo round trips ({label})", file=out)
    print(
        f"{'server':<{width}} {'median msg/s':>12} {'min':>9} {'max':>9} {'p50':>9} {'p99':>9}"
        f" {'errors':>7} {'srv cpu':>8} {'cli cpu':>8}",
        file=out,
    )

    def pct(v: float | None) -> str:
        return f"{v * 100:.0f}%" if v is not None else "?"

    for name in names:
        s = summary[name]
        print(
            f"{name:<{width}} {s['median_messages_per_s']:>12,.0f} {s['min_messages_per_s']:>9,.0f}"
            f" {s['max_messages_per_s']:>9,.0f} {fmt_ms(s['median_p50_ms']):>9} {fmt_ms(s['median_p99_ms']):>9}"
            f" {s['errors']:>7} {pct(s['median_server_cpu']):>8} {pct(s['median_client_cpu']):>8}",
            file=out,
        )
    ratios = summary["ratios_asgihost_over"]
    if ratios:
        print(file=out)
        for name, r in ratios.items():
            parts = []
            if r["messages_per_s"] is not None:
                parts.append(f"messages/s {r['messages_per_s']:.2f}x")
            if r["p99"] is not None:
                parts.append(f"p99 latency {r['p99']:.2f}x")
            print(f"asgihost/{name}: " + ", ".join(parts), file=out)


# ---- main ------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=bounded_int(1, 50), default=3, help="rounds per server [3]")
    p.add_argument("--duration", type=bounded_int(1, 600), default=5, help="seconds of load per round [5]")
    p.add_argument(
        "--connections", type=bounded_int(1, 10_000), default=50, help="concurrent WebSockets [50]"
    )
    p.add_argument("--size", type=bounded_int(0, 1 << 20), default=64, help="message size in bytes [64]")
    p.add_argument("--binary", action="store_true", help="send binary messages instead of text")
    p.add_argument(
        "--pipeline", type=bounded_int(1, 64), default=1, help="messages in flight per connection [1]"
    )
    p.add_argument(
        "--compression", action="store_true", help="permessage-deflate on, in servers and client [off]"
    )
    p.add_argument(
        "--uvicorn-ws",
        default="wsproto,websockets",
        help=f"comma-separated Uvicorn --ws implementations to measure, of {', '.join(UVICORN_WS)}"
        " [wsproto,websockets]",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    args = p.parse_args(argv)
    impls = [x.strip() for x in args.uvicorn_ws.split(",") if x.strip()]
    bad = [x for x in impls if x not in UVICORN_WS]
    if bad:
        p.error(f"--uvicorn-ws: unknown {', '.join(bad)} (choose from {', '.join(UVICORN_WS)})")
    args.uvicorn_ws = list(dict.fromkeys(impls))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log = sys.stderr if args.json else sys.stdout

    missing = ensure_client(log)
    if missing:
        print(missing, file=sys.stderr)
        return 2
    if not installed("httptools"):
        print("httptools is not installed; run `uv sync --all-groups`.", file=sys.stderr)
        return 2

    names = ["asgihost"]
    notes: list[str] = []
    if installed("uvicorn"):
        for impl in args.uvicorn_ws:
            if installed(UVICORN_WS_MODULE[impl]):
                names.append(f"uvicorn({impl})")
            else:
                notes.append(
                    f"{UVICORN_WS_MODULE[impl]} is not installed, so uvicorn --ws {impl} is not measured."
                )
    else:
        notes.append(
            "Uvicorn is not installed, so asgihost is measured alone "
            "(install the bench group: `uv sync --group bench`)."
        )
    loop = "uvloop" if installed("uvloop") else "asyncio"
    if loop != "uvloop":
        notes.append("uvloop is not installed; every server runs on the asyncio loop.")
    if not asgihost_deflate_flag(args.compression):
        notes.append(
            "`asgihost run` has no --ws-per-message-deflate flag (yet); asgihost runs with its default,"
            " and the client offers permessage-deflate only with --compression."
        )

    wanted = args.connections * 2 + 256
    nofile = raise_nofile(wanted)
    if nofile < wanted:
        notes.append(f"RLIMIT_NOFILE is {nofile}, below the {wanted} this run may need.")

    server_cpu, client_cpu = cpu_plan()
    pinning = (
        f"servers on CPU {server_cpu}, client on CPU {client_cpu}"
        if server_cpu is not None
        else "no CPU pinning (fewer than 2 CPUs or no taskset)"
    )
    label = (
        f"{args.connections} connections, {args.size}-byte {'binary' if args.binary else 'text'} messages,"
        f" pipeline {args.pipeline}, compression {'on' if args.compression else 'off'},"
        f" {args.duration}s x {args.rounds} rounds"
    )
    versions = {
        "python": sys.version.split()[0],
        "asgihost": module_version("asgihost"),
        "uvicorn": module_version("uvicorn"),
        "wsproto": module_version("wsproto"),
        "websockets": module_version("websockets"),
        "uvloop": module_version("uvloop"),
        "node": node_version(),
        "ws (npm)": ws_package_version(),
    }
    print(f"{label}; {pinning}; one worker each, access log off, --http httptools --loop {loop}", file=log)
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if v), file=log)
    for note in notes:
        print("note: " + note, file=log)

    ctx = {"loop": loop, "server_cpu": server_cpu, "client_cpu": client_cpu}
    problems: list[str] = []
    rounds: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    given_up: set[str] = set()
    try:
        for round_no in range(1, args.rounds + 1):
            for name in names:
                if name in given_up:
                    continue
                try:
                    r = ws_round(name, args, ctx, problems)
                except HandshakeError as exc:
                    given_up.add(name)
                    problems.append(f"{name} {exc}; it is not measured")
                    print(f"round {round_no} {name:<19} FAILED: {exc}", file=log, flush=True)
                    continue
                except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                    problems.append(f"{name} round {round_no}: {exc}")
                    print(f"round {round_no} {name:<19} FAILED: {exc}", file=log, flush=True)
                    continue
                rounds[name].append(r)
                print(
                    f"round {round_no} {name:<19} {r['messages_per_s']:>10,.0f} msg/s"
                    f"  p50 {fmt_ms(r['p50_ms']):>8}  p99 {fmt_ms(r['p99_ms']):>8}  errors {r['errors']}"
                    f"  cpu server {r['server_cpu'] or 0:.0%} client {r['client_cpu'] or 0:.0%}"
                    f"  rss {r['rss_before_kib'] / 1024:.1f}->{r['rss_after_kib'] / 1024:.1f} MiB",
                    file=log,
                    flush=True,
                )
    except KeyboardInterrupt:
        print("interrupted; reporting what was measured", file=sys.stderr)
        problems.append("interrupted")

    measured = [n for n in names if rounds[n]]
    for name in measured:
        busy = median_or_none([r["client_cpu"] for r in rounds[name]])
        if busy is not None and busy > CLIENT_CPU_WARN:
            note = (
                f"the client used {busy:.0%} of its CPU against {name}: the load generator may be the"
                " bottleneck there (try fewer --connections or a smaller --size)."
            )
            notes.append(note)
            print("note: " + note, file=log)
    # Problems first, so that the table and the ratio lines end the output.
    if problems:
        print("\nproblems:", file=log)
        for problem in problems:
            print("  - " + problem.replace("\n", "\n    "), file=log)
    summary = summarize(rounds, measured) if measured else {}
    if measured:
        print_summary(summary, measured, label, log)
    else:
        print("\nno server could be measured", file=log)
    if "asgihost" not in measured:
        for name in names[1:]:
            print(f"asgihost/{name}: no ratio, asgihost was not measured", file=log)
    if args.json:
        write_report(
            {**vars(args), "loop": loop, "pinning": pinning}, versions, notes, rounds, summary, problems
        )
    return 1 if problems or not measured else 0


if __name__ == "__main__":
    sys.exit(main())
