"""Answers with its worker's pid; /busy blocks the event loop for a second, /block for good
(a hung worker)."""

import os
import time

from lifespan_ok import run_lifespan
from marks import mark


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await run_lifespan(receive, send)
        return
    if scope["path"] == "/block":
        time.sleep(30)
    elif scope["path"] == "/busy":
        mark(f"BUSY {os.getpid()}")
        time.sleep(1.0)  # this worker takes no other connection meanwhile
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": str(os.getpid()).encode()})
