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
- Signal handlers only record (``signals.SignalQueue``); the loop acts, woken at once by the
  queue's pipe in the set it waits on.
- SIGINT/SIGTERM stop every worker gracefully (each drains as a single server does); a second
  one kills them at once, while they drain too. SIGTTIN adds a worker, SIGTTOU removes one.
- SIGHUP re-reads the config. Invalid: every problem is logged and nothing changes. Valid: a new
  generation of workers starts on it (listeners whose bind is unchanged keep their socket, so
  no connection is refused); once all of them serve, the old ones drain. If one of them fails
  to start, the new generation is killed and the old one goes on.
- SIGUSR1 reopens the supervisor's log files and is passed on to every worker.
- The pid file, when configured, names the supervisor from start to stop.
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

from ..config import ConfigError
from ..logs import reopen_log_files
from ..logs.summary import print_summary
from ..metrics import Snapshot, exposition, merge, retire
from ..settings import config_from_recipe
from .child import serve_worker
from .metrics_server import serve_metrics
from .pidfile import PidFileError, pid_file
from .signals import SUPERVISOR_SIGNALS, SignalQueue, wait_for_children
from .sockets import BindError, bind, display_address, remove_unix_socket

if TYPE_CHECKING:
    from ..settings import Config, Recipe

logger = logging.getLogger("asgihost.error")
_spawn = multiprocessing.get_context("spawn")
PING_EVERY_S = 1.0


class Worker:
    __slots__ = (
        "process",
        "pipe",
        "generation",
        "ready",
        "ping_sent",
        "last_ping",
        "retiring",
        "recycling",
        "killed",
        "metrics",
    )

    def __init__(self, process: BaseProcess, pipe: Connection, generation: int) -> None:
        self.process = process
        self.pipe = pipe
        self.generation = generation  # which config it serves: each reload starts a new one
        self.ready = False
        self.ping_sent = 0.0  # when the unanswered ping went out; 0: none outstanding
        self.last_ping = 0.0
        self.retiring = False  # SIGTERM sent: draining, not counted
        self.recycling = False  # asked to be replaced; its successor is starting
        self.killed = False  # hung: SIGKILL sent
        self.metrics: Snapshot | None = None  # its latest, from its last pong


