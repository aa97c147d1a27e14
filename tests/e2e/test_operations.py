"""Operating a running server: the pid file and ``asgihost reload``, SIGHUP without workers,
SIGUSR1 reopening log files, ``--log-config``, and the table printed once the server is ready."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import APPS, free_port, launch, wait_until

SITE = """
[server]
workers = 2
pid_file = "run/asgihost.pid"
[listeners.web]
bind = "127.0.0.1:{port}"
[apps.first]
app = "pid_app:app"
mount = "/a"
app_dir = "{apps}"
"""


def asgihost(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asgihost", *args], capture_output=True, text=True, timeout=30, cwd=cwd
    )


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10, headers={"connection": "close"})


def test_asgihost_reload_signals_the_server_its_file_names(tmp_path):
    port = free_port()
    (tmp_path / "run").mkdir()
    config = tmp_path / "asgihost.toml"
    config.write_text(SITE.format(port=port, apps=APPS))
    server = launch(tmp_path, [sys.executable, "-m", "asgihost", "run", str(config)], port=port, wait=False)
    pid_file = tmp_path / "run" / "asgihost.pid"
    try:
        log = server.wait_for_log("is serving (2 workers", timeout=20)
        assert f"http://127.0.0.1:{port}" in log and "first" in log
        assert pid_file.read_text().strip() == str(server.proc.pid)  # the supervisor, not a worker

        config.write_text(
            SITE.format(port=port, apps=APPS)
            + f'[apps.second]\napp = "pid_app:app"\nmount = "/b"\napp_dir = "{APPS}"\n'
        )
        result = asgihost("reload", "asgihost.toml", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert f"sent SIGHUP to process {server.proc.pid}" in result.stdout
        server.wait_for_log("Reloaded: 2 workers serve the new configuration", timeout=20)
        # the table of the new configuration follows
        assert wait_until(lambda: "second" in server.log().split("Reloaded:")[1]), server.log()
        assert wait_until(lambda: get(f"http://127.0.0.1:{port}/b").status_code == 200, 10), server.log()

        config.write_text(config.read_text().replace('mount = "/b"', 'mount = "b"'))  # invalid
        result = asgihost("reload", "asgihost.toml", cwd=tmp_path)
        assert result.returncode == 1
        assert "apps.second.mount" in result.stderr and "the server was not signalled" in result.stderr
        assert "sent SIGHUP" not in result.stdout
        assert server.log().count("Reloading the configuration") == 1
    finally:
        assert server.stop() == 0
    assert not pid_file.exists()


def test_a_running_server_holds_its_pid_file_and_a_stale_one_is_replaced(serve_process, tmp_path):
    pid_file = tmp_path / "asgihost.pid"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    pid_file.write_text(f"{dead.pid}\n")  # stale: left by a server that was killed
    result = asgihost("reload", "--pid", str(pid_file), cwd=tmp_path)
    assert result.returncode == 1 and "stale" in result.stderr

    first = serve_process("basic:app", "--pid", str(pid_file))
    assert pid_file.read_text().strip() == str(first.proc.pid)
    second = serve_process("basic:app", "--pid", str(pid_file), wait=False)
    assert second.proc.wait(15) == 1
    assert f"names process {first.proc.pid}, which is running" in second.log()
    assert pid_file.read_text().strip() == str(first.proc.pid)
    assert get(f"{first.url}/").status_code == 200
    assert first.stop() == 0
    assert not pid_file.exists()
    result = asgihost("reload", "--pid", str(pid_file), cwd=tmp_path)
    assert result.returncode == 1 and "cannot read the pid file" in result.stderr


def test_sighup_without_workers_is_answered_with_a_warning_not_a_stop(serve_process):
    server = serve_process("basic:app")
    server.proc.send_signal(signal.SIGHUP)
    server.wait_for_log("SIGHUP: reloading the configuration needs workers under a supervisor")
    assert get(f"{server.url}/").status_code == 200
    assert server.proc.poll() is None
    assert server.stop() == 0


def test_sighup_to_the_reloader_starts_the_server_again(tmp_path):
    port = free_port()
    argv = [sys.executable, "-m", "asgihost", "run", "basic:app", "--port", str(port), "--reload"]
    argv += ["--reload-dir", str(tmp_path)]
    server = launch(tmp_path, argv, port=port)
    try:
        server.proc.send_signal(signal.SIGHUP)
        server.wait_for_log("SIGHUP received. Reloading...", timeout=10)
        server.wait_for_log_count("running on", 2, timeout=15)
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    finally:
        assert server.stop() == 0


def count_lines(path: Path, text: str, at_least: int, timeout: float = 5.0) -> int:
    """How many lines of ``path`` hold ``text``, once there are ``at_least`` (access lines are
    written when the app has finished, just after the client has its response)."""

    def count() -> int:
        return path.read_text().count(text) if path.exists() else 0

    wait_until(lambda: count() >= at_least, timeout)
    return count()


def _file_logging(path: Path) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"bare": {"format": "%(process)d %(message)s"}},
        "handlers": {"file": {"class": "logging.FileHandler", "filename": str(path), "formatter": "bare"}},
        "loggers": {"asgihost.access": {"handlers": ["file"], "propagate": False}},
    }


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigusr1_reopens_log_files_in_every_process(serve_process, tmp_path, workers):
    access = tmp_path / "access.log"
    log_config = tmp_path / "logging.json"
    log_config.write_text(json.dumps(_file_logging(access)))
    server = serve_process("basic:app", "--log-config", str(log_config), "--workers", workers, wait=False)
    server.wait_for_log("is serving", timeout=20)
    for _ in range(4):
        assert get(f"{server.url}/").status_code == 200
    assert count_lines(access, '"GET / HTTP/1.1" 200', 4) == 4
    rotated = tmp_path / "access.log.1"
    access.rename(rotated)  # what logrotate does before it signals
    server.proc.send_signal(signal.SIGUSR1)
    workers = {int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", server.log())}

    def reopened_everywhere() -> bool:  # each process has written a line to the new file
        get(f"{server.url}/")
        return (
            access.exists() and {int(line.split()[0]) for line in access.read_text().splitlines()} >= workers
        )

    assert wait_until(reopened_everywhere, 10), server.log()
    before = rotated.read_text()
    for _ in range(10):
        assert get(f"{server.url}/").status_code == 200
    assert rotated.read_text() == before  # no process writes to the rotated file any more
    assert count_lines(access, '"GET / HTTP/1.1" 200', 10) >= 10
    assert server.stop() == 0


def test_log_config_in_yaml_formats_the_access_log(serve_process, tmp_path):
    pytest.importorskip("yaml")
    out = tmp_path / "out.log"
    log_config = tmp_path / "logging.yaml"
    log_config.write_text(
        f"""version: 1
