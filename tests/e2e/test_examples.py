"""The README's first command: the example site serves."""

from __future__ import annotations

import httpx
from conftest import ROOT


def test_hello_example_site(serve):
    server = serve("main:app", "--app-dir", str(ROOT / "examples/sites/hello"))
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            assert "Served by asgihost" in client.get("/").text
            assert client.get("/hello/world").json() == {"message": "Hello, world!"}
            assert client.get("/uptime").json()["seconds"] >= 0
            assert client.get("/count").text == "1\n2\n3\n4\n5\n"
            assert client.get("/openapi.json").json()["info"]["title"] == "asgihost example"
    finally:
        assert server.stop() == 0
