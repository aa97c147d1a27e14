"""The admin app: served at /admin."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict]:
    yield {"app_name": "admin", "started": time.time(), "audit_log": []}


app = FastAPI(title="Admin", lifespan=lifespan)


@app.get("/")
async def index(request: Request) -> dict:
    return {"app": request.state.app_name}


@app.post("/audit")
async def audit(request: Request, event: str) -> dict:
    request.state.audit_log.append(event)  # the list lives in this app's lifespan state
    return {"events": len(request.state.audit_log)}


@app.get("/whoami")
async def whoami(request: Request) -> dict:
    return {
        "app": request.state.app_name,
        "root_path": request.scope.get("root_path", ""),
        "path": request.url.path,
        "state_keys": sorted(request.scope["state"]),
        "uptime": round(time.time() - request.state.started, 3),
    }
