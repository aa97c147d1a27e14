"""docs/configuration.md and schemas/asgihost.schema.json say each key's default as the model
(asgihost/config/model.py) has it.

The documents are read here as a reader reads them, not made again by their generator:
tests/unit/test_generated.py checks they are what the generator writes, this checks that what
they say is true. A documented default must be the TOML value a file would hold (a size in
bytes, a duration in seconds, a file mode as its octal string) and must read back, through the
field's type, as the model's default.
"""

from __future__ import annotations

import json
import re
import typing
from typing import Annotated, Any

import pytest
import tomllib
from conftest import ROOT
from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

from asgihost.config.model import HostConfig

HEADER = "| key | type | default | meaning |"
CELL_SPLIT = re.compile(r"(?<!\\)\|")


@pytest.fixture(autouse=True)
def _no_environment_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two defaults come from the environment; the documents show them without it."""
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)


def _table_type(annotation: Any) -> type[BaseModel] | None:
    """The model a field's annotation holds (``Tls | None``, ``dict[str, App]``), if any."""
    pending = [annotation]
    while pending:
        candidate = pending.pop()
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        pending.extend(typing.get_args(candidate))
    return None


def _tables(model: type[BaseModel] = HostConfig, path: str = "") -> dict[str, type[BaseModel]]:
    """Every table of the model by its heading in the reference: [server], [listeners.NAME.tls]..."""
    found: dict[str, type[BaseModel]] = {}
    for name, info in model.model_fields.items():
        inner = _table_type(info.annotation)
        if inner is None:
            continue
        dotted = f"{path}{name}" + (".NAME" if typing.get_origin(info.annotation) is dict else "")
        found[f"[{dotted}]"] = inner
        found.update(_tables(inner, dotted + "."))
    return found


def _read_reference() -> dict[str, dict[str, str]]:
    """The default cell of every row of every ``## [section]`` table, by section and key."""
    sections: dict[str, dict[str, str]] = {}
    rows: dict[str, str] | None = None
    for line in (ROOT / "docs/configuration.md").read_text().splitlines():
        if line.startswith("## "):
            rows = sections.setdefault(line[3:].strip(), {})
        elif line.startswith("| key "):
            assert line == HEADER, f"columns changed: {line}"
        elif line.startswith("| `") and rows is not None:
            cells = [cell.strip().replace("\\|", "|") for cell in CELL_SPLIT.split(line)[1:-1]]
            assert len(cells) == 4, line
            key = cells[0].strip("`")
            assert key not in rows, f"{key} documented twice"
            rows[key] = cells[2]
    return sections


def _full_type(info: FieldInfo) -> Any:
    """The field's type with its validators and serializers, which pydantic keeps in metadata."""
    if not info.metadata:
        return info.annotation
    annotated: Any = Annotated
    return annotated[(info.annotation, *info.metadata)]


def _same(written: Any, expected: Any) -> bool:
    """Equal TOML values: of one type (``"8192"`` is not a size, ``1`` not ``true``), except that
    an integer number of seconds is the float."""
    numbers = (int, float)
    if (
        isinstance(written, numbers)
        and isinstance(expected, numbers)
        and bool not in (type(written), type(expected))
    ):
        return bool(written == expected)
    return type(written) is type(expected) and bool(written == expected)


def _wrong_value(info: FieldInfo, written: Any) -> str | None:
    """Why ``written``, a value of a parsed file, is not the field's default (None when it is)."""
    default = info.get_default(call_default_factory=True)
    adapter = TypeAdapter(_full_type(info))
    as_file_writes_it = adapter.dump_python(default, mode="json")
    if not _same(written, as_file_writes_it):
        return f"says {written!r}, a file writes the default as {as_file_writes_it!r}"
    read_back = adapter.validate_python(written)
    if read_back != default:
        return f"says {written!r}, which reads as {read_back!r}, not the default {default!r}"
    return None


REFERENCE = _read_reference()
TABLES = _tables()


def test_the_reference_has_a_table_for_every_table_of_the_model() -> None:
    assert set(REFERENCE) == set(TABLES)


@pytest.mark.parametrize("heading", sorted(TABLES))
def test_every_key_is_documented_once(heading: str) -> None:
    assert list(REFERENCE.get(heading, {})) == list(TABLES[heading].model_fields)


@pytest.mark.parametrize(
    ("heading", "key"), [(heading, key) for heading, rows in REFERENCE.items() for key in rows]
)
def test_documented_default_is_the_model_default(heading: str, key: str) -> None:
    model = TABLES[heading]
    assert key in model.model_fields, f"{heading} documents {key}, which the model does not have"
    info = model.model_fields[key]
    cell = REFERENCE[heading][key]
    if cell == "required":
        assert info.is_required()
        return
    assert not info.is_required(), f"{heading} {key} is required, documented with a default"
    default = info.get_default(call_default_factory=True)
    if cell == "not set":
        assert default is None
    elif cell == "see its table":
        assert isinstance(default, BaseModel)
    else:
        assert cell.startswith("`") and cell.endswith("`"), f"not a value: {cell}"
        written = tomllib.loads(f"value = {cell[1:-1]}")["value"]
        wrong = _wrong_value(info, written)
        assert wrong is None, f"{heading} {key} {wrong}"


# ---- the JSON Schema -----------------------------------------------------------------------------

SCHEMA = json.loads((ROOT / "schemas/asgihost.schema.json").read_text())
MODELS = {model.__name__: model for model in [HostConfig, *TABLES.values()]}


def _properties(name: str) -> dict[str, Any]:
    definition = SCHEMA if name == HostConfig.__name__ else SCHEMA["$defs"][name]
    properties: dict[str, Any] = definition["properties"]
    return properties


@pytest.mark.parametrize("name", sorted(MODELS))
def test_schema_has_every_key_and_each_default_of_the_model(name: str) -> None:
    model = MODELS[name]
    properties = _properties(name)
    assert list(properties) == list(model.model_fields)
    for key, info in model.model_fields.items():
        if info.default_factory is None and not info.is_required():  # a factory's default is left out
            assert "default" in properties[key], f"{name}.{key} has no default in the schema"
        if "default" in properties[key]:
            wrong = _wrong_value(info, properties[key]["default"])
            assert wrong is None, f"{name}.{key} {wrong}"
