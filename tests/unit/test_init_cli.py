"""`goship init` through the real CLI on copies of the fixture projects; then the
native `goship build` (no Docker needed) on what it wrote."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from goship.config import load_config
from tests.conftest import assert_clean_failure, run_goship
from tests.projects import FIXTURES, copy_fixture

WRITTEN = ("goship.yaml", "Dockerfile", ".dockerignore", ".gitattributes")


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


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
    before = _snapshot(root)
    again = run_goship("init", "--yes", "-C", str(root))
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout and "wrote" not in again.stdout
    assert _snapshot(root) == before

    (root / "goship.yaml").write_text("service: mine\n")
    before = _snapshot(root)
    kept = run_goship("init", "--yes", "-C", str(root))
    assert kept.returncode == 0, kept.stderr
    assert "kept goship.yaml (exists; --force replaces it); check it with goship lint" in kept.stderr
    assert _snapshot(root) == before

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
    before = _snapshot(root)
    result = run_goship("init", "--yes", "--dry-run", "-C", str(root), cwd=root)
    assert result.returncode == 0, result.stderr
    assert _snapshot(root) == before
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


def test_new_service_vets_tests_and_builds(tmp_path):
    result = run_goship("init", "--new", "orders", "--module", "example.com/acme/orders", "-C", str(tmp_path))
    assert result.returncode == 0, result.stderr
    service = tmp_path / "orders"
    assert sorted(p.name for p in service.iterdir()) == sorted(
        [".dockerignore", ".gitattributes", "Dockerfile", "go.mod", "goship.yaml", "main.go", "main_test.go"]
    )
    go = str(Path(sys.executable).parent / "go")
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": ""}
    installed = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, env=env).stdout.strip()
    minor = ".".join(installed.removeprefix("go").split(".")[:2])
    assert f"\ngo {minor}\n" in (service / "go.mod").read_text()
    assert f"golang:{minor}-alpine" in (service / "Dockerfile").read_text()
    for command in (["vet", "./..."], ["test", "-count=1", "./..."]):
        proc = subprocess.run([go, *command], cwd=service, capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    gofmt = Path(sys.executable).parent.parent / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages" / "go" / "bin" / "gofmt"
    if gofmt.exists():
        assert subprocess.run([str(gofmt), "-l", "."], cwd=service, capture_output=True, text=True).stdout == ""
    config = load_config(service / "goship.yaml")
    assert (config.service, config.app.port, config.health.path) == ("orders", 8080, "/healthz")
    built = run_goship("build", "-C", str(service))
    assert built.returncode == 0, built.stderr

    before = _snapshot(service)
    again = run_goship("init", "--new", "orders", "--force", "-C", str(tmp_path))
    assert_clean_failure(again, "already exists and is not empty")
    assert again.returncode == 2 and _snapshot(service) == before


def test_new_service_dry_run_creates_nothing(tmp_path):
    result = run_goship("init", "--new", "billing", "--dry-run", "-C", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "+++ b/billing/main.go" in result.stdout and "+++ b/billing/Dockerfile" in result.stdout
    assert list(tmp_path.iterdir()) == []
