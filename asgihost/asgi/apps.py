"""Finding the application: import strings, factories and the ASGI 2 / ASGI 3 interfaces."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

ASGIApp = Callable[..., Any]


class AppLoadError(Exception):
    """The application could not be imported or is not an ASGI application."""


def import_from_string(target: str, app_dir: str | None = None) -> Any:
    """Import ``module.path:attribute.path``; ``app_dir`` is put first on ``sys.path``."""
    module_name, sep, attrs = target.partition(":")
    if not sep or not module_name or not attrs:
        raise AppLoadError(f'Import string "{target}" must be in format "<module>:<attribute>".')
    if app_dir is not None:
        path = os.path.abspath(app_dir)
        if path not in sys.path:
            sys.path.insert(0, path)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name and not module_name.startswith(f"{exc.name}."):
            raise  # a module the app imports is missing: show the app's own traceback
        raise AppLoadError(f'Could not import module "{module_name}".') from None
    obj: Any = module
    try:
        for attr in attrs.split("."):
            obj = getattr(obj, attr)
    except AttributeError:
        raise AppLoadError(f'Attribute "{attrs}" not found in module "{module_name}".') from None
    return obj


class ASGI2Middleware:
    """Runs an ASGI 2 (double-callable) application as ASGI 3."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        instance = self.app(scope)
        await instance(receive, send)


def is_asgi3(app: Any) -> bool:
    """Interface detection as Uvicorn does it: ASGI 3 apps are coroutine functions of three."""
    if inspect.isclass(app):
        return hasattr(app, "__await__")
    if inspect.isfunction(app):
        return inspect.iscoroutinefunction(app)
    call = getattr(app, "__call__", None)  # noqa: B004 - we need the bound method
    return inspect.iscoroutinefunction(call)


@contextlib.contextmanager
def extra_environment(env: Mapping[str, str]) -> Iterator[None]:
    """``env`` set in os.environ for the duration, and the previous values put back after."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def load_app(
    target: str | ASGIApp,
    *,
    factory: bool = False,
    app_dir: str | None = None,
    interface: str = "auto",
    env: Mapping[str, str] | None = None,
) -> ASGIApp:
    """Return a ready ASGI 3 callable from an import string or an object.

    ``env`` is in the environment while the module is imported and the factory called.
    """
    with extra_environment(env or {}):
        return _load(target, factory, app_dir, interface)


def _load(target: str | ASGIApp, factory: bool, app_dir: str | None, interface: str) -> ASGIApp:
    app = import_from_string(target, app_dir) if isinstance(target, str) else target
    if factory:
        if not callable(app):
            raise AppLoadError(f"The factory {target!r} is not callable.")
        app = app()
    elif inspect.isfunction(app) and not inspect.iscoroutinefunction(app) and _takes_no_arguments(app):
        raise AppLoadError(f"{target!r} looks like an application factory; pass --factory to call it.")
    if not callable(app):
        raise AppLoadError(f"{target!r} is not callable, so it is not an ASGI application.")
    if interface == "auto":
        interface = "asgi3" if is_asgi3(app) else "asgi2"
    if interface == "asgi2":
        return ASGI2Middleware(app)
    return app


def _takes_no_arguments(func: Callable[..., Any]) -> bool:
    try:
        return not inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
