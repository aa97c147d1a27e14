"""The front end's API, served at /api: asgihost sets root_path = "/api", so the routes are
written without the prefix and FastAPI's /api/docs works unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

ITEMS = [
    {"id": 1, "name": "widget"},
    {"id": 2, "name": "gadget"},
    {"id": 3, "name": "gizmo"},
]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict]:
    yield {"items": [dict(item) for item in ITEMS]}  # this app's lifespan state: request.state


app = FastAPI(title="Front end API", lifespan=lifespan)


@app.get("/items")
async def list_items(request: Request) -> list[dict]:
    return request.state.items


@app.get("/health")
async def health() -> dict:
    return {"ok": True}
