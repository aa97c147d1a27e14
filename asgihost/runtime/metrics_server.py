"""The ``[metrics] bind`` listener: a small threaded HTTP server in the process that takes
signals (a lone server or the supervisor), answering every GET with the exposition text.

It runs beside the event loop (or the supervisor's loop) in daemon threads, so a slow scraper
holds only its own thread (each socket times out after a few seconds); the text comes from
``provider``, which reads a snapshot taken at most a second before.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..metrics import CONTENT_TYPE


class _Server(ThreadingHTTPServer):
    daemon_threads = True


def serve_metrics(sock: socket.socket, provider: Callable[[], bytes]) -> ThreadingHTTPServer:
    """Answer on the already bound and listening ``sock`` until ``shutdown()``."""

    class Handler(BaseHTTPRequestHandler):
        timeout = 5.0
        server_version = "asgihost"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = provider()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE.decode())
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

    sock.setblocking(True)
    server = _Server(sock.getsockname(), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    threading.Thread(target=server.serve_forever, name="asgihost-metrics", daemon=True).start()
    return server
