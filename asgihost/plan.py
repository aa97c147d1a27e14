"""From a validated config to an immutable plan: the apps, the listeners and their routers.

``check`` finds what the model alone cannot: references between sections, routes two apps
would both claim, listeners on one address, directories and certificate files that are not there. Each problem
names the dotted key it is about, so the caller can point at the file's line. ``compile_plan``
refuses a config with problems and otherwise builds one ``RouteTable`` per listener.

No I/O here beyond stat-ing paths. Relative paths in a file are taken from the file's
directory (``base_dir``); from the command line, from the working directory.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .asgi.proxy import ProxyPolicy
from .config.errors import ConfigError, Problem
from .config.listener import Listener, Tls
from .config.model import App, HostConfig, Limits, Reload, WebSocket
from .config.types import Bind
from .protocols.h2_settings import H2Settings
from .protocols.http1_head import HeadLimits
from .routing import Route, RouteTable
from .static_plan import StaticSpec, behind_static, fallback_of, static_problems, static_spec


@dataclass(frozen=True, eq=False)
class AppSpec:
    """One app as it will run: its settings with [limits] applied and paths resolved."""

    name: str
    config: App
    app_dir: str
    root_path: str  # the scope's root_path: the configured root path plus the mount
    path_prefix: str  # what is put before the request path: the configured root path
    concurrency: int | None  # this app's own limit on requests in flight, if any
    keep_alive_timeout: float
    websocket: WebSocket | None  # [websocket] with the app's overrides; None when WebSockets are off
    body_size: int
    body_timeout: float
    send_timeout: float
    static: StaticSpec | None  # a directory served as files, not an application
    lifespan: str  # "auto", "on" or "off" ("off" for a static app)


@dataclass(frozen=True, eq=False)
class ListenerSpec:
    name: str
    config: Listener
    bind: Bind  # with a relative Unix path resolved
    tls: Tls | None  # with relative paths resolved
    routes: RouteTable[AppSpec]
    protocols: tuple[str, ...]  # the listener's, or those [server] http names
    limits: Limits  # [limits] with the listener's overrides (those about request heads)
    head: HeadLimits  # the request-head limits of ``limits``, as the HTTP/1.1 core takes them
    proxy: ProxyPolicy | None  # whose proxy headers are believed; None: nobody's
    own_paths: tuple[tuple[str, str], ...]  # (path, "health" or "metrics") the server answers itself
    h1: bool  # HTTP/1.1 is served
    h2: H2Settings | None  # HTTP/2 is served, with these settings
    h1_core: str  # what parses HTTP/1.1: "httptools" or "h11" ([server] http; h11 without httptools)


@dataclass(frozen=True, eq=False)
class ServerSpec:
    """What the runtime needs of [server], [limits], [logging], [health] and [metrics]."""

    server_header: bytes  # the rendered "server:" line, or b""
    extra_headers: bytes  # the rendered [server] headers lines
    date_header: bool
    keep_alive_timeout: float
    concurrency: int | None
    body_size: int  # for the server's own answers (no app matched, health, metrics)
    body_timeout: float
    send_timeout: float
    access_format: str
    metrics: bool  # [metrics] is on (a bind or a path)
    drain_delay: float
    graceful_timeout: float | None
    loop: str
    workers: int
    healthcheck_timeout: float  # a worker that does not answer a ping this long is replaced
    max_requests: int | None
    max_requests_jitter: int
    notes: tuple[str, ...]  # info lines for the start: where a setting is served otherwise than named
    warnings: tuple[str, ...]  # warning lines for the start (httptools cannot be imported)


@dataclass(frozen=True, eq=False)
class Plan:
    config: HostConfig
    apps: tuple[AppSpec, ...]
    listeners: tuple[ListenerSpec, ...]
    server: ServerSpec
    reload: Reload  # [reload], for a reloader: what it watches
    metrics_bind: Bind | None = None  # [metrics] bind, with a relative Unix path resolved


def _resolve(base_dir: Path, path: str) -> str:
    return str(path if os.path.isabs(path) else (base_dir / path))


def _bind(base_dir: Path, bind: Bind) -> Bind:
    if bind.kind == "unix" and not os.path.isabs(bind.path):
        return Bind("unix", path=_resolve(base_dir, bind.path))
    return bind


_TLS_FILES = ("certfile", "keyfile", "ca_certs")


def _tls(base_dir: Path, tls: Tls | None) -> Tls | None:
    if tls is None:
        return None
    paths = {name: _resolve(base_dir, getattr(tls, name)) for name in _TLS_FILES if getattr(tls, name)}
    return tls.model_copy(update=paths)


def _tls_problems(config: HostConfig, base: Path) -> list[Problem]:
    problems = []
    for name, listener in config.listeners.items():
        tls = _tls(base, listener.tls)
        for field in _TLS_FILES:
            path = getattr(tls, field, None)
            if path is None:
                continue
            if not os.path.isfile(path):
                problems.append(Problem(f"listeners.{name}.tls.{field}", f"{path} does not exist"))
            elif not os.access(path, os.R_OK):
                problems.append(Problem(f"listeners.{name}.tls.{field}", f"{path} is not readable"))
    return problems


def _reachable(app: App, listener: str) -> bool:
    return app.listeners is None or listener in app.listeners


def check(config: HostConfig, base_dir: Path | None = None) -> list[Problem]:
    """Every semantic problem of a valid-by-the-model config, in file order."""
    base = base_dir or Path.cwd()
    problems: list[Problem] = []
    names = list(config.listeners)
    for app_name, app in config.apps.items():
        for index, ref in enumerate(app.listeners or ()):
            if ref not in config.listeners:
                problems.append(
                    Problem(
                        f"apps.{app_name}.listeners.{index}",
                        f'no listener is named "{ref}" (listeners: {", ".join(names)})',
                    )
                )
        if app.listeners == []:
            problems.append(Problem(f"apps.{app_name}.listeners", "the app is reachable on no listener"))
        if app.app is None:
            continue
        app_dir = _resolve(base, app.app_dir)
        if not os.path.isdir(app_dir):
            problems.append(Problem(f"apps.{app_name}.app_dir", f"{app_dir} is not a directory"))
        elif not os.access(app_dir, os.R_OK | os.X_OK):
            problems.append(Problem(f"apps.{app_name}.app_dir", f"{app_dir} is not readable"))
    problems += static_problems(config, base)
    problems += _module_clashes(config, base)
    problems += _route_conflicts(config)
    problems += _bind_conflicts(config, base)
    problems += _tls_problems(config, base)
    problems += _process_file_problems(config, base)
    for section in ("health", "metrics"):
        for index, ref in enumerate(getattr(config, section).listeners or ()):
            if ref not in config.listeners:
                problems.append(
                    Problem(
                        f"{section}.listeners.{index}",
                        f'no listener is named "{ref}" (listeners: {", ".join(names)})',
                    )
                )
    metrics_bind = config.metrics.bind
    if metrics_bind is not None:
        taken = {str(_bind(base, listener.bind)): name for name, listener in config.listeners.items()}
        other = taken.get(str(_bind(base, metrics_bind)))
        if other is not None:
            problems.append(Problem("metrics.bind", f'{metrics_bind} is the address of listener "{other}"'))
    return problems


def _process_file_problems(config: HostConfig, base: Path) -> list[Problem]:
    """The log configuration and the env file must be there; the pid file's directory must be."""
    problems = []
    log_config = config.logging.log_config
    if isinstance(log_config, str):  # a file (a table is the dictConfig itself)
        path = _resolve(base, log_config)
        if not os.path.isfile(path):
            problems.append(Problem("logging.log_config", f"{path} does not exist"))
        elif not os.access(path, os.R_OK):
            problems.append(Problem("logging.log_config", f"{path} is not readable"))
    pid_file = config.server.pid_file
    if pid_file is not None:
        parent = os.path.dirname(_resolve(base, pid_file)) or "."
        if not os.path.isdir(parent):
            problems.append(Problem("server.pid_file", f"the directory {parent} does not exist"))
    env_file = config.server.env_file
    if env_file is not None:
        path = _resolve(base, env_file)
        if not os.path.isfile(path):
            problems.append(Problem("server.env_file", f"{path} does not exist"))
        elif not os.access(path, os.R_OK):
            problems.append(Problem("server.env_file", f"{path} is not readable"))
    if config.reload.enabled and "workers" in config.server.model_fields_set and config.server.workers > 1:
        problems.append(
            Problem(
                "server.workers",
                "workers and reload do not go together: reload runs one server process (Uvicorn "
                "ignores workers then); drop one",
            )
        )
    return problems


