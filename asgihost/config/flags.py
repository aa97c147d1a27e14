"""Uvicorn-style options (command-line flags and ``run()``/``Config()`` keyword arguments),
mapped onto the model's dotted keys. This table holds names, keys and help; never defaults:
those are read from the model.

``host``, ``port``, ``uds`` and ``fd`` are not keys of their own: together they are the
``bind`` of the one listener, as in Uvicorn (``uds`` wins over ``fd``, which wins over TCP).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from .defaults import file_default
from .listener import Listener, Proxy, Tls
from .model import App, HostConfig, Limits, Logging, Reload, Server, WebSocket
from .types import Bind

LISTENER: str = next(iter(HostConfig.model_fields["listeners"].get_default(call_default_factory=True)))
"""The one listener options describe: the model's default listener, the one a file without any has."""
APP = "main"

_SECTIONS: dict[str, type[BaseModel]] = {
    "server": Server,
    "logging": Logging,
    "limits": Limits,
    "websocket": WebSocket,
    "reload": Reload,
    "listeners": Listener,
    "apps": App,
}


@dataclass(frozen=True)
class Option:
    name: str  # keyword argument name; the flag is --name-with-dashes
    key: str  # dotted key in HostConfig, or "bind" for the composed listener address
    help: str
    kind: str = "value"  # value | int | bool (--x / --no-x) | boolean (--x VALUE, as click's) | list | switch
    metavar: str | None = None
    flag_name: str | None = None  # when the flag is not the keyword with dashes
    uvicorn_values: tuple[str, ...] = ()  # Uvicorn's values the model refuses, saying what to use

    @property
    def flag(self) -> str:
        return self.flag_name or "--" + self.name.replace("_", "-")

    @property
    def field(self) -> tuple[type[BaseModel], str] | None:
        parts = self.key.split(".")
        if parts[0] not in _SECTIONS:
            return None
        if parts[0] == "listeners" and parts[2] == "tls":
            return Tls, parts[-1]
        if parts[0] == "listeners" and parts[2] == "proxy":
            return Proxy, parts[-1]
        return _SECTIONS[parts[0]], parts[-1]


