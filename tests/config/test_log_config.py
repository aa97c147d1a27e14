"""Reading a --log-config file, and how it combines with asgihost's own logging settings."""

from __future__ import annotations

import configparser
import json
import logging
import sys

import pytest

from asgihost.logs import LogConfigError, configure_logging, read_log_config, reopen_log_files

CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"asgihost.error": {"level": "WARNING"}},
}


@pytest.fixture(autouse=True)
def _restore_loggers():
    yield
    configure_logging()


def test_json_toml_and_yaml_hold_a_dict_config(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(CONFIG))
    (tmp_path / "a.toml").write_text(
        'version = 1\ndisable_existing_loggers = false\n[loggers."asgihost.error"]\nlevel = "WARNING"\n'
    )
    (tmp_path / "a.yaml").write_text(
        "version: 1\ndisable_existing_loggers: false\nloggers:\n  asgihost.error: {level: WARNING}\n"
    )
    for name in ("a.json", "a.toml", "a.yaml"):
        assert read_log_config(tmp_path / name) == CONFIG, name
    (tmp_path / "logging.ini").write_text("[loggers]\nkeys=root\n")
    parser = read_log_config(tmp_path / "logging.ini")  # fileConfig's: INI, for any other name
    assert isinstance(parser, configparser.ConfigParser) and parser.get("loggers", "keys") == "root"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.json", '{"version": 1,', "does not parse"),
        ("bad.toml", "version = ", "does not parse"),
        ("bad.yaml", "version: [1", "does not parse"),
        ("list.json", "[1, 2]", "does not hold a logging dictConfig"),
        ("bad.ini", "keys=root\n", "does not parse"),
        ("missing.ini", None, "cannot read"),
    ],
)
def test_a_file_that_is_no_dict_config_is_refused(tmp_path, name, text, message):
    if text is not None:
        (tmp_path / name).write_text(text)
    with pytest.raises(LogConfigError, match=message):
        read_log_config(tmp_path / name)


def test_yaml_without_pyyaml_says_what_to_install(tmp_path, monkeypatch):
    (tmp_path / "a.yml").write_text("version: 1\n")
    monkeypatch.setitem(sys.modules, "yaml", None)  # makes "import yaml" fail
    with pytest.raises(LogConfigError, match="needs PyYAML"):
        read_log_config(tmp_path / "a.yml")


def test_the_files_levels_stand_unless_a_level_is_given(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(CONFIG))
    configure_logging("debug", "plain", log_config=path, level_given=False)
    assert logging.getLogger("asgihost.error").level == logging.WARNING
    configure_logging("debug", "plain", log_config=path, level_given=True)
    assert logging.getLogger("asgihost.error").level == logging.DEBUG


def test_an_ini_file_goes_to_file_config(tmp_path):
    path = tmp_path / "logging.ini"
    out = tmp_path / "out.log"
    path.write_text(
        "[loggers]\nkeys=root,access\n[handlers]\nkeys=file\n[formatters]\nkeys=bare\n"
        "[logger_root]\nhandlers=\n"
        "[logger_access]\nqualname=asgihost.access\nhandlers=file\npropagate=0\n"
        f"[handler_file]\nclass=FileHandler\nargs=({str(out)!r},)\nformatter=bare\n"
        "[formatter_bare]\nformat=%(message)s\n"
    )
    configure_logging("info", "plain", log_config=path)
    logging.getLogger("asgihost.access").info("one line")
    out.rename(tmp_path / "old.log")
    reopen_log_files()
    logging.getLogger("asgihost.access").info("two")
    for handler in logging.getLogger("asgihost.access").handlers:
        handler.flush()
    assert (tmp_path / "old.log").read_text() == "one line\n"
    assert out.read_text() == "two\n"
    for handler in logging.getLogger("asgihost.access").handlers:
        handler.close()
    logging.getLogger("asgihost.access").handlers.clear()


def test_an_unusable_config_raises(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"version": 1, "handlers": {"h": {"class": "no.such.Handler"}}}))
    with pytest.raises(LogConfigError, match="cannot be applied"):
        configure_logging(log_config=path)
