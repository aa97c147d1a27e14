"""A FastAPI WebSocket endpoint behind asgihost, end to end: the multi-app example site's
/api/ws/chat (examples/sites/multi-app/services/api_service/main.py), talked to with the
``websockets`` client.

The chat echo answers each text message with {"from": <app name from its lifespan state>,
"echo": <text>, "n": <messages so far>}, echoes bytes as bytes, closes with 4000 "bye" on
"/quit", accepts the subprotocol "chat.v1" (refuses a client that offers others only) and
keeps how the last session ended in its lifespan state, shown by GET /api/ws/last-close.

Most tests share one server on the example file (it binds ``127.0.0.1:${PORT:-8000}``, so it
gets a free port in the environment); the compression settings are tested on small files
written to tmp_path that serve the same app. Every wait is bounded: each client conversation
runs under ``asyncio.wait_for``, connects with ``open_timeout`` and closes with
``close_timeout``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT, InProcessServer, free_port, in_process_servers, wait_until
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus

SITE = ROOT / "examples" / "sites" / "multi-app"
SERVICES = SITE / "services"
CHAT = "/api/ws/chat"
MIB = 1024 * 1024
TIMEOUT = 20.0  # for one whole client conversation


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


def ws_connect(server: InProcessServer, path: str = CHAT, *, host: str | None = None, **kwargs: Any) -> Any:
    """``connect`` to the server on 127.0.0.1; ``host`` goes in the Host header only."""
    kwargs.setdefault("open_timeout", 5)
    kwargs.setdefault("close_timeout", 5)
    kwargs.setdefault("proxy", None)  # never through a proxy from the environment
    uri = f"ws://{host or '127.0.0.1'}:{server.port}{path}"
    return connect(uri, host="127.0.0.1", **kwargs)


async def ask(ws: ClientConnection, text: str) -> dict[str, Any]:
    await ws.send(text)
    answer = await ws.recv()
    assert isinstance(answer, str), answer
    return json.loads(answer)


def chat_state(server: InProcessServer) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/api/ws/last-close", timeout=5)
    response.raise_for_status()
    return response.json()


def wait_last_close(
    server: InProcessServer, expected: dict[str, Any], timeout: float = 5.0
) -> dict[str, Any]:
    """Ask GET /api/ws/last-close until the app has recorded ``expected``."""
    seen: list[dict[str, Any]] = []

    def recorded() -> bool:
        seen.append(chat_state(server))
        return seen[-1]["last_close"] == expected

    assert wait_until(recorded, timeout), seen[-1]
    return seen[-1]


def extensions(ws: ClientConnection) -> str | None:
    assert ws.response is not None
    return ws.response.headers.get("sec-websocket-extensions")


@pytest.fixture(scope="module")
def site() -> Iterator[InProcessServer]:
    """The multi-app example, as `asgihost run examples/sites/multi-app/asgihost.toml` (in this
    process), with ``PORT`` in the environment as its file reads ``${PORT:-8000}``."""
    with pytest.MonkeyPatch.context() as env, in_process_servers() as start:
        env.setenv("PORT", str(free_port()))
        yield start(str(SITE / "asgihost.toml"))


# ---- messages ------------------------------------------------------------------------------------


def test_text_messages_get_a_json_echo_from_the_api_app(site):
    async def talk() -> None:
        async with ws_connect(site, subprotocols=["chat.v1"]) as ws:
            # "from" is the app name in the api app's lifespan state; "n" counts this session.
            assert await ask(ws, "hello") == {"from": "api", "echo": "hello", "n": 1}
            assert await ask(ws, "héllo ✓ 🙂") == {"from": "api", "echo": "héllo ✓ 🙂", "n": 2}
            assert await ask(ws, "") == {"from": "api", "echo": "", "n": 3}
        async with ws_connect(site, subprotocols=["chat.v1"]) as ws:  # a new session counts anew
            assert await ask(ws, "again") == {"from": "api", "echo": "again", "n": 1}

    run(talk())
    assert '"WebSocket /api/ws/chat" 101' in site.log()  # the access log


def test_bytes_messages_are_echoed_as_bytes(site):
    async def talk() -> None:
        async with ws_connect(site, subprotocols=["chat.v1"]) as ws:
            for payload in (b"\x00\x01\x02\xff", b"", bytes(range(256)) * 4, b"/quit"):
                await ws.send(payload)
                answer = await ws.recv()
                assert isinstance(answer, bytes) and answer == payload
            # b"/quit" is bytes, not the command. Bytes count as messages too; text gets JSON.
            assert await ask(ws, "after") == {"from": "api", "echo": "after", "n": 5}

    run(talk())


@pytest.mark.parametrize("compression", ["deflate", None], ids=["deflate", "plain"])
def test_a_mebibyte_each_way(site, compression):
    text = "".join(f"line {i:07d} of a long chat message\n" for i in range(MIB // 32))[:MIB]
    data = os.urandom(MIB)  # incompressible: deflate must not grow what it can't shrink much
    assert len(text) == len(data) == MIB

    async def talk() -> None:
        async with ws_connect(site, compression=compression, max_size=4 * MIB) as ws:
            assert (extensions(ws) is not None) == (compression is not None)
            await ws.send(data)
            assert await ws.recv() == data
            answer = await ask(ws, text)
            assert answer["echo"] == text and answer["n"] == 2
            await ws.send(text.encode())
            assert await ws.recv() == text.encode()

    run(talk())


@pytest.mark.parametrize("compression", ["deflate", None], ids=["deflate", "plain"])
def test_fragmented_messages_are_reassembled(site, compression):
    async def byte_fragments() -> AsyncIterator[bytes]:
        for i in range(4):
            yield bytes([i]) * 1000

    async def talk() -> None:
        async with ws_connect(site, compression=compression, max_size=4 * MIB) as ws:
            # An iterable sends one frame per item: a text message in three fragments...
            assert await ask_fragments(ws, ["frag", "men", "ted ✓"]) == {
                "from": "api",
                "echo": "fragmented ✓",
                "n": 1,
            }
            # ... a bytes message from an async iterable, an empty fragment in between...
            await ws.send(byte_fragments())
            assert await ws.recv() == b"".join(bytes([i]) * 1000 for i in range(4))
            await ws.send([b"a", b"", b"b"])
            assert await ws.recv() == b"ab"
            # ... and 1 MiB in 16 fragments, compressible.
            pieces = [chr(ord("a") + i) * (MIB // 16) for i in range(16)]
            answer = await ask_fragments(ws, pieces)
            assert answer["echo"] == "".join(pieces) and answer["n"] == 4
            # Fragments of multi-byte characters, the text joined on arrival.
            assert (await ask_fragments(ws, ["x" * 3, "€" * 3]))["echo"] == "xxx€€€"

    async def ask_fragments(ws: ClientConnection, fragments: list[str]) -> dict[str, Any]:
        await ws.send(fragments)
        answer = await ws.recv()
        assert isinstance(answer, str)
        return json.loads(answer)

    run(talk())


# ---- handshake: compression, subprotocols --------------------------------------------------------


def test_permessage_deflate_is_agreed_when_offered(site):
    async def talk() -> None:
        async with ws_connect(site) as ws:  # the client offers permessage-deflate by default
            agreed = extensions(ws)
            assert agreed is not None and "permessage-deflate" in agreed
            assert await ask(ws, "z" * 100_000) == {"from": "api", "echo": "z" * 100_000, "n": 1}
        async with ws_connect(site, compression=None) as ws:  # no offer: no extension
            assert extensions(ws) is None
            assert await ask(ws, "z" * 100_000) == {"from": "api", "echo": "z" * 100_000, "n": 1}

    run(talk())


def test_subprotocol_chat_v1_is_chosen_when_offered(site):
    async def talk() -> None:
        async with ws_connect(site, subprotocols=["chat.v1"]) as ws:
            assert ws.subprotocol == "chat.v1"
            assert ws.response is not None
            assert ws.response.headers["sec-websocket-protocol"] == "chat.v1"
            assert (await ask(ws, "hi"))["echo"] == "hi"
        async with ws_connect(site, subprotocols=["chat.v0", "chat.v1", "superchat"]) as ws:
            assert ws.subprotocol == "chat.v1"
        async with ws_connect(site) as ws:  # no offer: accepted, no subprotocol
            assert ws.subprotocol is None
            assert ws.response is not None and "sec-websocket-protocol" not in ws.response.headers
            assert (await ask(ws, "hi"))["echo"] == "hi"

    run(talk())


def test_a_client_that_offers_other_subprotocols_only_is_refused(site):
    async def talk() -> None:
        # The app closes (1008) before accepting: ASGI servers answer that with an HTTP 403.
        with pytest.raises(InvalidStatus) as refused:
            async with ws_connect(site, subprotocols=["chat.v0", "superchat"]):
                pass
        assert refused.value.response.status_code == 403

    run(talk())


# ---- closing -------------------------------------------------------------------------------------


def test_quit_makes_the_server_close_with_4000_bye(site):
    async def talk() -> None:
        async with ws_connect(site, subprotocols=["chat.v1"]) as ws:
            assert (await ask(ws, "before"))["n"] == 1
            await ws.send("/quit")
            with pytest.raises(ConnectionClosedError) as closed:  # 4000 is not 1000/1001: an "error"
                await ws.recv()
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4000, "bye")
            assert closed.value.rcvd_then_sent  # the server started the closing handshake
            assert (ws.close_code, ws.close_reason) == (4000, "bye")
            with pytest.raises(ConnectionClosed):
                await ws.send("too late")

    run(talk())
    wait_last_close(site, {"code": 4000, "reason": "bye", "by": "server"})


def test_the_app_sees_the_clients_close_code(site):
    before = chat_state(site)["sessions"]

    async def talk() -> None:
        async with ws_connect(site, subprotocols=["chat.v1"]) as ws:
            assert (await ask(ws, "leaving"))["n"] == 1
            await ws.close(code=4001, reason="client leaves")
            assert (ws.close_code, ws.close_reason) == (4001, "client leaves")  # the server echoed it

    run(talk())
    state = wait_last_close(site, {"code": 4001, "reason": "client leaves", "by": "client"})
    assert state["sessions"] == before + 1


def test_other_apps_and_unrouted_paths_do_not_get_the_websocket(site):
    before = chat_state(site)

    async def refused(path: str, host: str | None = None) -> tuple[int, bytes]:
        with pytest.raises(InvalidStatus) as error:
            async with ws_connect(site, path, host=host, subprotocols=["chat.v1"]):
                pass
        response = error.value.response
        return response.status_code, bytes(response.body or b"")

    async def talk() -> None:
        # No app at "/" for other hosts: asgihost's own plain 404, as for any request.
        assert await refused("/nothing-here") == (404, b"Not Found")
        assert await refused("/apix/ws/chat") == (404, b"Not Found")  # mounts match on "/"
        assert await refused("/nothing-here", host="example.com") == (404, b"Not Found")
        # The blog takes every path on its hosts, /api/... included, and the admin app its
        # mount: neither has a WebSocket route, so FastAPI refuses (close before accept = 403).
        assert (await refused(CHAT, host="blog.localhost"))[0] == 403
        assert (await refused(CHAT, host="alice.blog.localhost"))[0] == 403
        assert (await refused("/admin/ws/chat"))[0] == 403
        # A plain GET of the WebSocket route: FastAPI's HTTP 404 (the route is websocket-only).
        async with httpx.AsyncClient(base_url=site.url, timeout=5) as client:
            assert (await client.get(CHAT)).status_code == 404

    run(talk())
    assert chat_state(site) == before  # the chat endpoint never ran
    log = site.wait_for_log('"GET /nothing-here HTTP/1.1" 404')  # no app: answered as plain HTTP
    assert '"WebSocket /admin/ws/chat" 403' in log


# ---- compression off, by configuration -----------------------------------------------------------


def write_config(tmp_path: Path, port: int, server_section: str = "", app_section: str = "") -> Path:
    """The api app alone, mounted at /api as in the example, with extra TOML."""
    config = tmp_path / "asgihost.toml"
    config.write_text(
        f"""
