"""A loop factory of the user's (``--loop loop_apps:new_loop``), and an app that names the loop
it runs on."""

from __future__ import annotations

import asyncio


class MarkedLoop(asyncio.SelectorEventLoop):
    """asyncio's loop, under a name of its own."""


def new_loop() -> asyncio.AbstractEventLoop:
    return MarkedLoop()


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = type(asyncio.get_running_loop()).__name__.encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]}
    )
    await send({"type": "http.response.body", "body": body})
