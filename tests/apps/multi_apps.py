"""Raw ASGI apps for tests/e2e/test_multi_app.py: several apps in one server.

Each app prints ``MARK <what> <name>`` lines (the tests wait on them and check their order)
and answers HTTP requests with JSON saying who it is, what it was asked and what lifespan
state it sees.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from marks import mark


def _mark(what: str, name: str) -> None:
    mark(f"MARK {what} {name}")


async def _json(send: Any, payload: dict[str, Any], status: int = 200) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _describe(name: str, scope: dict[str, Any]) -> dict[str, Any]:
    state = scope.get("state", {})
    return {
        "app": name,
        "owner": state.get("owner"),
        "state_keys": sorted(state),
        "path": scope["path"],
        "root_path": scope.get("root_path", ""),
        "server": list(scope["server"]) if scope.get("server") else None,
        "pid": os.getpid(),
    }


def lifespan_app(name: str, *, startup_fails: str | None = None, shutdown_fails: str | None = None) -> Any:
    """An app that speaks lifespan; ``*_fails`` is the message of a failed startup/shutdown."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    _mark("startup", name)
                    if startup_fails is not None:
                        await send({"type": "lifespan.startup.failed", "message": startup_fails})
                        return
                    scope["state"]["owner"] = name
                    scope["state"][f"only_{name}"] = True
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    _mark("shutdown", name)
                    if shutdown_fails is not None:
                        await send({"type": "lifespan.shutdown.failed", "message": shutdown_fails})
                    else:
                        await send({"type": "lifespan.shutdown.complete"})
                    return
        elif scope["type"] == "http":
            await _json(send, _describe(name, scope))

    return app


first = lifespan_app("first")
second = lifespan_app("second")
third = lifespan_app("third")
fourth = lifespan_app("fourth")
broken_startup = lifespan_app("broken_startup", startup_fails="cannot reach the database")
broken_shutdown = lifespan_app("broken_shutdown", shutdown_fails="cannot flush the cache")


# ---- per-app limits: one app holds a request until another app releases it ---------------------

_release = asyncio.Event()


async def holder(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``/hold`` waits (at most 10 s) until ``releaser`` is asked; any other path answers now."""
    if scope["type"] != "http":
        return
    if scope["path"].endswith("/hold"):
        _mark("holding", "holder")
        try:
            await asyncio.wait_for(_release.wait(), 10)
        except asyncio.TimeoutError:
            await _json(send, {"app": "holder", "released": False})
            return
        _release.clear()
        await _json(send, {"app": "holder", "released": True})
        return
    await _json(send, _describe("holder", scope))


async def releaser(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"].endswith("/release"):
        _release.set()
    await _json(send, _describe("releaser", scope))
