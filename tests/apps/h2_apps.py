"""Raw ASGI apps for the HTTP/2 tests, chosen by path; each prints what the tests look for."""

import asyncio
import json

from lifespan_ok import run_lifespan
from marks import mark


async def _respond(send, status, body, headers=()):
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _read(receive):
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if not message.get("more_body"):
            return bytes(body)


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await run_lifespan(receive, send)
        return
    path = scope["path"]
    mark(f"APP-CALLED {path}")
    if path == "/echo":
        body = await _read(receive)
        await _respond(send, 200, body or b"")
    elif path == "/download":
        size = int(scope["query_string"].decode().split("=")[1])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        chunk = b"d" * 65536
        sent = 0
        while sent < size:
            piece = chunk[: size - sent]
            sent += len(piece)
            await send({"type": "http.response.body", "body": piece, "more_body": sent < size})
    elif path == "/scope":
        fields = {
            "http_version": scope["http_version"],
            "scheme": scope["scheme"],
            "method": scope["method"],
            "path": scope["path"],
            "query_string": scope["query_string"].decode(),
            "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
            "tls": scope.get("extensions", {}).get("tls"),
        }
        await _respond(send, 200, json.dumps(fields).encode(), [(b"content-type", b"application/json")])
    elif path == "/wait-disconnect":
        message = await receive()
        while message["type"] != "http.disconnect":
            message = await receive()
        mark("DISCONNECT-SEEN")
    elif path == "/raise-before":
        raise RuntimeError("h2 app broke before responding")
    elif path == "/raise-mid":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("h2 app broke mid-response")
    elif path == "/slow":
        await asyncio.sleep(1.0)
        await _respond(send, 200, b"slow done")
    elif path == "/trailers":
        offered = "http.response.trailers" in scope.get("extensions", {})
        await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": offered})
        size = int(scope["query_string"].decode().split("=")[1]) if scope["query_string"] else 5
        await send({"type": "http.response.body", "body": b"t" * size})
        if offered:
            await send(
                {
                    "type": "http.response.trailers",
                    "headers": [(b"x-checksum", b"abc")],
                    "more_trailers": True,
                }
            )
            await send({"type": "http.response.trailers", "headers": [(b"x-count", b"%d" % size)]})
    elif path == "/big-header":
        await _respond(send, 200, b"big", [(b"x-big", b"b" * 40000), (b"x-small", b"s")])
    elif path == "/bad-header":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-bad", b"a\r\nb")]})
    else:
        await _respond(send, 200, path.encode(), [(b"connection", b"keep-alive")])  # dropped over h2
