"""Reads the environment when imported; test_multi_app.py gives this app an [apps.X.env]."""

from __future__ import annotations

import json
import os

AT_IMPORT = {name: os.environ.get(name) for name in ("ASGIHOST_T_GREETING", "ASGIHOST_T_SHARED")}


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    at_request = {name: os.environ.get(name) for name in AT_IMPORT}
    body = json.dumps({"app": "a", "at_import": AT_IMPORT, "at_request": at_request}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
