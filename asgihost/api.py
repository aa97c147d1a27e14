"""The programmatic API, with Uvicorn's names: ``run`` and ``Config`` (``asgihost.Server`` is ``runtime.worker.Server``).

``Config`` and the recipes a reloaded process makes its config again from live in
``asgihost.settings``, which the runtime imports; this module imports the runtime, never the
other way round.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from .asgi.apps import ASGIApp
from .settings import Config, Recipe, config_from_recipe, keyword_signature

__all__ = ["Config", "Recipe", "config_from_recipe", "run", "run_processes"]


def run(app: ASGIApp | str, **options: Any) -> None:
    """Serve ``app`` until SIGINT/SIGTERM.

    Exits the process with status 3 when the app cannot be loaded or its startup fails, and 1
    when a listener cannot be bound, as Uvicorn does.
    """
    from .runtime.worker import Server

    config = Config(app, **options)
    if config.host_config.reload.enabled or config.host_config.server.workers > 1:
        if not isinstance(app, str):
            logging.getLogger("asgihost.error").warning(
                "You must pass the application as an import string to enable 'reload' or 'workers'."
            )
            sys.exit(1)
        sys.exit(run_processes(config, ("kwargs", app, config.options)))
    server = Server(config)
    try:
        server.run()
    except KeyboardInterrupt:  # pragma: no cover - a second Ctrl+C during start-up
        pass
    if server.exit_code:
        sys.exit(server.exit_code)


run.__signature__ = keyword_signature()  # type: ignore[attr-defined]


def run_processes(config: Config, recipe: Recipe) -> int:
    """Serve through child processes: a reloader (``reload``; workers given as well are refused
    by the plan, and $WEB_CONCURRENCY's are ignored) or a supervisor of workers. Returns the
    exit status."""
    if config.host_config.reload.enabled:
        from .runtime.reload import Reloader

        return Reloader(config, recipe).run()
    from .runtime.supervisor import Supervisor

    return Supervisor(config, recipe).run()
