"""Apps whose timing the tests control: they print markers the tests wait for."""

import asyncio


async def slow(scope, receive, send):
    """Answers after the number of milliseconds in the query string (default 500)."""
    if scope["type"] != "http":
        return
    delay = int(scope["query_string"] or b"500") / 1000
    print("REQUEST-STARTED", scope["path"], flush=True)
    await asyncio.sleep(delay)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4")]})
    await send({"type": "http.response.body", "body": b"done"})


async def forever(scope, receive, send):
    """Never answers; reports being cancelled."""
    if scope["type"] != "http":
        return
    print("REQUEST-STARTED", flush=True)
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        print("REQUEST-CANCELLED", flush=True)
        raise


def not_a_factory_call():
    return slow