[server]
graceful_timeout = "5s"

[listeners.web]
bind = "127.0.0.1:{port}"
{server_section}
[apps.api]
app = "api_service.main:app"
app_dir = {json.dumps(str(SERVICES))}
mount = "/api"
lifespan = "on"
{app_section}
"""
    )
    return config


@pytest.mark.parametrize(
    "server_section, app_section",
    [
        ("[websocket]\nper_message_deflate = false\n", ""),
        ("[websocket]\nper_message_deflate = true\n", "[apps.api.websocket]\nper_message_deflate = false\n"),
    ],
    ids=["server-wide", "per-app"],
)
def test_per_message_deflate_off_refuses_the_offer(serve, tmp_path, server_section, app_section):
    server = serve(str(write_config(tmp_path, free_port(), server_section, app_section)))
    text = "compressible " * 80_000  # about 1 MiB

    async def talk() -> None:
        async with ws_connect(server, max_size=4 * MIB) as ws:  # offers permessage-deflate
            assert extensions(ws) is None  # ... which the server does not take
            assert await ask(ws, "hi") == {"from": "api", "echo": "hi", "n": 1}
            assert (await ask(ws, text))["echo"] == text
            await ws.send([b"frag", b"ments"])
            assert await ws.recv() == b"fragments"

    run(talk())
    assert server.stop() == 0


def test_compression_on_in_the_same_config_form(serve, tmp_path):
    """The control for the test above: the same file with the default agrees to deflate."""
    server = serve(str(write_config(tmp_path, free_port())))

    async def talk() -> None:
        async with ws_connect(server) as ws:
            agreed = extensions(ws)
            assert agreed is not None and "permessage-deflate" in agreed
            assert (await ask(ws, "hi"))["echo"] == "hi"

    run(talk())
    assert server.stop() == 0


# ---- shutdown with an open session ---------------------------------------------------------------


def test_shutdown_closes_an_open_chat_with_1001(serve, monkeypatch):
    monkeypatch.setenv("PORT", str(free_port()))
    server = serve(str(SITE / "asgihost.toml"))

    async def talk() -> tuple[int | None, str | None]:
        async with ws_connect(server, subprotocols=["chat.v1"]) as ws:
            assert (await ask(ws, "still here"))["n"] == 1
            # Stop the server (SIGINT, as Ctrl+C) while this loop keeps answering its frames.
            stopping = asyncio.ensure_future(asyncio.to_thread(server.stop))
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert await stopping == 0
            return ws.close_code, ws.close_reason

    assert run(talk()) == (1001, "Server shutting down")
    log = server.log()
    # Connections are waited for, then the apps shut down (in reverse order); no error logged.
    closed_at = log.index("Waiting for connections to close")
    assert closed_at < log.index("shutdown complete. [blog]") < log.index("shutdown complete. [api]")
    assert "ERROR" not in log and "Traceback" not in log