OPTIONS: tuple[Option, ...] = (
    Option("host", "bind", "Bind socket to this host; use [::] or :: for IPv6.", metavar="HOST"),
    Option("port", "bind", "Bind socket to this port; 0 picks a free one.", "int", metavar="PORT"),
    Option("uds", "bind", "Bind to a Unix domain socket at this path.", metavar="PATH"),
    Option("fd", "bind", "Serve on an already-bound socket inherited as this file descriptor.", "int", "FD"),
    Option(
        "uds_mode", f"listeners.{LISTENER}.mode", "File mode of the Unix socket, in octal.", metavar="MODE"
    ),
    Option(
        "backlog", f"listeners.{LISTENER}.backlog", "Maximum number of connections to hold in backlog.", "int"
    ),
    Option("ssl_keyfile", f"listeners.{LISTENER}.tls.keyfile", "SSL key file.", metavar="PATH"),
    Option("ssl_certfile", f"listeners.{LISTENER}.tls.certfile", "SSL certificate file.", metavar="PATH"),
    Option(
        "ssl_keyfile_password", f"listeners.{LISTENER}.tls.password", "SSL keyfile password.", metavar="TEXT"
    ),
    Option(
        "ssl_cert_reqs",
        f"listeners.{LISTENER}.tls.client_auth",
        "Client certificate: 0 not asked for, 1 optional, 2 required (the ssl module's CERT_*).",
        "int",
        "0|1|2",
    ),
    Option(
        "ssl_version",
        f"listeners.{LISTENER}.tls.max_version",
        "SSL version, as the ssl module's PROTOCOL_* number: 17 (PROTOCOL_TLS_SERVER) or 2 "
        "(PROTOCOL_TLS) serve TLS 1.2 and 1.3, 5 (PROTOCOL_TLSv1_2) TLS 1.2 only.",
        "int",
        "17|2|5",
    ),
    Option("ssl_ca_certs", f"listeners.{LISTENER}.tls.ca_certs", "CA certificates file.", metavar="PATH"),
    Option(
        "ssl_ciphers",
        f"listeners.{LISTENER}.tls.ciphers",
        "Ciphers to use (see stdlib ssl module's).",
        metavar="TEXT",
    ),
    Option(
        "factory",
        f"apps.{APP}.factory",
        "Treat APP as an application factory: call it to get the app.",
        "switch",
    ),
    Option(
        "app_dir",
        f"apps.{APP}.app_dir",
        "Look for APP in this directory, by adding it to sys.path.",
        metavar="DIR",
    ),
    Option("lifespan", f"apps.{APP}.lifespan", "Lifespan implementation."),
    Option(
        "interface",
        f"apps.{APP}.interface",
        "Select ASGI3 or ASGI2 as the application interface.",
        uvicorn_values=("wsgi",),
    ),
    Option("root_path", f"apps.{APP}.root_path", "Set the ASGI root_path for an app mounted below a proxy."),
    Option(
        "reset_contextvars",
        f"apps.{APP}.reset_contextvars",
        "Run each ASGI request in a fresh contextvars.Context; hides context set in the lifespan.",
        "switch",
    ),
    Option("reload", "reload.enabled", "Enable auto-reload.", "switch"),
    Option(
        "reload_dirs",
        "reload.dirs",
        "Set reload directories explicitly, instead of using the current working directory.",
        "list",
        "DIR",
        "--reload-dir",
    ),
    Option(
        "reload_includes",
        "reload.include",
        'Set glob patterns to include while watching for files; "*.py" is always included.',
        "list",
        "GLOB",
        "--reload-include",
    ),
    Option(
        "reload_excludes",
        "reload.exclude",
        'Set glob patterns to exclude while watching for files; ".*", ".py[cod]", ".sw.*" and "~*" always are.',
        "list",
        "GLOB",
        "--reload-exclude",
    ),
    Option(
        "reload_delay",
        "reload.delay",
        "Delay between previous and next check if application needs to be reloaded.",
        metavar="SECONDS",
    ),
    Option(
        "workers",
        "server.workers",
        "Number of worker processes; by default the $WEB_CONCURRENCY environment variable when set.",
        "int",
        "N",
    ),
    Option(
        "limit_max_requests",
        "server.max_requests",
        "Maximum number of requests to service before terminating the process.",
        "int",
        "N",
    ),
    Option(
        "limit_max_requests_jitter",
        "server.max_requests_jitter",
        "Maximum jitter to add to limit_max_requests, so workers do not all restart at once.",
        "int",
        "N",
    ),
    Option(
        "timeout_worker_healthcheck",
        "server.healthcheck_timeout",
        "Maximum number of seconds to wait for a worker to respond to a health check.",
        metavar="SECONDS",
    ),
    Option(
        "loop",
        "server.loop",
        'Event loop implementation: auto, uvloop, asyncio, none, zuvloop, or a factory as "module:callable".',
    ),
    Option(
        "http",
        "server.http",
        "HTTP served: auto (HTTP/1.1 and HTTP/2), httptools or h11 (HTTP/1.1 only, parsed by it), h2 "
        "(HTTP/2 only); zttp as httptools.",
    ),
    Option("http2", "server.http2", "Offer HTTP/2 beside HTTP/1.1 (auto offers it already).", "switch"),
    Option("ws", "server.ws", "WebSocket protocol implementation; none refuses upgrades."),
    Option("ws_max_size", "websocket.max_size", "WebSocket max message size, in bytes.", "int", "BYTES"),
    Option(
        "ws_max_queue",
        "websocket.max_queue",
        "WebSocket messages received and not yet taken by the app before reading pauses.",
        "int",
        "N",
    ),
    Option(
        "ws_ping_interval",
        "websocket.ping_interval",
        "WebSocket ping interval, in seconds.",
        metavar="SECONDS",
    ),
    Option(
        "ws_ping_timeout", "websocket.ping_timeout", "WebSocket ping timeout, in seconds.", metavar="SECONDS"
    ),
    Option(
        "ws_per_message_deflate",
        "websocket.per_message_deflate",
        "WebSocket per-message-deflate compression: true or false (--no-ws-per-message-deflate: false).",
        "boolean",
        "BOOLEAN",
    ),
    Option("log_level", "logging.level", "Log level."),
    Option("access_log", "logging.access_log", "Enable/disable the access log.", "bool"),
    Option("use_colors", "logging.use_colors", "Enable/disable colorized logging.", "bool"),
    Option(
        "log_config",
        "logging.log_config",
        "Logging configuration file: .json, .yaml, .toml (dictConfig) or .ini (fileConfig); Uvicorn's "
        "logger names and formatters configure asgihost's.",
        metavar="PATH",
    ),
    Option(
        "limit_concurrency",
        "limits.concurrency",
        "Maximum number of concurrent connections or requests before answering 503.",
        "int",
        "N",
    ),
    Option(
        "timeout_keep_alive",
        "limits.keep_alive_timeout",
        "Close keep-alive connections idle this long.",
        metavar="SECONDS",
    ),
    Option(
        "limit_request_line", "limits.request_line", "Longest request line, in bytes (414).", metavar="SIZE"
    ),
    Option(
        "limit_request_fields", "limits.header_count", "Most header fields in a request (431).", "int", "N"
    ),
    Option(
        "limit_request_field_size",
        "limits.header_field_size",
        "Longest header field, name and value, in bytes (431).",
        metavar="SIZE",
    ),
    Option(
        "h11_max_incomplete_event_size",
        "limits.h11_max_incomplete_event_size",
        "With --http h11: the most h11 holds of an unfinished request head, in bytes (431).",
        metavar="SIZE",
    ),
    Option(
        "limit_body_size",
        "limits.body_size",
        'Largest request body: bytes, or "10MiB" (413).',
        metavar="SIZE",
    ),
    Option(
        "timeout_request_head",
        "limits.head_timeout",
        "Time a client has to send a request head (408).",
        metavar="SECONDS",
    ),
    Option(
        "timeout_request_body",
        "limits.body_timeout",
        "Longest wait for more of a request body (408).",
        metavar="SECONDS",
    ),
    Option(
        "timeout_graceful_shutdown",
        "server.graceful_timeout",
        "Time in-flight requests get to finish on shutdown before they are cancelled.",
        metavar="SECONDS",
    ),
    Option(
        "headers",
        "server.headers",
        'Extra response header "name:value"; repeatable.',
        "list",
        "NAME:VALUE",
        flag_name="--header",
    ),
    Option("server_header", "server.server_header", "Enable/disable the default Server header.", "bool"),
    Option("date_header", "server.date_header", "Enable/disable the default Date header.", "bool"),
    Option(
        "proxy_headers",
        f"listeners.{LISTENER}.proxy.enabled",
        "Enable/disable X-Forwarded-Proto, X-Forwarded-For to populate url scheme and remote address info.",
        "bool",
    ),
    Option(
        "forwarded_allow_ips",
        f"listeners.{LISTENER}.proxy.trusted",
        'Comma separated list of IP addresses, networks or literals ("unix", "*") to trust with proxy '
        "headers; by default $FORWARDED_ALLOW_IPS when set.",
        metavar="IPS",
    ),
    Option(
        "env_file",
        "server.env_file",
        "Environment configuration file (.env): its variables are set before the app is imported.",
        metavar="PATH",
    ),
    Option("pid", "server.pid_file", "Write the process id to this file while serving.", metavar="PATH"),
)

