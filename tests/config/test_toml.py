"""Reading asgihost.toml: key positions, ${VAR} interpolation, merging, and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from asgihost.config import ConfigError, Problem, load_config
from asgihost.config.toml import SourceMap, interpolate, merge, read_toml, split_key

# ---- SourceMap -----------------------------------------------------------------------------------

TRICKY = """\
# a comment [not.a.table]
title = "x # not a comment"   # trailing comment
"quoted.key" = 1
a.b . c = 2
'literal' = 'v'

[server]
headers = [
  "x-a: 1",  # a comment, with = in it
  \"\"\"
fake = "key"
[fake.table]
\"\"\",
  'y: 2',
]
ml = '''
[not.a.header]
k = v
'''
when = 1979-05-27 07:32:00Z

[apps."my.app"]
  tls = { certfile = "a", keyfile = "b" }
  nested = [{ x = 1 }, { x = 2, y = [3, 4] }]
  q = \"\"\"a\"\"\"\"

[[fruits]]
name = "apple"
[fruits.physical]
color = "red"
[[fruits.varieties]]
name = "red"
[[fruits]]
name = "banana"
[[fruits.varieties]]
name = "plantain"
"""


@pytest.fixture(scope="module")
def tricky() -> SourceMap:
    return SourceMap.scan(TRICKY)


@pytest.mark.parametrize(
    ("loc", "position"),
    [
        (("title",), (2, 1)),
        (("quoted.key",), (3, 1)),
        (("a", "b", "c"), (4, 1)),
        (("a",), (4, 1)),  # a table made by a dotted key is where that key is
        (("literal",), (5, 1)),
        (("server",), (7, 1)),
        (("server", "headers"), (8, 1)),
        (("server", "headers", 0), (9, 3)),
        (("server", "headers", 1), (10, 3)),
        (("server", "headers", 2), (14, 3)),
        (("server", "ml"), (16, 1)),
        (("server", "when"), (20, 1)),
        (("apps", "my.app"), (22, 1)),
        (("apps",), (22, 1)),
        (("apps", "my.app", "tls"), (23, 3)),
        (("apps", "my.app", "tls", "certfile"), (23, 11)),
        (("apps", "my.app", "tls", "keyfile"), (23, 27)),
        (("apps", "my.app", "nested", 0), (24, 13)),
        (("apps", "my.app", "nested", 0, "x"), (24, 15)),
        (("apps", "my.app", "nested", 1, "x"), (24, 26)),
        (("apps", "my.app", "nested", 1, "y", 1), (24, 41)),
        (("apps", "my.app", "q"), (25, 3)),
        (("fruits",), (27, 1)),
        (("fruits", 0), (27, 1)),
        (("fruits", 0, "name"), (28, 1)),
        (("fruits", 0, "physical", "color"), (30, 1)),
        (("fruits", 0, "varieties", 0, "name"), (32, 1)),
        (("fruits", 1), (33, 1)),
        (("fruits", 1, "varieties", 0), (35, 1)),
        (("fruits", 1, "varieties", 0, "name"), (36, 1)),
    ],
)
def test_source_map_positions(tricky, loc, position):
    assert tricky.locate(loc) == position


def test_text_inside_strings_and_comments_is_not_keys(tricky):
    for ghost in ("fake", "not", "k"):
        assert tricky.locate((ghost,)) is None
    assert tricky.locate(("server", "fake")) == (7, 1)  # unknown under [server]: the header


def test_locate_falls_back_to_the_longest_known_prefix():
    source = SourceMap.scan('[apps.api]\napp = "m:a"\n\n[apps.api.limits]\nconcurrency = 3\n')
    assert source.locate(("apps", "api", "limits", "concurrency")) == (5, 1)
    assert source.locate(("apps", "api", "limits", "keep_alive_timeout")) == (4, 1)
    assert source.locate(("apps", "api", "lifespan")) == (1, 1)
    assert source.locate(("apps", "api", "hosts", 0)) == (1, 1)
    assert source.locate(("server",)) is None
    assert source.locate(()) is None


def test_a_header_after_its_subtable_is_still_found():
    source = SourceMap.scan("[apps.api.limits]\nconcurrency = 1\n[apps.api]\napp = 'm:a'\n")
    assert source.locate(("apps", "api")) == (3, 1)
    assert source.locate(("apps", "api", "limits")) == (1, 1)


def test_list_items_in_a_multiline_array_and_string_keys():
    source = SourceMap.scan('[apps.a]\nhosts = [\n    "a.example",\n    "b.example"\n]\n')
    assert source.locate(("apps", "a", "hosts", 1)) == (4, 5)
    assert source.locate(("apps", "a", "hosts", "1")) == (4, 5)  # as a split dotted key gives it
    assert source.locate(("apps", "a", "hosts", 7)) == (2, 1)  # no such item: the key


def test_split_key_reads_toml_dotted_keys():
    assert split_key('apps."my.app".env') == ("apps", "my.app", "env")
    assert split_key("apps.api.hosts.0") == ("apps", "api", "hosts", "0")
    assert split_key("apps.bad name") == ("apps", "bad name")  # not TOML: plain dots
    source = SourceMap.scan('[apps."my.app"]\napp = "m:a"\n')
    assert source.locate_key('apps."my.app".app') == (2, 1)


# ---- read_toml -----------------------------------------------------------------------------------


def test_read_toml_returns_data_and_positions(tmp_path):
    path = tmp_path / "asgihost.toml"
    path.write_text('[server]\r\nloop = "asyncio"\r\n')
    data, source = read_toml(path)
    assert data == {"server": {"loop": "asyncio"}}
    assert source.locate(("server", "loop")) == (2, 1)


@pytest.mark.parametrize(
    ("text", "where", "key", "message"),
    [
        (
            '[server]\nloop = "auto"\nhttp = \n',
            "3:8",
            "server.http",
            "not a TOML value (a string needs quotes)",
        ),
        ('[apps.a]\napp = "m:a', "2:11", "apps.a.app", "Unterminated string"),
        ("[server\n", "1:8", "server", "Expected ']' at the end of a table declaration"),
        ("a = 1\na = 2\n", "2:6", "a", "Cannot overwrite a value"),
        ('[apps."x y"]\n[apps."x y"]\n', "2:12", 'apps."x y"', '[apps."x y"] is declared twice'),
        ("# nothing\n= 1\n", "2:1", "", "Invalid statement"),
    ],
)
def test_syntax_errors_have_line_column_and_key(tmp_path, text, where, key, message):
    path = tmp_path / "asgihost.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        read_toml(path)
    [problem] = info.value.problems
    assert problem.where == f"{path}:{where}"
    assert problem.message == message
    assert problem.key == key


def test_missing_and_unreadable_files_name_the_path(tmp_path):
    with pytest.raises(ConfigError) as info:
        read_toml(tmp_path / "nope.toml")
    assert str(info.value) == f"{tmp_path / 'nope.toml'}: no such file"
    with pytest.raises(ConfigError, match="is a directory"):
        read_toml(tmp_path)
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'title = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_toml(latin)


# ---- interpolation and merging -------------------------------------------------------------------

ENV = {"PORT": "9000", "HOST": "0.0.0.0", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("${HOST}:${PORT}", "0.0.0.0:9000"),
        ("${NOPE:-8000}", "8000"),
        ("${PORT:-8000}", "9000"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${EMPTY}", ""),
        ("${NOPE:-}", ""),
        ("$${PORT}", "${PORT}"),
        ("cost: $5 and $$", "cost: $5 and $$"),
        ("no references", "no references"),
    ],
)
def test_interpolation(text, result):
    assert interpolate({"k": text}, ENV) == ({"k": result}, [])


def test_interpolation_reaches_lists_and_tables_but_not_keys_or_other_values():
    data = {
        "${PORT}": {"bind": "h:${PORT}", "hosts": ["${HOST}", {"deep": "${PORT}"}], "n": 5, "on": True},
    }
    assert interpolate(data, ENV) == (
        {"${PORT}": {"bind": "h:9000", "hosts": ["0.0.0.0", {"deep": "9000"}], "n": 5, "on": True}},
        [],
    )
    assert data["${PORT}"]["bind"] == "h:${PORT}"  # the input is left as it was


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${NOPE}", "environment variable NOPE is not set"),
        ("${}", 'malformed "${}": expected ${VAR} or ${VAR:-default}'),
        ("${1X}", 'malformed "${1X}": expected ${VAR} or ${VAR:-default}'),
        ("${A-b}", 'malformed "${A-b}": expected ${VAR} or ${VAR:-default}'),
        ("${PORT", '"${" without a closing "}" (write "$${" for a literal "${")'),
    ],
)
def test_bad_references_are_problems_at_their_key(text, message):
    data, problems = interpolate({"apps": {"api": {"hosts": ["ok", text]}}}, ENV)
    assert problems == [Problem("apps.api.hosts.1", message)]
    assert data["apps"]["api"]["hosts"][1] == text


def test_merge_is_deep_and_replaces_lists():
    base = {"server": {"loop": "auto", "headers": ["a: 1"]}, "apps": {"a": {"app": "m:a"}}}
    override = {"server": {"headers": ["b: 2"]}, "apps": {"a": {"lifespan": "on"}, "b": {"app": "m:b"}}}
    assert merge(base, override) == {
        "server": {"loop": "auto", "headers": ["b: 2"]},
        "apps": {"a": {"app": "m:a", "lifespan": "on"}, "b": {"app": "m:b"}},
    }
    assert base["apps"] == {"a": {"app": "m:a"}}
    assert merge({"a": {"b": 1}}, {"a": 2}) == {"a": 2}


# ---- load_config ---------------------------------------------------------------------------------

SITE = """\
# shaped like /work/shared/design/asgihost.example.toml, with what the model has today
[server]
loop = "auto"
graceful_timeout = 30

