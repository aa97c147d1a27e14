"""A logging config written for Uvicorn: its logger names and formatter classes made asgihost's
(logs/compat.py), the formatters' fields (logs/formatters.py), and the forms ``log_config``
takes in ``Config`` (a dict, a path, a RawConfigParser, an open file, a TOML table), including
through the recipe a worker or a reloaded child makes its config again from."""

from __future__ import annotations

import configparser
import copy
import io
import logging
import pickle
import sys
from collections.abc import Iterator

import pytest
from conftest import UVICORN_STYLE_LOGGERS, logging_restored

from asgihost import Config
from asgihost.config import ConfigError, load_config
from asgihost.logs import configure_logging
from asgihost.logs.access import AccessLog
from asgihost.logs.compat import translate_dict, translate_parser
from asgihost.logs.formatters import AccessFormatter, DefaultFormatter
from asgihost.settings import config_from_recipe

UVICORN_STYLE = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(message)s"},
        "access": {
            "()": "uvicorn.logging.AccessFormatter",
            "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
        },
    },
    "handlers": {
        "default": {"formatter": "default", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
        "access": {"formatter": "access", "class": "logging.StreamHandler", "stream": "ext://sys.stdout"},
    },
    "loggers": {
        "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": ["access"], "level": "WARNING", "propagate": False},
    },
}

INI = """\
[loggers]
keys=root,access
[handlers]
keys=out
[formatters]
keys=access
[logger_root]
handlers=
[logger_access]
qualname=uvicorn.access
handlers=out
level=WARNING
propagate=0
[handler_out]
class=StreamHandler
formatter=access
args=(sys.stdout,)
[formatter_access]
class=uvicorn.logging.AccessFormatter
format=%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s
"""


@pytest.fixture(autouse=True)
def _loggers_restored() -> Iterator[None]:
    with logging_restored(UVICORN_STYLE_LOGGERS):
        yield
    configure_logging()


def record(name="asgihost.error", level=logging.INFO, msg="hello %s", args=("you",)) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def access_record(protocol="HTTP/1.1", template=None) -> logging.LogRecord:
    """The record asgihost's access log makes, caught on its way out."""
    caught: list[logging.LogRecord] = []
    logger = logging.getLogger("test.access.capture")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.handlers = [type("Catch", (logging.Handler,), {"emit": lambda self, r: caught.append(r)})()]
    log = AccessLog(logger) if template is None else AccessLog(logger, template)
    log.log(("127.0.0.1", 5555), "GET", b"/a?b=1", [], 404, 0, 0.0, "main", "web", protocol)
    return caught[0]


# ---- names and formatter classes ----------------------------------------------------------------


def test_uvicorn_loggers_configure_asgihosts_the_same_way_and_stay_configured():
    config, names = translate_dict(UVICORN_STYLE)
    loggers = config["loggers"]
    for name in ("", ".error", ".access"):
        assert (
            loggers["asgihost" + name]
            == loggers["uvicorn" + name]
            == UVICORN_STYLE["loggers"]["uvicorn" + name]
        )
    assert {"asgihost", "asgihost.error", "asgihost.access"} <= names and "" not in names
    assert "asgihost" not in UVICORN_STYLE["loggers"]  # the config given is not changed


def test_an_incremental_config_changes_levels_and_leaves_asgihosts_handlers():
    configure_logging(
        log_config={"version": 1, "incremental": True, "loggers": {"uvicorn.error": {"level": "ERROR"}}}
    )
    error = logging.getLogger("asgihost.error")
    assert [h for h in error.handlers if getattr(h, "_asgihost", False)] and not error.propagate
    assert error.level == logging.INFO  # level_given (the default): asgihost's level wins
    configure_logging(
        log_config={"version": 1, "incremental": True, "loggers": {"uvicorn.error": {"level": "ERROR"}}},
        level_given=False,
    )
    assert error.level == logging.ERROR


def test_a_config_naming_an_asgihost_logger_itself_is_not_overridden():
    given = {
        "version": 1,
        "loggers": {"uvicorn.access": {"level": "ERROR"}, "asgihost.access": {"level": "DEBUG"}},
    }
    config, _ = translate_dict(given)
    assert config["loggers"]["asgihost.access"] == {"level": "DEBUG"}


def test_uvicorns_formatter_classes_become_asgihosts_and_take_use_colors():
    config, _ = translate_dict(
        {
            "version": 1,
            "formatters": {
                "a": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(message)s"},
                "b": {"class": "uvicorn.logging.AccessFormatter"},
                "c": {"()": "asgihost.logs.formatters.DefaultFormatter"},
                "plain": {"format": "%(message)s"},
            },
        },
        use_colors=False,
    )
    formatters = config["formatters"]
    assert formatters["a"] == {
        "()": "asgihost.logs.formatters.DefaultFormatter",
        "fmt": "%(message)s",
        "use_colors": False,
    }
    assert formatters["b"] == {"class": "asgihost.logs.formatters.AccessFormatter", "use_colors": False}
    assert formatters["c"]["use_colors"] is False
    assert formatters["plain"] == {"format": "%(message)s"}  # not one of those: as written


