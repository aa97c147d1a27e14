"""The lifespan protocol for test apps that need nothing from it but a clean start and stop."""


async def run_lifespan(receive, send):
    await receive()
    await send({"type": "lifespan.startup.complete"})
    await receive()
    await send({"type": "lifespan.shutdown.complete"})
