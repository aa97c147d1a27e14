"""The model of asgihost.toml: the one place where settings and their defaults live (the
listener tables in ``listener.py``).

Every command-line flag and every keyword argument of ``asgihost.run``/``asgihost.Config``
is a way of writing one of these keys (see ``flags.py``). Models are frozen and reject keys
they do not know.
"""

from __future__ import annotations

import os
import re
import string
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    field_validator,
    model_validator,
)

from .listener import Listener
from .static import Static
from .types import (
    BindAddress,
    ByteSize,
    HeaderLine,
    HostPattern,
    ImportString,
    LogLevel,
    LoopName,
    MountPath,
    Name,
    Seconds,
    Section,
)

_Model = Section


# ---- sections ------------------------------------------------------------------------------------


def _web_concurrency() -> int:
    value = os.environ.get("WEB_CONCURRENCY", "")
    return int(value) if value.isdigit() and int(value) > 0 else 1


class Server(_Model):
    """How the server process runs."""

    workers: int = Field(
        default_factory=_web_concurrency,
        ge=1,
        description="Worker processes; 1 serves in this process. Default: $WEB_CONCURRENCY, else 1.",
    )
    max_requests: int | None = Field(
        None, ge=1, description="Replace a worker after this many requests (new one first); null: never."
    )
    max_requests_jitter: int = Field(
        0,
        ge=0,
        description="Up to this many more requests, at random per worker, so they do not all recycle at once.",
    )
    healthcheck_timeout: Seconds = Field(
        5.0, description="A worker that does not answer the supervisor's ping this long is replaced."
    )
    env_file: str | None = Field(
        None,
        description="A .env file (python-dotenv's format, as Uvicorn's --env-file) whose variables are "
        "set before the apps are imported; a variable already set keeps its value. Relative to the "
        "file's directory; read again by every worker and on every reload.",
    )
    pid_file: str | None = Field(
        None,
        description="Write the server's process id here while it runs (for `asgihost reload` and "
        "init systems); relative to the file's directory.",
    )

    loop: LoopName = Field(
        "auto",
        description="Event loop: uvloop when installed (auto), uvloop, asyncio, none (asyncio's own "
        'choice), zuvloop (needs the zuvloop package), or a loop factory as "module:callable".',
    )
    http: Literal["auto", "httptools", "h11", "h2", "zttp"] = Field(
        "auto",
        description="HTTP served where a listener does not say: auto (HTTP/1.1 on httptools and HTTP/2 on h2), "
        "httptools (HTTP/1.1 only; with http2, HTTP/2 too), h11 (the same, HTTP/1.1 parsed by h11) or h2 "
        "(HTTP/2 only). Uvicorn's zttp is served as httptools (a line at start says so). Where httptools "
        "cannot be imported, HTTP/1.1 is parsed by h11 (a line at start says so).",
    )
    http2: bool = Field(
        False,
        description="Offer HTTP/2 (h2) beside HTTP/1.1 where http names an HTTP/1.1 implementation, "
        "as Uvicorn's --http2; auto offers it already.",
    )

    def default_protocols(self) -> list[str]:
        if self.http == "auto":
            return ["h2", "http/1.1"]
        if self.http == "h2":
            return ["h2"]
        return ["h2", "http/1.1"] if self.http2 else ["http/1.1"]

    ws: Literal["auto", "wsproto", "websockets", "websockets-sansio", "none"] = Field(
        "auto",
        description="WebSocket implementation: wsproto (auto), or none to refuse upgrades. Uvicorn's "
        "websockets and websockets-sansio are served by the same one (a line at start says so).",
    )
    graceful_timeout: Seconds | None = Field(
        30.0, description="Time in-flight requests get to finish on shutdown; null waits for ever."
    )
    server_header: bool = Field(True, description="Send a `server: asgihost` header.")
    date_header: bool = Field(True, description="Send a `date` header.")
    headers: list[HeaderLine] = Field(
        default_factory=list, description='Extra headers on every response, as "name: value".'
    )

    def header_pairs(self) -> list[tuple[str, str]]:
        return [tuple(line.split(": ", 1)) for line in self.headers]  # type: ignore[misc]


