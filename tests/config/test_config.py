"""The model, the Uvicorn option table and error messages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from asgihost.cli import build_parser
from asgihost.config import Bind, ConfigError, HostConfig, from_options
from asgihost.config.flags import OPTIONS, default_of
from asgihost.config.types import parse_bind
from asgihost.settings import OWN_LOGGING


def test_defaults_match_uvicorn():
    config = from_options("m:app", {})
    listener = config.listeners["default"]
    assert str(listener.bind) == "127.0.0.1:8000"
    assert listener.backlog == 2048
    assert config.limits.keep_alive_timeout == 5
    assert config.limits.concurrency is None
    assert config.logging.level == "info" and config.logging.access_log is True
    assert config.apps["main"].lifespan == "auto"
    assert config.apps["main"].interface == "auto"
    assert config.server.server_header and config.server.date_header
    assert config.server.graceful_timeout == 30


@pytest.mark.parametrize(
    ("options", "bind"),
    [
        ({"port": 9000}, "127.0.0.1:9000"),
        ({"host": "0.0.0.0"}, "0.0.0.0:8000"),
        ({"host": "::1", "port": 1}, "[::1]:1"),
        ({"host": "[::]"}, "[::]:8000"),
        ({"uds": "/tmp/x.sock", "port": 5}, "unix:/tmp/x.sock"),
        ({"fd": 3, "host": "1.2.3.4"}, "fd://3"),
    ],
)
def test_host_port_uds_fd_compose_one_bind(options, bind):
    assert str(from_options("m:app", options).listeners["default"].bind) == bind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.0.0.0:80", Bind("tcp", host="0.0.0.0", port=80)),
        ("[::]:8000", Bind("tcp", host="::", port=8000)),
        ("localhost:0", Bind("tcp", host="localhost", port=0)),
        ("unix:/run/a.sock", Bind("unix", path="/run/a.sock")),
        ("fd://3", Bind("fd", fd=3)),
    ],
)
def test_bind_forms(text, expected):
    assert parse_bind(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize("text", ["nohost", "::1:80", "[::1:80", "h:99999", "unix:", "fd://x", "h:"])
def test_bad_binds_are_refused(text):
    with pytest.raises(ValueError):
        parse_bind(text)


def test_durations_and_modes_take_units():
    config = from_options("m:app", {"timeout_keep_alive": "500ms", "timeout_graceful_shutdown": "2m"})
    assert config.limits.keep_alive_timeout == 0.5
    assert config.server.graceful_timeout == 120
    config = from_options("m:app", {"uds": "/tmp/s", "uds_mode": "0o600"})
    assert config.listeners["default"].mode == 0o600


def test_headers_from_tuples_and_strings():
    config = from_options("m:app", {"headers": [("X-A", "1"), "X-B:  two "]})
    assert config.server.header_pairs() == [("X-A", "1"), ("X-B", "two")]


def test_log_level_as_number():
    assert from_options("m:app", {"log_level": 10}).logging.level == "debug"


@pytest.mark.parametrize(
    ("options", "source", "where"),
    [
        ({"lifespan": "sometimes"}, "flags", "--lifespan"),
        ({"lifespan": "sometimes"}, "kwargs", "lifespan="),
        ({"timeout_keep_alive": "soon"}, "flags", "--timeout-keep-alive"),
        ({"limit_concurrency": 0}, "kwargs", "limit_concurrency="),
        ({"headers": ["no colon"]}, "flags", "--header"),
        ({"port": 70000}, "flags", "--port"),
    ],
)
def test_errors_name_the_option_as_the_user_wrote_it(options, source, where):
    with pytest.raises(ConfigError) as info:
        from_options("m:app", options, source)
    assert where in str(info.value)


def test_mode_on_a_tcp_listener_is_an_error():
    with pytest.raises(ConfigError, match="Unix socket"):
        from_options("m:app", {"uds_mode": "600"})


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="ws_max_queues"):
        from_options("m:app", {"ws_max_queues": 32})


def test_unknown_keys_are_rejected_everywhere():
    with pytest.raises(ValidationError, match="Extra"):
        HostConfig.model_validate({"apps": {"a": {"app": "m:a", "mount": "/x", "bogus": 1}}})
    with pytest.raises(ValidationError):
        HostConfig.model_validate({"apps": {"a": {"app": "m:a"}}, "serverr": {}})


def test_model_is_frozen():
    config = from_options("m:app", {})
    with pytest.raises(ValidationError):
        config.server.loop = "asyncio"  # type: ignore[misc]


def test_every_option_has_a_flag_and_a_model_default():
    parser = build_parser()
    run = parser._subparsers._group_actions[0].choices["run"]  # type: ignore[union-attr]
    flags = {s for action in run._actions for s in action.option_strings}
    for option in OPTIONS:
        assert option.flag in flags
        default_of(option)  # reads the model without error


def test_cli_flags_parse_to_the_same_config_as_keywords():
    parser = build_parser()
    args = vars(
        parser.parse_args(
            [
                "run",
                "m:app",
                "--port",
                "9",
                "--no-access-log",
                "--header",
                "x-a:1",
                "--factory",
                "--lifespan",
                "on",
            ]
        )
    )
    options = {k: v for k, v in args.items() if v is not None and k not in ("command", "target")}
    from_flags = from_options("m:app", options, "flags")
    from_kwargs = from_options(
        "m:app",
        {"port": 9, "access_log": False, "headers": [("x-a", "1")], "factory": True, "lifespan": "on"},
    )
    assert from_flags == from_kwargs


def test_ssl_options_map_onto_the_listeners_tls_table():
    config = from_options(
        "m:a", {"ssl_certfile": "c.pem", "ssl_keyfile": "k.pem", "ssl_cert_reqs": 2, "ssl_ca_certs": "ca.pem"}
    )
    tls = config.listeners["default"].tls
    assert tls is not None
    assert (tls.certfile, tls.keyfile, tls.client_auth, tls.ca_certs) == (
        "c.pem",
        "k.pem",
        "required",
        "ca.pem",
    )
    assert tls.ciphers is None  # Uvicorn's default: the ssl module's list
    # Uvicorn's rule: without a certificate or key, the other ssl options change nothing
    assert from_options("m:a", {"ssl_ciphers": "TLSv1", "ssl_cert_reqs": 0}).listeners["default"].tls is None


def test_ssl_problems_name_the_flag():
    with pytest.raises(ConfigError) as info:
        from_options("m:a", {"ssl_keyfile": "k.pem"}, source="flags")
    assert [p.where for p in info.value.problems] == ["--ssl-certfile"]
    with pytest.raises(ConfigError) as info:
        from_options("m:a", {"ssl_certfile": "c.pem", "ssl_cert_reqs": 7}, source="flags")
    assert "--ssl-cert-reqs" in str(info.value)


def test_ssl_flags_beside_a_file_adjust_its_tls(tmp_path):
    from asgihost.config import load_config
    from asgihost.config.flags import file_overrides

    path = tmp_path / "asgihost.toml"
    path.write_text('[listeners.web]\ntls = { certfile = "c.pem" }\n[apps.a]\napp = "m:a"\n')
    overrides, ambiguous = file_overrides({"ssl_keyfile_password": "pw"}, load_config(path))
    assert not ambiguous
    tls = load_config(path, overrides).listeners["web"].tls
    assert tls is not None and (tls.certfile, tls.password) == ("c.pem", "pw")


# Where our default differs from Uvicorn's on purpose, and why (see CHANGELOG and README).
DELIBERATE = {
    "--timeout-graceful-shutdown": 30.0,  # Uvicorn waits forever; a bounded drain is the safer default
    "--log-level": "info",  # Uvicorn's None means "info" too
    "--app-dir": ".",  # Uvicorn's "" means the working directory too
    "--ssl-cert-reqs": "none",  # Uvicorn's 0 (ssl.CERT_NONE), as a word in the file
    "--ssl-version": "1.3",  # Uvicorn's 17 (PROTOCOL_TLS_SERVER), as the newest version served
    "--workers": 1,  # Uvicorn's None means $WEB_CONCURRENCY or 1, which is what the model computes
    "--forwarded-allow-ips": [
        "127.0.0.1",
        "::1",
    ],  # Uvicorn's None means $FORWARDED_ALLOW_IPS or 127.0.0.1,::1, as here
    "--h11-max-incomplete-event-size": 16384,  # Uvicorn's None means h11's default, 16 KiB
}


def test_every_shared_flag_has_uvicorns_name_and_default():
    import sys

    pytest.importorskip("uvicorn")
    command = sys.modules["uvicorn.main"].main
    ours = {option.flag: option for option in OPTIONS}
    shared = 0
    for param in command.params:
        flags = [flag for flag in param.opts + param.secondary_opts if flag.startswith("--")]
        option = ours.get(flags[0]) if flags else None
        if option is None:
            continue
        shared += 1
        expected = DELIBERATE.get(option.flag, param.default)
        if param.multiple:  # click's "not given" for a repeatable flag
            expected = []
        assert default_of(option) == expected, option.flag
    ours_only = {  # flags Uvicorn does not have
        "--uds-mode",
        "--pid",
        "--limit-request-line",
        "--limit-request-fields",
        "--limit-request-field-size",
        "--limit-body-size",
        "--timeout-request-head",
        "--timeout-request-body",
    }
    assert shared == len(OPTIONS) - len(ours_only)
    assert all(flag in ours for flag in ours_only)


# Keywords whose default differs from Uvicorn's; Uvicorn's default, passed, is taken as well.
KEYWORD_DIFFERENCES = {
    "log_level": "info",  # Uvicorn's None is info too
    "workers": 1,  # $WEB_CONCURRENCY or 1, computed by the model, where Uvicorn's None does the same
    "reload_dirs": [],  # Uvicorn's None: the working directory, as [] here
    "reload_includes": [],
    "reload_excludes": [],
    "headers": [],
    "forwarded_allow_ips": ["127.0.0.1", "::1"],  # Uvicorn's None: $FORWARDED_ALLOW_IPS or these
    "timeout_graceful_shutdown": 30.0,  # Uvicorn waits for ever: see DELIBERATE
    "app_dir": ".",  # run()'s "" is the working directory too
    "log_config": OWN_LOGGING,  # Uvicorn's LOGGING_CONFIG configures asgihost's logs the same way
    "h11_max_incomplete_event_size": 16384,  # Uvicorn's None: h11's default, 16 KiB
}


@pytest.mark.parametrize("name", ["Config", "run"])
def test_config_and_run_take_every_uvicorn_keyword_with_its_default(name):
    import inspect

    import asgihost

    uvicorn = pytest.importorskip("uvicorn")
    ours = inspect.signature(getattr(asgihost, name)).parameters
    theirs = inspect.signature(getattr(uvicorn, name)).parameters
    missing = [keyword for keyword in theirs if keyword not in ours]
    assert missing == []
    for keyword, param in theirs.items():
        if keyword == "app":
            continue
        assert ours[keyword].default == KEYWORD_DIFFERENCES.get(keyword, param.default), keyword
    given = {
        keyword: param.default for keyword, param in theirs.items() if keyword not in ("app", "log_config")
    }
    config = asgihost.Config("m:app", **given)  # Uvicorn's defaults, written out, are taken
    assert config.host_config == asgihost.Config("m:app").host_config
    with_logging = asgihost.Config("m:app", **given, log_config=theirs["log_config"].default)
    assert with_logging.log_config == uvicorn.config.LOGGING_CONFIG
