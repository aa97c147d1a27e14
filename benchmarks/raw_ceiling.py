"""The ceiling for a Python HTTP/1.1 server on this machine: uvloop and httptools with no ASGI layer.

  python benchmarks/raw_ceiling.py --port PORT [--host 127.0.0.1]

An asyncio protocol that parses requests with httptools and answers every one with the same
bytes the ``hello`` app makes a server send (``200``, ``text/plain``, ``Hello, world!``), written
from a constant: no scope, no app call, no header building, no date. No ASGI server can be
faster on the same loop and parser, so ``suite.py`` shows every server's req/s next to this one.
It keeps connections alive unless the request asks to close, and closes a connection whose bytes
do not parse. It is a measuring stick, not a server: nothing else is implemented.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import httptools
import uvloop

RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\r\nHello, world!"


class HelloProtocol(asyncio.Protocol):
    """One connection: feed bytes to the parser, write the constant answer per complete request."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.parser = httptools.HttpRequestParser(self)

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_complete(self) -> None:
        self.transport.write(RESPONSE)
        if not self.parser.should_keep_alive():
            self.transport.close()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HelloProtocol, host, port, backlog=2048)
    async with server:
        await server.serve_forever()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
