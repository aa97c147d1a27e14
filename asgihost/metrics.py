"""Metrics in the Prometheus text exposition format (version 0.0.4).

Counting happens on the event loop, and is kept off the per-request path: a finished exchange
appends its status and its duration to two lists, and ``AppStats.fold``
turns what has piled up into counts and histogram buckets with C routines (sort, bisect,
Counter) when a snapshot is taken, once a second. Every second each process takes a
``snapshot`` (plain, picklable data); a supervisor sums its workers' snapshots (and keeps the
counts of workers that are gone, so counters never go backwards), and ``exposition`` renders a
snapshot as text.

Series:
- ``asgihost_requests_total{app, status, protocol}``: answered exchanges; status is a class (2xx).
- ``asgihost_request_duration_seconds{app}``: histogram, from a request's head to the end of its app.
- ``asgihost_connections_open``, ``asgihost_websockets_active``: gauges.
- ``asgihost_worker_restarts_total``: workers replaced after dying or hanging; ``asgihost_workers``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from math import fsum
from typing import Any

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"

Snapshot = dict[str, Any]


# An exchange is noted as its status plus 1000 x the index of its protocol here.
PROTOCOLS = ("HTTP/1.1", "HTTP/1.0", "HTTP/2")
HTTP10, HTTP2 = 1000, 2000


class AppStats:
    """One app's counts. The hot path only appends; ``fold`` counts."""

    __slots__ = ("statuses", "durations", "counts", "buckets", "seconds")

    def __init__(self) -> None:
        # Lists, not arrays: array.append parses its argument, several times list.append's cost.
        self.statuses: list[int] = []  # status + HTTP10 or HTTP2, one per exchange since the last fold
        self.durations: list[float] = []  # seconds, in the same order
        self.counts = [0] * (len(PROTOCOLS) * 10)  # protocol x status class (status // 100)
        self.buckets = [0] * (len(BUCKETS) + 1)  # the last is +Inf
        self.seconds = 0.0

    def observe(self, status: int, protocol: int, seconds: float) -> None:
        """Note one exchange: ``protocol`` is 0, HTTP10 or HTTP2; status is 100 to 999."""
        self.statuses.append(status + protocol)
        self.durations.append(seconds)

    def fold(self) -> None:
        """Count the exchanges noted since the last fold."""
        statuses, durations = self.statuses, self.durations
        if not statuses:
            return
        for code, count in Counter(statuses).items():
            self.counts[code // 1000 * 10 + code % 1000 // 100] += count
        ordered = sorted(durations)
        below = 0
        for index, bound in enumerate(BUCKETS):  # a duration equal to a bound is in its bucket
            upto = bisect_right(ordered, bound)
            self.buckets[index] += upto - below
            below = upto
        self.buckets[-1] += len(ordered) - below
        self.seconds += fsum(durations)
        statuses.clear()
        durations.clear()


class Recorder:
    """The live counts of one process, by app."""

    __slots__ = ("apps",)

    def __init__(self) -> None:
        self.apps: dict[str, AppStats] = {}

    def for_app(self, name: str) -> AppStats:
        stats = self.apps.get(name)
        if stats is None:
            stats = self.apps[name] = AppStats()
        return stats

    def snapshot(self, connections: int, websockets: int) -> Snapshot:
        requests: dict[tuple[str, int, str], int] = {}
        histograms: dict[str, list[int]] = {}
        sums: dict[str, float] = {}
        for app, stats in self.apps.items():
            stats.fold()
            for index, count in enumerate(stats.counts):
                if count:
                    requests[(app, index % 10, PROTOCOLS[index // 10])] = count
            if any(stats.buckets):
                histograms[app] = list(stats.buckets)
                sums[app] = stats.seconds
        return {
            "requests": requests,
            "histograms": histograms,
            "sums": sums,
            "connections": connections,
            "websockets": websockets,
            "restarts": 0,
            "workers": 1,
        }


def empty() -> Snapshot:
    return Recorder().snapshot(0, 0) | {"workers": 0}


def merge(snapshots: list[Snapshot]) -> Snapshot:
    """The sum of several processes' snapshots."""
    total = empty()
    for snap in snapshots:
        requests = total["requests"]
        for key, count in snap["requests"].items():
            requests[key] = requests.get(key, 0) + count
        for app, counts in snap["histograms"].items():
            mine = total["histograms"].setdefault(app, [0] * len(counts))
            for index, count in enumerate(counts):
                mine[index] += count
        for app, value in snap["sums"].items():
            total["sums"][app] = total["sums"].get(app, 0.0) + value
        for gauge in ("connections", "websockets", "restarts", "workers"):
            total[gauge] += snap[gauge]
    return total


def retire(snapshot: Snapshot) -> Snapshot:
    """What a stopped worker leaves behind: its counters, not its gauges."""
    return snapshot | {"connections": 0, "websockets": 0, "workers": 0}


def exposition(snap: Snapshot) -> bytes:
    lines = [
        "# HELP asgihost_requests_total HTTP exchanges answered, by app, status class and protocol.",
        "# TYPE asgihost_requests_total counter",
    ]
    for (app, status, protocol), count in sorted(snap["requests"].items()):
        lines.append(
            f'asgihost_requests_total{{app="{app}",status="{status}xx",protocol="{protocol}"}} {count}'
        )
    lines += [
        "# HELP asgihost_request_duration_seconds From a request's head to the end of its app.",
        "# TYPE asgihost_request_duration_seconds histogram",
    ]
    for app, counts in sorted(snap["histograms"].items()):
        cumulative = 0
        for bound, count in zip((*BUCKETS, "+Inf"), counts, strict=True):
            cumulative += count
            lines.append(f'asgihost_request_duration_seconds_bucket{{app="{app}",le="{bound}"}} {cumulative}')
        lines.append(f'asgihost_request_duration_seconds_sum{{app="{app}"}} {snap["sums"][app]:.6f}')
        lines.append(f'asgihost_request_duration_seconds_count{{app="{app}"}} {cumulative}')
    for name, kind, about, key in (
        ("asgihost_connections_open", "gauge", "Open client connections.", "connections"),
        ("asgihost_websockets_active", "gauge", "WebSocket sessions in progress.", "websockets"),
        ("asgihost_worker_restarts_total", "counter", "Workers replaced after dying or hanging.", "restarts"),
        ("asgihost_workers", "gauge", "Worker processes serving.", "workers"),
    ):
        lines += [f"# HELP {name} {about}", f"# TYPE {name} {kind}", f"{name} {snap[key]}"]
    return ("\n".join(lines) + "\n").encode()
