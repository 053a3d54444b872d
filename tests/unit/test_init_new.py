"""goship init --new: a new service's files (module, Go version, port and
health path flags), the scaffold vetted, tested and built, and what --new refuses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from goship.commands.init.init import InitOptions, plan_new
from goship.config import load_config
from goship.errors import ProjectError, ToolError
from tests.conftest import assert_clean_failure, run_goship
from tests.unit.helpers import planned, snapshot


def _go_env() -> dict[str, str]:
    return {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": ""}


def test_plan_new_service(tmp_path):
    plan = plan_new(tmp_path, "orders", "github.com/acme/orders", "1.23")
    names = sorted(p.path.relative_to(tmp_path / "orders").as_posix() for p in plan.files)
    assert names == [".dockerignore", ".gitattributes", "Dockerfile", "go.mod", "goship.yaml", "main.go", "main_test.go"]
    files = {p.path.name: p.content for p in plan.files}
    assert files["go.mod"] == "module github.com/acme/orders\n\ngo 1.23\n"
    assert "golang:1.23-alpine" in files["Dockerfile"]
    assert 'LABEL org.opencontainers.image.source="https://github.com/acme/orders"' in files["Dockerfile"]
    with pytest.raises(ProjectError, match="not a valid service name"):
        plan_new(tmp_path, "Bad Name!")


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

    before = snapshot(service)
    again = run_goship("init", "--new", "orders", "--force", "-C", str(tmp_path))
    assert_clean_failure(again, "already exists and is not empty")
    assert again.returncode == 2 and snapshot(service) == before


def test_new_service_dry_run_creates_nothing(tmp_path):
    result = run_goship("init", "--new", "billing", "--dry-run", "-C", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "+++ b/billing/main.go" in result.stdout and "+++ b/billing/Dockerfile" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_new_service_follows_port_and_health_path(tmp_path):
    result = run_goship("init", "--new", "svc2", "--health-path", "/health", "--port", "9000", "-C", str(tmp_path))
    assert result.returncode == 0, result.stderr
    service = tmp_path / "svc2"
    main = (service / "main.go").read_text()
    assert 'handle("GET /health", "/health"' in main and "/healthz" not in main
    assert 'port = "9000"' in main and "8080" not in main
    yaml_text = (service / "goship.yaml").read_text()
    assert "set by --port" in yaml_text and "set by --health-path" in yaml_text
    assert "handler found at" not in yaml_text
    config = load_config(service / "goship.yaml")
    assert (config.app.port, config.health.path) == (9000, "/health")
    go = str(Path(sys.executable).parent / "go")
    for command in (["vet", "./..."], ["test", "-count=1", "./..."]):
        proc = subprocess.run([go, *command], cwd=service, capture_output=True, text=True, env=_go_env(), timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    # Re-running init on the new service finds what it wrote.
    again = run_goship("init", "--yes", "-C", str(service))
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout + again.stderr
    assert "health check /health: handler found at main.go" in again.stderr
    assert "port 9000: found at main.go" in again.stderr


def test_new_service_health_path_the_scaffold_serves_anyway(tmp_path):
    plan = plan_new(tmp_path, "svc", go_version="1.23", options=InitOptions(health_path="/readyz"))
    main = next(p.content for p in plan.files if p.path.name == "main.go")
    assert main.count('handle("GET /readyz"') == 1 and 'handle("GET /healthz"' in main
    assert plan.answers.health_path == "/readyz"


def test_new_service_needs_go_1_22(tmp_path):
    plan = plan_new(tmp_path, "svc", go_version="1.22")
    assert next(p.content for p in plan.files if p.path.name == "go.mod").endswith("\ngo 1.22\n")
    with pytest.raises(ToolError, match=r"Go 1.21 is installed, but a new service needs Go 1.22 or later"):
        plan_new(tmp_path, "svc", go_version="1.21")
    missing = plan_new(tmp_path, "svc", go_version=None)
    assert "\ngo 1.22\n" in next(p.content for p in missing.files if p.path.name == "go.mod")


@pytest.mark.skipif(os.name == "nt", reason="a shell script stands in for go")
def test_new_service_with_an_old_go_on_path_fails_clearly(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "go").write_text("#!/bin/sh\necho go1.21.5\n")
    (fake / "go").chmod(0o755)
    path = os.pathsep.join([str(fake), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    result = run_goship("init", "--new", "old", "-C", str(tmp_path), env={"PATH": path})
    assert_clean_failure(result, "Go 1.21 is installed", "needs Go 1.22 or later")
    assert not (tmp_path / "old").exists()


def test_new_refuses_a_directory_that_is_not_empty(tmp_path):
    target = tmp_path / "p1"
    target.mkdir()
    (target / "go.mod").write_text("module example.com/p1\n\ngo 1.21\n")
    result = run_goship("init", "--new", "p1", "-C", str(tmp_path))
    assert_clean_failure(result, "already exists and is not empty", "goship init -C")
    assert result.returncode == 2
    assert [p.name for p in target.iterdir()] == ["go.mod"]
    assert (target / "go.mod").read_text() == "module example.com/p1\n\ngo 1.21\n"
    (tmp_path / "empty").mkdir()
    plan = plan_new(tmp_path, "empty", go_version="1.23")  # an empty directory is fine
    assert all(p.action == "create" for p in plan.files)


def test_plan_errors_are_project_errors(tmp_path):
    with pytest.raises(ProjectError, match="not a TCP port"):
        plan_new(tmp_path, "svc", go_version="1.23", options=InitOptions(port=65536))


@pytest.mark.parametrize("name", ["./deep/nested/svc", "deep/nested/svc"])
def test_new_module_defaults_to_last_component(tmp_path, name):
    plan = plan_new(tmp_path, name, None, "1.22")
    assert planned(plan, "go.mod").startswith("module svc\n")
    assert plan.root == (tmp_path / "deep/nested/svc").resolve()


def test_new_absolute_name(tmp_path):
    plan = plan_new(Path("/"), str(tmp_path / "abs-svc"), None, "1.22")
    assert planned(plan, "go.mod").startswith("module abs-svc\n")


def test_new_invalid_default_module_does_not_name_module_flag(tmp_path):
    # Such a NAME is refused as a service name before its default module path is checked
    # (no NAME that passes reaches plan_new's own default-module message).
    with pytest.raises(ProjectError, match=r"^--new svc~x!: ") as caught:  # the flag the user gave
        plan_new(tmp_path, "svc~x!", None, "1.22")
    assert "--module" not in caught.value.message
    with pytest.raises(ProjectError, match="--module /abs"):
        plan_new(tmp_path, "svc", "/abs", "1.22")


def test_new_with_main_is_refused(tmp_path):
    result = run_goship("init", "--new", "v", "--main", "cmd/x", "-C", str(tmp_path))
    assert_clean_failure(result, "--main does not apply to --new")
    assert result.returncode == 2 and not (tmp_path / "v").exists()
