"""Path traversal against static apps: a corpus of hostile request targets sent with RAW bytes
(no client normalises them) on every listener kind (TCP, TCP+TLS, a Unix socket, and HTTP/2:
cleartext prior knowledge and TLS ALPN, the ``:path`` sent as is by the h2 library), and with
curl ``--path-as-is`` (HTTP/1.1 and ``--http2-prior-knowledge``) where it is installed.

Every target gets 400 or 404 (on HTTP/2 too: no stream is reset), and no response ever
holds the bytes of the secret file just outside the root, of a sibling directory whose name
starts with the root's, or of /etc/passwd. The static apps are at "/", at "/static" and at
"/follow" (follow_symlinks: no check of where a file really is, the path rules alone); on the
host fb.test, the one at "/" has a fallback app, which a hostile target never reaches (a mere
miss does: it is marked so in the corpus).
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import pytest
import trustme
from conftest import APPS, InProcessServer, free_port, in_process_servers, raw_h2_client
from static_site import BIG, SECRET, build

CONFIG = """
[listeners.tcp]
bind = "127.0.0.1:{tcp}"

[listeners.tls]
bind = "127.0.0.1:{tls}"
tls = {{ certfile = "server.pem" }}

[listeners.unix]
bind = "unix:{sock}"

[apps.root]
mount = "/"
static = {{ root = "public" }}

[apps.assets]
mount = "/static"
static = {{ root = "public" }}

[apps.follow]
mount = "/follow"
static = {{ root = "public", follow_symlinks = true }}

[apps.shared]
mount = "/"
hosts = ["fb.test"]
static = {{ root = "public", fallback = "behind" }}

