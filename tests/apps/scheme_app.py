"""Answers with what the scope says about the connection: scheme, server port, path."""


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = f"{scope['scheme']} {scope['server'][1] if scope['server'] else '-'} {scope['path']}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})