def test_the_formatter_classes_work_without_uvicorn(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # makes "import uvicorn" fail
    monkeypatch.setitem(sys.modules, "uvicorn.logging", None)
    configure_logging(log_config=UVICORN_STYLE, level_given=False)
    formatter = logging.getLogger("asgihost").handlers[0].formatter
    assert isinstance(formatter, DefaultFormatter)
    logging.getLogger("asgihost.error").info("Started")
    assert capsys.readouterr().err == "INFO:     Started\n"


def test_the_loggers_get_the_configs_levels_handlers_and_propagation():
    configure_logging("debug", log_config=UVICORN_STYLE, level_given=False)
    server, error, access = (logging.getLogger(n) for n in ("asgihost", "asgihost.error", "asgihost.access"))
    uvicorn = logging.getLogger("uvicorn")
    assert server.handlers == uvicorn.handlers and server.level == logging.INFO and not server.propagate
    assert error.handlers == [] and error.propagate and error.level == logging.INFO  # the config's, not debug
    assert access.handlers == logging.getLogger("uvicorn.access").handlers and not access.propagate
    assert access.level == logging.WARNING
    configure_logging("debug", log_config=UVICORN_STYLE, level_given=True)  # --log-level: asgihost's
    assert error.level == access.level == logging.DEBUG


def test_a_logger_the_config_gives_no_level_keeps_asgihosts():
    """Unlike Uvicorn's (left at NOTSET, so at the root's WARNING): access lines are not lost."""
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {"uvicorn.access": {"propagate": False}},
    }
    configure_logging("info", log_config=config, level_given=False)
    assert logging.getLogger("asgihost.access").isEnabledFor(logging.INFO)


def test_a_root_with_handlers_takes_asgihosts_loggers_too(capsys):
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        configure_logging(
            log_config={
                "version": 1,
                "disable_existing_loggers": False,
                "formatters": {"f": {"format": "root: %(name)s %(message)s"}},
                "handlers": {
                    "h": {"class": "logging.StreamHandler", "formatter": "f", "stream": "ext://sys.stdout"}
                },
                "root": {"handlers": ["h"], "level": "INFO"},
            },
            level_given=False,
        )
        logging.getLogger("asgihost.error").info("Started")
        assert capsys.readouterr().out == "root: asgihost.error Started\n"
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_a_file_config_by_qualname():
    parser = configparser.ConfigParser()
    parser.read_string(INI)
    translated, names = translate_parser(parser)
    assert "asgihost.access" in names and "" not in names
    keys = translated.get("loggers", "keys").split(",")
    mirrored = [
        k for k in keys if translated.get(f"logger_{k}", "qualname", fallback="") == "asgihost.access"
    ]
    assert len(mirrored) == 1 and translated.get(f"logger_{mirrored[0]}", "level") == "WARNING"
    assert translated.get("formatter_access", "class") == "asgihost.logs.formatters.AccessFormatter"
    assert parser.get("loggers", "keys") == "root,access"  # the parser given is not changed


# ---- the formatters' fields -----------------------------------------------------------------------


def test_levelprefix_as_uvicorn_writes_it():
    formatter = DefaultFormatter("%(levelprefix)s %(message)s", use_colors=False)
    assert formatter.format(record()) == "INFO:     hello you"
    assert formatter.format(record(level=logging.WARNING)) == "WARNING:  hello you"
    coloured = DefaultFormatter("%(levelprefix)s %(message)s", use_colors=True).format(record())
    assert coloured == "\x1b[32mINFO\x1b[0m:     hello you"


def test_control_characters_of_a_message_are_escaped_not_the_colours():
    formatter = DefaultFormatter("%(levelprefix)s %(message)s", use_colors=True)
    line = formatter.format(record(args=("\x1b[2J",)))
    assert line == "\x1b[32mINFO\x1b[0m:     hello \\x1b[2J"


@pytest.mark.parametrize(
    ("protocol", "request_line"), [("HTTP/1.1", "GET /a?b=1 HTTP/1.1"), ("HTTP/2", "GET /a?b=1 HTTP/2")]
)
def test_access_fields_of_asgihosts_records(protocol, request_line):
    formatter = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False)
    assert formatter.format(access_record(protocol)) == f'127.0.0.1:5555 - "{request_line}" 404 Not Found'
    ws = formatter.format(access_record("WebSocket"))
    assert ws == '127.0.0.1:5555 - "WebSocket /a?b=1" 404 Not Found'


def test_access_fields_with_a_format_of_asgihosts_own():
    formatter = AccessFormatter(
        '%(client_addr)s "%(request_line)s" %(status_code)s %(message)s', use_colors=False
    )
    line = formatter.format(access_record(template="{app} {status}"))
    assert line == '127.0.0.1:5555 "GET /a?b=1 HTTP/1.1" 404 Not Found main 404'


