"""The model of asgihost.toml: the one place where settings and their defaults live.

Every command-line flag and every keyword argument of ``asgihost.run``/``asgihost.Config``
is a way of writing one of these keys (see ``flags.py``). Models are frozen and reject keys
they do not know.
"""

from __future__ import annotations

import ipaddress
import os
import re
import string
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- value types ---------------------------------------------------------------------------------

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")


def _parse_seconds(value: Any) -> Any:
    if isinstance(value, str):
        match = _DURATION_RE.match(value)
        if match is None:
            try:
                return float(value)
            except ValueError:
                raise ValueError(
                    'a duration is a number of seconds or a string like "30s", "500ms", "2m"'
                ) from None
        return float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    return value


Seconds = Annotated[
    float,
    BeforeValidator(_parse_seconds),
    Field(ge=0),
    WithJsonSchema(
        {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": _DURATION_RE.pattern}]}
    ),
]
"""A duration: a number of seconds, or a string with a unit (ms, s, m, h)."""


def _parse_mode(value: Any) -> Any:
    if isinstance(value, str):
        text = value.lower().removeprefix("0o")
        if not text or any(c not in "01234567" for c in text):
            raise ValueError('a file mode is an octal string such as "660" or "0o660"')
        return int(text, 8)
    return value


FileMode = Annotated[
    int,
    BeforeValidator(_parse_mode),
    Field(ge=0, le=0o777),
    PlainSerializer(lambda mode: f"{mode:o}", return_type=str),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": "^(0o)?[0-7]{1,3}$"}, {"type": "integer"}]}),
]


@dataclass(frozen=True)
class Bind:
    """Where a listener listens: exactly one of (host, port), path, fd is set."""

    kind: Literal["tcp", "unix", "fd", "systemd"]
    host: str = ""
    port: int = 0
    path: str = ""
    fd: int = -1  # for "systemd": the index among LISTEN_FDS when no name is given
    name: str = ""  # for "systemd": the name in LISTEN_FDNAMES

    def __str__(self) -> str:
        if self.kind == "unix":
            return f"unix:{self.path}"
        if self.kind == "fd":
            return f"fd://{self.fd}"
        if self.kind == "systemd":
            return f"systemd:{self.name or self.fd}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @classmethod
    def tcp(cls, host: str, port: int) -> Bind:
        return cls("tcp", host=host.strip("[]"), port=port)


def parse_bind(value: Any) -> Any:
    if isinstance(value, Bind) or not isinstance(value, str):
        return value
    if value.startswith("unix:"):
        path = value[len("unix:") :]
        if not path:
            raise ValueError('a Unix socket bind is "unix:/path/to/socket"')
        return Bind("unix", path=path)
    if value.startswith("systemd:"):
        which = value[len("systemd:") :]
        if not which:
            raise ValueError(
                'a socket from systemd is "systemd:NAME" (its FileDescriptorName) or "systemd:INDEX"'
            )
        return Bind("systemd", fd=int(which)) if which.isdigit() else Bind("systemd", name=which)
    if value.startswith("fd://"):
        fd = value[len("fd://") :]
        if not fd.isdigit():
            raise ValueError('an inherited socket is "fd://N" with N a file descriptor number')
        return Bind("fd", fd=int(fd))
    if "://" in value:
        raise ValueError(
            'a bind is "host:port", "[v6addr]:port", "unix:/path", "fd://N" or "systemd:NAME", not a URL'
        )
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError('expected "host:port", "[v6addr]:port", "unix:/path", "fd://N" or "systemd:NAME"')
    if host.startswith("["):
        if not host.endswith("]"):
            raise ValueError('an IPv6 address is written in brackets: "[::1]:8000"')
        host = host[1:-1]
    elif ":" in host:
        raise ValueError('an IPv6 address is written in brackets: "[::1]:8000"')
    if not 0 <= int(port) <= 65535:
        raise ValueError("a port is between 0 and 65535")
    return Bind("tcp", host=host, port=int(port))


BindAddress = Annotated[
    Bind,
    BeforeValidator(parse_bind),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {"type": "string", "examples": ["127.0.0.1:8000", "[::]:8000", "unix:/run/app.sock", "fd://3"]}
    ),
]

