"""One goship.yaml, two targets that differ: staging and production on their own SSH
hosts, each serving its own env, proxy port and (for the same image) its own values."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import assert_clean_failure, run_goship
from tests.e2e.helpers import get as _get
from tests.e2e.remote import clean_host
from tests.e2e.remote import remote_containers as _remote_containers

pytestmark = pytest.mark.e2e

SERVICE = """\
package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		host, _ := os.Hostname()
		fmt.Fprintf(w, "%s|%s|%s\\n", os.Getenv("STAGE"), os.Getenv("GREETING"), host)
	})
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {})
	if err := http.ListenAndServe(":"+os.Getenv("PORT"), nil); err != nil {
		panic(err)
	}
}
"""


@pytest.fixture
def team(tmp_path: Path, test_registry, remote_host, second_host, client_key):
    root = tmp_path / "shop"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/shop\n\ngo 1.22\n")
    (root / "main.go").write_text(SERVICE)
    known = tmp_path / "known_hosts"
    known.write_text(remote_host.known_hosts.read_text() + second_host.known_hosts.read_text())
    (root / "goship.yaml").write_text(
        "service: shop\n"
        f"image: {test_registry.addr}/shop\n"
        "registry:\n  insecure: true\n"
        "app:\n  env:\n    STAGE: none\n    GREETING: ${TEAM_GREETING}\n"
        "health:\n  timeout: 20s\n"
        "proxy:\n  port: 80\n"
        f"ssh:\n  identity_file: {client_key}\n  known_hosts_file: {known}\n"
        "targets:\n"
        "  staging:\n"
        f"    hosts: [root@{second_host.address}]\n"
        "    app:\n      env:\n        STAGE: staging\n"
        "    proxy:\n      port: 8081\n"
        "  production:\n"
        f"    hosts: [root@{remote_host.address}]\n"
        "    app:\n      replicas: 2\n      env:\n        STAGE: production\n        GREETING: ${PROD_GREETING:-welcome}\n"
    )
    yield root
    for host in (remote_host, second_host):
        clean_host(host)


def test_staging_and_production_serve_their_own_settings(team: Path, remote_host, second_host):
    env = {"TEAM_GREETING": "hi team"}
    staging = run_goship("ship", "staging", "-C", str(team), env=env)
    assert staging.returncode == 0, staging.stderr
    assert f"live at http://{second_host.address}:8081" in staging.stdout
    production = run_goship("ship", "production", "-C", str(team), env=env)
    assert production.returncode == 0, production.stderr
    assert f"live at http://{remote_host.address}:80" in production.stdout

    assert _get(f"http://{second_host.address}:8081/").startswith("staging|hi team|")
    assert _get(f"http://{remote_host.address}:80/").startswith("production|welcome|")
    # Production runs two replicas behind its route, staging one: both answer in turn.
    assert len(_remote_containers(second_host, "shop")) == 1 and len(_remote_containers(remote_host, "shop")) == 2
    answered = {_get(f"http://{remote_host.address}:80/").split("|")[2] for _ in range(12)}
    assert len(answered) == 2, answered
    # The same build, promoted: one image digest on both hosts.
    images = set()
    for host in (remote_host, second_host):
        for container in _remote_containers(host, "shop"):
            images.add(subprocess.run(host.ssh_argv("docker", "inspect", "--format", "{{.Config.Image}}", container["Names"]),
                                      capture_output=True, text=True, check=True).stdout.strip())
    assert len(images) == 1, images

    shown = run_goship("config", "staging", "--json", "-C", str(team), env=env)
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["app"]["env"] == {"STAGE": "staging", "GREETING": "hi team"}
    assert document["proxy"]["port"] == 8081 and document["target"]["hosts"] == [f"root@{second_host.address}"]
    assert document["app"]["replicas"] == 1
    production_view = json.loads(run_goship("config", "production", "--json", "-C", str(team), env=env).stdout)
    assert production_view["app"]["replicas"] == 2 and production_view["app"]["env"]["GREETING"] == "welcome"


def test_an_unset_variable_is_refused_at_its_line_and_nothing_changes(team: Path, second_host):
    assert run_goship("ship", "staging", "-C", str(team), env={"TEAM_GREETING": "first"}).returncode == 0
    [before] = _remote_containers(second_host, "shop")
    refused = run_goship("ship", "staging", "-C", str(team))  # TEAM_GREETING is not in the environment now
    assert_clean_failure(refused, "goship.yaml:8: app.env.GREETING: ${TEAM_GREETING} is not set", "${NAME:-default}")
    assert refused.returncode == 2
    assert _get(f"http://{second_host.address}:8081/").startswith("staging|first|")
    assert [c["Names"] for c in _remote_containers(second_host, "shop")] == [before["Names"]]
