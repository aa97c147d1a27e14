"""Several workers under a supervisor: real processes, real sockets."""

from __future__ import annotations

import concurrent.futures
import os
import re
import signal
import socket
import sys
import time

import httpx
from conftest import wait_until


def _alive(pid: int) -> bool:
    """Whether ``pid`` is running (not gone, not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def pid_of(server) -> int:
    return int(httpx.get(f"{server.url}/", timeout=10, headers={"connection": "close"}).text)


def worker_pids(server) -> set[int]:
    return {int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", server.log())}


def wait_workers(server, count: int, timeout: float = 20.0) -> set[int]:
    server.wait_for_log_count("running on", count, timeout)
    return worker_pids(server)


def test_every_worker_serves_and_a_killed_one_is_replaced(serve_process):
    server = serve_process("pid_app:app", "--workers", "3", wait=False)
    pids = wait_workers(server, 3)
    assert len(pids) == 3 and os.getpid() not in pids
    # Each /busy request holds its worker's event loop for a second, so the next connection,
    # opened meanwhile, has to be taken by another worker.
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        futures = []
        for taken in range(1, 4):
            futures.append(pool.submit(lambda: int(httpx.get(f"{server.url}/busy", timeout=10).text)))
            server.wait_for_log_count("BUSY", taken)  # a worker holds it: the next goes elsewhere
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


def test_a_worker_that_cannot_start_stops_the_server(serve_process):
    server = serve_process("no_such_module:app", "--workers", "2", wait=False)
    assert server.proc.wait(30) == 3
    log = server.log()
    assert 'Could not import module "no_such_module"' in log and "failed to start" in log


def test_max_requests_recycles_workers_without_failing_a_request(serve_process):
    server = serve_process("pid_app:app", "--workers", "2", "--limit-max-requests", "15", wait=False)
    wait_workers(server, 2)
    statuses = []
    for _ in range(60):  # (each worker is replaced about twice)
        statuses.append(httpx.get(f"{server.url}/", timeout=10, headers={"connection": "close"}).status_code)
    assert statuses == [200] * 60
    assert "reached its max requests" in server.log()
    assert len(worker_pids(server)) > 2
    assert server.stop() == 0


def test_a_hung_worker_is_replaced(serve_process):
    server = serve_process("pid_app:app", "--workers", "2", "--timeout-worker-healthcheck", "1", wait=False)
    pids = wait_workers(server, 2)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
        server.wait_for_log("did not answer a health check", timeout=15)
    wait_workers(server, 3)
    assert len(worker_pids(server) - pids) == 1
    assert pid_of(server) in worker_pids(server)
    assert server.stop() == 0


def test_ttin_and_ttou_change_the_number_of_workers(serve_process):
    server = serve_process("pid_app:app", "--workers", "2", wait=False)
    wait_workers(server, 2)
    parent = server.proc.pid
    os.kill(parent, signal.SIGTTIN)
    wait_workers(server, 3)
    os.kill(parent, signal.SIGTTOU)
    assert server.wait_for_log("Shutting down").count("Shutting down") >= 1
    assert server.stop() == 0


SITE = """
[server]
workers = 2
[listeners.web]
bind = "127.0.0.1:{port}"
[apps.first]
app = "pid_app:app"
mount = "{mount}"
"""


def test_sighup_reloads_the_file_without_a_failed_request(serve_process, tmp_path):
    import threading

    from conftest import APPS, free_port, launch

    port = free_port()
    config = tmp_path / "asgihost.toml"
    config.write_text(SITE.format(port=port, mount="/a") + f'app_dir = "{APPS}"\n')
    server = launch(tmp_path, [sys.executable, "-m", "asgihost", "run", str(config)], port=port, wait=False)
    try:
        pids = wait_workers(server, 2)
        failures: list[str] = []
        done = threading.Event()
        served = [0]

        def load() -> None:  # one client, new connection each time, until told to stop (bounded)
            deadline = time.monotonic() + 60
            while not done.is_set() and time.monotonic() < deadline:
                try:
                    response = httpx.get(
                        f"http://127.0.0.1:{port}/a", timeout=10, headers={"connection": "close"}
                    )
                    if response.status_code != 200:
                        failures.append(f"{response.status_code}")
                    served[0] += 1
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))

        thread = threading.Thread(target=load)
        thread.start()
        assert wait_until(lambda: served[0] >= 5), failures  # the load is on before the reload
        config.write_text(
            SITE.format(port=port, mount="/a")
            + f'app_dir = "{APPS}"\n[apps.second]\napp = "pid_app:app"\nmount = "/b"\napp_dir = "{APPS}"\n'
        )
        os.kill(server.proc.pid, signal.SIGHUP)
        server.wait_for_log("Reloaded: 2 workers serve the new configuration", timeout=20)
        # the old workers stop accepting within their next tick; then only the new routing answers
        for old in pids:  # the old workers have closed their sockets once they have exited
            assert wait_until(lambda old=old: not _alive(old), 10), server.log()
        for _ in range(20):
            assert (
                httpx.get(
                    f"http://127.0.0.1:{port}/b", timeout=10, headers={"connection": "close"}
                ).status_code
                == 200
            )
        config.write_text("[apps.broken\n")  # invalid: the running config goes on
        os.kill(server.proc.pid, signal.SIGHUP)
        server.wait_for_log("Reload refused", timeout=10)
        refused_at = served[0]
        assert wait_until(lambda: served[0] >= refused_at + 5), failures  # still served after it
        done.set()
        thread.join(30)
        assert failures == [] and served[0] > 10
        assert httpx.get(f"http://127.0.0.1:{port}/b", timeout=10).status_code == 200
        assert "asgihost.toml:1:" in server.log()  # the problem, located as check would
    finally:
        assert server.stop() == 0


def test_a_reload_whose_workers_cannot_start_keeps_the_old_ones(tmp_path):
    from conftest import APPS, free_port, launch

    port = free_port()
    config = tmp_path / "asgihost.toml"
    config.write_text(SITE.format(port=port, mount="/a") + f'app_dir = "{APPS}"\n')
    server = launch(tmp_path, [sys.executable, "-m", "asgihost", "run", str(config)], port=port, wait=False)
    try:
        old = wait_workers(server, 2)
        config.write_text(config.read_text().replace("pid_app:app", "no_such_module:app"))
        os.kill(server.proc.pid, signal.SIGHUP)
        server.wait_for_log("Reload failed", timeout=20)
        for _ in range(20):
            assert (
                int(httpx.get(f"http://127.0.0.1:{port}/a", timeout=10, headers={"connection": "close"}).text)
                in old
            )
        assert server.proc.poll() is None
    finally:
        assert server.stop() == 0
