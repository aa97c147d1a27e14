"""Turning validation errors into lines a person can act on.

Each problem names where the bad value came from: a command-line flag (``--lifespan``), a
keyword argument (``lifespan=``) or a dotted key of the model (``apps.main.lifespan``).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from .flags import BY_KEY, LISTENER


@dataclass(frozen=True)
class Problem:
    key: str  # dotted key in the model
    message: str
    where: str = ""  # how the user wrote it: "--port", "port=", or a file location

    def __str__(self) -> str:
        return f"{self.where or self.key}: {self.message}"


class ConfigError(Exception):
    """The configuration is not valid; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _message(error: ErrorDetails) -> str:
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    return message


def from_validation_error(exc: ValidationError, source: str) -> ConfigError:
    """``source`` is "flags", "kwargs" or "model" and decides how a key is shown."""
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        problems.append(Problem(key, _message(error), _where(key, source)))
    return ConfigError(problems)


def _where(key: str, source: str) -> str:
    if source == "model":
        return ""
    while key and key.rsplit(".", 1)[-1].isdigit():  # an item of a list option
        key = key.rsplit(".", 1)[0]
    option = BY_KEY.get(key)
    if option is None and key.startswith(f"listeners.{LISTENER}.bind"):
        names = ("host", "port", "uds", "fd")
        return " / ".join(f"--{n}" if source == "flags" else f"{n}=" for n in names)
    if option is None:
        return ""
    return option.flag if source == "flags" else f"{option.name}="