def _module_clashes(config: HostConfig, base: Path) -> list[Problem]:
    """Python imports a module once: two apps cannot take "main" from two directories."""
    problems = []
    first: dict[str, tuple[str, str]] = {}  # top-level module -> (app, directory)
    for app_name, app in config.apps.items():
        if app.app is None:
            continue
        module = app.app.partition(":")[0].partition(".")[0]
        directory = _resolve(base, app.app_dir)
        other_app, other_dir = first.setdefault(module, (app_name, directory))
        if os.path.abspath(other_dir) != os.path.abspath(directory):
            problems.append(
                Problem(
                    f"apps.{app_name}.app",
                    f'apps "{other_app}" and "{app_name}" both import module "{module}", from different'
                    " app_dir; Python imports a module once: give the modules distinct names",
                )
            )
    return problems


def _route_conflicts(config: HostConfig) -> list[Problem]:
    problems = []
    claimed: dict[tuple[str, str, str], str] = {}  # (listener, host or "", mount) -> app
    fallbacks = fallback_of(config)  # an app a static app falls back to may share its place
    for app_name, app in config.apps.items():
        reported = False
        for listener in config.listeners:
            if not _reachable(app, listener):
                continue
            for host in app.hosts or [""]:
                other = claimed.setdefault((listener, host, app.mount), app_name)
                if other != app_name and not reported and other not in (fallbacks.get(app_name), fallbacks.get(other)):
                    reported = True
                    who = f'host "{host}"' if host else "any host"
                    problems.append(
                        Problem(
                            f"apps.{app_name}.mount",
                            f'apps "{other}" and "{app_name}" both serve {who} at mount "{app.mount}"'
                            f' on listener "{listener}"',
                        )
                    )
    return problems


