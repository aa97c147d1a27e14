"""A static app: a directory served as files, as RFC 9110 asks of GET and HEAD.

``StaticFiles.answer`` turns a request into an answer, synchronously: a whole response in
bytes (an error, a redirect, a 304, a HEAD, or a small file from the cache), a ``FileAnswer``
(an open file and the parts of it to send, which the exchange runs as an app in its own task
so the file goes out by ``http.response.zerocopysend``), or ``None`` for a miss the fallback app
takes. The exchange path writes a whole response at once, without a task.

Invariants:
- No byte outside root is ever opened: the path is cut into segments by
  ``protocols.files.file_segments`` (no "..", no separator inside a segment, no NUL), and
  unless ``follow_symlinks`` is set, the real path of what is opened is checked to lie under
  root (remembered per relative path and inode: a replaced link is checked again).
- A hostile path is answered (400 or 404), never handed to a fallback.
- There are no directory listings: a directory without an index file is a miss.
- Files are opened with O_NONBLOCK (a FIFO put in root cannot block the loop) and only
  regular files are served.
"""

from __future__ import annotations

import os
import stat
from typing import Any

from ..protocols.files import (
    CacheRules,
    accepted_encodings,
    content_type,
    file_segments,
    http_date,
    if_range_allows,
    make_etag,
    preconditions,
)
from ..protocols.http1_response import render_lines
from ..protocols.ranges import Multipart, content_range, parse_range, unsatisfied_range
from ..static_plan import StaticSpec

SMALL = 65536  # files up to this size are read whole (and remembered) and written with their head
CACHE_BYTES = 16 * 1024 * 1024  # the most the remembered small files hold
CACHE_ENTRIES = 4096
_OPEN = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK
_ALLOW = [(b"allow", b"GET, HEAD")]
_ENCODED = {"br": (".br", b"br"), "gzip": (".gz", b"gzip")}
_TEXT = b"text/plain; charset=utf-8"
_REASONS = {
    400: b"Bad Request\n",
    404: b"Not Found\n",
    405: b"Method Not Allowed\n",
    412: b"Precondition Failed\n",
    416: b"Range Not Satisfiable\n",
}
_WANTED = frozenset(
    (
        b"if-match",
        b"if-none-match",
        b"if-modified-since",
        b"if-unmodified-since",
        b"range",
        b"if-range",
        b"accept-encoding",
    )
)


