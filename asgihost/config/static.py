"""The ``static`` table of an app: a directory served as files (``[apps.NAME] static = {...}``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from .types import Section


def _check_extension(value: str) -> str:
    if not value.startswith(".") or len(value) < 2 or "/" in value or value != value.strip():
        raise ValueError(f'{value!r} is not a file extension such as ".webmanifest"')
    return value.lower()


def _check_type(value: str) -> str:
    kind, slash, sub = value.partition("/")
    if not slash or not kind or not sub or any(c.isspace() for c in value.partition(";")[0]):
        raise ValueError(f'{value!r} is not a media type such as "application/manifest+json"')
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError(f"{value!r} holds a control character")
    return value


def _check_header_value(value: str) -> str:
    if not value or value != value.strip() or any(ord(c) < 0x20 or ord(c) >= 0x7F for c in value):
        raise ValueError(f"{value!r} is not a header value (printable ASCII, no leading or trailing space)")
    return value


def _check_index(value: str) -> str:
    if not value or "/" in value or value in (".", ".."):
        raise ValueError(f"{value!r} is not a file name")
    return value


Extension = Annotated[str, AfterValidator(_check_extension)]
MediaType = Annotated[str, AfterValidator(_check_type)]
HeaderValue = Annotated[str, AfterValidator(_check_header_value)]
IndexName = Annotated[str, AfterValidator(_check_index)]


class Static(Section):
    """A directory served as files: GET and HEAD, validators and conditional requests, ranges,
    precompressed variants; files go out with sendfile where the connection allows it."""

    root: str = Field(description="The directory served; relative to the file's directory.")
    index: list[IndexName] = Field(
        default_factory=lambda: ["index.html"],
        description="Files served for a directory's URL (ending in /), first found wins; empty: none. "
        "A directory's URL without its / is redirected (301) to it.",
    )
    fallback: str | None = Field(
        None,
        description="What a miss (no such file) gets instead of a 404: the name of another app in this "
        'file (it serves the request), or a file under root such as "index.html" (a single-page app).',
    )
    precompressed: bool = Field(
        False,
        description="Serve x.br or x.gz beside x to a client that accepts them (Vary: Accept-Encoding).",
    )
    cache_control: HeaderValue | dict[str, HeaderValue] | None = Field(
        None,
        description='The Cache-Control of every file, or a table of globs to values (first match wins; '
        'a glob without "/" matches a file name in any directory, "*" everything else); null: none.',
    )
    follow_symlinks: bool = Field(
        False, description="Serve a symbolic link that leads out of root; when false such a link is a 404."
    )
    types: dict[Extension, MediaType] = Field(
        default_factory=dict,
        description='Media types by file extension, over the built-in ones: {".webmanifest" = "application/manifest+json"}.',
    )
    hidden: bool = Field(False, description="Serve files and directories whose names start with a dot.")

    @field_validator("fallback")
    @classmethod
    def _fallback_named(cls, value: str | None) -> str | None:
        if value is not None and (not value or value.startswith("/") or ".." in value.split("/")):
            raise ValueError(f"{value!r} is neither an app name nor a path under root")
        return value
