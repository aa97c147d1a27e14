"""Logs through the real server: the access format and its fields, JSON lines, and control
characters that never reach a log line unescaped."""

from __future__ import annotations

import json
import sys

import httpx
from conftest import check_config, free_port, launch

FULL = (
    "{client}|{method}|{path}|{query}|{target}|{status}|{bytes}|{duration_ms}|{app}|{listener}|"
    "{protocol}|{header[user-agent]}|{header[x-missing]}"
)


def site(tmp_path, port: int, logging_table: str) -> list[str]:
    config = tmp_path / "asgihost.toml"
    config.write_text(
        f"""
[logging]
{logging_table}
[listeners.front]
bind = "127.0.0.1:{port}"
[apps.shop]
app = "log_apps:app"
"""
    )
    return [sys.executable, "-m", "asgihost", "run", str(config)]


def test_access_format_fields(tmp_path):
    port = free_port()
    server = launch(
        tmp_path, site(tmp_path, port, f'format = "plain"\naccess_format = {json.dumps(FULL)}'), port=port
    )
    try:
        httpx.get(f"http://127.0.0.1:{port}/a/b?x=1", headers={"user-agent": "probe/1.0"}, timeout=10)
        line = next(line for line in server.wait_for_log("|shop|").splitlines() if "|shop|" in line)
        fields = line.split(maxsplit=1)[1].split("|")
        (
            client,
            method,
            path,
            query,
            target,
            status,
            size,
            duration,
            app,
            listener,
            protocol,
            agent,
            missing,
        ) = fields
        assert client.startswith("127.0.0.1:") and (method, path, query, target) == (
            "GET",
            "/a/b",
            "x=1",
            "/a/b?x=1",
        )
        assert (status, size, app, listener, protocol) == ("200", "5", "shop", "front", "HTTP/1.1")
        assert float(duration) >= 0 and (agent, missing) == ("probe/1.0", "-")
    finally:
        assert server.stop() == 0


def test_json_lines_carry_the_same_fields_and_escape_everything(tmp_path):
    port = free_port()
    server = launch(
        tmp_path,
        site(tmp_path, port, 'format = "json"\naccess_format = "{client} {header[user-agent]}"'),
        port=port,
        wait=False,
    )
    try:
        server.wait_for_log('"running on', timeout=15) if False else server.wait_for_log(
            "running on", timeout=15
        )
        httpx.get(f"http://127.0.0.1:{port}/p?q=%1b", headers={"user-agent": b"evil\x9b[31m"}, timeout=10)
        httpx.get(f"http://127.0.0.1:{port}/fail", timeout=10)
        server.wait_for_log('"status": 500')  # the access line follows the traceback
        records = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
        assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
        access = [r for r in records if r["logger"] == "asgihost.access"]
        first = access[0]
        assert (first["method"], first["path"], first["query"], first["status"], first["bytes"]) == (
            "GET",
            "/p",
            "q=%1b",
            200,
            5,
        )
        assert (first["app"], first["listener"], first["protocol"]) == ("shop", "front", "HTTP/1.1")
        assert first["headers"] == {"user-agent": "evil\\x9b[31m"}  # escaped in the field too
        assert access[1]["status"] == 500
        error = next(r for r in records if r["message"].startswith("Exception in ASGI application"))
        assert error["level"] == "error" and "RuntimeError" in error["exc_info"]
        assert "\x1b" not in server.log() and "\x9b" not in server.log()  # raw: never
    finally:
        assert server.stop() == 0


def test_plain_lines_escape_control_characters_in_messages_and_tracebacks(tmp_path):
    port = free_port()
    server = launch(
        tmp_path,
        site(tmp_path, port, 'format = "plain"\naccess_format = "{client} {header[user-agent]}"'),
        port=port,
    )
    try:
        httpx.get(f"http://127.0.0.1:{port}/", headers={"user-agent": b"a\x9bb"}, timeout=10)
        httpx.get(f"http://127.0.0.1:{port}/fail", timeout=10)
        server.wait_for_log("a\\x9bb")
        log = server.wait_for_log("RuntimeError: boom")
        assert "a\\x9bb" in log and "boom \\x1b[31mred\\x1b[0m" in log
        assert "\x1b" not in log and "\x9b" not in log
    finally:
        assert server.stop() == 0


def test_an_unknown_access_field_is_a_config_error(tmp_path):
    result = check_config(tmp_path, '[logging]\naccess_format = "{client} {user}"\n[apps.a]\napp = "m:app"\n')
    assert result.returncode == 1
    assert "asgihost.toml:2:" in result.stderr and "logging.access_format" in result.stderr
    assert "unknown field {user}" in result.stderr


def test_rich_output_escapes_an_injection_too(tmp_path):
    """format = "auto" with use_colors: the rich handler, which must not let a client's bytes
    through either."""
    port = free_port()
    argv = site(tmp_path, port, 'use_colors = true\naccess_format = "{client} {header[user-agent]}"')
    server = launch(tmp_path, argv, port=port, env={"COLUMNS": "200"})
    try:
        httpx.get(f"http://127.0.0.1:{port}/", headers={"user-agent": b"x\x9b[2Jy"}, timeout=10)
        server.wait_for_log("x\\x9b")  # rich then colours the "[" of "[2J" as it likes
        httpx.get(f"http://127.0.0.1:{port}/fail", timeout=10)
        log = server.wait_for_log("RuntimeError")
        assert "\x9b" not in log and "boom \x1b[31mred" not in log  # the exception's own escape: written out
        assert "\x1b[" in log  # rich's own colours: it is the rich handler that wrote this
    finally:
        assert server.stop() == 0


def test_requests_per_connection_closes_after_the_cap(serve, tmp_path):
    import socket

    port = free_port()
    config = tmp_path / "asgihost.toml"
    config.write_text(
        f'[listeners.web]\nbind = "127.0.0.1:{port}"\nlimits = {{ requests_per_connection = 3 }}\n'
        '[apps.a]\napp = "log_apps:app"\n'
    )
    server = serve(str(config))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            replies = b""
            for _ in range(3):
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                while replies.count(b"hello") < _ + 1:
                    chunk = sock.recv(65536)
                    assert chunk, replies
                    replies += chunk
            assert sock.recv(65536) == b""  # closed after the third
        heads = [part for part in replies.split(b"hello") if part]
        assert [b"connection: close" in head for head in heads] == [False, False, True]
    finally:
        assert server.stop() == 0
