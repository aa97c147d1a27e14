"""HTTP/2 cleartext (h2c, prior knowledge) throughput: asgihost against Hypercorn, same app.

  uv run --group bench python benchmarks/http2.py [--rounds N] [--duration S | --requests N]
      [--connections C] [--streams M] [--app hello|echo] [--body-size B] [--json]

The load generator is h2load (nghttp2; Debian: ``apt-get install nghttp2-client``), one thread,
``--connections`` connections with ``--streams`` concurrent streams each, speaking HTTP/2 from
the first byte (the connection preface, no Upgrade). Each server runs as ONE process, on
127.0.0.1 only, on a free port, with the uvloop event loop:

- asgihost serves h2c prior knowledge on its ordinary HTTP listener (access log off);
- Hypercorn (when importable, the ``bench`` group) runs with ``--workers 0`` (the server in the
  process itself, not a supervisor plus one spawned worker) and a TOML config that raises
  ``keep_alive_max_requests``: by default Hypercorn closes an HTTP/2 connection after 1000
  requests, which h2load counts as failed requests. Uvicorn does not speak HTTP/2 and is not a
  peer here.

With two or more CPUs the server is pinned to one CPU and h2load to another (taskset). Servers
alternate round by round (A B A B ...); each round starts a fresh server, checks one request with
a small HTTP/2 client, runs h2load (a warm-up, then the measured part), and checks once more.
Exit status: 1 when a problem was seen (failed/errored/timed-out or non-2xx requests, a
connection that was not h2c, a wrong answer, a server that died or logged an error), 2 when
h2load is missing, else 0. Nothing here asserts timings; the numbers are for people to read.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from http1 import (
    HERE,
    HOST,
    SOCKET_TIMEOUT_S,
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
from ws import cpu_seconds

WARMUP_S = 1  # h2load warm-up before each measured run (--warm-up-time, or a separate run with --requests)
H2LOAD_SLACK_S = 30  # h2load subprocess timeout beyond warm-up + duration
REQUESTS_TIMEOUT_S = 600  # h2load subprocess timeout with --requests (a count has no natural end time)
INACTIVITY_TIMEOUT_S = 10  # h2load -N: a connection with nothing received this long is dropped (an error)
HYPERCORN_KEEP_ALIVE_MAX_REQUESTS = 1_000_000_000  # instead of Hypercorn's default of 1000
CPU_SAMPLE_INTERVAL_S = 0.1  # how often the server's CPU time is read during h2load
IDLE_DROP = 0.5  # second-half CPU below this share of the first half's: the server went idle
MAX_FRAMES = 1000  # events read by the check client before it gives up
MAX_BODY = 1 << 20
PROBLEM_WORDS = ("Traceback", "ERROR", "Exception", "CRITICAL")


# ---- a tiny blocking HTTP/2 client (prior knowledge), for the check before and after each round ----


def expected_body(app: str, body_size: int) -> bytes:
    return str(body_size).encode() if app == "echo" else b"Hello, world!"


def h2c_check(port: int, app: str, body_size: int) -> dict[str, Any]:
    """One request over h2c prior knowledge; the answer must be exactly the app's.

    Returns the server's SETTINGS (``max_concurrent_streams`` is what limits ``--streams``).
    Raises ValueError for a wrong answer or an HTTP/2 protocol error, OSError when the
    connection fails.
    """
    import h2.config
    import h2.connection
    import h2.events
    import h2.exceptions
    import h2.settings

    deadline = time.monotonic() + SOCKET_TIMEOUT_S + body_size / 1e6
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    headers = [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"%s:%d" % (HOST.encode(), port))]
    headers.append((b":path", b"/"))
    payload = b"x" * body_size if app == "echo" else b""
    if app == "echo":
        headers[0] = (b":method", b"POST")
        headers += [(b"content-type", b"application/octet-stream"), (b"content-length", b"%d" % body_size)]
    status: int | None = None
    body = bytearray()
    settings_seen = False
    with socket.create_connection((HOST, port), timeout=SOCKET_TIMEOUT_S) as sock:
        conn.initiate_connection()
        conn.send_headers(1, headers, end_stream=not payload)
        sent = 0
        sock.sendall(conn.data_to_send())
        done = False
        try:
            for _ in range(MAX_FRAMES):
                # Send as much of the body as flow control allows (the echo app reads it all).
                while sent < len(payload) and conn.local_flow_control_window(1) > 0:
                    n = min(
                        len(payload) - sent, conn.local_flow_control_window(1), conn.max_outbound_frame_size
                    )
                    conn.send_data(1, payload[sent : sent + n], end_stream=sent + n == len(payload))
                    sent += n
                out = conn.data_to_send()
                if out:
                    sock.sendall(out)
                if done:
                    break
                if time.monotonic() > deadline:
                    raise ValueError("no complete HTTP/2 response in time")
                data = sock.recv(65536)
                if not data:
                    raise ValueError("the server closed the connection before the response was complete")
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RemoteSettingsChanged):
                        settings_seen = True
                    elif isinstance(event, h2.events.ResponseReceived):
                        status = int(dict(event.headers)[b":status"])
                    elif isinstance(event, h2.events.DataReceived):
                        body += event.data
                        if len(body) > MAX_BODY:
                            raise ValueError("response body too large")
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamReset):
                        raise ValueError(f"the server reset the stream (error code {event.error_code})")
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        raise ValueError(f"the server sent GOAWAY (error code {event.error_code})")
                    elif isinstance(event, h2.events.StreamEnded):
                        done = True
            else:
                raise ValueError("too many HTTP/2 frames without a complete response")
            conn.close_connection()
            sock.sendall(conn.data_to_send())
        except h2.exceptions.ProtocolError as exc:
            raise ValueError(f"HTTP/2 protocol error: {exc!r}") from exc
    want = expected_body(app, body_size)
    if status != 200 or bytes(body) != want:
        raise ValueError(f"answered {status} {bytes(body[:80])!r} over h2c, expected 200 {want!r}")
    remote = conn.remote_settings
    return {
        "settings_seen": settings_seen,
        "max_concurrent_streams": remote.max_concurrent_streams,
        "initial_window_size": remote.initial_window_size,
    }


# ---- servers ----------------------------------------------------------------------------------------


def dist_version(dist: str) -> str | None:
    """The installed version of a distribution (Hypercorn has no ``__version__``)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def hypercorn_config_key_ok() -> bool:
    """Whether the installed Hypercorn's Config has ``keep_alive_max_requests`` (TOML keys that it
    does not have are silently ignored, so a renamed key would quietly undo the fix)."""
    try:
        from hypercorn.config import Config
    except Exception:
        return False
    return hasattr(Config, "keep_alive_max_requests")


