"""Raw ASGI WebSocket apps for the end-to-end tests, chosen by path."""

import asyncio
import json
import sys

from marks import mark


async def echo(scope, receive, send):
    """Echoes messages; "close:CODE:REASON" closes with that code; picks the first subprotocol."""
    assert (await receive())["type"] == "websocket.connect"
    subprotocols = scope["subprotocols"]
    await send({"type": "websocket.accept", "subprotocol": subprotocols[0] if subprotocols else None})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            mark(f"DISCONNECT {message['code']} {message.get('reason', '')!r}")
            return
        text = message.get("text")
        if text is not None and text.startswith("close:"):
            _, code, reason = text.split(":", 2)
            await send({"type": "websocket.close", "code": int(code), "reason": reason})
            after = await receive()
            mark(f"AFTER-CLOSE {after['type']} {after.get('code')}")
            return
        if text is not None:
            await send({"type": "websocket.send", "text": text})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


async def reject(scope, receive, send):
    await receive()
    await send({"type": "websocket.close"})


async def deny(scope, receive, send):
    await receive()
    await send(
        {
            "type": "websocket.http.response.start",
            "status": 401,
            "headers": [(b"content-type", b"text/plain"), (b"www-authenticate", b"Bearer")],
        }
    )
    await send({"type": "websocket.http.response.body", "body": b"who ", "more_body": True})
    await send({"type": "websocket.http.response.body", "body": b"are you?"})


async def raise_before(scope, receive, send):
    await receive()
    raise RuntimeError("broken before accept")


async def raise_after(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    raise RuntimeError("broken after accept")


async def return_after_accept(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})


async def bad_header(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept", "headers": [(b"x-bad", b"a\r\nb")]})


async def describe(scope, receive, send):
    """Accepts with an extra header and sends the scope's fields as JSON."""
    await receive()
    await send({"type": "websocket.accept", "headers": [(b"x-served-by", b"ws_apps")]})
    fields = {
        key: scope[key]
        for key in (
            "type",
            "path",
            "raw_path",
            "root_path",
            "query_string",
            "scheme",
            "http_version",
            "subprotocols",
            "extensions",
            "asgi",
        )
    }
    fields["raw_path"] = fields["raw_path"].decode()
    fields["query_string"] = fields["query_string"].decode()
    fields["state"] = sorted(scope.get("state", {}))
    fields["headers"] = [[k.decode(), v.decode()] for k, v in scope["headers"]]
    await send({"type": "websocket.send", "text": json.dumps(fields)})
    await receive()


async def flood(scope, receive, send):
    """Sends 64 KiB messages as fast as the server lets it; prints how many it has sent."""
    await receive()
    await send({"type": "websocket.accept"})
    chunk = b"x" * 65536
    sent = 0
    try:
        while sent < 100_000:
            await send({"type": "websocket.send", "bytes": chunk})
            sent += 1
            if sent % 16 == 0:
                mark(f"SENT {sent}")
    except OSError as exc:
        mark(f"SEND-FAILED {type(exc).__name__} after {sent}")


async def hold(scope, receive, send):
    """Accepts and waits for the disconnect, printing its code."""
    await receive()
    await send({"type": "websocket.accept"})
    message = await receive()
    mark(f"DISCONNECT {message['code']}")


async def slow_consumer(scope, receive, send):
    """Accepts, then reads nothing for a long while."""
    await receive()
    await send({"type": "websocket.accept"})
    mark("NOT-READING")
    await asyncio.sleep(30)


ROUTES = {
    "/echo": echo,
    "/reject": reject,
    "/deny": deny,
    "/raise-before": raise_before,
    "/raise-after": raise_after,
    "/return-after-accept": return_after_accept,
    "/bad-header": bad_header,
    "/describe": describe,
    "/flood": flood,
    "/hold": hold,
    "/slow-consumer": slow_consumer,
}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        scope["state"]["ready"] = True
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] == "http":
        body = b"plain http " + scope["path"].encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return
    handler = ROUTES.get(scope["path"], echo)
    await handler(scope, receive, send)


if __name__ == "__main__":
    sys.exit("run with asgihost")
