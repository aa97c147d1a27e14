"""The plan of a static app (``[apps.NAME] static = {...}``): its directory resolved and
checked, its fallback told apart (another app, or a file under root), its rules as the
runtime takes them; and the problems ``asgihost check`` reports for static apps.

No I/O beyond stat-ing paths, as the rest of the plan.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from .config.errors import Problem
from .config.model import APPLICATION_KEYS, App, HostConfig
from .config.static import Static


@dataclass(frozen=True, eq=False)
class StaticSpec:
    root: str  # the directory, absolute, symbolic links resolved
    index: tuple[str, ...]
    fallback_app: str | None  # a miss is served by this app
    fallback_file: str | None  # a miss is served this file (relative to root)
    precompressed: bool
    cache_control: tuple[tuple[str, str], ...]  # (glob, value), first match wins
    follow_symlinks: bool
    types: tuple[tuple[str, str], ...]  # (".ext", media type)
    hidden: bool


def _root(base: Path, static: Static) -> str:
    path = static.root if os.path.isabs(static.root) else str(base / static.root)
    return os.path.realpath(path)


def static_spec(app: App, base: Path, apps: Collection[str]) -> StaticSpec | None:
    """The plan of ``app`` if it is static; ``apps`` are the names of the file's apps."""
    static = app.static
    if static is None:
        return None
    cache = static.cache_control
    rules = () if cache is None else (("*", cache),) if isinstance(cache, str) else tuple(cache.items())
    fallback = static.fallback
    return StaticSpec(
        root=_root(base, static),
        index=tuple(static.index),
        fallback_app=fallback if fallback in apps else None,
        fallback_file=fallback if fallback is not None and fallback not in apps else None,
        precompressed=static.precompressed,
        cache_control=rules,
        follow_symlinks=static.follow_symlinks,
        types=tuple(static.types.items()),
        hidden=static.hidden,
    )


def static_problems(config: HostConfig, base: Path) -> list[Problem]:
    """Every problem of the apps' kinds (the model sees that each has one): not both ``app`` and ``static``;
    a static app has no key only an application has; its root is a readable directory; its
    fallback names an application app of this file or a file under root."""
    problems = []
    for name, app in config.apps.items():
        where = f"apps.{name}"
        if app.static is None:
            continue
        if app.app is not None:
            problems.append(Problem(f"{where}.static", "an app has `app` or `static`, not both"))
            continue
        for key in APPLICATION_KEYS:
            if key in app.model_fields_set:
                problems.append(Problem(f"{where}.{key}", f"`{key}` is for an application; a static app has no {key}"))
        static = app.static
        root = _root(base, static)
        if not os.path.exists(root):
            problems.append(Problem(f"{where}.static.root", f"{root} does not exist"))
            continue
        if not os.path.isdir(root):
            problems.append(Problem(f"{where}.static.root", f"{root} is not a directory"))
            continue
        if not os.access(root, os.R_OK | os.X_OK):
            problems.append(Problem(f"{where}.static.root", f"{root} is not readable"))
            continue
        fallback = static.fallback
        if fallback is None:
            continue
        other = config.apps.get(fallback)
        if other is not None:
            if other.app is None:
                problems.append(
                    Problem(f"{where}.static.fallback", f'"{fallback}" is a static app; a fallback app is an application')
                )
        elif not os.path.isfile(os.path.join(root, fallback)):
            apps = ", ".join(n for n, a in config.apps.items() if a.app is not None) or "none"
            problems.append(
                Problem(
                    f"{where}.static.fallback",
                    f'"{fallback}" names no application app (applications: {apps}) and no file under {root}',
                )
            )
    return problems


def fallback_of(config: HostConfig) -> dict[str, str]:
    """Each application that is a static app's fallback, with that static app."""
    found = {}
    for name, app in config.apps.items():
        if app.static is not None and app.static.fallback in config.apps:
            found[app.static.fallback] = name
    return found


def behind_static(config: HostConfig, name: str, listener: str) -> bool:
    """The app is a static app's fallback at the same place on the listener: the static app
    is routed there, and hands its misses to the app."""
    static_name = fallback_of(config).get(name)
    if static_name is None:
        return False
    app, static = config.apps[name], config.apps[static_name]
    return (static.listeners is None or listener in static.listeners) and (static.mount, static.hosts) == (app.mount, app.hosts)
