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
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from .defaults import file_default, full_type, kind_of, toml_literal
from .listener import Listener, ListenerLimits, Proxy, Tls
from .model import (
    App,
    AppLimits,
    AppWebSocket,
    Health,
    HostConfig,
    Http2,
    Limits,
    Logging,
    Metrics,
    Reload,
    Server,
    WebSocket,
)
from .static import Static


class _FileSchema(GenerateJsonSchema):
    """The validation schema, with each default written as a file writes it: through the
    field's own serializer (pydantic encodes a default by its Python type, so a file mode's
    default would be the integer 438 and a bind's an object)."""

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        serializer: Any = schema["schema"].get("serialization")
        if "default" in json_schema and serializer and serializer["type"] == "function-plain":
            json_schema["default"] = serializer["function"](schema["default"])
        return json_schema


def schema() -> dict[str, Any]:
    result = HostConfig.model_json_schema(mode="validation", schema_generator=_FileSchema)
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
    ("[apps.NAME]", App, "An ASGI application (`app`) or a directory of files (`static`). At least one is required."),
    ("[apps.NAME.static]", Static, "A directory served as files; see the static files section of the README."),
    ("[apps.NAME.limits]", AppLimits, "Limits for one app; a key left out takes its value from [limits]."),
    (
        "[apps.NAME.websocket]",
        AppWebSocket,
        "WebSocket settings for one app; a key left out takes its value from [websocket].",
    ),
)


_PLAIN = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "none"}


def _render(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f'`"{a}"`' for a in args)
    if origin is typing.Annotated:
        return kind_of(annotation) or _render(args[0])
    if origin is list:
        return f"list of {_render(args[0])}"
    if origin is dict:
        return "table" if args[1] is Any else f"table of {_render(args[1])}"
    if args:  # a union
        return " or ".join(_render(a) for a in args)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    return _PLAIN.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(model: type[BaseModel], name: str) -> str:
    info = model.model_fields[name]
    if info.is_required():
        return "required"
    if isinstance(info.get_default(call_default_factory=True), BaseModel):
        return "see its table"
    value = file_default(model, name)
    return "not set" if value is None else f"`{toml_literal(value)}`".replace("|", "\\|")


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
            lines.append(
                f"| `{name}` | {_render(full_type(info))} | {_default(model, name)} | {description} |"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference_markdown() if "--markdown" in sys.argv[1:] else schema_text(), end="")
