"""A static app's HTTP semantics, end to end (issue 18's list): the real server (in this
process) and real clients, over HTTP/1.1 and HTTP/2 (httpx, prior knowledge) alike.

One server for the module, one app per set of ``static`` options (by mount, or by host): its
tree is tests/e2e/static_site.py's. Traversal (raw sockets, every listener) is in
test_static_traversal.py.
"""

from __future__ import annotations

import email.parser
import email.policy
import gzip
import os
from collections.abc import Iterator

import httpx
import pytest
from conftest import APPS, InProcessServer, free_port, http_exchange, in_process_servers
from static_site import BIG, FILES, LETTERS, PUBLIC2, SECRET, build

CONFIG = """
[listeners.web]
bind = "127.0.0.1:{port}"

[apps.web]
app = "static_apps:web"
app_dir = "{apps}"
mount = "/"

[apps.assets]
mount = "/static"
static = {{ root = "public", types = {{ ".custom" = "application/x-custom", ".note" = "text/x-note" }} }}

[apps.hid]
mount = "/hid"
static = {{ root = "public", hidden = true }}

[apps.follow]
mount = "/follow"
static = {{ root = "public", follow_symlinks = true }}

[apps.pre]
mount = "/pre"
static = {{ root = "public", precompressed = true }}

[apps.ccs]
mount = "/ccs"
static = {{ root = "public", cache_control = "public, max-age=60" }}

[apps.cct]
mount = "/cct"
static = {{ root = "public", cache_control = {{ "*" = "no-cache", "*.css" = "max-age=1", "dir/*" = "max-age=2", "*.txt" = "max-age=3", "a.*" = "max-age=4" }} }}

[apps.idx]
mount = "/idx"
static = {{ root = "public", index = ["main.txt", "index.html"] }}

[apps.noidx]
mount = "/noidx"
static = {{ root = "public", index = [] }}

[apps.spa]
mount = "/spa"
static = {{ root = "public", fallback = "index.html" }}

[apps.docs]
mount = "/docs"
static = {{ root = "public", fallback = "api" }}

[apps.api]
app = "static_apps:fastapi_app"
app_dir = "{apps}"
mount = "/api"

[apps.shared]
mount = "/"
hosts = ["fb.test"]
static = {{ root = "public", fallback = "behind" }}

[apps.behind]
app = "static_apps:fallback"
app_dir = "{apps}"
mount = "/"
hosts = ["fb.test"]

[apps.fasite]
mount = "/"
hosts = ["fa.test"]
static = {{ root = "public", fallback = "fa" }}

[apps.fa]
app = "static_apps:fastapi_app"
app_dir = "{apps}"
mount = "/"
hosts = ["fa.test"]

[apps.hosted]
mount = "/"
hosts = ["files.test"]
static = {{ root = "public2" }}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    base = tmp_path_factory.mktemp("site")
    build(base)
    config = base / "asgihost.toml"
    config.write_text(CONFIG.format(port=free_port(), apps=APPS))
    with in_process_servers() as start:
        running = start(str(config))
        assert isinstance(running, InProcessServer)
        running.root = base / "public"  # type: ignore[attr-defined]
        yield running


@pytest.fixture(scope="module", params=["HTTP/1.1", "HTTP/2"])
def client(request: pytest.FixtureRequest, server: InProcessServer) -> Iterator[httpx.Client]:
    h2 = request.param == "HTTP/2"
    with httpx.Client(base_url=server.url, http1=not h2, http2=h2, timeout=10) as c:
        c.version = request.param  # type: ignore[attr-defined]
        yield c


def get(client: httpx.Client, path: str, **headers: str) -> httpx.Response:
    return request(client, "GET", path, **headers)


def request(client: httpx.Client, method: str, path: str, **headers: str) -> httpx.Response:
    """A request whose body is read raw (never decoded), on the version the client speaks."""
    fields = {"accept-encoding": "identity"}
    fields.update({name.replace("_", "-"): value for name, value in headers.items()})
    with client.stream(method, path, headers=fields) as response:
        response._content = b"".join(response.iter_raw())
    assert response.http_version == client.version  # type: ignore[attr-defined]
    return response


def mtime_header(response: httpx.Response) -> str:
    value = response.headers["last-modified"]
    assert value.endswith(" GMT") and len(value) == 29
    return value


# ---- methods -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"])
def test_only_get_and_head_others_get_405_with_allow(client, method):
    response = request(client, method, "/static/a.txt")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert LETTERS not in response.content


@pytest.mark.parametrize("path", ["/static/a.txt", "/static/big.bin", "/static/dir/"])
def test_head_has_the_headers_of_get_and_no_body(client, path):
    got, head = get(client, path), request(client, "HEAD", path)
    assert got.status_code == head.status_code == 200
    assert head.content == b""
    assert got.content
    drop = {"date"}
    assert {k: v for k, v in got.headers.items() if k not in drop} == {
        k: v for k, v in head.headers.items() if k not in drop
    }
    assert head.headers["content-length"] == str(len(got.content))


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/static/missing.txt", {}, 404),
        ("/static/dir", {}, 301),
        ("/static/a.txt", {"if-match": '"nope"'}, 412),
        ("/static/a.txt", {"if-none-match": "*"}, 304),
        ("/static/.hidden.txt", {}, 404),
        ("/static/%2e%2e/secret.txt", {}, 404),
        ("/static/a%00", {}, 400),
    ],
)
def test_head_of_every_answer_has_no_body_and_the_connection_goes_on(client, path, headers, status):
    for _ in range(2):  # the same connection: a stray body would break the next response
        response = request(client, "HEAD", path, **headers)
        assert response.status_code == status and response.content == b""
    assert get(client, "/static/a.txt").content == LETTERS


def test_a_query_is_no_part_of_the_file_name(client):
    assert get(client, "/static/a.txt?v=123&x").content == LETTERS


def test_percent_encoded_and_utf8_names_are_served(client):
    assert get(client, "/static/%61.txt").content == LETTERS
    response = get(client, "/static/%C3%BCn%C3%AF%20code.txt")
    assert response.status_code == 200 and response.content == "ünï".encode()


def test_an_empty_file(client):
    response = get(client, "/static/empty.txt")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-length"] == "0"
    ranged = get(client, "/static/empty.txt", range="bytes=0-")
    assert ranged.status_code == 416 and ranged.headers["content-range"] == "bytes */0"
    assert get(client, "/static/empty.txt", range="bytes=-5").status_code == 416


def test_a_changed_file_is_served_as_it_now_is(client, server):
    path = server.root / "mut.txt"  # type: ignore[attr-defined]
    first = get(client, "/static/mut.txt")
    assert first.content == path.read_bytes()
    before = path.stat()
    changed = b"other version" if first.content == b"first version" else b"first version"
    path.write_bytes(changed)  # the same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the same modification time
    again = get(client, "/static/mut.txt")
    assert again.status_code == 200 and again.content == changed  # (its inode's change time differs)
    longer = changed + b" and more"
    path.write_bytes(longer)
    third = get(client, "/static/mut.txt")
    assert third.content == longer and third.headers["etag"] != first.headers["etag"]
    assert get(client, "/static/mut.txt", if_none_match=first.headers["etag"]).status_code == 200
    path.write_bytes(b"first version")


# ---- validators and preconditions ----------------------------------------------------------------


def test_etag_and_last_modified_are_present(client):
    response = get(client, "/static/a.txt")
    assert response.status_code == 200 and response.content == LETTERS
    etag = response.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    mtime_header(response)
    assert response.headers["accept-ranges"] == "bytes"
    assert get(client, "/static/big.bin").headers["etag"] != etag


@pytest.mark.parametrize("form", ["exact", "list", "star", "weak"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_if_none_match_gives_304_with_etag_and_no_body(client, form, method):
    first = get(client, "/static/a.txt")
    etag = first.headers["etag"]
    value = {"exact": etag, "list": f'"nope", {etag} , "other"', "star": "*", "weak": f"W/{etag}"}[form]
    response = request(client, method, "/static/a.txt", if_none_match=value)
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["last-modified"] == first.headers["last-modified"]


def test_if_none_match_not_matching_serves_200(client):
    response = get(client, "/static/a.txt", if_none_match='"nope", W/"other"')
    assert get(client, "/static/a.txt", range="bytes=0-0").content == b"a"
    assert response.status_code == 200 and response.content == LETTERS


def test_if_modified_since(client):
    modified = mtime_header(get(client, "/static/a.txt"))
    not_modified = get(client, "/static/a.txt", if_modified_since=modified)
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert "etag" in not_modified.headers
    later = get(client, "/static/a.txt", if_modified_since="Fri, 31 Dec 9999 23:59:59 GMT")
    assert later.status_code == 304
    earlier = get(client, "/static/a.txt", if_modified_since="Sun, 06 Nov 1994 08:49:37 GMT")
    assert earlier.status_code == 200 and earlier.content == LETTERS
    garbage = get(client, "/static/a.txt", if_modified_since="yesterday")
    assert garbage.status_code == 200


def test_if_modified_since_is_ignored_when_if_none_match_is_present(client):
    modified = mtime_header(get(client, "/static/a.txt"))
    response = get(client, "/static/a.txt", if_none_match='"stale"', if_modified_since=modified)
    assert response.status_code == 200 and response.content == LETTERS


def test_if_match_and_if_unmodified_since_give_412(client):
    first = get(client, "/static/a.txt")
    etag, modified = first.headers["etag"], mtime_header(first)
    refused = get(client, "/static/a.txt", if_match='"not-it"')
    assert refused.status_code == 412 and LETTERS not in refused.content
    assert get(client, "/static/a.txt", if_match=f'"x", {etag}').status_code == 200
    assert get(client, "/static/a.txt", if_match="*").status_code == 200
    assert get(client, "/static/a.txt", if_match=f"W/{etag}").status_code == 412  # strong comparison
    past = get(client, "/static/a.txt", if_unmodified_since="Sun, 06 Nov 1994 08:49:37 GMT")
    assert past.status_code == 412 and LETTERS not in past.content
    assert get(client, "/static/a.txt", if_unmodified_since=modified).status_code == 200
    # If-Match decides alone: If-Unmodified-Since is not evaluated when it is present
    assert (
        get(
            client, "/static/a.txt", if_match=etag, if_unmodified_since="Sun, 06 Nov 1994 08:49:37 GMT"
        ).status_code
        == 200
    )


# ---- ranges --------------------------------------------------------------------------------------

RANGED = [("/static/a.txt", LETTERS), ("/static/big.bin", BIG)]  # a cached small file, and a big one


@pytest.mark.parametrize(("path", "data"), RANGED, ids=["small", "big"])
def test_single_range_206(client, path, data):
    size = len(data)
    response = get(client, path, range="bytes=10-19")
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 10-19/{size}"
    assert response.headers["content-length"] == "10"
    assert response.content == data[10:20]
    assert "etag" in response.headers
    tail = get(client, path, range="bytes=-7")  # suffix
    assert tail.status_code == 206 and tail.content == data[-7:]
    assert tail.headers["content-range"] == f"bytes {size - 7}-{size - 1}/{size}"
    open_ended = get(client, path, range=f"bytes={size - 100}-")
    assert open_ended.status_code == 206 and open_ended.content == data[-100:]
    assert open_ended.headers["content-range"] == f"bytes {size - 100}-{size - 1}/{size}"
    clamped = get(client, path, range=f"bytes=5-{size * 10}")
    assert clamped.status_code == 206 and clamped.content == data[5:]
    whole_suffix = get(client, path, range=f"bytes=-{size * 2}")
    assert whole_suffix.status_code == 206 and whole_suffix.content == data


@pytest.mark.parametrize(("path", "data"), RANGED, ids=["small", "big"])
def test_unsatisfiable_range_416(client, path, data):
    size = len(data)
    for value in (f"bytes={size}-", f"bytes={size + 5}-{size + 10}", f"bytes={size}-,{size * 3}-"):
        response = get(client, path, range=value)
        assert response.status_code == 416, value
        assert response.headers["content-range"] == f"bytes */{size}"
        assert data[:50] not in response.content


def _parts(response: httpx.Response) -> list[tuple[str, str, bytes]]:
    content_type = response.headers["content-type"]
    assert content_type.startswith("multipart/byteranges; boundary=")
    raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + response.content
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw)
    assert message.is_multipart()
    assert not message.defects
    return [
        (part["content-type"], part["content-range"], part.get_payload(decode=True))
        for part in message.get_payload()
    ]


@pytest.mark.parametrize(
    ("path", "data", "kind"),
    [(*RANGED[0], "text/plain; charset=utf-8"), (*RANGED[1], "application/octet-stream")],
    ids=["small", "big"],
)
def test_multiple_ranges_are_multipart_byteranges(client, path, data, kind):
    size = len(data)
    response = get(client, path, range="bytes=0-4, 100-109,-3")
    assert response.status_code == 206
    assert "content-range" not in response.headers
    assert response.headers["content-length"] == str(len(response.content))
    parts = _parts(response)
    assert parts == [
        (kind, f"bytes 0-4/{size}", data[0:5]),
        (kind, f"bytes 100-109/{size}", data[100:110]),
        (kind, f"bytes {size - 3}-{size - 1}/{size}", data[-3:]),
    ]
    # bytes exactly as sent, not only as the email parser reads them
    for _, _, piece in parts:
        assert piece in response.content


def test_overlapping_ranges_are_coalesced(client):
    response = get(client, "/static/big.bin", range="bytes=0-9,5-19,40-49")
    assert response.status_code == 206
    size = len(BIG)
    assert [(r, p) for _, r, p in _parts(response)] == [
        (f"bytes 0-19/{size}", BIG[0:20]),
        (f"bytes 40-49/{size}", BIG[40:50]),
    ]


def test_adjacent_ranges_make_one_part(client):
    response = get(client, "/static/big.bin", range="bytes=0-4,5-9")
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 0-9/{len(BIG)}"
    assert response.content == BIG[:10]


def test_if_range(client):
    first = get(client, "/static/big.bin")
    etag, modified = first.headers["etag"], mtime_header(first)
    current = get(client, "/static/big.bin", range="bytes=0-9", if_range=etag)
    assert current.status_code == 206 and current.content == BIG[:10]
    dated = get(client, "/static/big.bin", range="bytes=0-9", if_range=modified)
    assert dated.status_code == 206 and dated.content == BIG[:10]
    for stale in ('"stale-etag"', f"W/{etag}", "Sun, 06 Nov 1994 08:49:37 GMT"):
        whole = get(client, "/static/big.bin", range="bytes=0-9", if_range=stale)
        assert whole.status_code == 200, stale
        assert whole.content == BIG and "content-range" not in whole.headers


@pytest.mark.parametrize(("path", "data"), RANGED, ids=["small", "big"])
def test_range_on_head_is_ignored(client, path, data):
    response = request(client, "HEAD", path, range="bytes=0-9")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-length"] == str(len(data))
    assert "content-range" not in response.headers


def test_invalid_or_other_unit_range_serves_the_whole(client):
    for value in ("items=0-5", "bytes=5-1", "bytes=x-y", "bytes="):
        response = get(client, "/static/a.txt", range=value)
        assert response.status_code == 200, value
        assert response.content == LETTERS


# ---- media types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("index.html", "text/html; charset=utf-8"),
        ("page.html", "text/html; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("data.json", "application/json; charset=utf-8"),
        ("a.txt", "text/plain; charset=utf-8"),
        ("pic.svg", "image/svg+xml; charset=utf-8"),
        ("big.bin", "application/octet-stream"),
        ("app.custom", "application/x-custom"),  # `types`
        ("memo.note", "text/x-note; charset=utf-8"),  # `types`, a text type
        ("blob.xyz", "application/octet-stream"),
        ("README", "application/octet-stream"),
    ],
)
def test_content_type(client, name, expected):
    response = get(client, f"/static/{name}")
    assert response.status_code == 200 and response.content == FILES[name]
    assert response.headers["content-type"] == expected


def test_types_belong_to_their_app(client):
    assert get(client, "/hid/app.custom").headers["content-type"] == "application/octet-stream"


# ---- directories -----------------------------------------------------------------------------------


def test_directory_without_slash_is_redirected_keeping_the_query(client):
    response = get(client, "/static/dir?x=1&y=two")
    assert response.status_code == 301
    assert response.headers["location"] == "/static/dir/?x=1&y=two"
    assert get(client, "/static/dir").headers["location"] == "/static/dir/"
    linked = get(client, "/static/link-dir-in")
    assert linked.status_code == 301 and linked.headers["location"] == "/static/link-dir-in/"


def test_the_mount_itself_is_redirected_to_its_directory(client):
    """Served at "/static", the root's index.html would resolve its relative links against "/"."""
    response = get(client, "/static?v=1")
    assert response.status_code == 301 and response.headers["location"] == "/static/?v=1"
    assert get(client, "/static/").content == FILES["index.html"]
    assert get(client, "/", host="files.test").content == PUBLIC2["index.html"]


