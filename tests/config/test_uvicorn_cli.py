"""The command line as Uvicorn's users type it: the bare form, and the values Uvicorn takes."""

from __future__ import annotations

import pytest

from asgihost.cli import COMMANDS, build_parser, with_command


def _commands() -> set[str]:
    subparsers = build_parser()._subparsers
    assert subparsers is not None
    return set(subparsers._group_actions[0].choices)  # type: ignore[attr-defined]


def test_commands_are_the_parsers_commands():
    assert set(COMMANDS) == _commands()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["main:app", "--port", "8000"], ["run", "main:app", "--port", "8000"]),
        (["--port", "8000", "main:app"], ["run", "--port", "8000", "main:app"]),
        (["sites/asgihost.toml"], ["run", "sites/asgihost.toml"]),
        (["run", "main:app"], ["run", "main:app"]),
        (["check", "a.toml"], ["check", "a.toml"]),
        (["--version"], ["--version"]),
        (["--help"], ["--help"]),
        ([], []),
    ],
)
def test_an_argument_list_without_a_command_is_one_for_run(argv, expected):
    assert with_command(argv) == expected


def test_the_bare_form_parses_as_run():
    args = build_parser().parse_args(with_command(["--port", "8001", "main:app", "--factory"]))
    assert (args.command, args.target, args.port, args.factory) == ("run", "main:app", 8001, True)
