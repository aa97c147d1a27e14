"""The whole benchmark suite in one run: every target of issues 8 and 18 as a ratio to its peer, in a table.

  uv run --group bench python benchmarks/suite.py [--rounds N] [--duration S] [--soak-seconds S]
      [--only NAME[,NAME...]] [--json FILE] [--markdown FILE]

Every ratio compares servers measured in the same run, in interleaved rounds (A B C A B C ...,
a fresh server process each round, medians over rounds). Each server is ONE process (Granian: its
one worker and the process that starts it; ``reload``: a supervisor and its 2 workers), on a free
port of 127.0.0.1, with the access log off; with two or more CPUs the server is pinned to the
first CPU and the load generator to the second (taskset). Every load is bounded in time.
asgihost and Uvicorn are started as benchmarks/README.md shows (``--no-access-log --log-level
warning --http httptools --loop uvloop``; ``reload``: ``--log-level info``, as it waits for log
lines). The scenarios (``--only`` takes their names):

hello     HTTP/1.1 ``apps:hello`` under wrk, 64 keep-alive connections: req/s of asgihost over
          Uvicorn (target >= 1.5), and, for information, Granian (``--interface asgi --loop uvloop
          --http 1 --workers 1 --no-ws``), Hypercorn (h11, uvloop) and ``raw_ceiling.py`` (uvloop
          and httptools with no ASGI layer: what no server on this loop and parser can beat), each
          over Uvicorn, and asgihost over the ceiling.
fastapi   ``GET /items/42`` of a FastAPI app (``apps:fastapi_items``), wrk, 64 connections:
          asgihost over Uvicorn and over Granian (target >= 1.15 each).
upload    ``apps:echo`` read a 1 MiB request body per request (wrk POSTs it), 16 connections:
          asgihost over Uvicorn (target >= 1.0).
stream    ``apps:stream`` sends 1 MiB as 16 body messages of 64 KiB (chunked), 16 connections:
          asgihost over Uvicorn (target >= 1.0).
h2        HTTP/2 cleartext (h2c prior knowledge) with h2load, 16 connections x 32 streams, through
          ``http2.py``: asgihost over Hypercorn (target >= 4).
ws        WebSocket echo round trips with the Node.js client, through ``ws.py``: asgihost over
          Uvicorn with the WebSocket implementation it picks by default (target >= 1.3), and over
          Uvicorn with wsproto (the library asgihost uses) for information.
idle      Memory per idle keep-alive connection (1000 connections; ``http1.py``'s memory phase):
          asgihost's KiB per connection over Uvicorn's (target <= 1.0).
soak      asgihost under wrk (``apps:hello``, 64 connections) for ``--soak-seconds``, its RSS read
          every 10 s: first, last, max, and the growth after the first minute (target: last RSS at
          most 5 % above the RSS at 60 s; with a soak shorter than 120 s, at half-time).
multiapp  asgihost serving a generated asgihost.toml of 10 apps, each mounted by host and path
          prefix, against asgihost serving a file with one app. Every request (``GET /app10/hello``,
          ``Host: bench.test``) goes to the tenth app, the last the router tries for that host;
          req/s of 10 apps over 1 app (target >= 0.97: routing costs under 3 %).
instructions
          User-space instructions per request, counted by ``valgrind --tool=cachegrind``, which do
          not drift with the machine as req/s do: each server answers 1,000 and, started afresh,
          21,000 ``h2load --h1`` requests (16 connections), and the difference of its totals is
          divided by 20,000. HTTP/1.1 hello of asgihost against Uvicorn, for information, and the
          10 apps of ``multiapp`` against one (target: at most 1.03 of one app's count).
reload    ``apps:hello`` under wrk (32 keep-alive connections, 20 s) on a server with 2 workers
          that recycle after 10,000 requests plus up to 5,000 (jitter), across two SIGHUPs and,
          for asgihost, a SIGTERM whose ``[health] drain_delay`` outlasts wrk (``reload.py`` has
          the timeline): requests, socket read/write/timeout errors and non-2xx answers of
          asgihost (target: none) and, for information, of Uvicorn (``--workers 2
          --limit-max-requests``; it restarts its workers on SIGHUP). Connect errors are reported
          apart. The only scenario with more than one server process; ``--duration`` does not
          apply to it.
static    Issue 18: files served by asgihost's static app (``static = { root = DIR }`` mounted at
          /static), by nginx (Debian's, one worker, with its own generated nginx.conf: sendfile,
          tcp_nopush, no access log) and by Granian (``--static-path-route /static
          --static-path-mount DIR``, apps:hello), over HTTP/1.1 keep-alive. A 1 KiB file under wrk,
          64 connections: req/s of asgihost over Granian (target >= 1.0) and over nginx (target
          >= 0.35). A 100 MiB file, 4 connections: MB/s of asgihost over nginx (target >= 0.9),
          under wrk and under ``files.py``'s splice client, which discards bodies with splice(2)
          (wrk's 8 KiB copies on one CPU cap every sendfile server near the same figure).
pathsend  Issue 18: a FastAPI route returning ``FileResponse`` of a 64 KiB file (wrk, 64
          connections; target: asgihost >= 2.0 x Uvicorn, which offers no
          ``http.response.pathsend``) and of a 1 MiB file (16 connections, for information);
          Granian (which offers pathsend) for information. Which servers offer the extension is
          asked of each (``GET /pathsend``) and noted; asgihost not offering it is a problem.

A missing load generator (wrk, h2load, node), valgrind, or peer (nginx too) makes its scenario or row "skipped" with the
reason. Progress goes to stderr; the Markdown table, the versions, the machine and the command go
to stdout (and to ``--markdown FILE``); ``--json FILE`` gets every round. Exit status 1 when a
problem was seen (a server died, answered wrongly, logged an error, wrk counted errors, a round
failed), else 0; a target that is not met is a result, not a problem.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import reload
import tomli_w
from apps import FILES_DIR_ENV, HELLO_BODY, STREAM_CHUNK, STREAM_CHUNKS
from files import KIB, STATIC_MOUNT, File, nginx_argv, nginx_version, size_name, static_site, write_file
from http1 import (
    HERE,
    HOST,
    ROOT,
    SOCKET_TIMEOUT_S,
    WARMUP_S,
    Server,
    bounded_int,
    cpu_plan,
    free_port,
    idle_round,
    installed,
    median_or_none,
    pinned,
    raise_nofile,
    rss_kib,
    run_wrk,
    scan_log,
    wrk_version,
)
from http1 import server_argv as http1_argv
from http2 import HYPERCORN_KEEP_ALIVE_MAX_REQUESTS, dist_version, h2load_version
from http2 import server_argv as http2_argv
from ws import node_version

SCENARIOS = (
    "hello",
    "fastapi",
    "upload",
    "stream",
    "h2",
    "ws",
    "idle",
    "soak",
    "multiapp",
    "instructions",
    "reload",
    "static",
    "pathsend",
)
MIB = 1 << 20
BIG_CONNECTIONS = 64  # wrk connections for small requests
BODY_CONNECTIONS = 16  # wrk connections for 1 MiB bodies
H2_CONNECTIONS, H2_STREAMS = 16, 32
IDLE_CONNECTIONS = 1000
SOAK_SAMPLE_S = 10
SOAK_REFERENCE_S = 60  # growth is measured from the RSS at this time ...
SOAK_MAX_GROWTH = 1.05  # ... and must stay below this factor
MULTI_APPS = 10
MULTI_HOST = "bench.test"
SCRIPT_SLACK_S = 120  # http2.py/ws.py subprocess timeout beyond their own bounded rounds
STOP_SCRIPT_S = 30  # after SIGINT to a script that overran, before SIGKILL
CHECK_TIMEOUT_S = 60  # `asgihost check`
CG_REQUESTS = (1_000, 21_000)  # each server answers both counts; the cost is the difference
CG_CONNECTIONS = 16
CG_START_TIMEOUT_S = 300.0  # Python under valgrind runs some 50 times slower
CG_STOP_TIMEOUT_S = 120.0  # valgrind writes its counts once the server has exited
CG_LOAD_TIMEOUT_S = 900
STATIC_SMALL, STATIC_BIG = KIB, 100 * MIB
STATIC_BIG_CONNECTIONS = 4  # few connections, each keeping a big response in flight
PATHSEND_FILES = ((64 * KIB, BIG_CONNECTIONS, 2.0), (MIB, BODY_CONNECTIONS, None))  # size, conns, target


# ---- what the load generator sends, and what a right answer is -----------------------------------


@dataclass(frozen=True)
class Request:
    """One HTTP/1.1 request, as wrk sends it over and over (a Lua script) and a check sends it once."""

    method: str = "GET"
    path: str = "/"
    host: str | None = None
    body_size: int = 0

    def lua(self) -> str:
        lines = [f'wrk.method = "{self.method}"', f'wrk.path = "{self.path}"']
        if self.host:
            lines.append(f'wrk.headers["Host"] = "{self.host}"')
        if self.body_size:
            lines.append(f'wrk.body = string.rep("x", {self.body_size})')
            lines.append('wrk.headers["Content-Type"] = "application/octet-stream"')
        return "\n".join(lines) + "\n"

    def send(self, port: int) -> tuple[int, bytes]:
        """Send it on a fresh connection; (status, body). http.client de-chunks a streamed body."""
        conn = http.client.HTTPConnection(HOST, port, timeout=SOCKET_TIMEOUT_S)
        headers = {"Host": self.host} if self.host else {}
        body = b"x" * self.body_size if self.body_size else None
        if body is not None:
            headers["Content-Type"] = "application/octet-stream"
        try:
            conn.request(self.method, self.path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        except http.client.HTTPException as exc:
            raise ValueError(f"unreadable response: {exc!r}") from exc
        finally:
            conn.close()


@dataclass(frozen=True)
class Probe:
    """A request and the answer a server must give it before and after each measured load."""

    request: Request
    status: int
    body_ok: Callable[[bytes], bool]
    want: str  # the right body, in words, for messages

    def check(self, port: int) -> None:
        status, body = self.request.send(port)
        if status != self.status or not self.body_ok(body):
            raise ValueError(
                f"{self.request.method} {self.request.path} answered {status} with {len(body)} bytes"
                f" {body[:60]!r}, expected {self.status} {self.want}"
            )


def fastapi_ok(body: bytes) -> bool:
    try:
        return json.loads(body) == {"item_id": 42, "q": None}
    except ValueError:
        return False


HELLO = Probe(Request(), 200, lambda b: b == HELLO_BODY, repr(HELLO_BODY))
FASTAPI = Probe(Request(path="/items/42"), 200, fastapi_ok, '{"item_id": 42, "q": null}')
UPLOAD = Probe(Request("POST", body_size=MIB), 200, lambda b: b == str(MIB).encode(), f"b'{MIB}'")
STREAMED = STREAM_CHUNK * STREAM_CHUNKS
STREAM = Probe(Request(), 200, lambda b: b == STREAMED, f"the {len(STREAMED)}-byte stream")
MULTI_HIT = Probe(
    Request(path=f"/app{MULTI_APPS:02d}/hello", host=MULTI_HOST), 200, lambda b: b == HELLO_BODY, "hello"
)
MULTI_MISS = Probe(Request(path="/nowhere", host=MULTI_HOST), 404, lambda b: True, "a 404 (no app)")


@dataclass
class Outcome:
    """What one scenario produced: table rows, its measurements, notes and problems."""

    name: str
    rows: list[dict[str, str]] = field(default_factory=list)
    measured: dict[str, Any] = field(default_factory=dict)
    absent: dict[str, str] = field(default_factory=dict)  # peer -> why it was not measured
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def compare(
        self, title: str, a: str, b: str, target: float | None = None, lower_is_better: bool = False
    ) -> None:
        self.rows.append(compare_row(title, self.measured, self.absent, a, b, target, lower_is_better))


# ---- servers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Peer:
    """A server as a command line for a port, and the probes it must pass."""

    name: str
    argv: Callable[[int], list[str]]
    probes: tuple[Probe, ...]


class SuiteServer(Server):
    """http1.Server with any command line; ready once every probe passes."""

    def __init__(self, peer: Peer, cpu: int | None):
        self.name = peer.name
        self.port = free_port()
        self.argv = pinned(peer.argv(self.port), cpu)
        self.log = tempfile.TemporaryFile()
        self.proc = None
        self.probes = peer.probes

    def check(self) -> None:
        for probe in self.probes:
            probe.check(self.port)


@dataclass
class Context:
    args: argparse.Namespace
    loop: str
    server_cpu: int | None
    load_cpu: int | None
    tmp: Path
    log: TextIO = sys.stderr
    hypercorn_config: str = ""

    def say(self, text: str) -> None:
        print(text, file=self.log, flush=True)


def asgihost_peer(ctx: Context, app: str, probe: Probe) -> Peer:
    return Peer("asgihost", lambda port: http1_argv("asgihost", app, port, ctx.loop, []), (probe,))


def uvicorn_peer(ctx: Context, app: str, probe: Probe) -> Peer:
    return Peer("uvicorn", lambda port: http1_argv("uvicorn", app, port, ctx.loop, []), (probe,))


def granian_peer(ctx: Context, app: str, probe: Probe, extra: tuple[str, ...] = ()) -> Peer:
    def argv(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--loop",
            ctx.loop,
            "--http",
            "1",
            "--workers",
            "1",
            "--no-ws",
            "--host",
            HOST,
            "--port",
            str(port),
            "--working-dir",
            str(HERE),
            "--log-level",
            "warning",
            "--no-access-log",
            *extra,
            f"apps:{app}",
        ]

    return Peer("granian", argv, (probe,))


def hypercorn_peer(ctx: Context, app: str, probe: Probe) -> Peer:
    return Peer(
        "hypercorn", lambda port: http2_argv("hypercorn", app, port, ctx.loop, ctx.hypercorn_config), (probe,)
    )


def ceiling_peer(probe: Probe) -> Peer:
    def argv(port: int) -> list[str]:
        return [sys.executable, str(HERE / "raw_ceiling.py"), "--host", HOST, "--port", str(port)]

    return Peer("raw ceiling", argv, (probe,))


def site_peer(ctx: Context, name: str, site: Path, probes: tuple[Probe, ...]) -> Peer:
    """asgihost serving an asgihost.toml, with the flags of the README's command line."""

    def argv(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "asgihost",
            "run",
            str(site),
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
            ctx.loop,
        ]

    return Peer(name, argv, probes)