[logging]
level = "info"
format = "auto"
access_log = true

[limits]
keep_alive_timeout = 5
concurrency = 1000

[listeners.public]
bind = "0.0.0.0:${PORT:-8443}"

[listeners.internal]
bind = "unix:/run/asgihost.sock"
mode = "660"

[apps.api]
app = "services.api.main:app"
mount = "/api"
lifespan = "on"

[apps.api.limits]
concurrency = 50

[apps.admin]
app = "services.admin.main:create_app"
factory = true
mount = "/admin"
listeners = ["internal"]

[apps.site]
app = "services.site.main:app"
hosts = ["www.example.com", "*.example.org"]
env = { SITE_NAME = "${SITE_NAME:-example}" }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "asgihost.toml"
    path.write_text(text)
    return path


def test_load_config_reads_a_whole_site(tmp_path):
    config = load_config(write(tmp_path, SITE), environ={"PORT": "9443"})
    assert list(config.listeners) == ["public", "internal"]
    assert str(config.listeners["public"].bind) == "0.0.0.0:9443"
    assert config.listeners["internal"].mode == 0o660
    assert list(config.apps) == ["api", "admin", "site"]
    assert config.apps["api"].mount == "/api" and config.apps["api"].lifespan == "on"
    assert config.apps["api"].limits.concurrency == 50
    assert config.apps["admin"].factory and config.apps["admin"].listeners == ["internal"]
    assert config.apps["site"].hosts == ["www.example.com", "*.example.org"]
    assert config.apps["site"].env == {"SITE_NAME": "example"}
    assert config.limits.concurrency == 1000