class Supervisor:
    def __init__(self, config: Config, recipe: Recipe) -> None:
        self.config = config
        self.recipe = recipe
        server = config.plan.server
        self.target = server.workers
        self.timeout = server.healthcheck_timeout
        self.workers: list[Worker] = []
        self.sockets: list[socket.socket] = []
        self.signals = SignalQueue()
        self.exit_code = 0
        self.generation = 0
        self.previous: tuple[Config, list[socket.socket], int] | None = None  # while a reload starts
        self.announced = False  # the summary table is printed once the first workers all serve
        self.metrics_on = server.metrics
        self.retired: list[Snapshot] = []  # metrics of workers that are gone, summed into one
        self.restarts = 0  # workers replaced after dying or hanging
        self._metrics_server: Any = None

    # ---- the loop ----------------------------------------------------------------------------

    def run(self) -> int:
        if not self.config.configure_logging():
            return 1
        try:
            with pid_file(self.config.pid_path), self.signals.recording(SUPERVISOR_SIGNALS):
                return self._run()
        except PidFileError as exc:
            logger.error("%s", exc)
            return 1

    def _run(self) -> int:
        self.config.log_notes()
        try:
            for listener in self.config.plan.listeners:
                self.sockets.append(bind(listener.bind, listener.config.backlog, listener.config.mode))
            metrics_bind = self.config.plan.metrics_bind
            if metrics_bind is not None:
                metrics_sock = bind(metrics_bind, 128, 0o666)
                self._metrics_server = serve_metrics(metrics_sock, lambda: exposition(self.metrics_total()))
                logger.info("Metrics on %s (the sum over every worker)", display_address(metrics_sock))
        except BindError as exc:
            logger.error("%s", exc)
            for sock in self.sockets:
                sock.close()
            return 1
        logger.info("Started parent process [%d]", os.getpid())
        for sock in self.sockets:
            logger.info("asgihost will serve on %s with %d workers", display_address(sock), self.target)
        try:
            for _ in range(self.target):
                self._spawn()
            while not self.signals.stopping and not self.exit_code:
                self._on_signals()
                self._step()
        finally:
            self._stop_all()
            if self._metrics_server is not None:
                self._metrics_server.shutdown()
                self._metrics_server.server_close()
                metrics_bind = self.config.plan.metrics_bind
                if metrics_bind is not None and metrics_bind.kind == "unix":
                    remove_unix_socket(metrics_bind.path)
            for sock in self.sockets:
                sock.close()
            for listener in self.config.plan.listeners:
                if listener.bind.kind == "unix":
                    remove_unix_socket(listener.bind.path)
        logger.info("Stopping parent process [%d]", os.getpid())
        return self.exit_code

    def _on_signals(self) -> None:
        """Act on the signals recorded since the last step (several SIGHUPs or SIGUSR1s in a
        row are one; a stop signal ends the loop, which checks for it)."""
        taken = self.signals.take()
        for signum in taken:
            if signum == signal.SIGTTIN:
                self.target += 1
                logger.info("SIGTTIN: %d workers from now on", self.target)
            elif signum == signal.SIGTTOU:
                self.target = max(1, self.target - 1)
                logger.info("SIGTTOU: %d workers from now on", self.target)
        if signal.SIGUSR1 in taken:
            reopen_log_files()
            for worker in self.workers:
                if worker.process.is_alive() and worker.process.pid is not None:
                    os.kill(worker.process.pid, signal.SIGUSR1)
        if signal.SIGHUP in taken:
            self._reload()

    def _step(self) -> None:
        pipes = [w.pipe for w in self.workers if not w.retiring]
        ready = wait(
            [*pipes, *(w.process.sentinel for w in self.workers), self.signals.fileno()], timeout=0.2
        )
        for pipe in ready:
            if isinstance(pipe, Connection):
                self._message(pipe)
        if self.signals.stopping:  # no health checks nor new workers: the loop stops them all
            return
        now = time.monotonic()
        ping: Any = None  # with metrics, the sum goes with each ping: made once per step
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
                    self.restarts += 1
                elif not worker.ping_sent and now - worker.last_ping >= PING_EVERY_S:
                    if ping is None:
                        ping = ("ping", self.metrics_total()) if self.metrics_on else "ping"
                    self._send(worker, ping)
                    worker.ping_sent = worker.last_ping = now
        serving = [
            w for w in self.workers if w.generation == self.generation and not w.retiring and not w.recycling
        ]
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
            if self.previous is not None and self._generation_ready():
                self._finish_reload()
                self._print_summary()
            elif not self.announced and self._generation_ready():
                self.announced = True
                self._print_summary()
        elif message == "pong":
            worker.ping_sent = 0.0
        elif isinstance(message, tuple) and message[0] == "pong":
            worker.ping_sent = 0.0
            worker.metrics = message[1]
        elif message == "recycle" and not worker.recycling:
            logger.info("Worker [%d] reached its max requests; replacing it", worker.process.pid)
            worker.recycling = True
            self._spawn()

    def _exited(self, worker: Worker) -> None:
        self.workers.remove(worker)
        worker.pipe.close()
        if worker.metrics is not None:  # its counts stay in the sums
            self.retired = [merge([*self.retired, retire(worker.metrics)])]
        code = worker.process.exitcode
        if worker.retiring:
            return
        if not worker.ready and self.previous is not None and worker.generation == self.generation:
            logger.error(
                "Reload failed: worker [%d] did not start (exit code %s); the running workers go on",
                worker.process.pid,
                code,
            )
            self._abandon_reload()
            return
        if not worker.ready:
            logger.error("Worker [%d] failed to start (exit code %s); stopping", worker.process.pid, code)
            self.exit_code = code if code and code > 0 else 3
            return
        logger.warning("Worker [%d] died (exit code %s); starting a new one", worker.process.pid, code)
        self.restarts += 1

    def metrics_total(self) -> Snapshot:
        """The sum over every worker (as of its last pong) and the workers that are gone."""
        live = [w.metrics for w in list(self.workers) if w.metrics is not None]  # draining ones too
        total = merge([*live, *self.retired])
        total["restarts"] = self.restarts
        total["workers"] = len([w for w in self.workers if w.ready and not w.retiring])
        return total

    def _print_summary(self) -> None:
        tls = [listener.tls is not None for listener in self.config.plan.listeners]
        addresses = [display_address(sock, tls=t) for sock, t in zip(self.sockets, tls, strict=True)]
        print_summary(self.config.plan, addresses, self.target, os.getpid())

    # ---- reload (SIGHUP) -----------------------------------------------------------------------

    def _reload(self) -> None:
        """Re-read the config; if it is valid, start a generation of workers on it, and retire
        the running ones once they all serve. Listeners with an unchanged bind keep their socket."""
        if self.previous is not None:
            logger.warning("A reload is already starting; this one is ignored")
            return
        logger.info("Reloading the configuration")
        try:
            config = config_from_recipe(self.recipe)
        except ConfigError as exc:
            for problem in exc.problems:
                logger.error("Reload refused: %s", problem)
            return
        current = {
            str(listener.bind): sock
            for listener, sock in zip(self.config.plan.listeners, self.sockets, strict=True)
        }
        sockets: list[socket.socket] = []
        try:
            for listener in config.plan.listeners:
                sock = current.get(str(listener.bind))
                sockets.append(
                    sock
                    if sock is not None
                    else bind(listener.bind, listener.config.backlog, listener.config.mode)
                )
        except BindError as exc:
            logger.error("Reload refused: %s", exc)
            for sock in sockets:
                if sock not in current.values():
                    sock.close()
            return
        self.previous = (self.config, self.sockets, self.generation)
        self.config, self.sockets = config, sockets
        self.target = config.plan.server.workers
        self.timeout = config.plan.server.healthcheck_timeout
        self.generation += 1
        for _ in range(self.target):
            self._spawn()

    def _generation_ready(self) -> bool:
        new = [w for w in self.workers if w.generation == self.generation]
        return len(new) >= self.target and all(w.ready for w in new)

    def _finish_reload(self) -> None:
        assert self.previous is not None
        old_config, old_sockets, _ = self.previous
        self.previous = None
        for worker in self.workers:
            if worker.generation != self.generation and not worker.retiring:
                self._retire(worker)
        kept = {id(sock) for sock in self.sockets}
        for listener, sock in zip(old_config.plan.listeners, old_sockets, strict=True):
            if id(sock) not in kept:
                sock.close()
                if listener.bind.kind == "unix":
                    remove_unix_socket(listener.bind.path)
        logger.info("Reloaded: %d workers serve the new configuration", self.target)

    def _abandon_reload(self) -> None:
        assert self.previous is not None
        config, sockets, generation = self.previous
        self.previous = None
        for worker in self.workers:
            if worker.generation == self.generation:
                worker.retiring = True
                if worker.process.is_alive():
                    worker.process.kill()
        kept = {id(sock) for sock in sockets}
        for sock in self.sockets:
            if id(sock) not in kept:
                sock.close()
        self.config, self.sockets, self.generation = config, sockets, generation
        self.target = config.plan.server.workers

    # ---- workers -----------------------------------------------------------------------------

    def _spawn(self) -> None:
        parent, child = _spawn.Pipe()
        server = self.config.plan.server
        max_requests = None
        if server.max_requests is not None:
            max_requests = server.max_requests + random.randint(0, server.max_requests_jitter)
        process = _spawn.Process(target=serve_worker, args=(self.recipe, self.sockets, child, max_requests))
        process.start()
        child.close()
        self.workers.append(Worker(process, parent, self.generation))

    def _retire(self, worker: Worker) -> None:
        worker.retiring = True
        if worker.process.is_alive():
            worker.process.terminate()  # SIGTERM: drain and stop

    def _send(self, worker: Worker, message: Any) -> None:
        try:
            worker.pipe.send(message)
        except (BrokenPipeError, OSError):
            pass

    def _stop_all(self) -> None:
        """SIGTERM every worker not already retiring and wait for them all to drain; kill those
        left once the drain delay and the graceful timeout (and 5 s more) are over, or at once on
        a second stop signal."""
        for worker in self.workers:
            # A retiring worker has had its SIGTERM and drains: a second one would stop it at once.
            if worker.process.is_alive() and not worker.retiring:
                worker.process.terminate()
        server = self.config.plan.server
        processes = [w.process for w in self.workers]
        wait_for_children(processes, self.signals, server.drain_delay, server.graceful_timeout, "worker(s)")
        for worker in self.workers:
            worker.process.join()
        self.workers.clear()
