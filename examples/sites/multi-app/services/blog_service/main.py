"""The blog: chosen by the Host header (blog.localhost and *.blog.localhost), at every path."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

# Read when the module is imported: asgihost puts [apps.blog.env] in the environment while
# it imports this app, and takes it out again afterwards.
TITLE = os.environ.get("BLOG_TITLE", "A blog")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict]:
    posts = [
        {"slug": "hello", "title": "Hello, world"},
        {"slug": "many-apps", "title": "Many apps, one port"},
    ]
    yield {"app_name": "blog", "started": time.time(), "posts": posts}


app = FastAPI(title=TITLE, lifespan=lifespan)


@app.get("/")
async def index(request: Request) -> dict:
    host = request.headers.get("host", "").split(":")[0]
    author = host.removesuffix(".blog.localhost") if host.endswith(".blog.localhost") else None
    return {"app": request.state.app_name, "title": TITLE, "author": author, "posts": request.state.posts}


@app.get("/whoami")
async def whoami(request: Request) -> dict:
    return {
        "app": request.state.app_name,
        "root_path": request.scope.get("root_path", ""),
        "path": request.url.path,
        "state_keys": sorted(request.scope["state"]),
        "uptime": round(time.time() - request.state.started, 3),
    }
