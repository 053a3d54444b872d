"""goship init through the CLI on the cases a review found wrong: --new with
--port/--health-path, an old Go, bad flag values, init in a subdirectory of a
module, --new over an existing directory, --json, generator files and
missed listen calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from goship.commands.init.init import InitOptions, plan_init, plan_new
from goship.config import load_config
from goship.errors import ProjectError, ToolError
from tests.conftest import assert_clean_failure, run_goship
from tests.projects import copy_fixture


def _go_env() -> dict[str, str]:
    return {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": ""}


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


def test_no_listen_port_found_is_a_warning(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/svc\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() { serve(config()) }\n")
    result = run_goship("init", "--yes", "-C", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "warning: no listen port found in ." in result.stderr and "check app.port" in result.stderr
    assert "NOT found in the code" in (tmp_path / "goship.yaml").read_text()
    plan = plan_init(tmp_path, InitOptions(yes=True, port=8087))
    assert not any("listen port" in w for w in plan.warnings) and plan.answers.port == 8087


def test_several_listeners_are_named_in_goship_yaml(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/svc\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text(
        'package main\n\nimport (\n\t"net/http"\n\n\t"github.com/prometheus/client_golang/prometheus/promhttp"\n)\n\n'
        'func main() {\n\tgo http.ListenAndServe(":9090", promhttp.Handler())\n\tmux := http.NewServeMux()\n'
        '\tmux.HandleFunc("/healthz", ok)\n\thttp.ListenAndServe(":8080", mux)\n}\n'
    )
    result = run_goship("init", "--yes", "-C", str(tmp_path))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "goship.yaml").read_text()
    assert "port: 8080" in text and "also listens on 9090 (main.go:10)" in text


def test_plan_errors_are_project_errors(tmp_path):
    with pytest.raises(ProjectError, match="not a TCP port"):
        plan_new(tmp_path, "svc", go_version="1.23", options=InitOptions(port=65536))
