"""Configuration: the model, Uvicorn-style options mapped onto it, and readable errors."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import flags
from .errors import ConfigError, Loc, Problem, describe, dotted_key, from_validation_error
from .listener import Listener
from .model import App, HostConfig, Limits, Logging, Server
from .toml import Position, SourceMap, interpolate, merge, read_toml
from .types import Bind

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
    "load_config",
    "load_with_options",
    "locate",
]


def from_options(app: str, options: dict[str, Any], source: str = "kwargs") -> HostConfig:
    """Build the config for one app from Uvicorn-style options; raises ConfigError."""
    try:
        return flags.build(app, options)
    except ValidationError as exc:
        raise from_validation_error(exc, source) from None


def load_config(
    path: str | Path, overrides: dict[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> HostConfig:
    """Read, interpolate (from ``environ``, by default os.environ) and validate an asgihost.toml.

    ``overrides`` is a nested dict of settings laid over the file's.
    Raises ConfigError listing every problem, each at its line and column in the file.
    """
    path = Path(path)
    return _validate(path, *_read(path, environ), overrides or {})


def load_with_options(
    path: str | Path, options: dict[str, Any], environ: Mapping[str, str] | None = None
) -> HostConfig:
    """:func:`load_config` with Uvicorn-style options (command-line flags) laid over the file:
    the one way options meet a file. A listener option applies to the file's one listener and an
    app option to its one app; with several, ConfigError says the file must set it. The file is
    read once, and validated alone first (the options are placed by what it holds)."""
    path = Path(path)
    read = _read(path, environ)
    config = _validate(path, *read, {})
    if not options:
        return config
    overrides, ambiguous = flags.file_overrides(options, config)
    if ambiguous:
        raise ConfigError([Problem("", message, str(path)) for message in ambiguous])
    return _validate(path, *read, overrides)


def _read(path: Path, environ: Mapping[str, str] | None) -> tuple[dict[str, Any], SourceMap, list[Problem]]:
    data, source = read_toml(path)
    data, bad_references = interpolate(data, os.environ if environ is None else environ)
    return data, source, bad_references


def _validate(
    path: Path,
    data: dict[str, Any],
    source: SourceMap,
    bad_references: list[Problem],
    overrides: dict[str, Any],
) -> HostConfig:
    located = [(source.locate_key(problem.key), problem) for problem in bad_references]
    try:
        config = HostConfig.model_validate(merge(data, overrides))
        if not located:
            return config
    except ValidationError as exc:
        seen = {problem.key for problem in bad_references}  # a value left as "${VAR}" is not also wrong
        for keys, message in describe(exc):
            key = dotted_key(keys)
            if key not in seen:
                # a key the file does not have at all (a missing [apps]) is the file's, from its top
                position = None if _from_overrides(overrides, data, keys) else source.locate(keys) or (1, 1)
                located.append((position, Problem(key, message)))
    located.sort(key=lambda item: (item[0] is None, item[0] or (0, 0)))  # in file order, then the rest
    raise ConfigError([_at(path, position, problem) for position, problem in located])


def locate(problems: list[Problem], path: Path, source: SourceMap | None = None) -> list[Problem]:
    """Problems found past validation (the plan's), each at its key's place in the file (read
    again when ``source`` is not given), else at the file."""
    if source is None:
        _, source = read_toml(path)
    located = []
    for problem in problems:
        position = source.locate(tuple(problem.key.split("."))) if problem.key else None
        located.append(_at(path, position, problem))
    return located


def _at(path: Path, position: Position | None, problem: Problem) -> Problem:
    where = f"{path}:{position[0]}:{position[1]}" if position else str(path)
    return Problem(problem.key, problem.message, where)


def _from_overrides(overrides: Mapping[str, Any], data: Mapping[str, Any], keys: Loc) -> bool:
    """The value at ``keys`` comes from the overrides: the file has no say in it."""
    override: Any = overrides
    file: Any = data
    for part in keys:
        if not isinstance(override, Mapping):  # an override value replaced the file's
            return True
        if part not in override:
            return False
        if not isinstance(file, Mapping) or part not in file:
            return True
        override, file = override[part], file[part]
    return not isinstance(override, Mapping)