def test_load_config_uses_os_environ_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("PORT", "7001")
    config = load_config(str(write(tmp_path, SITE)))
    assert config.listeners["public"].bind.port == 7001


def test_overrides_are_laid_over_the_file(tmp_path):
    overrides = {"listeners": {"public": {"bind": "127.0.0.1:1"}}, "apps": {"api": {"lifespan": "off"}}}
    config = load_config(write(tmp_path, SITE), overrides, environ={})
    assert str(config.listeners["public"].bind) == "127.0.0.1:1"
    assert config.apps["api"].lifespan == "off" and config.apps["api"].mount == "/api"


def problems_of(tmp_path: Path, text: str, **kwargs: object) -> list[Problem]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={}, **kwargs)  # type: ignore[arg-type]
    return info.value.problems


@pytest.mark.parametrize(
    ("text", "where", "key", "message"),
    [
        (
            '[serverr]\nloop = "auto"\n\n[apps.a]\napp = "m:a"\n',
            "1:1",
            "serverr",
            'unknown key "serverr" (did you mean "server"?)',
        ),
        (
            'wat = 1\n[apps.a]\napp = "m:a"\n',
            "1:1",
            "wat",
            'unknown key "wat" (the keys here are: server, logging, limits, websocket, http2, reload, health, metrics, listeners, apps)',
        ),
        (
            '[apps.api]\napp = "m:a"\nlifspan = "on"\n',
            "3:1",
            "apps.api.lifspan",
            'unknown key "lifspan" (did you mean "lifespan"?)',
        ),
        (
            '[apps.api]\napp = "m:a"\nlimits = { concurrency = 2, concurency = 3 }\n',
            "3:29",
            "apps.api.limits.concurency",
            'unknown key "concurency" (did you mean "concurrency"?)',
        ),
        (
            '[listeners.web]\nbind = "127.0.0.1:8000"\nbacklog = "many"\n[apps.a]\napp = "m:a"\n',
            "3:1",
            "listeners.web.backlog",
            'expected an integer, got "many"',
        ),
        (
            '[apps.a]\napp = "m:a"\nfactory = [1]\n',
            "3:1",
            "apps.a.factory",
            "expected a boolean, got [1]",
        ),
        (
            '[server]\ngraceful_timeout = "soon"\n[apps.a]\napp = "m:a"\n',
            "2:1",
            "server.graceful_timeout",
            'a duration is a number of seconds or a string like "30s", "500ms", "2m", got "soon"',
        ),
        (
            '[apps.api]\napp = "m:a"\n  lifespan = "sometimes"\n',
            "3:3",
            "apps.api.lifespan",
            'expected one of "auto", "on", "off", got "sometimes"',
        ),
        (
            '[listeners.web]\nbind = "localhost"\n[apps.a]\napp = "m:a"\n',
            "2:1",
            "listeners.web.bind",
            'expected "host:port", "[v6addr]:port", "unix:/path", "fd://N" or "systemd:NAME", got "localhost"',
        ),
        (
            '[apps.a]\napp = "m:a"\nhosts = [\n  "ok.example",\n  "bad host",\n]\n',
            "5:3",
            "apps.a.hosts.1",
            'a host is a DNS name such as "www.example.com", or "*.example.com" for its subdomains, got "bad host"',
        ),
        (
            '[apps.a]\napp = "m:a"\n\n[apps.a.limits]\nconcurrency = 0\n',
            "5:1",
            "apps.a.limits.concurrency",
            "expected greater than or equal to 1, got 0",
        ),
        (
            '[apps.a]\napp = "m:a"\n\n[apps.b]\nfactory = true\n',
            "4:1",
            "apps.b",
            'an app needs `app` (an ASGI application, "module:attribute") or `static` (a directory to serve)',
        ),
        (
            '[apps.a]\napp = "m:a"\n\n[apps."bad name"]\napp = "m:b"\n',
            "4:1",
            'apps."bad name"',
            "the name \"bad name\" is not valid: use letters, digits, '_' and '-', not starting with '-'",
        ),
        ('apps = "m:a"\n', "1:1", "apps", 'expected a table, got "m:a"'),
        (
            '[listeners.web]\nbind = "127.0.0.1:1"\nmode = "600"\n[apps.a]\napp = "m:a"\n',
            "1:1",
            "listeners.web",
            'mode applies only to a Unix socket (bind = "unix:/path")',
        ),
    ],
)
def test_validation_errors_point_at_the_key(tmp_path, text, where, key, message):
    [problem] = problems_of(tmp_path, text)
    path = tmp_path / "asgihost.toml"
    assert (problem.where, problem.key, problem.message) == (f"{path}:{where}", key, message)
    assert str(problem) == f"{path}:{where}: {key}: {message}"