def server_argv(name: str, app: str, port: int, loop: str, hypercorn_config: str | None) -> list[str]:
    if name == "asgihost":
        return [
            sys.executable,
            "-m",
            "asgihost",
            "run",
            f"apps:{app}",
            "--app-dir",
            str(HERE),
            "--host",
            HOST,
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--loop",
            loop,
        ]
    if name == "hypercorn":
        # Hypercorn has no --app-dir: a path before the colon puts its directory on sys.path.
        argv = [
            sys.executable,
            "-m",
            "hypercorn",
            f"{HERE / 'apps'}:{app}",
            "--bind",
            f"{HOST}:{port}",
            "--log-level",
            "warning",
            "--worker-class",
            loop,
            "--workers",
            "0",
        ]
        if hypercorn_config:
            argv += ["--config", hypercorn_config]
        return argv
    raise ValueError(name)


class H2Server(Server):
    """http1.Server with the HTTP/2 peers' command lines; ready once it answers over h2c."""

    def __init__(
        self, name: str, app: str, body_size: int, loop: str, cpu: int | None, hypercorn_config: str | None
    ):
        self.name = name
        self.app = app
        self.body_size = body_size
        self.port = free_port()
        self.argv = pinned(server_argv(name, app, self.port, loop, hypercorn_config), cpu)
        self.log = tempfile.TemporaryFile()
        self.proc = None
        self.settings: dict[str, Any] = {}

    def check(self) -> None:
        self.settings = h2c_check(self.port, self.app, self.body_size)