def optional_peers(ctx: Context, app: str, probe: Probe, wanted: list[str], out: Outcome) -> list[Peer]:
    """The peers of ``wanted`` whose module is installed; the others are noted as absent."""
    makers = {"uvicorn": uvicorn_peer, "granian": granian_peer, "hypercorn": hypercorn_peer}
    peers = []
    for name in wanted:
        if installed(name):
            peers.append(makers[name](ctx, app, probe))
        else:
            out.absent[name] = f"{name} is not installed"
    return peers


# ---- measuring with wrk ----------------------------------------------------------------------------


def after_load(server: SuiteServer, result: dict[str, Any], problems: list[str]) -> None:
    """Check a server after its measured load: alive, still right, no wrk errors, a clean log."""
    result["alive"] = server.alive()
    if not result["alive"]:
        problems.append(f"{server.name} died under load (exit {server.proc.returncode}):\n{server.output()}")
    else:
        try:
            server.check()
        except (OSError, ValueError) as exc:
            problems.append(f"{server.name} answered wrongly after the load: {exc}")
    if result["errors"]:
        problems.append(
            f"{server.name}: {result['non_2xx']} non-2xx responses, socket errors {result['socket_errors']}"
        )
    scan_log(server, problems, "its load")


def run_splice(port: int, path: str, connections: int, seconds: int, cpu: int | None) -> dict[str, Any]:
    """``files.py splice``'s load (GETs whose bodies go to /dev/null unread), in wrk's result shape."""
    argv = [sys.executable, str(HERE / "files.py"), "splice", HOST, str(port), path, str(connections)]
    proc = subprocess.run(
        pinned([*argv, str(seconds)], cpu), capture_output=True, text=True, timeout=seconds + SCRIPT_SLACK_S
    )
    try:
        r = json.loads(proc.stdout)
    except ValueError:
        raise RuntimeError(
            f"files.py splice failed ({proc.returncode}): {proc.stderr.strip()[-600:]}"
        ) from None
    failures = len(r["errors"])
    return {
        **r,
        "rps": r["responses"] / r["seconds"] if r["seconds"] else 0.0,
        "p50_ms": None,
        "p99_ms": None,
        "socket_errors": {"splice": failures} if failures else {},
        "errors": r["non_2xx"] + failures,
    }


