"""Several workers under a supervisor: real processes, real sockets."""

from __future__ import annotations

import concurrent.futures
import os
import re
import signal
import socket
import time

import httpx


def pid_of(server) -> int:
    return int(httpx.get(f"{server.url}/", timeout=10, headers={"connection": "close"}).text)


def worker_pids(server) -> set[int]:
    return {int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", server.log())}


def wait_workers(server, count: int, timeout: float = 20.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.log().count("running on") >= count:
            return worker_pids(server)
        time.sleep(0.05)
    raise AssertionError(server.log())


def test_every_worker_serves_and_a_killed_one_is_replaced(serve):
    server = serve("pid_app:app", "--workers", "3", wait=False)
    pids = wait_workers(server, 3)
    assert len(pids) == 3 and os.getpid() not in pids
    # Each /busy request holds its worker's event loop for a second, so the next connection,
    # opened meanwhile, has to be taken by another worker.
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        futures = []
        for _ in range(3):
            futures.append(pool.submit(lambda: int(httpx.get(f"{server.url}/busy", timeout=10).text)))
            time.sleep(0.2)
        seen = {future.result() for future in futures}
    assert seen == pids
    victim = next(iter(pids))
    os.kill(victim, signal.SIGKILL)
    server.wait_for_log(f"Worker [{victim}] died", timeout=10)
    wait_workers(server, 4)
    new = worker_pids(server) - pids
    assert len(new) == 1
    for _ in range(50):
        assert pid_of(server) != victim
    assert server.stop() == 0


def test_a_worker_that_cannot_start_stops_the_server(serve):
    server = serve("no_such_module:app", "--workers", "2", wait=False)
    assert server.proc.wait(30) == 3
    log = server.log()
    assert 'Could not import module "no_such_module"' in log and "failed to start" in log


def test_max_requests_recycles_workers_without_failing_a_request(serve):
    server = serve("pid_app:app", "--workers", "2", "--limit-max-requests", "15", wait=False)
    wait_workers(server, 2)
    statuses = []
    for _ in range(150):
        statuses.append(httpx.get(f"{server.url}/", timeout=10, headers={"connection": "close"}).status_code)
    assert statuses == [200] * 150
    assert "reached its max requests" in server.log()
    assert len(worker_pids(server)) > 2
    assert server.stop() == 0


def test_a_hung_worker_is_replaced(serve):
    server = serve("pid_app:app", "--workers", "2", "--timeout-worker-healthcheck", "1", wait=False)
    pids = wait_workers(server, 2)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
        server.wait_for_log("did not answer a health check", timeout=15)
    wait_workers(server, 3)
    assert len(worker_pids(server) - pids) == 1
    assert pid_of(server) in worker_pids(server)
    assert server.stop() == 0


def test_ttin_and_ttou_change_the_number_of_workers(serve):
    server = serve("pid_app:app", "--workers", "2", wait=False)
    wait_workers(server, 2)
    parent = server.proc.pid
    os.kill(parent, signal.SIGTTIN)
    wait_workers(server, 3)
    os.kill(parent, signal.SIGTTOU)
    time.sleep(1.0)
    assert server.log().count("Shutting down") >= 1
    assert server.stop() == 0
