"""The programmatic API, with Uvicorn's names: ``run``, ``Config``, ``Server``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .asgi.apps import ASGIApp, load_app
from .config import HostConfig, from_options
from .config.flags import APP
from .plan import Plan, compile_plan


def _describe(app: Any) -> str:
    module = getattr(app, "__module__", None) or type(app).__module__
    name = getattr(app, "__qualname__", None) or type(app).__name__
    return f"{module}:{name}"


class Config:
    """Settings for one server, from Uvicorn-style keyword arguments.

    ``app`` is an ASGI application or an import string ``"module:attribute"``. Every other
    argument has Uvicorn's name and asgihost's model default; see ``asgihost run --help``.
    Invalid settings raise ``asgihost.config.ConfigError`` here, before anything starts.
    """

    def __init__(self, app: ASGIApp | str, **options: Any) -> None:
        host_config = from_options(app if isinstance(app, str) else _describe(app), options)
        self._setup(host_config, Path.cwd(), {APP: app})

    @classmethod
    def from_host_config(
        cls,
        host_config: HostConfig,
        base_dir: Path | None = None,
        targets: dict[str, ASGIApp | str] | None = None,
    ) -> Config:
        """A config from a validated model (a file, flags), with relative paths from ``base_dir``."""
        config = cls.__new__(cls)
        config._setup(host_config, base_dir or Path.cwd(), targets or {})
        return config

    def _setup(self, host_config: HostConfig, base_dir: Path, targets: dict[str, ASGIApp | str]) -> None:
        self.host_config = host_config
        self.base_dir = base_dir
        self.targets = targets  # app objects given in code, by app name
        self.plan: Plan = compile_plan(host_config, base_dir)

    def load(self) -> dict[str, ASGIApp]:
        """Import (or take) every app, in the order of the config; returns them by name."""
        loaded = {}
        for spec in self.plan.apps:
            app = spec.config
            loaded[spec.name] = load_app(
                self.targets.get(spec.name, app.app),
                factory=app.factory,
                app_dir=spec.app_dir,
                interface=app.interface,
                env=app.env,
            )
        return loaded

    def configure_logging(self) -> None:
        from .logs.setup import configure_logging

        logging_cfg = self.host_config.logging
        configure_logging(logging_cfg.level, logging_cfg.format, logging_cfg.access_log)


def run(app: ASGIApp | str, **options: Any) -> None:
    """Serve ``app`` until SIGINT/SIGTERM.

    Exits the process with status 3 when the app cannot be loaded or its startup fails, and 1
    when a listener cannot be bound, as Uvicorn does.
    """
    from .runtime.worker import Server

    server = Server(Config(app, **options))
    try:
        server.run()
    except KeyboardInterrupt:  # pragma: no cover - a second Ctrl+C during start-up
        pass
    if server.exit_code:
        sys.exit(server.exit_code)
