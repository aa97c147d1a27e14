"""The FastAPI app the Uvicorn guide's command lines run against (tests/e2e/test_uvicorn_guide.py).

``app`` and the ``create_app()`` factory (``--factory``) are the same app: ``/`` answers with
the settings and the lifespan's state, ``/scope`` with what the scope says about the client,
the scheme and the root path (proxy headers, ``--root-path``, TLS, a Unix socket), ``/slow``
holds its request until ``/release`` (``--limit-concurrency``), ``/boom`` raises (the error
log), ``/ws`` echoes WebSocket text.

The settings are a pydantic-settings ``BaseSettings``, as FastAPI's "Settings and Environment
Variables" shows: ``APP_NAME`` and ``ADMIN_EMAIL`` come from the environment, or from a
``--env-file``, which the server reads before it imports the app.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from marks import mark
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    app_name: str = "Awesome API"
    admin_email: str = "nobody@example.com"
    items_per_user: int = 50


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict]:
    mark("GUIDE-LIFESPAN-STARTUP")
    yield {"started": True, "pid": os.getpid(), "waiting": set()}
    mark("GUIDE-LIFESPAN-SHUTDOWN")


def create_app() -> FastAPI:
    settings = Settings()
    made = FastAPI(title=settings.app_name, lifespan=lifespan)

    @made.get("/")
    async def root(request: Request) -> dict:
        return {
            "app_name": settings.app_name,
            "admin_email": settings.admin_email,
            "items_per_user": settings.items_per_user,
            "started": request.state.started,
            "pid": request.state.pid,
        }

    @made.get("/scope")
    async def scope(request: Request) -> dict:
        client = request.scope["client"]
        return {
            "client": list(client) if client else None,
            "scheme": request.scope["scheme"],
            "root_path": request.scope["root_path"],
            "path": request.scope["path"],
            "url": str(request.url),
            "http_version": request.scope["http_version"],
        }

    @made.get("/slow")
    async def slow(request: Request) -> dict:
        released = asyncio.Event()
        request.state.waiting.add(released)
        mark("GUIDE-SLOW-STARTED")
        await released.wait()
        return {"released": True}

    @made.get("/release")
    async def release(request: Request) -> dict:
        waiting = request.state.waiting
        for event in waiting:
            event.set()
        count = len(waiting)
        waiting.clear()
        return {"released": count}

    @made.get("/boom")
    async def boom() -> dict:
        raise RuntimeError("boom from the guide app")

    @made.websocket("/ws")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.send_text("echo: " + await websocket.receive_text())
        except WebSocketDisconnect:
            pass

    return made


app = create_app()


async def unsupported_lifespan(scope, receive, send):
    """An app that knows no lifespan: it raises on one (Uvicorn's "appears unsupported")."""
    if scope["type"] == "lifespan":
        raise RuntimeError("no lifespan here")
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@asynccontextmanager
async def _failing(app: FastAPI) -> AsyncIterator[None]:
    raise RuntimeError("the database is unreachable")
    yield  # pragma: no cover - a generator's shape


failing_lifespan = FastAPI(lifespan=_failing)
