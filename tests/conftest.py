"""Shared fixtures: run the real server on a loopback port and wait for it.

``serve`` runs it in this process: ``asgihost run APP FLAGS...``'s config (the same parser and
recipe), ``Server(config).serve()`` on a fresh event loop (uvloop, as in production) on a
thread, listening on port 0 unless the flags name a place. It is started when ``on_started``
fires and stopped by ``should_exit``; its log holds what the process would have written: the
``asgihost.error`` and ``asgihost.access`` lines, in the format the server set up, the app's
warnings, and the app's markers (tests/apps/marks.py).

``serve_process`` runs ``python -m asgihost run`` in a child process, for what only a process
shows: signals, workers and the supervisor, reload, pid files, exit codes of the command,
stdout and stderr as written (the summary table, colours, --log-config, JSON lines), the
environment, memory use. ``launch`` starts any command line that way.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import h2.config
import h2.connection
import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from asgihost.api import config_from_recipe
from asgihost.cli import build_parser, is_config_file
from asgihost.cli import main as cli_main
from asgihost.config import ConfigError
from asgihost.config.model import Limits
from asgihost.plan import head_limits
from asgihost.runtime import loop as loops
from asgihost.runtime.worker import Server

HEAD_LIMITS = head_limits(Limits())  # the model's request-head limits, for the HTTP/1.1 core

TESTS = Path(__file__).parent
APPS = TESTS / "apps"
ROOT = TESTS.parent

if str(APPS) not in sys.path:  # a server process gets PYTHONPATH=APPS; this one, the same path
    sys.path.insert(0, str(APPS))

import marks  # noqa: E402 - from APPS

SERVER_LOGGERS = ("asgihost.error", "asgihost.access")
UVICORN_STYLE_LOGGERS = ("asgihost", *SERVER_LOGGERS, "uvicorn", "uvicorn.error", "uvicorn.access")
"""What a log config written for Uvicorn configures (its names, and asgihost's they stand for)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 5.0) -> T:
    """Ask ``condition`` again until it returns something true, or ``timeout`` has passed; its
    last answer, for the caller to assert on. For what no event or socket tells: a file another
    process writes, numbers a server refreshes on a timer, a state an app shows on request."""
    deadline = time.monotonic() + timeout
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return result


def _connect(host: str, port: int | None, uds: str | None, timeout: float) -> socket.socket:
    if uds:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(uds)
        return sock
    assert port is not None
    return socket.create_connection((host, port), timeout=timeout)


class _Text:
    """Text written by a server, which waiters are told about as it grows."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._changed = threading.Condition()
        self.closed = False  # nothing more will come

    def write(self, text: str) -> None:
        with self._changed:
            self._parts.append(text)
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def read(self) -> str:
        with self._changed:
            return "".join(self._parts)

    def wait_for(self, found: Callable[[str], bool], timeout: float) -> bool:
        """Whether ``found(text)`` came true within ``timeout`` (False once closed without it)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if found("".join(self._parts)):
                    return True
                left = deadline - time.monotonic()
                if self.closed or left <= 0:
                    return False
                self._changed.wait(left)


class _Logged:
    """What both kinds of server share: the log as text, waited on; where to connect."""

    _text: _Text
    host = "127.0.0.1"
    port: int | None
    uds: str | None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self._text.read()

    def connect(self, timeout: float = 5.0) -> socket.socket:
        return _connect(self.host, self.port, self.uds, timeout)

    def wait_for_log(self, text: str, timeout: float = 5.0) -> str:
        return self.wait_for_log_count(text, 1, timeout)

    def wait_for_stall(self, value: Callable[[str], T], quiet: float = 0.3, timeout: float = 10.0) -> T:
        """``value(log)`` once the log has not changed it for ``quiet`` seconds: for a test that
        shows something stops (an app whose send waits on a client that reads nothing)."""
        deadline = time.monotonic() + timeout
        current = value(self.log())
        while self._text.wait_for(lambda log, seen=current: value(log) != seen, quiet):
            if time.monotonic() > deadline:
                raise AssertionError(f"still changing after {timeout}s: {current!r}")
            current = value(self.log())
        return current

    def wait_for_log_count(self, text: str, count: int, timeout: float = 5.0) -> str:
        """The log, once ``text`` is in it ``count`` times."""
        if not self._text.wait_for(lambda log: log.count(text) >= count, timeout):
            raise AssertionError(f"{text!r} not {count} time(s) in server log:\n{self.log()}")
        return self.log()


# ---- a server process ------------------------------------------------------------------------


class RunningServer(_Logged):
    """A server process; ``log()`` returns what it has written so far (stdout and stderr)."""

    def __init__(
        self, proc: subprocess.Popen[bytes], log_path: Path, port: int | None, uds: str | None
    ) -> None:
        self.proc = proc
        self.log_path = log_path
        self.port = port
        self.uds = uds
        self._text = _Text()
        self._reader = threading.Thread(target=self._read, name=f"log of {proc.pid}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        with open(self.log_path, "wb") as copy:
            while chunk := os.read(fd, 65536):
                copy.write(chunk)
                copy.flush()
                self._text.write(chunk.decode(errors="replace"))
        self.proc.stdout.close()
        self._text.close()

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"server did not stop within {timeout}s:\n{self.log()}") from None
        self._reader.join(5)  # the last lines it wrote
        return self.proc.returncode


def _wait_ready(server: RunningServer, timeout: float = 15.0) -> None:
    if server._text.wait_for(lambda log: "running on" in log, timeout):
        return
    if server.proc.poll() is not None or server._text.closed:
        server.proc.wait(5)
        server._reader.join(5)
        raise AssertionError(f"server exited with {server.proc.returncode}:\n{server.log()}")
    server.stop(signal.SIGKILL)
    raise AssertionError(f"server did not start:\n{server.log()}")


def launch(
    tmp_path: Path,
    argv: list[str],
    *,
    port: int | None = None,
    uds: str | None = None,
    wait: bool = True,
    env: dict[str, str] | None = None,
    pass_fds: tuple[int, ...] = (),
) -> RunningServer:
    log_path = tmp_path / f"server-{len(list(tmp_path.glob('server-*.log')))}.log"
    log_path.touch()
    full_env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(APPS))
    full_env.update(env or {})
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=full_env,
        cwd=str(APPS),
        pass_fds=pass_fds,
    )
    server = RunningServer(proc, log_path, port, uds)
    if wait:
        _wait_ready(server)
    return server