BY_NAME = {option.name: option for option in OPTIONS}
BY_KEY = {option.key: option for option in OPTIONS if option.key != "bind"}

_LOG_LEVELS_BY_NUMBER = {
    logging.CRITICAL: "critical",
    logging.ERROR: "error",
    logging.WARNING: "warning",
    logging.INFO: "info",
    logging.DEBUG: "debug",
    5: "trace",
}


def default_of(option: Option) -> Any:
    """The model's default for an option (for host and port, that part of the default bind)."""
    if option.key == "bind":
        bind = Listener.model_fields["bind"].default
        return {"host": bind.host, "port": bind.port}.get(option.name)
    field = option.field
    assert field is not None
    model, attr = field
    info = model.model_fields[attr]
    return None if info.is_required() else info.get_default(call_default_factory=True)


def shown_default(option: Option) -> str | None:
    """The model's default as the flag writes it, for help texts; None when there is none to show."""
    field = option.field
    value = default_of(option) if field is None else file_default(*field)
    if option.kind not in ("bool", "boolean") and value in (None, [], False, ""):
        return None
    value = _uvicorn_form(option, value)
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def keyword_default(option: Option) -> Any:
    """The model's default as Uvicorn's keyword argument takes it, for signatures."""
    return _uvicorn_form(option, default_of(option))


def _uvicorn_form(option: Option, value: Any) -> Any:
    if option.name == "ssl_cert_reqs":
        return _CERT_REQS_NUMBERS[value]
    if option.name == "ssl_version":
        return {"1.3": 17, "1.2": 5}[value]
    return value


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[leaf] = value


