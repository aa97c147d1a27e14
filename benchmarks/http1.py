"""HTTP/1.1 throughput and idle-connection memory: asgihost against Uvicorn, same app, same flags.

  uv run --group bench python benchmarks/http1.py [--rounds N] [--duration S]
      [--connections C] [--app hello|echo] [--idle-connections N] [--json]

Each server runs as ONE process (no workers) with the access log off, on 127.0.0.1 only, on a
free port, with ``--http httptools --loop uvloop``. With two or more CPUs the server is pinned
to one CPU and wrk to another (taskset), so that the load generator does not steal the
server's CPU. Servers alternate round by round (A B A B ...) so drift of a shared machine hits
both alike; each round starts a fresh server process.

Two phases:

1. Throughput: wrk (one thread, keep-alive) for ``--duration`` seconds after a short warm-up;
   per round req/s, p50/p99 latency, non-2xx responses and socket errors.
2. Idle keep-alive memory: a fresh server, ``--idle-connections`` connections that each make
   one request and then stay open; VmRSS (from /proc/PID/status) before and after, per
   connection. Every connection is then asked once more, to check the server still serves it.

Uvicorn is measured only when it is installed (the ``bench`` dependency group); otherwise
asgihost is measured alone. wrk is required (Debian: ``apt-get install wrk``).
Nothing here asserts timings; the numbers are for people to read.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HOST = "127.0.0.1"

START_TIMEOUT_S = 20.0  # a server must answer its first request within this
STOP_TIMEOUT_S = 10.0  # after SIGTERM, before SIGKILL
WARMUP_S = 2  # wrk warm-up before each measured run
WRK_SLACK_S = 30  # wrk subprocess timeout beyond its duration
WRK_REQUEST_TIMEOUT = "5s"
IDLE_SETTLE_S = 1.0  # pause between opening the idle connections and reading RSS
IDLE_KEEP_ALIVE_S = 300  # keep-alive timeout given to both servers in the memory phase
SOCKET_TIMEOUT_S = 5.0
MAX_RESPONSE = 1 << 20
FD_HEADROOM = 256


# ---- environment -------------------------------------------------------------------------------


def cpu_plan() -> tuple[int | None, int | None]:
    """CPUs for the server and for wrk, or (None, None) when pinning is not possible."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = list(range(os.cpu_count() or 1))
    if len(cpus) >= 2 and shutil.which("taskset"):
        return cpus[0], cpus[1]
    return None, None


def pinned(cmd: list[str], cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu), *cmd] if cpu is not None else cmd


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def module_version(module: str) -> str | None:
    if not installed(module):
        return None
    try:
        return str(getattr(__import__(module), "__version__", "?"))
    except Exception:  # a broken install still counts as "not usable"
        return None


def wrk_version() -> str:
    try:
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0].removeprefix("wrk ") if first else "?"


