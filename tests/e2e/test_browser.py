"""The front-end example (examples/sites/frontend) in a real browser: asgihost serves the built
files from public/ at "/" and the FastAPI app at "/api"; headless Chromium loads the page, whose
script fetches /api/items and renders the list. The test drives Chromium over its DevTools
protocol (a websocket; the ``websockets`` package's sync client) and polls the DOM with
Runtime.evaluate until the script has rendered, within a deadline. The server's side is checked
with httpx (Cache-Control, types, the SPA fallback) and in its access log (what the browser
asked for, and what its cache spared).

Chromium is Debian's package (``/usr/bin/chromium``; .ci/run installs it); without it the test
is skipped. It runs headless, without a sandbox (root), and without its background services,
which on this machine's closed network would only fail or delay it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT, free_port, wait_until
from websockets.sync.client import ClientConnection, connect

SITE = ROOT / "examples" / "sites" / "frontend"
CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",  # the port it took is written to DevToolsActivePort
]
IMMUTABLE = "public, max-age=31536000, immutable"  # the example's cache_control for assets/*
ITEMS = ["widget", "gadget", "gizmo"]  # api_service/main.py's

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium; .ci/run does)"
)

# What the page shows, read in the page: its address, the status line, the list, the stylesheet's effect.
PAGE_STATE = """(() => {
  const status = document.getElementById("status");
  const list = document.getElementById("items");
  return {
    url: location.href,
    status: status ? status.textContent : null,
    state: status ? status.dataset.state || null : null,
    items: list ? [...list.querySelectorAll("li")].map((li) => li.textContent) : [],
    current: list ? [...list.querySelectorAll('[aria-current="page"]')].map((a) => a.textContent) : [],
    list_style: list ? getComputedStyle(list).listStyleType : null,
  };
})()"""


class DevTools:
    """One websocket to the browser; calls in a flattened session (``sessionId``) go to a page.
    Events that arrive while a call waits for its answer are kept in ``events``."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, session: str | None = None, timeout: float = 10.0, **params: Any) -> Any:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:  # each recv is bounded; an unanswered call ends in TimeoutError
            reply = json.loads(self.ws.recv(timeout=timeout))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply["result"]
            if "method" in reply:
                self.events.append(reply)

    def console(self) -> list[str]:
        """What the page wrote to its console, threw, or the browser logged for it."""
        lines = []
        for event in self.events:
            params = event["params"]
            if event["method"] == "Runtime.consoleAPICalled":
                lines.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
            elif event["method"] == "Runtime.exceptionThrown":
                lines.append(params["exceptionDetails"].get("exception", {}).get("description", "exception"))
            elif event["method"] == "Log.entryAdded":
                lines.append(f"{params['entry']['level']}: {params['entry']['text']}")
        return lines


