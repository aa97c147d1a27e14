"""Answers with what the scope says about the client: its address, the scheme, and the
X-Forwarded-For header as the app received it (JSON)."""

import json


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = dict(scope["headers"])
    body = json.dumps(
        {
            "client": list(scope["client"]) if scope["client"] else None,
            "scheme": scope["scheme"],
            "x_forwarded_for": headers.get(b"x-forwarded-for", b"").decode("latin-1"),
            "http_version": scope["http_version"],
        }
    ).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})
