"""Turning validation errors into lines a person can act on.

Each problem names where the bad value came from: a command-line flag (``--lifespan``), a
keyword argument (``lifespan=``), a place in a file (``asgihost.toml:12:1``), and the dotted key
of the model (``apps.main.lifespan``) it is about.
"""

from __future__ import annotations

import difflib
import json
import re
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .flags import APP, BY_KEY, LISTENER
from .model import HostConfig

_BARE_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_FILE_POSITION_RE = re.compile(r"^(?P<file>.*):(?P<line>\d+):(?P<column>\d+)$", re.DOTALL)

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    key: str  # dotted key in the model
    message: str
    where: str = ""  # how the user wrote it: "--port", "port=", "path:line:column" or a path

    def __str__(self) -> str:
        if self.where and self.key and not _names_option(self.where):
            return f"{self.where}: {self.key}: {self.message}"
        return f"{self.where or self.key}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        """The problem as JSON for tools: file, line and column (null when not known), key, message."""
        match = _FILE_POSITION_RE.match(self.where)
        if match is not None:
            file, line, column = match["file"], int(match["line"]), int(match["column"])
        else:
            file, line, column = None if _names_option(self.where) else self.where or None, None, None
        return {"file": file, "line": line, "column": column, "key": self.key, "message": self.message}


def _names_option(where: str) -> bool:
    """``where`` is a flag or keyword argument, which says the key already."""
    return where.startswith("--") or where.endswith("=") or where == "APP"


class ConfigError(Exception):
    """The configuration is not valid; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def dotted_key(loc: Sequence[str | int]) -> str:
    """A key path as TOML writes it: ``apps.api.hosts.0``, ``apps.api.env."A.B"``."""
    return ".".join(
        str(part)
        if isinstance(part, int) or _BARE_KEY_RE.match(part)
        else json.dumps(part, ensure_ascii=False)
        for part in loc
    )


# ---- what each error is about --------------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """The type under Annotated[...] and ``X | None``; a union of several types stays a union."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


@dataclass(frozen=True)
class _Spot:
    keys: Loc  # the part of the error's loc that is keys of the file (not pydantic's union tags)
    model: type[BaseModel]  # the model holding the last key
    annotation: Any  # the type of the value at ``keys``


def _walk(loc: Loc, unknown_key: bool) -> _Spot:
    """Follow ``loc`` through HostConfig: a model's fields, a dict's keys, a list's indexes."""
    keys: list[str | int] = []
    model: type[BaseModel] = HostConfig
    annotation: Any = HostConfig
    for part in loc:
        annotation = _unwrap(annotation)
        origin = get_origin(annotation)
        if _is_model(annotation):
            model = annotation
            field = model.model_fields.get(str(part))
            if field is None:
                if unknown_key:
                    keys.append(part)
                break
            annotation = field.annotation
        elif origin is dict and isinstance(part, str):
            annotation = get_args(annotation)[1]
        elif origin is list and isinstance(part, int):
            annotation = get_args(annotation)[0]
        else:
            break
        keys.append(part)
    return _Spot(tuple(keys), model, _unwrap(annotation))


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


_PLAIN = {"string_pattern_mismatch": "use letters, digits, '_' and '-', not starting with '-'"}


def _message(error: ErrorDetails, spot: _Spot) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        name = str(spot.keys[-1])
        fields = list(spot.model.model_fields)
        close = difflib.get_close_matches(name, fields, n=1)
        hint = f'did you mean "{close[0]}"?' if close else f"the keys here are: {', '.join(fields)}"
        return f"unknown key {_show(name)} ({hint})"
    if kind == "missing":
        return f"required key {_show(str(spot.keys[-1]))} is missing"
    if error["loc"] and error["loc"][-1] == "[key]" or kind == "string_pattern_mismatch":
        what = "name" if error["loc"] and error["loc"][-1] == "[key]" else "value"
        return f"the {what} {_show(error['input'])} is not valid: {_PLAIN.get(kind, error['msg'])}"
    if kind == "literal_error" and get_origin(spot.annotation) is Literal:
        choices = ", ".join(_show(choice) for choice in get_args(spot.annotation))
        return f"expected one of {choices}, got {_show(error['input'])}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a table, got {_show(error['input'])}"
    message = error["msg"]
    if message.startswith("Input should be "):
        expected = message.removeprefix("Input should be ").split(", unable to ")[0]
        expected = re.sub(r"\ba valid (?=[aeiou])", "an ", expected).replace("a valid ", "a ")
        return f"expected {expected}, got {_show(error['input'])}"
    message = message.removeprefix("Value error, ")
    if isinstance(error["input"], (str, int, float)):  # not a table that a model's own check refused
        return f"{message}, got {_show(error['input'])}"
    return message


def describe(exc: ValidationError) -> list[tuple[Loc, str]]:
    """Each error of a validation of HostConfig as (the keys it is about, a readable message)."""
    described = []
    for error in exc.errors():
        spot = _walk(error["loc"], error["type"] == "extra_forbidden")
        described.append((spot.keys, _message(error, spot)))
    return described


# ---- flags and keyword arguments -----------------------------------------------------------------


def from_validation_error(exc: ValidationError, source: str) -> ConfigError:
    """``source`` is "flags", "kwargs" or "model" and decides how a key is shown."""
    problems = []
    for keys, message in describe(exc):
        key = dotted_key(keys)
        problems.append(Problem(key, message, _where(key, source)))
    return ConfigError(problems)


def name_options(problems: list[Problem], source: str) -> list[Problem]:
    """Problems found past validation (the plan's), each naming the flag or keyword argument
    (``source`` "flags" or "kwargs") its key came from, where it has one."""
    return [
        problem if problem.where else Problem(problem.key, problem.message, _where(problem.key, source))
        for problem in problems
    ]


def _where(key: str, source: str) -> str:
    if source == "model":
        return ""
    while key and key.rsplit(".", 1)[-1].isdigit():  # an item of a list option
        key = key.rsplit(".", 1)[0]
    if key == f"apps.{APP}.app":
        return "APP" if source == "flags" else "app="
    option = BY_KEY.get(key)
    if option is None and key.startswith(f"listeners.{LISTENER}.bind"):
        names = ("host", "port", "uds", "fd")
        return " / ".join(f"--{n}" if source == "flags" else f"{n}=" for n in names)
    if option is None:
        return ""
    return option.flag if source == "flags" else f"{option.name}="
