"""The value types of asgihost.toml's keys: durations, sizes, file modes, bind addresses,
header lines, mounts, import strings, host patterns, names. Each parses what a file, a flag or
a keyword argument may hold and says how it is written back (schema, docs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_-]*$"


_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")


def _parse_seconds(value: Any) -> Any:
    if isinstance(value, str):
        match = _DURATION_RE.match(value)
        if match is None:
            try:
                return float(value)
            except ValueError:
                raise ValueError(
                    'a duration is a number of seconds or a string like "30s", "500ms", "2m"'
                ) from None
        return float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    return value


Seconds = Annotated[
    float,
    BeforeValidator(_parse_seconds),
    Field(ge=0),
    WithJsonSchema(
        {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": _DURATION_RE.pattern}]}
    ),
]
"""A duration: a number of seconds, or a string with a unit (ms, s, m, h)."""


def _parse_mode(value: Any) -> Any:
    if isinstance(value, str):
        text = value.lower().removeprefix("0o")
        if not text or any(c not in "01234567" for c in text):
            raise ValueError('a file mode is an octal string such as "660" or "0o660"')
        return int(text, 8)
    return value


FileMode = Annotated[
    int,
    BeforeValidator(_parse_mode),
    Field(ge=0, le=0o777),
    PlainSerializer(lambda mode: f"{mode:o}", return_type=str),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": "^(0o)?[0-7]{1,3}$"}, {"type": "integer"}]}),
]


@dataclass(frozen=True)
class Bind:
    """Where a listener listens: exactly one of (host, port), path, fd is set."""

    kind: Literal["tcp", "unix", "fd", "systemd"]
    host: str = ""
    port: int = 0
    path: str = ""
    fd: int = -1  # for "systemd": the index among LISTEN_FDS when no name is given
    name: str = ""  # for "systemd": the name in LISTEN_FDNAMES

    def __str__(self) -> str:
        if self.kind == "unix":
            return f"unix:{self.path}"
        if self.kind == "fd":
            return f"fd://{self.fd}"
        if self.kind == "systemd":
            return f"systemd:{self.name or self.fd}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @classmethod
    def tcp(cls, host: str, port: int) -> Bind:
        return cls("tcp", host=host.strip("[]"), port=port)


def parse_bind(value: Any) -> Any:
    if isinstance(value, Bind) or not isinstance(value, str):
        return value
    if value.startswith("unix:"):
        path = value[len("unix:") :]
        if not path:
            raise ValueError('a Unix socket bind is "unix:/path/to/socket"')
        return Bind("unix", path=path)
    if value.startswith("systemd:"):
        which = value[len("systemd:") :]
        if not which:
            raise ValueError(
                'a socket from systemd is "systemd:NAME" (its FileDescriptorName) or "systemd:INDEX"'
            )
        return Bind("systemd", fd=int(which)) if which.isdigit() else Bind("systemd", name=which)
    if value.startswith("fd://"):
        fd = value[len("fd://") :]
        if not fd.isdigit():
            raise ValueError('an inherited socket is "fd://N" with N a file descriptor number')
        return Bind("fd", fd=int(fd))
    if "://" in value:
        raise ValueError(
            'a bind is "host:port", "[v6addr]:port", "unix:/path", "fd://N" or "systemd:NAME", not a URL'
        )
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError('expected "host:port", "[v6addr]:port", "unix:/path", "fd://N" or "systemd:NAME"')
    if host.startswith("["):
        if not host.endswith("]"):
            raise ValueError('an IPv6 address is written in brackets: "[::1]:8000"')
        host = host[1:-1]
    elif ":" in host:
        raise ValueError('an IPv6 address is written in brackets: "[::1]:8000"')
    if not 0 <= int(port) <= 65535:
        raise ValueError("a port is between 0 and 65535")
    return Bind("tcp", host=host, port=int(port))


BindAddress = Annotated[
    Bind,
    BeforeValidator(parse_bind),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {"type": "string", "examples": ["127.0.0.1:8000", "[::]:8000", "unix:/run/app.sock", "fd://3"]}
    ),
]

_TOKEN_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def _check_header(value: str) -> str:
    name, sep, field_value = value.partition(":")
    name, field_value = name.strip(), field_value.strip()
    if not sep or not _TOKEN_RE.match(name):
        raise ValueError('a header is "name: value" with a token for a name')
    if any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F or ord(c) > 0xFF for c in field_value):
        raise ValueError("a header value may not hold control characters")
    return f"{name}: {field_value}"


HeaderLine = Annotated[str, AfterValidator(_check_header)]


def _check_mount(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError('a mount is a path prefix starting with "/", such as "/api"')
    if any(c in value for c in "?#") or "//" in value or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("a mount is a plain path: no query, fragment, empty segment or control character")
    return value.rstrip("/") or "/"


MountPath = Annotated[str, AfterValidator(_check_mount)]


def _check_import_string(value: str) -> str:
    module, sep, attribute = value.partition(":")
    if not sep or not module.strip() or not attribute.strip():
        raise ValueError('an app is "module:attribute", such as "main:app" or "services.api.main:create_app"')
    return value


ImportString = Annotated[str, AfterValidator(_check_import_string)]

LOOPS = ("auto", "uvloop", "asyncio", "none", "zuvloop")


def _check_loop(value: str) -> str:
    module, sep, attribute = value.partition(":")
    if value in LOOPS or (sep and module.strip() and attribute.strip()):
        return value
    names = ", ".join(f'"{name}"' for name in LOOPS)
    raise ValueError(f'expected one of {names}, or a loop factory as "module:callable"')


LoopName = Annotated[str, AfterValidator(_check_loop)]

_HOST_RE = re.compile(r"^(\*\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$")


def _check_host(value: str) -> str:
    host = value.lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        return host  # an IPv6 literal
    if ":" in host:
        raise ValueError("a host is a name without a port: ports are ignored when matching")
    if not _HOST_RE.match(host):
        raise ValueError(
            'a host is a DNS name such as "www.example.com", or "*.example.com" for its subdomains'
        )
    return host


HostPattern = Annotated[str, AfterValidator(_check_host)]

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")


def _parse_size(value: Any) -> Any:
    if isinstance(value, str):
        match = _SIZE_RE.match(value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _SIZE_UNITS:
            raise ValueError('a size is a number of bytes or a string like "16MiB", "64KiB", "1MB"')
        return int(match.group(1)) * _SIZE_UNITS[unit]
    return value


ByteSize = Annotated[
    int,
    BeforeValidator(_parse_size),
    Field(ge=1),
    WithJsonSchema(
        {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": _SIZE_RE.pattern}]}
    ),
]
"""A size in bytes: an integer, or a string with a unit (KB, KiB, MB, MiB, GB, GiB)."""
Name = Annotated[str, Field(pattern=NAME_PATTERN)]

LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]


class Section(BaseModel):
    """A table of asgihost.toml: frozen, and refusing keys it does not know."""

    model_config = ConfigDict(extra="forbid", frozen=True)