class Page:
    """A tab of the browser, attached in a flattened session."""

    def __init__(self, devtools: DevTools) -> None:
        self.devtools = devtools
        target = devtools.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = devtools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            devtools.call(f"{domain}.enable", self.session)

    def goto(self, url: str) -> dict[str, Any]:
        """Load ``url``; the page's state once its script has said how the fetch went."""
        result = self.devtools.call("Page.navigate", self.session, url=url)
        assert "errorText" not in result, f"{url}: {result['errorText']}"
        # Until the new document is in the tab, the old one answers (or none: a navigation
        # destroys the context an evaluation ran in), so a state counts once it is url's.
        state = wait_until(lambda: (s := self.state()).get("url") == url and s.get("state") and s, 20)
        state = state or self.state()
        assert state.get("url") == url and state.get("state") == "ok", (
            f"{url}: {state}\nconsole: {self.devtools.console()}"
        )
        return state

    def state(self) -> dict[str, Any]:
        """What PAGE_STATE finds in the tab now, or what kept it from answering."""
        try:
            result = self.devtools.call(
                "Runtime.evaluate", self.session, expression=PAGE_STATE, returnByValue=True
            )
        except AssertionError as error:  # a protocol error: no context to evaluate in
            return {"error": str(error)}
        if "exceptionDetails" in result:
            return {"error": result["exceptionDetails"].get("text")}
        return dict(result["result"]["value"])


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[DevTools]:
    """Headless Chromium with a profile of its own under tmp_path, in a process group of its own
    (its renderer and helper processes go with it); its DevTools websocket, connected."""
    profile = tmp_path / "chromium-profile"
    log = (tmp_path / "chromium.log").open("wb")
    assert CHROMIUM is not None
    proc = subprocess.Popen(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    active = profile / "DevToolsActivePort"  # "PORT\n/devtools/browser/ID", once listening

    def endpoint() -> str | None:
        lines = active.read_text().splitlines() if active.exists() else []
        return f"ws://127.0.0.1:{lines[0]}{lines[1]}" if len(lines) == 2 else None

    try:
        url = wait_until(lambda: endpoint() or proc.poll() is not None, timeout=30)
        if not isinstance(url, str):
            raise AssertionError(
                f"chromium did not open DevTools (exit {proc.poll()}):\n{(tmp_path / 'chromium.log').read_text()}"
            )
        with connect(url, max_size=None, open_timeout=10) as ws:
            yield DevTools(ws)
    finally:  # the browser and every process it started (its group)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # what outlived it, or it, past 10 s
            proc.wait(10)
        log.close()


def test_frontend_example_in_chromium(serve, browser, monkeypatch):
    port = free_port()
    monkeypatch.setenv("PORT", str(port))  # the file binds 127.0.0.1:${PORT:-8000}
    server = serve(str(SITE / "asgihost.toml"))
    index = (SITE / "public" / "index.html").read_text()

    # The page, its assets and the API, as the browser will see them.
    with httpx.Client(base_url=server.url, timeout=10) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.text == index
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-cache"
        script = client.get("/assets/app.js")
        assert script.status_code == 200 and "/api/items" in script.text
        assert script.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")
        assert script.headers["cache-control"] == IMMUTABLE
        style = client.get("/assets/style.css")
        assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
        assert style.headers["cache-control"] == IMMUTABLE
        deep = client.get("/items/2")  # no such file: the SPA's fallback, index.html
        assert deep.status_code == 200 and deep.text == index
        assert deep.headers["cache-control"] == "no-cache"
        # Whatever answers a missing asset (a 404, or the fallback), it must not be kept a year.
        missing = client.get("/assets/gone.js")
        assert missing.headers.get("cache-control") != IMMUTABLE, missing.headers
        assert client.get("/api/health").json() == {"ok": True}
        assert [item["name"] for item in client.get("/api/items").json()] == ITEMS

    # The browser: the module script ran, fetched /api/items and rendered it; the CSS applied.
    tab = Page(browser)
    state = tab.goto(f"{server.url}/")
    assert state["status"] == f"loaded {len(ITEMS)} items"
    assert state["items"] == ITEMS and state["current"] == []
    assert state["list_style"] == "none", "style.css did not apply"
    for target in ("/", "/assets/app.js", "/assets/style.css", "/api/items"):
        server.wait_for_log_count(f'"GET {target} HTTP/1.1" 200', 2)  # httpx's, then the browser's

    # A deep link: index.html again (the fallback), the script marks the route's item; the
    # assets come from the browser's cache (immutable): the browser asked for them once.
    state = tab.goto(f"{server.url}/items/2")
    assert state["status"] == f"loaded {len(ITEMS)} items"
    assert state["items"] == ITEMS and state["current"] == ["gadget"]
    server.wait_for_log_count('"GET /items/2 HTTP/1.1" 200', 2)
    log = server.wait_for_log_count('"GET /api/items HTTP/1.1" 200', 3)  # the script ran after app.js came
    assert log.count('"GET /assets/app.js HTTP/1.1" 200') == 2, log
    assert log.count('"GET /assets/style.css HTTP/1.1" 200') == 2, log

    # "/" again: no-cache, so the browser asks whether its copy is current (If-None-Match, the
    # ETag it was given), and the answer is 304, no body.
    state = tab.goto(f"{server.url}/")
    assert state["status"] == f"loaded {len(ITEMS)} items" and state["current"] == []
    server.wait_for_log('"GET / HTTP/1.1" 304')
    assert server.stop() == 0
