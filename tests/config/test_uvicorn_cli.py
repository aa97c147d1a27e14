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


def test_workers_with_reload_are_refused_naming_the_flag_but_web_concurrency_is_not(monkeypatch, tmp_path):
    """Uvicorn ignores --workers with --reload (a warning); asgihost says to drop one, on the
    command line, as keywords and in a file. $WEB_CONCURRENCY (a deployment's) stays ignored."""
    from asgihost.config import ConfigError
    from asgihost.settings import Config, config_from_recipe

    with pytest.raises(ConfigError, match=r"^--workers: workers and reload do not go together"):
        config_from_recipe(("flags", "m:app", {"reload": True, "workers": 2}))
    with pytest.raises(ConfigError, match=r"^workers=: workers and reload do not go together"):
        Config("m:app", reload=True, workers=2)
    (tmp_path / "asgihost.toml").write_text(
        '[server]\nworkers = 2\n[reload]\nenabled = true\n[apps.a]\napp = "m:app"\n'
    )
    with pytest.raises(ConfigError, match=r"asgihost.toml:2:1: server.workers: workers and reload"):
        config_from_recipe(("file", str(tmp_path / "asgihost.toml"), {}))
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    assert Config("m:app", reload=True).host_config.reload.enabled
    assert Config("m:app", workers=1, reload=True).host_config.server.workers == 1


def test_the_environment_gives_flags_as_uvicorns_click_reads_them(monkeypatch):
    from asgihost.cli import environment_options

    for name, value in {
        "UVICORN_PORT": "9001",
        "ASGIHOST_HOST": "::1",
        "UVICORN_HOST": "0.0.0.0",  # ASGIHOST_ wins
        "UVICORN_RELOAD_DIRS": "src  lib",
        "UVICORN_ACCESS_LOG": "false",
        "UVICORN_FACTORY": "1",
        "UVICORN_HTTP2": "no",
        "UVICORN_WS_PER_MESSAGE_DEFLATE": "off",
    }.items():
        monkeypatch.setenv(name, value)
    assert environment_options(build_parser()) == {
        "port": 9001,
        "host": "::1",
        "reload_dirs": ["src", "lib"],
        "access_log": False,
        "factory": True,
        "ws_per_message_deflate": False,
    }


def test_a_bad_value_from_the_environment_names_the_flag(monkeypatch, capsys):
    from asgihost.cli import environment_options

    monkeypatch.setenv("UVICORN_RELOAD", "maybe")
    with pytest.raises(SystemExit):
        environment_options(build_parser())
    assert "--reload (from the environment): 'maybe' is not a valid boolean" in capsys.readouterr().err


def test_uvicorns_http_values_auto_h11_httptools_are_taken():
    """Uvicorn's --http auto, h11 and httptools each name an HTTP/1.1 core here too."""
    uvicorn_config = pytest.importorskip("uvicorn.config")
    assert {"auto", "h11", "httptools"} <= set(uvicorn_config.HTTP_PROTOCOLS)
    for value in ("auto", "h11", "httptools"):
        assert build_parser().parse_args(["run", "m:app", "--http", value]).http == value


def _uvicorn_help() -> str:
    import subprocess
    import sys

    pytest.importorskip("uvicorn")
    out = subprocess.run(
        [sys.executable, "-m", "uvicorn", "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    return out.stdout


# Uvicorn's values asgihost refuses, and what its one-line error tells to use instead.
REFUSED_VALUES = {("--interface", "wsgi"): "a2wsgi.WSGIMiddleware"}


def test_every_flag_and_value_of_uvicorns_help_is_taken_or_says_what_to_use():
    """Walks ``uvicorn --help``: each flag (and --no- form) is one of asgihost's run flags; each
    value it lists in [a|b] validates as a config, or is refused in one line naming the way."""
    import re

    from asgihost.config import ConfigError
    from asgihost.settings import config_from_recipe

    run = _commands_parser("run")
    ours = set(run._option_string_actions)
    text = _uvicorn_help()
    flags = re.findall(r"^\s+(--[a-z0-9-]+)(?: / (--[a-z0-9-]+))?(?: \[([^\]]+)\])?", text, re.M)
    assert len(flags) > 50  # the help parsed
    for flag, negative, choices in flags:
        assert flag in ours, flag
        assert not negative or negative in ours, negative
        for value in choices.split("|") if choices else ():
            args = vars(run.parse_args(["m:app", flag, value]))
            options = {name: v for name, v in args.items() if v is not None and name != "target"}
            if (flag, value) in REFUSED_VALUES:
                with pytest.raises(ConfigError) as refused:
                    config_from_recipe(("flags", "m:app", options))
                message = str(refused.value)
                assert "\n" not in message and REFUSED_VALUES[flag, value] in message, message
            else:
                config_from_recipe(("flags", "m:app", options))


def _commands_parser(name: str):
    subparsers = build_parser()._subparsers
    assert subparsers is not None
    return subparsers._group_actions[0].choices[name]  # type: ignore[attr-defined]