# ---- h2load -----------------------------------------------------------------------------------------

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_TIME = r"([\d.]+)(us|ms|s)"


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def h2load_version() -> str:
    try:
        out = subprocess.run(["h2load", "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0].removeprefix("h2load ") if first else "?"


def parse_h2load(out: str) -> dict[str, Any]:
    """The numbers of an h2load report; RuntimeError when it has none."""
    fin = re.search(rf"^finished in {_TIME}, ([\d.]+) req/s", out, re.MULTILINE)
    req = re.search(
        r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
        r"(\d+) errored, (\d+) timeout",
        out,
        re.MULTILINE,
    )
    if not fin or not req:
        raise RuntimeError("no h2load summary in its output")
    codes = re.search(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out, re.MULTILINE)
    lat = re.search(rf"^time for request:\s+{_TIME}\s+{_TIME}\s+{_TIME}\s+{_TIME}", out, re.MULTILINE)
    proto = re.search(r"^Application protocol: (\S+)", out, re.MULTILINE)
    total, started, done, succeeded, failed, errored, timeout = map(int, req.groups())
    status = dict(zip(("2xx", "3xx", "4xx", "5xx"), map(int, codes.groups()), strict=True)) if codes else {}
    result: dict[str, Any] = {
        "rps": float(fin.group(3)),
        "seconds": _ms(fin.group(1), fin.group(2)) / 1000,
        "protocol": proto.group(1) if proto else None,
        "requests": total,
        "started": started,
        "done": done,
        "succeeded": succeeded,
        "failed": failed,
        "errored": errored,
        "timeout": timeout,
        "status": status,
        "non_2xx": status.get("3xx", 0) + status.get("4xx", 0) + status.get("5xx", 0),
        "min_ms": None,
        "max_ms": None,
        "mean_ms": None,
        "sd_ms": None,
    }
    if lat and succeeded:  # h2load prints zeros when nothing completed
        g = lat.groups()
        result["min_ms"], result["max_ms"], result["mean_ms"], result["sd_ms"] = (
            _ms(g[i], g[i + 1]) for i in range(0, 8, 2)
        )
    result["errors"] = failed + errored + timeout + result["non_2xx"]
    return result


def h2load_argv(
    port: int, args: argparse.Namespace, body_file: str | None, *, warmup_only: bool
) -> list[str]:
    cmd = [
        "h2load",
        "-t",
        "1",
        "-c",
        str(args.connections),
        "-m",
        str(args.streams),
        "-N",
        str(INACTIVITY_TIMEOUT_S),
    ]
    if warmup_only:
        cmd += ["-D", str(WARMUP_S)]
    elif args.requests:
        cmd += ["-n", str(args.requests)]
    else:
        cmd += ["-D", str(args.duration), "--warm-up-time", str(WARMUP_S)]
    if body_file:
        cmd += ["-d", body_file, "-H", "content-type: application/octet-stream"]
    cmd.append(f"http://{HOST}:{port}/")
    return cmd


def run_h2load(
    port: int,
    args: argparse.Namespace,
    cpu: int | None,
    body_file: str | None,
    *,
    server_pid: int | None = None,
    warmup_only: bool = False,
) -> dict[str, Any]:
    """Run h2load to completion (bounded by a timeout) and parse its report.

    In duration mode, with ``server_pid``, the server's CPU time is sampled through the measured
    window, and ``server_cpu_halves`` is its CPU use in the first and in the second half. A server
    that stops serving connections mid-run without closing them (an HTTP/2 GOAWAY that h2load
    does not act on: it neither reconnects nor counts a failure) goes idle, and only this shows it.
    """
    cmd = pinned(h2load_argv(port, args, body_file, warmup_only=warmup_only), cpu)
    if warmup_only:
        timeout = WARMUP_S + H2LOAD_SLACK_S
    elif args.requests:
        timeout = REQUESTS_TIMEOUT_S
    else:
        timeout = WARMUP_S + args.duration + H2LOAD_SLACK_S
    sample = server_pid is not None and not warmup_only and not args.requests
    samples: list[tuple[float, float]] = []  # (seconds since the measured window began, server CPU s)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            while proc.poll() is None:
                now = time.monotonic() - started
                if now > timeout:
                    raise subprocess.TimeoutExpired(cmd, timeout)
                if sample and server_pid is not None and 0 <= now - WARMUP_S <= args.duration:
                    samples.append((now - WARMUP_S, cpu_seconds(server_pid)))
                time.sleep(CPU_SAMPLE_INTERVAL_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    try:
        result = parse_h2load(stdout)
    except RuntimeError as exc:
        detail = (stderr.strip() + "\n" + stdout.strip()[-1000:]).strip()
        raise RuntimeError(f"h2load failed ({proc.returncode}): {detail}") from exc
    result["exit_status"] = proc.returncode
    result["server_cpu_halves"] = cpu_halves(samples, args.duration)
    return result


def cpu_halves(samples: list[tuple[float, float]], duration: float) -> list[float] | None:
    """CPU use (0..1) in the first and the second half of the window, from (time, CPU s) samples."""
    if len(samples) < 3:
        return None
    middle = min(samples, key=lambda s: abs(s[0] - duration / 2))
    first, last = samples[0], samples[-1]
    if not first[0] < middle[0] < last[0]:
        return None
    return [
        round((middle[1] - first[1]) / (middle[0] - first[0]), 3),
        round((last[1] - middle[1]) / (last[0] - middle[0]), 3),
    ]


# ---- a round ---------------------------------------------------------------------------------------


def h2_round(name: str, args: argparse.Namespace, ctx: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    config = ctx["hypercorn_config"] if name == "hypercorn" else None
    with H2Server(name, args.app, args.body_size, ctx["loop"], ctx["server_cpu"], config) as server:
        settings = dict(server.settings)
        if args.requests:
            run_h2load(server.port, args, ctx["h2load_cpu"], ctx["body_file"], warmup_only=True)
        rss_before = rss_kib(server.pid)
        cpu_before = cpu_seconds(server.pid)
        started = time.monotonic()
        result = run_h2load(server.port, args, ctx["h2load_cpu"], ctx["body_file"], server_pid=server.pid)
        wall = time.monotonic() - started
        result["server_cpu"] = round((cpu_seconds(server.pid) - cpu_before) / wall, 3) if wall else None
        result["rss_before_kib"] = rss_before
        result["rss_after_kib"] = rss_kib(server.pid)
        result["settings"] = settings
        result["alive"] = server.alive()
        if not result["alive"]:
            problems.append(f"{name} died under load (exit {server.proc.returncode}):\n{server.output()}")
        else:
            try:
                server.check()
            except (OSError, ValueError) as exc:
                problems.append(f"{name} answered wrongly after the load: {exc}")
        if result["protocol"] != "h2c":
            problems.append(f"{name}: h2load's application protocol was {result['protocol']!r}, not h2c")
        if result["errors"]:
            problems.append(
                f"{name}: {result['failed']} failed, {result['errored']} errored, {result['timeout']} timed out"
                f" of {result['requests']} requests; status codes {result['status']}"
            )
        halves = result["server_cpu_halves"]
        if halves and halves[0] > 0.2 and halves[1] < IDLE_DROP * halves[0]:
            problems.append(
                f"{name}: its CPU use fell from {halves[0]:.0%} in the first half of the measured window to"
                f" {halves[1]:.0%} in the second: it stopped serving some connections (an HTTP/2 GOAWAY?"
                " h2load does not reconnect), so req/s is low without failed requests"
            )
        if not result["succeeded"]:
            problems.append(f"{name}: no request succeeded in the measured window")
        scan_log(server, problems, "the h2load run")
        return result


# ---- reporting -------------------------------------------------------------------------------------


def summarize(rounds: dict[str, list[dict[str, Any]]], names: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name in names:
        rs = rounds[name]
        rps = [r["rps"] for r in rs]
        summary[name] = {
            "median_rps": statistics.median(rps),
            "min_rps": min(rps),
            "max_rps": max(rps),
            "median_mean_ms": median_or_none([r["mean_ms"] for r in rs]),
            "median_sd_ms": median_or_none([r["sd_ms"] for r in rs]),
            "max_ms": max((r["max_ms"] for r in rs if r["max_ms"] is not None), default=None),
            "errors": sum(r["errors"] for r in rs),
            "median_server_cpu": median_or_none([r["server_cpu"] for r in rs]),
            "median_rss_after_load_kib": median_or_none([r["rss_after_kib"] for r in rs]),
        }
    if "asgihost" in summary and "hypercorn" in summary:
        a, h = summary["asgihost"], summary["hypercorn"]
        summary["ratio_asgihost_over_hypercorn"] = {
            "rps": a["median_rps"] / h["median_rps"] if h["median_rps"] else None,
            "mean_latency": a["median_mean_ms"] / h["median_mean_ms"]
            if a["median_mean_ms"] is not None and h["median_mean_ms"]
            else None,
        }
    return summary


def print_summary(summary: dict[str, Any], names: list[str], label: str, out: Any) -> None:
    print(file=out)
    print(f"HTTP/2 cleartext throughput ({label})", file=out)
    print(
        f"{'server':<10} {'median req/s':>12} {'min':>9} {'max':>9} {'mean':>9} {'sd':>9} {'max lat':>9}"
        f" {'errors':>7} {'srv cpu':>8} {'rss':>9}",
        file=out,
    )
    for name in names:
        s = summary[name]
        cpu = f"{s['median_server_cpu'] * 100:.0f}%" if s["median_server_cpu"] is not None else "?"
        rss = s["median_rss_after_load_kib"]
        print(
            f"{name:<10} {s['median_rps']:>12,.0f} {s['min_rps']:>9,.0f} {s['max_rps']:>9,.0f}"
            f" {fmt_ms(s['median_mean_ms']):>9} {fmt_ms(s['median_sd_ms']):>9} {fmt_ms(s['max_ms']):>9}"
            f" {s['errors']:>7} {cpu:>8} {(f'{rss / 1024:.1f}MiB' if rss else '?'):>9}",
            file=out,
        )
    ratio = summary.get("ratio_asgihost_over_hypercorn")
    if ratio:
        print(file=out)
        parts = [f"req/s {ratio['rps']:.2f}x" if ratio["rps"] is not None else "req/s ?"]
        if ratio["mean_latency"] is not None:
            parts.append(f"mean latency {ratio['mean_latency']:.2f}x")
        print("asgihost/hypercorn (h2c): " + ", ".join(parts), file=out)


# ---- main ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=bounded_int(1, 50), default=3, help="rounds per server [3]")
    p.add_argument(
        "--duration", type=bounded_int(1, 600), default=5, help="seconds of measured load per round [5]"
    )
    p.add_argument(
        "--requests",
        type=bounded_int(1, 100_000_000),
        default=None,
        help="measure a fixed number of requests per round instead of --duration (h2load -n)",
    )
    p.add_argument(
        "--connections", type=bounded_int(1, 10_000), default=10, help="h2load connections (-c) [10]"
    )
    p.add_argument(
        "--streams",
        type=bounded_int(1, 1000),
        default=10,
        help="concurrent streams per connection (h2load -m) [10]",
    )
    p.add_argument("--app", choices=["hello", "echo"], default="hello", help="the app to serve [hello]")
    p.add_argument(
        "--body-size", type=bounded_int(0, 1 << 20), default=1024, help="request body bytes for echo [1024]"
    )
    p.add_argument(
        "--hypercorn-keep-alive-max-requests",
        type=bounded_int(1, 2**62),
        default=HYPERCORN_KEEP_ALIVE_MAX_REQUESTS,
        help="Hypercorn's keep_alive_max_requests (its default is 1000, which closes busy HTTP/2"
        f" connections and makes h2load count failures) [{HYPERCORN_KEEP_ALIVE_MAX_REQUESTS}]",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    args = p.parse_args(argv)
    if args.requests is not None and args.requests < args.connections:
        p.error("--requests must be at least --connections (h2load needs one request per connection)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log = sys.stderr if args.json else sys.stdout

    if not shutil.which("h2load"):
        print(
            "h2load is not installed. On Debian/Ubuntu: sudo apt-get install nghttp2-client\n"
            "(other systems: https://nghttp2.org/documentation/h2load-howto.html)",
            file=sys.stderr,
        )
        return 2
    if not installed("h2"):
        print("the h2 package is not installed; run `uv sync --all-groups`.", file=sys.stderr)
        return 2

    names = ["asgihost"]
    notes: list[str] = []
    if installed("hypercorn"):
        names.append("hypercorn")
        if not hypercorn_config_key_ok():
            notes.append(
                "this Hypercorn's Config has no keep_alive_max_requests; the config key is ignored and"
                " Hypercorn may close busy connections (failed requests)."
            )
    else:
        notes.append(
            "Hypercorn is not installed, so asgihost is measured alone "
            "(install the bench group: `uv sync --group bench`)."
        )
    loop = "uvloop" if installed("uvloop") else "asyncio"
    if loop != "uvloop":
        notes.append("uvloop is not installed; both servers run on the asyncio loop.")

    wanted = args.connections * 2 + 256
    nofile = raise_nofile(wanted)
    if nofile < wanted:
        notes.append(f"RLIMIT_NOFILE is {nofile}, below the {wanted} this run may need.")

    server_cpu, h2load_cpu = cpu_plan()
    pinning = (
        f"servers on CPU {server_cpu}, h2load on CPU {h2load_cpu}"
        if server_cpu is not None
        else "no CPU pinning (fewer than 2 CPUs or no taskset)"
    )
    amount = f"{args.requests} requests" if args.requests else f"{args.duration}s"
    label = (
        f"app={args.app}, {args.connections} connections x {args.streams} streams,"
        f" {amount} x {args.rounds} rounds"
    )
    if args.app == "echo":
        label += f", {args.body_size}-byte bodies"
    versions = {
        "python": sys.version.split()[0],
        "asgihost": module_version("asgihost"),
        "hypercorn": dist_version("hypercorn") if "hypercorn" in names else None,
        "h2": module_version("h2"),
        "uvloop": module_version("uvloop"),
        "h2load": h2load_version(),
    }
    print(f"{label}; {pinning}; one process each, loop {loop}", file=log)
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if v), file=log)
    for note in notes:
        print("note: " + note, file=log)

    problems: list[str] = []
    rounds: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory(prefix="asgihost-bench-h2-") as tmp:
        hypercorn_config = os.path.join(tmp, "hypercorn.toml")
        Path(hypercorn_config).write_text(
            f"keep_alive_max_requests = {args.hypercorn_keep_alive_max_requests}\n", encoding="ascii"
        )
        body_file = None
        if args.app == "echo":
            body_file = os.path.join(tmp, "body.bin")
            Path(body_file).write_bytes(b"x" * args.body_size)
        ctx = {
            "loop": loop,
            "server_cpu": server_cpu,
            "h2load_cpu": h2load_cpu,
            "hypercorn_config": hypercorn_config,
            "body_file": body_file,
        }
        stream_notes: set[str] = set()
        try:
            for round_no in range(1, args.rounds + 1):
                for name in names:
                    try:
                        r = h2_round(name, args, ctx, problems)
                    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                        problems.append(f"{name} round {round_no}: {exc}")
                        print(f"round {round_no} {name:<9} FAILED: {exc}", file=log, flush=True)
                        continue
                    rounds[name].append(r)
                    limit = r["settings"].get("max_concurrent_streams")
                    if limit is not None and args.streams > limit and name not in stream_notes:
                        stream_notes.add(name)
                        note = (
                            f"{name} allows {limit} concurrent streams per connection, fewer than"
                            f" --streams {args.streams}; h2load keeps the rest queued."
                        )
                        notes.append(note)
                        print("note: " + note, file=log)
                    status = r["status"]
                    bad = {k: v for k, v in status.items() if k != "2xx" and v}
                    err_txt = (
                        f"  failed {r['failed']} errored {r['errored']} timeout {r['timeout']}"
                        if r["failed"] or r["errored"] or r["timeout"]
                        else ""
                    )
                    print(
                        f"round {round_no} {name:<9} {r['rps']:>10,.0f} req/s  mean {fmt_ms(r['mean_ms']):>8}"
                        f"  sd {fmt_ms(r['sd_ms']):>8}  max {fmt_ms(r['max_ms']):>8}"
                        f"  ok {r['succeeded']}/{r['requests']}{err_txt}"
                        f"{f'  non-2xx {bad}' if bad else ''}"
                        f"  cpu {r['server_cpu'] or 0:.0%}"
                        f"  rss {r['rss_before_kib'] / 1024:.1f}->{r['rss_after_kib'] / 1024:.1f} MiB",
                        file=log,
                        flush=True,
                    )
        except KeyboardInterrupt:
            print("interrupted; reporting what was measured", file=sys.stderr)
            problems.append("interrupted")

    measured = [n for n in names if rounds[n]]
    # Problems first, so that the table and the ratio line end the output.
    if problems:
        print("\nproblems:", file=log)
        for problem in problems:
            print("  - " + problem.replace("\n", "\n    "), file=log)
    summary = summarize(rounds, measured) if measured else {}
    if measured:
        print_summary(summary, measured, label, log)
    else:
        print("\nno server could be measured", file=log)
    if "hypercorn" in names and not {"asgihost", "hypercorn"} <= set(measured):
        print("asgihost/hypercorn (h2c): no ratio, one of them was not measured", file=log)
    if args.json:
        write_report(
            {**vars(args), "loop": loop, "pinning": pinning}, versions, notes, rounds, summary, problems
        )
    return 1 if problems or not measured else 0


if __name__ == "__main__":
    sys.exit(main())