def wrk_round(
    peer: Peer, script: str, connections: int, ctx: Context, problems: list[str], splice: str | None = None
) -> dict:
    """One fresh server under wrk (or, with ``splice``, files.py's splice client GETting that path)."""

    def load(port: int, seconds: int) -> dict[str, Any]:
        if splice:
            return run_splice(port, splice, connections, seconds, ctx.load_cpu)
        return run_wrk(port, seconds, connections, ctx.load_cpu, script)

    with SuiteServer(peer, ctx.server_cpu) as server:
        load(server.port, WARMUP_S)
        rss_before = rss_kib(server.pid)
        result = load(server.port, ctx.args.duration)
        result["rss_before_kib"] = rss_before
        result["rss_after_kib"] = rss_kib(server.pid)
        after_load(server, result, problems)
        return result


def measure_wrk(
    scenario: str,
    peers: list[Peer],
    request: Request,
    connections: int,
    ctx: Context,
    problems: list[str],
    mb_per_s: bool = False,
    splice: bool = False,
) -> dict[str, dict[str, Any]]:
    """Interleaved rounds of every peer under the same wrk load; per peer its rounds and medians.

    ``mb_per_s``: the medians are of the bytes read per second (10^6 per MB), not of req/s.
    ``splice``: files.py's splice client sends the request, not wrk.
    """
    script = ctx.tmp / f"{scenario}.lua"
    script.write_text(request.lua(), encoding="ascii")
    rounds: dict[str, list[dict[str, Any]]] = {peer.name: [] for peer in peers}
    for round_no in range(1, ctx.args.rounds + 1):
        for peer in peers:
            try:
                r = wrk_round(peer, str(script), connections, ctx, problems, request.path if splice else None)
            except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
                problems.append(f"{peer.name} round {round_no}: {exc}")
                ctx.say(f"[{scenario}] round {round_no} {peer.name:<18} FAILED: {exc}")
                continue
            rounds[peer.name].append(r)
            if mb_per_s:
                r["mb_s"] = (r["read_bytes"] or 0) / 1e6 / (r["seconds"] or ctx.args.duration)
            rate = f"{r['mb_s']:>10,.0f} MB/s" if mb_per_s else f"{r['rps']:>10,.0f} req/s"
            ctx.say(
                f"[{scenario}] round {round_no} {peer.name:<18} {rate}"
                f"  p99 {r['p99_ms'] or 0:.2f}ms  errors {r['errors']}"
                f"  rss {r['rss_before_kib'] / 1024:.1f}->{r['rss_after_kib'] / 1024:.1f} MiB"
            )
    key, unit = ("mb_s", "MB/s") if mb_per_s else ("rps", "req/s")
    return {name: summarize_rps(rs, key, unit) for name, rs in rounds.items() if rs}


def summarize_rps(rounds: list[dict[str, Any]], key: str = "rps", unit: str = "req/s") -> dict[str, Any]:
    rps = [r[key] for r in rounds]
    return {
        "median": statistics.median(rps),
        "min": min(rps),
        "max": max(rps),
        "unit": unit,
        "median_p99_ms": median_or_none([r["p99_ms"] for r in rounds]),
        "errors": sum(r["errors"] for r in rounds),
        "rounds": rounds,
    }


# ---- the table ---------------------------------------------------------------------------------------


def fmt_value(summary: dict[str, Any]) -> str:
    value, unit = summary["median"], summary["unit"]
    return f"{value:,.1f} {unit}" if abs(value) < 100 else f"{value:,.0f} {unit}"


def compare_row(
    scenario: str,
    measured: dict[str, dict[str, Any]],
    absent: dict[str, str],
    a: str,
    b: str,
    target: float | None = None,
    lower_is_better: bool = False,
) -> dict[str, str]:
    """The ratio of the medians a / b; with a target it is a goal (met yes/no), else information."""
    op = "≤" if lower_is_better else "≥"
    row = {
        "scenario": scenario,
        "target": f"{a} / {b} {op} {target:.2f}" if target is not None else f"info: {a} / {b}",
        "asgihost": "—",
        "peers": "—",
        "ratio": "—",
        "met": "—",
    }
    mine = [n for n in (a, b) if n.startswith("asgihost") and n in measured]
    theirs = [n for n in (a, b) if not n.startswith("asgihost") and n in measured]
    if mine:
        row["asgihost"] = "; ".join(
            fmt_value(measured[n]) if n == "asgihost" else f"{n}: {fmt_value(measured[n])}" for n in mine
        )
    if theirs:
        row["peers"] = "; ".join(f"{n} {fmt_value(measured[n])}" for n in theirs)
    missing = [n for n in (a, b) if n not in measured]
    if missing:
        row["met"] = "skipped: " + "; ".join(absent.get(n, f"{n} was not measured") for n in missing)
        return row
    num, den = measured[a]["median"], measured[b]["median"]
    if den <= 0:  # no ratio (e.g. memory that did not grow); a goal compares the values themselves
        if target is not None:
            row["met"] = "yes" if (num <= den if lower_is_better else num >= den) else "no"
        return row
    ratio = num / den
    row["ratio"] = f"{ratio:.2f}×"
    if target is not None:
        ok = ratio <= target if lower_is_better else ratio >= target
        row["met"] = "yes" if ok else "no"
    return row


def skipped_row(scenario: str, target: str, reason: str) -> dict[str, str]:
    return {
        "scenario": scenario,
        "target": target,
        "asgihost": "—",
        "peers": "—",
        "ratio": "—",
        "met": f"skipped: {reason}",
    }


def need(tool: str, install: str) -> str | None:
    return None if shutil.which(tool) else f"{tool} is not installed ({install})"


WRK_MISSING = "apt-get install wrk"


# ---- the scenarios ---------------------------------------------------------------------------------


def note_granian(out: Outcome) -> None:
    if "granian" in out.measured:
        out.notes.append(
            "Granian runs as a supervisor process and its one worker (both pinned; RSS is their sum)"
        )


