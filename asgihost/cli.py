"""The ``asgihost`` command. Flags keep Uvicorn's names; their defaults are read from the model."""

from __future__ import annotations

import argparse
import os
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .api import config_from_recipe, run_processes
from .config import ConfigError
from .config.flags import OPTIONS, Option, shown_default
from .version import __version__

DEFAULT_FILE = "asgihost.toml"

_GROUPS = {
    "Listening": ("host", "port", "uds", "uds_mode", "fd", "backlog", "proxy_headers", "forwarded_allow_ips"),
    "TLS": (
        "ssl_keyfile",
        "ssl_certfile",
        "ssl_keyfile_password",
        "ssl_cert_reqs",
        "ssl_ca_certs",
        "ssl_ciphers",
        "ssl_version",
    ),
    "Application": (
        "factory",
        "app_dir",
        "lifespan",
        "interface",
        "root_path",
        "env_file",
        "reset_contextvars",
    ),
    "Processes": (
        "workers",
        "limit_max_requests",
        "limit_max_requests_jitter",
        "timeout_worker_healthcheck",
        "pid",
    ),
    "Server": (
        "loop",
        "http",
        "http2",
        "timeout_graceful_shutdown",
        "headers",
        "server_header",
        "date_header",
    ),
    "WebSocket": (
        "ws",
        "ws_max_size",
        "ws_max_queue",
        "ws_ping_interval",
        "ws_ping_timeout",
        "ws_per_message_deflate",
    ),
    "Limits": (
        "limit_concurrency",
        "timeout_keep_alive",
        "limit_request_line",
        "limit_request_fields",
        "limit_request_field_size",
        "h11_max_incomplete_event_size",
        "limit_body_size",
        "timeout_request_head",
        "timeout_request_body",
    ),
    "Logging": ("log_level", "access_log", "use_colors", "log_config"),
    "Development": ("reload", "reload_dirs", "reload_includes", "reload_excludes", "reload_delay"),
}

_DESCRIPTION = """\
Serve every listener and app an asgihost.toml describes, or one ASGI application.

  asgihost run                               # ./asgihost.toml
  asgihost run sites/asgihost.toml --log-level debug
  asgihost run main:app
  asgihost run main:app --host 0.0.0.0 --port 8000
  asgihost run myproject.asgi:application --uds /run/app.sock

Flags have the names and meanings of Uvicorn's. Beside a file, they override its values;
a listener flag needs a file with one listener, an app flag a file with one app.
"""


def _choices(option: Option) -> tuple[str, ...] | None:
    field = option.field
    if field is None or option.kind == "int":  # --ssl-cert-reqs: 0, 1, 2 for a Literal
        return None
    model, attr = field
    annotation = model.model_fields[attr].annotation
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    return None


_BOOLEANS = {"1": True, "true": True, "t": True, "yes": True, "y": True, "on": True}
_BOOLEANS.update({"0": False, "false": False, "f": False, "no": False, "n": False, "off": False})