def compose_bind(
    host: str | None, port: int | None, uds: str | None, fd: int | None, base: Bind | None = None
) -> str | None:
    """Uvicorn's rule: uds, else fd, else host:port, each part missing taken from ``base``
    (the listener's bind in a file) when that is TCP, else from the model's default."""
    if uds is not None:
        return f"unix:{uds}"
    if fd is not None:
        return f"fd://{fd}"
    if host is None and port is None:
        return None
    default: Bind = base if base is not None and base.kind == "tcp" else Listener.model_fields["bind"].default
    return str(
        Bind.tcp(host if host is not None else default.host, port if port is not None else default.port)
    )


def _check_names(options: dict[str, Any]) -> None:
    unknown = sorted(set(options) - set(BY_NAME))
    if unknown:
        raise TypeError(f"asgihost does not support the option(s): {', '.join(unknown)}")


_CERT_REQS = {0: "none", 1: "optional", 2: "required"}
_CERT_REQS_NUMBERS = {word: number for number, word in _CERT_REQS.items()}
# Uvicorn's ssl_version, the ssl module's protocol number, as the newest TLS version served: TLS
# 1.0 and 1.1 (3, 4) are not served at all (RFC 8996), so neither is a number that asks for them.
_SSL_VERSIONS = {17: "1.3", 2: "1.3", 5: "1.2"}


def _tree(
    options: dict[str, Any], listener: str, app: str, base_bind: Bind | None, base_tls: bool = False
) -> dict[str, Any]:
    """Uvicorn's rule for TLS: it is on when a certificate or key is given; the other ssl_*
    options alone (often their defaults, passed along) change nothing. Beside a file whose
    listener has TLS, they adjust it."""
    tls = base_tls or options.get("ssl_certfile") is not None or options.get("ssl_keyfile") is not None
    tree: dict[str, Any] = {}
    bind = compose_bind(
        options.get("host"), options.get("port"), options.get("uds"), options.get("fd"), base_bind
    )
    if bind is not None:
        _set(tree, f"listeners.{listener}.bind", bind)
    for name, value in options.items():
        option = BY_NAME[name]
        if option.key == "bind" or value is None or (name.startswith("ssl_") and not tls):
            continue
        if name == "ssl_cert_reqs" and isinstance(value, int):
            value = _CERT_REQS.get(value, value)
        if name == "ssl_version" and isinstance(value, int):
            value = _SSL_VERSIONS.get(value, value)  # another number fails validation, naming the flag
        if name == "log_level" and isinstance(value, int):
            value = _LOG_LEVELS_BY_NUMBER.get(value, value)
        if name == "headers":
            value = [item if isinstance(item, str) else f"{item[0]}: {item[1]}" for item in value]
        if name == "forwarded_allow_ips" and isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        key = option.key.replace(f"listeners.{LISTENER}.", f"listeners.{listener}.", 1)
        _set(tree, key.replace(f"apps.{APP}.", f"apps.{app}.", 1), value)
    return tree


def options_tree(app: str, options: dict[str, Any]) -> dict[str, Any]:
    """The nested dict of settings that ``options`` (by Uvicorn name) describe, for one app.

    Unknown names raise TypeError, as an unexpected keyword argument would.
    """
    _check_names(options)
    tree = _tree(options, LISTENER, APP, None)
    tree.setdefault("apps", {}).setdefault(APP, {})["app"] = app
    return tree


def file_overrides(options: dict[str, Any], config: HostConfig) -> tuple[dict[str, Any], list[str]]:
    """Overrides for a config read from a file, and the options that are ambiguous there.

    Listener flags apply to the file's one listener and app flags to its one app; with several,
    the flag cannot say which, and the file must.
    """
    _check_names(options)
    ambiguous = []
    for name in options:
        key = BY_NAME[name].key
        for section, what in (("listeners", "listener"), ("apps", "app")):
            names = list(getattr(config, section))
            if (key == "bind" and section == "listeners" or key.startswith(f"{section}.")) and len(names) > 1:
                ambiguous.append(
                    f"{BY_NAME[name].flag}: the file has {len(names)} {section} ({', '.join(names)}); "
                    f"set it on the {what} in the file"
                )
    if ambiguous:
        return {}, ambiguous
    listener = next(iter(config.listeners))
    app = next(iter(config.apps))
    base = config.listeners[listener]
    return _tree(options, listener, app, base.bind, base.tls is not None), []


def build(app: str, options: dict[str, Any]) -> HostConfig:
    """Validate Uvicorn-style options into a HostConfig (raises pydantic.ValidationError)."""
    return HostConfig.model_validate(options_tree(app, options))