@pytest.mark.parametrize(
    ("host", "target", "location"),
    [
        (b"fb.test", b"//dir", b"/dir/"),  # (a static app at "/")
        (b"fb.test", b"///dir?a=1", b"/dir/?a=1"),
        (b"x", b"/static//dir", b"/static//dir/"),
    ],
)
def test_a_redirect_never_leads_to_another_host(server, host, target, location):
    """A raw target with leading slashes (httpx would make "//dir" a host) is redirected under
    this host: "//dir/" in Location would be a network-path reference, to the host "dir"."""
    with server.connect() as sock:
        raw = http_exchange(sock, b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 301 ")
    assert b"\r\nlocation: " + location + b"\r\n" in raw


def test_index_html_is_served_for_the_directory(client):
    response = get(client, "/static/dir/")
    assert response.status_code == 200 and response.content == FILES["dir/index.html"]
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    root = get(client, "/static/")
    assert root.status_code == 200 and root.content == FILES["index.html"]
    linked = get(client, "/static/link-dir-in/")
    assert linked.status_code == 200 and linked.content == FILES["dir/index.html"]


def test_index_names_are_tried_in_order(client):
    first = get(client, "/idx/dir2/")
    assert first.content == FILES["dir2/main.txt"]
    assert first.headers["content-type"] == "text/plain; charset=utf-8"
    assert get(client, "/idx/dir/").content == FILES["dir/index.html"]  # (no main.txt there)
    none = get(client, "/noidx/dir/")
    assert none.status_code == 404 and b"dir index" not in none.content
    assert get(client, "/noidx/dir/index.html").content == FILES["dir/index.html"]


def test_directory_without_index_is_404_and_lists_nothing(client):
    response = get(client, "/static/nolist/")
    assert response.status_code == 404
    assert b"listed-name" not in response.content and b"alpha" not in response.content
    assert get(client, "/static/nolist").status_code == 301
    assert get(client, "/static/nolist/alpha-listed-name.txt").content == b"alpha"


def test_a_file_with_a_slash_is_not_found(client):
    assert get(client, "/static/a.txt/").status_code == 404
    assert get(client, "/static/a.txt/x").status_code == 404


# ---- hidden ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [".hidden.txt", ".dotdir/file.txt", "dir/.secret"])
def test_dotfiles_are_404_unless_hidden(client, name):
    refused = get(client, f"/static/{name}")
    assert refused.status_code == 404 and FILES[name] not in refused.content
    served = get(client, f"/hid/{name}")
    assert served.status_code == 200 and served.content == FILES[name]


# ---- symbolic links --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["link-out.txt", "link-dir-out/f.txt", "link-sibling.txt"])
def test_a_link_out_of_root_is_404_unless_follow_symlinks(client, name):
    refused = get(client, f"/static/{name}")
    assert refused.status_code == 404 and SECRET not in refused.content
    followed = get(client, f"/follow/{name}")
    assert followed.status_code == 200 and followed.content.startswith(SECRET)


def test_an_index_or_a_variant_out_of_root_is_not_served(client):
    index = get(client, "/static/linkidx/")
    assert index.status_code == 404 and SECRET not in index.content
    assert get(client, "/follow/linkidx/").content == SECRET
    variant = get(client, "/pre/pre/leak.js", accept_encoding="gzip")  # leak.js.gz leads out
    assert variant.status_code == 200 and variant.content == FILES["pre/leak.js"]
    assert "content-encoding" not in variant.headers


def test_a_fifo_and_a_link_loop_are_404(client):
    assert get(client, "/static/fifo.txt").status_code == 404  # (not opened: the loop never blocks)
    assert get(client, "/follow/fifo.txt").status_code == 404
    assert get(client, "/static/loop").status_code == 404
    assert get(client, "/follow/loop/x").status_code == 404


def test_a_link_inside_root_is_served(client):
    response = get(client, "/static/link-in.txt")
    assert response.status_code == 200 and response.content == LETTERS
    assert get(client, "/static/link-dir-in/deep.css").content == FILES["dir/deep.css"]


# ---- precompressed ---------------------------------------------------------------------------------

JS = FILES["pre/app.js"]
JS_BR = FILES["pre/app.js.br"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("gzip, deflate, br", "br"),  # br preferred, whatever the order
        ("br;q=0.1, gzip;q=1.0", "br"),
        ("gzip", "gzip"),
        ("x-gzip", "gzip"),
        ("BR", "br"),
        ("br;q=0, gzip", "gzip"),
        ("gzip;q=0, br;q=0", None),
        ("*", "br"),
        ("*;q=0", None),
        ("*, br;q=0", "gzip"),
        ("identity", None),
        ("deflate", None),
    ],
)
def test_precompressed_variants(client, accept, expected):
    response = get(client, "/pre/pre/app.js", accept_encoding=accept)
    assert response.status_code == 200
    assert response.headers["vary"].lower() == "accept-encoding"
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    if expected is None:
        assert "content-encoding" not in response.headers
        assert response.content == JS
    else:
        assert response.headers["content-encoding"] == expected
        body = response.content
        assert (body == JS_BR) if expected == "br" else (gzip.decompress(body) == JS)
    assert response.headers["content-length"] == str(len(response.content))


