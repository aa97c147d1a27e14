"""Several worker processes behind one set of listeners, watched by a supervisor that runs no
app code.

The supervisor binds every listener once and spawns workers that inherit the sockets. Each
worker talks to it over a pipe: "ready" once it serves, "pong" to each "ping", "recycle" when
it has served its ``max_requests``.

Invariants:
- A worker that dies, or does not answer a ping within ``healthcheck_timeout``, is replaced.
- A worker that exits before saying "ready" failed to start (an import error, a failed
  lifespan startup): the server stops with its exit code instead of starting it again and again.
- A worker to recycle is replaced new-before-old: its successor says "ready" first, then it
  gets SIGTERM and drains.
- SIGINT/SIGTERM stop every worker gracefully (each drains as a single server does); a second
  one kills them. SIGTTIN adds a worker, SIGTTOU removes one.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import random
import signal
import socket
import time
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from .sockets import BindError, bind, display_address, remove_unix_socket

if TYPE_CHECKING:
    from ..api import Config, Recipe

logger = logging.getLogger("asgihost.error")
_spawn = multiprocessing.get_context("spawn")
PING_EVERY_S = 1.0


class Worker:
    __slots__ = ("process", "pipe", "ready", "ping_sent", "last_ping", "retiring", "recycling", "killed")

    def __init__(self, process: BaseProcess, pipe: Connection) -> None:
        self.process = process
        self.pipe = pipe
        self.ready = False
        self.ping_sent = 0.0  # when the unanswered ping went out; 0: none outstanding
        self.last_ping = 0.0
        self.retiring = False  # SIGTERM sent: draining, not counted
        self.recycling = False  # asked to be replaced; its successor is starting
        self.killed = False  # hung: SIGKILL sent


class Supervisor:
    def __init__(self, config: Config, recipe: Recipe) -> None:
        self.config = config
        self.recipe = recipe
        server = config.host_config.server
        self.target = server.workers
        self.timeout = server.healthcheck_timeout
        self.workers: list[Worker] = []
        self.sockets: list[socket.socket] = []
        self.stopping = 0  # signals received
        self.exit_code = 0

    # ---- the loop ----------------------------------------------------------------------------

    def run(self) -> int:
        self.config.configure_logging()
        try:
            for listener in self.config.plan.listeners:
                self.sockets.append(bind(listener.bind, listener.config.backlog, listener.config.mode))
        except BindError as exc:
            logger.error("%s", exc)
            return 1
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGTTIN, signal.SIGTTOU):
            signal.signal(sig, self._on_signal)
        logger.info("Started parent process [%d]", os.getpid())
        for sock in self.sockets:
            logger.info("asgihost will serve on %s with %d workers", display_address(sock), self.target)
        try:
            for _ in range(self.target):
                self._spawn()
            while not self.stopping and not self.exit_code:
                self._step()
        finally:
            self._stop_all()
            for sock in self.sockets:
                sock.close()
            for listener in self.config.plan.listeners:
                if listener.bind.kind == "unix":
                    remove_unix_socket(listener.bind.path)
        logger.info("Stopping parent process [%d]", os.getpid())
        return self.exit_code

    def _on_signal(self, signum: int, frame: Any) -> None:
        if signum == signal.SIGTTIN:
            self.target += 1
        elif signum == signal.SIGTTOU:
            self.target = max(1, self.target - 1)
        else:
            self.stopping += 1
            if self.stopping > 1:
                for worker in self.workers:
                    if worker.process.is_alive():
                        worker.process.kill()

    def _step(self) -> None:
        pipes = [w.pipe for w in self.workers if not w.retiring]
        for pipe in wait([*pipes, *(w.process.sentinel for w in self.workers)], timeout=0.2):
            if isinstance(pipe, Connection):
                self._message(pipe)
        now = time.monotonic()
        for worker in list(self.workers):
            if not worker.process.is_alive():
                self._exited(worker)
            elif worker.ready and not worker.retiring and not worker.killed:
                if worker.ping_sent and now - worker.ping_sent > self.timeout:
                    logger.error(
                        "Worker [%d] did not answer a health check; replacing it", worker.process.pid
                    )
                    worker.killed = True
                    worker.process.kill()
                elif not worker.ping_sent and now - worker.last_ping >= PING_EVERY_S:
                    self._send(worker, "ping")
                    worker.ping_sent = worker.last_ping = now
        serving = [w for w in self.workers if not w.retiring and not w.recycling]
        if len(serving) < self.target and not self.exit_code:
            for _ in range(self.target - len(serving)):
                self._spawn()
        elif len(serving) > self.target:
            self._retire(serving[-1])

    def _message(self, pipe: Connection) -> None:
        worker = next((w for w in self.workers if w.pipe is pipe), None)
        try:
            message = pipe.recv()
        except (EOFError, OSError):
            return
        if worker is None:
            return
        if message == "ready":
            worker.ready = True
            for old in self.workers:  # a successor is up: its predecessor may go
                if old.recycling and not old.retiring:
                    self._retire(old)
                    break
        elif message == "pong":
            worker.ping_sent = 0.0
        elif message == "recycle" and not worker.recycling:
            logger.info("Worker [%d] reached its max requests; replacing it", worker.process.pid)
            worker.recycling = True
            self._spawn()

    def _exited(self, worker: Worker) -> None:
        self.workers.remove(worker)
        worker.pipe.close()
        code = worker.process.exitcode
        if worker.retiring:
            return
        if not worker.ready:
            logger.error("Worker [%d] failed to start (exit code %s); stopping", worker.process.pid, code)
            self.exit_code = code if code and code > 0 else 3
            return
        logger.warning("Worker [%d] died (exit code %s); starting a new one", worker.process.pid, code)

    # ---- workers -----------------------------------------------------------------------------

    def _spawn(self) -> None:
        from ..api import serve_worker

        parent, child = _spawn.Pipe()
        server = self.config.host_config.server
        max_requests = None
        if server.max_requests is not None:
            max_requests = server.max_requests + random.randint(0, server.max_requests_jitter)
        process = _spawn.Process(target=serve_worker, args=(self.recipe, self.sockets, child, max_requests))
        process.start()
        child.close()
        self.workers.append(Worker(process, parent))

    def _retire(self, worker: Worker) -> None:
        worker.retiring = True
        if worker.process.is_alive():
            worker.process.terminate()  # SIGTERM: drain and stop

    def _send(self, worker: Worker, message: str) -> None:
        try:
            worker.pipe.send(message)
        except (BrokenPipeError, OSError):
            pass

    def _stop_all(self) -> None:
        for worker in self.workers:
            if worker.process.is_alive():
                worker.process.terminate()
        timeout = self.config.host_config.server.graceful_timeout
        deadline = None if timeout is None else time.monotonic() + timeout + 5
        for worker in self.workers:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            worker.process.join(remaining)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        self.workers.clear()
