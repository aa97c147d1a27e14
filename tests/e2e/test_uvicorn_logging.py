"""A logging config written for Uvicorn, given to a real server in this process (``Config(app,
log_config=...)``): its lines come out as Uvicorn's would. Uvicorn's own LOGGING_CONFIG, the
dict of Uvicorn's logging guide, and the same as a JSON and an .ini file."""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import UVICORN_STYLE_LOGGERS, InProcessServer, free_port, launch, logging_restored, wait_until
from log_apps import app

from asgihost import Config
from asgihost.logs import configure_logging
from asgihost.runtime.worker import Server

# The dict of Uvicorn's logging guide ("Programmatic dictConfig"), as it is written there.
GUIDE = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "default": {
            "()": "uvicorn.logging.DefaultFormatter",
            "fmt": "%(asctime)s - %(levelprefix)s %(message)s",
            "datefmt": "%Y-%m-%d %H:%M:%S",
        },
        "access": {
            "()": "uvicorn.logging.AccessFormatter",
            "fmt": '%(asctime)s - %(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
            "datefmt": "%Y-%m-%d %H:%M:%S",
        },
    },
    "handlers": {
        "default": {"formatter": "default", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
        "access": {"formatter": "access", "class": "logging.StreamHandler", "stream": "ext://sys.stdout"},
    },
    "loggers": {
        "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}

INI = """\
[loggers]
keys=root,server,access

[handlers]
keys=default,access

[formatters]
keys=default,access

[logger_root]
handlers=

[logger_server]
qualname=uvicorn
handlers=default
level=INFO
propagate=0

[logger_access]
qualname=uvicorn.access
handlers=access
level=INFO
propagate=0

[handler_default]
class=StreamHandler
formatter=default
args=(sys.stderr,)

[handler_access]
class=StreamHandler
formatter=access
args=(sys.stdout,)

[formatter_default]
class=uvicorn.logging.DefaultFormatter
format=%(levelprefix)s %(message)s

[formatter_access]
class=uvicorn.logging.AccessFormatter
format=%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s
"""


@pytest.fixture(autouse=True)
def _loggers_restored() -> Iterator[None]:
    with logging_restored(UVICORN_STYLE_LOGGERS):
        yield
    configure_logging()


def serve(log_config: Any) -> InProcessServer:
    """A server of ``Config(app, log_config=...)``, or of the Config given."""
    config = log_config if isinstance(log_config, Config) else Config(app, port=0, log_config=log_config)
    server = InProcessServer(Server(config), None, "log_config")
    server.start(wait=True)
    return server


def exchange(server: InProcessServer, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """A request answered and one that fails; then what the server wrote: (stdout, stderr)."""
    out, err = "", ""
    try:
        httpx.get(f"http://127.0.0.1:{server.port}/", timeout=10)
        httpx.get(f"http://127.0.0.1:{server.port}/fail", timeout=10)

        def both_written() -> bool:
            nonlocal out, err
            new = capsys.readouterr()
            out, err = out + new.out, err + new.err
            return '"GET /fail HTTP/1.1" 500' in out and "RuntimeError" in err

        wait_until(both_written)
    finally:
        assert server.stop() == 0
        server.detach()
    return out, err


def access_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if "HTTP/1.1" in line]


def test_uvicorns_own_logging_config(capsys):
    uvicorn_config = pytest.importorskip("uvicorn.config")
    out, err = exchange(serve(copy.deepcopy(uvicorn_config.LOGGING_CONFIG)), capsys)
    # Uvicorn's lines: the access lines on stdout, the server's on stderr, with its level prefix
    lines = [re.sub(r"127\.0\.0\.1:\d+ ", "127.0.0.1:PORT ", line) for line in access_lines(out)]
    assert lines == [
        'INFO:     127.0.0.1:PORT - "GET / HTTP/1.1" 200 OK',
        'INFO:     127.0.0.1:PORT - "GET /fail HTTP/1.1" 500 Internal Server Error',
    ]
    assert "INFO:     Started server process [" in err
    assert "ERROR:    Exception in ASGI application" in err
    assert "boom \\x1b[31mred" in err and "\x1b" not in err  # a message's control characters escaped
    assert "HTTP/1.1" not in err


def test_the_guides_dict(capsys):
    out, err = exchange(serve(copy.deepcopy(GUIDE)), capsys)
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
    first = access_lines(out)[0]
    assert re.fullmatch(stamp + r' - INFO:     127\.0\.0\.1:\d+ - "GET / HTTP/1\.1" 200 OK', first), first
    assert re.search(stamp + r" - INFO:     Started server process \[\d+\]", err), err
    assert re.search(stamp + r" - ERROR:    Exception in ASGI application", err), err


def test_a_json_file(tmp_path, capsys):
    path = tmp_path / "log_config.json"
    path.write_text(json.dumps(GUIDE))
    out, err = exchange(serve(str(path)), capsys)
    assert re.search(r' - INFO:     127\.0\.0\.1:\d+ - "GET / HTTP/1\.1" 200 OK$', access_lines(out)[0])
    assert " - INFO:     Started server process [" in err


def test_an_ini_file_and_an_open_one(tmp_path, capsys):
    path = tmp_path / "logging.ini"
    path.write_text(INI)
    with path.open() as file:
        from_file = Config(app, port=0, log_config=file)  # read now: the file may be closed
    for log_config in (path, from_file):
        out, err = exchange(serve(log_config), capsys)
        assert re.fullmatch(r'INFO:     127\.0\.0\.1:\d+ - "GET / HTTP/1\.1" 200 OK', access_lines(out)[0])
        assert "INFO:     Started server process [" in err and "ERROR:    Exception in ASGI" in err


@pytest.mark.parametrize("form", ["dict", "open file"])
def test_workers_make_the_config_again_from_it(tmp_path, form):
    """``run(..., workers=2)``: each worker (a spawned process) gets the dict, or the parser the
    open file was read into, from the recipe, and logs as Uvicorn would."""
    port = free_port()
    (tmp_path / "logging.ini").write_text(INI)
    log_config = "log_config" if form == "dict" else f"open({str(tmp_path / 'logging.ini')!r})"
    script = tmp_path / "serve.py"
    script.write_text(
        f"import asgihost\nlog_config = {GUIDE!r}\n"
        f'if __name__ == "__main__":\n'
        f'    asgihost.run("log_apps:app", port={port}, workers=2, log_config={log_config})\n'
    )
    server = launch(tmp_path, [sys.executable, str(script)], port=port)
    try:
        pids: set[str] = set()

        def both_workers_started() -> bool:
            pids.update(re.findall(r"INFO:     Started server process \[(\d+)\]", server.log()))
            return len(pids) >= 2

        assert wait_until(both_workers_started, 15), server.log()
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
        line = server.wait_for_log('"GET / HTTP/1.1" 200 OK')
        assert re.search(r'INFO:     127\.0\.0\.1:\d+ - "GET / HTTP/1\.1" 200 OK', line), line
    finally:
        assert server.stop() == 0
