"""Prometheus metrics through the real server: on a path and on a listener of their own, in one
process and summed over workers, with the right counts after load, and absent when not set."""

from __future__ import annotations

import os
import re
import signal

import httpx
import pytest
from conftest import check_config, free_port, series, wait_until

SITE = """
[server]
workers = {workers}
[listeners.web]
bind = "127.0.0.1:{port}"
[apps.api]
app = "client_app:app"
mount = "/api"
[apps.chat]
app = "ws_apps:echo"
mount = "/ws"
"""


def start(run, tmp_path, metrics: str, workers: int = 1):
    """``asgihost run asgihost.toml`` by ``run``: serve (in this process) or serve_process."""
    port = free_port()
    config = tmp_path / "asgihost.toml"
    config.write_text(SITE.format(port=port, workers=workers) + metrics)
    server = run(str(config), wait=False)
    server.wait_for_log("running on", timeout=20)
    return server, f"http://127.0.0.1:{port}"


def scrape_until(url: str, name: str, expected: float, timeout: float = 10.0) -> dict[str, float]:
    """Metrics on a listener of their own are as of the last second: wait for ``expected``."""
    values: dict[str, float] = {}

    def scraped() -> bool:
        values.update(series(httpx.get(url, timeout=10).text))
        return values.get(name) == expected

    wait_until(scraped, timeout)  # the caller asserts on the values
    return values


API_2XX = 'asgihost_requests_total{app="api",status="2xx",protocol="HTTP/1.1"}'
NONE_4XX = 'asgihost_requests_total{app="-",status="4xx",protocol="HTTP/1.1"}'


def test_absent_when_not_configured(serve, tmp_path):
    server, base = start(serve, tmp_path, "")
    try:
        response = httpx.get(f"{base}/metrics", timeout=10)
        assert response.status_code == 404 and "asgihost_" not in response.text
    finally:
        assert server.stop() == 0


def test_counts_on_a_path_and_a_listener_of_their_own(serve, tmp_path):
    metrics_port = free_port()
    server, base = start(
        serve, tmp_path, f'[metrics]\npath = "/metrics"\nbind = "127.0.0.1:{metrics_port}"\n'
    )
    try:
        with httpx.Client(timeout=10) as client:
            for _ in range(25):
                assert client.get(f"{base}/api/x").status_code == 200
            for _ in range(5):
                assert client.get(f"{base}/nowhere").status_code == 404
        with httpx.Client(http1=False, http2=True, timeout=10) as client:
            for _ in range(3):
                assert client.get(f"{base}/api/y").status_code == 200
        page = httpx.get(f"{base}/metrics", timeout=10)
        assert page.headers["content-type"].startswith("text/plain; version=0.0.4")
        live = series(page.text)  # the path answers with this process's numbers as they are
        assert live[API_2XX] == 25 and live[NONE_4XX] == 5
        assert live['asgihost_requests_total{app="api",status="2xx",protocol="HTTP/2"}'] == 3
        assert live['asgihost_request_duration_seconds_count{app="api"}'] == 28
        assert live['asgihost_request_duration_seconds_bucket{app="api",le="+Inf"}'] == 28
        assert live["asgihost_workers"] == 1 and live["asgihost_worker_restarts_total"] == 0
        own = scrape_until(f"http://127.0.0.1:{metrics_port}/", API_2XX, 25)
        assert own[API_2XX] == 25 and own[NONE_4XX] == 5
    finally:
        assert server.stop() == 0


def test_active_websockets_and_open_connections(serve, tmp_path):
    from websockets.sync.client import connect

    server, base = start(serve, tmp_path, '[metrics]\npath = "/metrics"\n')
    try:
        with connect(base.replace("http", "ws") + "/ws") as ws:
            ws.send("hi")
            assert ws.recv(timeout=5) == "hi"
            live = series(httpx.get(f"{base}/metrics", timeout=10).text)
            assert live["asgihost_websockets_active"] == 1
            assert live["asgihost_connections_open"] >= 2  # the WebSocket and the scrape
        wait_until(
            lambda: series(httpx.get(f"{base}/metrics", timeout=10).text)["asgihost_websockets_active"] == 0
        )
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("where", ["bind", "path"])
def test_summed_over_workers_and_kept_across_a_restart(serve_process, tmp_path, where):
    metrics_port = free_port()
    table = f'bind = "127.0.0.1:{metrics_port}"' if where == "bind" else 'path = "/metrics"'
    server, base = start(serve_process, tmp_path, f"[metrics]\n{table}\n", workers=2)
    url = f"http://127.0.0.1:{metrics_port}/" if where == "bind" else f"{base}/metrics"
    try:
        server.wait_for_log_count("running on", 2, timeout=20)
        for _ in range(40):  # a new connection each: the kernel spreads them over the workers
            assert httpx.get(f"{base}/api/", timeout=10, headers={"connection": "close"}).status_code == 200
        values = scrape_until(url, API_2XX, 40)
        assert values[API_2XX] == 40 and values["asgihost_workers"] == 2
        pids = [int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", server.log())]
        os.kill(pids[0], signal.SIGKILL)
        after = scrape_until(url, "asgihost_worker_restarts_total", 1, timeout=20)
        assert after["asgihost_worker_restarts_total"] == 1
        assert after[API_2XX] >= 40  # the dead worker's counts stay in the sum
    finally:
        assert server.stop() == 0


def test_a_metrics_bind_on_a_listeners_address_is_refused(tmp_path):
    result = check_config(tmp_path, '[metrics]\nbind = "127.0.0.1:8000"\n[apps.a]\napp = "m:app"\n')
    assert (
        result.returncode == 1 and "metrics.bind" in result.stderr and 'listener "default"' in result.stderr
    )
