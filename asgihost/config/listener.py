"""The listener tables of asgihost.toml: where a listener binds, its TLS, its proxy trust and
its own limits on request heads (a part of the model, ``model.py``, kept apart for its size)."""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from .types import Bind, BindAddress, ByteSize, FileMode, Seconds, Section

_Model = Section


class ListenerLimits(_Model):
    """A listener's own limits on what it reads before a request is routed; a key left out takes
    its value from [limits]."""

    request_line: ByteSize | None = Field(None, description="Longest request line: 414.")
    header_count: int | None = Field(None, ge=1, description="Most header fields in a request: 431.")
    header_field_size: ByteSize | None = Field(None, description="Longest header field: 431.")
    header_block_size: ByteSize | None = Field(None, description="Largest header block: 431.")
    head_timeout: Seconds | None = Field(None, description="Time to send a request head: 408.")
    requests_per_connection: int | None = Field(
        None, ge=1, description="Close a keep-alive connection after this many requests."
    )


class Tls(_Model):
    """TLS on a listener. Relative paths are taken from the file's directory."""

    certfile: str = Field(description="PEM certificate chain (the server's certificate first).")
    keyfile: str | None = Field(None, description="PEM private key; leave out when certfile holds it.")
    password: str | None = Field(None, description="Password of an encrypted private key.")
    ca_certs: str | None = Field(
        None, description="PEM CA certificates that client certificates are checked against."
    )
    client_auth: Literal["none", "optional", "required"] = Field(
        "none", description="Ask clients for a certificate: none, optional (checked when sent) or required."
    )
    ciphers: str | None = Field(
        None, description="OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are fixed); default: Python's."
    )
    min_version: Literal["1.2", "1.3"] = Field("1.2", description="Oldest TLS version accepted.")
    max_version: Literal["1.2", "1.3"] = Field("1.3", description="Newest TLS version accepted.")
    handshake_timeout: Seconds = Field(
        10.0, description="Close a connection whose TLS handshake takes longer."
    )

    @field_validator("max_version", mode="before")
    @classmethod
    def _not_a_protocol_number(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):  # Uvicorn's ssl_version, unmapped
            raise ValueError(
                f"{value} is not served: asgihost serves TLS 1.2 and 1.3 only; use 17 (PROTOCOL_TLS_SERVER: "
                "both, the default) or 5 (PROTOCOL_TLSv1_2: TLS 1.2 only)"
            )
        return value

    @model_validator(mode="after")
    def _versions(self) -> Tls:
        if self.min_version > self.max_version:
            raise ValueError(f"min_version {self.min_version} is newer than max_version {self.max_version}")
        return self

    @model_validator(mode="after")
    def _client_auth_needs_ca(self) -> Tls:
        if self.client_auth != "none" and self.ca_certs is None:
            raise ValueError(
                "client_auth needs ca_certs: the CA certificates client certificates are checked against"
            )
        return self


def _forwarded_allow_ips() -> list[str]:
    value = os.environ.get("FORWARDED_ALLOW_IPS", "")
    return [item.strip() for item in value.split(",") if item.strip()] or ["127.0.0.1", "::1"]


def _trusted_entry(value: str) -> str:
    if value in ("*", "unix") or value.startswith("/"):  # a path: Uvicorn's literal for a Unix socket
        return value
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(
            f'{value!r} is not an IP address, a network (CIDR), a Unix socket\'s path, "unix" or "*"'
        ) from None
    return value


class Proxy(_Model):
    """Proxy headers: which peers are believed when they say who the client is and which scheme
    it used. Headers from any other peer are passed to the app as they are and not believed."""

    enabled: bool = Field(True, description="Read proxy headers from trusted peers.")
    trusted: list[Annotated[str, AfterValidator(_trusted_entry)]] = Field(
        default_factory=_forwarded_allow_ips,
        description='Peers whose proxy headers are believed: IP addresses, networks ("10.0.0.0/8"), '
        '"unix" for Unix-socket peers, a Unix socket\'s path for the peers of the listener bound there '
        '(Uvicorn\'s literal), or "*" for all. Default: $FORWARDED_ALLOW_IPS, else 127.0.0.1 and ::1 (as Uvicorn).',
    )
    headers: Literal["x-forwarded", "forwarded"] = Field(
        "x-forwarded",
        description="x-forwarded: X-Forwarded-For and X-Forwarded-Proto; forwarded: RFC 7239 Forwarded.",
    )


class Listener(_Model):
    bind: BindAddress = Field(
        Bind.tcp("127.0.0.1", 8000),
        description='"host:port", "[v6]:port", "unix:/path", "fd://N" or "systemd:NAME" (socket activation).',
    )
    backlog: int = Field(2048, ge=1, description="Listen backlog: connections the kernel queues unaccepted.")
    mode: FileMode = Field(0o666, description="File mode of a Unix socket.")
    tls: Tls | None = Field(None, description="Serve HTTPS: certificate, key and client authentication.")
    limits: ListenerLimits = Field(
        default_factory=ListenerLimits, description="Limits on request heads, overriding [limits]."
    )
    proxy: Proxy = Field(
        default_factory=Proxy, description="Which proxies' client and scheme headers are believed."
    )
    protocols: list[Literal["h2", "http/1.1"]] | None = Field(
        None,
        description="Protocols served; by default those [server] http names. Over TLS they are offered "
        "by ALPN in this order; in cleartext, h2 is spoken to a client that starts with the HTTP/2 "
        "preface (prior knowledge) or asks with Upgrade: h2c, and without http/1.1 any other client "
        "gets a 505.",
    )

    @model_validator(mode="after")
    def _protocols(self) -> Listener:
        if self.protocols is not None:
            if not self.protocols:
                raise ValueError("protocols lists no protocol")
            if len(set(self.protocols)) != len(self.protocols):
                raise ValueError("protocols lists a protocol twice")
        return self

    @model_validator(mode="after")
    def _mode_only_for_unix(self) -> Listener:
        if "mode" in self.model_fields_set and self.bind.kind != "unix":
            raise ValueError('mode applies only to a Unix socket (bind = "unix:/path")')
        return self
