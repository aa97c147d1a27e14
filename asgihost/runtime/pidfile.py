"""The pid file: written by the process that receives signals (a lone server, the supervisor or
the reloader), removed when it stops, read by ``asgihost reload``.

A file naming a live process other than this one means the server already runs: starting is
refused. A file naming a dead process is stale and replaced.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


class PidFileError(Exception):
    pass


def read_pid(path: Path) -> int:
    """The pid a file names; PidFileError when it is missing, unreadable or names no process."""
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise PidFileError(f"cannot read the pid file {path}: {exc.strerror}") from None
    if not text.isdigit() or int(text) <= 0:
        raise PidFileError(f"the pid file {path} does not hold a process id: {text[:40]!r}")
    pid = int(text)
    if not _alive(pid):
        raise PidFileError(f"no process {pid} runs (the pid file {path} is stale)")
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's process: alive
        return True
    return True


def write_pid_file(path: Path) -> None:
    """Write this process's id, atomically; refuse when a live process already holds the file."""
    try:
        pid = read_pid(path)
    except PidFileError:
        pid = None
    if pid is not None and pid != os.getpid():
        raise PidFileError(f"the pid file {path} names process {pid}, which is running")
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        temporary.write_text(f"{os.getpid()}\n")
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise PidFileError(f"cannot write the pid file {path}: {exc.strerror}") from None


def remove_pid_file(path: Path) -> None:
    """Remove the file if it still names this process (a newer server may have replaced it)."""
    try:
        if path.read_text().strip() == str(os.getpid()):
            path.unlink()
    except OSError:
        pass


@contextlib.contextmanager
def pid_file(path: Path | None) -> Iterator[None]:
    """Hold the pid file (none when ``path`` is None) while the body runs; raises PidFileError
    when it cannot be written."""
    if path is None:
        yield
        return
    write_pid_file(path)
    try:
        yield
    finally:
        remove_pid_file(path)