[apps.behind]
app = "static_apps:fallback"
app_dir = "{apps}"
mount = "/"
hosts = ["fb.test"]
"""

LONG = 5000  # a path over the static app's 4096 bytes, under the request line's 8192

# (target, a mere miss: a path that escapes nothing, which a fallback may serve)
CORPUS: list[tuple[bytes, bool]] = [
    (b"/../secret.txt", False),
    (b"/../../../../../../../../etc/passwd", False),
    (b"/%2e%2e/secret.txt", False),
    (b"/%2E%2E/secret.txt", False),
    (b"/.%2e/secret.txt", False),
    (b"/%2e./secret.txt", False),
    (b"/..%2fsecret.txt", False),
    (b"/%2e%2e%2fsecret.txt", False),
    (b"/%2e%2e%2F%2e%2e%2Fetc%2Fpasswd", False),
    (b"/..%5csecret.txt", False),
    (b"/%2e%2e%5csecret.txt", False),
    (b"/%5c..%5csecret.txt", False),
    (b"/..\\secret.txt", False),
    (b"/..\\..\\..\\etc\\passwd", False),
    (b"/a.txt%00", False),
    (b"/..%00/secret.txt", False),
    (b"/%00../secret.txt", False),
    (b"/.%00./secret.txt", False),
    (b"/%c0%ae%c0%ae/secret.txt", False),  # overlong UTF-8 "."
    (b"/%c0%ae%c0%ae%c0%afsecret.txt", False),  # and "/"
    (b"/..%c0%afsecret.txt", False),
    (b"/%e0%80%ae%e0%80%ae/secret.txt", False),  # a three-byte overlong "."
    (b"/%ed%a0%80/secret.txt", False),  # a surrogate
    (b"/%252e%252e/secret.txt", True),  # double encoding: a segment named "%2e%2e"
    (b"/%252e%252e%252fsecret.txt", True),
    (b"/./../secret.txt", False),
    (b"/./secret.txt", False),
    (b"/dir/./../../secret.txt", False),
    (b"/dir/../../secret.txt", False),
    (b"//../secret.txt", False),
    (b"////..//..//secret.txt", False),
    (b"/..", False),
    (b"/%2e%2e", False),
    (b"/%u002e%u002e/secret.txt", False),  # not percent-encoding
    (b"/%2", False),
    (b"/%zz/secret.txt", False),
    (b"/%0d%0aSet-Cookie:%20x=1", False),
    (b"/%7f/secret.txt", False),
    (b"/%c2%85/secret.txt", False),  # C1 control (NEL)
    (b"/link-out.txt", False),  # a link to the secret
    (b"/link-dir-out/f.txt", False),
    (b"/link-sibling.txt", False),
    (b"/../public-evil/secret.txt", False),
    (b"/%2e%2e/public-evil/secret.txt", False),
    (b"/secret.txt", True),  # it is beside the root, not in it
    (b"/..;/secret.txt", True),
    (b"/..%ef%bc%8fsecret.txt", True),  # a fullwidth solidus is no separator
    (b"/" + b"a" * 300, False),  # a segment over 255 bytes
    (b"/" + b"a/" * (LONG // 2), False),  # a path over 4096 bytes
    (b"/.." * (LONG // 3) + b"/etc/passwd", False),
    (b"/static/../secret.txt", False),
    (b"/static/../../etc/passwd", False),
    (b"/static/..%2fsecret.txt", False),
    (b"/static/..%2f..%2fsecret.txt", False),
    (b"/static%2f..%2f..%2fsecret.txt", False),
    (b"/static%2f..%2fsecret.txt", False),
    (b"/static%5c..%5csecret.txt", False),
    (b"/static/%2e%2e/%2e%2e/secret.txt", False),
    (b"/static/..", False),
    (b"/static/%2e%2e", False),
    (b"/static/./../secret.txt", False),
    (b"/static//../secret.txt", False),
    (b"/static/link-out.txt", True),  # on fb.test, "/" has no static/ directory: a miss
    (b"/static/.%2e/public-evil/secret.txt", False),
    (b"http://x/../secret.txt", False),  # absolute-form
    (b"http://x/%2e%2e/secret.txt", False),
    (b"http://x/static/../../secret.txt", False),
    (b"http://x/static%2f..%2fsecret.txt", False),
]
BASE = list(CORPUS)
# the same under an app that follows links out of root: there the path rules alone stand
# between a request and the secret (no check of where the file really is)
CORPUS += [
    (b"/follow" + target, miss or b"/static/" in target)
    for target, miss in CORPUS
    if target[:1] == b"/" and b"link-" not in target
]
assert len(CORPUS) >= 40

IDS = [target[:60].decode("latin-1") for target, _ in CORPUS]


@dataclass
class Answer:
    status: int | None  # None: an HTTP/2 stream reset, or the connection closed before a status
    body: bytes
    raw: bytes  # everything received for it (head and body)


def never_leaks(answer: Answer, target: bytes, passwd: bytes, miss: bool, fallback: bool) -> None:
    assert SECRET not in answer.raw, target
    assert passwd not in answer.raw, target
    if fallback and miss:
        assert answer.status in (200, 404), (target, answer)
        return
    assert answer.status in (400, 404), (target, answer)
    assert b'"app": "fallback"' not in answer.raw, target


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[InProcessServer, Path]]:
    base = tmp_path_factory.mktemp("site")
    build(base)
    ca = trustme.CA()
    ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(
        str(base / "server.pem")
    )
    ca.cert_pem.write_to_path(str(base / "ca.pem"))
    sock = base / "web.sock"
    tcp, tls = free_port(), free_port()
    (base / "asgihost.toml").write_text(CONFIG.format(tcp=tcp, tls=tls, sock=sock, apps=APPS))
    with in_process_servers() as start:
        server = start(str(base / "asgihost.toml"))
        assert isinstance(server, InProcessServer)
        server.tls_port = tls  # type: ignore[attr-defined]
        yield server, base


@pytest.fixture(scope="module")
def passwd() -> bytes:
    """A line of /etc/passwd (the first), which no answer may hold."""
    try:
        line = Path("/etc/passwd").read_bytes().split(b"\n", 1)[0]
    except OSError:
        line = b""
    return line or b"root:x:0:0:"


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            break
        if not chunk:
            break
        data += chunk
    return data


def _parse(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    line = head.split(b"\r\n", 1)[0]
    assert line.startswith(b"HTTP/1.1 "), raw[:200]
    return Answer(int(line[9:12]), body, raw)


class Transport:
    """Raw HTTP/1.1 on one listener kind: a connection per request, read until it closes."""

    def __init__(self, kind: str, server: InProcessServer, base: Path) -> None:
        self.kind, self.server, self.base = kind, server, base
        if kind == "tls":
            self.context = ssl.create_default_context(cafile=str(base / "ca.pem"))
            self.context.set_alpn_protocols(["http/1.1"])

    def connect(self) -> socket.socket:
        if self.kind == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(5)
            sock.connect(str(self.base / "web.sock"))
            return sock
        port = self.server.tls_port if self.kind == "tls" else self.server.port  # type: ignore[attr-defined]
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if self.kind == "tls":
            return self.context.wrap_socket(sock, server_hostname="localhost")
        return sock

    def get(self, target: bytes, host: bytes) -> Answer:
        with self.connect() as sock:
            sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
            return _parse(_read_response(sock))


@pytest.fixture(scope="module", params=["tcp", "tls", "unix"])
def http1(request: pytest.FixtureRequest, site: tuple[InProcessServer, Path]) -> Transport:
    return Transport(request.param, *site)


def test_a_plain_request_is_served_on_every_listener(http1):
    """The corpus's answers mean something: the same transport serves a real file."""
    answer = http1.get(b"/a.txt", b"x")
    assert answer.status == 200 and answer.body.startswith(b"abcdef")
    assert http1.get(b"/static/a.txt", b"x").status == 200
    assert http1.get(b"http://x/static/a.txt", b"x").status == 200
    assert http1.get(b"/no/such", b"fb.test").status == 200  # a miss reaches the fallback
    big = http1.get(b"/big.bin", b"x")  # sendfile on TCP and Unix, pieces over TLS
    assert big.status == 200 and big.body == BIG
    part = http1.get(b"/static/big.bin", b"x" + b"\r\nRange: bytes=70000-70009")
    assert part.status == 206 and part.body == BIG[70000:70010]


