"""Signals to a supervisor (and a reloader) are acted on by its loop: a second SIGINT stops it at
once while a request is in flight, SIGTTIN/SIGTTOU change the number of workers."""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import time

from conftest import free_port, launch


def started_pids(server) -> list[int]:
    return [int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", server.log())]


def wait_running(server, count: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while server.log().count("running on") < count:
        assert time.monotonic() < deadline and server.proc.poll() is None, server.log()
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def live_workers(server, count: int, timeout: float = 20.0) -> set[int]:
    """Once exactly ``count`` of the workers ever started are alive: their pids."""
    deadline = time.monotonic() + timeout
    while True:
        live = {pid for pid in started_pids(server) if alive(pid)}
        if len(live) == count:
            return live
        assert time.monotonic() < deadline, (live, server.log())
        time.sleep(0.05)


def hold_a_request(server) -> socket.socket:
    """A request the app never answers, once the app has it."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    server.wait_for_log("REQUEST-STARTED", timeout=10)
    return sock


def test_a_second_sigint_stops_the_workers_at_once_while_a_request_is_in_flight(serve):
    # the drain would wait 10 minutes for the request: only the kill ends it within stop()
    server = serve("control:forever", "--workers", "2", "--timeout-graceful-shutdown", "600", wait=False)
    wait_running(server, 2)
    workers = started_pids(server)
    with hold_a_request(server) as sock:
        server.proc.send_signal(signal.SIGINT)
        server.wait_for_log("Waiting for connections to close", timeout=10)
        assert server.proc.poll() is None  # the first one drains
        assert server.stop(signal.SIGINT) == 0
        assert sock.recv(1024) == b""  # the worker holding it is gone: no answer
    # The worker holding the request is killed; the idle one may have drained and gone already.
    assert re.search(r"killing [12] worker\(s\) at once", server.log()), server.log()
    assert "REQUEST-CANCELLED" not in server.log()  # killed, not cancelled by a timeout
    assert not any(alive(pid) for pid in workers)


def test_ttin_and_ttou_change_the_number_of_workers(serve):
    server = serve("pid_app:app", "--workers", "2", wait=False)
    wait_running(server, 2)
    parent = server.proc.pid
    os.kill(parent, signal.SIGTTIN)
    server.wait_for_log("SIGTTIN: 3 workers from now on")
    # once recorded, the next one counts too (the same signal twice before its handler runs is
    # one signal: Unix does not queue them)
    os.kill(parent, signal.SIGTTIN)
    server.wait_for_log("SIGTTIN: 4 workers from now on")
    wait_running(server, 4)
    assert len(live_workers(server, 4)) == 4
    os.kill(parent, signal.SIGTTOU)
    server.wait_for_log("SIGTTOU: 3 workers from now on")
    live = live_workers(server, 3)
    assert server.log().count("running on") == 4  # one retired, none started again
    os.kill(parent, signal.SIGTTOU)
    server.wait_for_log("SIGTTOU: 2 workers from now on")
    assert live_workers(server, 2) < live
    assert server.stop() == 0


def test_a_second_sigint_kills_the_reloaders_draining_child(tmp_path):
    port = free_port()
    argv = [sys.executable, "-m", "asgihost", "run", "control:forever", "--port", str(port), "--reload"]
    argv += ["--reload-dir", str(tmp_path), "--timeout-graceful-shutdown", "600"]
    server = launch(tmp_path, argv, port=port)
    with hold_a_request(server) as sock:
        server.proc.send_signal(signal.SIGINT)
        server.wait_for_log("Waiting for connections to close", timeout=10)
        assert server.proc.poll() is None
        assert server.stop(signal.SIGINT) == 0
        assert sock.recv(1024) == b""
    assert "Stopping reloader process" in server.log()
    assert not any(alive(pid) for pid in started_pids(server))
