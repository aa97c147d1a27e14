"""asgihost.runtime.signals: handlers record, in this process, and the previous ones come back."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
from types import FrameType

import pytest

from asgihost.runtime.signals import (
    SERVER_SIGNALS,
    SUPERVISOR_SIGNALS,
    SignalQueue,
    handlers_restored,
    install_server_handlers,
)


class Target:
    def __init__(self) -> None:
        self.should_exit = False
        self.force_exit = False
        self.stop_signals: list[int] = []
        self.hangup = False
        self.reopen_logs = False


@contextlib.contextmanager
def capture_signals(target: Target):
    """What a server does while it serves (``Server.capture_signals``)."""
    with handlers_restored(SERVER_SIGNALS):
        install_server_handlers(target)
        yield


def kill(sig: int) -> None:
    """Send ``sig`` to this process; its Python handler has run once this returns (CPython
    runs pending handlers before the next bytecode on the main thread)."""
    os.kill(os.getpid(), sig)


def readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


def test_capture_signals_sets_the_flags_and_a_second_stop_forces():
    target = Target()
    with capture_signals(target):
        kill(signal.SIGHUP)
        kill(signal.SIGUSR1)
        assert target.hangup and target.reopen_logs and not target.should_exit
        kill(signal.SIGTERM)
        assert target.should_exit and not target.force_exit
        kill(signal.SIGINT)
        assert target.force_exit
    assert target.stop_signals == [signal.SIGTERM, signal.SIGINT]


def test_previous_handlers_are_back_after_the_block():
    seen: list[int] = []

    def mine(signum: int, frame: FrameType | None) -> None:
        seen.append(signum)

    before = {sig: signal.signal(sig, mine) for sig in SUPERVISOR_SIGNALS}
    try:
        with capture_signals(Target()):
            assert all(signal.getsignal(sig) is not mine for sig in SERVER_SIGNALS)
        with SignalQueue().recording(SUPERVISOR_SIGNALS):
            assert all(signal.getsignal(sig) is not mine for sig in SUPERVISOR_SIGNALS)
            kill(signal.SIGHUP)
        assert seen == []
        assert all(signal.getsignal(sig) is mine for sig in SUPERVISOR_SIGNALS)
        kill(signal.SIGHUP)
        assert seen == [signal.SIGHUP]
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def test_the_queue_keeps_the_order_and_wakes_its_pipe():
    queue = SignalQueue()
    with queue.recording():
        assert not readable(queue.fileno()) and queue.take() == []
        for sig in (signal.SIGTTIN, signal.SIGTTIN, signal.SIGHUP, signal.SIGTTOU, signal.SIGUSR1):
            kill(sig)
        assert readable(queue.fileno())
        assert queue.take() == [signal.SIGTTIN, signal.SIGTTIN, signal.SIGHUP, signal.SIGTTOU, signal.SIGUSR1]
        assert not readable(queue.fileno()) and queue.take() == []
        assert not queue.stopping


def test_the_first_stop_signal_is_graceful_the_second_forced():
    queue = SignalQueue()
    with queue.recording():
        kill(signal.SIGTERM)
        assert queue.stopping and queue.is_set() and not queue.forced
        kill(signal.SIGINT)
        assert queue.forced and queue.stops == 2
        assert queue.take() == [signal.SIGTERM, signal.SIGINT]
        assert queue.forced  # taking does not undo a stop


def test_clear_wakeup_leaves_the_signals_queued():
    queue = SignalQueue()
    with queue.recording():
        kill(signal.SIGHUP)
        queue.clear_wakeup()
        assert not readable(queue.fileno())
        assert queue.take() == [signal.SIGHUP]


def test_a_signal_wakes_a_loop_blocked_on_the_pipe():
    """The supervisor's loop blocks in ``wait``; a handler that only set a flag would leave it
    asleep until the timeout (the wait is retried after EINTR), the pipe wakes it."""
    from multiprocessing.connection import wait

    queue = SignalQueue()
    with queue.recording():
        timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGTTIN))
        timer.start()
        try:
            assert wait([queue.fileno()], timeout=60) == [queue.fileno()]
        finally:
            timer.cancel()
            timer.join()
        assert queue.take() == [signal.SIGTTIN]


def test_off_the_main_thread_nothing_is_installed():
    before = {sig: signal.getsignal(sig) for sig in SUPERVISOR_SIGNALS}
    during: list[dict[int, object]] = []
    errors: list[BaseException] = []

    def body() -> None:
        try:
            with capture_signals(Target()):
                during.append({sig: signal.getsignal(sig) for sig in SUPERVISOR_SIGNALS})
            queue = SignalQueue()
            with queue.recording():
                during.append({sig: signal.getsignal(sig) for sig in SUPERVISOR_SIGNALS})
                assert queue.take() == []
        except BaseException as exc:  # noqa: BLE001 - reported on the main thread
            errors.append(exc)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert errors == []
    assert during == [before, before]


@pytest.mark.parametrize("sig", [signal.SIGTTIN, signal.SIGTTOU])
def test_a_server_leaves_ttin_and_ttou_alone(sig):
    before = signal.getsignal(sig)
    with capture_signals(Target()):
        assert signal.getsignal(sig) == before