class Answer:
    """A whole response, ready to write; ``lines``: its headers rendered for HTTP/1.1, or b""."""

    __slots__ = ("status", "headers", "body", "lines")

    def __init__(
        self, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b"", lines: bytes = b""
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.lines = lines


class FileAnswer:
    """A response whose body is parts of an open file: an ASGI app for its one exchange,
    sending the file by ``http.response.zerocopysend`` (HTTPCycle offers it on every stream).
    It owns ``fd`` and closes it when it has run."""

    __slots__ = ("status", "headers", "fd", "parts", "closing")

    def __init__(
        self,
        status: int,
        headers: list[tuple[bytes, bytes]],
        fd: int,
        parts: list[tuple[bytes, int, int]],
        closing: bytes = b"",
    ) -> None:
        self.status = status
        self.headers = headers
        self.fd = fd
        self.parts = parts  # (bytes before, offset, count)
        self.closing = closing  # bytes after the last part (a multipart's closing delimiter)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        fd = self.fd
        try:
            await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
            last = len(self.parts) - 1
            for index, (before, offset, count) in enumerate(self.parts):
                if before:
                    await send({"type": "http.response.body", "body": before, "more_body": True})
                more = index < last or bool(self.closing)
                await send(
                    {
                        "type": "http.response.zerocopysend",
                        "file": fd,
                        "offset": offset,
                        "count": count,
                        "more_body": more,
                    }
                )
            if self.closing:
                await send({"type": "http.response.body", "body": self.closing})
        finally:
            os.close(fd)

    def discard(self) -> None:
        """Not to be sent after all (the app's limit answered first): close the file."""
        os.close(self.fd)


def error(status: int, headers: list[tuple[bytes, bytes]] | None = None, method: str = "GET") -> Answer:
    """An error answer; to a HEAD, its head alone (HTTP/2 streams write what they are given)."""
    body = _REASONS[status]
    fields = [(b"content-type", _TEXT), (b"content-length", b"%d" % len(body))]
    return Answer(status, fields + headers if headers else fields, b"" if method == "HEAD" else body)


class _Entry:
    """A file as remembered: its identity (inode, size, times), validators and head."""

    __slots__ = ("key", "etag", "modified", "validators", "head", "lines", "body")

    def __init__(
        self,
        key: tuple[int, int, int, int],
        etag: bytes,
        modified: int,
        validators: list[tuple[bytes, bytes]],
        head: list[tuple[bytes, bytes]],
        body: bytes | None,
    ) -> None:
        self.key = key
        self.etag = etag
        self.modified = modified
        self.validators = validators  # what a 304 carries
        self.head = head  # a 200's head: content-type, content-length, the validators, accept-ranges
        self.lines = render_lines(head)  # the same, checked and rendered for HTTP/1.1
        self.body = body  # a small file's bytes; None: sent from the open file


def _read_small(path: str, key: tuple[int, int, int, int]) -> bytes | None:
    """A small file's bytes if it is still the file ``key`` names (else None: it changed
    between its stat and its opening, and is sent from an open file, whose check answers)."""
    try:
        fd = os.open(path, _OPEN)
    except OSError:
        return None
    try:
        now = os.fstat(fd)
        if (now.st_ino, now.st_size, now.st_mtime_ns, now.st_ctime_ns) != key:
            return None
        body = os.pread(fd, now.st_size + 1, 0)
    finally:
        os.close(fd)
    return body if len(body) == key[1] else None


class StaticFiles:
    """One static app's responder, from its plan. ``fallback`` is set by the server: the mount
    of the app its misses go to, if any."""

    def __init__(self, spec: StaticSpec, mount: str) -> None:
        self.root = spec.root
        self.prefix = spec.root.rstrip("/") + "/"
        self.skip = len([part for part in mount.split("/") if part])  # the mount's segments
        self.index = spec.index
        self.fallback_file = spec.fallback_file
        self.fallback: Any = None
        self.precompressed = spec.precompressed
        self.follow_symlinks = spec.follow_symlinks
        self.hidden = spec.hidden
        self.types = dict(spec.types)
        self.cache = CacheRules(list(spec.cache_control)) if spec.cache_control else None
        self.places: dict[bytes, tuple[str, str, bool] | int] = {}  # by raw path: see _place
        self.entries: dict[str, _Entry] = {}  # by file path
        self.cached_bytes = 0  # the small files' bytes the entries hold
        self.wanted = _WANTED if self.precompressed else _WANTED - {b"accept-encoding"}
        self.inside: dict[str, tuple[int, int]] = {}  # file path -> (dev, inode) found under root

    # ---- a request's answer ------------------------------------------------------------------

    def answer(
        self, method: str, raw_path: bytes, query: bytes, headers: list[tuple[bytes, bytes]]
    ) -> Answer | FileAnswer | None:
        """The answer to a request, or None: a miss for the fallback app."""
        if method != "GET" and method != "HEAD":
            return error(405, _ALLOW)
        place = self.places.get(raw_path)
        if place is None:
            place = self._place(raw_path)
        if type(place) is int:
            return error(place, None, method)
        path, relative, slash = place  # type: ignore[misc]
        try:
            info = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return self._miss(method, headers, relative)
        except (OSError, ValueError):  # too long, a loop of links, no permission
            return error(404, None, method)
        if stat.S_ISDIR(info.st_mode):
            if not slash:  # (the mount's own directory too: "/static" -> "/static/")
                location = raw_path + b"/"
                if location[:2] == b"//":  # "//dir/" would be another host's (a network-path reference)
                    location = b"/" + location.lstrip(b"/")
                if query:
                    location += b"?" + query
                return Answer(301, [(b"location", location), (b"content-length", b"0")])
            for name in self.index:
                candidate = path.rstrip("/") + "/" + name
                try:
                    info = os.stat(candidate)
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    path = candidate
                    relative = (relative + "/" + name) if relative else name
                    break
            else:
                return self._miss(method, headers, relative)
        elif not stat.S_ISREG(info.st_mode) or slash:
            return self._miss(method, headers, relative) if slash else error(404, None, method)
        if not self.follow_symlinks and not self._under_root(path, info):
            return error(404, None, method)
        return self._file(method, path, relative, info, headers)

    def _place(self, raw_path: bytes) -> tuple[str, str, bool] | int:
        """Where a raw path leads, remembered: (file path, path relative to root, whether it
        ends in "/"), or the status of a path that cannot be served."""
        found = file_segments(raw_path, self.skip, self.hidden)
        if type(found) is int:
            place: tuple[str, str, bool] | int = found
        else:
            segments, slash = found  # type: ignore[misc]
            relative = "/".join(segments)
            place = (self.prefix + relative if relative else self.root, relative, slash)
        if len(self.places) >= CACHE_ENTRIES:
            self.places.clear()
        self.places[raw_path] = place
        return place

    def _miss(
        self, method: str, headers: list[tuple[bytes, bytes]], relative: str
    ) -> Answer | FileAnswer | None:
        """No such file: the fallback app's (None), or the fallback file for a path that names
        no file (its last segment has no extension: a route of a single-page app, not a
        missing asset), else 404."""
        if self.fallback is not None:
            return None
        name = self.fallback_file
        if name is not None and "." not in relative.rpartition("/")[2]:
            path = self.prefix + name
            try:
                info = os.stat(path)
            except OSError:
                return error(404, None, method)
            if stat.S_ISREG(info.st_mode) and (self.follow_symlinks or self._under_root(path, info)):
                return self._file(method, path, name, info, headers)
        return error(404, None, method)

    def _under_root(self, path: str, info: os.stat_result) -> bool:
        """The file at ``path`` (seen as ``info``) lies under root, links resolved."""
        identity = (info.st_dev, info.st_ino)
        if self.inside.get(path) == identity:
            return True
        real = os.path.realpath(path)
        if not real.startswith(self.prefix):
            return False
        if len(self.inside) >= CACHE_ENTRIES:
            self.inside.clear()
        self.inside[path] = identity
        return True

    def _file(
        self, method: str, path: str, relative: str, info: os.stat_result, headers: list[tuple[bytes, bytes]]
    ) -> Answer | FileAnswer:
        fields: dict[bytes, bytes] | None = None
        wanted = self.wanted
        for name, value in headers:
            if name in wanted:
                if fields is None:
                    fields = {}
                fields[name] = value
        encoding = b""
        if self.precompressed and fields is not None:
            for coding in accepted_encodings(fields.get(b"accept-encoding")):
                suffix, encoding = _ENCODED[coding]
                try:
                    variant = os.stat(path + suffix)
                except OSError:
                    continue
                if stat.S_ISREG(variant.st_mode) and (
                    self.follow_symlinks or self._under_root(path + suffix, variant)
                ):
                    path, info = path + suffix, variant
                    break
            else:
                encoding = b""
        entry = self._entry(path, relative, info, encoding)
        if fields is None or (len(fields) == 1 and b"accept-encoding" in fields):  # nearly every hit
            if method == "HEAD":
                return Answer(200, entry.head, b"", entry.lines)
            if entry.body is not None:
                return Answer(200, entry.head, entry.body, entry.lines)
            return self._open(200, entry.head, path, info, [(b"", 0, info.st_size)])
        status = preconditions(
            method,
            fields.get(b"if-match"),
            fields.get(b"if-unmodified-since"),
            fields.get(b"if-none-match"),
            fields.get(b"if-modified-since"),
            entry.etag,
            entry.modified,
        )
        if status == 304:
            return Answer(304, entry.validators)
        if status is not None:
            return error(status, None, method)
        size = info.st_size
        requested = fields.get(b"range")
        if (
            requested is None
            or method != "GET"
            or not if_range_allows(fields.get(b"if-range"), entry.etag, entry.modified)
        ):
            if method == "HEAD":
                return Answer(200, entry.head, b"", entry.lines)
            if entry.body is not None:
                return Answer(200, entry.head, entry.body, entry.lines)
            return self._open(200, entry.head, path, info, [(b"", 0, size)])
        ranges = parse_range(requested, size)
        if ranges is None:
            return self._open(200, entry.head, path, info, [(b"", 0, size)])
        if type(ranges) is int:
            return error(416, [(b"content-range", unsatisfied_range(size))])
        assert isinstance(ranges, list)
        common = entry.head[2:]  # (all but the type and the length)
        if len(ranges) == 1:
            start, end = ranges[0]
            head = [
                entry.head[0],
                (b"content-length", b"%d" % (end - start + 1)),
                (b"content-range", content_range(start, end, size)),
                *common,
            ]
            return self._open(206, head, path, info, [(b"", start, end - start + 1)])
        multipart = Multipart(ranges, size, entry.head[0][1])
        head = [
            (b"content-type", multipart.content_type),
            (b"content-length", b"%d" % multipart.length),
            *common,
        ]
        parts = [(before, start, end - start + 1) for before, start, end in multipart.parts]
        return self._open(206, head, path, info, parts, multipart.closing)

    def _entry(self, path: str, relative: str, info: os.stat_result, encoding: bytes) -> _Entry:
        """What is remembered of the file at ``path`` while it stays the same file (inode, size,
        times): its validators, its 200 head, and for a small file its bytes."""
        key = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        entry = self.entries.get(path)
        if entry is not None and entry.key == key:
            return entry
        if entry is not None:
            self.cached_bytes -= len(entry.body or b"")
        modified = int(info.st_mtime)
        etag = make_etag(info.st_size, info.st_mtime_ns, encoding)
        validators = [(b"etag", etag), (b"last-modified", http_date(modified))]
        if self.cache is not None:
            rule = self.cache.value_for(relative)
            if rule is not None:
                validators.append((b"cache-control", rule))
        if self.precompressed:
            validators.append((b"vary", b"accept-encoding"))
        head = [
            (b"content-type", content_type(relative.rpartition("/")[2], self.types)),
            (b"content-length", b"%d" % info.st_size),
            *validators,
            (b"accept-ranges", b"bytes"),
        ]
        if encoding:
            head.append((b"content-encoding", encoding))
        body = _read_small(path, key) if info.st_size <= SMALL else None
        size = len(body) if body is not None else 0
        if self.cached_bytes + size > CACHE_BYTES or len(self.entries) >= CACHE_ENTRIES:
            self.entries.clear()
            self.cached_bytes = 0
        entry = self.entries[path] = _Entry(key, etag, modified, validators, head, body)
        self.cached_bytes += size
        return entry

    def _open(
        self,
        status: int,
        head: list[tuple[bytes, bytes]],
        path: str,
        info: os.stat_result,
        parts: list[tuple[bytes, int, int]],
        closing: bytes = b"",
    ) -> Answer | FileAnswer:
        try:
            fd = os.open(path, _OPEN)
        except OSError:
            return error(404)
        now = os.fstat(fd)
        if (now.st_ino, now.st_size, now.st_mtime_ns) != (info.st_ino, info.st_size, info.st_mtime_ns):
            os.close(fd)  # replaced or changed since the stat: its headers would lie
            return error(404) if not stat.S_ISREG(now.st_mode) else _changed()
        return FileAnswer(status, head, fd, parts, closing)


def _changed() -> Answer:
    """The file changed between its stat and its opening: 503 with Retry-After, for the client
    to ask again (the validators and ranges were computed for the file as it was)."""
    body = b"The file changed while it was requested.\n"
    fields = [(b"content-type", _TEXT), (b"content-length", b"%d" % len(body)), (b"retry-after", b"1")]
    return Answer(503, fields, body)