def test_precompressed_variants_have_distinct_etags_and_validate_alone(client):
    tags = {}
    for accept in ("br", "gzip", "identity"):
        response = get(client, "/pre/pre/app.js", accept_encoding=accept)
        tags[accept] = response.headers["etag"]
    assert len(set(tags.values())) == 3
    again = get(client, "/pre/pre/app.js", accept_encoding="br", if_none_match=tags["br"])
    assert again.status_code == 304 and again.headers["etag"] == tags["br"]
    assert again.headers["vary"].lower() == "accept-encoding"
    other = get(client, "/pre/pre/app.js", accept_encoding="gzip", if_none_match=tags["br"])
    assert other.status_code == 200 and other.headers["content-encoding"] == "gzip"


def test_only_the_variants_on_disk_are_served(client):
    response = get(client, "/pre/pre/only.css", accept_encoding="br, gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(response.content) == FILES["pre/only.css"]
    plain = get(client, "/pre/a.txt", accept_encoding="br, gzip")
    assert "content-encoding" not in plain.headers and plain.content == LETTERS
    assert plain.headers["vary"].lower() == "accept-encoding"


def test_head_of_a_variant_has_the_headers_of_its_get(client):
    got = get(client, "/pre/pre/app.js", accept_encoding="gzip")
    head = request(client, "HEAD", "/pre/pre/app.js", accept_encoding="gzip")
    assert head.content == b"" and head.headers["content-encoding"] == "gzip"
    assert {k: v for k, v in got.headers.items() if k != "date"} == {
        k: v for k, v in head.headers.items() if k != "date"
    }


def test_precompressed_off_serves_identity_only(client):
    response = get(client, "/static/pre/app.js", accept_encoding="br, gzip")
    assert "content-encoding" not in response.headers and response.content == JS
    assert "vary" not in response.headers


def test_a_variant_range_is_of_the_encoded_bytes(client):
    response = get(client, "/pre/pre/app.js", accept_encoding="br", range="bytes=0-5")
    assert response.status_code == 206 and response.content == JS_BR[:6]
    assert response.headers["content-encoding"] == "br"
    assert response.headers["content-range"] == f"bytes 0-5/{len(JS_BR)}"


# ---- cache-control ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["a.txt", "dir/", "big.bin", "style.css"])
def test_cache_control_string_for_all(client, path):
    response = get(client, f"/ccs/{path}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=60"
    etag = response.headers["etag"]
    assert get(client, f"/ccs/{path}", if_none_match=etag).headers["cache-control"] == "public, max-age=60"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("style.css", "max-age=1"),
        ("dir/deep.css", "max-age=1"),  # "*.css" (a name anywhere) comes before "dir/*"
        ("dir/", "max-age=2"),  # dir/index.html
        ("a.txt", "max-age=3"),  # "*.txt" comes before "a.*"
        ("sub/x.txt", "max-age=3"),
        ("app.js", "no-cache"),  # "*": the default, though listed first
        ("big.bin", "no-cache"),
    ],
)
def test_cache_control_table_first_match_wins(client, path, expected):
    response = get(client, f"/cct/{path}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == expected


def test_no_cache_control_unless_configured(client):
    assert "cache-control" not in get(client, "/static/a.txt").headers


# ---- fallback --------------------------------------------------------------------------------------


def test_fallback_app_sharing_the_mount_gets_the_misses(client):
    response = get(client, "/no/such/page?q=1", host="fb.test")
    assert response.status_code == 200
    assert response.json() == {
        "app": "fallback",
        "method": "GET",
        "path": "/no/such/page",
        "root_path": "",
        "raw_path": "/no/such/page",
        "query": "q=1",
    }
    posted = request(client, "POST", "/missing.txt", host="fb.test")
    assert posted.status_code == 405  # the static app's: GET and HEAD only, even for a miss
    hit = get(client, "/a.txt", host="fb.test")
    assert hit.status_code == 200 and hit.content == LETTERS
    nolist = get(client, "/nolist/", host="fb.test")  # a directory without index: a miss too
    assert nolist.json()["path"] == "/nolist/"


@pytest.mark.parametrize(
    "path",
    [
        "/%2e%2e/secret.txt",
        "/x/%2E%2e/%2e%2e/secret.txt",
        "/.hidden.txt",
        "/a%2fb",
        "/x%00",
        "/%c0%ae%c0%ae/x",
    ],
)
def test_a_hostile_path_is_never_handed_to_the_fallback(client, path):
    response = get(client, path, host="fb.test")
    assert response.status_code in (400, 404), response.text
    assert b"fallback" not in response.content and SECRET not in response.content


def test_fastapi_fallback_sharing_the_mount_routes_the_misses(client):
    response = get(client, "/items/7?x=1", host="fa.test")
    assert response.status_code == 200
    assert response.json() == {
        "app": "fastapi",
        "rest": "items/7",
        "path": "/items/7",
        "root_path": "",
        "url_path": "/items/7",
    }
    assert get(client, "/dir/", host="fa.test").content == FILES["dir/index.html"]


def test_fallback_app_at_another_mount_sees_a_consistent_path_and_root_path(client):
    response = get(client, "/docs/some/route")
    assert response.status_code == 200
    seen = response.json()
    assert seen["app"] == "fastapi"
    assert seen["rest"] == "some/route"  # the app routes the path under the mount
    assert seen["path"].startswith(seen["root_path"] + "/")  # ASGI: path holds root_path
    assert seen["path"].endswith("/some/route")
    assert seen["root_path"] == "/docs"  # served as if mounted where the miss was


def test_fallback_app_at_another_mount_gets_the_misses(client):
    response = get(client, "/docs/some/route")
    assert response.status_code == 200 and response.json()["app"] == "fastapi"
    assert get(client, "/docs/a.txt").content == LETTERS
    direct = get(client, "/api/direct").json()
    assert (direct["path"], direct["root_path"], direct["rest"]) == ("/api/direct", "/api", "direct")


def test_fallback_file_answers_misses_of_routes(client):
    for path in ("/spa/items/2", "/spa/deep/route/", "/spa/nolist/"):
        response = get(client, path)
        assert response.status_code == 200, path
        assert response.content == FILES["index.html"]
        assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert get(client, "/spa/assets/gone.js").status_code == 404  # a missing asset is not the page
    assert get(client, "/spa/a.txt").content == LETTERS
    assert get(client, "/spa/%2e%2e/secret.txt").status_code == 404  # (httpx would remove a raw "..")
    assert get(client, "/spa/.hidden").status_code == 404  # hostile: never the fallback file


# ---- mounts and hosts ------------------------------------------------------------------------------


def test_static_at_a_mount_beside_an_app_at_root(client):
    assert get(client, "/static/a.txt").content == LETTERS
    app = get(client, "/a.txt").json()
    assert (app["app"], app["path"], app["root_path"]) == ("web", "/a.txt", "")
    assert get(client, "/staticx/a.txt").json()["path"] == "/staticx/a.txt"  # a segment boundary
    missing = get(client, "/static/missing.txt")  # the static app's own 404, not the app at /
    assert missing.status_code == 404 and b"web" not in missing.content


def test_hosts_route_to_their_static_app(client):
    hosted = get(client, "/", host="files.test")
    assert hosted.status_code == 200 and hosted.content == PUBLIC2["index.html"]
    assert get(client, "/a.txt", host="files.test").status_code == 404
    assert get(client, "/").json()["app"] == "web"
    assert get(client, "/a.txt", host="fb.test").content == LETTERS
