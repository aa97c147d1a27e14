"""A server's settings: ``Config`` (Uvicorn's name, from keyword arguments or a validated model)
and the recipe a reloader's or a supervisor's child makes its config again from.

The config layer and the runtime both use this module; it imports neither ``asgihost.api``
nor ``asgihost.runtime``.
"""

from __future__ import annotations

import inspect
import logging
import os
import ssl
import sys
from collections.abc import Awaitable, Callable
from configparser import ConfigParser, RawConfigParser
from configparser import Error as ConfigParserError
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .asgi.apps import ASGIApp, load_app
from .config import ConfigError, HostConfig, Problem, from_options, load_with_options, locate
from .config.errors import name_options
from .config.flags import APP, OPTIONS, keyword_default
from .plan import Plan, compile_plan

if TYPE_CHECKING:
    from .logs.setup import LogConfig


def _describe(app: Any) -> str:
    module = getattr(app, "__module__", None) or type(app).__module__
    name = getattr(app, "__qualname__", None) or type(app).__name__
    return f"{module}:{name}"


class Config:
    """Settings for one server, from Uvicorn-style keyword arguments.

    ``app`` is an ASGI application or an import string ``"module:attribute"``. Every other
    argument has Uvicorn's name and asgihost's model default; see ``asgihost run --help``.
    Invalid settings raise ``asgihost.config.ConfigError`` here, before anything starts.
    ``options`` holds them as a child process's recipe takes them (an open ``log_config`` file
    read into its parser).
    """

    def __init__(self, app: ASGIApp | str, **options: Any) -> None:
        hooks = {name: options.pop(name) for name in HOOKS if name in options}
        _refuse_protocol_classes(options)
        if options.get("log_config") is OWN_LOGGING:
            del options["log_config"]
        options, parser = _take_log_config(options)
        # what a worker's or reloaded process's recipe makes this config again from
        self.options = {**options, **hooks} if parser is None else {**options, "log_config": parser, **hooks}
        host_config = from_options(app if isinstance(app, str) else _describe(app), options)
        try:
            self._setup(host_config, Path.cwd(), {APP: app}, parser)
        except ConfigError as exc:
            raise ConfigError(name_options(exc.problems, "kwargs")) from None
        # Uvicorn's log_config=None: logging is the caller's; asgihost's loggers only propagate
        self.own_logging = "log_config" not in options or options["log_config"] is not None
        self._set_hooks(**hooks)
        if self.ssl_context_factory is not None and not any(spec.tls for spec in self.plan.listeners):
            raise ConfigError(
                [
                    Problem(
                        "",
                        "needs ssl_certfile= too: asgihost listens with TLS where a certificate is given",
                        "ssl_context_factory=",
                    )
                ]
            )

    def _set_hooks(
        self,
        timeout_notify: float = 30,
        callback_notify: Callable[[], Awaitable[None]] | None = None,
        ssl_context_factory: Callable[[Config, Callable[[], ssl.SSLContext]], ssl.SSLContext] | None = None,
    ) -> None:
        """Uvicorn's keywords that are code, not settings (so in no file and no flag): a
        coroutine function the server awaits every ``timeout_notify`` seconds while it serves (a
        process manager's heartbeat), and a factory that makes each TLS listener's SSL context,
        given this config and a function that makes asgihost's own for that listener."""
        self.timeout_notify = timeout_notify
        self.callback_notify = callback_notify
        self.ssl_context_factory = ssl_context_factory

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
        config._set_hooks()
        return config

    def _setup(
        self,
        host_config: HostConfig,
        base_dir: Path,
        targets: dict[str, ASGIApp | str],
        log_parser: RawConfigParser | None = None,
    ) -> None:
        self.host_config = host_config
        self.base_dir = base_dir
        self.targets = targets  # app objects given in code, by app name
        self.plan: Plan = compile_plan(host_config, base_dir)
        pid_file = host_config.server.pid_file
        self.pid_path: Path | None = base_dir / pid_file if pid_file else None
        env_file = host_config.server.env_file
        self.env_file: Path | None = base_dir / env_file if env_file else None
        log_config = host_config.logging.log_config
        self.log_config_path: Path | None = (
            base_dir / log_config if isinstance(log_config, str) and log_config else None
        )
        self.own_logging = True
        self.log_config: LogConfig | None = log_parser or self.log_config_path
        if isinstance(log_config, dict):
            self.log_config = log_config

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
            if app.app is None:  # a static app: the server makes its responder
                continue
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
                self.log_config,
                level_given="level" in logging_cfg.model_fields_set,
                own_handlers=self.own_logging,
            )
        except LogConfigError as exc:
            print(f"asgihost: error: {exc}", file=sys.stderr)
            return False
        return True


