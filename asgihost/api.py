"""The programmatic API, with Uvicorn's names: ``run``, ``Config``, ``Server``."""

from __future__ import annotations

import sys
from typing import Any

from .asgi.apps import ASGIApp, load_app
from .config import HostConfig, from_options


def _describe(app: Any) -> str:
    module = getattr(app, "__module__", None) or type(app).__module__
    name = getattr(app, "__qualname__", None) or type(app).__name__
    return f"{module}:{name}"


class Config:
    """Settings for one server, from Uvicorn-style keyword arguments.

    ``app`` is an ASGI application or an import string ``"module:attribute"``. Every other
    argument has Uvicorn's name and asgihost's model default; see ``asgihost run --help``.
    """

    def __init__(self, app: ASGIApp | str, **options: Any) -> None:
        self.app = app
        self.host_config: HostConfig = from_options(app if isinstance(app, str) else _describe(app), options)
        self.loaded_app: ASGIApp | None = None

    @classmethod
    def from_host_config(cls, app: ASGIApp | str, host_config: HostConfig) -> Config:
        config = cls.__new__(cls)
        config.app = app
        config.host_config = host_config
        config.loaded_app = None
        return config

    @property
    def app_spec(self) -> Any:
        return next(iter(self.host_config.apps.values()))

    def load(self) -> ASGIApp:
        spec = self.app_spec
        self.loaded_app = load_app(
            self.app, factory=spec.factory, app_dir=spec.app_dir, interface=spec.interface
        )
        return self.loaded_app

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
