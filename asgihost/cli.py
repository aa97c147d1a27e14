"""The ``asgihost`` command. Flags keep Uvicorn's names; their defaults are read from the model."""

from __future__ import annotations

import argparse
import sys
import typing
from collections.abc import Sequence
from typing import Any

from . import __version__
from .config import ConfigError, from_options
from .config.flags import OPTIONS, Option, default_of

_GROUPS = {
    "Listening": ("host", "port", "uds", "uds_mode", "fd", "backlog"),
    "Application": ("factory", "app_dir", "lifespan", "interface", "root_path"),
    "Server": ("loop", "http", "timeout_graceful_shutdown", "headers", "server_header", "date_header"),
    "Limits": ("limit_concurrency", "timeout_keep_alive"),
    "Logging": ("log_level", "access_log"),
}

_DESCRIPTION = """\
Serve an ASGI application over HTTP/1.1.

  asgihost run main:app
  asgihost run main:app --host 0.0.0.0 --port 8000
  asgihost run myproject.asgi:application --uds /run/app.sock

Flags have the names and meanings of Uvicorn's.
"""


def _choices(option: Option) -> tuple[str, ...] | None:
    field = option.field
    if field is None:
        return None
    model, attr = field
    annotation = model.model_fields[attr].annotation
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    return None


def _add(group: argparse._ArgumentGroup, option: Option) -> None:
    default = default_of(option)
    shown = "" if default in (None, [], False, "") and option.kind != "bool" else f" [default: {default}]"
    if option.name == "uds_mode":
        shown = f" [default: {default:o}]"
    kwargs: dict[str, Any] = {"dest": option.name, "default": None, "help": option.help + shown}
    if option.kind == "bool":
        kwargs["action"] = argparse.BooleanOptionalAction
    elif option.kind == "switch":
        kwargs["action"] = "store_const"
        kwargs["const"] = True
    else:
        if option.kind == "int":
            kwargs["type"] = int
        if option.kind == "list":
            kwargs["action"] = "append"
        choices = _choices(option)
        if choices:
            kwargs["choices"] = choices
        if option.metavar:
            kwargs["metavar"] = option.metavar
    group.add_argument(option.flag, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asgihost",
        description="asgihost: a fast ASGI server.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"asgihost {__version__} (Python {sys.version.split()[0]})"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run = commands.add_parser(
        "run",
        help="serve an ASGI application",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("app", metavar="APP", help='the application, as "module:attribute"')
    by_name = {option.name: option for option in OPTIONS}
    for title, names in _GROUPS.items():
        group = run.add_argument_group(title)
        for name in names:
            _add(group, by_name[name])
    run.add_argument("--version", action="version", version=f"asgihost {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = vars(parser.parse_args(argv))
    args.pop("command")
    app = args.pop("app")
    options = {name: value for name, value in args.items() if value is not None}
    try:
        host_config = from_options(app, options, source="flags")
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"asgihost: error: {problem}", file=sys.stderr)
        sys.exit(2)

    from .api import Config
    from .runtime.worker import Server

    server = Server(Config.from_host_config(host_config))
    server.run()
    if server.exit_code:
        sys.exit(server.exit_code)