def scenario_hello(ctx: Context, out: Outcome) -> None:
    title = f"1. HTTP/1.1 hello, wrk {BIG_CONNECTIONS} conns"
    reason = need("wrk", WRK_MISSING)
    if reason:
        out.rows.append(skipped_row(title, "asgihost / uvicorn ≥ 1.50", reason))
        return
    peers = [asgihost_peer(ctx, "hello", HELLO)]
    peers += optional_peers(ctx, "hello", HELLO, ["uvicorn", "granian", "hypercorn"], out)
    peers.append(ceiling_peer(HELLO))
    out.measured = measure_wrk("hello", peers, HELLO.request, BIG_CONNECTIONS, ctx, out.problems)
    note_granian(out)
    out.compare(title, "asgihost", "uvicorn", 1.5)
    for peer in ("granian", "hypercorn", "raw ceiling"):
        out.compare(title, peer, "uvicorn")
    out.compare(title, "asgihost", "raw ceiling")


def scenario_fastapi(ctx: Context, out: Outcome) -> None:
    title = f"2. FastAPI GET /items/42, wrk {BIG_CONNECTIONS} conns"
    reason = need("wrk", WRK_MISSING) or (None if installed("fastapi") else "FastAPI is not installed")
    if reason:
        out.rows.append(skipped_row(title, "asgihost / uvicorn ≥ 1.15", reason))
        return
    peers = [asgihost_peer(ctx, "fastapi_items", FASTAPI)]
    peers += optional_peers(ctx, "fastapi_items", FASTAPI, ["uvicorn", "granian"], out)
    out.measured = measure_wrk("fastapi", peers, FASTAPI.request, BIG_CONNECTIONS, ctx, out.problems)
    note_granian(out)
    out.compare(title, "asgihost", "uvicorn", 1.15)
    out.compare(title, "asgihost", "granian", 1.15)


def body_scenario(ctx: Context, out: Outcome, name: str, title: str, app: str, probe: Probe) -> None:
    reason = need("wrk", WRK_MISSING)
    if reason:
        out.rows.append(skipped_row(title, "asgihost / uvicorn ≥ 1.00", reason))
        return
    peers = [asgihost_peer(ctx, app, probe), *optional_peers(ctx, app, probe, ["uvicorn"], out)]
    out.measured = measure_wrk(name, peers, probe.request, BODY_CONNECTIONS, ctx, out.problems)
    out.compare(title, "asgihost", "uvicorn", 1.0)


def scenario_upload(ctx: Context, out: Outcome) -> None:
    title = f"3. upload 1 MiB body (echo), wrk {BODY_CONNECTIONS} conns"
    body_scenario(ctx, out, "upload", title, "echo", UPLOAD)


def scenario_stream(ctx: Context, out: Outcome) -> None:
    title = f"3. streamed 1 MiB response (16 × 64 KiB), wrk {BODY_CONNECTIONS} conns"
    body_scenario(ctx, out, "stream", title, "stream", STREAM)