class WebSocket(_Model):
    """WebSocket settings; an app may override them in [apps.NAME.websocket]."""

    max_size: ByteSize = Field(
        16 * 1024 * 1024, description="Largest message, after decompression; a bigger one closes with 1009."
    )
    ping_interval: Seconds | None = Field(
        20.0, description="Ping the peer this often; 0 or null never pings."
    )
    ping_timeout: Seconds | None = Field(
        20.0, description="Close (1011) when a ping has no answer this long; 0 or null waits for ever."
    )
    per_message_deflate: bool = Field(True, description="Offer permessage-deflate compression (RFC 7692).")
    max_queue: int = Field(
        32, ge=1, description="Messages received and not yet taken by the app before reading pauses."
    )
    close_timeout: Seconds = Field(
        10.0, description="After sending a close frame, wait this long for the peer's before closing."
    )


class AppWebSocket(_Model):
    """Per-app WebSocket settings; a key left out takes its value from [websocket]."""

    max_size: ByteSize | None = Field(None, description="Largest message, after decompression.")
    ping_interval: Seconds | None = Field(None, description="Ping the peer this often; 0 never pings.")
    ping_timeout: Seconds | None = Field(
        None, description="Close when a ping has no answer this long; 0 never."
    )
    per_message_deflate: bool | None = Field(None, description="Offer permessage-deflate compression.")
    max_queue: int | None = Field(
        None, ge=1, description="Messages not yet taken by the app before reading pauses."
    )
    close_timeout: Seconds | None = Field(None, description="Wait this long for the peer's close frame.")


class Http2(_Model):
    """HTTP/2 settings announced to clients and enforced."""

    max_concurrent_streams: int = Field(
        100, ge=1, le=2**31 - 1, description="Streams a client may have open at once."
    )
    max_header_list_size: ByteSize = Field(
        65536, le=2**31 - 1, description="Largest request header section, counted as RFC 9113 counts it."
    )
    initial_window_size: ByteSize = Field(
        262144,
        le=2**31 - 1,
        description="Request body bytes a stream may send ahead of the app reading them (flow-control window).",
    )


class Health(_Model):
    """A health check the server answers itself, before any app: 200 once every app's lifespan
    startup has finished, 503 while the server drains (so a load balancer or a Kubernetes
    probe stops sending before it stops)."""

    path: MountPath | None = Field(
        None, description='The path, such as "/healthz"; not set: no health check.'
    )
    listeners: list[Name] | None = Field(
        None, description="The listeners that answer it; not set: every one."
    )
    drain_delay: Seconds = Field(
        0.0,
        description="On SIGTERM or SIGINT, go on serving this long with the health check at 503 (so "
        "load balancers stop sending) before the graceful stop begins.",
    )


class Metrics(_Model):
    """Prometheus metrics: requests by app, status class and protocol, a latency histogram,
    open connections, active WebSockets, worker restarts. With workers, the numbers are the
    sum over all of them (as of the last second)."""

    bind: BindAddress | None = Field(
        None, description='A listener of their own, such as "127.0.0.1:9100" (served at any path).'
    )
    path: MountPath | None = Field(None, description='A path on the app listeners, such as "/metrics".')
    listeners: list[Name] | None = Field(
        None, description="The app listeners that answer the path; not set: every one."
    )


class Reload(_Model):
    """Development reload: restart the server when a watched file changes (never in production)."""

    enabled: bool = Field(False, description="Watch files and restart the server when one changes.")
    dirs: list[str] = Field(
        default_factory=list,
        description="Directories to watch; by default the file's directory and every app_dir "
        "(the working directory without a file). Relative to the file.",
    )
    include: list[str] = Field(
        default_factory=list, description='Glob patterns of files to watch, besides "*.py".'
    )
    exclude: list[str] = Field(
        default_factory=list,
        description='Glob patterns of files not to watch, besides ".*", ".py[cod]", ".sw.*" and "~*".',
    )
    delay: Seconds = Field(0.25, description="Time between checks for changes.")


