"""Binding listeners: TCP (IPv4/IPv6), Unix sockets with a file mode, inherited descriptors,
systemd socket activation."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import ssl
import stat
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from ..config.listener import Tls
from ..config.types import Bind


class BindError(Exception):
    """A listener could not be bound; the message names the address and the reason."""


SD_LISTEN_FDS_START = 3


def systemd_sockets(environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """File descriptors passed by systemd socket activation, by name and by index.

    Honoured only when ``LISTEN_PID`` is this process (the variables may be inherited by
    accident otherwise). Names come from ``LISTEN_FDNAMES`` (``FileDescriptorName=``).
    """
    env = os.environ if environ is None else environ
    if env.get("LISTEN_PID") != str(os.getpid()):
        return {}
    try:
        count = int(env.get("LISTEN_FDS", "0"))
    except ValueError:
        return {}
    names = env.get("LISTEN_FDNAMES", "").split(":") if env.get("LISTEN_FDNAMES") else []
    found: dict[str, int] = {}
    for index in range(count):
        fd = SD_LISTEN_FDS_START + index
        found[str(index)] = fd
        if index < len(names) and names[index]:
            found.setdefault(names[index], fd)
    return found


def bind(address: Bind, backlog: int, mode: int, systemd: Mapping[str, int] | None = None) -> socket.socket:
    """A listening, non-blocking socket for ``address``; raises BindError saying why not."""
    try:
        if address.kind == "fd":
            sock = socket.socket(fileno=address.fd)
        elif address.kind == "systemd":
            which = address.name or str(address.fd)
            fds = systemd_sockets() if systemd is None else systemd
            if which not in fds:
                given = ", ".join(fds) if fds else "none (LISTEN_FDS/LISTEN_PID not set for this process)"
                raise BindError(f"systemd passed no socket {which!r}; it passed: {given}")
            sock = socket.socket(fileno=fds[which])
        elif address.kind == "unix":
            sock = _bind_unix(address.path, mode)
        else:
            family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((address.host, address.port))
            except BaseException:
                sock.close()
                raise
        sock.listen(backlog)
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


class TlsError(Exception):
    """A listener's TLS settings cannot be used; the message names the file and the reason."""


_CLIENT_AUTH = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


def tls_context(tls: Tls, protocols: Sequence[str] | None = None) -> ssl.SSLContext:
    """A server SSLContext for a listener (TLS 1.2 and later) offering ``protocols`` by ALPN;
    raises TlsError saying why not."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_alpn_protocols(list(protocols or ["http/1.1"]))
    context.minimum_version = ssl.TLSVersion.TLSv1_3 if tls.min_version == "1.3" else ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_2 if tls.max_version == "1.2" else ssl.TLSVersion.TLSv1_3
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    key = tls.keyfile or tls.certfile
    try:
        context.load_cert_chain(tls.certfile, tls.keyfile, tls.password or _no_password)
    except _NeedsPassword:
        raise TlsError(f"the key {key} is encrypted: give its password (tls.password)") from None
    except ssl.SSLError as exc:
        reason = _reason(exc)
        if "PEM lib" in reason:  # OpenSSL says no more when a password does not decrypt the key
            reason = "wrong password for the key" if tls.password else "not a PEM certificate and key"
        raise TlsError(f"cannot use the certificate {tls.certfile} with the key {key}: {reason}") from None
    except OSError as exc:
        raise TlsError(f"cannot read {exc.filename or tls.certfile}: {exc.strerror or exc}") from None
    context.verify_mode = _CLIENT_AUTH[tls.client_auth]
    if tls.ca_certs is not None:
        try:
            context.load_verify_locations(tls.ca_certs)
        except (ssl.SSLError, OSError) as exc:
            reason = _reason(exc) if isinstance(exc, ssl.SSLError) else exc.strerror or str(exc)
            raise TlsError(f"cannot load the CA certificates {tls.ca_certs}: {reason}") from None
    if tls.ciphers is not None:
        try:
            context.set_ciphers(tls.ciphers)
        except ssl.SSLError:
            raise TlsError(f"no cipher matches {tls.ciphers!r}") from None
    return context


class _NeedsPassword(Exception):
    pass


def _no_password() -> str:
    """Without it OpenSSL would ask for an encrypted key's password on the terminal."""
    raise _NeedsPassword


def _reason(exc: ssl.SSLError) -> str:
    if exc.reason == "KEY_VALUES_MISMATCH":
        return "the key does not belong to the certificate"
    if exc.reason in ("BAD_DECRYPT", "bad decrypt"):
        return "wrong password for the key"
    return exc.reason or str(exc)


_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
_RDN_NAMES = {  # RFC 4514 section 3
    "commonName": "CN",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "streetAddress": "STREET",
    "domainComponent": "DC",
    "userId": "UID",
}


def tls_extension(ssl_object: ssl.SSLObject) -> dict[str, Any] | None:
    """The ASGI ``tls`` scope extension for a connection whose client presented a certificate."""
    der = ssl_object.getpeercert(binary_form=True)
    if der is None:
        return None
    peer = ssl_object.getpeercert() or {}
    subject = peer.get("subject", ())
    name = (
        ",".join(f"{_RDN_NAMES.get(key, key)}={value}" for rdn in reversed(subject) for key, value in rdn)
        or None
    )
    version = ssl_object.version()
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)],
        "client_cert_name": name,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(version or ""),
        "cipher_suite": None,  # Python's ssl module does not give the IANA number
    }


def display_address(sock: socket.socket, tls: bool = False) -> str:
    """How to reach a bound socket, for the start-up log line."""
    if sock.family == socket.AF_UNIX:
        return f"unix:{sock.getsockname()}" + (" (TLS)" if tls else "")
    host, port = sock.getsockname()[:2]
    if sock.family == socket.AF_INET6:
        host = f"[{host}]"
    return f"{'https' if tls else 'http'}://{host}:{port}"


def remove_unix_socket(path: str) -> None:
    """Remove the file of a Unix socket this server bound."""
    with contextlib.suppress(OSError):
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)


_LINGER_RESET = (1, 0)  # SO_LINGER on, 0 s: close(2) drops the unsent bytes and sends a RST


def reset_on_close(transport: Any) -> None:
    """Make the transport's coming close a reset: what the kernel still holds to send is
    dropped at once. Without it a connection closed on a client that reads nothing lingers
    in the kernel (FIN-WAIT-1, its send buffer full, for minutes of window probes), and the
    client sees no end until it has read megabytes more."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", *_LINGER_RESET))
