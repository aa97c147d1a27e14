"""The README's "Coming from Uvicorn" table: every flag, its key in asgihost.toml, its default
and how it differs from Uvicorn's, generated from the option table and the notes here
(``python -m asgihost.config.uvicorn_table``); a test fails when the README differs, and when
the flags said to be Uvicorn's are not exactly those of Uvicorn's command."""

from __future__ import annotations

from .flags import APP, LISTENER, OPTIONS, Option, shown_default

OWN = "asgihost's own"
"""How a note begins for a flag Uvicorn does not have."""

NOTES: dict[str, str] = {
    "--host": "IPv6 with `--host ::`",
    "--port": "`0` picks a free port",
    "--uds": "",
    "--fd": "an inherited, already-bound socket",
    "--uds-mode": f"{OWN}: the Unix socket's mode, in octal",
    "--backlog": "",
    "--ssl-keyfile": "HTTPS (TLS 1.2 and later) when a certificate or key is given",
    "--ssl-certfile": "",
    "--ssl-keyfile-password": "never prompted for: an encrypted key without it fails the start",
    "--ssl-cert-reqs": "`0`, `1`, `2` as Uvicorn; in the file `none`, `optional`, `required`",
    "--ssl-version": "the ssl module's number as Uvicorn: `17` and `2` serve TLS 1.2 and 1.3, `5` TLS 1.2 "
    "only; numbers asking for TLS 1.0 or 1.1 are refused (RFC 8996). In the file, `max_version`",
    "--ssl-ca-certs": "client certificates are checked against these CAs",
    "--ssl-ciphers": "Python's default list when not given (Uvicorn: `TLSv1`)",
    "--factory": "",
    "--app-dir": "",
    "--lifespan": "lifespan `state` is copied into every request scope",
    "--interface": "ASGI 2 apps are detected and wrapped; `wsgi` is refused, saying to wrap the app in "
    "`a2wsgi.WSGIMiddleware`",
    "--root-path": "the app sees `root_path` and the full `path`, as Uvicorn ≥ 0.26",
    "--reset-contextvars": "",
    "--reload": "on watchfiles; asgihost.toml is always watched too",
    "--reload-dir": "",
    "--reload-include": "",
    "--reload-exclude": "",
    "--reload-delay": "",
    "--workers": "`$WEB_CONCURRENCY` or 1; a supervisor that runs no app code keeps N workers. Refused "
    "with `--reload`, where Uvicorn ignores it",
    "--limit-max-requests": "a lone server stops after it, as Uvicorn's; a worker is replaced, its "
    "successor started first",
    "--limit-max-requests-jitter": "",
    "--timeout-worker-healthcheck": "a hung worker is replaced",
    "--loop": "also `none`, `zuvloop` and a loop factory `module:callable`, as Uvicorn",
    "--http": "`auto` serves HTTP/1.1 (httptools) and HTTP/2 (h2) on one port, where Uvicorn's offers "
    "HTTP/1.1 only; `h11` parses HTTP/1.1 with h11 (also where httptools cannot be imported, with a "
    "warning), with the same limits and answers; `h2` serves HTTP/2 only; `zttp` is served by httptools",
    "--h11-max-incomplete-event-size": "with h11: a larger unfinished head, chunk line or trailer block is a 431 "
    "(Uvicorn's None is h11's 16 KiB)",
    "--http2": "with `--http httptools`, `h11` or `zttp`: HTTP/2 beside HTTP/1.1; `auto` needs no flag",
    "--ws": "one implementation (wsproto); `websockets` and `websockets-sansio` are served by it, with one "
    "line at start saying so; `none` serves upgrade requests as plain HTTP",
    "--ws-max-size": "bytes per message, after decompression; more closes with 1009",
    "--ws-max-queue": "messages waiting for the app before reading pauses",
    "--ws-ping-interval": "",
    "--ws-ping-timeout": "a peer that does not answer a ping is closed (1011)",
    "--ws-per-message-deflate": "takes a value (`true`, `false`, `1`, `0`) as Uvicorn's; also "
    "`--no-ws-per-message-deflate`",
    "--log-level": "`critical` … `debug`, `trace`",
    "--access-log": "",
    "--use-colors": "rich output when on (default: when stderr is a terminal), plain lines otherwise",
    "--log-config": "a dictConfig in `.json`, `.toml`, `.yaml`, a fileConfig otherwise (`log_config=` also "
    "takes a dict, a parser, an open file). Uvicorn's logger names and formatters configure asgihost's "
    "(docs/logging.md). Without one, asgihost's own logging (Uvicorn's default is its LOGGING_CONFIG): "
    "the same `INFO:     ...` lines, but access lines on stderr, ending `200` (Uvicorn: stdout, `200 OK`)",
    "--limit-concurrency": "503 with `Retry-After` beyond N connections or requests in flight",
    "--timeout-keep-alive": 'seconds, or `"500ms"`, `"2m"`',
    "--limit-request-line": f"{OWN} (Gunicorn's name): 414 beyond it",
    "--limit-request-fields": f"{OWN} (Gunicorn's name): 431 beyond it",
    "--limit-request-field-size": f"{OWN} (Gunicorn's name): 431 beyond it",
    "--limit-body-size": f"{OWN}: 413 beyond it (`100MiB`)",
    "--timeout-request-head": f"{OWN}: 408 for a request head slower than this",
    "--timeout-request-body": f"{OWN}: 408 for a body that stalls this long",
    "--timeout-graceful-shutdown": "Uvicorn waits for ever by default; asgihost gives 30 s",
    "--header": "repeatable",
    "--server-header": "",
    "--date-header": "",
    "--proxy-headers": "",
    "--forwarded-allow-ips": "`$FORWARDED_ALLOW_IPS` or these; IPs, CIDR networks, `unix`, `*`",
    "--env-file": "read with python-dotenv before the apps are imported; a missing file is an error "
    "(Uvicorn's python-dotenv skips it)",
    "--pid": f"{OWN}: the pid file of the process that takes signals",
}


def _flag(option: Option) -> str:
    if option.kind == "bool":
        return f"`{option.flag}` / `--no-{option.flag[2:]}`"
    if option.metavar:
        return f"`{option.flag} {option.metavar}`"
    return f"`{option.flag}`"


def _key(option: Option) -> str:
    if option.key == "bind":
        return "`listeners.NAME.bind`"
    key = option.key.replace(f"listeners.{LISTENER}.", "listeners.NAME.", 1)
    return f"`{key.replace(f'apps.{APP}.', 'apps.NAME.', 1)}`"


def uvicorn_flags() -> set[str]:
    """The flags the notes say are Uvicorn's."""
    return {flag for flag, note in NOTES.items() if not note.startswith(OWN)}


def markdown() -> str:
    """The table, one row per flag, in the order of ``asgihost run --help``'s groups' options."""
    missing = [option.flag for option in OPTIONS if option.flag not in NOTES]
    extra = sorted(set(NOTES) - {option.flag for option in OPTIONS})
    assert not missing and not extra, f"notes missing for {missing}, notes for no flag: {extra}"
    lines = ["| flag | asgihost.toml | default | difference from Uvicorn, meaning |", "|---|---|---|---|"]
    for option in OPTIONS:
        default = shown_default(option)
        shown = f"`{default}`" if default is not None else ""
        note = NOTES[option.flag].replace("|", "\\|")
        lines.append(f"| {_flag(option)} | {_key(option)} | {shown} | {note} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
