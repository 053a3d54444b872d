"""Several services behind one proxy, routed by host name, over verified HTTPS
(Caddy's internal CA here, since no ACME server is reachable)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, run_goship, set_greeting
from tests.e2e.helpers import production_config

pytestmark = pytest.mark.e2e


def _service(tmp_path: Path, name: str, domain: str, registry, host, key) -> Path:
    project = tmp_path / name
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".goship", "goship.yaml"))
    set_greeting(project, f"I am {name}")
    config = production_config(registry.addr, host, key).replace("service: hello", f"service: {name}")
    config = config.replace(f"{registry.addr}/hello", f"{registry.addr}/{name}")
    config = config.replace("proxy:\n  port: 80\n", f"proxy:\n  port: 80\n  domains: [{domain}]\n  tls: internal\n")
    (project / "goship.yaml").write_text(config)
    return project


def _curl(host, domain: str, ca: Path) -> str:
    return subprocess.run(
        ["curl", "-fsS", "--max-time", "10", "--cacert", str(ca), "--resolve", f"{domain}:443:{host.address}", f"https://{domain}/"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()


def _remove_all(host) -> None:
    ids = subprocess.run(host.ssh_argv("docker", "ps", "-aq", "--filter", "label=goship.managed=true"), capture_output=True, text=True).stdout.split()
    if ids:
        subprocess.run(host.ssh_argv("docker", "rm", "-f", *ids), capture_output=True)
    subprocess.run(host.ssh_argv("sh", "-c", "docker volume rm -f $(docker volume ls -q --filter name=goship-)"), capture_output=True)


def test_two_services_by_host_name_over_https(tmp_path, test_registry, remote_host, client_key):
    _remove_all(remote_host)  # a proxy from earlier tests has no HTTPS port
    projects = {
        "alpha": _service(tmp_path, "alpha", "alpha.test", test_registry, remote_host, client_key),
        "beta": _service(tmp_path, "beta", "beta.test", test_registry, remote_host, client_key),
    }
    try:
        for name, project in projects.items():
            result = run_goship("ship", "production", "-C", str(project))
            assert result.returncode == 0, result.stderr
            assert f"live at https://{name}.test" in result.stdout
        tar = subprocess.run(
            remote_host.ssh_argv("docker", "cp", "goship-proxy-80:/data/caddy/pki/authorities/local/root.crt", "-"),
            capture_output=True, check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
            ca = tmp_path / "root.crt"
            ca.write_bytes(archive.extractfile("root.crt").read())
        assert _curl(remote_host, "alpha.test", ca) == "I am alpha"
        assert _curl(remote_host, "beta.test", ca) == "I am beta"
        # Plain HTTP redirects to HTTPS.
        redirect = subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-H", "Host: alpha.test", f"http://{remote_host.address}/"],
            capture_output=True, text=True,
        ).stdout
        assert redirect.startswith("308 https://alpha.test/")
        # A certificate nobody trusts is refused: verification is on.
        assert subprocess.run(
            ["curl", "-sS", "--max-time", "10", "--resolve", f"alpha.test:443:{remote_host.address}", "https://alpha.test/"],
            capture_output=True,
        ).returncode != 0
        # Redeploying one service leaves the other and the proxy running.
        proxy_id = subprocess.run(remote_host.ssh_argv("docker", "inspect", "--format", "{{.Id}}", "goship-proxy-80"), capture_output=True, text=True).stdout
        set_greeting(projects["alpha"], "I am alpha, v2")
        assert run_goship("ship", "production", "-C", str(projects["alpha"])).returncode == 0
        assert _curl(remote_host, "alpha.test", ca) == "I am alpha, v2"
        assert _curl(remote_host, "beta.test", ca) == "I am beta"
        assert subprocess.run(remote_host.ssh_argv("docker", "inspect", "--format", "{{.Id}}", "goship-proxy-80"), capture_output=True, text=True).stdout == proxy_id
    finally:
        _remove_all(remote_host)
