"""The health check the server answers itself: on the listeners it is configured for, over
HTTP/1.1 and HTTP/2, 503 while draining, and absent when not configured."""

from __future__ import annotations

import signal
import time

import httpx
from conftest import check_config, free_port

SITE = """
[listeners.public]
bind = "127.0.0.1:{public}"
[listeners.internal]
bind = "127.0.0.1:{internal}"
[apps.main]
app = "client_app:app"
"""


def start(serve, tmp_path, health: str):
    public, internal = free_port(), free_port()
    config = tmp_path / "asgihost.toml"
    config.write_text(SITE.format(public=public, internal=internal) + health)
    server = serve(str(config))
    return server, f"http://127.0.0.1:{public}", f"http://127.0.0.1:{internal}"


def test_absent_when_not_configured(serve, tmp_path):
    server, public, _ = start(serve, tmp_path, "")
    try:
        response = httpx.get(f"{public}/healthz", timeout=10)
        assert response.headers["content-type"] == "application/json"  # the app answered
    finally:
        assert server.stop() == 0


def test_answered_by_the_server_on_every_listener_and_over_http2(serve, tmp_path):
    server, public, internal = start(serve, tmp_path, '[health]\npath = "/healthz"\n')
    try:
        for base in (public, internal):
            response = httpx.get(f"{base}/healthz", timeout=10)
            assert (response.status_code, response.text) == (200, "ok\n")
            assert response.headers["cache-control"] == "no-store"
        with httpx.Client(http1=False, http2=True, timeout=10) as client:
            response = client.get(f"{public}/healthz")
        assert (response.http_version, response.status_code, response.text) == ("HTTP/2", 200, "ok\n")
        assert httpx.get(f"{public}/healthz/more", timeout=10).headers["content-type"] == "application/json"
    finally:
        assert server.stop() == 0


def test_only_on_the_listed_listeners(serve, tmp_path):
    server, public, internal = start(
        serve, tmp_path, '[health]\npath = "/healthz"\nlisteners = ["internal"]\n'
    )
    try:
        assert httpx.get(f"{internal}/healthz", timeout=10).text == "ok\n"
        assert httpx.get(f"{public}/healthz", timeout=10).headers["content-type"] == "application/json"
    finally:
        assert server.stop() == 0


def test_503_while_draining_then_the_server_stops(serve, tmp_path):
    server, public, _ = start(serve, tmp_path, '[health]\npath = "/healthz"\ndrain_delay = "1.5s"\n')
    server.proc.send_signal(signal.SIGTERM)
    server.wait_for_log("Health check answers 503")
    asked = time.monotonic()
    response = httpx.get(f"{public}/healthz", timeout=10)
    assert (response.status_code, response.text) == (503, "draining\n")
    assert httpx.get(f"{public}/", timeout=10).status_code == 200  # the apps are still served
    assert server.proc.wait(15) == 0
    assert time.monotonic() - asked > 0.5  # it waited out the delay


def test_an_unknown_listener_is_a_config_error(tmp_path):
    result = check_config(
        tmp_path, '[health]\npath = "/healthz"\nlisteners = ["nope"]\n[apps.a]\napp = "m:app"\n'
    )
    assert (
        result.returncode == 1
        and "health.listeners.0" in result.stderr
        and "asgihost.toml:3:" in result.stderr
    )
