"""The model's defaults as an asgihost.toml writes them, for the reference and ``asgihost init``.

A default is read from its field and written through the field's own type, so a file mode
comes out as the octal string a file holds ("666"), a bind as "host:port", a size as a
number of bytes and a duration as a number of seconds.
"""

from __future__ import annotations

import json
import re
import typing
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

from .types import BindAddress, ByteSize, FileMode, Seconds

KINDS: tuple[tuple[Any, str], ...] = (
    (Seconds, "duration"),
    (ByteSize, "size"),
    (FileMode, "octal string"),
    (BindAddress, "address string"),
)
"""The value types of the model that a file writes in a form of their own, and their names."""

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def full_type(info: FieldInfo) -> Any:
    """A field's type with the validators and serializers pydantic keeps apart in its metadata."""
    if not info.metadata:
        return info.annotation
    annotated: Any = typing.Annotated
    return annotated[(info.annotation, *info.metadata)]


def kind_of(annotation: Any) -> str | None:
    """The name of the value type (see KINDS) an ``Annotated`` type is, if it is one."""
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    extras = typing.get_args(annotation)[1:]
    for alias, name in KINDS:
        if typing.get_args(alias)[1] in extras:  # the alias's parsing validator
            return name
    return None


def file_default(model: type[BaseModel], name: str) -> Any:
    """The default of ``model.name`` as a value of a parsed file (None when it has none or it is
    None; a table's default as a table)."""
    info = model.model_fields[name]
    if info.is_required():
        return None
    value = info.get_default(call_default_factory=True)
    return TypeAdapter(full_type(info)).dump_python(value, mode="json")


def toml_literal(value: Any) -> str:
    """A value of a parsed file, as TOML writes it inline."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = (
            f"{key if _BARE_KEY.match(key) else json.dumps(key)} = {toml_literal(item)}"
            for key, item in value.items()
        )
        return "{ " + ", ".join(items) + " }"
    raise TypeError(f"no TOML value for {value!r}")
