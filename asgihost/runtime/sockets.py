"""Binding listeners: TCP (IPv4/IPv6), Unix sockets with a file mode, inherited descriptors."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat

from ..config.model import Listener


class BindError(Exception):
    """A listener could not be bound; the message names the address and the reason."""


def bind(listener: Listener) -> socket.socket:
    address = listener.bind
    try:
        if address.kind == "fd":
            sock = socket.socket(fileno=address.fd)
        elif address.kind == "unix":
            sock = _bind_unix(address.path, listener.mode)
        else:
            family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((address.host, address.port))
            except BaseException:
                sock.close()
                raise
        sock.listen(listener.backlog)
        sock.setblocking(False)
    except OSError as exc:
        raise BindError(f"could not bind on {address}: {exc.strerror or exc}") from None
    return sock


def _bind_unix(path: str, mode: int) -> socket.socket:
    if os.path.exists(path):
        if not stat.S_ISSOCK(os.stat(path).st_mode):
            raise OSError(errno.EEXIST, "the path exists and is not a socket")
        if _in_use(path):
            raise OSError(errno.EADDRINUSE, "another server is listening on this socket")
        os.unlink(path)  # stale socket from a server that is gone
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        os.chmod(path, mode)
    except BaseException:
        sock.close()
        raise
    return sock


def _in_use(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        return False
    finally:
        probe.close()
    return True


def display_address(sock: socket.socket) -> str:
    """How to reach a bound socket, for the start-up log line."""
    if sock.family == socket.AF_UNIX:
        return f"unix:{sock.getsockname()}"
    host, port = sock.getsockname()[:2]
    if sock.family == socket.AF_INET6:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def remove_unix_socket(path: str) -> None:
    """Remove the file of a Unix socket this server bound."""
    with contextlib.suppress(OSError):
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)
