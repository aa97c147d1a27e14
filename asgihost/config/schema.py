"""The JSON Schema of asgihost.toml and the configuration reference, both from the model.

``schemas/asgihost.schema.json`` is ``asgihost schema``'s output and ``docs/configuration.md``
is ``python -m asgihost.config.schema --markdown``'s; tests fail when either is stale.
"""

from __future__ import annotations

import json
import sys
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .model import (
    App,
    AppLimits,
    AppWebSocket,
    Bind,
    Health,
    HostConfig,
    Http2,
    Limits,
    Listener,
    ListenerLimits,
    Logging,
    Metrics,
    Proxy,
    Reload,
    Server,
    Tls,
    WebSocket,
)


def schema() -> dict[str, Any]:
    result = HostConfig.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **result}


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=False) + "\n"


# ---- the reference ---------------------------------------------------------------------------

_SECTIONS: tuple[tuple[str, type[BaseModel], str], ...] = (
    ("[server]", Server, "How the server process runs."),
    ("[logging]", Logging, "What is logged and how."),
    ("[limits]", Limits, "Server-wide limits; a listener or an app may override those that apply to it."),
    ("[websocket]", WebSocket, "WebSocket settings; an app may override them."),
    ("[http2]", Http2, "HTTP/2 settings, for every listener that serves h2."),
    ("[reload]", Reload, "Development reload on file changes (watchfiles)."),
    ("[health]", Health, "A health check answered by the server itself."),
    ("[metrics]", Metrics, "Prometheus metrics, on a listener of their own or a path."),
    ("[listeners.NAME]", Listener, "Where the server listens. Without any, one listener on 127.0.0.1:8000."),
    (
        "[listeners.NAME.proxy]",
        Proxy,
        "Proxy headers on a listener (often inline: proxy = { trusted = [...] }).",
    ),
    (
        "[listeners.NAME.limits]",
        ListenerLimits,
        "Limits on request heads for one listener; a key left out takes its value from [limits].",
    ),
    (
        "[listeners.NAME.tls]",
        Tls,
        "TLS on a listener (often written inline: tls = { certfile = ..., keyfile = ... }).",
    ),
    ("[apps.NAME]", App, "An ASGI application. At least one is required."),
    ("[apps.NAME.limits]", AppLimits, "Limits for one app; a key left out takes its value from [limits]."),
    (
        "[apps.NAME.websocket]",
        AppWebSocket,
        "WebSocket settings for one app; a key left out takes its value from [websocket].",
    ),
)


_SPECIAL_TYPES = {
    "graceful_timeout": "duration or none",
    "keep_alive_timeout": "duration",
    "head_timeout": "duration",
    "body_timeout": "duration",
    "request_line": "size",
    "header_field_size": "size",
    "header_block_size": "size",
    "body_size": "size",
    "mode": "octal string",
    "bind": "address string",
}
_PLAIN = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "none"}


def _render(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f'`"{a}"`' for a in args)
    if origin is typing.Annotated:
        return _render(args[0])
    if origin is list:
        return f"list of {_render(args[0])}"
    if origin is dict:
        return f"table of {_render(args[1])}"
    if args:  # a union
        return " or ".join(_render(a) for a in args)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    return _PLAIN.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _type_name(name: str, info: FieldInfo) -> str:
    return _SPECIAL_TYPES.get(name) or _render(info.annotation)


def _default(info: FieldInfo) -> str:
    if info.default is PydanticUndefined and info.default_factory is None:
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see its table"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value is None:
        return "not set"
    if isinstance(value, (str, Bind)):
        return f'`"{value}"`'
    if isinstance(value, int) and info.metadata and any("mode" in str(m) for m in info.metadata):
        return f'`"{value:o}"`'
    return f"`{value}`"


def reference_markdown() -> str:
    lines = [
        "# asgihost.toml reference",
        "",
        "Generated from the configuration model (`python -m asgihost.config.schema --markdown`);",
        "a test fails when it differs from the model. Every key has a default unless it says",
        '*required*. Durations are seconds or strings with a unit (`"500ms"`, `"30s"`, `"2m"`).',
        "String values may use `${VAR}` and `${VAR:-default}` from the environment.",
        "",
    ]
    for title, model, about in _SECTIONS:
        lines += [f"## {title}", "", about, "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for name, info in model.model_fields.items():
            description = (info.description or "").replace("|", "\\|")
            lines.append(f"| `{name}` | {_type_name(name, info)} | {_default(info)} | {description} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference_markdown() if "--markdown" in sys.argv[1:] else schema_text(), end="")
