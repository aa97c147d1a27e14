"""Time the hot path reads instead of asking the OS: the rendered ``Date`` header and a coarse
"now" for idle deadlines. The server ticks it a few times a second; a render happens only when
the second changes."""

from __future__ import annotations

import time
from email.utils import formatdate

from ..protocols.http1_response import DefaultHeaders


class Clock:
    __slots__ = ("defaults", "date_enabled", "now", "_second")

    def __init__(self, defaults: DefaultHeaders, date_enabled: bool) -> None:
        self.defaults = defaults
        self.date_enabled = date_enabled
        self.now = 0.0
        self._second = -1
        self.tick()

    def tick(self) -> None:
        self.now = time.monotonic()
        if not self.date_enabled:
            return
        second = int(time.time())
        if second != self._second:
            self._second = second
            self.defaults.date = b"date: %s\r\n" % formatdate(second, usegmt=True).encode("ascii")