def test_access_fields_of_a_record_logged_as_uvicorn_logs_it():
    formatter = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=True)
    line = formatter.format(
        record("uvicorn.access", msg='%s - "%s %s HTTP/%s" %d', args=("1.2.3.4:5", "GET", "/", "1.1", 200))
    )
    assert line == '1.2.3.4:5 - "\x1b[1mGET / HTTP/1.1\x1b[0m" \x1b[32m200 OK\x1b[0m'


def test_asgihosts_access_record_is_uvicorns():
    """Its message and args are Uvicorn's, so a formatter written for Uvicorn's records (its own
    AccessFormatter, a subclass) reads them."""
    caught = access_record()
    assert caught.getMessage() == '127.0.0.1:5555 - "GET /a?b=1 HTTP/1.1" 404'
    assert caught.args == ("127.0.0.1:5555", "GET", "/a?b=1", "1.1", 404)
    uvicorn_logging = pytest.importorskip("uvicorn.logging")
    formatter = uvicorn_logging.AccessFormatter(
        '%(client_addr)s "%(request_line)s" %(status_code)s', use_colors=False
    )
    assert formatter.format(caught) == '127.0.0.1:5555 "GET /a?b=1 HTTP/1.1" 404 Not Found'


# ---- the forms of log_config --------------------------------------------------------------------


def test_config_takes_a_dict_a_path_a_parser_and_an_open_file(tmp_path):
    assert Config("m:app", log_config=UVICORN_STYLE).log_config == UVICORN_STYLE
    before = copy.deepcopy(UVICORN_STYLE)
    configure_logging(log_config=UVICORN_STYLE)
    assert UVICORN_STYLE == before  # applied, not changed: it can be applied again
    path = tmp_path / "logging.ini"
    path.write_text(INI)
    assert Config("m:app", log_config=path).log_config == path  # a path-like: its string
    assert Config("m:app", log_config=str(path)).log_config == path
    parser = configparser.RawConfigParser()
    parser.read_string(INI)
    assert Config("m:app", log_config=parser).log_config is parser
    with path.open() as file:
        from_file = Config("m:app", log_config=file).log_config
    assert (
        isinstance(from_file, configparser.RawConfigParser)
        and from_file.get("logger_access", "level") == "WARNING"
    )


def test_an_open_file_that_does_not_parse_is_a_config_error():
    with pytest.raises(ConfigError, match="log_config=: does not parse"):
        Config("m:app", log_config=io.StringIO("keys=root\n"))


def test_a_dict_without_version_1_is_refused():
    with pytest.raises(ConfigError, match="version = 1"):
        Config("m:app", log_config={"loggers": {}})


@pytest.mark.parametrize("form", ["dict", "parser", "file"])
def test_the_recipe_of_a_child_process_carries_the_config(form):
    """A worker or a reloaded child makes its config again from the pickled keyword options."""
    parser = configparser.ConfigParser()
    parser.read_string(INI)
    log_config = {"dict": UVICORN_STYLE, "parser": parser, "file": io.StringIO(INI)}[form]
    config = Config("m:app", workers=2, log_config=log_config)
    child = config_from_recipe(pickle.loads(pickle.dumps(("kwargs", "m:app", config.options))), child=True)
    assert child.host_config.server.workers == 1
    if form == "dict":
        assert child.log_config == UVICORN_STYLE
    else:
        assert isinstance(child.log_config, configparser.RawConfigParser)
        assert child.log_config.get("logger_access", "qualname") == "uvicorn.access"


def test_a_toml_table_is_the_dict_config(tmp_path):
    path = tmp_path / "asgihost.toml"
    path.write_text(
        '[apps.main]\napp = "m:app"\n'
        '[logging.log_config]\nversion = 1\n[logging.log_config.loggers."uvicorn.error"]\nlevel = "WARNING"\n'
    )
    config = Config.from_host_config(load_config(path), tmp_path)
    assert config.log_config == {"version": 1, "loggers": {"uvicorn.error": {"level": "WARNING"}}}
    assert config.log_config_path is None
    path.write_text('[apps.main]\napp = "m:app"\n[logging.log_config]\nversion = 2\n')
    with pytest.raises(ConfigError, match=r"asgihost.toml:3:.*version = 1"):
        load_config(path)


def test_log_config_none_leaves_logging_to_the_caller(capsys):
    """Uvicorn's ``log_config=None``: the caller has set logging up; the server's loggers only
    propagate to it (at the level asked for, info by default), in a child process too."""
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("mine: %(name)s %(message)s"))
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    try:
        config = Config("m:app", log_config=None)
        child = config_from_recipe(
            pickle.loads(pickle.dumps(("kwargs", "m:app", config.options))), child=True
        )
        assert child.own_logging is False and Config("m:app").own_logging is True
        assert child.configure_logging()
        error = logging.getLogger("asgihost.error")
        assert not [h for h in error.handlers if getattr(h, "_asgihost", False)]
        assert error.propagate and error.level == logging.INFO
        error.info("Started")
        assert capsys.readouterr().out == "mine: asgihost.error Started\n"
        assert Config("m:app", log_config=None, log_level="debug").configure_logging()
        assert error.level == logging.DEBUG
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
