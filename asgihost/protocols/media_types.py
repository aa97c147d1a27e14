"""Media types by file extension for the static-file server, sans-IO: a fixed table, the same
on every machine (the ``mimetypes`` module reads the system's files on first use, and its own
table changes between Python versions). ``files.content_type`` is this module's function."""

from __future__ import annotations

from .cache import BoundedCache

# A fixed table, the same on every machine (the mimetypes module reads the system's files, and
# its built-in table changes between Python versions): the types of the web's static files.
_TYPES = {
    ".html": "text/html", ".htm": "text/html", ".css": "text/css", ".csv": "text/csv",
    ".txt": "text/plain", ".text": "text/plain", ".md": "text/markdown", ".ics": "text/calendar",
    ".vtt": "text/vtt", ".xml": "application/xml", ".xsl": "application/xml",
    ".js": "text/javascript", ".mjs": "text/javascript", ".cjs": "text/javascript",
    ".json": "application/json", ".map": "application/json", ".jsonld": "application/ld+json",
    ".webmanifest": "application/manifest+json", ".wasm": "application/wasm",
    ".rss": "application/rss+xml", ".atom": "application/atom+xml", ".xhtml": "application/xhtml+xml",
    ".pdf": "application/pdf", ".zip": "application/zip", ".gz": "application/gzip",
    ".tgz": "application/gzip", ".tar": "application/x-tar", ".bz2": "application/x-bzip2",
    ".xz": "application/x-xz", ".zst": "application/zstd", ".7z": "application/x-7z-compressed",
    ".br": "application/octet-stream", ".bin": "application/octet-stream",
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".avif": "image/avif", ".svg": "image/svg+xml", ".ico": "image/x-icon",
    ".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff", ".apng": "image/apng",
    ".jxl": "image/jxl", ".heic": "image/heic",
    ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
    ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg",
    ".wav": "audio/wav", ".flac": "audio/flac", ".m4a": "audio/mp4", ".aac": "audio/aac",
    ".weba": "audio/webm", ".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm",
    ".ogv": "video/ogg", ".mov": "video/quicktime", ".mkv": "video/x-matroska",
    ".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t",
}  # fmt: skip
_CHARSET_TYPES = frozenset(
    (
        "application/json",
        "application/javascript",
        "application/xml",
        "image/svg+xml",
        "application/manifest+json",
    )
)
_DEFAULT_TYPE = b"application/octet-stream"


def _with_charset(media_type: str) -> bytes:
    if ";" not in media_type and (media_type.startswith("text/") or media_type in _CHARSET_TYPES):
        return (media_type + "; charset=utf-8").encode("latin-1")
    return media_type.encode("latin-1")


_BUILT_IN = {ext: _with_charset(media_type) for ext, media_type in _TYPES.items()}
_extra_values: BoundedCache[str, bytes] = BoundedCache(256, 16384)


def content_type(name: str, extra: dict[str, str]) -> bytes:
    """The Content-Type of a file by its extension (of the last path segment, lowercased;
    a name like ".htaccess" has none): from ``extra`` first (keys lowercase, with the dot:
    ``{".webmanifest": "application/manifest+json"}``), then the built-in table, else
    application/octet-stream. "; charset=utf-8" is added to text/* and to JSON, JavaScript,
    XML, SVG and web-manifest types, unless the value has parameters already."""
    dot = name.rfind(".")
    if dot <= 0 or name[dot - 1] == "/" or "/" in name[dot:]:
        return _DEFAULT_TYPE
    ext = name[dot:].lower()
    if extra:
        media_type = extra.get(ext)
        if media_type is not None:
            known = _extra_values.entries.get(media_type)
            if known is None:
                known = _with_charset(media_type)
                _extra_values.remember(media_type, known, len(known) * 2)
            return known
    return _BUILT_IN.get(ext, _DEFAULT_TYPE)