_ANY_HOST = ("0.0.0.0", "::", "")


def _overlaps(a: Bind, b: Bind) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind != "tcp":
        return a == b
    if a.port != b.port or a.port == 0 or (":" in a.host) != (":" in b.host):
        return False
    return a.host == b.host or a.host in _ANY_HOST or b.host in _ANY_HOST


def _bind_conflicts(config: HostConfig, base: Path) -> list[Problem]:
    problems = []
    earlier: list[tuple[str, Bind]] = []
    for name, listener in config.listeners.items():
        bind = _bind(base, listener.bind)
        for other_name, other in earlier:
            if _overlaps(bind, other):
                same = "binds" if bind == other else "overlaps"
                problems.append(
                    Problem(f"listeners.{name}.bind", f'{bind} {same} listener "{other_name}" ({other})')
                )
                break
        if bind.kind == "unix":
            parent = os.path.dirname(bind.path) or "."
            if not os.path.isdir(parent):
                problems.append(Problem(f"listeners.{name}.bind", f"the directory {parent} does not exist"))
        earlier.append((name, bind))
    return problems


def compile_plan(config: HostConfig, base_dir: Path | None = None) -> Plan:
    """The plan for a config; raises ConfigError listing every semantic problem."""
    problems = check(config, base_dir)
    if problems:
        raise ConfigError(problems)
    base = base_dir or Path.cwd()
    limits = config.limits
    apps = []
    for name, app in config.apps.items():
        mount = "" if app.mount == "/" else app.mount
        static = static_spec(app, base, config.apps)
        apps.append(
            AppSpec(
                name=name,
                config=app,
                app_dir=_resolve(base, app.app_dir),
                root_path=app.root_path + mount,
                path_prefix=app.root_path,
                concurrency=app.limits.concurrency,
                keep_alive_timeout=(
                    app.limits.keep_alive_timeout
                    if app.limits.keep_alive_timeout is not None
                    else limits.keep_alive_timeout
                ),
                body_size=app.limits.body_size if app.limits.body_size is not None else limits.body_size,
                body_timeout=(
                    app.limits.body_timeout if app.limits.body_timeout is not None else limits.body_timeout
                ),
                send_timeout=(
                    app.limits.send_timeout if app.limits.send_timeout is not None else limits.send_timeout
                ),
                static=static,
                lifespan="off" if static is not None else app.lifespan,
                websocket=None
                if config.server.ws == "none"
                else config.websocket.model_copy(
                    update={k: v for k, v in app.websocket.model_dump().items() if v is not None}
                ),
            )
        )
    h2_config = config.http2
    http2 = H2Settings(
        h2_config.max_concurrent_streams, h2_config.max_header_list_size, h2_config.initial_window_size
    )
    h1_core, fallback = http1_core(config.server.http)
    listeners = []
    for listener_name, listener in config.listeners.items():
        bind = _bind(base, listener.bind)
        routes = [
            Route(spec, spec.config.mount, tuple(spec.config.hosts))
            for spec in apps
            if _reachable(spec.config, listener_name) and not behind_static(config, spec.name, listener_name)
        ]
        ports = (bind.port,) if bind.kind == "tcp" else ()
        protocols = tuple(listener.protocols or config.server.default_protocols())
        merged = limits.model_copy(
            update={k: v for k, v in listener.limits.model_dump().items() if v is not None}
        )
        proxy = listener.proxy
        listeners.append(
            ListenerSpec(
                listener_name,
                listener,
                bind,
                _tls(base, listener.tls),
                RouteTable(routes, ports),
                protocols,
                merged,
                head_limits(merged),
                ProxyPolicy(_trusted(proxy.trusted, bind), proxy.headers) if proxy.enabled else None,
                _own_paths(config, listener_name),
                "http/1.1" in protocols,
                http2 if "h2" in protocols else None,
                h1_core,
            )
        )
    metrics_bind = None if config.metrics.bind is None else _bind(base, config.metrics.bind)
    warnings = (fallback,) if fallback is not None and any(spec.h1 for spec in listeners) else ()
    server = _server_spec(config, warnings)
    return Plan(config, tuple(apps), tuple(listeners), server, config.reload, metrics_bind)


