"""App environment, secrets and hardening, checked on a real SSH host."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import assert_clean_failure, run_goship
from tests.e2e.helpers import get as _get
from tests.e2e.remote import remote_containers as _remote_containers

pytestmark = pytest.mark.e2e

SECRET = "s3cr3t-value-0123456789"


def _expose_env(project: Path) -> None:
    """A test-only endpoint answering the length of API_TOKEN and MODE's value."""
    main = project / "main.go"
    main.write_text(
        main.read_text().replace(
            '\tmux.HandleFunc("/healthz"',
            '\tmux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {\n'
            '\t\tfmt.Fprintf(w, "%d %s", len(os.Getenv("API_TOKEN")), os.Getenv("MODE"))\n\t})\n'
            '\tmux.HandleFunc("/healthz"',
        )
    )


def test_secrets_reach_the_app_and_nothing_else(production: Path, remote_host):
    _expose_env(production)
    (production / ".env").write_text(f"API_TOKEN={SECRET}\n")
    config = production / "goship.yaml"
    text = config.read_text().replace(
        "app:\n  port: 8080\n",
        "app:\n  port: 8080\n  env: {MODE: production}\n  secrets: [API_TOKEN]\n  env_file: .env\n"
        "  resources: {memory: 64m, cpus: '0.5'}\n",
    )
    config.write_text(text)
    result = run_goship("ship", "production", "-C", str(production))
    assert result.returncode == 0, result.stderr
    assert _get(f"http://{remote_host.address}:80/env") == f"{len(SECRET)} production"
    assert SECRET not in result.stdout + result.stderr

    releases = run_goship("releases", "production", "--json", "-C", str(production)).stdout
    assert releases and SECRET not in releases
    state = subprocess.run(
        remote_host.ssh_argv("docker", "cp", "goship-state-hello:/state", "-"), capture_output=True, check=True
    ).stdout
    assert SECRET.encode() not in state

    [container] = _remote_containers(remote_host, "hello")
    info = json.loads(
        subprocess.run(remote_host.ssh_argv("docker", "inspect", container["Names"]), capture_output=True, text=True, check=True).stdout
    )[0]
    host_config = info["HostConfig"]
    assert host_config["ReadonlyRootfs"] is True
    assert host_config["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in host_config["SecurityOpt"]
    assert host_config["Memory"] == 64 * 1024 * 1024
    assert host_config["NanoCpus"] == 500_000_000
    assert info["Config"]["User"] == "65532:65532"


def test_missing_secret_stops_before_anything_changes(production: Path, remote_host):
    config = production / "goship.yaml"
    config.write_text(config.read_text().replace("app:\n  port: 8080\n", "app:\n  port: 8080\n  secrets: [NOT_SET_ANYWHERE]\n"))
    result = run_goship("ship", "production", "-C", str(production))
    assert_clean_failure(result, "app.secrets: NOT_SET_ANYWHERE not set")
    assert _remote_containers(remote_host, "hello") == []


def test_weakened_security_needs_a_reason(production: Path):
    config = production / "goship.yaml"
    config.write_text(config.read_text().replace("app:\n  port: 8080\n", "app:\n  port: 8080\n  security:\n    read_only: false\n"))
    assert_clean_failure(run_goship("ship", "production", "-C", str(production)), "read_only: false", "without a reason")
