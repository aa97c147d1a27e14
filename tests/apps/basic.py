"""Raw ASGI apps for the HTTP/1.1 wire tests (tests/e2e/test_http1_raw.py).

``app`` routes on the request path; each route exercises one behaviour of the server. Markers
printed to stdout (``flush=True``) let the tests wait on what the app has seen.
"""

import asyncio

from marks import mark


def _text_headers(body: bytes, extra=()):
    return [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body)), *extra]


async def _respond(send, status: int, body: bytes, extra=()):
    await send({"type": "http.response.start", "status": status, "headers": _text_headers(body, extra)})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive):
    """The whole request body, and how many ``http.request`` messages carried it."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RuntimeError("client disconnected while the body was read")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), len(chunks)


async def echo_path(scope, receive, send):
    """The path and query string, e.g. ``/a?x=1``; ``/slow`` takes 0.3 s first."""
    if scope["path"] == "/slow":
        await asyncio.sleep(0.3)
    body = scope["path"].encode()
    if scope["query_string"]:
        body += b"?" + scope["query_string"]
    await _respond(send, 200, body)


async def echo_body(scope, receive, send):
    body, _ = await _read_body(receive)
    await _respond(send, 200, body, [(b"x-method", scope["method"].encode())])


async def head_app(scope, receive, send):
    """Always sends a body; the server must drop it for HEAD."""
    await _respond(send, 200, b"hello world")


async def chunked_response(scope, receive, send):
    """No content-length: the server frames the body itself."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    for piece in (b"hello", b", ", b"", b"chunked world"):
        await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def expect_read(scope, receive, send):
    """Reads the body (so a 100 Continue is due), then echoes it."""
    mark("EXPECT-APP-STARTED")
    body, _ = await _read_body(receive)
    await _respond(send, 200, b"got:" + body)


async def expect_reject(scope, receive, send):
    """Answers without ever reading the body: no 100 Continue may be sent."""
    await _respond(send, 401, b"no")


async def wait_disconnect(scope, receive, send):
    """Reads the body, then waits for the client to go away."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            mark(f"DISCONNECT-SEEN body={len(body)}")
            return
        body += message.get("body", b"")
        if not message.get("more_body", False):
            mark(f"BODY-READ {len(body)}")
            break
    message = await receive()
    mark(f"DISCONNECT-SEEN body={len(body)} type={message['type']}")


async def slow_reader(scope, receive, send):
    """Counts the body, reading slowly so the client outruns it.

    It first stalls for half a second (a server without read back-pressure buffers the whole
    upload meanwhile), then sleeps a little before each of its first receives.
    """
    mark("SLOW-READER-STARTED")
    await asyncio.sleep(0.5)
    total = 0
    calls = 0
    while True:
        if calls < 200:
            await asyncio.sleep(0.002)
        message = await receive()
        calls += 1
        if message["type"] == "http.disconnect":
            mark("SLOW-READER-DISCONNECTED")
            return
        total += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    await _respond(send, 200, b"%d" % total)


async def raise_before(scope, receive, send):
    raise RuntimeError("boom before start")


async def raise_after_start(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
    raise RuntimeError("boom after start")


async def raise_mid_stream(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise RuntimeError("boom mid stream")


async def crlf_header(scope, receive, send):
    headers = [(b"content-length", b"2"), (b"x-evil", b"x\r\nInjected: yes")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


async def bad_status(scope, receive, send):
    status = {"text": "200", "large": 1000, "small": 99}[scope["query_string"].decode()]
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"never"})


async def nul_header_name(scope, receive, send):
    headers = [(b"content-length", b"2"), (b"x-ev\x00il", b"Injected")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


async def no_response(scope, receive, send):
    return None


async def body_before_start(scope, receive, send):
    await send({"type": "http.response.body", "body": b"too early"})


async def send_after_final(scope, receive, send):
    await _respond(send, 200, b"done")
    await send({"type": "http.response.body", "body": b"one too many"})


async def own_server_header(scope, receive, send):
    await _respond(send, 200, b"mine", [(b"Server", b"custom-server/1.0")])


async def hold(scope, receive, send):
    """Prints a marker, then stays in flight for a while."""
    mark("HOLD-STARTED")
    await asyncio.sleep(1.5)
    await _respond(send, 200, b"held")


ROUTES = {
    "/echo": echo_body,
    "/head": head_app,
    "/chunked": chunked_response,
    "/expect-read": expect_read,
    "/expect-reject": expect_reject,
    "/disconnect": wait_disconnect,
    "/slow-reader": slow_reader,
    "/raise": raise_before,
    "/raise-after-start": raise_after_start,
    "/raise-mid-stream": raise_mid_stream,
    "/crlf-header": crlf_header,
    "/nul-header-name": nul_header_name,
    "/bad-status": bad_status,
    "/no-response": no_response,
    "/body-before-start": body_before_start,
    "/send-after-final": send_after_final,
    "/own-server-header": own_server_header,
    "/hold": hold,
}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    handler = ROUTES.get(scope["path"], echo_path)
    return await handler(scope, receive, send)
