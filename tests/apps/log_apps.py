"""Apps for the logging tests: ``app`` answers 200 with a 5-byte body (``/fail`` raises an
exception whose text carries an escape sequence)."""


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/fail":
        raise RuntimeError("boom \x1b[31mred\x1b[0m")
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
    await send({"type": "http.response.body", "body": b"hello"})
