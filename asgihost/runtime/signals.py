"""Signal handling for every process asgihost runs: handlers only record; the process's loop
acts on what they recorded.

- A server (alone, or one worker of a supervisor or reloader) records on itself with
  ``install_server_handlers`` (inside ``handlers_restored``): its event loop looks at the flags
  every tick.
- A supervisor or a reloader records into a ``SignalQueue``: its loop takes the signals in the
  order they came (``take``) and waits on the queue (``fileno``, the read end of a pipe)
  alongside its other file descriptors, so a signal wakes it at once. The pipe is the
  interpreter's wakeup fd (written to when the signal arrives, whichever thread it reaches, so
  a main thread blocked in a wait wakes) and the handler writes to it again once it has
  recorded, so that a loop which emptied the pipe before the handler ran wakes again.

Invariants:
- A handler sets a flag, counts, appends to a queue and writes to the wakeup pipe; it never
  kills, spawns, joins, logs nor changes what the loop serves.
- A recorded signal has a byte in the pipe after it (the handler's own), until the loop empties
  the pipe: whatever the order of ``take`` and the handler, the loop never sleeps on one.
- The first SIGINT/SIGTERM asks for a graceful stop, any later one for a forced stop.
- Handlers are installed on the main thread only (elsewhere nothing is installed, and the
  caller stops the process some other way); once the block exits, the handlers that were
  there before are back.
- ``take`` empties the pipe before the queue, so a signal that comes meanwhile leaves its byte
  in the pipe: it is taken now or wakes the next wait.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Protocol

logger = logging.getLogger("asgihost.error")

STOP = (signal.SIGINT, signal.SIGTERM)
SERVER_SIGNALS = (*STOP, signal.SIGHUP, signal.SIGUSR1)
"""What a server and a reloader record (without a handler, SIGHUP would kill the process)."""
SUPERVISOR_SIGNALS = (*SERVER_SIGNALS, signal.SIGTTIN, signal.SIGTTOU)
"""A supervisor also records SIGTTIN (one more worker) and SIGTTOU (one fewer)."""

Handler = Callable[[int, FrameType | None], None]


@contextlib.contextmanager
def _handling(signals: tuple[int, ...], handler: Handler, wakeup: int = -1) -> Iterator[None]:
    """``handler`` for ``signals`` in the block, on the main thread, and ``wakeup`` (a
    non-blocking fd) as the interpreter's wakeup fd if given; the previous ones after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals can only be handled on the main thread
        return
    previous: dict[int, signal.Handlers | int | Handler | None] = {}
    previous_wakeup = None
    try:
        if wakeup >= 0:
            previous_wakeup = signal.set_wakeup_fd(wakeup, warn_on_full_buffer=False)
        for sig in signals:
            previous[sig] = signal.signal(sig, handler)
        yield
    finally:
        for sig, old in previous.items():
            # None: a handler not set from Python, which cannot be put back; the default then
            signal.signal(sig, signal.SIG_DFL if old is None else old)
        if previous_wakeup is not None:
            signal.set_wakeup_fd(previous_wakeup)


class Signalled(Protocol):
    should_exit: bool
    force_exit: bool
    stop_signals: list[int]  # the SIGINT/SIGTERM received, in order
    hangup: bool  # SIGHUP received
    reopen_logs: bool  # SIGUSR1 received


def install_server_handlers(target: Signalled) -> None:
    """A server's handlers, on the main thread (elsewhere none): the first SIGINT/SIGTERM asks
    for a graceful stop, a second one forces it; SIGHUP and SIGUSR1 are recorded for the loop."""
    if threading.current_thread() is not threading.main_thread():
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
            target.stop_signals.append(signum)

    for sig in SERVER_SIGNALS:
        signal.signal(sig, handle)


@contextlib.contextmanager
def handlers_restored(signals: tuple[int, ...] = SERVER_SIGNALS) -> Iterator[None]:
    """After the block, the handlers of ``signals`` that it changed are the ones from before
    (on the main thread; elsewhere no handler can change)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.getsignal(sig) for sig in signals}
    try:
        yield
    finally:
        for sig, old in before.items():
            if signal.getsignal(sig) is not old:
                # None: a handler not set from Python, which cannot be put back; the default then
                signal.signal(sig, signal.SIG_DFL if old is None else old)


class SignalQueue:
    """The signals received, in order, for a loop that waits on file descriptors."""

    def __init__(self) -> None:
        self.stops = 0  # SIGINT/SIGTERM received so far
        self._pending: deque[int] = deque()
        self._wakeup: tuple[int, int] | None = None  # (read, write) ends, while recording

    @property
    def stopping(self) -> bool:
        """A stop signal came: stop gracefully."""
        return self.stops > 0

    @property
    def forced(self) -> bool:
        """A second stop signal came: stop at once."""
        return self.stops > 1

    def is_set(self) -> bool:
        """``stopping``, under the name watchfiles polls its ``stop_event`` by."""
        return self.stops > 0

    def fileno(self) -> int:
        """Readable once a signal is recorded: a loop waits on it with its other descriptors."""
        assert self._wakeup is not None, "not recording"
        return self._wakeup[0]

    @contextlib.contextmanager
    def recording(self, signals: tuple[int, ...] = SUPERVISOR_SIGNALS) -> Iterator[SignalQueue]:
        read, write = os.pipe()
        os.set_blocking(read, False)
        os.set_blocking(write, False)
        self._wakeup = (read, write)
        try:
            with _handling(signals, self._record, write):
                yield self
        finally:
            self._wakeup = None
            os.close(read)
            os.close(write)

    def take(self) -> list[int]:
        """The signals recorded since the last call, oldest first (stop signals too: they are
        counted in ``stops`` as well)."""
        self.clear_wakeup()
        taken = []
        while self._pending:
            taken.append(self._pending.popleft())
        return taken

    def clear_wakeup(self) -> None:
        """Empty the wakeup pipe and leave the signals queued, for a loop that waits for a stop
        signal only and leaves the others to the loop that takes them."""
        if self._wakeup is not None:
            with contextlib.suppress(BlockingIOError):
                while os.read(self._wakeup[0], 512):
                    pass

    def _record(self, signum: int, frame: FrameType | None) -> None:
        if signum in STOP:
            self.stops += 1
        self._pending.append(signum)
        if self._wakeup is not None:
            with contextlib.suppress(OSError):  # a full pipe wakes the loop already
                os.write(self._wakeup[1], b"\0")


GRACE_MARGIN_S = 5.0  # beyond a child's own drain delay and graceful timeout, before it is killed


def wait_for_children(
    processes: list[BaseProcess],
    signals: SignalQueue,
    drain_delay: float,
    graceful_timeout: float | None,
    what: str,
) -> None:
    """Wait for child processes told to stop (SIGTERM) to exit: for ever with no graceful
    timeout, else as long as their drain delay and graceful timeout take and ``GRACE_MARGIN_S``
    more; kill those left then, or at once on a second stop signal."""
    deadline = None if graceful_timeout is None else time.monotonic() + drain_delay + graceful_timeout
    if deadline is not None:
        deadline += GRACE_MARGIN_S
    while alive := [process for process in processes if process.is_alive()]:
        remaining = None if deadline is None else deadline - time.monotonic()
        if signals.forced or (remaining is not None and remaining <= 0):
            if signals.forced:
                logger.warning("A second stop signal: killing %d %s at once", len(alive), what)
            for process in alive:
                process.kill()
            return
        wait([*(process.sentinel for process in alive), signals.fileno()], timeout=remaining)
        signals.clear_wakeup()  # stopping now: only the count of stop signals matters
