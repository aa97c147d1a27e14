"""Choosing and running the event loop: uvloop when available (auto), asyncio, zuvloop, or a
factory of the user's (``"module:callable"``, as Uvicorn's ``loop``)."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopError(Exception):
    """The loop asked for cannot be had (a package not installed, a factory not importable)."""


def loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """The factory for ``[server] loop``; a package that is not installed is a LoopError."""
    if kind in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if kind == "uvloop":
                raise LoopError("--loop uvloop was asked for, but uvloop is not installed") from None
        else:
            return uvloop.new_event_loop
    if kind == "zuvloop":
        try:
            module = importlib.import_module("zuvloop")
        except ImportError:
            raise LoopError("--loop zuvloop was asked for, but zuvloop is not installed") from None
        factory: Callable[[], asyncio.AbstractEventLoop] = module.new_event_loop
        return factory
    if ":" in kind:  # "module:callable", a loop factory of the user's
        module_name, _, attribute = kind.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise LoopError(f"--loop {kind}: the loop factory cannot be imported: {exc}") from None
        return factory
    return asyncio.new_event_loop  # asyncio, none


def run(main: Callable[[], Coroutine[Any, Any, T]], kind: str) -> T:
    """``main()`` on a new loop of ``kind``; LoopError before ``main`` is called when there is none."""
    factory = loop_factory(kind)
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(main())
    loop = factory()  # pragma: no cover - Python 3.10
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(main())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()
