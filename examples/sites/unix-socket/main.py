"""A small app meant to sit behind nginx on a Unix socket; it shows what the proxy told it.

asgihost passes X-Forwarded-* headers through untouched (a Unix socket has no peer address:
the ASGI scope's ``client`` is None), so the app reads them itself. Only the proxy can reach
the socket (mode 660), which is what makes those headers trustworthy here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict]:
    yield {"started": time.time()}


app = FastAPI(title="Behind a proxy", lifespan=lifespan)


@app.get("/")
async def index(request: Request) -> dict:
    headers = request.headers
    forwarded_for = headers.get("x-forwarded-for")
    return {
        "host": headers.get("host"),
        "scheme": headers.get("x-forwarded-proto", request.url.scheme),
        "client": forwarded_for.split(",")[0].strip() if forwarded_for else None,
        "forwarded_for": forwarded_for,
        "socket_peer": request.scope.get("client"),
        "uptime": round(time.time() - request.state.started, 3),
    }


@app.get("/healthz")
async def healthz() -> dict:
    return {"ok": True}
