"""The API: served at /api. asgihost sets root_path = "/api", so FastAPI's /api/docs and
/api/openapi.json work with no change to the app."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict]:
    # What this yields is this app's lifespan state: every request *to this app* sees it as
    # request.state. The other apps of the server have their own.
    items = {1: {"id": 1, "name": "widget"}, 2: {"id": 2, "name": "gadget"}}
    yield {"app_name": "api", "started": time.time(), "items": items}


app = FastAPI(title="API", lifespan=lifespan)


@app.get("/")
async def index(request: Request) -> dict:
    return {"app": request.state.app_name, "docs": f"{request.scope.get('root_path', '')}/docs"}


@app.get("/items")
async def list_items(request: Request) -> list[dict]:
    return list(request.state.items.values())


@app.get("/items/{item_id}")
async def get_item(item_id: int, request: Request) -> dict:
    item = request.state.items.get(item_id)
    if item is None:
        raise HTTPException(status_code=404, detail="no such item")
    return item


@app.get("/whoami")
async def whoami(request: Request) -> dict:
    """Which app answered, where it is mounted, and the keys of its lifespan state."""
    return {
        "app": request.state.app_name,
        "root_path": request.scope.get("root_path", ""),
        "path": request.url.path,
        "state_keys": sorted(request.scope["state"]),
        "uptime": round(time.time() - request.state.started, 3),
    }
