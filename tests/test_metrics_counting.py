"""Counting and exposition of metrics, without a server (the e2e tests scrape a live one)."""

from __future__ import annotations

import pytest

from asgihost.metrics import BUCKETS, HTTP2, HTTP10, Recorder, exposition, merge, retire


def _lines(snapshot: dict) -> list[str]:
    return exposition(snapshot).decode().splitlines()


def test_counts_by_status_class_and_protocol() -> None:
    recorder = Recorder()
    stats = recorder.for_app("main")
    for status, protocol in ((200, 0), (204, 0), (404, 0), (500, HTTP2), (200, HTTP10), (101, 0), (999, 0)):
        stats.observe(status, protocol, 0.0001)
    snap = recorder.snapshot(3, 1)
    assert snap["requests"] == {
        ("main", 2, "HTTP/1.1"): 2,
        ("main", 4, "HTTP/1.1"): 1,
        ("main", 5, "HTTP/2"): 1,
        ("main", 2, "HTTP/1.0"): 1,
        ("main", 1, "HTTP/1.1"): 1,
        ("main", 9, "HTTP/1.1"): 1,
    }
    assert snap["connections"] == 3 and snap["websockets"] == 1


def test_histogram_buckets_are_upper_inclusive() -> None:
    recorder = Recorder()
    stats = recorder.for_app("main")
    durations = [0.0, 0.001, 0.0010001, 0.0025, 0.3, 10.0, 10.5, 99.0]
    for seconds in durations:
        stats.observe(200, 0, seconds)
    histogram = recorder.snapshot(0, 0)["histograms"]["main"]
    expected = [0] * (len(BUCKETS) + 1)
    for seconds in durations:
        expected[next((i for i, bound in enumerate(BUCKETS) if seconds <= bound), len(BUCKETS))] += 1
    assert histogram == expected
    assert histogram[0] == 2  # 0 and exactly 1 ms
    assert histogram[-1] == 2  # above 10 s: only +Inf
    text = _lines(recorder.snapshot(0, 0))
    assert 'asgihost_request_duration_seconds_bucket{app="main",le="0.001"} 2' in text
    assert 'asgihost_request_duration_seconds_bucket{app="main",le="+Inf"} 8' in text
    assert 'asgihost_request_duration_seconds_count{app="main"} 8' in text
    assert f'asgihost_request_duration_seconds_sum{{app="main"}} {sum(durations):.6f}' in text


def test_folding_is_incremental() -> None:
    """Snapshots fold what was noted since the last one into the totals, and never count twice."""
    recorder = Recorder()
    stats = recorder.for_app("main")
    stats.observe(200, 0, 0.002)
    first = recorder.snapshot(0, 0)
    assert first["requests"] == {("main", 2, "HTTP/1.1"): 1}
    assert len(stats.statuses) == len(stats.durations) == 0
    assert recorder.snapshot(0, 0)["requests"] == first["requests"]
    stats.observe(503, 0, 0.2)
    stats.observe(201, 0, 0.0)
    second = recorder.snapshot(0, 0)
    assert second["requests"] == {("main", 2, "HTTP/1.1"): 2, ("main", 5, "HTTP/1.1"): 1}
    assert sum(second["histograms"]["main"]) == 3
    assert second["sums"]["main"] == pytest.approx(0.202)


def test_an_app_without_exchanges_has_no_series() -> None:
    recorder = Recorder()
    recorder.for_app("idle")
    snap = recorder.snapshot(0, 0)
    assert snap["requests"] == {} and snap["histograms"] == {}
    assert not any("idle" in line for line in _lines(snap))


def test_merge_sums_workers_and_retire_keeps_counters_only() -> None:
    one, two = Recorder(), Recorder()
    one.for_app("a").observe(200, 0, 0.01)
    two.for_app("a").observe(200, 0, 0.02)
    two.for_app("b").observe(404, HTTP2, 0.03)
    total = merge([one.snapshot(2, 0), retire(two.snapshot(5, 1))])
    assert total["requests"] == {("a", 2, "HTTP/1.1"): 2, ("b", 4, "HTTP/2"): 1}
    assert total["sums"]["a"] == pytest.approx(0.03)
    assert total["connections"] == 2 and total["websockets"] == 0 and total["workers"] == 1