def _boolean(text: str) -> bool:
    """A BOOLEAN value as click reads one."""
    try:
        return _BOOLEANS[text.strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid boolean") from None


def _add(group: argparse._ArgumentGroup, option: Option) -> None:
    default = shown_default(option)
    shown = "" if default is None else f" [default: {default}]"
    kwargs: dict[str, Any] = {"dest": option.name, "default": None, "help": option.help + shown}
    if option.kind == "bool":
        kwargs["action"] = argparse.BooleanOptionalAction
    elif option.kind == "boolean":  # Uvicorn's (click's) BOOLEAN option takes a value; --no-x too
        kwargs["type"] = _boolean
        kwargs["metavar"] = option.metavar
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
            kwargs["choices"] = (*choices, *option.uvicorn_values)  # the model explains the latter
            kwargs["metavar"] = "{" + ",".join(choices) + "}"
        if option.metavar:
            kwargs["metavar"] = option.metavar
    group.add_argument(option.flag, **kwargs)
    if option.kind == "boolean":
        group.add_argument("--no-" + option.flag[2:], dest=option.name, action="store_false", default=None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asgihost",
        description="asgihost: a fast ASGI server that hosts many apps from one validated asgihost.toml.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"asgihost {__version__} (Python {sys.version.split()[0]})"
    )
    parser.epilog = "Without a command, the arguments are those of run: asgihost main:app --port 8000."
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run = commands.add_parser(
        "run",
        help="serve an asgihost.toml, or one ASGI application",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "target",
        metavar="FILE|APP",
        nargs="?",
        help=f"an asgihost.toml to serve (default: ./{DEFAULT_FILE}, or the app $UVICORN_APP names), or an app "
        'as "module:attribute"',
    )
    by_name = {option.name: option for option in OPTIONS}
    for title, names in _GROUPS.items():
        group = run.add_argument_group(title)
        for name in names:
            _add(group, by_name[name])
    run.add_argument("--version", action="version", version=f"asgihost {__version__}")

    check = commands.add_parser(
        "check",
        help="validate an asgihost.toml and show what it serves",
        description="Parse, validate and compile an asgihost.toml; print its listeners and routing table, "
        "or every problem with its file:line:column and key. Exits 0 when it is valid, 1 when not.",
    )
    check.add_argument("file", nargs="?", default=DEFAULT_FILE, help=f"the file (default: ./{DEFAULT_FILE})")
    check.add_argument("--import", dest="import_apps", action="store_true", help="also import every app")
    check.add_argument("--format", choices=("text", "json"), default="text", help="output format")

    init = commands.add_parser("init", help="write a commented starter asgihost.toml")
    init.add_argument(
        "file", nargs="?", default=DEFAULT_FILE, help=f"where to write it (default: ./{DEFAULT_FILE})"
    )
    init.add_argument(  # not given: write_starter's own default
        "--app", default=argparse.SUPPRESS, help='the app to serve, as "module:attribute"'
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")

    reload = commands.add_parser(
        "reload",
        help="ask a running server to re-read its asgihost.toml (SIGHUP)",
        description="Validate the file, then send SIGHUP to the server whose pid file it names "
        "([server] pid_file), or to the process a --pid file names. Exits 0 once the signal is sent, "
        "1 when the file is invalid or no server runs.",
    )
    reload.add_argument("file", nargs="?", default=DEFAULT_FILE, help=f"the file (default: ./{DEFAULT_FILE})")
    reload.add_argument("--pid", metavar="PATH", help="the pid file the server writes (run ... --pid PATH)")

    commands.add_parser("schema", help="print the JSON Schema of asgihost.toml")
    return parser


def is_config_file(target: str) -> bool:
    """A target names a file when it ends in .toml or is an existing file; else it is an app."""
    return target.endswith(".toml") or os.path.isfile(target)


def send_reload(file: Path, pid_file: str | None) -> int:
    import signal

    from .runtime.pidfile import PidFileError, read_pid

    if pid_file is not None:
        path = Path(pid_file)
    else:
        try:
            config = config_from_recipe(("file", str(file), {}))
        except ConfigError as exc:
            for problem in exc.problems:
                print(f"asgihost: error: {problem}", file=sys.stderr)
            print("asgihost: the server was not signalled", file=sys.stderr)
            return 1
        if config.pid_path is None:
            print(f"asgihost: error: {file} sets no [server] pid_file; give --pid PATH", file=sys.stderr)
            return 1
        path = config.pid_path
    try:
        pid = read_pid(path)
        os.kill(pid, signal.SIGHUP)
    except PidFileError as exc:
        print(f"asgihost: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"asgihost: error: cannot signal process {pid}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"asgihost: sent SIGHUP to process {pid}")
    return 0


COMMANDS = ("run", "check", "init", "reload", "schema")

ENV_PREFIXES = ("ASGIHOST_", "UVICORN_")
"""Serving an app, a flag not given is read from ASGIHOST_NAME or UVICORN_NAME (the keyword's
name in capitals: UVICORN_PORT, UVICORN_RELOAD_DIRS), as Uvicorn's command reads UVICORN_*."""


def _from_environment(name: str) -> str | None:
    return next((os.environ[p + name] for p in ENV_PREFIXES if p + name in os.environ), None)


def environment_options(parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The options the environment gives (see ENV_PREFIXES), each read as its flag is: a
    boolean as click reads one, a list split at whitespace. A bad value exits 2 naming the flag."""
    argv: list[str] = []
    for option in OPTIONS:
        value = _from_environment(option.name.upper())
        if value is None:
            continue
        if option.kind in ("bool", "switch"):
            try:
                on = _boolean(value)
            except argparse.ArgumentTypeError as exc:
                parser.error(f"{option.flag} (from the environment): {exc}")
            if on or option.kind == "bool":
                argv.append(option.flag if on else "--no-" + option.flag[2:])
        elif option.kind == "list":
            for item in value.split():
                argv += [option.flag, item]
        else:
            argv += [option.flag, value]
    if not argv:
        return {}
    args = vars(parser.parse_args(["run", "m:app", *argv]))
    return {
        name: value for name, value in args.items() if value is not None and name not in ("command", "target")
    }


def with_command(argv: Sequence[str]) -> list[str]:
    """``asgihost main:app --port 8000``, as ``uvicorn main:app`` trains people to type, is
    ``asgihost run main:app --port 8000``: an argument list that does not start with a
    command (or --help, --version) is one for ``run``. An app target always has a colon and a
    file a name, so neither is taken for a command."""
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version"):
        return ["run", *argv]
    return list(argv)


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv and _from_environment("APP"):  # UVICORN_APP=main:app uvicorn
        argv = ["run"]
    args = vars(parser.parse_args(with_command(argv)))
    command = args.pop("command")
    if command == "check":
        from .check import check_file

        sys.exit(check_file(Path(args["file"]), import_apps=args["import_apps"], fmt=args["format"]))
    if command == "init":
        from .config.starter import write_starter

        sys.exit(write_starter(Path(args.pop("file")), **args))
    if command == "reload":
        sys.exit(send_reload(Path(args["file"]), args["pid"]))
    if command == "schema":
        from .config.schema import schema_text

        print(schema_text(), end="")
        return
    target = args.pop("target") or _from_environment("APP") or DEFAULT_FILE
    options = {name: value for name, value in args.items() if value is not None}
    if not is_config_file(target):
        options = {**environment_options(parser), **options}
    recipe = ("file", target, options) if is_config_file(target) else ("flags", target, options)
    try:
        config = config_from_recipe(recipe)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"asgihost: error: {problem}", file=sys.stderr)
        sys.exit(2)
    if config.host_config.reload.enabled or config.host_config.server.workers > 1:
        sys.exit(run_processes(config, recipe))

    from .runtime.worker import Server

    server = Server(config)
    server.run()
    if server.exit_code:
        sys.exit(server.exit_code)
