"""A FastAPI application passes the same tests under asgihost as under Starlette's TestClient.

Every test takes the ``client`` fixture, which is parametrized over the ways of serving
``tests/apps/fastapi_app.py``:

- ``testclient``: Starlette's TestClient, in-process: the reference behaviour.
- ``cli``: ``asgihost run fastapi_app:app --port P`` (what the ``serve`` fixture runs),
  talked to with httpx over a real socket.
- ``run-string``: ``python -c`` calling ``asgihost.run("fastapi_app:app", port=P,
  log_level="warning")``; readiness is detected by polling the port, since that log level
  hides the "running on" line.
- ``run-object``: ``python -c`` importing the app object and calling ``asgihost.run(app, port=P)``.

The servers are module-scoped (one process per variant, started with conftest's ``launch``
and the same argv as the ``serve`` fixture) to keep the file fast; each test gets a fresh
client, and after each test on a real server the new part of its log must hold no error
unless the test expected one. ``test_cli_stop_runs_lifespan_shutdown`` uses the ``serve``
fixture itself; ``test_programmatic_config_and_server`` runs ``Config`` + ``Server`` in a
thread of this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from conftest import APPS, RunningServer, free_port, http_exchange, launch, wait_until

import asgihost

sys.path.insert(0, str(APPS))
import fastapi_app  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

VARIANTS = ["testclient", "cli", "run-string", "run-object"]
FIVE_MIB = 5 * 1024 * 1024


@dataclass
class Target:
    name: str
    client: httpx.Client
    server: RunningServer | None = None  # None for TestClient
    log_offset: int = 0
    expect_errors: bool = field(default=False)

    @property
    def in_process(self) -> bool:
        return self.server is None

    def new_log(self) -> str:
        return "" if self.server is None else self.server.log()[self.log_offset :]


def _wait_port(server: RunningServer, timeout: float = 15.0) -> None:
    def listening() -> bool:
        if server.proc.poll() is not None:
            raise AssertionError(f"server exited with {server.proc.returncode}:\n{server.log()}")
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
        except OSError:
            return False
        return True

    if not wait_until(listening, timeout):
        server.stop(signal.SIGKILL)
        raise AssertionError(f"server did not open its port:\n{server.log()}")


def _start(variant: str, tmp_path) -> RunningServer:
    port = free_port()
    if variant == "cli":
        argv = [sys.executable, "-m", "asgihost", "run", "fastapi_app:app", "--port", str(port)]
        return launch(tmp_path, argv, port=port)
    if variant == "run-string":
        script = f"import asgihost\nasgihost.run('fastapi_app:app', port={port}, log_level='warning')\n"
        server = launch(tmp_path, [sys.executable, "-c", script], port=port, wait=False)
        try:
            _wait_port(server)
        except BaseException:
            if server.proc.poll() is None:
                server.stop(signal.SIGKILL)
            raise
        return server
    assert variant == "run-object"
    script = f"import asgihost\nfrom fastapi_app import app\nasgihost.run(app, port={port})\n"
    return launch(tmp_path, [sys.executable, "-c", script], port=port)


@pytest.fixture(scope="module", params=VARIANTS)
def served(request, tmp_path_factory) -> Iterator[tuple[str, object]]:
    """One running server per variant (a TestClient for the reference)."""
    variant = request.param
    if variant == "testclient":
        from starlette.testclient import TestClient

        with TestClient(fastapi_app.app, raise_server_exceptions=False) as test_client:
            yield variant, test_client
        return
    server = _start(variant, tmp_path_factory.mktemp(variant))
    try:
        yield variant, server
    finally:
        if server.proc.poll() is None:
            server.stop(signal.SIGKILL)


@pytest.fixture
def client(served) -> Iterator[Target]:
    variant, thing = served
    if variant == "testclient":
        thing.cookies.clear()
        yield Target(variant, thing)
        return
    server: RunningServer = thing  # type: ignore[assignment]
    assert server.proc.poll() is None, f"server died before this test:\n{server.log()}"
    offset = len(server.log())
    with httpx.Client(base_url=server.url, timeout=10.0) as http:
        target = Target(variant, http, server, offset)
        yield target
    log = target.new_log()
    assert server.proc.poll() is None, f"server died during this test:\n{server.log()}"
    if not target.expect_errors:
        assert "ERROR" not in log and "Traceback" not in log, f"unexpected errors in server log:\n{log}"


# ---- the shared tests -------------------------------------------------------------------------


def test_json_root(client: Target):
    r = client.client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"message": "hello", "framework": "fastapi"}
    assert int(r.headers["content-length"]) == len(r.content)


def test_plain_text_is_utf8(client: Target):
    r = client.client.get("/text")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.text == "plain text \u00e9\u00e8"


def test_lifespan_state_visible_in_requests(client: Target):
    first = client.client.get("/state")
    second = client.client.get("/state")
    assert first.status_code == 200
    data = first.json()
    assert data["item_count"] == 3
    assert 0 < time.time() - data["started_at"] < 600
    assert data["same_loop"] is True
    # State is made once at startup and shared by every request, not rebuilt per request.
    assert second.json()["started_at"] == data["started_at"]
    # The variants really are what they say: in this process, or in a server process.
    assert (data["pid"] == os.getpid()) is client.in_process


def test_path_param_typed_int(client: Target):
    r = client.client.get("/items/2")
    assert r.status_code == 200
    assert r.json() == {"id": 2, "name": "anvil", "price": 120.0, "tags": ["tools", "heavy"]}


@pytest.mark.parametrize("bad", ["abc", "1.5", "%20"])
def test_path_param_bad_int_is_422(client: Target, bad: str):
    r = client.client.get(f"/items/{bad}")
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail[0]["loc"] == ["path", "item_id"]
    assert detail[0]["type"] == "int_parsing"


def test_http_exception_404(client: Target):
    r = client.client.get("/items/999")
    assert r.status_code == 404
    assert r.json() == {"detail": "item 999 not found"}
    r = client.client.get("/no/such/route")
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found"}


def test_method_not_allowed(client: Target):
    r = client.client.post("/get-only")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET"
    # FastAPI does not add HEAD to a GET-only route; the server must not invent it either.
    r = client.client.head("/get-only")
    assert r.status_code == 405


def test_query_params(client: Target):
    r = client.client.get("/search", params={"q": "r", "limit": 5})
    assert r.status_code == 200
    assert r.json() == {"q": "r", "limit": 5, "tags": [], "results": [1, 3]}
    r = client.client.get("/search", params=[("q", "a"), ("tag", "tools"), ("tag", "heavy")])
    assert r.json()["results"] == [2]
    assert r.json()["tags"] == ["tools", "heavy"]
    r = client.client.get("/search?q=hammer%20&limit=3")  # percent-encoded query survives
    assert r.json()["q"] == "hammer "


@pytest.mark.parametrize(
    ("query", "loc", "kind"),
    [
        ("", ["query", "q"], "missing"),
        ("q=a&limit=0", ["query", "limit"], "greater_than_equal"),
        ("q=a&limit=ten", ["query", "limit"], "int_parsing"),
    ],
)
def test_query_params_invalid_422(client: Target, query: str, loc: list, kind: str):
    r = client.client.get(f"/search?{query}")
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail[0]["loc"] == loc
    assert detail[0]["type"] == kind


def test_post_pydantic_body(client: Target):
    r = client.client.post("/items", json={"name": "saw", "price": 14.0, "tags": ["tools"]})
    assert r.status_code == 201
    assert r.json() == {"id": 4, "name": "saw", "price": 14.0, "tags": ["tools"]}


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (json.dumps({"name": "saw", "price": -1}), "greater_than"),
        (json.dumps({"price": 1}), "missing"),
        ('{"name": "saw", "price": ', "json_invalid"),
    ],
)
def test_post_invalid_body_422(client: Target, body: str, kind: str):
    r = client.client.post("/items", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == kind


def test_raw_body_small_and_empty(client: Target):
    r = client.client.post("/raw", content=b"hello raw", headers={"content-type": "application/x-thing"})
    assert r.json() == {
        "length": 9,
        "sha256": hashlib.sha256(b"hello raw").hexdigest(),
        "content_type": "application/x-thing",
    }
    r = client.client.post("/raw")
    assert r.json()["length"] == 0


def test_large_body_5mib(client: Target):
    body = bytes(range(256)) * (FIVE_MIB // 256)
    r = client.client.post("/raw", content=body)
    assert r.status_code == 200
    assert r.json()["length"] == FIVE_MIB
    assert r.json()["sha256"] == hashlib.sha256(body).hexdigest()


def test_large_body_echoed_back(client: Target):
    body = os.urandom(FIVE_MIB)
    r = client.client.post("/echo", content=body, headers={"content-type": "application/octet-stream"})
    assert r.status_code == 200
    assert int(r.headers["content-length"]) == FIVE_MIB
    assert r.content == body


def test_chunked_request_body(client: Target):
    pieces = [b"x" * 1000, b"", b"y" * 70_000, b"z"]

    def gen():
        yield from pieces

    r = client.client.post("/raw", content=gen())
    assert r.status_code == 200
    joined = b"".join(pieces)
    assert r.json()["length"] == len(joined)
    assert r.json()["sha256"] == hashlib.sha256(joined).hexdigest()


def test_streaming_response_all_chunks_in_order(client: Target):
    expected = [fastapi_app._chunk(i) for i in range(fastapi_app.STREAM_CHUNKS)]
    with client.client.stream("GET", "/stream") as r:
        assert r.status_code == 200
        assert "content-length" not in r.headers
        if not client.in_process:
            assert r.headers["transfer-encoding"] == "chunked"
        received = b"".join(r.iter_bytes())
    assert received == b"".join(expected)
    lines = received.split(b"\n")[:-1]
    assert [line[:9] for line in lines] == [b"chunk-%02d:" % i for i in range(fastapi_app.STREAM_CHUNKS)]


def test_streaming_is_incremental(client: Target):
    """The first chunk arrives while the app still holds back the last one."""
    token = uuid.uuid4().hex
    with client.client.stream("GET", f"/stream/held/{token}", timeout=5.0) as r:
        assert r.status_code == 200
        chunks = r.iter_raw()
        first = next(chunks)  # a ReadTimeout here means the server buffered the response
        assert first == b"first\n"
        released = client.client.post(f"/stream/release/{token}")
        assert released.json() == {"released": token}
        assert b"".join(chunks) == b"last\n"


def test_head_on_get_route(client: Target):
    get = client.client.get("/items/1")
    head = client.client.head("/items/1")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))
    # The connection is still usable after a bodiless response with a content-length.
    assert client.client.get("/items/3").json()["name"] == "rope"


def test_unhandled_exception_is_500(client: Target):
    client.expect_errors = True
    r = client.client.get("/boom")
    assert r.status_code == 500
    assert r.text == "Internal Server Error"
    assert "boom" not in r.text  # no traceback leaks to the client
    # The server survives and keeps serving (on a new connection if it closed that one).
    assert client.client.get("/items/1").status_code == 200
    if client.server is not None:
        log = client.server.wait_for_log("boom: unhandled exception in route")
        assert "Exception in ASGI application" in log[client.log_offset :]


def test_background_task_runs(client: Target):
    token = uuid.uuid4().hex
    assert client.client.get(f"/tasks/{token}").json() == {"token": token, "done": False}
    r = client.client.post(f"/tasks/{token}")
    assert r.status_code == 202
    assert r.json() == {"scheduled": token}
    # The task runs after the response is sent: ask again, bounded.
    assert wait_until(lambda: client.client.get(f"/tasks/{token}").json()["done"]), (
        "background task did not run"
    )


def test_headers_round_trip(client: Target):
    r = client.client.get(
        "/headers",
        headers=[("x-request-id", "req-123"), ("x-accept", "a"), ("x-accept", "b")],
    )
    assert r.status_code == 200
    assert r.json() == {
        "x_request_id": "req-123",
        "user_agent": client.client.headers["user-agent"],
        "host": client.client.base_url.netloc.decode(),
        "accept_list": ["a", "b"],
    }
    assert r.headers["x-echo-request-id"] == "req-123"
    assert r.headers.get_list("x-multi") == ["one", "two"]


def test_cookies_round_trip(client: Target):
    value = uuid.uuid4().hex
    r = client.client.get("/cookies/set", params={"value": value})
    assert r.status_code == 200
    set_cookie = r.headers["set-cookie"].lower()
    assert set_cookie.startswith(f"session={value}")
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    assert client.client.get("/cookies").json() == {"cookies": {"session": value}}
    # An explicit Cookie header reaches the app as sent.
    client.client.cookies.clear()
    r = client.client.get("/cookies", headers={"cookie": "a=1; b=two"})
    assert r.json() == {"cookies": {"a": "1", "b": "two"}}


def test_redirect(client: Target):
    r = client.client.get("/redirect", follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == "/items/2"
    r = client.client.get("/redirect", follow_redirects=True)
    assert r.status_code == 200
    assert [h.status_code for h in r.history] == [307]
    assert r.json()["name"] == "anvil"


def test_many_requests_on_one_client(client: Target):
    """Keep-alive reuse: a run of mixed requests all answer correctly and in order."""
    for i in range(30):
        item_id = i % 3 + 1
        if i % 2:
            r = client.client.get(f"/items/{item_id}")
            assert r.json()["id"] == item_id
        else:
            r = client.client.post("/raw", content=b"%d" % i)
            assert r.json()["length"] == len(b"%d" % i)


# ---- stopping, and the programmatic API ----------------------------------------------------------


def test_cli_stop_runs_lifespan_shutdown(serve):
    server = serve("fastapi_app:app")
    with httpx.Client(base_url=server.url, timeout=10.0) as http:
        assert http.get("/state").json()["item_count"] == 3
        assert server.stop(signal.SIGINT) == 0
    log = server.log()
    assert "FASTAPI-LIFESPAN-STARTUP" in log
    assert "FASTAPI-LIFESPAN-SHUTDOWN" in log
    assert log.index("FASTAPI-LIFESPAN-SHUTDOWN") > log.index("Shutting down")
    assert "Application shutdown complete." in log
    assert "ERROR" not in log and "Traceback" not in log, log


def test_pipelined_request_after_unhandled_exception(serve):
    """An app that raises after completing its response must not cost the next request.

    Starlette's ServerErrorMiddleware sends the 500 and then re-raises. The 500 went out framed
    for keep-alive, so the request pipelined behind it must be answered too.
    """
    server = serve("fastapi_app:app")
    with server.connect() as sock:
        data = http_exchange(
            sock,
            b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /items/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            until_close=True,
        )
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", data) == [b"500", b"200"], data
    assert data.endswith(b'"name":"hammer","price":9.5,"tags":["tools"]}'), data
    server.wait_for_log("boom: unhandled exception in route")


@contextlib.contextmanager
def _restore_logging() -> Iterator[None]:
    """Server.serve() configures the asgihost loggers of this process: put them back after."""
    saved = {}
    for name in ("asgihost.error", "asgihost.access"):
        log = logging.getLogger(name)
        saved[name] = (list(log.handlers), log.propagate, log.level, log.disabled)
    try:
        yield
    finally:
        for name, (handlers, propagate, level, disabled) in saved.items():
            log = logging.getLogger(name)
            log.handlers[:] = handlers
            log.propagate, log.level, log.disabled = propagate, level, disabled


def test_programmatic_config_and_server():
    port = free_port()
    server = asgihost.Server(asgihost.Config(fastapi_app.app, port=port, log_level="warning"))
    errors: list[BaseException] = []
    started = threading.Event()  # serving, or serve() has returned
    server.on_started = started.set

    def serve_in_thread() -> None:
        try:
            asyncio.run(server.serve())
        except BaseException as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)
        finally:
            started.set()

    shutdowns = len(fastapi_app.SHUTDOWNS)
    thread = threading.Thread(target=serve_in_thread, name="asgihost-serve", daemon=True)
    with _restore_logging():
        thread.start()
        try:
            assert started.wait(10), "server did not start"
            assert server.started, f"serve() returned before starting: {errors}, {server.exit_code}"

            http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0)
            state = http.get("/state").json()
            assert state["pid"] == os.getpid()
            assert state["same_loop"] is True
            assert http.get("/items/3").json()["name"] == "rope"
            assert http.get("/items/x").status_code == 422
            with http.stream("GET", "/stream") as r:
                received = b"".join(r.iter_bytes())
            assert received == b"".join(fastapi_app._chunk(i) for i in range(fastapi_app.STREAM_CHUNKS))
            r = http.post("/raw", content=b"\0" * FIVE_MIB)
            assert r.json()["length"] == FIVE_MIB
            assert len(fastapi_app.SHUTDOWNS) == shutdowns  # lifespan still running
        finally:
            # Stop with the client's keep-alive connection still open: it must not hold us up.
            stop_at = time.monotonic()
            server.should_exit = True
            thread.join(timeout=5)
            stopped_in = time.monotonic() - stop_at
    http.close()
    assert not thread.is_alive(), "serve() did not return within 5 s of should_exit"
    assert stopped_in < 2.0, f"serve() took {stopped_in:.2f} s to return"
    assert errors == []
    assert server.exit_code == 0
    assert len(fastapi_app.SHUTDOWNS) == shutdowns + 1, "lifespan shutdown did not run"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
