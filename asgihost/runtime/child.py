"""What a child process of a reloader or a supervisor runs (the spawn targets, importable by
name): make the config again from the recipe, for one process, and serve.

Invariants:
- A recipe that no longer gives a valid config ends the child with status 2, every problem on
  stderr; the parent decides what then (the reloader waits for a change, the supervisor stops
  or abandons its reload).
- A supervisor's worker says "ready" before its loop runs anything else, so no request comes
  first; it answers each ping from the event loop (a stuck loop fails its health check) and
  stops when the supervisor's pipe closes.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from ..config import ConfigError
from ..settings import Config, Recipe, config_from_recipe
from . import loop as loops
from .worker import Server


def serve_recipe(recipe: Recipe) -> None:
    """A reloaded server process: make the config again (files may have changed), serve."""
    config = _child_config(recipe)
    server = Server(config)
    server.supervised = True
    server.run()
    sys.exit(server.exit_code)


def _child_config(recipe: Recipe) -> Config:
    try:
        return config_from_recipe(recipe, child=True)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"asgihost: error: {problem}", file=sys.stderr)
        sys.exit(2)


def serve_worker(recipe: Recipe, sockets: list[Any], pipe: Any, max_requests: int | None) -> None:
    """One worker of a supervisor: serve on the inherited sockets; say "ready" once serving,
    answer pings from the event loop (so a stuck loop fails its health check; with metrics, a
    ping brings the sum over all workers and the pong takes this one's), ask to be recycled
    after ``max_requests``."""
    config = _child_config(recipe)
    server = Server(config)
    server.supervised = True
    server.show_summary = False
    server.metrics_from_supervisor = True
    server.owns_loop = True

    def on_pipe() -> None:
        try:
            message = pipe.recv()
            if message == "ping":
                pipe.send("pong")
            elif isinstance(message, tuple) and message[0] == "ping":  # with metrics: the sum, ours back
                server.metrics_aggregate = message[1]
                pipe.send(("pong", server.metrics_snapshot()))
        except (EOFError, OSError):  # the supervisor is gone: stop
            asyncio.get_running_loop().remove_reader(pipe.fileno())
            server.should_exit = True

    def on_started() -> None:  # before the loop runs anything else: no request can come first
        pipe.send("ready")
        asyncio.get_running_loop().add_reader(pipe.fileno(), on_pipe)

    server.on_started = on_started

    async def main() -> None:
        task = asyncio.ensure_future(server.serve(sockets=sockets))
        asked = False
        while not task.done():
            await asyncio.wait({task}, timeout=0.2)
            state = server.state
            if max_requests and not asked and state is not None and state.requests >= max_requests:
                pipe.send("recycle")
                asked = True
        await task

    try:
        loops.run(main, config.plan.server.loop)
    except loops.LoopError as exc:
        print(f"asgihost: error: {exc}", file=sys.stderr)
        sys.exit(1)
    sys.exit(server.exit_code)
