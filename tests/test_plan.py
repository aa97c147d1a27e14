"""Compiling a config into a plan, and the semantic checks `asgihost check` reports."""

from __future__ import annotations

import sys

import pytest

from asgihost.config import ConfigError, HostConfig
from asgihost.plan import check, compile_plan


def config(apps: dict, listeners: dict | None = None, **rest) -> HostConfig:
    data = {"apps": apps, **rest}
    if listeners is not None:
        data["listeners"] = listeners
    return HostConfig.model_validate(data)


def keys(problems) -> list[str]:
    return [p.key for p in problems]


def test_plan_resolves_paths_limits_and_root_paths(tmp_path):
    (tmp_path / "svc").mkdir()
    cfg = config(
        {
            "api": {
                "app": "svc_api:app",
                "mount": "/api",
                "app_dir": "svc",
                "limits": {"keep_alive_timeout": 1},
            },
            "site": {"app": "site:app", "root_path": "/proxy", "limits": {"concurrency": 5}},
        },
        {"web": {"bind": "127.0.0.1:8080"}, "local": {"bind": "unix:run.sock"}},
        limits={"keep_alive_timeout": 7},
    )
    plan = compile_plan(cfg, tmp_path)
    api, site = plan.apps
    assert api.app_dir == str(tmp_path / "svc")
    assert (api.root_path, api.path_prefix, api.keep_alive_timeout, api.concurrency) == ("/api", "", 1, None)
    assert (site.root_path, site.path_prefix, site.keep_alive_timeout, site.concurrency) == (
        "/proxy",
        "/proxy",
        7,
        5,
    )
    web, local = plan.listeners
    assert local.bind.path == str(tmp_path / "run.sock")
    assert web.routes.match(None, "/api/x") is api
    assert web.routes.match(None, "/x") is site


def test_apps_reach_only_their_listeners(tmp_path):
    cfg = config(
        {
            "admin": {"app": "admin:app", "listeners": ["internal"]},
            "site": {"app": "site:app", "mount": "/s"},
        },
        {"public": {"bind": "127.0.0.1:8080"}, "internal": {"bind": "unix:/tmp/x.sock"}},
    )
    public, internal = compile_plan(cfg, tmp_path).listeners
    assert public.routes.match(None, "/") is None
    assert internal.routes.match(None, "/").name == "admin"


@pytest.mark.parametrize(
    ("apps", "listeners", "expected"),
    [
        ({"a": {"app": "a:app", "listeners": ["nope"]}}, None, ["apps.a.listeners.0"]),
        ({"a": {"app": "a:app", "listeners": []}}, None, ["apps.a.listeners"]),
        ({"a": {"app": "a:app", "app_dir": "missing"}}, None, ["apps.a.app_dir"]),
        (
            {"a": {"app": "a:app", "mount": "/x"}, "b": {"app": "b:app", "mount": "/x/"}},
            None,
            ["apps.b.mount"],
        ),
        (
            {"a": {"app": "a:app", "hosts": ["x.com"]}, "b": {"app": "b:app", "hosts": ["y.com", "X.com"]}},
            None,
            ["apps.b.mount"],
        ),
        (
            {
                "a": {"app": "main:app", "app_dir": "one"},
                "b": {"app": "main:other", "app_dir": "two", "mount": "/b"},
            },
            None,
            ["apps.b.app"],
        ),
        (
            {"a": {"app": "a:app"}},
            {"x": {"bind": "0.0.0.0:9000"}, "y": {"bind": "127.0.0.1:9000"}},
            ["listeners.y.bind"],
        ),
        ({"a": {"app": "a:app"}}, {"x": {"bind": "unix:/no/such/dir/s.sock"}}, ["listeners.x.bind"]),
    ],
)
def test_semantic_problems_name_their_key(tmp_path, apps, listeners, expected):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    cfg = config(apps, listeners)
    assert keys(check(cfg, tmp_path)) == expected
    with pytest.raises(ConfigError):
        compile_plan(cfg, tmp_path)


def test_same_mount_on_different_hosts_or_listeners_is_fine(tmp_path):
    cfg = config(
        {
            "a": {"app": "a:app", "hosts": ["a.com"]},
            "b": {"app": "b:app", "hosts": ["b.com"]},
            "c": {"app": "c:app", "listeners": ["one"]},
            "d": {"app": "d:app", "listeners": ["two"]},
        },
        {"one": {"bind": "127.0.0.1:1"}, "two": {"bind": "[::1]:1"}},
    )
    assert check(cfg, tmp_path) == []


@pytest.mark.parametrize(
    ("http", "core", "protocols"),
    [
        ("auto", "httptools", ("h2", "http/1.1")),
        ("httptools", "httptools", ("http/1.1",)),
        ("h11", "h11", ("http/1.1",)),
    ],
)
def test_the_plan_names_the_http1_core(tmp_path, http, core, protocols):
    plan = compile_plan(config({"main": {"app": "main:app"}}, server={"http": http}), tmp_path)
    [listener] = plan.listeners
    assert (listener.h1_core, listener.protocols, plan.server.warnings) == (core, protocols, ())
    assert listener.head.incomplete_event == 16384  # h11's own default, as Uvicorn's None means


@pytest.mark.parametrize("http", ["auto", "httptools"])
def test_without_httptools_the_plan_takes_h11_with_one_warning(tmp_path, monkeypatch, http):
    monkeypatch.setitem(sys.modules, "httptools", None)  # import httptools: ImportError
    plan = compile_plan(config({"main": {"app": "main:app"}}, server={"http": http}), tmp_path)
    assert [listener.h1_core for listener in plan.listeners] == ["h11"]
    [warning] = plan.server.warnings
    assert warning.startswith("httptools cannot be imported (") and warning.endswith(
        "; serving HTTP/1.1 with h11"
    )
    # HTTP/2 alone needs no HTTP/1.1 parser: nothing to say
    plan = compile_plan(config({"main": {"app": "main:app"}}, server={"http": "h2"}), tmp_path)
    assert plan.server.warnings == ()
