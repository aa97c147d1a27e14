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


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--ws-per-message-deflate", "false"], False),
        (["--ws-per-message-deflate", "True"], True),
        (["--ws-per-message-deflate", "0"], False),
        (["--no-ws-per-message-deflate"], False),
        ([], None),
    ],
)
def test_ws_per_message_deflate_takes_a_value_as_uvicorns(flags, expected):
    """Uvicorn's --ws-per-message-deflate is click's BOOLEAN: it takes a value."""
    args = build_parser().parse_args(["run", "m:app", *flags])
    assert args.ws_per_message_deflate is expected


def test_a_boolean_that_is_not_one_is_refused(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "m:app", "--ws-per-message-deflate", "maybe"])
    assert "'maybe' is not a valid boolean" in capsys.readouterr().err


def test_uvicorns_http_values_auto_h11_httptools_are_taken():
    """Uvicorn's --http auto, h11 and httptools each name an HTTP/1.1 core here too."""
    uvicorn_config = pytest.importorskip("uvicorn.config")
    assert {"auto", "h11", "httptools"} <= set(uvicorn_config.HTTP_PROTOCOLS)
    for value in ("auto", "h11", "httptools"):
        assert build_parser().parse_args(["run", "m:app", "--http", value]).http == value
