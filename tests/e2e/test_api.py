"""asgihost's Python API used as Uvicorn's is: ``await server.serve()`` on a program's own loop,
the signal hooks, and the ``Config`` keywords that are code (``callback_notify``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import subprocess
import sys
import textwrap
import threading

import httpx
import pytest
from conftest import ROOT, serving

import asgihost
from asgihost.runtime.signals import SERVER_SIGNALS


async def hello(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


def handlers() -> dict[int, object]:
    return {sig: signal.getsignal(sig) for sig in SERVER_SIGNALS}


on_main_thread = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signal handlers need the main thread"
)


class QuietServer(asgihost.Server):
    """Uvicorn's idiom for a server that leaves signals to the program: capture_signals overridden."""

    def capture_signals(self):
        return contextlib.nullcontext()


def no_handlers(server: asgihost.Server) -> asgihost.Server:
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    return server


@on_main_thread
def test_serve_on_a_programs_loop_handles_signals_while_it_serves_then_gives_them_back():
    before, during, after = {}, {}, {}

    async def main() -> bytes:
        before.update(handlers())  # asyncio.run's own SIGINT handler among them
        server = asgihost.Server(asgihost.Config(hello, port=0, log_level="warning"))
        async with serving(server) as port, httpx.AsyncClient() as client:
            during.update(handlers())
            response = await client.get(f"http://127.0.0.1:{port}/")
        after.update(handlers())
        return response.content

    assert asyncio.run(main()) == b"hello"
    assert all(during[sig] is not before[sig] for sig in SERVER_SIGNALS)
    assert after == before


@on_main_thread
@pytest.mark.parametrize(
    "make", [no_handlers, QuietServer], ids=["install_signal_handlers", "capture_signals"]
)
def test_a_server_told_to_leave_signals_alone_never_touches_them(make):
    """As under pytest-asyncio: the test's loop, and the test runner's own handlers."""
    before, during, after = {}, {}, {}

    async def main() -> int:
        before.update(handlers())
        server = asgihost.Server(asgihost.Config(hello, port=0, log_level="warning"))
        server = make(server) if make is no_handlers else make(server.config)
        async with serving(server) as port, httpx.AsyncClient() as client:
            during.update(handlers())
            response = await client.get(f"http://127.0.0.1:{port}/")
        after.update(handlers())
        return response.status_code

    assert asyncio.run(main()) == 200
    assert during == before == after


SCRIPT = """
import asyncio, sys
import asgihost
sys.path.insert(0, {tests!r})
from e2e.test_api import hello

async def main():
    server = asgihost.Server(asgihost.Config(hello, port=0, log_level="info"))
    async def ready():
        while not server.started:
            await asyncio.sleep(0.01)
        print("ready", flush=True)
    await asyncio.gather(server.serve(), ready(), asyncio.sleep(3600))

try:
    asyncio.run(main())
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def test_ctrl_c_stops_the_server_and_then_the_program_as_under_uvicorn():
    """Uvicorn raises the stop signal again once its handlers are back, so a program serving
    alongside other tasks ends on Ctrl+C; asgihost's ``serve()`` does the same."""
    script = textwrap.dedent(SCRIPT).format(tests=str(ROOT / "tests"))
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert out == "interrupted\n", err
    assert "Shutting down" in err and "Finished server process" in err


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage() + (self.format(record) if record.exc_info else ""))


def test_callback_notify_is_awaited_every_timeout_notify_and_its_failure_is_only_logged():
    calls = []

    async def notify() -> None:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) == 1:
            raise RuntimeError("the process manager is away")

    async def main() -> int:
        config = asgihost.Config(
            hello, port=0, log_level="warning", callback_notify=notify, timeout_notify=0.5
        )
        server = QuietServer(config)
        async with serving(server) as port, httpx.AsyncClient() as client:
            deadline = asyncio.get_running_loop().time() + 10
            while len(calls) < 3 and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            response = await client.get(f"http://127.0.0.1:{port}/")
        return response.status_code

    records = Records()
    logging.getLogger("asgihost.error").addHandler(records)
    try:
        assert asyncio.run(main()) == 200
    finally:
        logging.getLogger("asgihost.error").removeHandler(records)
    assert len(calls) >= 3, calls
    gaps = [later - earlier for earlier, later in zip(calls, calls[1:], strict=False)]
    assert all(gap >= 0.29 for gap in gaps), gaps  # one call per timeout_notify, not per tick
    text = "\n".join(records.lines)
    assert "callback_notify raised" in text and "the process manager is away" in text
