"""`goship init` through the real CLI on copies of the fixture projects; then the
native `goship build` (no Docker needed) on what it wrote. Also: init in a
subdirectory of a module, --json, and the flags and inputs it refuses."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from goship.config import load_config
from tests.conftest import assert_clean_failure, run_goship
from tests.projects import FIXTURES, copy_fixture
from tests.unit.helpers import snapshot

WRITTEN = ("goship.yaml", "Dockerfile", ".dockerignore", ".gitattributes")


def _goship_with_stdin(*args: str, stdin: int | None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """run_goship, but with a chosen stdin (a closed one, or a terminal)."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "goship", *args], cwd=cwd, stdin=stdin, capture_output=True, text=True,
        env={**os.environ, "PATH": path, "GOTOOLCHAIN": "local"}, timeout=300,
    )


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_init_then_native_build(name, tmp_path, monkeypatch):
    monkeypatch.delenv("GOWORK", raising=False)
    fixture = FIXTURES[name]
    root = copy_fixture(name, tmp_path)
    result = run_goship("init", "--yes", "-C", str(root))
    assert result.returncode == 0, result.stderr
    for file in WRITTEN:
        ignore_dir = root.parent if (name == "workspace" and file == ".dockerignore") else root
        assert (ignore_dir / file).is_file(), f"{file} not written:\n{result.stdout}{result.stderr}"
        assert b"\r\n" not in (ignore_dir / file).read_bytes()
    config = load_config(root / "goship.yaml")
    assert config.app.port == fixture.port
    assert config.health.path == (fixture.health or "/")
    assert config.health.type == ("http" if fixture.health else "answers")
    if fixture.health is None:
        assert "warning: no health route found" in result.stderr
    if name == "cmd-api-worker":
        assert "chose cmd/api; use --main" in result.stderr

    built = run_goship("build", "-C", str(root))
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith(f"{fixture.service}:")


def test_second_init_is_a_no_op_and_keeps_edited_files(tmp_path):
    root = copy_fixture("root-single", tmp_path)
    assert run_goship("init", "--yes", "-C", str(root)).returncode == 0
    before = snapshot(root)
    again = run_goship("init", "--yes", "-C", str(root))
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout and "wrote" not in again.stdout
    assert snapshot(root) == before

    (root / "goship.yaml").write_text("service: mine\n")
    before = snapshot(root)
    kept = run_goship("init", "--yes", "-C", str(root))
    assert kept.returncode == 0, kept.stderr
    assert "kept goship.yaml (exists; --force replaces it); check it with goship lint" in kept.stderr
    assert snapshot(root) == before

    forced = run_goship("init", "--yes", "--force", "-C", str(root))
    assert forced.returncode == 0, forced.stderr
    assert "replaced" in forced.stdout
    assert load_config(root / "goship.yaml").service == "rootsingle"


def test_init_adopts_a_repo_with_its_own_dockerfile_and_gitattributes(tmp_path):
    root = copy_fixture("root-single", tmp_path)
    (root / "Dockerfile").write_text("FROM golang:1.22\n")
    (root / ".gitattributes").write_text("*.png binary\n*.sh text eol=lf\n")
    dry = run_goship("init", "--yes", "--dry-run", "-C", str(root), cwd=root)
    assert dry.returncode == 0, dry.stderr
    assert "--- a/.gitattributes\n+++ b/.gitattributes\n" in dry.stdout
    assert "+Dockerfile text eol=lf\n" in dry.stdout and "+*.sh text eol=lf" not in dry.stdout
    assert "b/Dockerfile" not in dry.stdout
    assert "kept Dockerfile (exists; --force replaces it); check it with goship lint" in dry.stderr

    result = run_goship("init", "--yes", "-C", str(root))
    assert result.returncode == 0, result.stderr
    assert "kept Dockerfile (exists; --force replaces it); check it with goship lint" in result.stderr
    assert (root / "Dockerfile").read_text() == "FROM golang:1.22\n"
    assert (root / "goship.yaml").is_file() and (root / ".dockerignore").is_file()
    attributes = (root / ".gitattributes").read_text()
    assert attributes.startswith("*.png binary\n*.sh text eol=lf\n")
    assert "Dockerfile text eol=lf" in attributes and attributes.count("*.sh text eol=lf") == 1

    again = run_goship("init", "--yes", "-C", str(root))
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout + again.stderr


