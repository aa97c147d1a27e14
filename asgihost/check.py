"""``asgihost check``: parse, validate and compile an asgihost.toml, optionally import its apps,
and print what it serves or every problem with where it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .config import ConfigError, HostConfig, Problem, load_config, locate
from .config.toml import read_toml
from .plan import Plan, check, compile_plan, route_rows


def _tls_problems(plan: Plan) -> list[Problem]:
    """Certificates and keys that are there but do not load: a key that is not the
    certificate's, a wrong password, a file that is not PEM."""
    from .runtime.sockets import TlsError, tls_context

    problems = []
    for listener in plan.listeners:
        if listener.tls is not None:
            try:
                tls_context(listener.tls)
            except TlsError as exc:
                problems.append(Problem(f"listeners.{listener.name}.tls", str(exc)))
    return problems


def _log_config_problems(config: HostConfig, base_dir: Path) -> list[Problem]:
    """A log configuration file that is there but does not parse."""
    from .logs import LogConfigError, read_log_config

    if not isinstance(config.logging.log_config, str):
        return []
    try:
        read_log_config(base_dir / config.logging.log_config)
    except LogConfigError as exc:
        return [Problem("logging.log_config", str(exc))]
    return []


def _import_problems(config: HostConfig, base_dir: Path) -> list[Problem]:
    from .api import Config
    from .asgi.apps import load_app

    loaded = Config.from_host_config(config, base_dir)
    problems = []
    for spec in loaded.plan.apps:
        app = spec.config
        if app.app is None:  # a static app: nothing to import
            continue
        try:
            load_app(app.app, factory=app.factory, app_dir=spec.app_dir, interface=app.interface, env=app.env)
        except Exception as exc:  # an app's import may raise anything; report it, go on
            problems.append(
                Problem(f"apps.{spec.name}.app", f"cannot import {app.app!r}: {type(exc).__name__}: {exc}")
            )
    return problems


def find_problems(path: Path, import_apps: bool = False) -> tuple[list[Problem], Plan | None]:
    """Every problem of the file, located; and its plan when there are none."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        return exc.problems, None
    _, source = read_toml(path)
    base_dir = path.resolve().parent
    problems = locate(check(config, base_dir), path, source)
    if not problems:
        problems = locate(
            _tls_problems(compile_plan(config, base_dir)) + _log_config_problems(config, base_dir),
            path,
            source,
        )
    if not problems and import_apps:
        problems = locate(_import_problems(config, base_dir), path, source)
    if problems:
        return problems, None
    return [], compile_plan(config, base_dir)


def check_file(path: Path, import_apps: bool = False, fmt: str = "text") -> int:
    problems, plan = find_problems(path, import_apps)
    if fmt == "json":
        print(json.dumps(_as_json(path, problems, plan), indent=2))
    elif problems:
        _print_problems(path, problems)
    else:
        assert plan is not None
        _print_summary(path, plan, import_apps)
    return 1 if problems else 0


def _as_json(path: Path, problems: list[Problem], plan: Plan | None) -> dict[str, Any]:
    if problems or plan is None:
        return {"file": str(path), "ok": False, "problems": [p.to_json() for p in problems]}
    return {
        "file": str(path),
        "ok": True,
        "listeners": [{"name": lst.name, "bind": str(lst.bind)} for lst in plan.listeners],
        "routes": route_rows(plan),
    }


def _print_problems(path: Path, problems: list[Problem]) -> None:
    from rich.console import Console

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    count = len(problems)
    console.print(f"[bold red]{path}: {count} problem{'s' if count != 1 else ''}[/]")
    for problem in problems:
        key = f" [cyan]{problem.key}[/]:" if problem.key else ""
        console.print(f"  [bold]{problem.where or path}[/]{key} {_escape(problem.message)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _print_summary(path: Path, plan: Plan, imported: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    note = " (every app imported)" if imported else ""
    console.print(f"[bold green]{path} is valid{note}[/]")
    listeners = Table(title="Listeners", title_justify="left")
    listeners.add_column("listener")
    listeners.add_column("bind")
    for listener in plan.listeners:
        listeners.add_row(listener.name, str(listener.bind))
    console.print(listeners)
    routes = Table(
        title="Routes (first match wins: exact host, wildcard, any; then longest mount)", title_justify="left"
    )
    for column in ("listener", "host", "mount", "app", "target", "lifespan"):
        routes.add_column(column, overflow="fold")
    for row in route_rows(plan):
        routes.add_row(
            row["listener"], ", ".join(row["hosts"]), row["mount"], row["app"], row["target"], row["lifespan"]
        )
    console.print(routes)