@pytest.mark.parametrize("host", [b"x", b"fb.test"], ids=["no-fallback", "fallback"])
def test_http1_corpus(http1, passwd, host):
    assert len(CORPUS) >= 40
    for target, miss in CORPUS:
        answer = http1.get(target, host)
        never_leaks(answer, target, passwd, miss, host == b"fb.test")


# ---- HTTP/2, raw :path ---------------------------------------------------------------------------------


class RawH2:
    """An h2 client connection sending each ``:path`` as given; a new connection when the
    server has closed one."""

    def __init__(self, server: InProcessServer, base: Path, tls: bool) -> None:
        self.server, self.base, self.tls = server, base, tls
        self._open()

    def _open(self) -> None:
        if self.tls:
            context = ssl.create_default_context(cafile=str(self.base / "ca.pem"))
            context.set_alpn_protocols(["h2"])
            plain = socket.create_connection(("127.0.0.1", self.server.tls_port), timeout=5)  # type: ignore[attr-defined]
            self.sock: socket.socket = context.wrap_socket(plain, server_hostname="localhost")
            assert self.sock.selected_alpn_protocol() == "h2"  # type: ignore[attr-defined]
        else:
            self.sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
        self.conn = raw_h2_client()
        self.sock.sendall(self.conn.data_to_send())

    def close(self) -> None:
        self.sock.close()

    def get(self, path: bytes, host: bytes) -> Answer:
        if self.conn.state_machine.state.name == "CLOSED":
            self.close()
            self._open()
        stream_id = self.conn.get_next_available_stream_id()
        headers = [(b":method", b"GET"), (b":scheme", b"https" if self.tls else b"http")]
        headers += [(b":authority", host), (b":path", path)]
        self.conn.send_headers(stream_id, headers, end_stream=True)
        self.sock.sendall(self.conn.data_to_send())
        status: int | None = None
        body = b""
        raw = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                data = b""
            if not data:
                self.conn.state_machine.state = type(self.conn.state_machine.state)["CLOSED"]
                return Answer(status, body, raw)
            raw += data
            for event in self.conn.receive_data(data):
                if getattr(event, "stream_id", None) != stream_id:
                    if isinstance(event, h2.events.ConnectionTerminated):
                        self.sock.sendall(self.conn.data_to_send())
                        return Answer(status, body, raw)
                    continue
                if isinstance(event, h2.events.ResponseReceived):
                    status = int(dict(event.headers)[b":status"])
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data
                    self.conn.acknowledge_received_data(event.flow_controlled_length, stream_id)
                elif isinstance(event, h2.events.StreamReset):
                    return Answer(None, body, raw)
                elif isinstance(event, h2.events.StreamEnded):
                    self.sock.sendall(self.conn.data_to_send())
                    return Answer(status, body, raw)
            self.sock.sendall(self.conn.data_to_send())