ACCESS_FIELDS = (
    "client",
    "method",
    "path",
    "query",
    "target",
    "status",
    "bytes",
    "duration_ms",
    "app",
    "listener",
    "protocol",
)
DEFAULT_ACCESS_FORMAT = '{client} - "{method} {target} {protocol}" {status}'


def access_format_fields(template: str) -> tuple[list[str], list[str]]:
    """The fields and the request headers (``{header[user-agent]}``) an access format names;
    ValueError for anything else."""
    fields: list[str] = []
    headers: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"not a format string: {exc}") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if conversion or spec:
            raise ValueError(f"{{{name}}}: conversions and format specs are not supported")
        match = re.fullmatch(r"header\[([A-Za-z0-9!#$%&'*+.^_`|~-]+)\]", name)
        if match:
            headers.append(match.group(1).lower())
        elif name in ACCESS_FIELDS:
            fields.append(name)
        else:
            raise ValueError(
                f"unknown field {{{name}}}; fields: {', '.join(ACCESS_FIELDS)}, and header[NAME] for a request header"
            )
    return fields, headers


def _check_access_format(template: str) -> str:
    access_format_fields(template)
    return template


def _check_dict_config(config: dict[str, Any]) -> dict[str, Any]:
    if config.get("version") != 1:
        raise ValueError("a logging dictConfig says version = 1")
    return config


class Logging(_Model):
    level: LogLevel = Field("info", description="Log level of the server's loggers.")
    format: Literal["auto", "plain", "json"] = Field(
        "auto", description="auto: rich on a terminal, plain otherwise; json: one JSON object per line."
    )
    access_log: bool = Field(True, description="Log one line per response.")
    access_format: Annotated[str, AfterValidator(_check_access_format)] = Field(
        DEFAULT_ACCESS_FORMAT,
        description="The access line: {client} {method} {path} {query} {target} {status} {bytes} {duration_ms} "
        "{app} {listener} {protocol}, and {header[NAME]} for a request header. JSON lines carry the same fields.",
    )
    use_colors: bool | None = Field(
        None, description="Colour the log on a terminal (rich); null: when stderr is a terminal."
    )
    log_config: str | Annotated[dict[str, Any], AfterValidator(_check_dict_config)] | None = Field(
        None,
        description="A logging configuration (docs/logging.md): a file, dictConfig in .json, .toml or "
        ".yaml/.yml (needs PyYAML) or fileConfig for any other name, relative to the file's directory; "
        "or a table, the dictConfig itself. Uvicorn's loggers (uvicorn, uvicorn.error, uvicorn.access) "
        "and formatter classes in it configure asgihost's.",
    )


class Limits(_Model):
    """Limits of every listener and app; [listeners.NAME.limits] and [apps.NAME.limits] may
    override those that apply to them. Each one crossed gets its status and closes the connection."""

    concurrency: int | None = Field(
        None, ge=1, description="Connections or in-flight requests beyond which requests get a 503."
    )
    keep_alive_timeout: Seconds = Field(5.0, description="Close a connection idle for this long.")
    request_line: ByteSize = Field(8192, description="Longest request line (method, target, version): 414.")
    header_count: int = Field(100, ge=1, description="Most header fields in a request: 431.")
    header_field_size: ByteSize = Field(8192, description="Longest header field, name and value: 431.")
    header_block_size: ByteSize = Field(16384, description="Largest header block, all fields together: 431.")
    h11_max_incomplete_event_size: ByteSize = Field(
        16384,
        description="With HTTP/1.1 parsed by h11: the most h11 holds of an unfinished request head, "
        "chunk header or trailer block: 431. The default is Uvicorn's (h11's "
        "DEFAULT_MAX_INCOMPLETE_EVENT_SIZE, 16 KiB); the httptools parser does not use it.",
    )
    head_timeout: Seconds = Field(
        10.0,
        description="Time from a request's first byte to the end of its head: 408 (slow headers); 0: none.",
    )
    body_size: ByteSize = Field(
        100 * 1024 * 1024,
        description="Largest request body: 413, at once from Content-Length, else as soon as a chunked "
        "body crosses it (before any 100 Continue).",
    )
    body_timeout: Seconds = Field(
        30.0,
        description="Longest wait for more of a request body the app is reading: 408 (slow body); 0: none.",
    )
    requests_per_connection: int | None = Field(
        None, ge=1, description="Close a keep-alive connection after this many requests; null: never."
    )
    send_timeout: Seconds = Field(
        60.0,
        description="Longest wait for a client to take more of a response over HTTP/1.1: the connection "
        "closes (a client that stops reading); 0: none.",
    )


