"""runtime/exchange.py (ExchangePath) and runtime/state.py (ServerState, Mount, ListenerSettings),
built from a real config and plan as the worker builds them, on a real event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from asgihost.asgi.http_cycle import HTTPCycle
from asgihost.asgi.scope import ConnectionInfo
from asgihost.asgi.ws_cycle import WebSocketCycle
from asgihost.config import HostConfig
from asgihost.logs.access import AccessLog
from asgihost.metrics import HTTP2, HTTP10, Recorder
from asgihost.plan import Plan, compile_plan
from asgihost.protocols.errors import ProtocolError
from asgihost.protocols.events import Request
from asgihost.protocols.http1_response import DefaultHeaders
from asgihost.runtime.builtin import health_check, metrics_page, not_found, service_unavailable
from asgihost.runtime.clock import Clock
from asgihost.runtime.exchange import ExchangePath
from asgihost.runtime.state import ListenerSettings, Mount, ServerState

SERVER = ("127.0.0.1", 8080)
TRUSTED = ConnectionInfo(SERVER, ("10.0.0.1", 5000), "http")
STRANGER = ConnectionInfo(SERVER, ("192.0.2.9", 5000), "http")
FORWARDED = [
    (b"host", b"example.com"),
    (b"x-forwarded-for", b"203.0.113.7"),
    (b"x-forwarded-proto", b"https"),
]


async def hello(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Stream:
    """An HTTPStream whose app_finished hands the cycle back to the path, as the transports do."""

    def __init__(self, path: ExchangePath) -> None:
        self.path = path
        self.logger = path.shared.logger
        self.calls: list[tuple[Any, ...]] = []
        self.done = asyncio.get_running_loop().create_future()

    write_paused = False

    def create_future(self) -> asyncio.Future[None]:
        return asyncio.get_running_loop().create_future()

    async def drain(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def send_continue(self, cycle: HTTPCycle) -> None:
        pass

    def send_start(self, cycle: HTTPCycle, status: int, headers: Any) -> None:
        self.calls.append(("send_start", status))

    def send_body(self, cycle: HTTPCycle, body: bytes, more: bool) -> None:
        self.calls.append(("send_body", body))

    def send_trailers(self, cycle: HTTPCycle, headers: Any, more: bool) -> None:
        pass

    def head_written(self, cycle: HTTPCycle) -> bool:
        return any(call[0] == "send_start" for call in self.calls)

    def send_error(self, cycle: HTTPCycle, status: int) -> None:
        self.calls.append(("send_error", status))

    def close_connection(self, cycle: HTTPCycle) -> None:
        self.calls.append(("close_connection",))

    def app_finished(self, cycle: HTTPCycle) -> None:
        self.path.finish(cycle)
        self.done.set_result(None)


class WsStream:
    """A WebSocketStream that accepts everything; app_finished ends the session on the path."""

    def __init__(self, path: ExchangePath, cycle_box: list[WebSocketCycle]) -> None:
        self.path = path
        self.logger = path.shared.logger
        self.box = cycle_box
        self.done = asyncio.get_running_loop().create_future()

    write_paused = False

    def create_future(self) -> asyncio.Future[None]:
        return asyncio.get_running_loop().create_future()

    async def drain(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def accept(self, subprotocol: str | None, headers: Any) -> None:
        pass

    def send_message(self, data: str | bytes) -> None:
        pass

    def send_close(self, code: int, reason: str) -> None:
        pass

    def respond(self, status: int, headers: Any) -> None:
        pass

    def respond_body(self, body: bytes, more: bool) -> None:
        pass

    def reject(self, status: int) -> None:
        pass

    def abort(self) -> None:
        pass

    def app_finished(self) -> None:
        self.path.session_finished(self.box[0])
        self.done.set_result(None)


def plan(tmp_path: Path, **limits: Any) -> Plan:
    cfg = HostConfig.model_validate(
        {
            "apps": {
                "api": {"app": "api:app", "mount": "/api", "limits": {"concurrency": 1}},
                "site": {"app": "site:app", "root_path": "/proxy", "listeners": ["web"]},
            },
            "listeners": {
                "web": {"bind": "127.0.0.1:8080", "proxy": {"trusted": ["10.0.0.0/8"]}},
                "internal": {"bind": "127.0.0.1:8081"},
            },
            "health": {"path": "/healthz"},
            "metrics": {"path": "/metrics", "listeners": ["web"]},
            "limits": {"concurrency": 3, **limits},
        }
    )
    return compile_plan(cfg, tmp_path)


class World:
    """What the worker builds from a plan: the shared state, the mounts, one path per listener."""

    def __init__(self, plan: Plan, *, access: bool, metrics: bool, app: Any = hello) -> None:
        loop = asyncio.get_running_loop()
        spec = plan.server
        defaults = DefaultHeaders()
        self.logger = logging.getLogger("tests.exchange")
        self.access_handler = ListHandler()
        access_logger = logging.getLogger("tests.exchange.access")
        access_logger.handlers = [self.access_handler]
        access_logger.setLevel(logging.INFO)
        access_logger.propagate = False
        self.state = state = ServerState(
            spec,
            defaults,
            Clock(defaults, spec.date_header),
            self.logger,
            AccessLog(access_logger, spec.access_format) if access else None,
            Recorder() if metrics else None,
        )
        self.mounts = {a.name: Mount.from_spec(a, app, {"lifespan": "state"}) for a in plan.apps}
        self.builtins = {
            "-": Mount.builtin("-", not_found, spec),
            "health": Mount.builtin("health", health_check(lambda: state.draining), spec),
            "metrics": Mount.builtin("metrics", metrics_page(lambda: b"m\n"), spec),
        }
        if state.metrics is not None:
            for mount in (*self.mounts.values(), *self.builtins.values()):
                mount.stats = state.metrics.for_app(mount.name)
        self.paths = {}
        for listener in plan.listeners:
            routes = listener.routes.map(lambda s: self.mounts[s.name])
            settings = ListenerSettings.from_spec(listener, self.builtins)
            self.paths[listener.name] = ExchangePath(state, routes, self.builtins["-"], settings, loop)

    def access_lines(self) -> list[str]:
        return [record.getMessage() for record in self.access_handler.records]


def run(main: Callable[[], Awaitable[Any]]) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(main(), 5)

    return asyncio.run(bounded())


def request(
    target: bytes = b"/", version: str = "1.1", headers: list[tuple[bytes, bytes]] | None = None
) -> Request:
    headers = [(b"host", b"example.com")] if headers is None else headers
    forwarded = any(name.startswith(b"x-forwarded") for name, _ in headers)
    return Request(1, "GET", target, headers, version, True, False, forwarded=forwarded, host=b"example.com")


def opened(path: ExchangePath, stream: Stream, req: Request, info: ConnectionInfo = TRUSTED) -> HTTPCycle:
    return path.open(stream, info, req)


def route(path: ExchangePath, req: Request) -> tuple[Any, bytes, str, bytes]:
    """Where ``open`` sent a request: its mount, and the raw path, path and query the scope got
    (without the mount's path prefix)."""
    cycle = path.open(Stream(path), TRUSTED, req)
    mount, scope = cycle.mount, cycle.scope
    raw_path = scope["raw_path"][len(mount.raw_path_prefix) :]
    return mount, raw_path, scope["path"][len(mount.path_prefix) :], scope["query_string"]


def client(path: ExchangePath, info: ConnectionInfo, req: Request) -> tuple[Any, str]:
    """The client and scheme the scope of an exchange opened on ``info`` tells."""
    scope = path.open(Stream(path), info, req).scope
    return scope["client"], scope["scheme"]


# ---- state built from the plan ---------------------------------------------------------------


def test_mounts_and_listener_settings_from_the_plan(tmp_path):
    async def main() -> None:
        world = World(plan(tmp_path), access=False, metrics=False)
        api, site = world.mounts["api"], world.mounts["site"]
        assert (api.root_path, api.concurrency, api.active) == ("/api", 1, 0)
        assert (site.root_path, site.path_prefix, site.concurrency) == ("/proxy", "/proxy", None)
        web, internal = world.paths["web"], world.paths["internal"]
        assert web.own == {"/healthz": world.builtins["health"], "/metrics": world.builtins["metrics"]}
        assert internal.own == {"/healthz": world.builtins["health"]}
        assert web.proxy is not None and web.listener.name == "web"
        assert world.state.limit_concurrency == 3 and not world.state.timing

    run(main)


@pytest.mark.parametrize(("access", "metrics"), [(True, False), (False, True), (True, True)])
def test_timing_is_on_with_the_access_log_or_metrics(tmp_path, access, metrics):
    async def main() -> None:
        world = World(plan(tmp_path), access=access, metrics=metrics)
        assert world.state.timing

    run(main)


# ---- route -----------------------------------------------------------------------------------


def test_route_own_paths_before_the_apps(tmp_path):
    async def main() -> None:
        world = World(plan(tmp_path), access=False, metrics=False)
        web, internal = world.paths["web"], world.paths["internal"]
        assert route(web, request(b"/healthz"))[0] is world.builtins["health"]
        assert route(web, request(b"/metrics?x=1")) == (
            world.builtins["metrics"],
            b"/metrics",
            "/metrics",
            b"x=1",
        )
        assert route(internal, request(b"/metrics"))[0] is world.builtins["-"]  # not on this listener
        assert route(web, request(b"/healthz/x"))[0] is world.mounts["site"]  # own paths are exact

    run(main)


def test_route_to_the_apps_and_the_not_found_fallback(tmp_path):
    async def main() -> None:
        world = World(plan(tmp_path), access=False, metrics=False)
        web, internal = world.paths["web"], world.paths["internal"]
        assert route(web, request(b"/api/a%20b?q=1")) == (
            world.mounts["api"],
            b"/api/a%20b",
            "/api/a b",
            b"q=1",
        )
        assert route(web, request(b"/apix"))[0] is world.mounts["site"]
        assert route(internal, request(b"/api"))[0] is world.mounts["api"]
        assert route(internal, request(b"/other"))[0] is world.builtins["-"]

    run(main)


def test_route_the_only_app(tmp_path):
    cfg = HostConfig.model_validate({"apps": {"one": {"app": "one:app"}}})

    async def main() -> None:
        world = World(compile_plan(cfg, tmp_path), access=False, metrics=False)
        [path] = world.paths.values()
        assert path.routes.only is world.mounts["one"]
        assert route(path, request(b"/anything"))[0] is world.mounts["one"]

    run(main)


@pytest.mark.parametrize("target", [b"/caf\xc3\xa9", b"nonsense", b"http://"])
def test_route_a_bad_target_raises_protocol_error(tmp_path, target):
    async def main() -> None:
        world = World(plan(tmp_path), access=False, metrics=False)
        with pytest.raises(ProtocolError) as caught:
            route(world.paths["web"], request(target))
        assert caught.value.status_hint == 400

    run(main)


# ---- client and proxy trust ------------------------------------------------------------------


def test_client_applies_proxy_headers_for_a_trusted_peer(tmp_path):
    async def main() -> None:
        listener_path = World(plan(tmp_path), access=False, metrics=False).paths["web"]
        path = listener_path.for_peer(TRUSTED)
        assert path is listener_path and path.proxy is not None
        assert client(path, TRUSTED, request(headers=FORWARDED)) == (("203.0.113.7", 0), "https")
        assert client(path, TRUSTED, request()) == (TRUSTED.client, TRUSTED.scheme)  # nothing forwarded

    run(main)


def test_an_untrusted_peer_gets_the_path_that_believes_no_proxy_header(tmp_path):
    async def main() -> None:
        world = World(plan(tmp_path), access=False, metrics=False)
        path = world.paths["web"].for_peer(STRANGER)
        assert path is not world.paths["web"] and path.proxy is None
        assert world.paths["web"].proxy is not None  # the listener's own path keeps its policy
        assert world.paths["web"].for_peer(STRANGER) is path  # one twin per listener
        assert path.routes is world.paths["web"].routes
        assert client(path, STRANGER, request(headers=FORWARDED)) == (STRANGER.client, STRANGER.scheme)

    run(main)


def test_a_unix_peer_is_not_trusted_unless_listed(tmp_path):
    async def main() -> None:
        path = World(plan(tmp_path), access=False, metrics=False).paths["web"]
        assert path.for_peer(ConnectionInfo(None, None, "http")).proxy is None

    run(main)


# ---- open ------------------------------------------------------------------------------------


def test_open_builds_the_scope(tmp_path):
    async def main() -> None:
        world = World(plan(tmp_path), access=False, metrics=False)
        path = world.paths["web"]
        stream = Stream(path)
        cycle = opened(path, stream, request(b"/x%2Fy?q"))
        scope = cycle.scope
        assert cycle.mount is world.mounts["site"] and cycle.stream is stream
        assert (scope["root_path"], scope["path"], scope["raw_path"]) == (
            "/proxy",
            "/proxy/x/y",
            b"/proxy/x%2Fy",
        )
        assert (scope["query_string"], scope["client"], scope["server"]) == (b"q", TRUSTED.client, SERVER)
        assert scope["state"] == {"lifespan": "state"}
        scope["state"]["added"] = 1
        assert world.mounts["site"].state == {"lifespan": "state"}  # a copy per request
        assert cycle.started == 0.0  # no access log, no metrics: not timed
        assert cycle.body_limit == world.mounts["site"].body_size

    run(main)


def test_open_with_a_trusted_proxy_puts_its_client_in_the_scope(tmp_path):
    async def main() -> None:
        path = World(plan(tmp_path), access=False, metrics=False).paths["web"]
        scope = opened(path, Stream(path), request(b"/", headers=FORWARDED)).scope
        assert (scope["client"], scope["scheme"]) == (("203.0.113.7", 0), "https")

    run(main)


def test_open_times_the_exchange_when_access_log_or_metrics_are_on(tmp_path):
    async def main() -> None:
        path = World(plan(tmp_path), access=True, metrics=False).paths["web"]
        assert opened(path, Stream(path), request()).started > 0.0

    run(main)


# ---- start and finish ------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "name"), [("1.1", "asgihost.http"), ("2", "asgihost.h2")])
def test_start_counts_and_runs_the_app_in_a_named_task(tmp_path, version, name):
    async def main() -> None:
        world = World(plan(tmp_path), access=False, metrics=False)
        path, state, api = world.paths["web"], world.state, world.mounts["api"]
        stream = Stream(path)
        cycle = opened(path, stream, request(b"/api", version))
        path.start(cycle, name)
        task = cycle.task
        assert isinstance(task, asyncio.Task) and task.get_name() == name
        assert (state.requests, api.active, state.tasks) == (1, 1, {task})
        await stream.done
        assert stream.calls == [("send_start", 200), ("send_body", b"hello")]
        assert (state.requests, api.active, state.tasks, cycle.task) == (1, 0, set(), None)

    run(main)


def test_start_with_a_task_factory_uses_it(tmp_path):
    async def main() -> None:
        loop = asyncio.get_running_loop()
        made: list[asyncio.Task[Any]] = []

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
            task = asyncio.Task(coro, loop=loop, **kwargs)
            made.append(task)
            return task

        loop.set_task_factory(factory)
        world = World(plan(tmp_path), access=False, metrics=False)
        path = world.paths["web"]
        stream = Stream(path)
        cycle = opened(path, stream, request())
        path.start(cycle, "asgihost.http")
        assert made == [cycle.task] and world.state.tasks == {cycle.task}
        await stream.done
        assert world.state.tasks == set()

    run(main)


def test_finish_notes_metrics_and_the_access_line(tmp_path):
    async def main() -> None:
        world = World(plan(tmp_path), access=True, metrics=True)
        path = world.paths["web"]
        for target, version in ((b"/api/a", "1.1"), (b"/x?y=1", "2"), (b"/healthz", "1.0")):
            stream = Stream(path)
            path.start(opened(path, stream, request(target, version)), "asgihost.http")
            await stream.done
        api, site, health = world.mounts["api"], world.mounts["site"], world.builtins["health"]
        assert (api.stats.statuses, site.stats.statuses, health.stats.statuses) == (
            [200],
            [200 + HTTP2],
            [200 + HTTP10],
        )
        assert all(len(m.stats.durations) == 1 and m.stats.durations[0] >= 0 for m in (api, site, health))
        assert world.access_lines() == [
            '10.0.0.1:5000 - "GET /api/a HTTP/1.1" 200',
            '10.0.0.1:5000 - "GET /x?y=1 HTTP/2" 200',
            '10.0.0.1:5000 - "GET /healthz HTTP/1.0" 200',
        ]
        fields = world.access_handler.records[0].access  # type: ignore[attr-defined]
        assert (fields["app"], fields["listener"], fields["bytes"], fields["protocol"]) == (
            "api",
            "web",
            5,
            "HTTP/1.1",
        )
        assert world.access_handler.records[2].access["app"] == "health"  # type: ignore[attr-defined]

    run(main)


def test_finish_without_access_log_or_metrics_notes_nothing(tmp_path):
    async def main() -> None:
        world = World(plan(tmp_path), access=False, metrics=False)
        path = world.paths["web"]
        stream = Stream(path)
        path.start(opened(path, stream, request()), "asgihost.http")
        await stream.done
        assert world.access_lines() == [] and world.mounts["site"].stats is None

    run(main)


def test_the_app_at_its_concurrency_gets_the_503(tmp_path, caplog):
    async def main() -> None:
        world = World(plan(tmp_path), access=True, metrics=True)
        path, api = world.paths["web"], world.mounts["api"]
        api.active = 1  # its one request in flight
        assert path.app_for(api) is service_unavailable
        stream = Stream(path)
        path.start(opened(path, stream, request(b"/api")), "asgihost.http")
        assert api.active == 2
        await stream.done
        assert stream.calls == [("send_start", 503), ("send_body", b"Service Unavailable")]
        assert api.active == 1 and api.stats.statuses == [503]
        assert world.access_lines() == ['10.0.0.1:5000 - "GET /api HTTP/1.1" 503']
        assert path.app_for(world.mounts["site"]) is world.mounts["site"].app  # another app is fine

    with caplog.at_level(logging.WARNING, logger="tests.exchange"):
        run(main)
    assert "Exceeded concurrency limit." in caplog.messages


def test_the_server_at_its_task_limit_answers_503(tmp_path):
    async def main() -> None:
        world = World(plan(tmp_path), access=False, metrics=False)
        path, state = world.paths["web"], world.state
        site = world.mounts["site"]
        blockers = [asyncio.ensure_future(asyncio.Event().wait()) for _ in range(2)]
        state.tasks.update(blockers)
        assert path.app_for(site) is site.app  # 2 of 3
        first = Stream(path)
        path.start(opened(path, first, request()), "asgihost.http")  # the third
        assert path.app_for(site) is service_unavailable
        await first.done
        assert first.calls[0] == ("send_start", 200)
        state.tasks.add(asyncio.ensure_future(asyncio.Event().wait()))
        second = Stream(path)
        path.start(opened(path, second, request()), "asgihost.http")
        await second.done
        assert second.calls[0] == ("send_start", 503)
        for task in state.tasks:
            task.cancel()

    run(main)


def test_the_server_past_its_connection_limit_answers_503(tmp_path):
    async def main() -> None:
        world = World(plan(tmp_path), access=False, metrics=False)
        path, state, site = world.paths["web"], world.state, world.mounts["site"]
        state.connections.update(object() for _ in range(3))  # type: ignore[misc]
        assert path.app_for(site) is site.app  # the caller's own connection counts: 3 is the limit
        state.connections.add(object())  # type: ignore[arg-type]
        assert path.app_for(site) is service_unavailable

    run(main)


# ---- refuse ----------------------------------------------------------------------------------


def test_refuse_answers_through_the_stream_and_notes_the_exchange(tmp_path):
    async def main() -> None:
        world = World(plan(tmp_path), access=True, metrics=True)
        path, state, api = world.paths["web"], world.state, world.mounts["api"]
        stream = Stream(path)
        cycle = opened(path, stream, request(b"/api/upload"))
        path.refuse(cycle, 413)
        assert stream.calls == [("send_error", 413)]
        assert (cycle.status, cycle.disconnected) == (413, True)
        assert (state.requests, api.active, state.tasks) == (1, 0, set())
        assert api.stats.statuses == [413]
        assert world.access_lines() == ['10.0.0.1:5000 - "GET /api/upload HTTP/1.1" 413']

    run(main)


# ---- WebSocket sessions ----------------------------------------------------------------------


def test_websocket_sessions_are_counted_from_start_to_end(tmp_path):
    async def main() -> None:
        world = World(plan(tmp_path), access=False, metrics=False)
        path, state, api = world.paths["web"], world.state, world.mounts["api"]
        release = asyncio.Event()

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "websocket.accept"})
            await release.wait()

        streams = []
        for _ in range(2):
            box: list[WebSocketCycle] = []
            stream = WsStream(path, box)
            cycle = WebSocketCycle(stream, {"type": "websocket"}, api, 32)
            box.append(cycle)
            path.start_session(cycle, app)
            streams.append((stream, cycle))
        assert (state.websockets, api.active, len(state.tasks)) == (2, 2, 2)
        assert state.requests == 0  # sessions are not requests
        release.set()
        for stream, cycle in streams:
            await stream.done
            assert cycle.task is None
        assert (state.websockets, api.active, state.tasks) == (0, 0, set())

    run(main)
