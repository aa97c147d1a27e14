"""The task an app runs in: a plain asyncio Task named for its protocol, or, once the app has set
a task factory on the loop, the task that factory makes (HTTP/1.1 and HTTP/2 alike)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from conftest import http_exchange


def answers(server) -> tuple[str, str]:
    with server.connect() as sock:
        h1 = http_exchange(sock, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").partition(b"\r\n\r\n")[2].decode()

    async def h2() -> str:
        async with httpx.AsyncClient(base_url=server.url, http1=False, http2=True, timeout=20) as client:
            response = await client.get("/")
            assert response.http_version == "HTTP/2"
            return response.text

    return h1, asyncio.run(asyncio.wait_for(h2(), 30))


def test_without_a_task_factory_the_task_is_named_for_its_protocol(serve):
    assert answers(serve("task_apps:app")) == ("Task asgihost.http", "Task asgihost.h2")


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_task_factory_the_app_sets_makes_every_request_task(serve, loop):
    h1, h2 = answers(serve("task_apps:factory_app", "--loop", loop))
    assert h1.startswith("FactoryTask ") and h2.startswith("FactoryTask "), (h1, h2)


@pytest.mark.parametrize(("flags", "seen"), [((), "set at import"), (("--reset-contextvars",), "fresh")])
def test_reset_contextvars_runs_each_request_in_an_empty_context(serve, flags, seen):
    """Uvicorn's --reset-contextvars: what the server's context holds (here, a variable the app
    module set when imported) is not seen by requests, over HTTP/1.1, HTTP/2 and WebSocket."""
    from websockets.sync.client import connect

    server = serve("context_app:app", *flags)
    base = f"http://127.0.0.1:{server.port}/"
    assert httpx.get(base, timeout=5).text == seen
    with httpx.Client(http1=False, http2=True) as client:
        response = client.get(base, timeout=5)
        assert (response.http_version, response.text) == ("HTTP/2", seen)
    with connect(f"ws://127.0.0.1:{server.port}/") as ws:
        assert ws.recv(timeout=5) == seen
