"""Apps whose timing the tests control: they print markers the tests wait for."""

import asyncio

from marks import mark


async def slow(scope, receive, send):
    """Answers after the number of milliseconds in the query string (default 500)."""
    if scope["type"] != "http":
        return
    delay = int(scope["query_string"] or b"500") / 1000
    mark("REQUEST-STARTED", scope["path"])
    await asyncio.sleep(delay)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4")]})
    await send({"type": "http.response.body", "body": b"done"})


async def forever(scope, receive, send):
    """Never answers; reports being cancelled."""
    if scope["type"] != "http":
        return
    mark("REQUEST-STARTED")
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        mark("REQUEST-CANCELLED")
        raise


def not_a_factory_call():
    return slow


CHUNK = 256 * 1024
CHUNKS = 256  # 64 MiB in all


async def big_download(scope, receive, send):
    """Streams 64 MiB, printing how many chunks ``send`` has accepted."""
    if scope["type"] != "http":
        return
    headers = [(b"content-length", b"%d" % (CHUNK * CHUNKS))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    chunk = b"x" * CHUNK
    for i in range(CHUNKS):
        await send({"type": "http.response.body", "body": chunk, "more_body": i < CHUNKS - 1})
        mark("SENT", i + 1)
