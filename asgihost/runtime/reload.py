"""Development reload on watchfiles: a parent process that runs no app code watches files and
runs the server in a child process, started again after every change.

Invariants:
- The child makes its config again from the recipe (``settings.config_from_recipe``), so a changed
  asgihost.toml, app or listener is taken as it now is; the child binds its own listeners.
- A child that cannot start (a broken import, an invalid file) has said why on its way out;
  the parent waits for the next change instead of exiting.
- Signal handlers only record (``signals.SignalQueue``); the loop acts. watchfiles polls the
  queue as its stop event, and yields to the loop every ``delay`` even without a change.
- SIGINT/SIGTERM stop the child (gracefully, as a server stops) and then the parent; a second
  one kills the child at once.
- SIGHUP starts the child again, as a change would; SIGUSR1 reopens log files in both.
- The pid file, when configured, names the parent.
"""

from __future__ import annotations

import fnmatch
import logging
import multiprocessing
import os
import signal
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING

import watchfiles

from ..logs import reopen_log_files
from .child import serve_recipe
from .pidfile import PidFileError, pid_file
from .signals import SERVER_SIGNALS, SignalQueue, wait_for_children

if TYPE_CHECKING:
    from ..settings import Config, Recipe

logger = logging.getLogger("asgihost.error")

DEFAULT_INCLUDE = ("*.py",)
DEFAULT_EXCLUDE = (".*", ".py[cod]", ".sw.*", "~*")
_spawn = multiprocessing.get_context("spawn")


class _Filter(watchfiles.DefaultFilter):
    """watchfiles' default ignores (.git, __pycache__, ...), then our globs on the file name;
    the config file always passes."""

    def __init__(self, include: list[str], exclude: list[str], always: set[str]) -> None:
        super().__init__()
        self.include = [*DEFAULT_INCLUDE, *include]
        self.exclude = [*DEFAULT_EXCLUDE, *exclude]
        self.always = always

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        if path in self.always:
            return True
        if not super().__call__(change, path):
            return False
        name = Path(path).name
        if any(fnmatch.fnmatch(name, pattern) for pattern in self.exclude):
            return False
        return any(fnmatch.fnmatch(name, pattern) for pattern in self.include)


def _shown(path: str) -> str:
    here = Path.cwd()
    return str(Path(path).relative_to(here)) if Path(path).is_relative_to(here) else path


class Reloader:
    def __init__(self, config: Config, recipe: Recipe) -> None:
        self.config = config
        self.recipe = recipe
        self.signals = SignalQueue()
        settings = config.plan.reload
        base = config.base_dir
        if settings.dirs:
            dirs = [base / d for d in settings.dirs]
        else:
            dirs = [base, *(Path(spec.app_dir) for spec in config.plan.apps)]
        unique: list[Path] = []
        for path in (d.resolve() for d in dirs):
            if path.is_dir() and not any(path == u or path.is_relative_to(u) for u in unique):
                unique = [u for u in unique if not u.is_relative_to(path)] + [path]
        self.dirs = unique
        config_file = str(Path(recipe[1]).resolve()) if recipe[0] == "file" else None
        self.filter = _Filter(settings.include, settings.exclude, {config_file} if config_file else set())
        self.extra_paths = (
            [config_file]
            if config_file and not any(Path(config_file).is_relative_to(d) for d in unique)
            else []
        )
        self.delay = settings.delay
        self.process: BaseProcess | None = None

    def run(self) -> int:
        if not self.config.configure_logging():
            return 1
        try:
            with pid_file(self.config.pid_path), self.signals.recording(SERVER_SIGNALS):
                return self._run()
        except PidFileError as exc:
            logger.error("%s", exc)
            return 1

    def _run(self) -> int:
        self.config.log_notes()
        logger.info("Will watch for changes in these directories: %s", [str(d) for d in self.dirs])
        logger.info("Started reloader process [%d] using WatchFiles", multiprocessing.current_process().pid)
        self._start()
        waiting = False
        for changes in watchfiles.watch(
            *self.dirs,
            *self.extra_paths,
            watch_filter=self.filter,
            stop_event=self.signals,
            rust_timeout=max(int(self.delay * 1000), 50),
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            if self.signals.stopping:
                break
            taken = self.signals.take()
            if signal.SIGUSR1 in taken:
                reopen_log_files()
                if self.process is not None and self.process.is_alive() and self.process.pid:
                    os.kill(self.process.pid, signal.SIGUSR1)
            hangup = signal.SIGHUP in taken
            if changes or hangup:
                names = sorted({_shown(path) for _, path in changes})
                if hangup:
                    logger.warning("SIGHUP received. Reloading...")
                else:
                    logger.warning("Changes detected in %s. Reloading...", ", ".join(names))
                self._stop_child()
                if self.signals.stopping:  # asked to stop while the child stopped
                    break
                self._start()
                waiting = False
            elif not waiting and self.process is not None and not self.process.is_alive():
                waiting = True
                logger.error(
                    "The server stopped (exit code %s); waiting for a change to start it again.",
                    self.process.exitcode,
                )
        self._stop_child()
        logger.info("Stopping reloader process [%d]", multiprocessing.current_process().pid)
        return 0

    def _start(self) -> None:
        process = _spawn.Process(target=serve_recipe, args=(self.recipe,))
        process.start()
        self.process = process

    def _stop_child(self) -> None:
        process = self.process
        if process is None or not process.is_alive():
            return
        process.terminate()  # SIGTERM: a graceful stop
        server = self.config.plan.server
        wait_for_children([process], self.signals, server.drain_delay, server.graceful_timeout, "server")
        process.join()