_TOKEN_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def _check_header(value: str) -> str:
    name, sep, field_value = value.partition(":")
    name, field_value = name.strip(), field_value.strip()
    if not sep or not _TOKEN_RE.match(name):
        raise ValueError('a header is "name: value" with a token for a name')
    if any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F or ord(c) > 0xFF for c in field_value):
        raise ValueError("a header value may not hold control characters")
    return f"{name}: {field_value}"


HeaderLine = Annotated[str, AfterValidator(_check_header)]


def _check_mount(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError('a mount is a path prefix starting with "/", such as "/api"')
    if any(c in value for c in "?#") or "//" in value or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("a mount is a plain path: no query, fragment, empty segment or control character")
    return value.rstrip("/") or "/"


MountPath = Annotated[str, AfterValidator(_check_mount)]


def _check_import_string(value: str) -> str:
    module, sep, attribute = value.partition(":")
    if not sep or not module.strip() or not attribute.strip():
        raise ValueError('an app is "module:attribute", such as "main:app" or "services.api.main:create_app"')
    return value


ImportString = Annotated[str, AfterValidator(_check_import_string)]

_HOST_RE = re.compile(r"^(\*\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$")


def _check_host(value: str) -> str:
    host = value.lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        return host  # an IPv6 literal
    if ":" in host:
        raise ValueError("a host is a name without a port: ports are ignored when matching")
    if not _HOST_RE.match(host):
        raise ValueError(
            'a host is a DNS name such as "www.example.com", or "*.example.com" for its subdomains'
        )
    return host


HostPattern = Annotated[str, AfterValidator(_check_host)]

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")


def _parse_size(value: Any) -> Any:
    if isinstance(value, str):
        match = _SIZE_RE.match(value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _SIZE_UNITS:
            raise ValueError('a size is a number of bytes or a string like "16MiB", "64KiB", "1MB"')
        return int(match.group(1)) * _SIZE_UNITS[unit]
    return value


ByteSize = Annotated[
    int,
    BeforeValidator(_parse_size),
    Field(ge=1),
    WithJsonSchema(
        {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": _SIZE_RE.pattern}]}
    ),
]
"""A size in bytes: an integer, or a string with a unit (KB, KiB, MB, MiB, GB, GiB)."""
Name = Annotated[str, Field(pattern=NAME_PATTERN)]

LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]


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
    pid_file: str | None = Field(
        None,
        description="Write the server's process id here while it runs (for `asgihost reload` and "
        "init systems); relative to the file's directory.",
    )

    loop: Literal["auto", "uvloop", "asyncio"] = Field(
        "auto", description="Event loop: uvloop when installed (auto), or asyncio."
    )
    http: Literal["auto", "httptools", "h2"] = Field(
        "auto",
        description="HTTP served where a listener does not say: auto (HTTP/1.1 on httptools and HTTP/2 on h2), "
        "httptools (HTTP/1.1 only) or h2 (HTTP/2 only).",
    )

    def default_protocols(self) -> list[str]:
        return {"auto": ["h2", "http/1.1"], "httptools": ["http/1.1"], "h2": ["h2"]}[self.http]

    ws: Literal["auto", "wsproto", "none"] = Field(
        "auto", description="WebSocket implementation: wsproto (auto), or none to refuse upgrades."
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
    log_config: str | None = Field(
        None,
        description="A logging configuration applied after asgihost's own: dictConfig in .json, .toml or "
        ".yaml/.yml (needs PyYAML), or fileConfig for any other name. Relative to the file's directory.",
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


class ListenerLimits(_Model):
    """A listener's own limits on what it reads before a request is routed; a key left out takes
    its value from [limits]."""

    request_line: ByteSize | None = Field(None, description="Longest request line: 414.")
    header_count: int | None = Field(None, ge=1, description="Most header fields in a request: 431.")
    header_field_size: ByteSize | None = Field(None, description="Longest header field: 431.")
    header_block_size: ByteSize | None = Field(None, description="Largest header block: 431.")
    head_timeout: Seconds | None = Field(None, description="Time to send a request head: 408.")
    requests_per_connection: int | None = Field(
        None, ge=1, description="Close a keep-alive connection after this many requests."
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


class Tls(_Model):
    """TLS on a listener. Relative paths are taken from the file's directory."""

    certfile: str = Field(description="PEM certificate chain (the server's certificate first).")
    keyfile: str | None = Field(None, description="PEM private key; leave out when certfile holds it.")
    password: str | None = Field(None, description="Password of an encrypted private key.")
    ca_certs: str | None = Field(
        None, description="PEM CA certificates that client certificates are checked against."
    )
    client_auth: Literal["none", "optional", "required"] = Field(
        "none", description="Ask clients for a certificate: none, optional (checked when sent) or required."
    )
    ciphers: str | None = Field(
        None, description="OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are fixed); default: Python's."
    )
    min_version: Literal["1.2", "1.3"] = Field("1.2", description="Oldest TLS version accepted.")
    handshake_timeout: Seconds = Field(
        10.0, description="Close a connection whose TLS handshake takes longer."
    )

    @model_validator(mode="after")
    def _client_auth_needs_ca(self) -> Tls:
        if self.client_auth != "none" and self.ca_certs is None:
            raise ValueError(
                "client_auth needs ca_certs: the CA certificates client certificates are checked against"
            )
        return self


def _forwarded_allow_ips() -> list[str]:
    value = os.environ.get("FORWARDED_ALLOW_IPS", "")
    return [item.strip() for item in value.split(",") if item.strip()] or ["127.0.0.1"]


def _trusted_entry(value: str) -> str:
    if value in ("*", "unix"):
        return value
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f'{value!r} is not an IP address, a network (CIDR), "unix" or "*"') from None
    return value


class Proxy(_Model):
    """Proxy headers: which peers are believed when they say who the client is and which scheme
    it used. Headers from any other peer are passed to the app as they are and not believed."""

    enabled: bool = Field(True, description="Read proxy headers from trusted peers.")
    trusted: list[Annotated[str, AfterValidator(_trusted_entry)]] = Field(
        default_factory=_forwarded_allow_ips,
        description='Peers whose proxy headers are believed: IP addresses, networks ("10.0.0.0/8"), '
        '"unix" for Unix-socket peers, or "*" for all. Default: $FORWARDED_ALLOW_IPS, else 127.0.0.1.',
    )
    headers: Literal["x-forwarded", "forwarded"] = Field(
        "x-forwarded",
        description="x-forwarded: X-Forwarded-For and X-Forwarded-Proto; forwarded: RFC 7239 Forwarded.",
    )


class Listener(_Model):
    bind: BindAddress = Field(
        Bind.tcp("127.0.0.1", 8000),
        description='"host:port", "[v6]:port", "unix:/path", "fd://N" or "systemd:NAME" (socket activation).',
    )
    backlog: int = Field(2048, ge=1, description="Listen backlog: connections the kernel queues unaccepted.")
    mode: FileMode = Field(0o666, description="File mode of a Unix socket.")
    tls: Tls | None = Field(None, description="Serve HTTPS: certificate, key and client authentication.")
    limits: ListenerLimits = Field(
        default_factory=ListenerLimits, description="Limits on request heads, overriding [limits]."
    )
    proxy: Proxy = Field(
        default_factory=Proxy, description="Which proxies' client and scheme headers are believed."
    )
    protocols: list[Literal["h2", "http/1.1"]] | None = Field(
        None,
        description="Protocols served; by default those [server] http names. Over TLS they are offered "
        "by ALPN in this order; in cleartext, h2 is spoken to a client that starts with the HTTP/2 "
        "preface (prior knowledge) or asks with Upgrade: h2c, and without http/1.1 any other client "
        "gets a 505.",
    )

    @model_validator(mode="after")
    def _protocols(self) -> Listener:
        if self.protocols is not None:
            if not self.protocols:
                raise ValueError("protocols lists no protocol")
            if len(set(self.protocols)) != len(self.protocols):
                raise ValueError("protocols lists a protocol twice")
        return self

    @model_validator(mode="after")
    def _mode_only_for_unix(self) -> Listener:
        if "mode" in self.model_fields_set and self.bind.kind != "unix":
            raise ValueError('mode applies only to a Unix socket (bind = "unix:/path")')
        return self


class App(_Model):
    app: ImportString = Field(description='The ASGI application, as "module:attribute".')
    factory: bool = Field(False, description="`app` names a function that returns the application.")
    app_dir: str = Field(
        ".", description="Directory put first on sys.path before importing; relative to the file's directory."
    )
    lifespan: Literal["auto", "on", "off"] = Field("auto", description="ASGI lifespan protocol.")
    interface: Literal["auto", "asgi3", "asgi2"] = Field("auto", description="ASGI interface of the app.")
    root_path: str = Field("", description="Prefix the app is served under (behind a proxy).")
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
