"""The README's first command: the example site serves."""

from __future__ import annotations

import sys

import httpx
from conftest import ROOT, free_port, launch


def test_hello_example_site(tmp_path):
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "asgihost",
        "run",
        "main:app",
        "--app-dir",
        str(ROOT / "examples/sites/hello"),
        "--port",
        str(port),
    ]
    server = launch(tmp_path, argv, port=port)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            assert "Served by asgihost" in client.get("/").text
            assert client.get("/hello/world").json() == {"message": "Hello, world!"}
            assert client.get("/uptime").json()["seconds"] >= 0
            assert client.get("/count").text == "1\n2\n3\n4\n5\n"
            assert client.get("/openapi.json").json()["info"]["title"] == "asgihost example"
    finally:
        assert server.stop() == 0
