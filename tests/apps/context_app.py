"""Sets a context variable when imported (in the server's context, as instrumentation around a
server does); each request and WebSocket session answers with what it sees."""

from __future__ import annotations

import contextvars

SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="fresh")
SEEN.set("set at import")


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return
    body = SEEN.get().encode()
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": SEEN.get()})
        await send({"type": "websocket.close"})
        return
    headers = [(b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
