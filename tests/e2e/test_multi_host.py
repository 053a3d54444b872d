"""Rolling across two SSH hosts: a failure on one rolls the other back."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import assert_clean_failure, run_goship, set_greeting
from tests.e2e.helpers import get as _get
from tests.e2e.remote import remote_containers as _remote_containers

pytestmark = pytest.mark.e2e


@pytest.fixture
def two_hosts(hello: Path, test_registry, remote_host, second_host, client_key, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(remote_host.known_hosts.read_text() + second_host.known_hosts.read_text())
    (hello / "goship.yaml").write_text(
        f"service: hello\nimage: {test_registry.addr}/hello\nregistry:\n  insecure: true\n"
        "health:\n  timeout: 10s\nproxy:\n  port: 80\n"
        f"ssh:\n  identity_file: {client_key}\n  known_hosts_file: {known}\n"
        f"targets:\n  production:\n    hosts: [root@{remote_host.address}, root@{second_host.address}]\n"
    )
    yield hello, known
    for host in (remote_host, second_host):
        ids = subprocess.run(
            host.ssh_argv("docker", "ps", "-aq", "--filter", "label=goship.service=hello"), capture_output=True, text=True
        ).stdout.split()
        if ids:
            subprocess.run(host.ssh_argv("docker", "rm", "-f", *ids), capture_output=True)
        subprocess.run(host.ssh_argv("docker", "volume", "rm", "-f", "goship-state-hello"), capture_output=True)


def _hold_lock(host) -> None:
    """Another operator's deploy holds the lock on this host."""
    [container] = _remote_containers(host, "hello")
    image = subprocess.run(
        host.ssh_argv("docker", "inspect", "--format", "{{.Image}}", container["Names"]), capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(
        host.ssh_argv(
            "docker", "create", "--name", "goship-lock-hello", "--label", "goship.managed=true", "--label", "goship.service=hello",
            "--label", "goship.lock.holder=carol", "--label", "goship.lock.machine=elsewhere", "--label", "goship.lock.pid=1",
            image,
        ),
        check=True, capture_output=True,
    )


def test_second_host_failing_rolls_back_the_first(two_hosts, remote_host, second_host):
    project, _ = two_hosts
    first = run_goship("ship", "production", "-C", str(project))
    assert first.returncode == 0, first.stderr
    for host in (remote_host, second_host):
        assert _get(f"http://{host.address}:80/") == "Hello from goship!"

    _hold_lock(second_host)
    set_greeting(project, "version two")
    result = run_goship("ship", "production", "-C", str(project))
    assert_clean_failure(result, "locked by carol", f"root@{remote_host.address}: rolled back to", f"unchanged (previous version): root@{second_host.address}")
    for host in (remote_host, second_host):
        assert _get(f"http://{host.address}:80/") == "Hello from goship!"
        assert len(_remote_containers(host, "hello")) == 1


def test_changed_key_on_one_host_changes_nothing_anywhere(two_hosts, remote_host, second_host, tmp_path):
    project, known = two_hosts
    assert run_goship("ship", "production", "-C", str(project)).returncode == 0
    before = [c["Names"] for c in _remote_containers(remote_host, "hello")]
    other = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    kind, key = other.with_suffix(".pub").read_text().split()[:2]
    known.write_text(remote_host.known_hosts.read_text() + f"{second_host.address} {kind} {key}\n")
    set_greeting(project, "must not ship")
    result = run_goship("ship", "production", "-C", str(project))
    assert_clean_failure(result, f"root@{second_host.address}: SSH host key differs")
    assert [c["Names"] for c in _remote_containers(remote_host, "hello")] == before
    assert _get(f"http://{remote_host.address}:80/") == "Hello from goship!"


def test_unreachable_host_leaves_the_others_untouched(two_hosts, remote_host, unused_port):
    project, known = two_hosts
    config = (project / "goship.yaml").read_text()
    assert run_goship("ship", "production", "-C", str(project)).returncode == 0
    before = [c["Names"] for c in _remote_containers(remote_host, "hello")]
    (project / "goship.yaml").write_text(config.replace("hosts: [", f"hosts: [root@127.0.0.1:{unused_port}, "))
    set_greeting(project, "must not ship")
    result = run_goship("ship", "production", "-C", str(project))
    assert_clean_failure(result, "cannot connect over SSH")
    assert [c["Names"] for c in _remote_containers(remote_host, "hello")] == before


def _fail_health_on_network(project: Path, prefix: str) -> None:
    """A version whose health check fails only where its container address
    starts with ``prefix``: each test host gives its networks their own range."""
    main = project / "main.go"
    source = main.read_text().replace('import (\n', 'import (\n\t"net"\n\t"strings"\n', 1)
    source = source.replace(
        "\t\tw.WriteHeader(http.StatusOK)\n",
        "\t\taddrs, _ := net.InterfaceAddrs()\n\t\tfor _, a := range addrs {\n"
        f'\t\t\tif strings.HasPrefix(a.String(), "{prefix}") {{\n'
        "\t\t\t\tw.WriteHeader(http.StatusServiceUnavailable)\n\t\t\t\treturn\n\t\t\t}\n\t\t}\n"
        "\t\tw.WriteHeader(http.StatusOK)\n",
    )
    main.write_text(source)


def test_new_version_unhealthy_on_second_host_rolls_back_first(two_hosts, remote_host, second_host):
    project, _ = two_hosts
    assert run_goship("ship", "production", "-C", str(project)).returncode == 0
    address = subprocess.run(
        second_host.ssh_argv("docker", "network", "inspect", "--format", "{{(index .IPAM.Config 0).Subnet}}", "goship"),
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    prefix = address.rsplit(".", 1)[0] + "."
    first_subnet = subprocess.run(
        remote_host.ssh_argv("docker", "network", "inspect", "--format", "{{(index .IPAM.Config 0).Subnet}}", "goship"),
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert not first_subnet.startswith(prefix), "test hosts must give their networks different ranges"

    _fail_health_on_network(project, prefix)
    set_greeting(project, "version two")
    result = run_goship("ship", "production", "-C", str(project))
    assert_clean_failure(result, f"root@{second_host.address}: hello", "is not healthy", "HTTP 503", f"root@{remote_host.address}: rolled back to")
    for host in (remote_host, second_host):
        assert _get(f"http://{host.address}:80/") == "Hello from goship!"
        assert len(_remote_containers(host, "hello")) == 1
