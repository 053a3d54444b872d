"""`goship ship production`: registry push, pull by digest on an SSH host, proxy switch."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import assert_clean_failure, run_goship, set_greeting
from tests.e2e.helpers import get as _get
from tests.e2e.helpers import production_config
from tests.e2e.remote import on_host as _remote
from tests.e2e.remote import remote_containers as _remote_containers

pytestmark = pytest.mark.e2e


def test_ship_production_then_change(production: Path, remote_host, test_registry):
    url = f"http://{remote_host.address}:80/"
    first = run_goship("ship", "production", "-C", str(production))
    assert first.returncode == 0, first.stderr
    assert f"live at http://{remote_host.address}:80" in first.stdout
    assert _get(url) == "Hello from goship!"
    [old] = _remote_containers(remote_host, "hello")

    # Pulled by digest from the registry, not a mutable tag.
    image = _remote(remote_host, "docker", "inspect", "--format", "{{.Config.Image}}", old["Names"]).strip()
    assert image.startswith(f"{test_registry.addr}/hello@sha256:")
    record = json.loads((production / ".goship" / "push.json").read_text())
    assert image.endswith(record["digest"])

    set_greeting(production, "Hello again, production!")
    second = run_goship("ship", "production", "-C", str(production))
    assert second.returncode == 0, second.stderr
    assert _get(url) == "Hello again, production!"
    containers = _remote_containers(remote_host, "hello")
    assert len(containers) == 1 and containers[0]["Names"] != old["Names"]
    # Only the changed app layer, the small config and the new SBOM went up
    # the second time; the base layer (and the SBOM's empty config) were there.
    assert "3 blobs uploaded" in second.stderr and "2 already there" in second.stderr, second.stderr


def test_stages_run_alone(production: Path, remote_host):
    assert run_goship("build", "-C", str(production)).returncode == 0
    not_pushed = run_goship("deploy", "production", "-C", str(production))
    assert_clean_failure(not_pushed, "has not been pushed", "goship push")
    pushed = run_goship("push", "-C", str(production))
    assert pushed.returncode == 0, pushed.stderr
    deployed = run_goship("deploy", "production", "-C", str(production))
    assert deployed.returncode == 0, deployed.stderr
    assert _get(f"http://{remote_host.address}:80/") == "Hello from goship!"


def test_unhealthy_release_on_remote_host_keeps_old(production: Path, remote_host):
    assert run_goship("ship", "production", "-C", str(production)).returncode == 0
    [old] = _remote_containers(remote_host, "hello")
    source = (production / "main.go").read_text()
    (production / "main.go").write_text(source.replace("w.WriteHeader(http.StatusOK)", "w.WriteHeader(http.StatusInternalServerError)"))
    set_greeting(production, "never served")
    result = run_goship("ship", "production", "-C", str(production))
    assert_clean_failure(result, "is not healthy", "HTTP 500")
    assert _get(f"http://{remote_host.address}:80/") == "Hello from goship!"
    assert [c["Names"] for c in _remote_containers(remote_host, "hello")] == [old["Names"]]


def test_unknown_host_key_is_refused(hello: Path, test_registry, remote_host, client_key, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    (hello / "goship.yaml").write_text(production_config(test_registry.addr, remote_host, client_key, known_hosts=empty))
    result = run_goship("ship", "production", "-C", str(hello))
    assert_clean_failure(result, "SSH host key is not in known_hosts", "refusing to connect")


def test_changed_host_key_is_refused(hello: Path, test_registry, remote_host, client_key, tmp_path):
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    key = (other.with_suffix(".pub")).read_text().split()[:2]
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"{remote_host.address} {key[0]} {key[1]}\n")
    (hello / "goship.yaml").write_text(production_config(test_registry.addr, remote_host, client_key, known_hosts=wrong))
    result = run_goship("ship", "production", "-C", str(hello))
    assert_clean_failure(result, "SSH host key differs from known_hosts", "refusing to connect")
