"""Markers the test apps write for the tests to wait on (``REQUEST-STARTED``, ``SHUTDOWN-RAN``).

In a server process a marker is a line on stdout, which the test reads from the process's
output. A server the tests run on a thread of their own process registers a sink for that
thread (``sinks[thread id]``), and the line goes to that server's log instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

sinks: dict[int, Callable[[str], None]] = {}


def mark(*parts: object) -> None:
    text = " ".join(map(str, parts))
    sink = sinks.get(threading.get_ident())
    if sink is None:
        print(text, flush=True)
    else:
        sink(text)