def test_dry_run_writes_nothing_and_shows_a_diff(tmp_path):
    root = copy_fixture("embed", tmp_path)
    before = snapshot(root)
    result = run_goship("init", "--yes", "--dry-run", "-C", str(root), cwd=root)
    assert result.returncode == 0, result.stderr
    assert snapshot(root) == before
    for file in WRITTEN:
        assert f"--- /dev/null\n+++ b/{file}\n" in result.stdout
    assert "+EXPOSE 8081\n" in result.stdout

    assert run_goship("init", "--yes", "-C", str(root)).returncode == 0
    kept = run_goship("init", "--yes", "--dry-run", "--port", "9999", "-C", str(root), cwd=root)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout == "nothing would change\n"
    assert "kept goship.yaml (exists; --force replaces it)" in kept.stderr
    changed = run_goship("init", "--yes", "--force", "--dry-run", "--port", "9999", "-C", str(root), cwd=root)
    assert changed.returncode == 0, changed.stderr
    assert "--- a/Dockerfile\n+++ b/Dockerfile\n" in changed.stdout
    assert "-ENV PORT=8081\n-EXPOSE 8081\n+ENV PORT=9999\n+EXPOSE 9999\n" in changed.stdout
    assert "EXPOSE 8081" in (root / "Dockerfile").read_text()


def test_main_flag_picks_the_worker(tmp_path):
    root = copy_fixture("cmd-api-worker", tmp_path)
    result = run_goship("init", "--main", "cmd/worker", "--service", "worker", "-C", str(root))
    assert result.returncode == 0, result.stderr
    config = load_config(root / "goship.yaml")
    assert (config.service, config.build.main, config.app.port, config.health.path) == (
        "worker", "./cmd/worker", 9100, "/readyz",
    )
    assert "-o /out/worker ./cmd/worker\n" in (root / "Dockerfile").read_text()
    built = run_goship("build", "-C", str(root))
    assert built.returncode == 0, built.stderr and built.stdout.startswith("worker:")


def test_without_a_terminal_the_obvious_main_is_taken_and_said(tmp_path):
    root = copy_fixture("cmd-api-worker", tmp_path)
    result = _goship_with_stdin("init", "-C", str(root), stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert "several main packages (cmd/api, cmd/worker): chose cmd/api" in result.stderr


def test_without_a_terminal_and_no_obvious_main_asks_for_main(tmp_path):
    for name in ("tools/one", "tools/two"):
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / name / "main.go").write_text("package main\n\nfunc main() {}\n")
    (tmp_path / "go.mod").write_text("module example.com/tools\n\ngo 1.22\n")
    result = _goship_with_stdin("init", "-C", str(tmp_path), stdin=subprocess.DEVNULL)
    assert_clean_failure(result, "several main packages", "--main")
    assert not (tmp_path / "goship.yaml").exists()
    # --yes takes defaults, but there is none: never the first alphabetically.
    yes = run_goship("init", "--yes", "-C", str(tmp_path))
    assert_clean_failure(yes, "several main packages (tools/one, tools/two)", "--main")
    assert not (tmp_path / "goship.yaml").exists()


