"""Minimal ASGI applications that every benchmarked server runs unchanged.

All but two are plain ASGI 3 callables with no framework, so a benchmark measures the server,
not the application. Serve them with ``--app-dir benchmarks`` as ``apps:hello``, ``apps:echo`` or
``apps:stream``; ``ws_echo`` (a WebSocket echo) is served from the repository root as
``benchmarks.apps:ws_echo``. The exceptions are ``apps:fastapi_items``, a FastAPI application with
one JSON route, for measuring a server under a framework, and ``apps:fastapi_files``, FastAPI's
``FileResponse`` of the files in ``$BENCH_FILES_DIR`` (the ``pathsend`` benchmark): they are built on
first access, so serving the other apps never imports FastAPI.
"""

from __future__ import annotations

from typing import Any

HELLO_BODY = b"Hello, world!"
HELLO_HEADERS = [
    (b"content-type", b"text/plain"),
    (b"content-length", str(len(HELLO_BODY)).encode("ascii")),
]


async def _lifespan(receive: Any, send: Any) -> None:
    """Accept startup and shutdown, so servers can run with lifespan on or auto."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer every HTTP request with the 13-byte text/plain ``Hello, world!``."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HELLO_HEADERS})
    await send({"type": "http.response.body", "body": HELLO_BODY})


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Read the whole request body and answer with its length in bytes, as text."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = str(size).encode("ascii")
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


STREAM_CHUNK = bytes(range(256)) * 256  # 64 KiB
STREAM_CHUNKS = 16  # 1 MiB in all


async def stream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer every HTTP request with 1 MiB in 16 body messages of 64 KiB (``more_body``).

    There is no ``content-length``, so an HTTP/1.1 server sends it chunked, as it would any
    streamed response.
    """
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/octet-stream")],
        }
    )
    for i in range(STREAM_CHUNKS):
        await send({"type": "http.response.body", "body": STREAM_CHUNK, "more_body": i < STREAM_CHUNKS - 1})


def _fastapi_items() -> Any:
    """A FastAPI app with the route ``GET /items/{item_id}`` answering ``{"item_id": ..., "q": ...}``."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, q: str | None = None) -> dict[str, Any]:
        return {"item_id": item_id, "q": q}

    return app


FILES_DIR_ENV = "BENCH_FILES_DIR"  # not ASGIHOST_*/UVICORN_*: the servers read those as settings


def _fastapi_files() -> Any:
    """A FastAPI app whose ``GET /files/{name}`` is ``FileResponse`` of that file in ``$BENCH_FILES_DIR``.

    Starlette's FileResponse sends ``http.response.pathsend`` when the server offers the extension
    in the scope, and reads the file in 64 KiB chunks in a thread when it does not. The names are
    the directory's files when the app is built; any other name is a 404. ``GET /pathsend`` answers
    ``{"offered": true}`` when the server offers the extension.
    """
    import os
    from pathlib import Path

    from fastapi import FastAPI, HTTPException, Request
    from fastapi.responses import FileResponse, JSONResponse

    root = Path(os.environ[FILES_DIR_ENV])
    files = {p.name: p for p in root.iterdir() if p.is_file()}
    app = FastAPI()

    @app.get("/files/{name}")
    async def read_file(name: str) -> FileResponse:
        if name not in files:
            raise HTTPException(404)
        return FileResponse(files[name])

    async def pathsend(request: Request) -> JSONResponse:
        """Whether the server offers the extension, so a benchmark can say what it measured."""
        return JSONResponse({"offered": "http.response.pathsend" in request.scope.get("extensions", {})})

    # a Starlette route: FastAPI would look the postponed annotation up in this module's globals
    app.router.add_route("/pathsend", pathsend)

    return app


_LAZY = {"fastapi_items": _fastapi_items, "fastapi_files": _fastapi_files}


def __getattr__(name: str) -> Any:
    """``apps:fastapi_items`` and ``apps:fastapi_files`` are built when a server first looks them up (PEP 562)."""
    if name in _LAZY:
        app = _LAZY[name]()
        globals()[name] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


WS_ECHO_HTTP_BODY = b"WebSocket echo: connect with a WebSocket client.\n"


async def ws_echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Accept every WebSocket and send each text or bytes message back, as it came, until it closes.

    A plain HTTP request (no upgrade) gets ``426 Upgrade Required`` with a one-line text body, so
    a server that hands a WebSocket upgrade to the app as HTTP is recognisable by that answer.
    """
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] == "http":
        await send(
            {
                "type": "http.response.start",
                "status": 426,
                "headers": [
                    (b"content-type", b"text/plain"),
                    (b"content-length", str(len(WS_ECHO_HTTP_BODY)).encode("ascii")),
                    (b"upgrade", b"websocket"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": WS_ECHO_HTTP_BODY})
        return
    if scope["type"] != "websocket":
        return
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.receive":
            text = message.get("text")
            if text is not None:
                await send({"type": "websocket.send", "text": text})
            else:
                await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})
        elif message["type"] == "websocket.disconnect":
            return
