"""The Uvicorn guide, line by line, against a real FastAPI app (tests/apps/guide_app.py).

Each test is named after a command line or snippet of Uvicorn's documentation (Settings,
Deployment, "Running programmatically") and its docstring quotes it; it runs it with the word
``uvicorn`` changed to ``asgihost``, as a user of the drop-in would, and asserts what a Uvicorn
user would see: the status, the scope, the log lines, the exit status. ``asgihost main:app``
(no command) and ``asgihost run main:app`` are the same command; servers on a thread of this
process (the ``serve`` fixture) are ``asgihost run``'s, the process tests below the bare form.

Left to other tests for now: ``--http h11``, ``--h11-max-incomplete-event-size``, ``--http2``,
a Uvicorn-style log config naming the ``uvicorn.*`` loggers, ``Server.install_signal_handlers``.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
import threading

import httpx
import pytest
import websockets.sync.client
from conftest import free_port, http_exchange, launch, logging_restored, wait_until
from test_tls import ca, certs  # noqa: F401 - the CA and the certificate files, as fixtures
from test_uvicorn_logging import GUIDE as GUIDE_LOGGING

import asgihost

APP = "guide_app:app"
XFF = {"x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https"}


@pytest.fixture
def bare(tmp_path):
    """``bare(*ARGS, port=P)``: the process of ``asgihost ARGS`` (the bare form, no command),
    in tests/apps; killed at the end if still running."""
    started = []

    def start(*args: str, port: int | None = None, wait: bool = True, env: dict[str, str] | None = None):
        argv = [sys.executable, "-m", "asgihost", *args] + ([] if port is None else ["--port", str(port)])
        started.append(launch(tmp_path, argv, port=port, wait=wait, env=env))
        return started[-1]

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.stop(signal.SIGKILL)


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    """curl ARGS, its body then a line with the HTTP version it spoke."""
    return subprocess.run(
        ["curl", "-sS", "--max-time", "10", "-w", "\n%{http_version}", *args],
        capture_output=True,
        text=True,
        timeout=20,
    )


def body_and_version(result: subprocess.CompletedProcess[str]) -> tuple[dict, str]:
    assert result.returncode == 0, result.stderr
    body, version = result.stdout.rsplit("\n", 1)
    return json.loads(body), version


def scope_of(url: str, **client_options) -> dict:
    with httpx.Client(timeout=10, **client_options) as client:
        return client.get(f"{url}/scope", headers=XFF).json()


def hold_and_exceed(server) -> list[int]:
    """With ``--limit-concurrency 2``: a request held on one connection and a request on a
    second are served; a third connection meanwhile gets the 503; then the held one is let go.
    The statuses: the second's, the third's, the held one's."""
    held = server.connect(timeout=10)
    held.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
    server.wait_for_log("GUIDE-SLOW-STARTED")
    with httpx.Client(base_url=server.url, timeout=10) as client:
        second = client.get("/").status_code
        with server.connect() as third:
            refused = http_exchange(third, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        # The third connection's close reaches the server after its 503: until then, the
        # server counts three connections and refuses the release too.
        assert wait_until(lambda: client.get("/release").status_code == 200), server.log()
    with held:
        answer = http_exchange(held, b"")
    return [second, int(refused.split()[1]), int(answer.split()[1])]


# ---- Development -------------------------------------------------------------------------------


def test_reload_with_reload_dir_include_and_exclude(bare, tmp_path):
    """``uvicorn main:app --reload --reload-dir src --reload-include '*.toml'``, with
    ``--reload-exclude 'scratch_*.py'`` (Settings, "Reloading with watchfiles"): a change to an
    included file in the reload directory restarts the server; a change to an excluded file,
    or to a file outside the reload directories, does not."""
    site = tmp_path / "site"
    src = site / "src"
    src.mkdir(parents=True)
    (site / "main.py").write_text("from guide_app import app\n")
    (src / "settings.toml").write_text("items = 1\n")
    (src / "scratch_notes.py").write_text("")
    port = free_port()
    server = bare(
        "main:app", "--app-dir", str(site), "--reload", "--reload-dir", str(src),
        "--reload-include", "*.toml", "--reload-exclude", "scratch_*.py", "--reload-delay", "0.1",
        port=port,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"

    def pid_changes_from(old: int) -> int | None:
        def answered() -> int | None:
            try:
                pid = httpx.get(url, timeout=2).json()["pid"]
            except httpx.HTTPError:
                return None
            return pid if pid != old else None

        return wait_until(answered, timeout=15)

    first = httpx.get(url, timeout=5).json()["pid"]
    assert f"Will watch for changes in these directories: ['{src}']" in server.log()
    (src / "settings.toml").write_text("items = 2\n")
    second = pid_changes_from(first)
    assert second, server.log()
    detected = [line for line in server.log().splitlines() if "Changes detected" in line]
    assert len(detected) == 1 and "settings.toml" in detected[0]
    (src / "scratch_notes.py").write_text("# excluded\n")
    (site / "main.py").write_text("from guide_app import app  # outside the reload dir\n")
    (src / "settings.toml").write_text("items = 3\n")  # after them: one restart, for it alone
    assert pid_changes_from(second), server.log()
    detected = [line for line in server.log().splitlines() if "Changes detected" in line]
    assert len(detected) == 2, detected
    assert "settings.toml" in detected[1] and "scratch" not in detected[1] and "main.py" not in detected[1]
    assert server.stop() == 0
    assert "Stopping reloader process" in server.log()


def test_factory(serve):
    """``uvicorn --factory main:create_app`` (Application factories): the factory is called
    with no arguments, and the app it returns is served, its lifespan run; here with
    ``--interface asgi3`` and ``--loop asyncio`` (Settings, Implementation)."""
    server = serve("guide_app:create_app", "--factory", "--interface", "asgi3", "--loop", "asyncio")
    seen = httpx.get(f"{server.url}/", timeout=10).json()
    assert seen["app_name"] == "Awesome API" and seen["started"] is True
    server.wait_for_log("GUIDE-LIFESPAN-STARTUP")


# ---- Production --------------------------------------------------------------------------------


def test_workers(bare):
    """``uvicorn main:app --workers 4`` (Deployment, "Built-in"), here with 2 workers, and the
    process flags ``--limit-max-requests 4 --limit-max-requests-jitter 2
    --timeout-worker-healthcheck 5``: each worker runs the app's lifespan and serves, and a
    worker past its requests (4 to 6) is replaced without a request failing."""
    port = free_port()
    server = bare(
        APP, "--workers", "2", "--limit-max-requests", "4", "--limit-max-requests-jitter", "2",
        "--timeout-worker-healthcheck", "5", port=port, wait=False,
    )  # fmt: skip
    server.wait_for_log_count("running on", 2, timeout=20)
    pids = {int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", server.log())}
    assert len(pids) == 2
    server.wait_for_log_count("GUIDE-LIFESPAN-STARTUP", 2)
    statuses, served_by = [], set()
    for _ in range(13):  # 2 workers take 12 at most: one of them is past its limit
        response = httpx.get(f"http://127.0.0.1:{port}/", timeout=10, headers={"connection": "close"})
        statuses.append(response.status_code)
        served_by.add(response.json()["pid"])
    assert statuses == [200] * 13
    assert served_by & pids
    server.wait_for_log("reached its max requests")
    assert server.stop() == 0


def test_workers_with_reload_is_not_valid(bare, tmp_path):
    """``--workers <int>`` ... "Not valid with ``--reload``" (Settings, Production): "The
    ``--reload`` and ``--workers`` arguments are mutually exclusive." Uvicorn reloads one
    process and warns that the workers flag is ignored; asgihost refuses the pair in one line
    naming the flag (exit 2), so that nobody believes N workers run."""
    server = bare(
        APP, "--workers", "2", "--reload", "--reload-dir", str(tmp_path), port=free_port(), wait=False
    )
    assert server.proc.wait(timeout=30) == 2
    assert "asgihost: error: --workers: workers and reload do not go together" in server.log()


def test_env_file_and_pydantic_settings(bare, tmp_path):
    """FastAPI's "Settings and Environment Variables": ``class Settings(BaseSettings)`` read
    from the environment (``ADMIN_EMAIL="deadpool@example.com" APP_NAME="ChimichangApp" uvicorn
    main:app``), and Uvicorn's ``--env-file <path>`` ("Environment configuration file for the
    ASGI application"): the file's variables are set before the app is imported, and one set
    in the environment already wins, as python-dotenv does by default."""
    env_file = tmp_path / ".env"
    env_file.write_text("ADMIN_EMAIL=deadpool@example.com\nAPP_NAME=FromTheFile\nITEMS_PER_USER=7\n")
    port = free_port()
    bare(APP, "--env-file", str(env_file), port=port, env={"APP_NAME": "ChimichangApp"})
    seen = httpx.get(f"http://127.0.0.1:{port}/", timeout=10).json()
    assert seen["app_name"] == "ChimichangApp"  # the environment's
    assert seen["admin_email"] == "deadpool@example.com" and seen["items_per_user"] == 7  # the file's


# ---- Logging -----------------------------------------------------------------------------------

LEVELS = ["critical", "error", "warning", "info", "debug", "trace"]


@pytest.mark.parametrize(
    "level",
    LEVELS,
)
def test_log_level(serve, level):
    """``--log-level <str>`` - "Options: 'critical', 'error', 'warning', 'info', 'debug',
    'trace'. Default: 'info'" (Settings, Logging): each level shows its own lines and those
    above it (an app's exception is an error; a request over ``--limit-concurrency`` a warning;
    start-up and access lines are info), and none below it."""
    server = serve(APP, "--log-level", level, "--limit-concurrency", "2")
    assert hold_and_exceed(server) == [200, 503, 200]
    assert httpx.get(f"{server.url}/boom", timeout=10).status_code == 500
    assert server.stop() == 0
    log = server.log()
    rank = LEVELS.index(level)
    shown = {
        "error": "Exception in ASGI application" in log and "boom from the guide app" in log,
        "warning": "Exceeded concurrency limit." in log,
        "info": "Application startup complete." in log and '"GET / HTTP/1.1" 200' in log,
        "trace": "HTTP connection made" in log
        and re.search(r"ASGI \[\d+\] Send \{'type': 'http.response.body', 'body': '<\d+ bytes>'", log)
        is not None
        and "HTTP connection lost" in log,
    }
    expected = {name: LEVELS.index(name) <= rank for name in shown}
    assert shown == expected, log


@pytest.mark.parametrize("flag", ["--access-log", "--no-access-log"])
def test_access_log_on_and_off(serve, flag):
    """``--no-access-log`` - "Disable access log only, without changing log level." """
    server = serve(APP, flag)
    assert httpx.get(f"{server.url}/", timeout=10).status_code == 200
    assert server.stop() == 0
    log = server.log()
    assert "Application startup complete." in log  # the level is info either way
    assert ('"GET / HTTP/1.1" 200' in log) is (flag == "--access-log")


LOG_FILE_FORMAT = "%(levelname)s [%(name)s] %(message)s"

JSON_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": LOG_FILE_FORMAT}},
    "handlers": {"file": {"class": "logging.FileHandler", "filename": "LOG", "formatter": "plain"}},
    "loggers": {
        name: {"handlers": ["file"], "level": "INFO", "propagate": False}
        for name in ("asgihost.error", "asgihost.access")
    },
}

INI_CONFIG = f"""
[loggers]
keys=root,error,access
[handlers]
keys=file
[formatters]
keys=plain
[logger_root]
level=WARNING
handlers=
[logger_error]
level=INFO
handlers=file
qualname=asgihost.error
propagate=0
[logger_access]
level=INFO
handlers=file
qualname=asgihost.access
propagate=0
[handler_file]
class=FileHandler
args=('LOG', 'a')
formatter=plain
[formatter_plain]
format={LOG_FILE_FORMAT}
"""


@pytest.mark.parametrize("name", ["logging.json", "logging.ini"])
def test_log_config_file(bare, tmp_path, name):
    """``--log-config <path>`` - "Logging configuration file. Options: dictConfig() formats:
    .json, .yaml. Any other format will be processed with fileConfig()" (Settings, Logging):
    the server's error and access lines go where the file says, in its format."""
    log_file = tmp_path / "server.log"
    if name.endswith(".json"):
        text = json.dumps(JSON_CONFIG).replace('"LOG"', json.dumps(str(log_file)))
    else:
        text = INI_CONFIG.replace("'LOG'", repr(str(log_file)))
    (tmp_path / name).write_text(text)
    port = free_port()
    server = bare(APP, "--log-config", str(tmp_path / name), port=port, wait=False)
    assert wait_until(lambda: log_file.exists() and "running on" in log_file.read_text(), 15), server.log()
    assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
    assert server.stop() == 0
    written = log_file.read_text()
    assert "INFO [asgihost.error] Application startup complete." in written
    assert re.search(r'INFO \[asgihost.access\] 127\.0\.0\.1:\d+ - "GET / HTTP/1.1" 200', written), written
    assert '"GET / HTTP/1.1"' not in server.log()  # the file's handlers replaced the server's


# ---- Implementation ----------------------------------------------------------------------------


@pytest.mark.parametrize("ws", ["wsproto", "websockets", "websockets-sansio"])
def test_ws_implementations_serve_websockets(serve, ws):
    """``--ws <str>`` - "Either of the websockets and wsproto packages are supported"
    (Settings, Implementation): the app's WebSocket route echoes under each."""
    server = serve(APP, "--ws", ws)
    with websockets.sync.client.connect(f"ws://127.0.0.1:{server.port}/ws", open_timeout=10) as conn:
        conn.send("hello")
        assert conn.recv(timeout=10) == "echo: hello"
        conn.send("again")
        assert conn.recv(timeout=10) == "echo: again"


def test_ws_none_refuses_websockets(serve):
    """``--ws none`` - "Use 'none' to ignore all websocket requests": HTTP is served, a
    WebSocket handshake is not completed."""
    server = serve(APP, "--ws", "none")
    assert httpx.get(f"{server.url}/", timeout=10).status_code == 200
    with pytest.raises(websockets.exceptions.InvalidHandshake):
        with websockets.sync.client.connect(f"ws://127.0.0.1:{server.port}/ws", open_timeout=10):
            pass


def test_ws_max_size_and_per_message_deflate(serve):
    """``--ws-max-size <int>`` - "the WebSockets max message size, in bytes" and
    ``--ws-per-message-deflate <bool>`` - "Enable/disable WebSocket per-message-deflate
    compression": a larger message closes the connection with 1009; with false, no
    compression is agreed."""
    server = serve(APP, "--ws-max-size", "1024", "--ws-per-message-deflate", "false")
    with websockets.sync.client.connect(f"ws://127.0.0.1:{server.port}/ws", open_timeout=10) as conn:
        assert conn.response.headers.get("sec-websocket-extensions") is None
        conn.send("x" * 1000)
        assert conn.recv(timeout=10) == "echo: " + "x" * 1000
        conn.send("x" * 2000)
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            conn.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    deflating = serve(APP)
    with websockets.sync.client.connect(f"ws://127.0.0.1:{deflating.port}/ws", open_timeout=10) as conn:
        assert "permessage-deflate" in conn.response.headers.get("sec-websocket-extensions", "")


def test_lifespan_on_auto_off(serve):
    """``--lifespan <str>`` - "Options: 'auto', 'on', 'off'. Default: 'auto'": on runs the
    app's lifespan and a failure stops the start (exit 3); auto also tolerates an app without
    lifespan support; off never calls it."""
    on = serve(APP, "--lifespan", "on")
    assert httpx.get(f"{on.url}/", timeout=10).json()["started"] is True
    assert on.stop() == 0
    assert "GUIDE-LIFESPAN-STARTUP" in on.log() and "GUIDE-LIFESPAN-SHUTDOWN" in on.log()

    failing = serve("guide_app:failing_lifespan", "--lifespan", "on", wait=False)
    assert failing.proc.wait(30) == 3
    assert "the database is unreachable" in failing.log()
    assert "Application startup failed. Exiting." in failing.log()

    strict = serve("guide_app:unsupported_lifespan", "--lifespan", "on", wait=False)
    assert strict.proc.wait(30) == 3
    assert "no lifespan here" in strict.log()

    auto = serve("guide_app:unsupported_lifespan", "--lifespan", "auto")
    assert httpx.get(f"{auto.url}/", timeout=10).text == "ok"
    assert "ASGI 'lifespan' protocol appears unsupported." in auto.log()

    off = serve(APP, "--lifespan", "off")
    assert httpx.get(f"{off.url}/scope", timeout=10).status_code == 200
    assert off.stop() == 0
    assert "GUIDE-LIFESPAN-STARTUP" not in off.log() and "Waiting for application startup" not in off.log()


# ---- HTTP and socket binding -------------------------------------------------------------------


def test_proxy_headers_with_a_cidr_and_root_path(serve):
    """``--proxy-headers --forwarded-allow-ips <comma-separated-list>`` - "IP Addresses, IP
    Networks, or literals ... to trust with proxy headers" (Deployment: "IP Networks (e.g.
    10.100.0.0/16)"), and ``--root-path <str>`` - "the ASGI root_path for applications
    submounted below a given URL path": a peer inside the network is believed (client from
    X-Forwarded-For with port 0, scheme from X-Forwarded-Proto), a peer outside it is not."""
    server = serve(
        APP, "--proxy-headers", "--forwarded-allow-ips", "10.100.0.0/16,127.0.0.2/31", "--root-path", "/api"
    )
    trusted = scope_of(server.url, transport=httpx.HTTPTransport(local_address="127.0.0.3"))
    assert trusted["client"] == ["203.0.113.7", 0] and trusted["scheme"] == "https"
    untrusted = scope_of(server.url)  # from 127.0.0.1, outside the network
    assert untrusted["client"][0] == "127.0.0.1" and untrusted["client"][1] != 0
    assert untrusted["scheme"] == "http"
    for seen in (trusted, untrusted):  # the path as the app sees it, below the root path
        assert (seen["root_path"], seen["path"]) == ("/api", "/api/scope")
    assert trusted["url"] == f"https://127.0.0.1:{server.port}/api/scope"
    server.wait_for_log('203.0.113.7:0 - "GET ')


def test_no_proxy_headers(serve):
    """``--proxy-headers / --no-proxy-headers`` - "Defaults to enabled, but is restricted to
    only trusting connecting IPs in the forwarded-allow-ips configuration": off, even the
    default's 127.0.0.1 is not believed."""
    on = scope_of(serve(APP).url)
    assert on["client"] == ["203.0.113.7", 0]
    off = scope_of(serve(APP, "--no-proxy-headers").url)
    assert off["client"][0] == "127.0.0.1" and off["scheme"] == "http"


def test_uds_with_curl(serve, tmp_path):
    """``uvicorn --uds /path/to/socket.sock <...>`` (Deployment, "Running behind Nginx"), as
    ``curl --unix-socket`` reaches it: "When Uvicorn is running behind a UDS the initial client
    will be None"; with "Trust Everything" (``--forwarded-allow-ips '*'``) the proxy's
    X-Forwarded-For is believed."""
    path = str(tmp_path / "guide.sock")
    serve(APP, "--uds", path)
    plain, version = body_and_version(
        curl("--unix-socket", path, "-H", "X-Forwarded-For: 203.0.113.7", "http://localhost/scope")
    )
    assert version == "1.1" and plain["client"] is None and plain["scheme"] == "http"
    everything = str(tmp_path / "everything.sock")
    serve(APP, "--uds", everything, "--forwarded-allow-ips", "*")
    proxied, _ = body_and_version(
        curl("--unix-socket", everything, "-H", "X-Forwarded-For: 203.0.113.7", "http://localhost/scope")
    )
    assert proxied["client"] == ["203.0.113.7", 0]


def test_forwarded_allow_ips_takes_a_literal(serve, tmp_path):
    """Deployment, "Proxies and Forwarded Headers": "Uvicorn can be configured to trust IP
    Addresses (e.g. 127.0.0.1), IP Networks (e.g. 10.100.0.0/16), or Literals (e.g.
    /path/to/socket.sock)": ``uvicorn main:app --uds /path/to/socket.sock
    --forwarded-allow-ips 127.0.0.1,/path/to/socket.sock`` starts and serves."""
    path = str(tmp_path / "guide.sock")
    serve(APP, "--uds", path, "--forwarded-allow-ips", f"127.0.0.1,{path}")
    seen, _ = body_and_version(
        curl("--unix-socket", path, "-H", "x-forwarded-for: 203.0.113.7", "http://localhost/scope")
    )
    assert seen["client"] == ["203.0.113.7", 0]  # the socket's peer is the trusted proxy
    other = str(tmp_path / "other.sock")
    serve(APP, "--uds", other, "--forwarded-allow-ips", f"127.0.0.1,{path}")
    seen, _ = body_and_version(
        curl("--unix-socket", other, "-H", "x-forwarded-for: 203.0.113.7", "http://localhost/scope")
    )
    assert seen["client"] is None  # another socket's path trusts nobody here


def test_fd(serve):
    """``--fd <int>`` - "Bind to socket from this file descriptor. Useful if you want to run
    Uvicorn within a process manager" (supervisor's ``uvicorn --fd 0 main:App``)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    try:
        serve(APP, "--fd", str(sock.fileno()))
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).json()["started"] is True
    finally:
        sock.close()


def test_default_headers(serve):
    """``--header <name:value>`` - "custom default HTTP response headers", ``--server-header /
    --no-server-header``, ``--date-header / --no-date-header`` (Settings, HTTP)."""
    default = httpx.get(f"{serve(APP).url}/", timeout=10).headers
    assert "server" in default and "date" in default
    server = serve(
        APP, "--header", "X-Guide:yes", "--header", "X-Other: 2", "--no-server-header", "--no-date-header"
    )
    headers = httpx.get(f"{server.url}/", timeout=10).headers
    assert headers["x-guide"] == "yes" and headers["x-other"] == "2"
    assert "server" not in headers and "date" not in headers


def test_settings_from_environment_variables(bare):
    """Settings, "Configuration Methods": "Environment Variables: Use environment variables
    with the prefix UVICORN_. ``export UVICORN_HOST="0.0.0.0"`` ... ``uvicorn main:app``", and
    ``--forwarded-allow-ips`` "Defaults to $FORWARDED_ALLOW_IPS if set"."""
    port = free_port()
    env = {"FORWARDED_ALLOW_IPS": "127.0.0.3", "UVICORN_ROOT_PATH": "/api"}
    bare(APP, port=port, env=env)
    url = f"http://127.0.0.1:{port}"
    assert scope_of(url, transport=httpx.HTTPTransport(local_address="127.0.0.3"))["client"] == [
        "203.0.113.7",
        0,
    ]
    assert scope_of(url)["client"][0] == "127.0.0.1"  # the variable replaces the default
    assert scope_of(url)["root_path"] == "/api"


# ---- HTTPS -------------------------------------------------------------------------------------


def test_https_with_client_certificates_and_http2(serve, certs):  # noqa: F811 - the fixture
    """``uvicorn main:app --port 5000 --ssl-keyfile=./key.pem --ssl-certfile=./cert.pem``
    (Deployment, "Running with HTTPS") with ``--ssl-ca-certs <str>`` and ``--ssl-cert-reqs
    2`` (ssl.CERT_REQUIRED): a client with a certificate the CA signed is served, over HTTP/2
    when it asks (``curl --http2``) and HTTP/1.1 otherwise; one without is refused."""
    port = free_port()
    serve(
        APP, "--port", str(port), f"--ssl-keyfile={certs / 'key.pem'}", f"--ssl-certfile={certs / 'cert.pem'}",
        "--ssl-ca-certs", str(certs / "ca.pem"), "--ssl-cert-reqs", "2",
    )  # fmt: skip
    url = f"https://127.0.0.1:{port}/scope"
    trust = ("--cacert", str(certs / "ca.pem"), "--cert", str(certs / "client.pem"))
    h2, version = body_and_version(curl("--http2", *trust, url))
    assert version == "2" and h2["http_version"] == "2" and h2["scheme"] == "https"
    h1, version = body_and_version(curl("--http1.1", *trust, url))
    assert version == "1.1" and h1["scheme"] == "https"
    anonymous = curl("--http2", "--cacert", str(certs / "ca.pem"), url)
    assert anonymous.returncode != 0


def test_http_h2_over_tls(serve, certs):  # noqa: F811 - the fixture
    """``--http h2`` (asgihost's value: HTTP/2 only) with ``--ssl-keyfile --ssl-certfile``:
    ``curl --http2`` speaks HTTP/2 to it."""
    server = serve(
        APP,
        "--http",
        "h2",
        "--ssl-keyfile",
        str(certs / "key.pem"),
        "--ssl-certfile",
        str(certs / "cert.pem"),
    )
    seen, version = body_and_version(
        curl("--http2", "--cacert", str(certs / "ca.pem"), f"https://127.0.0.1:{server.port}/scope")
    )
    assert version == "2" and seen["http_version"] == "2"


def test_http2_with_http_zttp(serve):
    """``--http2`` - "Enable HTTP/2 support. Requires --http zttp." (Settings, Implementation):
    ``uvicorn main:app --http zttp --http2``. asgihost serves zttp's HTTP/1.1 with httptools
    (one line says so) and HTTP/2 beside it: curl speaks either on the one port."""
    server = serve(APP, "--http", "zttp", "--http2")
    seen, version = body_and_version(curl("--http2-prior-knowledge", f"{server.url}/scope"))
    assert version == "2" and seen["http_version"] == "2"
    seen, version = body_and_version(curl("--http1.1", f"{server.url}/scope"))
    assert version == "1.1" and seen["http_version"] == "1.1"
    assert "--http zttp: asgihost serves HTTP/1.1 on httptools and HTTP/2 on h2" in server.log()


def test_http_h11_and_its_incomplete_event_size(serve):
    """``--http [auto|h11|httptools]`` - "h11 ... pure-Python, when C extensions are unavailable
    or when debugging protocol-level issues", with ``--h11-max-incomplete-event-size <int>`` -
    "the maximum number of bytes to buffer of an incomplete event": a head over it is a 431."""
    server = serve(APP, "--http", "h11", "--h11-max-incomplete-event-size", "2048")
    assert httpx.get(f"{server.url}/", timeout=10).json()["started"] is True
    with server.connect() as sock:
        reply = http_exchange(sock, b"GET / HTTP/1.1\r\nHost: t\r\nx-big: " + b"a" * 4096 + b"\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 431 ")


# ---- Resource limits and timeouts --------------------------------------------------------------


def test_limit_concurrency_backlog_and_timeouts(serve):
    """``--limit-concurrency <int>`` - "Maximum number of concurrent connections or tasks to
    allow, before issuing HTTP 503 responses"; ``--backlog <int>`` - "passed to the socket's
    listen() call"; ``--timeout-keep-alive <int>`` - "Close Keep-Alive connections if no new
    data is received within this timeout"; ``--timeout-graceful-shutdown <int>`` - "Maximum
    number of seconds to wait for graceful shutdown. After this timeout, the server will start
    terminating requests"."""
    server = serve(
        APP, "--limit-concurrency", "2", "--backlog", "64", "--timeout-keep-alive", "1",
        "--timeout-graceful-shutdown", "1",
    )  # fmt: skip
    listening = subprocess.run(
        ["ss", "-Hltn", f"sport = :{server.port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert listening[0] == "LISTEN" and listening[2] == "64", listening  # Send-Q: the backlog

    assert hold_and_exceed(server) == [200, 503, 200]
    assert "Exceeded concurrency limit." in server.log()

    with server.connect(timeout=10) as idle:
        assert http_exchange(idle, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").startswith(b"HTTP/1.1 200 ")
        idle.settimeout(5)
        assert idle.recv(65536) == b""  # closed by the server, idle past 1 s

    with server.connect(timeout=10) as held:
        held.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        server.wait_for_log_count("GUIDE-SLOW-STARTED", 2)
        assert server.stop(signal.SIGTERM) == 0
    assert "timeout graceful shutdown exceeded" in server.log()


def test_limit_max_requests_ends_the_server(serve):
    """``--limit-max-requests <int>`` - "Maximum number of requests to service before
    terminating the process. Useful when running together with a process manager"."""
    server = serve(APP, "--limit-max-requests", "3")
    for _ in range(3):
        assert httpx.get(f"{server.url}/", timeout=10, headers={"connection": "close"}).status_code == 200
    assert wait_until(lambda: server.proc.poll() is not None, timeout=3), "still serving"
    assert server.proc.wait(5) == 0
    assert "GUIDE-LIFESPAN-SHUTDOWN" in server.log()
    assert "Maximum request limit of 3 exceeded. Terminating process." in server.log()


# ---- Running programmatically ------------------------------------------------------------------


def test_run_in_main(bare, tmp_path):
    """``uvicorn.run("main:app", host="127.0.0.1", port=5000, log_level="info")`` in an
    ``if __name__ == "__main__":`` clause (Deployment, "Running programmatically"), run as a
    script and stopped with Ctrl+C."""
    port = free_port()
    script = tmp_path / "main.py"
    script.write_text(
        "import asgihost\n\n"
        'if __name__ == "__main__":\n'
        f'    asgihost.run("guide_app:app", host="127.0.0.1", port={port}, log_level="info")\n'
    )
    server = launch(tmp_path, [sys.executable, str(script)], port=port)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).json()["started"] is True
    finally:
        assert server.stop(signal.SIGINT) == 0
    assert "Application shutdown complete." in server.log()


def test_run_with_the_logging_guides_dict(bare, tmp_path):
    """Logging, "Programmatic dictConfig": ``uvicorn.run("main:app", log_config=LOGGING_CONFIG)``
    with the guide's dict (its ``uvicorn.logging`` formatters and ``uvicorn*`` loggers, no
    Uvicorn needed): the access line and the server's lines in the guide's format. The
    forms of log_config (Uvicorn's own default, files, parsers, workers) are in
    test_uvicorn_logging.py."""
    port = free_port()
    script = tmp_path / "main.py"
    script.write_text(
        "import asgihost\n\n"
        f"LOGGING_CONFIG = {GUIDE_LOGGING!r}\n\n"
        'if __name__ == "__main__":\n'
        f'    asgihost.run("guide_app:app", port={port}, log_config=LOGGING_CONFIG)\n'
    )
    server = launch(tmp_path, [sys.executable, str(script)], port=port)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
        stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
        server.wait_for_log('"GET / HTTP/1.1" 200 OK')
    finally:
        assert server.stop(signal.SIGINT) == 0
    assert re.search(stamp + r' - INFO:     127\.0\.0\.1:\d+ - "GET / HTTP/1\.1" 200 OK', server.log())
    assert re.search(stamp + r" - INFO:     Application startup complete\.", server.log())


def _port(server: asgihost.Server) -> int:
    return int(server.servers[0].sockets[0].getsockname()[1])


def test_config_and_server_run():
    """``config = uvicorn.Config("main:app", port=5000, log_level="info")``, ``server =
    uvicorn.Server(config)``, ``server.run()`` ("Config and Server instances"), here on a
    thread, stopped by setting ``server.should_exit``; ``server.started`` says it serves."""
    with logging_restored():
        config = asgihost.Config(APP, port=0, log_level="info")
        server = asgihost.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            assert wait_until(lambda: server.started, timeout=15)
            seen = httpx.get(f"http://127.0.0.1:{_port(server)}/", timeout=10).json()
            assert seen["started"] is True
        finally:
            server.should_exit = True
            thread.join(15)
    assert not thread.is_alive() and server.exit_code == 0


def test_config_and_server_serve_in_a_running_loop():
    """``async def main(): config = uvicorn.Config("main:app", port=5000, log_level="info");
    server = uvicorn.Server(config); await server.serve()`` with ``asyncio.run(main())`` ("If
    you'd like to run Uvicorn from an already running async environment"): the loop's own
    tasks go on beside the server, and the server ends when ``should_exit`` is set."""
    seen: dict = {}

    async def main() -> None:
        config = asgihost.Config(APP, port=0, log_level="info")
        server = asgihost.Server(config)
        serving = asyncio.ensure_future(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(timeout=10) as client:  # a task of the same loop
            seen.update((await client.get(f"http://127.0.0.1:{_port(server)}/")).json())
        server.should_exit = True
        await serving
        seen["exit_code"] = server.exit_code

    with logging_restored():
        asyncio.run(main())
    assert seen["started"] is True and seen["exit_code"] == 0