disable_existing_loggers: false
formatters:
  tagged: {{format: "ACCESS %(message)s"}}
handlers:
  file: {{class: logging.FileHandler, filename: "{out}", formatter: tagged}}
loggers:
  asgihost.access: {{handlers: [file], propagate: false}}
"""
    )
    server = serve_process("basic:app", "--log-config", str(log_config))
    assert get(f"{server.url}/hello?x=1").status_code == 200
    assert count_lines(out, "ACCESS 127.0.0.1", 1) == 1
    assert '"GET /hello?x=1 HTTP/1.1" 200' in out.read_text()
    assert server.stop() == 0


def test_a_log_config_that_cannot_be_applied_stops_the_start(serve_process, tmp_path):
    log_config = tmp_path / "logging.json"
    log_config.write_text(json.dumps({"version": 1, "handlers": {"h": {"class": "no.such.Handler"}}}))
    server = serve_process("basic:app", "--log-config", str(log_config), wait=False)
    assert server.proc.wait(15) == 1
    assert f"asgihost: error: {log_config} cannot be applied" in server.log()


def test_the_start_up_table_names_listeners_and_apps(tmp_path):
    from conftest import ROOT

    port = free_port()
    site = ROOT / "examples" / "sites" / "multi-app" / "asgihost.toml"
    argv = [sys.executable, "-m", "asgihost", "run", str(site), "--port", str(port)]
    server = launch(tmp_path, argv, port=port, env={"COLUMNS": "200"})
    try:
        log = server.wait_for_log("is serving (this process")
        table = log[log.index("is serving") :]
        assert f"http://127.0.0.1:{port}" in table
        for app, mount in (("blog", "/"), ("admin", "/admin"), ("api", "/api")):
            assert any(app in line and mount in line for line in table.splitlines()), table
        assert "blog.localhost" in table
    finally:
        assert server.stop() == 0
    quiet_port = free_port()
    quiet = launch(
        tmp_path, [*argv, "--port", str(quiet_port), "--log-level", "warning"], port=quiet_port, wait=False
    )
    try:

        def answered() -> bool:
            try:
                httpx.get(f"http://127.0.0.1:{quiet_port}/api/", timeout=2)
            except httpx.HTTPError:
                return False
            return True

        assert wait_until(answered, 15), quiet.log()
        assert "is serving" not in quiet.log()  # below info: no table
    finally:
        assert quiet.stop() == 0


def test_env_file_sets_variables_before_the_app_is_imported_and_set_ones_win(serve, tmp_path):
    """``--env-file`` as Uvicorn reads it (python-dotenv): quotes, comments, ``export``."""
    env_file = tmp_path / "app.env"
    env_file.write_text(
        '# the app\'s settings\nexport ASGIHOST_T_GREETING="hello from .env"\nASGIHOST_T_SHARED=from-file\n'
    )
    server = serve("multi_env_a:app", "--env-file", str(env_file), env={"ASGIHOST_T_SHARED": "from-env"})
    body = get(f"http://127.0.0.1:{server.port}/").json()
    expected = {"ASGIHOST_T_GREETING": "hello from .env", "ASGIHOST_T_SHARED": "from-env"}
    assert body["at_import"] == body["at_request"] == expected
    assert f"Loading environment from '{env_file}'" in server.log()


def test_a_missing_env_file_is_a_config_error(serve, tmp_path):
    server = serve("multi_env_a:app", "--env-file", str(tmp_path / "missing.env"), wait=False)
    assert server.proc.wait(15) == 2
    assert f"asgihost: error: --env-file: {tmp_path / 'missing.env'} does not exist" in server.log()