def run_script(ctx: Context, tag: str, argv: list[str], timeout: float) -> tuple[int, dict[str, Any] | None]:
    """Run http2.py or ws.py with --json; its progress goes on to stderr, its report is returned."""
    cmd = [sys.executable, str(HERE / argv[0]), *argv[1:], "--json"]
    ctx.say(f"[{tag}] {shlex.join(cmd)}")
    with tempfile.TemporaryFile() as stdout:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE, text=True
        )
        assert proc.stderr is not None
        stream = proc.stderr

        def forward() -> None:
            for line in stream:
                ctx.say(f"[{tag}] {line.rstrip()}")

        reader = threading.Thread(target=forward, daemon=True)
        reader.start()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            # SIGINT first: the script then stops its server (in a session of its own) on the way out.
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(STOP_SCRIPT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            raise
        finally:
            reader.join(10)
        stdout.seek(0)
        text = stdout.read().decode("utf-8", "replace")
    try:
        return proc.returncode, json.loads(text)
    except ValueError:
        return proc.returncode, None


def script_timeout(ctx: Context, servers: int) -> float:
    return ctx.args.rounds * servers * (ctx.args.duration + 60) + SCRIPT_SLACK_S


def adopt_report(out: Outcome, report: dict[str, Any], key: str, unit: str) -> None:
    """Take a script's medians into ``out.measured`` and its problems and notes into ``out``."""
    for name, s in report.get("summary", {}).items():
        if isinstance(s, dict) and key in s:
            out.measured[name] = {
                "median": s[key],
                "unit": unit,
                "summary": s,
                "rounds": report["rounds"][name],
            }
    out.problems += report.get("problems", [])
    out.notes += report.get("notes", [])


def scenario_h2(ctx: Context, out: Outcome) -> None:
    title = f"4. HTTP/2 h2c, h2load {H2_CONNECTIONS} conns × {H2_STREAMS} streams"
    reason = need("h2load", "apt-get install nghttp2-client")
    if reason:
        out.rows.append(skipped_row(title, "asgihost / hypercorn ≥ 4.00", reason))
        return
    argv = ["http2.py", "--rounds", str(ctx.args.rounds), "--duration", str(ctx.args.duration)]
    argv += ["--connections", str(H2_CONNECTIONS), "--streams", str(H2_STREAMS)]
    if not installed("hypercorn"):
        out.absent["hypercorn"] = "hypercorn is not installed"
    status, report = run_script(ctx, "h2", argv, script_timeout(ctx, 2))
    if report is None:
        out.problems.append(f"http2.py ended with status {status} and no report")
        out.rows.append(skipped_row(title, "asgihost / hypercorn ≥ 4.00", f"http2.py failed ({status})"))
        return
    adopt_report(out, report, "median_rps", "req/s")
    out.compare(title, "asgihost", "hypercorn", 4.0)


def uvicorn_default_ws() -> str | None:
    """The ``--ws`` implementation Uvicorn's ``auto`` picks here, as ws.py names it."""
    try:
        from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol
    except Exception:
        return None
    if AutoWebSocketsProtocol is None:
        return None
    module = AutoWebSocketsProtocol.__module__.rpartition(".")[2]
    return {"websockets_sansio_impl": "websockets-sansio", "websockets_impl": "websockets"}.get(
        module, "wsproto" if module == "wsproto_impl" else None
    )


def scenario_ws(ctx: Context, out: Outcome) -> None:
    title = "5. WebSocket echo, node client, 50 conns"
    reason = need("node", "apt-get install nodejs npm")
    if reason:
        out.rows.append(skipped_row(title, "asgihost / uvicorn ≥ 1.30", reason))
        return
    default, impls = None, []
    if not installed("uvicorn"):
        out.absent["uvicorn"] = "uvicorn is not installed"
    else:
        default = uvicorn_default_ws()  # the target is against what `uvicorn` runs without --ws
        impls = [default, "wsproto"] if default and default != "wsproto" else ["wsproto"]
        if default:
            out.notes.append(f"Uvicorn's default WebSocket implementation here is --ws {default}")
        else:
            out.absent["uvicorn"] = "Uvicorn's --ws auto finds no WebSocket library"
    argv = ["ws.py", "--rounds", str(ctx.args.rounds), "--duration", str(ctx.args.duration)]
    if impls:
        argv += ["--uvicorn-ws", ",".join(impls)]
    status, report = run_script(ctx, "ws", argv, script_timeout(ctx, 1 + len(impls)))
    if report is None:
        out.problems.append(f"ws.py ended with status {status} and no report")
        out.rows.append(skipped_row(title, "asgihost / uvicorn ≥ 1.30", f"ws.py failed ({status})"))
        return
    adopt_report(out, report, "median_messages_per_s", "msg/s")
    out.compare(title, "asgihost", f"uvicorn({default})" if default else "uvicorn", 1.3)
    if default and default != "wsproto":  # wsproto is the library asgihost uses: like for like
        out.compare(title, "asgihost", "uvicorn(wsproto)")


def scenario_idle(ctx: Context, out: Outcome) -> None:
    title = f"6. memory per idle keep-alive conn ({IDLE_CONNECTIONS} conns)"
    names = ["asgihost"] + (["uvicorn"] if installed("uvicorn") else [])
    if len(names) == 1:
        out.absent["uvicorn"] = "uvicorn is not installed"
    wanted = IDLE_CONNECTIONS + 256
    if raise_nofile(wanted) < wanted:
        out.rows.append(skipped_row(title, "asgihost / uvicorn ≤ 1.00", f"RLIMIT_NOFILE below {wanted}"))
        return
    args = argparse.Namespace(app="hello", body_size=0)
    idle_ctx = {"loop": ctx.loop, "server_cpu": ctx.server_cpu, "idle_connections": IDLE_CONNECTIONS}
    rounds: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for round_no in range(1, ctx.args.rounds + 1):
        for name in names:
            try:
                r = idle_round(name, args, idle_ctx, out.problems)
            except (RuntimeError, OSError, ValueError, IndexError, subprocess.TimeoutExpired) as exc:
                out.problems.append(f"{name} idle round {round_no}: {exc}")
                ctx.say(f"[idle] round {round_no} {name:<9} FAILED: {exc}")
                continue
            rounds[name].append(r)
            ctx.say(
                f"[idle] round {round_no} {name:<9} {r['kib_per_conn']:>6.1f} KiB/conn"
                f"  rss {r['rss_before_kib'] / 1024:.1f} -> {r['rss_idle_kib'] / 1024:.1f} MiB,"
                f" {r['still_served']}/{r['connections']} still served"
            )
    for name, rs in rounds.items():
        if rs:
            values = [r["kib_per_conn"] for r in rs]
            out.measured[name] = {"median": statistics.median(values), "unit": "KiB/conn", "rounds": rs}
    out.compare(title, "asgihost", "uvicorn", 1.0, lower_is_better=True)


def soak_samples(server: SuiteServer, ctx: Context, seconds: int) -> tuple[dict[str, Any], list[list[float]]]:
    """wrk for ``seconds`` in a thread while this one reads the server's RSS every 10 s."""
    script = ctx.tmp / "soak.lua"
    script.write_text(HELLO.request.lua(), encoding="ascii")
    box: list[Any] = []

    def load() -> None:
        try:
            box.append(run_wrk(server.port, seconds, BIG_CONNECTIONS, ctx.load_cpu, str(script)))
        except Exception as exc:  # reported by the caller
            box.append(exc)

    worker = threading.Thread(target=load, daemon=True)
    started = time.monotonic()
    worker.start()
    samples: list[list[float]] = []
    while worker.is_alive():
        at = time.monotonic() - started
        samples.append([round(at, 1), rss_kib(server.pid)])
        ctx.say(f"[soak] t={at:5.0f}s rss {samples[-1][1] / 1024:.1f} MiB")
        worker.join(SOAK_SAMPLE_S - (time.monotonic() - started) % SOAK_SAMPLE_S)
    worker.join(seconds + 60)
    if not box or isinstance(box[0], Exception):
        raise RuntimeError(f"wrk failed during the soak: {box[0] if box else 'no result'}")
    return box[0], samples


def scenario_soak(ctx: Context, out: Outcome) -> None:
    seconds = ctx.args.soak_seconds
    title = f"6. soak: asgihost hello under wrk {BIG_CONNECTIONS} conns, {seconds} s"
    ref_at = SOAK_REFERENCE_S if seconds >= 2 * SOAK_REFERENCE_S else seconds / 2
    target = f"RSS growth after {ref_at:.0f} s ≤ {(SOAK_MAX_GROWTH - 1) * 100:.0f} %"
    reason = need("wrk", WRK_MISSING)
    if reason:
        out.rows.append(skipped_row(title, target, reason))
        return
    with SuiteServer(asgihost_peer(ctx, "hello", HELLO), ctx.server_cpu) as server:
        result, samples = soak_samples(server, ctx, seconds)
        after_load(server, result, out.problems)
    rss = [s[1] for s in samples]
    ref = next((s[1] for s in samples if s[0] >= ref_at), rss[-1])
    growth = rss[-1] / ref if ref else None
    out.measured["asgihost"] = {
        "rps": result["rps"],
        "errors": result["errors"],
        "samples_s_kib": samples,
        "reference_s": ref_at,
        "first_kib": rss[0],
        "last_kib": rss[-1],
        "max_kib": max(rss),
        "reference_kib": ref,
        "growth_kib": rss[-1] - ref,
    }
    out.rows.append(
        {
            "scenario": title,
            "target": target,
            "asgihost": f"RSS first {rss[0] / 1024:.1f}, last {rss[-1] / 1024:.1f}, max {max(rss) / 1024:.1f} MiB;"
            f" {result['rps']:,.0f} req/s",
            "peers": "—",
            "ratio": f"{growth:.3f}× (last / at {ref_at:.0f} s)" if growth else "—",
            "met": ("yes" if growth <= SOAK_MAX_GROWTH else "no") if growth else "—",
        }
    )


def write_sites(tmp: Path) -> tuple[Path, Path]:
    """asgihost.toml files: 10 apps by host and path prefix, and one app."""
    apps = {
        f"site{i:02d}": {
            "app": "apps:hello",
            "app_dir": str(HERE),
            "hosts": [f"site{i:02d}.{MULTI_HOST}", MULTI_HOST],
            "mount": f"/app{i:02d}",
        }
        for i in range(1, MULTI_APPS + 1)
    }
    many = tmp / "multi" / "asgihost.toml"
    one = tmp / "single" / "asgihost.toml"
    for path, content in (
        (many, {"apps": apps}),
        (one, {"apps": {"main": {"app": "apps:hello", "app_dir": str(HERE)}}}),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tomli_w.dumps(content), encoding="utf-8")
    return many, one


def asgihost_check(site: Path) -> str | None:
    """None when ``asgihost check`` accepts the file, else what it said."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "asgihost", "check", str(site)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return None if proc.returncode == 0 else (proc.stderr or proc.stdout).strip()[-2000:]


def scenario_multiapp(ctx: Context, out: Outcome) -> None:
    title = f"7. {MULTI_APPS} apps by host + prefix vs 1 app, wrk {BIG_CONNECTIONS} conns"
    many_name, one_name = f"asgihost, {MULTI_APPS} apps", "asgihost, 1 app"
    target = f"{many_name} / {one_name} ≥ 0.97"
    reason = need("wrk", WRK_MISSING)
    if reason:
        out.rows.append(skipped_row(title, target, reason))
        return
    many, one = write_sites(ctx.tmp)
    for site in (many, one):
        complaint = asgihost_check(site)
        if complaint:
            out.problems.append(f"asgihost check {site}: {complaint}")
            out.rows.append(
                skipped_row(title, target, "the generated asgihost.toml does not pass asgihost check")
            )
            return
    peers = [
        site_peer(ctx, many_name, many, (MULTI_HIT, MULTI_MISS)),
        site_peer(ctx, one_name, one, (MULTI_HIT,)),
    ]
    out.measured = measure_wrk("multiapp", peers, MULTI_HIT.request, BIG_CONNECTIONS, ctx, out.problems)
    out.notes.append(
        f"{MULTI_APPS} apps `apps:hello`, app NN with hosts [siteNN.{MULTI_HOST}, {MULTI_HOST}] and mount"
        f" /appNN; every request is {MULTI_HIT.request.method} {MULTI_HIT.request.path} with Host: {MULTI_HOST}"
    )
    out.compare(title, many_name, one_name, 0.97)


class CachegrindServer(SuiteServer):
    """A server run under ``valgrind --tool=cachegrind``, which writes what it counted at exit."""

    start_timeout = CG_START_TIMEOUT_S
    stop_timeout = CG_STOP_TIMEOUT_S

    def __init__(self, peer: Peer, cpu: int | None, counts: Path):
        def argv(port: int) -> list[str]:
            tool = ["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={counts}"]
            return [*tool, *peer.argv(port)]

        super().__init__(Peer(peer.name, argv, peer.probes), cpu)


def h2load_h1(port: int, request: Request, count: int, cpu: int | None) -> None:
    """Exactly ``count`` HTTP/1.1 requests over ``CG_CONNECTIONS`` connections; every one a 2xx."""
    cmd = ["h2load", "--h1", "-n", str(count), "-c", str(CG_CONNECTIONS)]
    if request.host:
        cmd += ["-H", f":authority: {request.host}"]
    cmd.append(f"http://{HOST}:{port}{request.path}")
    proc = subprocess.run(pinned(cmd, cpu), capture_output=True, text=True, timeout=CG_LOAD_TIMEOUT_S)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("status codes:")), "")
    if proc.returncode != 0 or not line.startswith(f"status codes: {count} 2xx,"):
        raise RuntimeError(f"h2load did not get {count} 2xx answers: {line or proc.stderr.strip()[-300:]}")


def instructions(peer: Peer, request: Request, count: int, ctx: Context, problems: list[str]) -> int:
    """User-space instructions of a server that starts, answers ``count`` requests and stops."""
    counts = ctx.tmp / f"cachegrind.{count}.out"
    counts.unlink(missing_ok=True)
    with CachegrindServer(peer, ctx.server_cpu, counts) as server:
        h2load_h1(server.port, request, count, ctx.load_cpu)
        if not server.alive():
            raise RuntimeError(f"{peer.name} died under load:\n{server.output()}")
        server.check()
        scan_log(server, problems, "its load")
    summary = [x for x in counts.read_text(encoding="utf-8").splitlines() if x.startswith("summary:")]
    if not summary:
        raise RuntimeError(f"cachegrind wrote no summary for {peer.name}")
    return int(summary[0].split()[1])


def scenario_instructions(ctx: Context, out: Outcome) -> None:
    title = f"8. user-space instructions per request (cachegrind), h2load --h1 {CG_CONNECTIONS} conns"
    many_name, one_name = f"asgihost, {MULTI_APPS} apps", "asgihost, 1 app"
    target = f"{many_name} / {one_name} ≤ 1.03"
    reason = need("valgrind", "apt-get install valgrind") or need("h2load", "apt-get install nghttp2-client")
    if reason:
        out.rows.append(skipped_row(title, target, reason))
        return
    many, one = write_sites(ctx.tmp)
    plan = [(asgihost_peer(ctx, "hello", HELLO), HELLO.request)]
    plan += [(peer, HELLO.request) for peer in optional_peers(ctx, "hello", HELLO, ["uvicorn"], out)]
    plan += [
        (site_peer(ctx, many_name, many, (MULTI_HIT,)), MULTI_HIT.request),
        (site_peer(ctx, one_name, one, (MULTI_HIT,)), MULTI_HIT.request),
    ]
    few, more = CG_REQUESTS
    for peer, request in plan:
        try:
            totals = [instructions(peer, request, count, ctx, out.problems) for count in CG_REQUESTS]
        except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
            out.problems.append(f"{peer.name}: {exc}")
            ctx.say(f"[instructions] {peer.name:<18} FAILED: {exc}")
            continue
        per_request = (totals[1] - totals[0]) / (more - few)
        out.measured[peer.name] = {"median": per_request, "unit": "instr/req", "totals": totals}
        ctx.say(f"[instructions] {peer.name:<18} {per_request:>10,.0f} per request")
    out.notes.append(
        f"{title}: totals of a server answering {few:,} and {more:,} requests, the difference divided by"
        f" {more - few:,}; the {MULTI_APPS}-app and 1-app servers answer the multiapp request"
        f" ({MULTI_HIT.request.method} {MULTI_HIT.request.path}, Host: {MULTI_HOST})"
    )
    out.compare(title, "asgihost", "uvicorn", lower_is_better=True)
    out.compare(title, many_name, one_name, 1.03, lower_is_better=True)


def reload_round(peer: Peer, script: str, ctx: Context, problems: list[str]) -> dict[str, Any]:
    """One server through reload.py's timeline; asgihost must then exit 0 after its drain."""
    with SuiteServer(peer, ctx.server_cpu) as server:
        assert server.proc is not None
        r = reload.load_across_reloads(server, peer.name, ctx.load_cpu, script)
        problems += [f"{peer.name}: {late}" for late in reload.late_signals(r)]
        if peer.name == "asgihost":
            try:
                r["exit_code"] = server.proc.wait(reload.EXIT_WAIT_S)
            except subprocess.TimeoutExpired:
                r["exit_code"] = None
            if r["exit_code"] != 0:
                problems.append(
                    f"asgihost did not exit 0 after its drain: {r['exit_code']}\n{server.output()}"
                )
        elif not server.alive():
            problems.append(
                f"{peer.name} died across the reloads (exit {server.proc.returncode}):\n{server.output()}"
            )
        else:
            try:
                server.check()
            except (OSError, ValueError) as exc:
                problems.append(f"{peer.name} answered wrongly after the reloads: {exc}")
        scan_log(server, problems, "the reloads")
        return r


def reload_cell(s: dict[str, Any]) -> str:
    return (
        f"{s['requests']:,.0f} requests; socket errors read {s['read']}, write {s['write']},"
        f" timeout {s['timeout']}; non-2xx {s['non_2xx']}; connect {s['connect']} (not counted);"
        f" {s['recycles']} recycles"
    )


def scenario_reload(ctx: Context, out: Outcome) -> None:
    title = (
        f"9. {len(reload.HUP_AT_S)} SIGHUPs, max-requests recycles and a drain, --workers {reload.WORKERS},"
        f" wrk {reload.CONNECTIONS} conns, {reload.RUN_S} s"
    )
    target = "asgihost: 0 socket read/write/timeout errors, 0 non-2xx"
    reason = need("wrk", WRK_MISSING)
    if reason:
        out.rows.append(skipped_row(title, target, reason))
        return
    site = reload.write_site(ctx.tmp)
    peers = [Peer("asgihost", lambda port: reload.asgihost_argv(site, port, ctx.loop), (HELLO,))]
    if installed("uvicorn"):
        peers.append(Peer("uvicorn", lambda port: reload.uvicorn_argv(port, ctx.loop), (HELLO,)))
    else:
        out.absent["uvicorn"] = "uvicorn is not installed"
    script = ctx.tmp / "reload.lua"
    script.write_text(HELLO.request.lua(), encoding="ascii")
    rounds: dict[str, list[dict[str, Any]]] = {peer.name: [] for peer in peers}
    for round_no in range(1, ctx.args.rounds + 1):
        for peer in peers:
            try:
                r = reload_round(peer, str(script), ctx, out.problems)
            except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
                out.problems.append(f"{peer.name} round {round_no}: {exc}")
                ctx.say(f"[reload] round {round_no} {peer.name:<9} FAILED: {exc}")
                continue
            rounds[peer.name].append(r)
            e = r["socket_errors"]
            ctx.say(
                f"[reload] round {round_no} {peer.name:<9} {r['requests']:>9,} requests"
                f"  socket errors {e or 'none'}  non-2xx {r['non_2xx']}  recycles {r['recycles']}"
                f"  signals at {[ev['sent_s'] for ev in r['events']]} s, acknowledged at"
                f" {[ev['acknowledged_s'] for ev in r['events']]} s"
            )
    for name, rs in rounds.items():
        if rs:
            total = {
                k: sum(r["socket_errors"].get(k, 0) for r in rs)
                for k in ("connect", "read", "write", "timeout")
            }
            out.measured[name] = {
                "requests": statistics.median(r["requests"] for r in rs),
                **total,
                "non_2xx": sum(r["non_2xx"] for r in rs),
                "recycles": sum(r["recycles"] for r in rs),
                "rounds": rs,
            }
    if "asgihost" not in out.measured:
        out.rows.append(skipped_row(title, target, "asgihost was not measured (see problems)"))
        return
    mine = out.measured["asgihost"]
    if not mine["recycles"]:
        out.notes.append("no asgihost worker reached its max requests during the run")
    theirs = out.measured.get("uvicorn")
    row = {"scenario": title, "target": target, "asgihost": reload_cell(mine), "peers": "—", "ratio": "—"}
    row["met"] = "yes" if mine["read"] + mine["write"] + mine["timeout"] + mine["non_2xx"] == 0 else "no"
    if theirs:
        row["peers"] = "uvicorn " + reload_cell(theirs)
    elif "uvicorn" in out.absent:
        row["peers"] = f"uvicorn skipped: {out.absent['uvicorn']}"
    out.rows.append(row)
    runs = len(mine["rounds"])
    out.notes.append(
        f"{title}: requests are the median per run, errors the sum over {runs} run(s); SIGHUP at"
        f" {', '.join(f'{t:g}' for t in reload.HUP_AT_S)} s, asgihost SIGTERM at {reload.TERM_AT_S:g} s with"
        f" drain_delay {reload.DRAIN_DELAY_S:g} s; max requests {reload.MAX_REQUESTS:,} + up to"
        f" {reload.MAX_REQUESTS_JITTER:,}; Uvicorn restarts its workers on SIGHUP and has no drain delay,"
        " so it is stopped after wrk"
    )


def file_probe(prefix: str, f: File) -> Probe:
    return Probe(Request(path=f"{prefix}/{f.name}"), 200, f.matches, f"the {size_name(f.size)} of {f.name}")


def static_peers(ctx: Context, site: Path | None, root: Path, probe: Probe, out: Outcome) -> list[Peer]:
    """asgihost's static app (unless its site failed ``asgihost check``), nginx and Granian."""
    peers = [site_peer(ctx, "asgihost", site, (probe,))] if site else []
    if shutil.which("nginx"):
        prefix = ctx.tmp / "nginx"
        peers.append(Peer("nginx", lambda port: nginx_argv(prefix, root, HOST, port), (probe,)))
    else:
        out.absent["nginx"] = "nginx is not installed (apt-get install nginx)"
    if installed("granian"):
        extra = ("--static-path-route", STATIC_MOUNT, "--static-path-mount", str(root))
        peers.append(granian_peer(ctx, "hello", probe, extra))
    else:
        out.absent["granian"] = "granian is not installed"
    return peers


def scenario_static(ctx: Context, out: Outcome) -> None:
    small_title = f"#18 static {size_name(STATIC_SMALL)} file, wrk {BIG_CONNECTIONS} conns"
    big_title = f"#18 static {size_name(STATIC_BIG)} file, wrk {STATIC_BIG_CONNECTIONS} conns"
    reason = need("wrk", WRK_MISSING)
    if reason:
        out.rows.append(skipped_row(small_title, "asgihost / granian ≥ 1.00, / nginx ≥ 0.35", reason))
        out.rows.append(skipped_row(big_title, "asgihost / nginx ≥ 0.90", reason))
        return
    root = ctx.tmp / "static"
    small = write_file(root, "small.bin", STATIC_SMALL)
    big = write_file(root, "big.bin", STATIC_BIG)
    written = static_site(ctx.tmp / "static-site", root)
    complaint = asgihost_check(written)
    site = None if complaint else written
    if complaint:
        out.problems.append(f"asgihost check {written}: {complaint}")
        out.absent["asgihost"] = "its static app does not pass asgihost check (see problems)"
    measured: dict[str, dict[str, Any]] = {}
    plans = (("small", small, BIG_CONNECTIONS, False), ("big", big, STATIC_BIG_CONNECTIONS, False))
    plans += (("big, splice", big, STATIC_BIG_CONNECTIONS, True),)
    for label, f, connections, splice in plans:
        probe = file_probe(STATIC_MOUNT, f)
        peers = static_peers(ctx, site, root, probe, out)
        measured[label] = measure_wrk(
            f"static {size_name(f.size)}{' splice' if splice else ''}",
            peers,
            probe.request,
            connections,
            ctx,
            out.problems,
            mb_per_s=f is big,
            splice=splice,
        )
    out.measured = measured
    splice_title = f"#18 static {size_name(STATIC_BIG)} file, splice client, {STATIC_BIG_CONNECTIONS} conns"
    small_m, big_m, splice_m = measured["small"], measured["big"], measured["big, splice"]
    out.rows.append(compare_row(small_title, small_m, out.absent, "asgihost", "granian", 1.0))
    out.rows.append(compare_row(small_title, small_m, out.absent, "asgihost", "nginx", 0.35))
    out.rows.append(compare_row(big_title, big_m, out.absent, "asgihost", "nginx", 0.9))
    out.rows.append(compare_row(big_title, big_m, out.absent, "asgihost", "granian"))
    out.rows.append(compare_row(splice_title, splice_m, out.absent, "asgihost", "nginx", 0.9))
    out.rows.append(compare_row(splice_title, splice_m, out.absent, "asgihost", "granian"))
    out.notes.append(
        f"GET {STATIC_MOUNT}/NAME of random bytes over HTTP/1.1 keep-alive; asgihost: an app"
        f" `static = {{ root = DIR }}` mounted at {STATIC_MOUNT}; nginx {nginx_version() or ''}: its own"
        " nginx.conf (worker_processes 1, sendfile on, tcp_nopush on, access_log off, keepalive_requests"
        f" 1000000, `location {STATIC_MOUNT}/ {{ alias DIR/; }}`), a master and one worker, both pinned;"
        f" Granian: --static-path-route {STATIC_MOUNT} --static-path-mount DIR with apps:hello, one"
        f" worker. The {size_name(STATIC_BIG)} file's MB/s are bytes read per second (10^6 per MB):"
        " wrk's (headers included) copy the body 8 KiB at a time on one CPU, a ceiling that servers"
        " using sendfile reach alike; the splice client (files.py) moves bodies to /dev/null with"
        " splice(2), copying nothing, so its numbers are the servers'"
    )


def pathsend_offered(peer: Peer, ctx: Context) -> bool | str:
    """Whether the server's HTTP scopes offer ``http.response.pathsend`` (``GET /pathsend``), or why not known."""
    try:
        with SuiteServer(peer, ctx.server_cpu) as server:
            status, body = Request(path="/pathsend").send(server.port)
            if status == 200:
                return bool(json.loads(body)["offered"])
            return f"GET /pathsend answered {status}"
    except (RuntimeError, OSError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:
        return str(exc)


def scenario_pathsend(ctx: Context, out: Outcome) -> None:
    reason = need("wrk", WRK_MISSING) or (None if installed("fastapi") else "FastAPI is not installed")
    titles = {
        size: f"#18 FastAPI FileResponse {size_name(size)}, wrk {conns} conns"
        for size, conns, _ in PATHSEND_FILES
    }
    if reason:
        for size, _, target in PATHSEND_FILES:
            goal = f"asgihost / uvicorn ≥ {target:.2f}" if target else "info: asgihost / uvicorn"
            out.rows.append(skipped_row(titles[size], goal, reason))
        return
    root = ctx.tmp / "pathsend"
    files = [write_file(root, f"file{size}.bin", size) for size, _, _ in PATHSEND_FILES]
    os.environ[FILES_DIR_ENV] = str(root)  # the servers inherit it; apps:fastapi_files reads it
    measured: dict[str, dict[str, Any]] = {}
    offered: dict[str, bool | str] = {}
    for f, (size, connections, target) in zip(files, PATHSEND_FILES, strict=True):
        probe = file_probe("/files", f)
        peers = [asgihost_peer(ctx, "fastapi_files", probe)]
        peers += optional_peers(ctx, "fastapi_files", probe, ["uvicorn", "granian"], out)
        if not offered:
            offered = {peer.name: pathsend_offered(peer, ctx) for peer in peers}
            ctx.say(f"[pathsend] http.response.pathsend offered: {offered}")
            if offered.get("asgihost") is not True:
                out.problems.append(
                    f"asgihost does not offer http.response.pathsend: {offered.get('asgihost')}"
                )
        label = size_name(size)
        measured[label] = measure_wrk(
            f"pathsend {label}", peers, probe.request, connections, ctx, out.problems
        )
        out.rows.append(compare_row(titles[size], measured[label], out.absent, "asgihost", "uvicorn", target))
        out.rows.append(compare_row(titles[size], measured[label], out.absent, "asgihost", "granian"))
    out.measured = measured
    out.notes.append(
        "`apps:fastapi_files`: GET /files/NAME returns FileResponse(path); Starlette sends"
        " http.response.pathsend where the scope offers it, else reads the file in 64 KiB chunks"
        " in a worker thread. Offered http.response.pathsend (GET /pathsend): "
        + ", ".join(
            f"{name} {'yes' if v is True else 'no' if v is False else v}" for name, v in offered.items()
        )
    )


RUNNERS: dict[str, Callable[[Context, Outcome], None]] = {
    "hello": scenario_hello,
    "fastapi": scenario_fastapi,
    "upload": scenario_upload,
    "stream": scenario_stream,
    "h2": scenario_h2,
    "ws": scenario_ws,
    "idle": scenario_idle,
    "soak": scenario_soak,
    "multiapp": scenario_multiapp,
    "instructions": scenario_instructions,
    "reload": scenario_reload,
    "static": scenario_static,
    "pathsend": scenario_pathsend,
}


# ---- the report ------------------------------------------------------------------------------------


def versions() -> dict[str, str | None]:
    return {
        "asgihost": dist_version("asgihost"),
        "uvicorn": dist_version("uvicorn"),
        "hypercorn": dist_version("hypercorn"),
        "granian": dist_version("granian"),
        "fastapi": dist_version("fastapi"),
        "uvloop": dist_version("uvloop"),
        "httptools": dist_version("httptools"),
        "python": platform.python_version(),
        "wrk": wrk_version() if shutil.which("wrk") else None,
        "h2load": h2load_version() if shutil.which("h2load") else None,
        "node": node_version(),
        "nginx": nginx_version(),
    }


def machine() -> dict[str, Any]:
    model = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    return {"nproc": usable, "cpu_model": model, "kernel": f"{platform.system()} {platform.release()}"}


def command_line(argv: list[str]) -> str:
    return shlex.join(["uv", "run", "--group", "bench", "python", "benchmarks/suite.py", *argv])


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(outcomes: list[Outcome], info: dict[str, Any]) -> str:
    columns = ("scenario", "target", "asgihost", "peers", "ratio", "met")
    lines = [
        "| scenario | target | asgihost | peer(s) | ratio | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for outcome in outcomes:
        for row in outcome.rows:
            if outcome.problems and row["met"] in ("yes", "no"):
                row = {**row, "met": row["met"] + " (see problems)"}
            lines.append("| " + " | ".join(cell(row[c]) for c in columns) + " |")
    lines.append("")
    v = info["versions"]
    lines.append("Versions: " + ", ".join(f"{k} {v[k] or 'not installed'}" for k in v) + ".")
    m = info["machine"]
    lines.append(f"Machine: {m['nproc']} CPUs (nproc), {m['cpu_model']}, {m['kernel']}.")
    lines.append(f"Date: {info['date']}.")
    lines.append(f"Settings: {info['settings']}.")
    lines.append(f"Command: `{info['command']}`")
    notes = [f"{o.name}: {n}" for o in outcomes for n in dict.fromkeys(o.notes) if n]
    if notes:
        lines += ["", "Notes:", *(f"- {n}" for n in notes)]
    problems = [f"{o.name}: {p}" for o in outcomes for p in o.problems]
    if problems:
        lines += ["", "Problems:", *("- " + p.replace("\n", " ")[:600] for p in problems)]
    return "\n".join(lines) + "\n"


# ---- main --------------------------------------------------------------------------------------------


def scenario_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in SCENARIOS]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown {', '.join(bad) or 'nothing'}; choose from {', '.join(SCENARIOS)}"
        )
    return names


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=bounded_int(1, 50), default=3, help="rounds per server and scenario [3]")
    p.add_argument(
        "--duration", type=bounded_int(1, 600), default=5, help="seconds of measured load per round [5]"
    )
    p.add_argument(
        "--soak-seconds", type=bounded_int(10, 86_400), default=300, help="length of the soak [300]"
    )
    p.add_argument(
        "--only",
        type=scenario_list,
        default=list(SCENARIOS),
        help=f"comma-separated subset of {','.join(SCENARIOS)}",
    )
    p.add_argument("--json", metavar="FILE", help="write every round and the table's data as JSON here")
    p.add_argument("--markdown", metavar="FILE", help="write the Markdown table here too")
    return p.parse_args(argv)


