"""A file's bytes onto a connection: ``os.sendfile`` from the file to the socket where the
connection is a plain TCP or Unix socket (``zero_copy``), else in bounded pieces read with
``os.pread`` and written through the stream's ``send_body`` under its flow control
(``send_pieces``: TLS, and HTTP/2 within the peer's windows). Neither ever holds more than one
piece of a file in memory.

Invariants:
- ``zero_copy`` writes to the socket only while the transport holds no bytes of its own, and
  nothing else writes on the connection meanwhile (the exchange's ``send`` is awaited): the
  bytes leave in order.
- It waits for the socket to take more on a duplicate of the socket's descriptor (the
  transport's own is the loop's already); the connection's ``file_waiter`` is that wait, which
  a lost or aborted connection ends.
- ``send_pieces`` gives the loop a turn after every piece: an HTTP/2 connection writes its
  frames on its next turn, and only then does its transport say it is full; a peer with a
  large window would otherwise have the whole file framed in memory first.
- A file that ends before its announced length, or that sendfile cannot read, fails the
  exchange (the connection closes: its framing cannot be kept); a peer that has gone ends
  the sending quietly.
"""

from __future__ import annotations

import asyncio
import errno
import os
from typing import Any

PIECE = 65536  # bytes read and written at a time where sendfile cannot be used
SENDFILE_MAX = 8 * 1024 * 1024  # bytes per sendfile call before the loop gets a turn
PEER_GONE = frozenset((errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.ESHUTDOWN, errno.ECONNABORTED))


class FileEnded(RuntimeError):
    """The file is shorter than the response announced."""

    def __init__(self) -> None:
        super().__init__("The file ended before the length the response announced.")


async def send_pieces(stream: Any, cycle: Any, fd: int, offset: int, count: int, more: bool) -> None:
    """``count`` bytes of ``fd`` from ``offset`` as body pieces of ``cycle`` on ``stream``."""
    if not count:
        stream.send_body(cycle, b"", more)
        return
    while count:
        data = os.pread(fd, min(PIECE, count), offset)
        if not data:
            raise FileEnded()
        offset += len(data)
        count -= len(data)
        stream.send_body(cycle, data, more or count > 0)
        if cycle.disconnected:
            return
        if count:
            if stream.write_paused:
                await stream.drain()
            else:  # the connection's turn to write what it holds: HTTP/2 flushes soon, not now
                await asyncio.sleep(0)
            if cycle.disconnected:
                return


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def zero_copy(conn: Any, fd: int, offset: int, count: int) -> None:
    """``count`` bytes of ``fd`` from ``offset`` straight to the socket of ``conn`` (an
    ``H1Protocol``: ``transport``, ``loop``, ``closing``, ``file_waiter``; ``stalled``,
    ``progressed``, ``abort``)."""
    transport = conn.transport
    loop = conn.loop
    out = transport.get_extra_info("socket").fileno()
    watched = -1
    try:
        while count:
            if conn.closing:
                return
            if not transport.get_write_buffer_size():
                try:
                    sent = os.sendfile(out, fd, offset, min(count, SENDFILE_MAX))
                except (BlockingIOError, InterruptedError):
                    sent = -1
                except OSError as exc:
                    if exc.errno not in PEER_GONE:  # the file's (EIO, EINVAL: no file sendfile reads)
                        raise
                    conn.abort()  # the peer has gone: the transport will see it
                    return
                if sent == 0:
                    raise FileEnded()
                if sent > 0:
                    offset += sent
                    count -= sent
                    conn.progressed()
                    if sent == SENDFILE_MAX and count:
                        await asyncio.sleep(0)  # the others' turn
                        continue
                    if not count:
                        break
                    # (less than asked: the socket's buffer is full, and a second call would
                    # only say so; wait for it)
            if watched == -1:
                watched = os.dup(out)
            future = conn.file_waiter = loop.create_future()
            conn.stalled()
            loop.add_writer(watched, _wake, future)
            try:
                await future
            finally:
                loop.remove_writer(watched)
                conn.file_waiter = None
    finally:
        if watched != -1:
            os.close(watched)
