"""The router: host ranking, longest mount on a segment boundary, and the fast paths."""

from __future__ import annotations

import pytest

from asgihost.routing import Route, RouteTable, normalise_host

TABLE = RouteTable(
    [
        Route("root", "/"),
        Route("api", "/api"),
        Route("api-v2", "/api/v2"),
        Route("www", "/", ("www.example.com",)),
        Route("www-admin", "/admin", ("www.example.com",)),
        Route("org", "/", ("*.example.org",)),
        Route("deep-org", "/", ("*.b.example.org",)),
        Route("org-api", "/api", ("*.example.org",)),
    ],
    ports=[8000],
)


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        (b"other", "/", "root"),
        (None, "/api", "api"),
        (b"other", "/api/", "api"),
        (b"other", "/api/x", "api"),
        (b"other", "/apix", "root"),  # not on a segment boundary
        (b"other", "/api/v2", "api-v2"),  # longest mount wins
        (b"other", "/api/v2x", "api"),
        (b"www.example.com", "/anything", "www"),  # exact host beats no hosts, even at "/"
        (b"www.example.com", "/admin/users", "www-admin"),
        (b"www.example.com:8000", "/admin", "www-admin"),  # precomputed with the listener's port
        (b"WWW.Example.COM:9999", "/admin", "www-admin"),  # case and other ports normalised
        (b"www.example.com.", "/", "www"),  # trailing dot
        (b"a.example.org", "/x", "org"),
        (b"a.example.org", "/api/1", "org-api"),
        (b"x.b.example.org", "/", "deep-org"),  # the longer wildcard suffix ranks first
        (b"x.b.example.org", "/api", "deep-org"),  # "/" of the better host beats a longer mount
        (b"example.org", "/", "root"),  # "*.example.org" is for subdomains only
        (b"evilexample.org", "/", "root"),
    ],
)
def test_match(host, path, expected):
    assert TABLE.match(host, path) == expected


def test_no_match_is_none():
    table = RouteTable([Route("api", "/api"), Route("site", "/", ("example.com",))])
    assert table.match(b"other.com", "/") is None
    assert table.match(None, "/api/1") == "api"


def test_single_root_app_is_the_fast_path():
    table = RouteTable([Route("only", "/")])
    assert table.only == "only" and not table.needs_host
    assert RouteTable([Route("a", "/", ("x.com",))]).only is None
    assert RouteTable([Route("a", "/"), Route("b", "/b")]).only is None


def test_map_keeps_the_ranking_and_converts_each_target_once():
    calls = []

    def convert(name: str) -> str:
        calls.append(name)
        return name.upper()

    mapped = TABLE.map(convert)
    assert mapped.match(b"a.example.org", "/api/1") == "ORG-API"
    assert mapped.match(b"www.example.com:8000", "/admin") == "WWW-ADMIN"
    assert sorted(calls) == sorted(set(calls))
    assert sorted(mapped.targets()) == sorted(t.upper() for t in TABLE.targets())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(b"Example.COM:80", b"example.com"), (b"[::1]:8000", b"[::1]"), (b"[::1]", b"[::1]"), (b"h.", b"h")],
)
def test_normalise_host(raw, expected):
    assert normalise_host(raw) == expected


def _reference(routes: list[Route[str]], host: bytes | None, path: str) -> str | None:
    """The rule as the module docstring states it, by brute force."""
    name = None if host is None else normalise_host(host).decode()

    def host_rank(route: Route[str]) -> tuple[int, int] | None:
        if not route.hosts:
            return (2, 0)
        if name is not None and name in route.hosts:
            return (0, 0)
        suffixes = [h[1:] for h in route.hosts if h.startswith("*.") and name and name.endswith(h[1:])]
        return (1, -max(map(len, suffixes))) if suffixes else None

    def on_mount(mount: str) -> bool:
        return mount == "/" or path == mount or path.startswith(mount + "/")

    candidates = [(host_rank(r), -len(r.mount), i, r) for i, r in enumerate(routes)]
    ranked = sorted((c for c in candidates if c[0] is not None and on_mount(c[3].mount)), key=lambda c: c[:3])
    return ranked[0][3].target if ranked else None


def test_matching_agrees_with_the_rule_on_many_tables():
    import random

    rng = random.Random(8)
    mounts = ["/", "/a", "/a/b", "/ab", "/app01", "/app10", "/a/b/c", "/b"]
    hosts = ["x.test", "y.test", "*.test", "*.y.test", "z.other"]
    paths = ["/", "/a", "/a/", "/ab", "/abc", "/a/b", "/a/bc", "/a/b/c/d", "/app10/hello", "/app1", "/b/x"]
    paths += ["/a/b/", "/a/b/c", "/app10", "/app10/", "/app1/", "/b", "/b/", "/bx", "*", ""]
    for _ in range(300):
        routes = [
            Route(f"t{i}", rng.choice(mounts), tuple(rng.sample(hosts, rng.choice([0, 0, 1, 2]))))
            for i in range(rng.randint(1, 10))
        ]
        table = RouteTable(routes, ports=[8000])
        mapped = table.map(str.upper)
        for host in (None, b"x.test", b"X.test:8000", b"q.y.test", b"z.other", b"nowhere", b"a.test."):
            for path in paths:
                expected = _reference(routes, host, path)
                assert table.match(host, path) == expected, (routes, host, path)
                assert mapped.match(host, path) == (expected and expected.upper())