def test_on_a_terminal_init_asks_which_main(tmp_path):
    root = copy_fixture("cmd-api-worker", tmp_path)
    controller, terminal = pty.openpty()
    try:
        os.write(controller, b"2\n")
        result = _goship_with_stdin("init", "-C", str(root), stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 0, result.stderr
    assert "1) cmd/api  (default)" in result.stderr and "2) cmd/worker" in result.stderr
    assert load_config(root / "goship.yaml").build.main == "./cmd/worker"


def test_bad_go_mod_is_one_clear_line(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/x\n\ngo one.two\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {}\n")
    result = run_goship("init", "--yes", "-C", str(tmp_path))
    assert_clean_failure(result, "go.mod:3: invalid go version 'one.two'")
    assert not (tmp_path / "goship.yaml").exists()

    (tmp_path / "go.mod").write_text("go 1.22\n")
    assert_clean_failure(run_goship("init", "--yes", "-C", str(tmp_path)), "no 'module' line")


def test_not_a_go_module_is_one_clear_line(tmp_path):
    result = run_goship("init", "--yes", "-C", str(tmp_path))
    assert_clean_failure(result, "is not a Go module (no go.mod", "go mod init")
    assert list(tmp_path.iterdir()) == []
    missing = run_goship("init", "--yes", "-C", str(tmp_path / "nowhere"))
    assert_clean_failure(missing, "no such directory")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--port", "70000"], "--port 70000: not a TCP port"),
        (["--port", "0"], "--port 0: not a TCP port"),
        (["--health-path", "healthz"], "--health-path healthz: must start with '/'"),
        (["--health-path", "/health check"], "not a plain URL path"),
    ],
)
def test_bad_port_and_health_path_are_refused(tmp_path, flags, message):
    root = copy_fixture("root-single", tmp_path)
    result = run_goship("init", "--yes", *flags, "-C", str(root))
    assert_clean_failure(result, message)
    assert result.returncode == 2 and not (root / "goship.yaml").exists()
    new = run_goship("init", "--new", "svc", *flags, "-C", str(tmp_path))
    assert_clean_failure(new, message)
    assert new.returncode == 2 and not (tmp_path / "svc").exists()


def test_init_in_a_subdirectory_adopts_the_module(tmp_path):
    root = tmp_path / "p1"
    server = root / "cmd" / "server"
    server.mkdir(parents=True)
    (root / "go.mod").write_text("module example.com/p1\n\ngo 1.22\n")
    (server / "main.go").write_text(
        'package main\n\nimport "net/http"\n\nfunc main() {\n\thttp.HandleFunc("/healthz", nil)\n'
        '\thttp.ListenAndServe(":8085", nil)\n}\n'
    )
    (root / "cmd" / "tool").mkdir()
    (root / "cmd" / "tool" / "main.go").write_text("package main\n\nfunc main() {}\n")
    result = run_goship("init", "--yes", "-C", str(server))
    assert result.returncode == 0, result.stderr
    assert f"the module root is {root.resolve()}" in result.stderr
    assert not (server / "go.mod").exists() and not (server / "goship.yaml").exists()
    config = load_config(root / "goship.yaml")
    assert (config.build.main, config.app.port) == ("./cmd/server", 8085)


def test_json_reports_files_and_findings(tmp_path):
    root = copy_fixture("cmd-api-worker", tmp_path)
    (root / "Dockerfile").write_text("FROM golang:1.22\n")
    result = run_goship("init", "--json", "-C", str(root))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    actions = {f["path"]: (f["action"], f["written"]) for f in report["files"]}
    assert actions == {
        "goship.yaml": ("create", True), "Dockerfile": ("keep", False),
        ".dockerignore": ("create", True), ".gitattributes": ("create", True),
    }
    detected = report["detected"]
    assert detected["main"]["value"] == "cmd/api"
    assert detected["port"] == {"value": 9000, "source": "cmd/api/main.go:15 (listen address)"}
    assert detected["health"] == {"value": "/health", "source": "internal/httpapi/routes.go:12"}
    assert any("kept Dockerfile" in note for note in report["notes"])
    assert report["warnings"] == [] and report["dry_run"] is False

    dry = json.loads(run_goship("init", "--json", "--dry-run", "--force", "-C", str(root)).stdout)
    assert dry["dry_run"] is True and "+++ b/Dockerfile" in dry["diff"]
    assert all(not f["written"] for f in dry["files"])


def test_generator_files_are_not_candidates(tmp_path):
    (tmp_path / "gen").mkdir()
    (tmp_path / "go.mod").write_text("module example.com/svc\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text('package main\n\nimport "net/http"\n\nfunc main() { http.ListenAndServe(":8086", nil) }\n')
    (tmp_path / "gen" / "gen.go").write_text("//go:build ignore\n\npackage main\n\nfunc main() {}\n")
    result = run_goship("init", "--yes", "-C", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "several main packages" not in result.stderr
    assert load_config(tmp_path / "goship.yaml").build.main == "."


def test_init_json_failure_prints_a_json_document(tmp_path):
    result = run_goship("init", "--json", "-C", str(tmp_path))
    assert_clean_failure(result)
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert document["error"] and "hint" in document
