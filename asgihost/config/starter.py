"""``asgihost init``: a commented starter asgihost.toml. The data is written by tomli-w, so it
is valid TOML whatever the app string holds; the comments around it explain each key."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel

from .defaults import file_default
from .listener import Listener
from .model import App, HostConfig, Limits, Logging, Server
from .toml import loads

_HEADER = """\
# asgihost.toml: what `asgihost run` serves. Check it with `asgihost check`.
# Completion in editors that read JSON Schemas (Taplo / Even Better TOML): run
# `asgihost schema > asgihost.schema.json` and put `#:schema ./asgihost.schema.json` first.
"""


def _seconds(model: type[BaseModel], name: str) -> str:
    """A duration's default with its unit, as people write it: "30s"."""
    return f"{file_default(model, name):g}s"


# The values are the model's defaults, written out to show the keys.
_SECTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "# How the server runs. `loop` is auto (uvloop when installed), uvloop or asyncio.\n"
        "# `graceful_timeout` is how long requests in flight get to finish on shutdown.",
        {
            "server": {
                "loop": file_default(Server, "loop"),
                "graceful_timeout": _seconds(Server, "graceful_timeout"),
            }
        },
    ),
    (
        "# Log level: critical, error, warning, info, debug or trace.",
        {
            "logging": {
                "level": file_default(Logging, "level"),
                "access_log": file_default(Logging, "access_log"),
            }
        },
    ),
    (
        "# Server-wide limits; [apps.NAME.limits] overrides them for one app.",
        {"limits": {"keep_alive_timeout": _seconds(Limits, "keep_alive_timeout")}},
    ),
    (
        '# Where to listen: "host:port", "[::]:port", "unix:/path/to.sock", "fd://3" or\n'
        '# "systemd:NAME". Add more [listeners.NAME] tables to listen in several places.',
        {"listeners": {"web": {"bind": file_default(Listener, "bind")}}},
    ),
    (
        '# An app, as "module:attribute" found in app_dir (relative to this file). More apps go in\n'
        '# more [apps.NAME] tables, told apart by `mount = "/prefix"` and/or `hosts = ["example.com"]`.\n'
        "# lifespan: auto, on (startup must succeed) or off.",
        {
            "apps": {
                "main": {
                    "app": "APP",
                    **{key: file_default(App, key) for key in ("app_dir", "mount", "lifespan")},
                }
            }
        },
    ),
)


def starter_text(app: str) -> str:
    parts = [_HEADER]
    for comment, data in _SECTIONS:
        if "apps" in data:
            data = {"apps": {"main": {**data["apps"]["main"], "app": app}}}
        parts.append(comment + "\n" + tomli_w.dumps(data))
    return "\n".join(parts)


def write_starter(path: Path, app: str = "main:app", force: bool = False) -> int:
    """Write the starter file; returns the exit status (1 when the file exists and not ``force``)."""
    if path.exists() and not force:
        print(f"asgihost: error: {path} exists; pass --force to overwrite it", file=sys.stderr)
        return 1
    text = starter_text(app)
    HostConfig.model_validate(loads(text))  # what we write is always valid
    path.write_text(text)
    print(f"wrote {path}; serve it with: asgihost run {path}")
    return 0
