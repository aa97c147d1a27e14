"""Compiling a config into a plan, and the semantic checks `asgihost check` reports."""

from __future__ import annotations

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
