"""A realistic FastAPI application, served identically by TestClient and by asgihost.

Lifespan state (``started_at``, ``items``, ``pid``, ``loop_id``, ``events``) is yielded by the
``lifespan`` context manager and read by routes through ``request.state``. Background tasks
append to ``events`` (a per-server dict) so a test can observe that they ran after the response.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import BackgroundTasks, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, StreamingResponse
from marks import mark
from pydantic import BaseModel, Field

# Lifespan shutdowns seen by this process (the in-process Server test reads it).
SHUTDOWNS: list[float] = []

STREAM_CHUNKS = 20


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict]:
    items = {
        1: {"id": 1, "name": "hammer", "price": 9.5, "tags": ["tools"]},
        2: {"id": 2, "name": "anvil", "price": 120.0, "tags": ["tools", "heavy"]},
        3: {"id": 3, "name": "rope", "price": 3.25, "tags": []},
    }
    state = {
        "started_at": time.time(),
        "items": items,
        "pid": os.getpid(),
        "loop_id": id(asyncio.get_running_loop()),
        "events": {},  # background-task token -> what it recorded
        "releases": {},  # stream token -> asyncio.Event, for the incremental-streaming test
    }
    mark("FASTAPI-LIFESPAN-STARTUP")
    yield state
    SHUTDOWNS.append(time.time())
    mark("FASTAPI-LIFESPAN-SHUTDOWN")


app = FastAPI(title="asgihost e2e app", lifespan=lifespan)


class ItemIn(BaseModel):
    name: str = Field(min_length=1)
    price: float = Field(gt=0)
    tags: list[str] = []


@app.get("/")
async def root() -> dict:
    return {"message": "hello", "framework": "fastapi"}


@app.get("/state")
async def state(request: Request) -> dict:
    return {
        "started_at": request.state.started_at,
        "item_count": len(request.state.items),
        "pid": request.state.pid,
        "same_loop": request.state.loop_id == id(asyncio.get_running_loop()),
    }


@app.api_route("/items/{item_id}", methods=["GET", "HEAD"])
async def get_item(item_id: int, request: Request) -> dict:
    item = request.state.items.get(item_id)
    if item is None:
        raise HTTPException(status_code=404, detail=f"item {item_id} not found")
    return item


@app.get("/get-only")
async def get_only() -> dict:
    return {"only": "get"}


@app.get("/search")
async def search(
    request: Request,
    q: str,
    limit: int = Query(10, ge=1, le=100),
    tag: list[str] = Query(default=[]),
) -> dict:
    items = request.state.items.values()
    found = [i for i in items if q in i["name"] and all(t in i["tags"] for t in tag)]
    return {"q": q, "limit": limit, "tags": tag, "results": [i["id"] for i in found][:limit]}


@app.post("/items", status_code=201)
async def create_item(item: ItemIn, request: Request) -> dict:
    # Not stored: the answer depends only on the request, so every variant sees the same thing.
    new_id = max(request.state.items) + 1
    return {"id": new_id, **item.model_dump()}


@app.post("/raw")
async def raw_body(request: Request) -> dict:
    body = await request.body()
    return {
        "length": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "content_type": request.headers.get("content-type"),
    }


@app.post("/echo")
async def echo(request: Request) -> Response:
    body = await request.body()
    return Response(body, media_type=request.headers.get("content-type", "application/octet-stream"))


def _chunk(i: int) -> bytes:
    # Sizes vary, one chunk is large enough to fill socket buffers (write back-pressure).
    size = 256 * 1024 if i == STREAM_CHUNKS // 2 else 1 + i * 37
    return b"chunk-%02d:" % i + bytes([0x61 + i % 26]) * size + b"\n"


@app.get("/stream")
async def stream() -> StreamingResponse:
    async def generate() -> AsyncIterator[bytes]:
        for i in range(STREAM_CHUNKS):
            yield _chunk(i)
            await asyncio.sleep(0)

    return StreamingResponse(generate(), media_type="application/octet-stream")


@app.get("/stream/held/{token}")
async def stream_held(token: str, request: Request) -> StreamingResponse:
    """Sends one chunk, then waits until /stream/release/{token} is called, then the last."""
    release = request.state.releases.setdefault(token, asyncio.Event())

    async def generate() -> AsyncIterator[bytes]:
        yield b"first\n"
        await asyncio.wait_for(release.wait(), timeout=10)
        yield b"last\n"

    return StreamingResponse(generate(), media_type="text/plain")


@app.post("/stream/release/{token}")
async def stream_release(token: str, request: Request) -> dict:
    event = request.state.releases.get(token)
    if event is None:
        raise HTTPException(status_code=404, detail="no such stream")
    event.set()
    return {"released": token}


@app.get("/boom")
async def boom() -> dict:
    raise RuntimeError("boom: unhandled exception in route")


@app.post("/tasks/{token}", status_code=202)
async def schedule_task(token: str, request: Request, background: BackgroundTasks) -> dict:
    events = request.state.events

    async def record() -> None:
        await asyncio.sleep(0)
        events[token] = {"ran_at": time.time()}

    background.add_task(record)
    return {"scheduled": token}


@app.get("/tasks/{token}")
async def task_status(token: str, request: Request) -> dict:
    return {"token": token, "done": token in request.state.events}


@app.get("/headers")
async def headers(
    request: Request,
    response: Response,
    x_request_id: str | None = Header(default=None),
) -> dict:
    response.headers["x-echo-request-id"] = x_request_id or ""
    response.headers["x-multi"] = "one"
    response.headers.append("x-multi", "two")
    return {
        "x_request_id": x_request_id,
        "user_agent": request.headers.get("user-agent"),
        "host": request.headers.get("host"),
        "accept_list": request.headers.getlist("x-accept"),
    }


@app.get("/cookies/set")
async def set_cookie(value: str) -> JSONResponse:
    response = JSONResponse({"set": value})
    response.set_cookie("session", value, httponly=True, samesite="lax")
    return response


@app.get("/cookies")
async def read_cookies(request: Request) -> dict:
    return {"cookies": dict(request.cookies)}


@app.get("/redirect")
async def redirect() -> RedirectResponse:
    return RedirectResponse("/items/2", status_code=307)


@app.get("/text", response_class=PlainTextResponse)
async def text() -> str:
    return "plain text \u00e9\u00e8"