def _needs_a_port(app: str, flags: tuple[str, ...]) -> bool:
    """Whether the server is to be given a free port: the flags name no place to listen, and
    the target is an app or a file without listeners (which would listen on 127.0.0.1:8000)."""
    if any(flag in flags for flag in ("--uds", "--fd", "--port")):
        return False
    if not is_config_file(app):
        return True
    return "listeners" not in tomllib.loads(Path(app).read_text())


def _uds(flags: tuple[str, ...]) -> str | None:
    return flags[flags.index("--uds") + 1] if "--uds" in flags else None


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """``serve_process("module:app", "--flag", ...)`` runs ``asgihost run`` in a child process."""
    started: list[RunningServer] = []

    def start(app: str, *flags: str, wait: bool = True, env: dict[str, str] | None = None) -> RunningServer:
        port = free_port() if _needs_a_port(app, flags) else None
        extra = [] if port is None else ["--port", str(port)]
        argv = [sys.executable, "-m", "asgihost", "run", app, *extra, *flags]
        server = launch(tmp_path, argv, port=port, uds=_uds(flags), wait=wait, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.stop(signal.SIGKILL)


# ---- a server on a thread of this process ------------------------------------------------------


class ServerLog(logging.Handler):
    """What one in-process server logs, as its process would have written it: records from
    its thread, each formatted by the handler the server set up on its logger (records of
    other loggers, the app's, as Python's last-resort handler writes them: the message)."""

    def __init__(self, text: _Text) -> None:
        super().__init__()
        self.text = text
        self.thread: int | None = None
        self._plain = logging.Formatter("%(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:
            return
        formatter: logging.Formatter | None = self._plain
        if record.name in SERVER_LOGGERS:
            own = [h for h in logging.getLogger(record.name).handlers if getattr(h, "_asgihost", False)]
            formatter = own[0].formatter if own else self._plain
        try:
            self.text.write((formatter or self._plain).format(record) + "\n")
        except Exception:
            self.handleError(record)


class ThreadProc:
    """The part of ``subprocess.Popen`` the tests use, for a server on a thread: a stop signal
    does what the server's handler does (the first asks for a graceful stop, a second forces
    it); SIGKILL cancels the server's task, which stops it at once."""

    def __init__(self, owner: InProcessServer) -> None:
        self.owner = owner
        self.pid = os.getpid()

    def poll(self) -> int | None:
        return None if self.owner.thread.is_alive() else self.owner.exit_code()

    def wait(self, timeout: float | None = None) -> int:
        self.owner.thread.join(timeout)
        if self.owner.thread.is_alive():
            raise subprocess.TimeoutExpired(f"server thread {self.owner.thread.name}", timeout or 0)
        return self.owner.exit_code()

    def send_signal(self, sig: int) -> None:
        server = self.owner.server
        if sig == signal.SIGKILL:
            self.owner.kill()
        elif sig in (signal.SIGINT, signal.SIGTERM):
            if server.should_exit:
                server.force_exit = True
            server.should_exit = True
        else:
            raise ValueError(f"a server on a thread takes no {signal.Signals(sig).name}: use serve_process")


class InProcessServer(_Logged):
    """A server on a thread of this process, with ``RunningServer``'s interface; its ``port``
    is its first TCP listener's, once listening."""

    def __init__(self, server: Server, uds: str | None, name: str) -> None:
        self.server = server
        self.uds = uds
        self._port: int | None = None
        self.error: BaseException | None = None
        self._text = _Text()
        self._handler = ServerLog(self._text)
        self._ready = threading.Event()  # started, or the thread has ended
        self._task: tuple[asyncio.AbstractEventLoop, asyncio.Task[None]] | None = None
        self._killed = False
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.proc = ThreadProc(self)

    async def _serve(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._task = (asyncio.get_running_loop(), task)
        if self._killed:  # before the loop ran
            return
        await self.server.serve()

    def _run(self) -> None:
        ident = threading.get_ident()
        self._handler.thread = ident
        marks.sinks[ident] = lambda line: self._text.write(line + "\n")
        self.server.on_started = self._ready.set
        try:
            loops.run(self._serve, self.server.config.host_config.server.loop)
        except asyncio.CancelledError:
            if not self._killed:
                raise
        except BaseException as exc:  # a process would print it and exit 1
            self.error = exc
            self._text.write("".join(traceback.format_exception(exc)))
        finally:
            del marks.sinks[ident]
            self._text.close()
            self._ready.set()

    def kill(self) -> None:
        """Stop at once: no drain, the app's tasks cancelled (the server's own cleanup runs)."""
        self._killed = True
        self.server.force_exit = self.server.should_exit = True
        if self._task is not None:
            loop, task = self._task
            with contextlib.suppress(RuntimeError):  # the loop has closed: it is over
                loop.call_soon_threadsafe(task.cancel)

    @property
    def port(self) -> int | None:  # type: ignore[override]
        if self._port is None:
            self._port = listening_port(self.server)
        return self._port

    def exit_code(self) -> int:
        return 1 if self.error is not None else self.server.exit_code

    def start(self, wait: bool, timeout: float = 15.0) -> None:
        for name in SERVER_LOGGERS:
            logging.getLogger(name).addHandler(self._handler)
        root = logging.getLogger()
        self._handler.setLevel(logging.NOTSET)
        root.addHandler(_RootLevel(self._handler))
        self.thread.start()
        if not wait:
            return
        if not self._ready.wait(timeout):
            self.stop(signal.SIGKILL)
            raise AssertionError(f"server did not start within {timeout}s:\n{self.log()}")
        if not self.server.started:
            self.thread.join(5)
            raise AssertionError(f"server exited with {self.exit_code()}:\n{self.log()}")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> int:
        if self.thread.is_alive():
            self.proc.send_signal(sig)
            self.thread.join(timeout)
            if self.thread.is_alive():
                self.proc.send_signal(signal.SIGKILL)
                self.thread.join(5)
                raise AssertionError(f"server did not stop within {timeout}s:\n{self.log()}")
        return self.exit_code()

    def detach(self) -> None:
        """Take the log handlers off (once stopped)."""
        for name in SERVER_LOGGERS:
            logging.getLogger(name).removeHandler(self._handler)
        root = logging.getLogger()
        for handler in list(root.handlers):
            if isinstance(handler, _RootLevel) and handler.target is self._handler:
                root.removeHandler(handler)


class _RootLevel(logging.Handler):
    """The app's records (they reach the root logger), from warning up, as Python's
    last-resort handler would write them to a server process's stderr."""

    def __init__(self, target: ServerLog) -> None:
        super().__init__(logging.WARNING)
        self.target = target

    def emit(self, record: logging.LogRecord) -> None:
        if record.name not in SERVER_LOGGERS:  # those have their own handler
            self.target.emit(record)


def listening_port(server: Server) -> int | None:
    for listening in server.servers:
        for sock in listening.sockets:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                return int(sock.getsockname()[1])
    return None


_APP_DIRS: set[Path] = {APPS}  # every app_dir an in-process server has imported from


def _import_afresh(app_dirs: list[Path]) -> None:
    """Each server imports its apps afresh, as a new process would: module state starts clean,
    and a module name means the one in this server's app_dir (an earlier server's may have had
    the same name in another). So modules from every app_dir seen so far are forgotten (but for
    a directory holding asgihost or the tests, an app_dir of "." in the repository, and the
    markers' module), and this server's app_dirs go first on sys.path."""
    _APP_DIRS.update(app_dirs)
    kept = (ROOT / "asgihost", TESTS / "conftest.py")
    roots = tuple(str(d) + os.sep for d in _APP_DIRS if not any(k == d or d in k.parents for k in kept))
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if name != "marks" and file and file.startswith(roots):
            del sys.modules[name]
    for directory in reversed(app_dirs):
        with contextlib.suppress(ValueError):
            sys.path.remove(str(directory))
        sys.path.insert(0, str(directory))


@contextlib.contextmanager
def logging_restored(names: tuple[str, ...] = SERVER_LOGGERS) -> Iterator[None]:
    """A server (or a log config) sets loggers up (handlers, level, propagation, disabled):
    undo it, closing the handlers it added."""
    saved = [
        (log, list(log.handlers), log.level, log.propagate, log.disabled)
        for log in map(logging.getLogger, names)
    ]
    try:
        yield
    finally:
        for log, handlers, level, propagate, disabled in saved:
            for handler in list(log.handlers):
                if handler not in handlers:
                    log.removeHandler(handler)
                    handler.close()
            for handler in handlers:
                if handler not in log.handlers:
                    log.addHandler(handler)
            log.setLevel(level)
            log.propagate = propagate
            log.disabled = disabled


@contextlib.contextmanager
def in_process_servers(
    process: Callable[..., RunningServer] | None = None,
) -> Iterator[Callable[..., InProcessServer | RunningServer]]:
    """``serve`` for fixtures of any scope: ``with in_process_servers() as start``; at the end
    every server ``start`` started is stopped, its thread joined and its handlers taken off.

    What a thread cannot be is started by ``process`` (``serve_process``), when given: a config
    with workers, reload, a pid file, a log config or an env file (process-wide), one that does not validate
    (the command's exit status and message are the point), an ``env`` of its own."""
    started: list[InProcessServer] = []

    def in_a_process(app: str, flags: tuple[str, ...], wait: bool, env: dict[str, str] | None, why: str):
        if process is None:
            raise AssertionError(f"{why}: use serve_process")
        return process(app, *flags, wait=wait, env=env)

    def start(
        app: str, *flags: str, wait: bool = True, env: dict[str, str] | None = None
    ) -> InProcessServer | RunningServer:
        if env is not None:
            return in_a_process(app, flags, wait, env, "an environment of its own needs a process")
        extra = ["--port", "0"] if _needs_a_port(app, flags) else []  # the port: read once listening
        args = vars(build_parser().parse_args(["run", app, *extra, *flags]))
        args.pop("command")
        target = args.pop("target")
        options = {name: value for name, value in args.items() if value is not None}
        recipe = ("file", target, options) if is_config_file(target) else ("flags", target, options)
        try:
            config = config_from_recipe(recipe)
        except ConfigError:
            return in_a_process(app, flags, wait, env, "a config that does not validate exits the command")
        if config.host_config.reload.enabled or config.host_config.server.workers > 1:
            return in_a_process(app, flags, wait, env, "reload and workers need child processes")
        if config.pid_path is not None or config.log_config is not None or config.env_file is not None:
            return in_a_process(
                app, flags, wait, env, "a pid file, a log config or an env file is the process's"
            )
        _import_afresh([Path(os.path.abspath(spec.app_dir)) for spec in config.plan.apps])
        runner = Server(config)
        runner.show_summary = False  # rich writes to this process's stderr; serve_process shows it
        server = InProcessServer(runner, _uds(flags), f"server {len(started)} of {app}")
        started.append(server)
        server.start(wait)
        return server

    with logging_restored():
        try:
            yield start
        finally:
            problems = []
            for server in started:
                try:
                    server.stop(signal.SIGKILL, timeout=10)
                except AssertionError as exc:
                    problems.append(str(exc))
                server.detach()
            if problems:
                raise AssertionError("\n".join(problems))


@contextlib.asynccontextmanager
async def serving(server: Server, timeout: float = 10.0) -> AsyncIterator[int]:
    """``await server.serve()`` on the running loop, as a program of its own does: inside,
    the server has started (the first TCP port is given); on leaving, ``should_exit`` and the
    serve task's end. The asgihost loggers are as they were after."""
    loop = asyncio.get_running_loop()
    with logging_restored():
        task = asyncio.create_task(server.serve())
        try:
            deadline = loop.time() + timeout
            while not server.started:
                if task.done():
                    raise AssertionError(f"the server exited with {server.exit_code}")
                if loop.time() > deadline:
                    raise AssertionError(f"the server did not start within {timeout}s")
                await asyncio.sleep(0.01)
            port = listening_port(server)
            assert port is not None, "no TCP listener"
            yield port
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, timeout)


@pytest.fixture
def serve(
    serve_process: Callable[..., RunningServer],
) -> Iterator[Callable[..., InProcessServer | RunningServer]]:
    """``serve("module:app", "--flag", ...)``: the server of ``asgihost run module:app --flag ...``
    on a thread of this process, on a free port unless the flags name a place; in a process
    (``serve_process``) when a thread cannot be it (see ``in_process_servers``). A test about
    signals, a lone server's pid or its output as written asks for ``serve_process`` itself."""
    with in_process_servers(serve_process) as start:
        yield start


def run_command(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``asgihost ARGS`` in this process, for a command that neither serves nor imports apps
    (``check`` without ``--import``, ``init``, ``schema``): ``main()`` run in ``cwd`` with
    ``env`` as the whole environment, its output and exit status taken as a process's are."""
    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    code: int | str | None = 0
    try:
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli_main(list(args))
            except SystemExit as exc:
                code = exc.code
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    if isinstance(code, str):  # sys.exit("message"): printed, status 1
        err.write(code + "\n")
        code = 1
    return subprocess.CompletedProcess(["asgihost", *args], code or 0, out.getvalue(), err.getvalue())


def check_config(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    """``asgihost check`` of an asgihost.toml holding ``text`` (written to ``tmp_path``)."""
    config = tmp_path / "asgihost.toml"
    config.write_text(text)
    return run_command("check", str(config), cwd=tmp_path, env=dict(os.environ))


def http_exchange(
    sock: socket.socket, request: bytes, *, until_close: bool = False, timeout: float = 5.0
) -> bytes:
    """Send raw bytes; read until the peer closes (``until_close``) or one response is complete."""
    sock.settimeout(timeout)
    sock.sendall(request)
    data = bytearray()
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
        if not until_close and _complete(data):
            break
    return bytes(data)


def _complete(data: bytearray) -> bool:
    end = data.find(b"\r\n\r\n")
    if end == -1:
        return False
    head = bytes(data[:end]).lower()
    body_len = len(data) - end - 4
    if b"content-length:" in head:
        return body_len >= int(head.split(b"content-length:")[1].split(b"\r\n")[0])
    if b"transfer-encoding: chunked" in head:
        return data.endswith(b"0\r\n\r\n")
    status_line = head.split(b"\r\n")[0]
    return status_line.startswith(b"http/1.1 1") or b" 204 " in status_line or b" 304 " in status_line


def series(text: str) -> dict[str, float]:
    """The samples of a Prometheus text page, by name with labels."""
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def raw_h2_client() -> h2.connection.H2Connection:
    """A client-side h2 connection that sends headers as given (no validation, no
    normalisation: for malformed and hostile requests), its preface queued."""
    config = h2.config.H2Configuration(
        client_side=True,
        header_encoding=None,
        validate_outbound_headers=False,
        normalize_outbound_headers=False,
        validate_inbound_headers=False,
    )
    conn = h2.connection.H2Connection(config)
    conn.initiate_connection()
    return conn
