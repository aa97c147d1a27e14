"""A server's settings: ``Config`` (Uvicorn's name, from keyword arguments or a validated model)
and the recipe a reloader's or a supervisor's child makes its config again from.

The config layer and the runtime both use this module; it imports neither ``asgihost.api``
nor ``asgihost.runtime``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from .asgi.apps import ASGIApp, load_app
from .config import ConfigError, HostConfig, Problem, from_options, load_with_options
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
        pid_file = host_config.server.pid_file
        self.pid_path: Path | None = base_dir / pid_file if pid_file else None
        env_file = host_config.server.env_file
        self.env_file: Path | None = base_dir / env_file if env_file else None
        log_config = host_config.logging.log_config
        self.log_config_path: Path | None = base_dir / log_config if log_config else None

    def load(self) -> dict[str, ASGIApp]:
        """Set the env file's variables, then import (or take) every app, in the order of the
        config; returns them by name."""
        if self.env_file is not None:
            from dotenv import load_dotenv

            logging.getLogger("asgihost.error").info("Loading environment from '%s'", self.env_file)
            load_dotenv(dotenv_path=self.env_file)
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

    def log_notes(self) -> None:
        """Once per server, at start: the plan's notes (a setting served otherwise than named)
        and warnings (httptools cannot be imported)."""
        log = logging.getLogger("asgihost.error")
        for note in self.plan.server.notes:
            log.info("%s", note)
        for warning in self.plan.server.warnings:
            log.warning("%s", warning)

    def configure_logging(self) -> bool:
        """Set logging up; False (and the reason on stderr) when ``log_config`` cannot be applied."""
        from .logs.setup import LogConfigError, configure_logging

        logging_cfg = self.host_config.logging
        try:
            configure_logging(
                logging_cfg.level,
                logging_cfg.format,
                logging_cfg.access_log,
                logging_cfg.use_colors,
                self.log_config_path,
                level_given="level" in logging_cfg.model_fields_set,
            )
        except LogConfigError as exc:
            print(f"asgihost: error: {exc}", file=sys.stderr)
            return False
        return True


Recipe = tuple[str, str, dict[str, Any]]
"""How a server's config is made, so that a reloaded process can make it again: ("file",
path, flag options), ("flags", app, flag options) or ("kwargs", app, keyword options)."""


def config_from_recipe(recipe: Recipe, child: bool = False) -> Config:
    """Build (again) the config a recipe describes; for a ``child`` process of a reloader or a
    supervisor, one that serves alone (no reload, one worker).

    Raises ConfigError."""
    kind, target, options = recipe
    if child:
        options = {**options, "reload": False, "workers": 1}
    if kind == "kwargs":
        return Config(target, **options)
    if kind == "flags":
        return Config.from_host_config(from_options(target, options, source="flags"))
    path = Path(target)
    if not path.is_file():
        hint = " (asgihost init writes a starter file)" if path.name == "asgihost.toml" else ""
        raise ConfigError([Problem("", f"no such file{hint}", str(path))])
    host_config = load_with_options(path, options)
    return Config.from_host_config(host_config, path.resolve().parent)
