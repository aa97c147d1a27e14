"""Reading asgihost.toml: parsing, where each key is written, ``${VAR}`` interpolation, merging.

tomllib gives values without positions, so :class:`SourceMap` scans the (already parsed, so
valid) text once more and records the line and column of every key, table header and array
item, for error messages that point at what to fix.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError, Problem, dotted_key

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

Position = tuple[int, int]  # line, column; both from 1

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_DECODE_ERROR_RE = re.compile(
    r"^(?P<message>.*) \(at (?:line (?P<line>\d+), column (?P<column>\d+)|end of document)\)$", re.DOTALL
)


def _line_col(text: str, offset: int) -> Position:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


# ---- reading -------------------------------------------------------------------------------------


def loads(text: str) -> dict[str, Any]:
    """Parse TOML text (tomllib, or tomli before Python 3.11); raises tomllib.TOMLDecodeError."""
    return tomllib.loads(text)


def read_toml(path: Path) -> tuple[dict[str, Any], SourceMap]:
    """The parsed file and where its keys are; raises ConfigError when it cannot be read or parsed."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem("", "no such file", str(path))]) from None
    except IsADirectoryError:
        raise ConfigError([Problem("", "is a directory, not a file", str(path))]) from None
    except OSError as exc:
        raise ConfigError([Problem("", f"cannot read the file: {exc.strerror}", str(path))]) from None
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise ConfigError([Problem("", message, str(path))]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _DECODE_ERROR_RE.match(str(exc))
        if match is None:  # pragma: no cover - every tomllib/tomli message has the suffix
            raise ConfigError([Problem("", str(exc), str(path))]) from None
        if match["line"] is not None:
            line, column = int(match["line"]), int(match["column"])
        else:
            line, column = _line_col(text, len(text))
        key = _key_at_line(text, line)
        message = _PLAIN_SYNTAX.get(match["message"], match["message"])
        if match["message"].startswith("Cannot declare") and key:
            message = f"[{key}] is declared twice"
        raise ConfigError([Problem(key, message, f"{path}:{line}:{column}")]) from None
    return data, SourceMap.scan(text)


_PLAIN_SYNTAX = {"Invalid value": "not a TOML value (a string needs quotes)"}
_HEADER_RE = re.compile(r"\s*\[\[?\s*([^\]#]+?)\s*\]?\]?\s*(#.*)?$")
_ASSIGN_RE = re.compile(r"\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


def _key_at_line(text: str, line: int) -> str:
    """Best guess at the dotted key a TOML syntax error is about: the table, plus the line's key."""
    table = ""
    lines = text.splitlines()
    for number, content in enumerate(lines[:line], start=1):
        header = _HEADER_RE.match(content) if content.lstrip().startswith("[") else None
        if header is not None:
            table = dotted_key(split_key(header[1]))
            if number == line:
                return table
        elif number == line:
            assign = _ASSIGN_RE.match(content)
            if assign is not None:
                key = dotted_key(split_key(assign[1].strip()))
                return f"{table}.{key}" if table else key
    return table


# ---- positions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceMap:
    """Positions of the keys of one TOML text, by key path; list items are keyed by their index."""

    positions: dict[tuple[str, ...], Position]

    @classmethod
    def scan(cls, text: str) -> SourceMap:
        """Map a text that tomllib has parsed (the scanner relies on it being valid TOML)."""
        return cls(_Scanner(text).scan())

    def locate(self, loc: Sequence[str | int]) -> Position | None:
        """Where the longest known prefix of ``loc`` is written, or None when nothing of it is."""
        parts = tuple(str(part) for part in loc)
        for end in range(len(parts), 0, -1):
            position = self.positions.get(parts[:end])
            if position is not None:
                return position
        return None

    def locate_key(self, key: str) -> Position | None:
        """:meth:`locate` for a dotted key as :func:`~asgihost.config.errors.dotted_key` writes it."""
        return self.locate(split_key(key))


def split_key(key: str) -> tuple[str, ...]:
    """The parts of a dotted TOML key (``apps.api.env."A.B"``); plain dots when it is not one."""
    scanner = _Scanner(key)
    try:
        parts = scanner.key()
    except ValueError:
        return tuple(key.split("."))
    return tuple(parts) if scanner.at_end() else tuple(key.split("."))


class _Scanner:
    """A scanner of valid TOML that notes where each key path starts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.known: dict[tuple[str, ...], Position] = {}
        self.implied: dict[tuple[str, ...], Position] = {}  # tables made by a longer key or header
        self.arrays: dict[tuple[str, ...], int] = {}  # [[array]] path -> its tables so far

    def scan(self) -> dict[tuple[str, ...], Position]:
        table: tuple[str, ...] = ()
        while True:
            self.skip_blank()
            if self.at_end():
                return {**self.implied, **self.known}
            start = self.i
            if self.text.startswith("[[", start):
                self.i += 2
                *parents, last = self.key()
                path = (*self.resolve(parents), last)
                index = self.arrays.get(path, 0)
                self.arrays[path] = index + 1
                self.mark(path, start)
                table = (*path, str(index))
                self.mark(table, start)
                self.i = self.text.index("]]", self.i) + 2
            elif self.text[start] == "[":
                self.i += 1
                table = self.resolve(self.key())
                self.mark(table, start)
                self.i = self.text.index("]", self.i) + 1
            else:
                self.key_value(table)

    def at_end(self) -> bool:
        return self.i >= len(self.text)

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def mark(self, path: tuple[str, ...], offset: int) -> None:
        position = _line_col(self.text, offset)
        self.known.setdefault(path, position)
        for end in range(1, len(path)):
            self.implied.setdefault(path[:end], position)

    def resolve(self, parts: list[str]) -> tuple[str, ...]:
        """A header's path, through the last item of each array of tables it names."""
        path: tuple[str, ...] = ()
        for part in parts:
            path = (*path, part)
            if path in self.arrays:
                path = (*path, str(self.arrays[path] - 1))
        return path

    def skip_spaces(self) -> None:
        while self.peek() in (" ", "\t"):
            self.i += 1

    def skip_blank(self) -> None:
        """Whitespace, newlines and comments."""
        while not self.at_end():
            char = self.text[self.i]
            if char in " \t\r\n":
                self.i += 1
            elif char == "#":
                end = self.text.find("\n", self.i)
                self.i = len(self.text) if end < 0 else end
            else:
                return

    def key(self) -> list[str]:
        parts = []
        while True:
            self.skip_spaces()
            parts.append(self.simple_key())
            self.skip_spaces()
            if self.peek() != ".":
                return parts
            self.i += 1

    def simple_key(self) -> str:
        start = self.i
        if self.peek() == '"':
            self.skip_string('"')
            decoded: str = tomllib.loads(f"k = {self.text[start : self.i]}")["k"]
            return decoded
        if self.peek() == "'":
            self.skip_string("'")
            return self.text[start + 1 : self.i - 1]
        while self.peek() and self.peek() in _BARE:
            self.i += 1
        if self.i == start:
            raise ValueError(f"no key at offset {start}")
        return self.text[start : self.i]

    def skip_string(self, quote: str) -> None:
        """Past a string starting at the current offset: basic or literal, one line or several."""
        delimiter = quote * 3 if self.text.startswith(quote * 3, self.i) else quote
        i = self.i + len(delimiter)
        while i < len(self.text):
            if self.text[i] == "\\" and quote == '"':
                i += 2
            elif self.text.startswith(delimiter, i):
                end = i + len(delimiter)
                if len(delimiter) == 3:  # up to two quotes may end the content itself
                    while end < len(self.text) and end - i < 5 and self.text[end] == quote:
                        end += 1
                self.i = end
                return
            else:
                i += 1
        raise ValueError("unterminated string")

    def key_value(self, table: tuple[str, ...]) -> None:
        start = self.i
        path = (*table, *self.key())
        self.mark(path, start)
        self.skip_spaces()
        self.i += 1  # "="
        self.skip_spaces()
        self.value(path)

    def value(self, path: tuple[str, ...]) -> None:
        char = self.peek()
        if char in ('"', "'"):
            self.skip_string(char)
        elif char == "[":
            self.i += 1
            index = 0
            while self.next_item("]"):
                item = (*path, str(index))
                self.mark(item, self.i)
                self.value(item)
                index += 1
        elif char == "{":
            self.i += 1
            while self.next_item("}"):
                self.key_value(path)
        else:  # a number, boolean or date-time: up to the next delimiter
            while self.peek() and self.peek() not in ",]}#\n":
                self.i += 1

    def next_item(self, close: str) -> bool:
        """Past blanks and a comma to the next item of an array or inline table; False (and past
        ``close``) when there is none."""
        self.skip_blank()
        if self.peek() == ",":
            self.i += 1
            self.skip_blank()
        if self.peek() in (close, ""):
            self.i += 1
            return False
        return True


# ---- interpolation and merging -------------------------------------------------------------------

_REFERENCE_RE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_VARIABLE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def interpolate(data: dict[str, Any], environ: Mapping[str, str]) -> tuple[dict[str, Any], list[Problem]]:
    """Replace ``${VAR}`` and ``${VAR:-default}`` (the default when VAR is unset or empty) in every
    string value; ``$${`` is a literal ``${``. Returns the new data and a problem per bad reference."""
    problems: list[Problem] = []

    def walk(value: Any, loc: tuple[str | int, ...]) -> Any:
        if isinstance(value, str):
            text, errors = _substitute(value, environ)
            problems.extend(Problem(dotted_key(loc), error) for error in errors)
            return text
        if isinstance(value, dict):
            return {key: walk(item, (*loc, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, (*loc, index)) for index, item in enumerate(value)]
        return value

    return walk(data, ()), problems


def _substitute(text: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    errors: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match[0] == "$${":
            return "${"
        body = match[1]
        if body is None:
            errors.append('"${" without a closing "}" (write "$${" for a literal "${")')
            return match[0]
        name, sep, default = body.partition(":-")
        if not _VARIABLE_RE.fullmatch(name):
            errors.append(f'malformed "{match[0]}": expected ${{VAR}} or ${{VAR:-default}}')
            return match[0]
        value = environ.get(name)
        if sep and not value:
            return default
        if value is None:
            errors.append(f"environment variable {name} is not set")
            return match[0]
        return value

    return _REFERENCE_RE.sub(replace, text), errors


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it: tables merge key by key, any other value replaces."""
    merged = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        merged[key] = merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return merged
