"""A logging config written for Uvicorn, made to configure asgihost the same way (docs/logging.md).

- A logger named ``uvicorn`` or ``uvicorn.X`` is configured as written, and ``asgihost`` or
  ``asgihost.X`` too, the same way, unless the config names that one itself. Both: an app that
  logs to ``uvicorn.error`` (a common idiom) is still served by the config.
- Uvicorn's formatter classes become asgihost's own (``asgihost.logs.formatters``), so the config
  works without Uvicorn installed and formats asgihost's records.
- ``use_colors`` (when given) is set on every formatter of those classes in a dictConfig, as
  Uvicorn sets it on its "default" and "access" formatters.

The config given is never changed: what is rewritten is copied.
"""

from __future__ import annotations

import configparser
import copy
from collections.abc import Mapping
from typing import Any

_OURS = "asgihost.logs.formatters."
FORMATTERS = {
    f"uvicorn.logging.{name}": _OURS + name
    for name in ("DefaultFormatter", "AccessFormatter", "ColourizedFormatter")
}
_COLOURIZED = {*FORMATTERS, *FORMATTERS.values()}


def asgihost_name(name: str) -> str | None:
    """The asgihost logger a Uvicorn logger name stands for; None for another name."""
    if name == "uvicorn" or name.startswith("uvicorn."):
        return "asgihost" + name[len("uvicorn") :]
    return None


def _dotted(factory: Any) -> Any:
    if isinstance(factory, type):
        return f"{factory.__module__}.{factory.__qualname__}"
    return factory


def translate_dict(
    config: Mapping[str, Any], use_colors: bool | None = None
) -> tuple[dict[str, Any], set[str]]:
    """The dictConfig to apply, and the names of the loggers it configures ("" for the root
    logger, when it gives it handlers; none for an incremental config, which changes levels and
    leaves handlers be)."""
    config = dict(config)
    loggers = config.get("loggers")
    names: set[str] = set()
    if isinstance(loggers, Mapping):
        loggers = dict(loggers)
        for name, spec in list(loggers.items()):
            mirror = asgihost_name(name)
            if mirror is not None and mirror not in loggers:
                loggers[mirror] = dict(spec) if isinstance(spec, Mapping) else spec
        config["loggers"] = loggers
        names.update(loggers)
    root = config.get("root")
    if isinstance(root, Mapping) and root.get("handlers"):
        names.add("")
    formatters = config.get("formatters")
    if isinstance(formatters, Mapping):
        config["formatters"] = {name: _formatter(spec, use_colors) for name, spec in formatters.items()}
    return config, set() if config.get("incremental") else names


def _formatter(spec: Any, use_colors: bool | None) -> Any:
    if not isinstance(spec, Mapping):
        return spec
    key = "()" if "()" in spec else "class"
    factory = _dotted(spec.get(key))
    if factory not in _COLOURIZED:
        return spec
    spec = {**spec, key: FORMATTERS.get(factory, factory)}
    if use_colors is not None:
        spec["use_colors"] = use_colors
    return spec


def _keys(parser: configparser.RawConfigParser, section: str) -> list[str]:
    text = parser.get(section, "keys", raw=True, fallback="")
    return [key.strip() for key in text.split(",") if key.strip()]


def translate_parser(parser: configparser.RawConfigParser) -> tuple[configparser.RawConfigParser, set[str]]:
    """The fileConfig to apply (a copy of ``parser``), and the names of the loggers it
    configures (by qualname; "" for the root logger, when it gives it handlers)."""
    parser = copy.deepcopy(parser)
    names: set[str] = set()
    keys = _keys(parser, "loggers")
    qualnames = {
        key: parser.get(f"logger_{key}", "qualname", raw=True, fallback="")
        for key in keys
        if key != "root" and parser.has_section(f"logger_{key}")
    }
    added = []
    for key, qualname in qualnames.items():
        mirror = asgihost_name(qualname)
        if mirror is None or mirror in qualnames.values():
            continue
        section = f"logger_{key}"
        new_key = f"{key}_asgihost"
        parser[f"logger_{new_key}"] = {
            **{option: parser.get(section, option, raw=True) for option in parser.options(section)},
            "qualname": mirror,
        }
        added.append(new_key)
        names.add(mirror)
    if added:
        parser.set("loggers", "keys", ",".join([*keys, *added]))
    names.update(qualnames.values())
    if parser.get("logger_root", "handlers", raw=True, fallback="").strip():
        names.add("")
    for key in _keys(parser, "formatters"):
        section = f"formatter_{key}"
        factory = parser.get(section, "class", raw=True, fallback=None)
        if factory in FORMATTERS:
            parser.set(section, "class", FORMATTERS[factory])
    return parser, names
