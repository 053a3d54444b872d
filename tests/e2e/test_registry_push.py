"""Pushing to a real registry (Debian's docker-registry), checked by skopeo."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from testbed import registry
from tests.conftest import assert_clean_failure, run_goship

pytestmark = pytest.mark.e2e

USER, PASSWORD = "alice", "correct-horse-battery"


@pytest.fixture(scope="module")
def auth_registry(local_engine, tmp_path_factory):
    reg = registry.start_registry(tmp_path_factory.mktemp("authreg"), host="127.0.0.1", htpasswd=(USER, PASSWORD))
    yield reg
    reg.stop()


def _configure(project: Path, addr: str) -> None:
    (project / "goship.yaml").write_text(f"image: {addr}/team/hello\nregistry:\n  insecure: true\n")


def test_push_is_accepted_by_skopeo(hello, test_registry):
    _configure(hello, test_registry.addr)
    assert run_goship("build", "-C", str(hello)).returncode == 0
    pushed = run_goship("push", "-C", str(hello))
    assert pushed.returncode == 0, pushed.stderr
    reference = pushed.stdout.strip()
    assert reference.startswith(f"{test_registry.addr}/team/hello@sha256:")
    inspected = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{reference}"], capture_output=True, text=True, timeout=60
    )
    assert inspected.returncode == 0, inspected.stderr
    info = json.loads(inspected.stdout)
    assert info["Digest"] == reference.split("@", 1)[1]
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    # Pushing the same image again uploads nothing.
    again = run_goship("push", "-C", str(hello))
    assert "0 blobs uploaded" in again.stderr, again.stderr


def test_registry_without_credentials_refuses(hello, auth_registry):
    _configure(hello, auth_registry.addr)
    assert run_goship("build", "-C", str(hello)).returncode == 0
    result = run_goship("push", "-C", str(hello), env={"DOCKER_CONFIG": str(hello / "no-docker-config")})
    assert_clean_failure(result, f"registry {auth_registry.addr} needs a login")


def test_wrong_password_refused_and_never_printed(hello, auth_registry):
    _configure(hello, auth_registry.addr)
    assert run_goship("build", "-C", str(hello)).returncode == 0
    env = {"GOSHIP_REGISTRY_USERNAME": USER, "GOSHIP_REGISTRY_PASSWORD": "wrong-password-123"}
    result = run_goship("push", "-C", str(hello), env=env)
    assert_clean_failure(result, f"refused the login as '{USER}'")
    assert "wrong-password-123" not in result.stdout + result.stderr


def test_right_password_pushes(hello, auth_registry):
    _configure(hello, auth_registry.addr)
    assert run_goship("build", "-C", str(hello)).returncode == 0
    result = run_goship("push", "-C", str(hello), env={"GOSHIP_REGISTRY_USERNAME": USER, "GOSHIP_REGISTRY_PASSWORD": PASSWORD})
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    creds = f"--creds={USER}:{PASSWORD}"
    assert subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", creds, f"docker://{result.stdout.strip()}"], capture_output=True
    ).returncode == 0


def test_registry_not_running(hello, unused_port):
    _configure(hello, f"127.0.0.1:{unused_port}")
    assert run_goship("build", "-C", str(hello)).returncode == 0
    assert_clean_failure(run_goship("push", "-C", str(hello)), f"cannot reach registry 127.0.0.1:{unused_port}", "connection refused")