def test_every_problem_is_reported_in_file_order(tmp_path):
    text = (
        '[apps.api]\napp = "m:a"\nlifespan = "sometimes"\n\n'
        '[listeners.web]\nbind = "127.0.0.1:${PORT}"\nbacklog = 0\n\n'
        '[server]\nloop = "${LOOP:-fast}"\nhttp = "$${x"\n'
    )
    problems = problems_of(tmp_path, text)
    path = tmp_path / "asgihost.toml"
    assert [(p.where, p.key) for p in problems] == [
        (f"{path}:3:1", "apps.api.lifespan"),
        (f"{path}:6:1", "listeners.web.bind"),  # only "not set", not also a bad bind
        (f"{path}:7:1", "listeners.web.backlog"),
        (f"{path}:10:1", "server.loop"),
        (f"{path}:11:1", "server.http"),
    ]
    assert problems[1].message == "environment variable PORT is not set"
    assert problems[3].message == (
        'expected one of "auto", "uvloop", "asyncio", "none", "zuvloop", or a loop factory as "module:callable", '
        'got "fast"'
    )
    assert problems[4].message == 'expected one of "auto", "httptools", "h11", "h2", "zttp", got "${x"'


def test_a_problem_in_an_override_is_not_pinned_on_the_file(tmp_path):
    text = '[listeners.web]\nbind = "127.0.0.1:8000"\n[apps.a]\napp = "m:a"\n'
    overrides = {"listeners": {"web": {"bind": "127.0.0.1:70000"}}, "apps": {"b": {"lifespan": "on"}}}
    problems = problems_of(tmp_path, text, overrides=overrides)
    path = tmp_path / "asgihost.toml"
    assert [(p.where, p.key) for p in problems] == [
        (str(path), "listeners.web.bind"),
        (str(path), "apps.b"),  # the app comes from the overrides; the file has no [apps.b]
    ]
    assert (
        str(problems[0])
        == f'{path}: listeners.web.bind: a port is between 0 and 65535, got "127.0.0.1:70000"'
    )


def test_keys_needing_quotes_are_quoted_and_found(tmp_path):
    text = '[apps.a]\napp = "m:a"\n\n[apps.a.env]\n"A.B" = "${NOPE}"\n'
    [problem] = problems_of(tmp_path, text)
    assert (problem.where, problem.key) == (f"{tmp_path / 'asgihost.toml'}:5:1", 'apps.a.env."A.B"')


def test_problem_to_json():
    assert Problem("apps.a.lifespan", "bad", "conf/asgihost.toml:3:7").to_json() == {
        "file": "conf/asgihost.toml",
        "line": 3,
        "column": 7,
        "key": "apps.a.lifespan",
        "message": "bad",
    }
    assert Problem("", "no such file", "asgihost.toml").to_json() == {
        "file": "asgihost.toml",
        "line": None,
        "column": None,
        "key": "",
        "message": "no such file",
    }
    assert Problem("apps.main.lifespan", "bad", "--lifespan").to_json()["file"] is None
    assert str(Problem("apps.main.lifespan", "bad", "--lifespan")) == "--lifespan: bad"