def raise_nofile(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``wanted``; servers started later inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft if soft != resource.RLIM_INFINITY else wanted


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _proc_rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/children") as f:
                kids.extend(int(x) for x in f.read().split())
    return kids


def rss_kib(pid: int) -> int:
    """VmRSS of a process plus its descendants (there are none with one worker), in KiB."""
    total, todo, seen = 0, [pid], set()
    while todo and len(seen) < 256:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += _proc_rss_kib(p)
        todo.extend(_children(p))
    return total


# ---- a tiny blocking HTTP/1.1 client -------------------------------------------------------------


def request_bytes(app: str, body_size: int) -> bytes:
    if app == "echo":
        return (
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: %d\r\n\r\n" % body_size
        ) + b"x" * body_size
    return b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def expected_body(app: str, body_size: int) -> bytes:
    return str(body_size).encode() if app == "echo" else b"Hello, world!"


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """Read one Content-Length-framed response; (status, body). Bounded in size and time."""
    deadline = time.monotonic() + SOCKET_TIMEOUT_S
    buf = b""
    while b"\r\n\r\n" not in buf:
        if len(buf) > MAX_RESPONSE or time.monotonic() > deadline:
            raise ConnectionError("no complete response head")
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before the response head")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length > MAX_RESPONSE:
        raise ConnectionError(f"response body of {length} bytes is too large")
    while len(body) < length:
        if time.monotonic() > deadline:
            raise ConnectionError("response body incomplete")
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed inside the response body")
        body += chunk
    return status, body[:length]


# ---- servers ---------------------------------------------------------------------------------------


METRICS = "asgihost+metrics"


def server_argv(name: str, app: str, port: int, loop: str, extra: list[str]) -> list[str]:
    common = [
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
        "--http",
        "httptools",
        "--loop",
        loop,
        *extra,
    ]
    if name == "asgihost":
        return [sys.executable, "-m", "asgihost", "run", *common]
    if name == METRICS:  # the same, with [metrics] counting every request (a file: no flag turns them on)
        site = Path(tempfile.gettempdir()) / f"asgihost-bench-metrics-{app}.toml"
        site.write_text(f'[metrics]\npath = "/metrics"\n[apps.main]\napp = "apps:{app}"\n')
        return [sys.executable, "-m", "asgihost", "run", str(site), *common[1:]]
    if name == "uvicorn":
        return [sys.executable, "-m", "uvicorn", *common]
    raise ValueError(name)


class Server:
    """One server process on a free port; started by ``__enter__``, stopped by ``__exit__``."""

    def __init__(self, name: str, app: str, body_size: int, loop: str, cpu: int | None, extra: list[str]):
        self.name = name
        self.app = app
        self.body_size = body_size
        self.port = free_port()
        self.argv = pinned(server_argv(name, app, self.port, loop, extra), cpu)
        self.log = tempfile.TemporaryFile()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid  # taskset execs the server, so this is the server's own pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self, limit: int = 4000) -> str:
        self.log.flush()
        self.log.seek(0)
        text = self.log.read().decode("utf-8", "replace")
        return text[-limit:]

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    start_timeout = START_TIMEOUT_S
    stop_timeout = STOP_TIMEOUT_S

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                self.check()
                return
            except (OSError, ValueError, IndexError) as exc:
                last = exc
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer on port {self.port}: {last}\n{self.output()}")

    def check(self) -> None:
        """One request on a fresh connection; the answer must be exactly the app's."""
        with socket.create_connection((HOST, self.port), timeout=SOCKET_TIMEOUT_S) as s:
            s.sendall(request_bytes(self.app, self.body_size))
            status, body = read_response(s)
        want = expected_body(self.app, self.body_size)
        if status != 200 or body != want:
            raise ValueError(f"{self.name} answered {status} {body[:80]!r}, expected 200 {want!r}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


# ---- wrk -------------------------------------------------------------------------------------------

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_UNITS_B = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}  # wrk's are binary


def _latency_ms(out: str, pct: str) -> float | None:
    m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s|m|h)\s*$", out, re.MULTILINE)
    return float(m.group(1)) * _UNITS_MS[m.group(2)] if m else None


def wrk_script(app: str, body_size: int, directory: str) -> str | None:
    if app != "echo":
        return None
    path = os.path.join(directory, "echo.lua")
    with open(path, "w", encoding="ascii") as f:
        f.write(
            'wrk.method = "POST"\n'
            f'wrk.body = string.rep("x", {body_size})\n'
            'wrk.headers["Content-Type"] = "application/octet-stream"\n'
        )
    return path


