"""The directory tree the static-app tests serve (tests/e2e/test_static_*.py), and what they
compare against: each file's exact bytes, a secret file just outside the root, symbolic links
in and out of it."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

SECRET = b"TOP-SECRET-0f9e8d7c-outside-the-root"  # in files beside (never under) the root
BIG = bytes(range(256)) * 600  # 153600 bytes: over the small-file cache's 64 KiB (sent from the file)
LETTERS = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" * 8  # 496 bytes

FILES: dict[str, bytes] = {
    "index.html": b"<!doctype html><title>root index</title>",
    "a.txt": LETTERS,
    "big.bin": BIG,
    "style.css": b"body { color: red }",
    "app.js": b"console.log('plain js')",
    "data.json": b'{"k": 1}',
    "pic.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>',
    "page.html": b"<p>page</p>",
    "blob.xyz": b"unknown kind",
    "README": b"no extension",
    "app.custom": b"custom type",
    "memo.note": b"a text type of ours",
    "dir/index.html": b"<p>dir index</p>",
    "dir/deep.css": b".deep {}",
    "nolist/alpha-listed-name.txt": b"alpha",
    "nolist/beta-listed-name.txt": b"beta",
    ".hidden.txt": b"a dotfile",
    ".dotdir/file.txt": b"in a dot directory",
    "dir/.secret": b"a dotfile below",
    "pre/app.js": b"var plain = 1; // the identity variant of a precompressed file",
    "pre/app.js.br": b"BROTLI-BYTES-stand-in",  # (not real brotli: compared raw, never decoded)
    "pre/only.css": b".only { gz: 1 }",
    "sub/x.txt": b"x in sub",
    "empty.txt": b"",
    "ünï code.txt": "ünï".encode(),
    "mut.txt": b"first version",  # rewritten by a test
    "dir2/index.html": b"<p>dir2 index</p>",
    "dir2/main.txt": b"dir2 main",
    "pre/leak.js": b"var leak = 0;",
}
PUBLIC2 = {"index.html": b"<p>the files.test host</p>"}


def build(base: Path) -> Path:
    """The site under ``base``: ``public`` (the root), ``public2`` (another host's root),
    ``secret.txt`` and ``outside/`` beside them, ``public-evil/`` (a sibling whose name starts
    with the root's). Returns the root."""
    root = base / "public"
    for name, data in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "pre/app.js.gz").write_bytes(gzip.compress(FILES["pre/app.js"], mtime=0))
    (root / "pre/only.css.gz").write_bytes(gzip.compress(FILES["pre/only.css"], mtime=0))
    for name, data in PUBLIC2.items():
        (base / "public2").mkdir(exist_ok=True)
        (base / "public2" / name).write_bytes(data)
    (base / "secret.txt").write_bytes(SECRET)
    (base / "outside").mkdir()
    (base / "outside" / "f.txt").write_bytes(SECRET + b" (in outside/)")
    (base / "public-evil").mkdir()
    (base / "public-evil" / "secret.txt").write_bytes(SECRET + b" (in a sibling)")
    os.symlink("../secret.txt", root / "link-out.txt")  # a file outside root
    os.symlink("../outside", root / "link-dir-out")  # a directory outside root
    os.symlink("../public-evil/secret.txt", root / "link-sibling.txt")  # root's name as a prefix
    os.symlink("a.txt", root / "link-in.txt")  # a file inside root
    os.symlink("dir", root / "link-dir-in")  # a directory inside root
    os.symlink("loop", root / "loop")  # a link to itself
    os.symlink("../../secret.txt", root / "pre/leak.js.gz")  # a variant outside root
    (root / "linkidx").mkdir()
    os.symlink("../../secret.txt", root / "linkidx/index.html")  # an index outside root
    os.mkfifo(root / "fifo.txt")  # opened, it would block a reader until a writer came
    return root
