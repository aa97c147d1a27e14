"""Apps that answer with the class and name of the asyncio task running them: the server's own,
or, for ``factory_app``, the one the task factory it sets at startup made."""

import asyncio

from lifespan_ok import run_lifespan


class FactoryTask(asyncio.Task):
    """A task that only the factory below makes."""


def _factory(loop, coro, **kwargs):
    return FactoryTask(coro, loop=loop, **kwargs)


async def _answer(send):
    task = asyncio.current_task()
    body = f"{type(task).__name__} {task.get_name()}".encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]}
    )
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await run_lifespan(receive, send)
    else:
        await _answer(send)


async def factory_app(scope, receive, send):
    if scope["type"] == "lifespan":
        asyncio.get_running_loop().set_task_factory(_factory)
        await run_lifespan(receive, send)
    else:
        await _answer(send)