HOOKS = ("timeout_notify", "callback_notify", "ssl_context_factory")
"""``Config`` keywords that are code, kept on the Config (see ``Config._set_hooks``)."""


def _refuse_protocol_classes(options: dict[str, Any]) -> None:
    """Uvicorn takes a protocol class for ``http`` and ``ws``; asgihost's protocols are its own."""
    for name in ("http", "ws"):
        if isinstance(options.get(name), type):
            raise TypeError(
                f"{name}={options[name].__name__}: asgihost serves with its own protocol implementations; "
                f"give {name} as a name (see asgihost run --help)"
            )


def keyword_signature() -> inspect.Signature:
    """``Config``'s and ``run``'s parameters as Uvicorn's are written: ``app``, then every
    option by name with the model's default in Uvicorn's form, then the hooks (``help()``,
    IDEs and the test against Uvicorn's signatures read it)."""
    hook_defaults = inspect.signature(Config._set_hooks).parameters
    parameters = [inspect.Parameter("app", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    parameters += [
        inspect.Parameter(
            option.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=OWN_LOGGING if option.name == "log_config" else keyword_default(option),
        )
        for option in OPTIONS
    ]
    parameters += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=hook_defaults[name].default)
        for name in HOOKS
    ]
    return inspect.Signature(parameters)


class _OwnLogging:
    """``log_config``'s default in the signature: asgihost's own logging (Uvicorn's is its
    LOGGING_CONFIG; ``None``, as in Uvicorn, leaves logging to the caller)."""

    def __repr__(self) -> str:
        return "<asgihost's own logging>"


OWN_LOGGING: Any = _OwnLogging()


Config.__signature__ = keyword_signature()  # type: ignore[attr-defined]


def _take_log_config(options: dict[str, Any]) -> tuple[dict[str, Any], RawConfigParser | None]:
    """Uvicorn's ``log_config`` beyond what the model holds (a string or a dict): a path-like
    is its string; a ``RawConfigParser`` or a readable file (read into one now, as fileConfig
    reads it, so a child process can use it again) is a fileConfig, kept on the Config."""
    value: Any = options.get("log_config")
    if isinstance(value, os.PathLike):
        return {**options, "log_config": os.fspath(value)}, None
    if isinstance(value, RawConfigParser):
        parser = value
    elif hasattr(value, "readline"):
        parser = ConfigParser()
        try:
            parser.read_file(value)
        except ConfigParserError as exc:
            raise ConfigError(
                [Problem("logging.log_config", f"does not parse: {exc}", "log_config=")]
            ) from None
    else:
        return options, None
    return {name: v for name, v in options.items() if name != "log_config"}, parser


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
        host_config = from_options(target, options, source="flags")
        try:
            return Config.from_host_config(host_config)
        except ConfigError as exc:
            raise ConfigError(name_options(exc.problems, "flags")) from None
    path = Path(target)
    if not path.is_file():
        hint = " (asgihost init writes a starter file)" if path.name == "asgihost.toml" else ""
        raise ConfigError([Problem("", f"no such file{hint}", str(path))])
    host_config = load_with_options(path, options)
    try:
        return Config.from_host_config(host_config, path.resolve().parent)
    except ConfigError as exc:
        raise ConfigError(locate(exc.problems, path)) from None
