"""Apps that send files with the ASGI file extensions: a FastAPI app of ``FileResponse``s
(Starlette sends ``http.response.pathsend`` where the scope offers it), and raw apps of
``http.response.zerocopysend`` and of its misuse. The file is named by the query string
(``?path=...``): the tests write it in their own directory."""

from __future__ import annotations

import os
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from marks import mark


def _query(scope) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(scope["query_string"].decode()).items()}


class SentTypes:
    """Marks the type of every message the app sends (``SENT http.response.pathsend``)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        async def sending(message):
            mark("SENT", message["type"])
            await send(message)

        await self.app(scope, receive, sending)


fastapi_app = FastAPI()


@fastapi_app.api_route("/file", methods=["GET", "HEAD"])
async def a_file(path: str) -> FileResponse:
    return FileResponse(path)


@fastapi_app.get("/relative")
async def a_relative_file(path: str) -> FileResponse:
    """The file by a path relative to the working directory, as apps often name their files."""
    return FileResponse(os.path.relpath(path))


@fastapi_app.get("/extensions")
async def extensions(request: Request) -> list[str]:
    return sorted(request.scope.get("extensions", {}))


fastapi_files = SentTypes(fastapi_app)


def _start(length: int | None) -> dict:
    headers = [(b"content-type", b"application/octet-stream")]
    if length is not None:
        headers.append((b"content-length", b"%d" % length))
    return {"type": "http.response.start", "status": 200, "headers": headers}


async def zerocopy(scope, receive, send):
    """``?path=P&parts=O:C,O:C...[&length=1]``: the parts of the file (offset:count; an empty
    offset is the file's position, an empty count to its end), one zerocopysend each, by the
    open file object (or its descriptor with ``&fd=1``); Content-Length given with ``length``
    (else chunked on HTTP/1.1). ``&seek=N`` sets the position first; ``&tell=1`` ends the body
    with ``|pos=N``, the file's position after the sends."""
    if scope["type"] != "http":
        return
    query = _query(scope)
    parts = []
    for part in query["parts"].split(","):
        offset, _, count = part.partition(":")
        parts.append((int(offset) if offset else None, int(count) if count else None))
    with open(query["path"], "rb") as file:
        if "seek" in query:
            os.lseek(file.fileno(), int(query["seek"]), os.SEEK_SET)
        size = os.fstat(file.fileno()).st_size
        length = None
        if "length" in query:
            length, position = 0, int(query.get("seek", 0))
            for offset, count in parts:
                start = position if offset is None else offset
                taken = size - start if count is None else count
                length += taken
                if offset is None:
                    position = start + taken
        tell = "tell" in query
        await send(_start(length))
        target = file.fileno() if "fd" in query else file
        for index, (offset, count) in enumerate(parts):
            message = {"type": "http.response.zerocopysend", "file": target}
            if offset is not None:
                message["offset"] = offset
            if count is not None:
                message["count"] = count
            message["more_body"] = index < len(parts) - 1 or tell
            await send(message)
        if tell:
            position = os.lseek(file.fileno(), 0, os.SEEK_CUR)
            await send({"type": "http.response.body", "body": b"|pos=%d" % position})


async def misuse(scope, receive, send):
    """``?kind=relative&path=P``: pathsend by a relative path; ``?kind=missing&path=P``:
    pathsend of a file that is not there (P.gone); ``?kind=not_a_file&path=P&suffix=S``:
    pathsend of what is at P+S, a directory or a FIFO; ``?kind=dir_fd&path=P``: zerocopysend
    of the directory P.dir, opened; ``?kind=short&path=P``: a
    Content-Length one byte past the file, then pathsend; ``?kind=past_end&path=P``:
    zerocopysend of more bytes than the file holds (Content-Length the count)."""
    if scope["type"] != "http":
        return
    query = _query(scope)
    path, kind = query["path"], query["kind"]
    size = os.stat(path).st_size
    if kind == "relative":
        await send(_start(size))
        await send({"type": "http.response.pathsend", "path": os.path.relpath(path)})
    elif kind == "missing":
        await send(_start(size))
        await send({"type": "http.response.pathsend", "path": path + ".gone"})
    elif kind == "not_a_file":  # a directory or a FIFO beside the file (P.dir, P.fifo)
        await send(_start(None))
        await send({"type": "http.response.pathsend", "path": path + query["suffix"]})
    elif kind == "dir_fd":  # zerocopysend of an open directory (P.dir), which nothing can read
        fd = os.open(path + ".dir", os.O_RDONLY)
        try:
            await send(_start(10))
            await send({"type": "http.response.zerocopysend", "file": fd, "offset": 0, "count": 10})
        finally:
            os.close(fd)
    elif kind == "short":
        await send(_start(size + 1))
        await send({"type": "http.response.pathsend", "path": path})
    elif kind == "past_end":
        with open(path, "rb") as file:
            await send(_start(size + 1000))
            await send(
                {"type": "http.response.zerocopysend", "file": file, "offset": 0, "count": size + 1000}
            )
