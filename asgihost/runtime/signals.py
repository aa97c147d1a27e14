"""Signal handling: handlers only record; the server's loop acts on what they recorded."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Protocol

STOP = (signal.SIGINT, signal.SIGTERM)


class Signalled(Protocol):
    should_exit: bool
    force_exit: bool
    hangup: bool  # SIGHUP received
    reopen_logs: bool  # SIGUSR1 received


@contextlib.contextmanager
def capture_signals(target: Signalled) -> Iterator[None]:
    """First SIGINT/SIGTERM asks for a graceful stop; a second one forces it. SIGHUP and
    SIGUSR1 are recorded for the loop (without a handler, SIGHUP would kill the process)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals can only be handled on the main thread; the caller sets should_exit
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            target.hangup = True
        elif signum == signal.SIGUSR1:
            target.reopen_logs = True
        else:
            if target.should_exit:  # a second SIGINT or SIGTERM: stop at once
                target.force_exit = True
            target.should_exit = True

    previous = {sig: signal.signal(sig, handle) for sig in (*STOP, signal.SIGHUP, signal.SIGUSR1)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