def head_limits(limits: Limits) -> HeadLimits:
    """The request-head limits of ``limits``, as the HTTP/1.1 core takes them."""
    return HeadLimits(
        limits.request_line,
        limits.header_count,
        limits.header_field_size,
        limits.header_block_size,
        limits.h11_max_incomplete_event_size,
    )


def http1_core(http: str) -> tuple[str, str | None]:
    """What parses HTTP/1.1 for [server] http: h11 when named; httptools, else (with the
    reason, for a warning at start) h11 where httptools cannot be imported."""
    if http == "h11":
        return "h11", None
    try:
        importlib.import_module("httptools")
    except ImportError as exc:
        return "h11", f"httptools cannot be imported ({exc}); serving HTTP/1.1 with h11"
    return "httptools", None


def _own_paths(config: HostConfig, listener: str) -> tuple[tuple[str, str], ...]:
    """The paths a listener answers itself: the health check, the metrics."""
    own = []
    for name in ("health", "metrics"):
        section = getattr(config, name)
        if section.path is not None and (section.listeners is None or listener in section.listeners):
            own.append((section.path, name))
    return tuple(own)


def _server_spec(config: HostConfig, warnings: tuple[str, ...]) -> ServerSpec:
    server = config.server
    return ServerSpec(
        server_header=b"server: asgihost\r\n" if server.server_header else b"",
        extra_headers=b"".join(
            b"%s: %s\r\n" % (n.lower().encode("latin-1"), v.encode("latin-1"))
            for n, v in server.header_pairs()
        ),
        date_header=server.date_header,
        keep_alive_timeout=config.limits.keep_alive_timeout,
        concurrency=config.limits.concurrency,
        body_size=config.limits.body_size,
        body_timeout=config.limits.body_timeout,
        send_timeout=config.limits.send_timeout,
        access_format=config.logging.access_format,
        metrics=config.metrics.bind is not None or config.metrics.path is not None,
        drain_delay=config.health.drain_delay,
        graceful_timeout=server.graceful_timeout,
        loop=server.loop,
        workers=server.workers,
        healthcheck_timeout=server.healthcheck_timeout,
        max_requests=server.max_requests,
        max_requests_jitter=server.max_requests_jitter,
        notes=_notes(config),
        warnings=warnings,
    )


def _trusted(entries: list[str], bind: Bind) -> list[str]:
    """A listener's trusted peers: a Unix socket's path is "unix" on the listener bound there,
    and nobody on the others."""
    path = os.path.normpath(bind.path) if bind.kind == "unix" else None
    trusted = [entry for entry in entries if not entry.startswith("/")]
    if any(entry.startswith("/") and os.path.normpath(entry) == path for entry in entries):
        trusted.append("unix")
    return trusted


def _notes(config: HostConfig) -> tuple[str, ...]:
    """What a Uvicorn user is told once at start: a Uvicorn name asgihost serves with its own part."""
    notes = []
    ws = config.server.ws
    if ws in ("websockets", "websockets-sansio"):
        notes.append(
            f"--ws {ws}: asgihost has one WebSocket implementation (on wsproto), and serves WebSockets with it"
        )
    if config.server.http == "zttp":
        also = " and HTTP/2 on h2" if config.server.http2 else ""
        notes.append(f"--http zttp: asgihost serves HTTP/1.1 on httptools{also}")
    return tuple(notes)


def route_rows(plan: Plan) -> list[dict[str, Any]]:
    """Every (listener, app) route as a row for a table, in the order the router tries them
    per listener: exact hosts, wildcards, any host; then the longest mount."""
    rows = []
    for listener in plan.listeners:
        for spec in plan.apps:
            app = spec.config
            if (app.listeners is not None and listener.name not in app.listeners) or behind_static(
                plan.config, spec.name, listener.name
            ):
                continue
            rows.append(
                {
                    "listener": listener.name,
                    "hosts": list(app.hosts) or ["*"],
                    "mount": app.mount,
                    "app": spec.name,
                    "target": app.app if spec.static is None else f"static: {spec.static.root}",
                    "lifespan": spec.lifespan,
                }
            )
    return sorted(rows, key=_precedence)


def _precedence(row: dict[str, Any]) -> tuple[str, int, int]:
    hosts = row["hosts"]
    rank = 2 if hosts == ["*"] else 1 if all(host.startswith("*.") for host in hosts) else 0
    return row["listener"], rank, -len(row["mount"])
