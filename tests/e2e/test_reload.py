"""Development reload (--reload on watchfiles): a changed file restarts the server with the new
code, an excluded or unwatched file does not, a broken import waits for the next change."""

from __future__ import annotations

import sys

import httpx
from conftest import free_port, launch, wait_until

APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"VERSION"})
"""


def body_becomes(url: str, expected: str, timeout: float = 15.0) -> bool:
    def answered() -> bool:
        try:
            return httpx.get(url, timeout=2).text == expected
        except httpx.HTTPError:
            return False

    return wait_until(answered, timeout)


def test_reload_restarts_on_a_watched_change_only(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "main.py").write_text(APP.replace("VERSION", "one"))
    (site / "skip_me.py").write_text("")
    port = free_port()
    argv = [
        sys.executable, "-m", "asgihost", "run", "main:app", "--app-dir", str(site), "--port", str(port),
        "--reload", "--reload-dir", str(site), "--reload-exclude", "skip_*.py", "--reload-delay", "0.1",
    ]  # fmt: skip
    server = launch(tmp_path, argv, port=port)
    url = f"http://127.0.0.1:{port}/"
    try:
        assert httpx.get(url, timeout=5).text == "one"
        (site / "main.py").write_text(APP.replace("VERSION", "two"))
        assert body_becomes(url, "two"), server.log()
        restarts = server.log().count("Changes detected")
        (site / "notes.txt").write_text("not a watched file")
        (site / "skip_me.py").write_text("# excluded")
        # A watched change after them: one restart, for it alone, whether the three changes
        # come in one batch (the restart names only main.py) or not (no restart before it).
        (site / "main.py").write_text(APP.replace("VERSION", "three") + "\nraise ImportError('half-saved')\n")
        server.wait_for_log("waiting for a change to start it again", timeout=15)
        detected = [line for line in server.log().splitlines() if "Changes detected" in line]
        assert len(detected) == restarts + 1, detected
        assert "main.py" in detected[-1] and "notes.txt" not in detected[-1] and "skip_me" not in detected[-1]
        assert "ImportError: half-saved" in server.log()
        (site / "main.py").write_text(APP.replace("VERSION", "four"))
        assert body_becomes(url, "four"), server.log()
    finally:
        assert server.stop() == 0
    assert "Stopping reloader process" in server.log()


def test_reload_from_a_file_rereads_the_file(tmp_path):
    (tmp_path / "main.py").write_text(APP.replace("VERSION", "file"))
    port = free_port()
    config = tmp_path / "asgihost.toml"
    config.write_text(
        f'[reload]\nenabled = true\ndelay = "100ms"\n[listeners.web]\nbind = "127.0.0.1:{port}"\n'
        '[apps.web]\napp = "main:app"\nmount = "/one"\n'
    )
    server = launch(tmp_path, [sys.executable, "-m", "asgihost", "run", str(config)], port=port)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/one", timeout=5).text == "file"
        config.write_text(config.read_text().replace('mount = "/one"', 'mount = "/two"'))
        assert body_becomes(f"http://127.0.0.1:{port}/two", "file"), server.log()
        assert httpx.get(f"http://127.0.0.1:{port}/one", timeout=5).status_code == 404
    finally:
        assert server.stop() == 0


def test_reload_needs_an_import_string_in_code(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(
        "import asgihost\n\nasync def app(scope, receive, send):\n    pass\n\n"
        "asgihost.run(app, port=1, reload=True)\n"
    )
    server = launch(tmp_path, [sys.executable, str(script)], wait=False)
    assert server.proc.wait(30) == 1
    assert "import string to enable 'reload'" in server.log()
