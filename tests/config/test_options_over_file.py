"""Command-line options laid over an asgihost.toml go through one helper, load_with_options:
the file is read once, a listener or app option lands on its one listener or app, and a value
the options bring is reported as theirs."""

from __future__ import annotations

import pytest

import asgihost.config as config_module
from asgihost.api import config_from_recipe
from asgihost.config import ConfigError, load_with_options

SITE = """\
[listeners.web]
bind = "127.0.0.1:8100"

[apps.api]
app = "pkg.api:app"
"""


def write(tmp_path, text=SITE):
    path = tmp_path / "asgihost.toml"
    path.write_text(text)
    return path


def test_options_land_on_the_one_listener_and_app(tmp_path):
    config = load_with_options(write(tmp_path), {"host": "0.0.0.0", "lifespan": "off"}, environ={})
    assert str(config.listeners["web"].bind) == "0.0.0.0:8100"  # the port stays the file's
    assert config.apps["api"].lifespan == "off"
    assert load_with_options(write(tmp_path), {}, environ={}).apps["api"].lifespan == "auto"


def test_an_option_for_one_of_several_listeners_is_refused(tmp_path):
    path = write(tmp_path, SITE + '[listeners.admin]\nbind = "127.0.0.1:8101"\n')
    with pytest.raises(ConfigError) as caught:
        load_with_options(path, {"port": 9000}, environ={})
    assert [problem.where for problem in caught.value.problems] == [str(path)]
    assert "2 listeners (web, admin)" in caught.value.problems[0].message


def test_a_bad_option_value_is_not_placed_in_the_file(tmp_path):
    path = write(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_with_options(path, {"port": 70000}, environ={})
    [problem] = caught.value.problems
    assert (problem.key, problem.where) == ("listeners.web.bind", str(path))


def test_a_server_from_a_file_and_flags_reads_the_file_once(tmp_path, monkeypatch):
    reads = []
    read_toml = config_module.read_toml

    def counting(path):
        reads.append(path)
        return read_toml(path)

    monkeypatch.setattr(config_module, "read_toml", counting)
    config = config_from_recipe(("file", str(write(tmp_path)), {"port": 9001}))
    assert str(config.host_config.listeners["web"].bind) == "127.0.0.1:9001"
    assert len(reads) == 1