def run_scenarios(ctx: Context, names: list[str]) -> list[Outcome]:
    outcomes = []
    for name in names:
        out = Outcome(name)
        outcomes.append(out)
        ctx.say(f"==== {name}")
        started = time.monotonic()
        try:
            RUNNERS[name](ctx, out)
        except KeyboardInterrupt:
            out.problems.append("interrupted")
            ctx.say("interrupted; reporting what was measured")
            break
        except Exception as exc:  # one scenario's failure must not lose the others
            out.problems.append(f"the scenario failed: {exc!r}")
            if not out.rows:
                out.rows.append({**skipped_row(name, "—", ""), "met": f"failed: {exc}"[:300]})
        finally:
            out.seconds = round(time.monotonic() - started, 1)
            ctx.say(f"==== {name}: {out.seconds:.0f} s")
    return outcomes


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    server_cpu, load_cpu = cpu_plan()
    loop = "uvloop" if installed("uvloop") else "asyncio"
    pinning = (
        f"servers on CPU {server_cpu}, load generators on CPU {load_cpu}"
        if server_cpu is not None
        else "no CPU pinning (fewer than 2 CPUs or no taskset)"
    )
    info: dict[str, Any] = {
        "command": command_line(argv),
        "python_executable": sys.executable,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "machine": machine(),
        "settings": f"{args.rounds} rounds × {args.duration} s per server (after a warm-up), interleaved;"
        f" soak {args.soak_seconds} s; {pinning}; loop {loop}; one process per server",
    }
    print(f"suite: {', '.join(args.only)}; {info['settings']}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="asgihost-suite-") as tmp:
        config = Path(tmp) / "hypercorn.toml"
        config.write_text(
            f"keep_alive_max_requests = {HYPERCORN_KEEP_ALIVE_MAX_REQUESTS}\n", encoding="ascii"
        )
        ctx = Context(args, loop, server_cpu, load_cpu, Path(tmp), hypercorn_config=str(config))
        outcomes = run_scenarios(ctx, args.only)
    table = markdown(outcomes, info)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table, encoding="utf-8")
    if args.json:
        report = {
            **info,
            "config": {k: v for k, v in vars(args).items() if k not in ("json", "markdown")},
            "scenarios": {o.name: vars(o) for o in outcomes},
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 1 if any(o.problems for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