@pytest.fixture(scope="module", params=["h2c", "h2-tls"])
def h2_client(request: pytest.FixtureRequest, site: tuple[InProcessServer, Path]) -> Iterator[RawH2]:
    client = RawH2(*site, tls=request.param == "h2-tls")
    yield client
    client.close()


H2_CORPUS = [(target, miss) for target, miss in CORPUS if target[:1] == b"/"]  # :path is origin-form


@pytest.mark.parametrize("host", [b"x", b"fb.test"], ids=["no-fallback", "fallback"])
def test_http2_corpus(h2_client, passwd, host):
    served = h2_client.get(b"/a.txt", host)
    assert served.status == 200 and served.body.startswith(b"abcdef")
    big = h2_client.get(b"/big.bin", host)  # beyond the stream's first window
    assert big.status == 200 and big.body == BIG
    for target, miss in H2_CORPUS:  # answered 400 or 404 too: no stream is reset
        never_leaks(h2_client.get(target, host), target, passwd, miss, host == b"fb.test")
    assert h2_client.get(b"/static/a.txt", host).status == 200  # the connection still serves


# ---- curl ------------------------------------------------------------------------------------------

CURL = shutil.which("curl")
# what curl sends as given: printable ASCII without a backslash, origin-form
CURL_CORPUS = [
    (target, miss)
    for target, miss in BASE
    if target[:1] == b"/"
    and b"\\" not in target
    and all(0x21 <= b < 0x7F for b in target)
    and len(target) < 2000
]


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
@pytest.mark.parametrize("version", ["--http1.1", "--http2-prior-knowledge"])
def test_curl_path_as_is(site, passwd, version):
    server, _ = site
    assert len(CURL_CORPUS) >= 40
    marker = "\n@@STATUS %{http_code} %{http_version}@@\n"
    urls = [f"http://127.0.0.1:{server.port}{target.decode()}" for target, _ in CURL_CORPUS]
    # curl 7.88 cannot reuse a prior-knowledge HTTP/2 connection (curl/curl#10634, fixed in
    # 8.0): a process per URL there, all the URLs on one connection for HTTP/1.1
    batches = [[url] for url in urls] if "http2" in version else [urls]
    out = b""
    for batch in batches:
        result = subprocess.run(
            [CURL, "-s", "--path-as-is", "--globoff", version, "-w", marker, *batch],
            capture_output=True,
            timeout=30,
            check=False,
        )
        out += result.stdout
    assert SECRET not in out and passwd not in out
    chunks = out.split(b"@@STATUS ")[1:]
    assert len(chunks) == len(CURL_CORPUS), out[-500:]
    expected_version = b"2" if "http2" in version else b"1.1"
    for (target, _), chunk in zip(CURL_CORPUS, chunks, strict=True):
        status, http_version = chunk.split(b"@@", 1)[0].split()
        assert http_version == expected_version, (target, chunk[:300])
        assert int(status) in (400, 404), (target, status)
