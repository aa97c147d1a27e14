"""The suite's ``reload`` scenario: wrk across two reloads, max-requests recycles and a drain.

A server with two workers that replace themselves after a number of requests (with jitter)
serves ``apps:hello`` to wrk, 32 keep-alive connections for ``RUN_S`` seconds. During the run
the supervisor gets SIGHUP at ``HUP_AT_S`` (asgihost: each waited for until its log says
"Reloaded:"; Uvicorn: until it says it received it, as it logs nothing when its restart is
done), and asgihost gets SIGTERM at ``TERM_AT_S``: its health check answers 503 while the apps
go on serving for ``DRAIN_DELAY_S``, which outlasts wrk, so the drain happens under the load.
A signal waits for the one before it to take effect, plus ``SIGNAL_GAP_S`` (a reload under load
on the one pinned CPU took 4 to 8 s here: the new workers start while the old ones serve).
What counts is what wrk saw: requests, socket read/write/timeout errors and non-2xx answers (the
target for asgihost: none of either). wrk does not say when an error happened, so connect
errors are reported apart and not counted against the target: the only time a server may
refuse a connection is once its drain has begun. Uvicorn has no drain delay (SIGTERM closes its
listener at once), so it is stopped after wrk ends.

Timeline, in seconds from wrk's start, at the earliest: 0 wrk starts, 3 SIGHUP, 8 SIGHUP, 15
SIGTERM (asgihost), 20 wrk ends, 23 asgihost's graceful stop begins. Everything is bounded in
time; a drain that began only after wrk ended is reported as a problem.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import tomli_w
from http1 import HERE, HOST, WRK_SLACK_S, Server, run_wrk

WORKERS = 2
CONNECTIONS = 32
RUN_S = 20  # wrk's duration
HUP_AT_S = (3.0, 8.0)
TERM_AT_S = 15.0  # asgihost only
SIGNAL_GAP_S = 1.0  # at least this long after the previous signal took effect
DRAIN_DELAY_S = 8.0  # asgihost's [health] drain_delay: from TERM_AT_S to 3 s past wrk's end
MAX_REQUESTS, MAX_REQUESTS_JITTER = 10_000, 5_000  # a few recycles at some 3,000 req/s per worker
SIGNAL_WAIT_S = 15.0  # for the log to acknowledge a SIGHUP or the SIGTERM
EXIT_WAIT_S = DRAIN_DELAY_S + 30  # for asgihost to exit after its drain, from wrk's end
RELOADED = "Reloaded:"  # asgihost's supervisor, once the new workers serve
UVICORN_HUP = "Received SIGHUP"  # Uvicorn's supervisor, before it restarts its workers
DRAIN_BEGUN = "the graceful stop begins"  # an asgihost worker whose health check went to 503
RECYCLED = {"asgihost": "reached its max requests", "uvicorn": "Maximum request limit"}


def write_site(tmp: Path) -> Path:
    """The asgihost.toml of the scenario: 2 workers, max requests with jitter, a drain delay."""
    site = tmp / "reload" / "asgihost.toml"
    site.parent.mkdir(parents=True, exist_ok=True)
    content = {
        "server": {
            "workers": WORKERS,
            "max_requests": MAX_REQUESTS,
            "max_requests_jitter": MAX_REQUESTS_JITTER,
        },
        "health": {"path": "/healthz", "drain_delay": DRAIN_DELAY_S},
        "apps": {"main": {"app": "apps:hello", "app_dir": str(HERE)}},
    }
    site.write_text(tomli_w.dumps(content), encoding="utf-8")
    return site


def asgihost_argv(site: Path, port: int, loop: str) -> list[str]:
    return [
        *(sys.executable, "-m", "asgihost", "run", str(site), "--host", HOST, "--port", str(port)),
        *("--no-access-log", "--log-level", "info", "--http", "httptools", "--loop", loop),
    ]


def uvicorn_argv(port: int, loop: str) -> list[str]:
    return [
        *(sys.executable, "-m", "uvicorn", "apps:hello", "--app-dir", str(HERE)),
        *("--host", HOST, "--port", str(port), "--workers", str(WORKERS)),
        *("--limit-max-requests", str(MAX_REQUESTS), "--limit-max-requests-jitter", str(MAX_REQUESTS_JITTER)),
        *("--no-access-log", "--log-level", "info", "--http", "httptools", "--loop", loop),
    ]


def log_count(server: Server, text: str) -> int:
    return server.output(limit=1 << 30).count(text)


def wait_log(server: Server, text: str, count: int, deadline: float) -> bool:
    """Wait until the server's log holds ``text`` ``count`` times, or the deadline passes."""
    while log_count(server, text) < count:
        if time.monotonic() >= deadline or not server.alive():
            return False
        time.sleep(0.02)
    return True


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def load_across_reloads(server: Server, kind: str, cpu: int | None, script: str) -> dict[str, Any]:
    """wrk for ``RUN_S`` in a thread while this one sends the signals; what wrk and the log saw."""
    box: list[Any] = []
    ended: list[float] = []

    def load() -> None:
        try:
            box.append(run_wrk(server.port, RUN_S, CONNECTIONS, cpu, script))
        except Exception as exc:  # reported below
            box.append(exc)
        ended.append(time.monotonic())

    assert server.proc is not None
    wrk = threading.Thread(target=load, daemon=True)
    started = time.monotonic()
    wrk.start()
    events: list[dict[str, Any]] = []

    def signal_and_wait(sig: signal.Signals, at: float, text: str, count: int) -> None:
        assert server.proc is not None
        previous = [e["acknowledged_s"] or e["sent_s"] for e in events[-1:]]
        sleep_until(started + max([at] + [t + SIGNAL_GAP_S for t in previous]))
        sent = time.monotonic()
        server.proc.send_signal(sig)
        seen = wait_log(server, text, count, sent + SIGNAL_WAIT_S)
        events.append(
            {
                "signal": sig.name,
                "sent_s": round(sent - started, 2),
                "acknowledged_s": round(time.monotonic() - started, 2) if seen else None,
                "waited_for": text,
            }
        )

    marker = RELOADED if kind == "asgihost" else UVICORN_HUP
    for n, at in enumerate(HUP_AT_S, 1):
        signal_and_wait(signal.SIGHUP, at, marker, n)
    if kind == "asgihost":
        signal_and_wait(signal.SIGTERM, TERM_AT_S, DRAIN_BEGUN, 1)
    wrk.join(RUN_S + WRK_SLACK_S)
    if not box or isinstance(box[0], Exception):
        raise RuntimeError(f"wrk failed across the reloads: {box[0] if box else 'no result'}")
    result: dict[str, Any] = {**box[0], "events": events, "wrk_ended_s": round(ended[0] - started, 2)}
    result["recycles"] = log_count(server, RECYCLED[kind])
    return result


def late_signals(result: dict[str, Any]) -> list[str]:
    """The signals whose effect the log did not show in time, or that came after wrk ended."""
    late = []
    for e in result["events"]:
        if e["acknowledged_s"] is None:
            late.append(
                f"{e['signal']} at {e['sent_s']} s: no {e['waited_for']!r} in the log within {SIGNAL_WAIT_S} s"
            )
        elif e["acknowledged_s"] > result["wrk_ended_s"]:
            late.append(f"{e['signal']} at {e['sent_s']} s took effect after wrk ended")
    return late
