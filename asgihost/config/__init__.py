"""Configuration: the model, Uvicorn-style options mapped onto it, and readable errors."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from . import flags
from .errors import ConfigError, Problem, from_validation_error
from .model import App, Bind, HostConfig, Limits, Listener, Logging, Server

__all__ = [
    "App",
    "Bind",
    "ConfigError",
    "HostConfig",
    "Limits",
    "Listener",
    "Logging",
    "Problem",
    "Server",
    "from_options",
]


def from_options(app: str, options: dict[str, Any], source: str = "kwargs") -> HostConfig:
    """Build the config for one app from Uvicorn-style options; raises ConfigError."""
    try:
        return flags.build(app, options)
    except ValidationError as exc:
        raise from_validation_error(exc, source) from None
