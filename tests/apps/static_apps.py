"""Apps beside static apps (tests/e2e/test_static_*.py): a static app's fallback (raw ASGI and
FastAPI), and an app sharing a listener with static apps. Each answers JSON saying who it is
and the path, root path and raw path it was given."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request


def _raw(name: str) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = json.dumps(
            {
                "app": name,
                "method": scope["method"],
                "path": scope["path"],
                "root_path": scope["root_path"],
                "raw_path": scope["raw_path"].decode("latin-1"),
                "query": scope["query_string"].decode("latin-1"),
            }
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


web = _raw("web")  # an application at "/" beside static apps at other mounts
fallback = _raw("fallback")  # a static app's fallback, sharing its mount

fastapi_app = FastAPI()


@fastapi_app.api_route("/{rest:path}", methods=["GET", "HEAD", "POST"])
async def anything(rest: str, request: Request) -> dict[str, Any]:
    return {
        "app": "fastapi",
        "rest": rest,
        "path": request.scope["path"],
        "root_path": request.scope["root_path"],
        "url_path": request.url.path,
    }
