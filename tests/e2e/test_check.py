"""``asgihost check``, ``init`` and ``run FILE`` from the command line: a corpus of broken files,
every example, the JSON output, flag overrides beside a file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, free_port, run_command

CORPUS = Path(__file__).parent.parent / "check_corpus"
BROKEN = sorted(CORPUS.glob("*.toml"))
EXAMPLES = sorted((ROOT / "examples" / "sites").glob("*/asgihost.toml"))
EXPECT_RE = re.compile(r"^# expect: (?P<key>.+) @ (?P<line>\d+)$", re.MULTILINE)


def asgihost(
    *args: str, cwd: Path = CORPUS, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ASGIHOST_")}
    full_env.update(env or {}, COLUMNS="200")
    if args[0] in ("check", "init") and "--import" not in args:  # nothing served or imported
        return run_command(*args, cwd=cwd, env=full_env)
    return subprocess.run(
        [sys.executable, "-m", "asgihost", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=cwd,
        env=full_env,
    )


def expected(path: Path) -> set[tuple[str, int]]:
    found = {(m["key"], int(m["line"])) for m in EXPECT_RE.finditer(path.read_text())}
    assert found, f"{path.name} says what it expects in '# expect: KEY @ LINE' comments"
    return found


def test_the_corpus_is_big_enough():
    assert len(BROKEN) >= 15


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_check_names_file_line_and_key_of_every_problem(path):
    result = asgihost("check", path.name)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{path.name}: {len(expected(path))} problem")
    for key, line in expected(path):
        assert any(f"{path.name}:{line}:" in text and f" {key}: " in text for text in lines[1:]), (
            key,
            line,
            lines,
        )


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_check_json_lists_the_same_problems(path):
    result = asgihost("check", "--format", "json", path.name)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["file"] == path.name
    assert {(p["key"], p["line"]) for p in report["problems"]} == expected(path)
    for problem in report["problems"]:
        assert problem["file"] == path.name and problem["column"] >= 1 and problem["message"]


def test_a_typo_gets_the_nearest_key():
    result = asgihost("check", "05-typo-key.toml")
    assert 'unknown key "mout" (did you mean "mount"?)' in result.stderr


def test_check_reports_every_problem_at_once(tmp_path):
    path = tmp_path / "asgihost.toml"
    path.write_text('[apps.a]\napp = "m:a"\nlifespan = "no"\n\n[apps.b]\napp = "m:b"\nmonut = "/b"\n')
    report = json.loads(asgihost("check", "--format", "json", str(path)).stdout)
    assert [(p["key"], p["line"]) for p in report["problems"]] == [
        ("apps.a.lifespan", 3),
        ("apps.b.monut", 7),
    ]


def test_check_without_a_file_reads_asgihost_toml_here(tmp_path):
    assert asgihost("check", cwd=tmp_path).returncode == 1  # none here
    (tmp_path / "asgihost.toml").write_text('[apps.web]\napp = "main:app"\n')
    result = asgihost("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "asgihost.toml is valid" in result.stdout


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def test_every_example_checks_and_imports(path):
    result = asgihost("check", "--import", str(path), cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid (every app imported)" in result.stdout
    report = json.loads(asgihost("check", "--format", "json", str(path), cwd=ROOT).stdout)
    assert report["ok"] is True and report["routes"]


def test_examples_exist():
    assert {p.parent.name for p in EXAMPLES} >= {"hello", "multi-app", "unix-socket"}


def test_check_summary_shows_listeners_and_routes():
    result = asgihost("check", str(ROOT / "examples/sites/multi-app/asgihost.toml"), cwd=ROOT)
    report = json.loads(
        asgihost(
            "check", "--format", "json", str(ROOT / "examples/sites/multi-app/asgihost.toml"), cwd=ROOT
        ).stdout
    )
    for route in report["routes"]:
        assert route["app"] in result.stdout and route["mount"] in result.stdout
    for listener in report["listeners"]:
        assert listener["bind"] in result.stdout


def test_check_import_reports_an_app_that_does_not_import(tmp_path):
    (tmp_path / "broken.py").write_text("raise RuntimeError('no database')\n")
    (tmp_path / "asgihost.toml").write_text(
        '[apps.web]\napp = "broken:app"\n\n[apps.ok]\napp = "gone:app"\nmount = "/x"\n'
    )
    assert asgihost("check", cwd=tmp_path).returncode == 0  # valid without importing
    report = json.loads(asgihost("check", "--import", "--format", "json", cwd=tmp_path).stdout)
    problems = {p["key"]: p for p in report["problems"]}
    assert "RuntimeError: no database" in problems["apps.web.app"]["message"]
    assert problems["apps.web.app"]["line"] == 2
    assert "gone" in problems["apps.ok.app"]["message"] and problems["apps.ok.app"]["line"] == 5


def test_init_writes_a_file_that_checks(tmp_path):
    result = asgihost("init", "--app", "main:app", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (tmp_path / "main.py").write_text("async def app(scope, receive, send): ...\n")
    assert asgihost("check", "--import", cwd=tmp_path).returncode == 0
    again = asgihost("init", cwd=tmp_path)
    assert again.returncode == 1 and "exists" in again.stderr


ROOT_APP = """
async def app(scope, receive, send):
    if scope["type"] == "http":
        body = f"{scope['root_path']} {scope['path']}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
"""


def test_run_file_with_flag_overrides(serve, tmp_path):
    port = free_port()
    path = tmp_path / "asgihost.toml"
    (tmp_path / "rootapp.py").write_text(ROOT_APP)
    path.write_text(
        '[listeners.web]\nbind = "127.0.0.1:1"\n\n[apps.web]\napp = "rootapp:app"\nroot_path = "/x"\n'
    )
    server = serve(str(path), "--port", str(port), "--root-path", "/y")
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            response = client.get("/page")  # a proxy stripped the /y
        assert response.status_code == 200
        assert response.text == "/y /y/page"  # the flag, not the file's "/x"
    finally:
        assert server.stop() == 0


def test_flags_beside_a_file_with_several_listeners_are_refused(tmp_path):
    path = tmp_path / "asgihost.toml"
    path.write_text(
        '[listeners.a]\nbind = "127.0.0.1:8001"\n[listeners.b]\nbind = "127.0.0.1:8002"\n\n'
        '[apps.web]\napp = "basic:app"\n'
    )
    result = asgihost("run", str(path), "--port", "9000", cwd=tmp_path)
    assert result.returncode == 2
    assert "--port" in result.stderr and "listeners" in result.stderr


def test_run_refuses_a_broken_file_with_its_problems(tmp_path):
    result = asgihost("run", "05-typo-key.toml")
    assert result.returncode != 0
    assert "05-typo-key.toml:4:1" in result.stderr and "apps.api.mout" in result.stderr