def run_wrk(
    port: int, duration: int, connections: int, cpu: int | None, script: str | None
) -> dict[str, Any]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", f"--timeout={WRK_REQUEST_TIMEOUT}"]
    cmd.append("--latency")
    if script:
        cmd += ["-s", script]
    cmd.append(f"http://{HOST}:{port}/")
    proc = subprocess.run(pinned(cmd, cpu), capture_output=True, text=True, timeout=duration + WRK_SLACK_S)
    out = proc.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if proc.returncode != 0 or not rps:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or out.strip()}")
    total = re.search(r"(\d+) requests in", out)
    read = re.search(r"requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)([KMGT]?B) read", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors: dict[str, int] = {}
    if sock:
        kinds = ("connect", "read", "write", "timeout")
        socket_errors = dict(zip(kinds, map(int, sock.groups()), strict=True))
    return {
        "rps": float(rps.group(1)),
        "requests": int(total.group(1)) if total else 0,
        "p50_ms": _latency_ms(out, "50"),
        "p99_ms": _latency_ms(out, "99"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": socket_errors,
        "errors": (int(non2xx.group(1)) if non2xx else 0) + sum(socket_errors.values()),
        # bytes wrk read (2 decimals of its binary unit) over the seconds it ran: MB/s of big files
        "read_bytes": float(read.group(3)) * _UNITS_B[read.group(4)] if read else None,
        "seconds": float(read.group(1)) * _UNITS_MS[read.group(2)] / 1000 if read else None,
    }


# ---- the two phases ----------------------------------------------------------------------------------


def scan_log(server: Server, problems: list[str], when: str) -> None:
    text = server.output()
    words = ("Traceback", "ERROR", "Exception", "CRITICAL", "[error]", "[crit]", "[alert]", "[emerg]")
    if any(word in text for word in words):  # the last four are nginx's levels
        problems.append(f"{server.name} logged errors during {when}:\n{text}")


def throughput_round(name: str, args: argparse.Namespace, ctx: dict[str, Any], problems: list[str]) -> dict:
    with Server(name, args.app, args.body_size, ctx["loop"], ctx["server_cpu"], []) as server:
        run_wrk(server.port, WARMUP_S, args.connections, ctx["wrk_cpu"], ctx["script"])
        rss_before = rss_kib(server.pid)
        result = run_wrk(server.port, args.duration, args.connections, ctx["wrk_cpu"], ctx["script"])
        result["rss_before_kib"] = rss_before
        result["rss_after_kib"] = rss_kib(server.pid)
        result["alive"] = server.alive()
        if not result["alive"]:
            problems.append(f"{name} died under load (exit {server.proc.returncode}):\n{server.output()}")
        else:
            try:
                server.check()
            except (OSError, ValueError, IndexError) as exc:
                problems.append(f"{name} answered wrongly after the load: {exc}")
        if result["errors"]:
            problems.append(
                f"{name}: {result['non_2xx']} non-2xx responses, socket errors {result['socket_errors']}"
            )
        scan_log(server, problems, "the throughput run")
        return result


def idle_round(name: str, args: argparse.Namespace, ctx: dict[str, Any], problems: list[str]) -> dict:
    n = ctx["idle_connections"]
    extra = ["--timeout-keep-alive", str(IDLE_KEEP_ALIVE_S)]
    request = request_bytes(args.app, args.body_size)
    with Server(name, args.app, args.body_size, ctx["loop"], ctx["server_cpu"], extra) as server:
        # Warm code paths and allocator pools the same way for both, on one connection.
        with socket.create_connection((HOST, server.port), timeout=SOCKET_TIMEOUT_S) as s:
            for _ in range(50):
                s.sendall(request)
                read_response(s)
        time.sleep(IDLE_SETTLE_S)
        before = rss_kib(server.pid)
        socks: list[socket.socket] = []
        opened = served = 0
        try:
            started = time.monotonic()
            for _ in range(n):
                s = socket.create_connection((HOST, server.port), timeout=SOCKET_TIMEOUT_S)
                socks.append(s)
                s.sendall(request)
                status, _ = read_response(s)
                if status == 200:
                    opened += 1
            open_s = time.monotonic() - started
            time.sleep(IDLE_SETTLE_S)
            during = rss_kib(server.pid)
            for s in socks:
                try:
                    s.sendall(request)
                    if read_response(s)[0] == 200:
                        served += 1
                except OSError:
                    pass
        finally:
            for s in socks:
                s.close()
        time.sleep(IDLE_SETTLE_S)
        after_close = rss_kib(server.pid)
        result = {
            "connections": n,
            "opened": opened,
            "still_served": served,
            "open_seconds": round(open_s, 3),
            "rss_before_kib": before,
            "rss_idle_kib": during,
            "rss_after_close_kib": after_close,
            "kib_per_conn": (during - before) / n,
            "alive": server.alive(),
        }
        if opened != n or served != n:
            problems.append(f"{name}: of {n} idle connections, {opened} opened and {served} still served")
        scan_log(server, problems, "the idle-connection run")
        return result


# ---- reporting -----------------------------------------------------------------------------------------


def median_or_none(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def fmt_ms(v: float | None) -> str:
    return f"{v:.2f}ms" if v is not None else "?"


def summarize(results: dict[str, Any], names: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name in names:
        rounds = results["throughput"][name]
        rps = [r["rps"] for r in rounds]
        idle = results["idle"].get(name, [])
        summary[name] = {
            "median_rps": statistics.median(rps) if rps else None,
            "min_rps": min(rps) if rps else None,
            "max_rps": max(rps) if rps else None,
            "median_p50_ms": median_or_none([r["p50_ms"] for r in rounds]),
            "median_p99_ms": median_or_none([r["p99_ms"] for r in rounds]),
            "errors": sum(r["errors"] for r in rounds),
            "median_rss_after_load_kib": median_or_none([r["rss_after_kib"] for r in rounds]),
            "median_kib_per_idle_conn": median_or_none([r["kib_per_conn"] for r in idle]),
        }
    if "asgihost" in summary and METRICS in summary:
        plain, counted = summary["asgihost"]["median_rps"], summary[METRICS]["median_rps"]
        summary["metrics_cost"] = counted / plain if plain and counted else None
    if "asgihost" in summary and "uvicorn" in summary:
        a, u = summary["asgihost"], summary["uvicorn"]

        def ratio(key: str) -> float | None:
            return a[key] / u[key] if a[key] is not None and u[key] else None

        summary["ratio_asgihost_over_uvicorn"] = {
            "rps": ratio("median_rps"),
            "p99": ratio("median_p99_ms"),
            "kib_per_idle_conn": ratio("median_kib_per_idle_conn"),
        }
    return summary


def print_summary(summary: dict[str, Any], names: list[str], ctx: dict[str, Any], out: Any) -> None:
    print(file=out)
    print(f"throughput ({ctx['label']})", file=out)
    print(
        f"{'server':<17} {'median req/s':>12} {'min':>9} {'max':>9} {'p50':>9} {'p99':>9} {'errors':>7}",
        file=out,
    )
    for name in names:
        s = summary[name]
        print(
            f"{name:<17} {s['median_rps']:>12,.0f} {s['min_rps']:>9,.0f} {s['max_rps']:>9,.0f} "
            f"{fmt_ms(s['median_p50_ms']):>9} {fmt_ms(s['median_p99_ms']):>9} {s['errors']:>7}",
            file=out,
        )
    if ctx["idle_connections"]:
        print(file=out)
        print(f"memory per idle keep-alive connection ({ctx['idle_connections']} connections)", file=out)
        for name in names:
            v = summary[name]["median_kib_per_idle_conn"]
            print(f"{name:<10} {v:>8.1f} KiB/conn" if v is not None else f"{name:<10} ?", file=out)
    cost = summary.get("metrics_cost")
    if cost is not None:
        print(f"{METRICS}/asgihost: req/s {cost:.3f}x ({(1 - cost) * 100:.1f}% for counting)", file=out)
    ratios = summary.get("ratio_asgihost_over_uvicorn")
    if ratios:
        print(file=out)
        parts = [f"req/s {ratios['rps']:.2f}x"]
        if ratios["p99"] is not None:
            parts.append(f"p99 latency {ratios['p99']:.2f}x")
        if ratios["kib_per_idle_conn"] is not None:
            parts.append(f"KiB per idle connection {ratios['kib_per_idle_conn']:.2f}x")
        print("asgihost/uvicorn: " + ", ".join(parts), file=out)


# ---- main ----------------------------------------------------------------------------------------------


def bounded_int(lo: int, hi: int) -> Any:
    def parse(text: str) -> int:
        value = int(text)
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo} and {hi}")
        return value

    return parse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=bounded_int(1, 50), default=5, help="rounds per server [5]")
    p.add_argument("--duration", type=bounded_int(1, 600), default=10, help="seconds of load per round [10]")
    p.add_argument("--connections", type=bounded_int(1, 10_000), default=64, help="wrk connections [64]")
    p.add_argument("--app", choices=["hello", "echo"], default="hello", help="the app to serve [hello]")
    p.add_argument(
        "--body-size", type=bounded_int(0, 1 << 20), default=1024, help="request body bytes for echo [1024]"
    )
    p.add_argument(
        "--idle-connections",
        type=bounded_int(0, 50_000),
        default=1000,
        help="idle keep-alive connections for the memory phase; 0 skips it [1000]",
    )
    p.add_argument("--idle-rounds", type=bounded_int(1, 20), default=None, help="memory rounds [= --rounds]")
    p.add_argument(
        "--with-metrics",
        action="store_true",
        help="also measure asgihost with [metrics] on, to show what counting costs",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    return p.parse_args(argv)


def write_report(
    config: dict[str, Any], versions: Any, notes: list[str], rounds: Any, summary: Any, problems: list[str]
) -> None:
    """The --json output every benchmark script prints: its settings, what it measured, what went wrong."""
    report = {
        "config": config,
        "versions": versions,
        "notes": notes,
        "rounds": rounds,
        "summary": summary,
        "problems": problems,
    }
    json.dump(report, sys.stdout, indent=2)
    print()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log = sys.stderr if args.json else sys.stdout

    if not shutil.which("wrk"):
        print(
            "wrk is not installed. On Debian/Ubuntu: sudo apt-get install wrk\n"
            "(other systems: https://github.com/wg/wrk)",
            file=sys.stderr,
        )
        return 2
    if not installed("httptools"):
        print("httptools is not installed; run `uv sync --all-groups`.", file=sys.stderr)
        return 2

    names = ["asgihost"]
    if args.with_metrics:
        names.append(METRICS)
    notes: list[str] = []
    if installed("uvicorn"):
        names.append("uvicorn")
    else:
        notes.append(
            "Uvicorn is not installed, so asgihost is measured alone "
            "(install the bench group: `uv sync --group bench`)."
        )
    loop = "uvloop" if installed("uvloop") else "asyncio"
    if loop != "uvloop":
        notes.append("uvloop is not installed; both servers run on the asyncio loop.")

    wanted = args.idle_connections + args.connections + FD_HEADROOM
    nofile = raise_nofile(wanted)
    idle_n = args.idle_connections
    if nofile < wanted:
        idle_n = max(0, min(idle_n, nofile - args.connections - FD_HEADROOM))
        notes.append(f"RLIMIT_NOFILE is {nofile}; idle connections reduced to {idle_n}.")

    server_cpu, wrk_cpu = cpu_plan()
    pinning = (
        f"servers on CPU {server_cpu}, wrk on CPU {wrk_cpu}"
        if server_cpu is not None
        else "no CPU pinning (fewer than 2 CPUs or no taskset)"
    )
    label = f"app={args.app}, {args.connections} connections, {args.duration}s x {args.rounds} rounds"
    if args.app == "echo":
        label += f", {args.body_size}-byte bodies"
    versions = {
        "python": sys.version.split()[0],
        "asgihost": module_version("asgihost"),
        "uvicorn": module_version("uvicorn"),
        "httptools": module_version("httptools"),
        "uvloop": module_version("uvloop"),
        "wrk": wrk_version(),
    }
    print(f"{label}; {pinning}; one worker each, access log off, --http httptools --loop {loop}", file=log)
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if v), file=log)
    for note in notes:
        print("note: " + note, file=log)

    problems: list[str] = []
    results: dict[str, Any] = {"throughput": {n: [] for n in names}, "idle": {n: [] for n in names}}
    with tempfile.TemporaryDirectory(prefix="asgihost-bench-") as tmp:
        ctx = {
            "loop": loop,
            "server_cpu": server_cpu,
            "wrk_cpu": wrk_cpu,
            "script": wrk_script(args.app, args.body_size, tmp),
            "idle_connections": idle_n,
            "label": label,
        }
        try:
            for round_no in range(1, args.rounds + 1):
                for name in names:
                    try:
                        r = throughput_round(name, args, ctx, problems)
                    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                        problems.append(f"{name} round {round_no}: {exc}")
                        print(f"round {round_no} {name:<9} FAILED: {exc}", file=log, flush=True)
                        continue
                    results["throughput"][name].append(r)
                    sock = r["socket_errors"]
                    sock_txt = f" socket {sock}" if any(sock.values()) else ""
                    print(
                        f"round {round_no} {name:<9} {r['rps']:>10,.0f} req/s  p50 {fmt_ms(r['p50_ms']):>8}"
                        f"  p99 {fmt_ms(r['p99_ms']):>8}  errors {r['errors']}{sock_txt}"
                        f"  rss {r['rss_before_kib'] / 1024:.1f}->{r['rss_after_kib'] / 1024:.1f} MiB",
                        file=log,
                        flush=True,
                    )
            idle_rounds = (args.idle_rounds or args.rounds) if idle_n else 0
            for round_no in range(1, idle_rounds + 1):
                for name in names:
                    try:
                        r = idle_round(name, args, ctx, problems)
                    except (RuntimeError, OSError, ValueError, IndexError, subprocess.TimeoutExpired) as exc:
                        problems.append(f"{name} idle round {round_no}: {exc}")
                        print(f"idle  {round_no} {name:<9} FAILED: {exc}", file=log, flush=True)
                        continue
                    results["idle"][name].append(r)
                    print(
                        f"idle  {round_no} {name:<9} {r['kib_per_conn']:>6.1f} KiB/conn  "
                        f"rss {r['rss_before_kib'] / 1024:.1f} -> {r['rss_idle_kib'] / 1024:.1f} MiB "
                        f"with {r['connections']} idle, "
                        f"{r['rss_after_close_kib'] / 1024:.1f} MiB after close; "
                        f"{r['still_served']}/{r['connections']} still served",
                        file=log,
                        flush=True,
                    )
        except KeyboardInterrupt:
            print("interrupted; reporting what was measured", file=sys.stderr)
            problems.append("interrupted")

    names = [n for n in names if results["throughput"][n]]
    if not names:
        print("no server could be measured:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    summary = summarize(results, names)
    print_summary(summary, names, ctx, log)
    if problems:
        print("\nproblems:", file=log)
        for problem in problems:
            print("  - " + problem.replace("\n", "\n    "), file=log)
    if args.json:
        write_report(
            {**vars(args), "idle_connections": idle_n, "loop": loop, "pinning": pinning},
            versions,
            notes,
            results,
            summary,
            problems,
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
