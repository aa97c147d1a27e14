"""The app behind tests/e2e/test_hostile_http1.py.

``/echo`` reads the whole request body and echoes it; ``/headers`` reads it and answers with
the request's header names, one per line, as the scope holds them then; any other path
answers 200 with the path. Unlike ``basic.echo_body`` it never raises when the client goes away mid-body (it
prints a marker and returns), so every traceback in the server log comes from the server.
"""

from lifespan_ok import run_lifespan
from marks import mark


async def _respond(send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await run_lifespan(receive, send)
        return
    if scope["path"] == "/headers":
        while (await receive()).get("more_body"):
            pass
        await _respond(send, 200, b"\n".join(name for name, _ in scope["headers"]))
        return
    if scope["path"] != "/echo":
        await _respond(send, 200, scope["path"].encode())
        return
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            mark(f"ECHO-DISCONNECTED after {sum(map(len, chunks))} bytes")
            return
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    await _respond(send, 200, b"".join(chunks))
