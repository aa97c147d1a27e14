"""A small FastAPI site served by asgihost: `uv run asgihost run main:app --app-dir examples/sites/hello`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, StreamingResponse


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict]:
    yield {"started": time.time()}


app = FastAPI(title="asgihost example", lifespan=lifespan)


@app.get("/", response_class=HTMLResponse)
async def index() -> str:
    return (
        "<h1>Served by asgihost</h1>"
        '<p>Try <a href="/hello/world">/hello/world</a>, <a href="/uptime">/uptime</a>, '
        '<a href="/count">/count</a> (streamed) or <a href="/docs">/docs</a>.</p>'
    )


@app.get("/hello/{name}")
async def hello(name: str) -> dict:
    return {"message": f"Hello, {name}!"}


@app.get("/uptime")
async def uptime(request: Request) -> dict:
    return {"seconds": round(time.time() - request.state.started, 3)}


@app.get("/count")
async def count() -> StreamingResponse:
    async def numbers() -> AsyncIterator[bytes]:
        for i in range(1, 6):
            yield f"{i}\n".encode()
            await asyncio.sleep(0.2)

    return StreamingResponse(numbers(), media_type="text/plain")
