"""Signal handling: handlers only record; the server's loop acts on what they recorded."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Protocol

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Stoppable(Protocol):
    should_exit: bool
    force_exit: bool


@contextlib.contextmanager
def capture_signals(target: Stoppable) -> Iterator[None]:
    """First SIGINT/SIGTERM asks for a graceful stop; a second one forces it."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals can only be handled on the main thread; the caller sets should_exit
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if target.should_exit and signum == signal.SIGINT:
            target.force_exit = True
        target.should_exit = True

    previous = {sig: signal.signal(sig, handle) for sig in HANDLED}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
