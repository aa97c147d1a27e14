"""Files generated from the model are current, and `asgihost init` writes a valid file."""

from __future__ import annotations

import json
import subprocess
import sys

import tomllib
from conftest import ROOT

from asgihost.config import HostConfig
from asgihost.config.schema import reference_markdown, schema, schema_text
from asgihost.config.starter import starter_text, write_starter


def test_schema_file_is_current():
    committed = (ROOT / "schemas/asgihost.schema.json").read_text()
    assert committed == schema_text(), "regenerate: uv run asgihost schema > schemas/asgihost.schema.json"


def test_reference_is_current():
    committed = (ROOT / "docs/configuration.md").read_text()
    assert committed == reference_markdown(), (
        "regenerate: uv run python -m asgihost.config.schema --markdown > docs/configuration.md"
    )


def test_schema_describes_the_model():
    document = schema()
    assert document["required"] == ["apps"]
    assert set(document["properties"]) == set(HostConfig.model_fields)
    app = document["$defs"]["App"]
    assert app["additionalProperties"] is False
    assert "mount" in app["properties"] and "hosts" in app["properties"]


def test_schema_command_prints_the_schema():
    out = subprocess.run(
        [sys.executable, "-m", "asgihost", "schema"], capture_output=True, text=True, timeout=30, check=True
    )
    assert json.loads(out.stdout) == schema()


def test_starter_file_is_valid_and_refuses_to_overwrite(tmp_path, capsys):
    path = tmp_path / "asgihost.toml"
    assert write_starter(path, app='pkg.mod:"odd"') == 0
    config = HostConfig.model_validate(tomllib.loads(path.read_text()))
    assert config.apps["main"].app == 'pkg.mod:"odd"'
    assert path.read_text().startswith("# asgihost.toml")
    assert write_starter(path) == 1
    assert "exists" in capsys.readouterr().err
    assert write_starter(path, force=True) == 0
    assert "main:app" in starter_text("main:app")


def test_reference_covers_every_table_of_the_model():
    import typing

    from pydantic import BaseModel

    from asgihost.config.schema import _SECTIONS

    found: set[type] = set()

    def walk(model: type[BaseModel]) -> None:
        found.add(model)
        for field in model.model_fields.values():
            for arg in [field.annotation, *typing.get_args(field.annotation)]:
                for inner in [arg, *typing.get_args(arg)]:
                    if isinstance(inner, type) and issubclass(inner, BaseModel) and inner not in found:
                        walk(inner)

    walk(HostConfig)
    assert found - {HostConfig} == {model for _, model, _ in _SECTIONS}


def test_readme_has_the_current_uvicorn_table():
    from asgihost.config.uvicorn_table import markdown

    readme = (ROOT / "README.md").read_text()
    assert markdown() in readme, "regenerate: uv run python -m asgihost.config.uvicorn_table, into README.md"


def test_the_table_says_exactly_uvicorns_flags_are_uvicorns():
    import pytest

    from asgihost.config.uvicorn_table import uvicorn_flags

    pytest.importorskip("uvicorn")
    command = sys.modules["uvicorn.main"].main
    theirs = {param.opts[0] for param in command.params if param.opts[0].startswith("--")}
    assert uvicorn_flags() == theirs - {"--version"}  # asgihost run --version is the command's own