class AppLimits(_Model):
    """Per-app limits; a key left out takes its value from [limits]."""

    concurrency: int | None = Field(
        None, ge=1, description="In-flight requests of this app beyond which it gets 503s."
    )
    keep_alive_timeout: Seconds | None = Field(
        None, description="Idle keep-alive time after this app's responses."
    )
    body_size: ByteSize | None = Field(None, description="Largest request body for this app: 413.")
    body_timeout: Seconds | None = Field(None, description="Longest wait for more of a request body: 408.")
    send_timeout: Seconds | None = Field(
        None, description="Longest wait for a client to take more of this app's responses."
    )


# The keys of an app that only an application (``app``) has: a static app is a directory.
APPLICATION_KEYS = ("factory", "app_dir", "lifespan", "interface", "root_path", "reset_contextvars", "env", "websocket")


class App(_Model):
    """An app: an ASGI application (``app``) or a directory of files (``static``), routed alike."""

    app: ImportString | None = Field(
        None, description='The ASGI application, as "module:attribute"; or give `static` instead.'
    )
    static: Static | None = Field(None, description="Serve a directory of files instead of an application.")
    factory: bool = Field(False, description="`app` names a function that returns the application.")
    app_dir: str = Field(
        ".", description="Directory put first on sys.path before importing; relative to the file's directory."
    )
    lifespan: Literal["auto", "on", "off"] = Field("auto", description="ASGI lifespan protocol.")
    interface: Literal["auto", "asgi3", "asgi2"] = Field("auto", description="ASGI interface of the app.")

    @field_validator("interface", mode="before")
    @classmethod
    def _wsgi_is_not_served(cls, value: object) -> object:
        if value == "wsgi":  # Uvicorn's wsgi interface
            raise ValueError(
                "asgihost does not serve WSGI apps; wrap the app in an ASGI adapter "
                "(a2wsgi.WSGIMiddleware) and serve that"
            )
        return value

    root_path: str = Field("", description="Prefix the app is served under (behind a proxy).")
    reset_contextvars: bool = Field(
        False,
        description="Run each request and WebSocket session in an empty contextvars.Context: context "
        "variables set in the lifespan, or by instrumentation around the server, are not seen.",
    )
    mount: MountPath = Field("/", description="Path prefix the app is served at; it sees root_path = mount.")
    hosts: list[HostPattern] = Field(
        default_factory=list, description='Host names it serves ("*.example.com" for subdomains); empty: any.'
    )
    listeners: list[Name] | None = Field(
        None, description="Names of the listeners that reach it; default: all."
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment while its module is imported."
    )
    limits: AppLimits = Field(
        default_factory=AppLimits, description="Limits overriding [limits] for this app."
    )
    websocket: AppWebSocket = Field(
        default_factory=AppWebSocket, description="WebSocket settings overriding [websocket] for this app."
    )

    @model_validator(mode="after")
    def _has_a_kind(self) -> App:
        if self.app is None and self.static is None:
            raise ValueError(
                'an app needs `app` (an ASGI application, "module:attribute") or `static` (a directory to serve)'
            )
        return self


class HostConfig(_Model):
    """The whole of asgihost.toml."""

    server: Server = Field(default_factory=Server)
    logging: Logging = Field(default_factory=Logging)
    limits: Limits = Field(default_factory=Limits)
    websocket: WebSocket = Field(default_factory=WebSocket)
    http2: Http2 = Field(default_factory=Http2)
    reload: Reload = Field(default_factory=Reload)
    health: Health = Field(default_factory=Health)
    metrics: Metrics = Field(default_factory=Metrics)
    listeners: dict[Name, Listener] = Field(default_factory=lambda: {"default": Listener()}, min_length=1)
    apps: dict[Name, App] = Field(min_length=1, description="The applications to serve, by name.")
