"""Commands on a test host, run as its operator would (ssh with the suite's key)."""

from __future__ import annotations

import json
import subprocess


def on_host(host, *argv: str, check: bool = True) -> str:
    """The stdout of ``argv`` run on ``host`` over ssh."""
    return subprocess.run(host.ssh_argv(*argv), capture_output=True, text=True, check=check, timeout=120).stdout


def clean_host(host) -> None:
    """Everything goship made on the host goes (services, proxies, state), as 'docker rm -f' would."""
    ids = on_host(host, "docker", "ps", "-aq", "--filter", "label=goship.managed=true", check=False).split()
    if ids:
        on_host(host, "docker", "rm", "-f", *ids, check=False)
    volumes = on_host(host, "docker", "volume", "ls", "-q", "--filter", "name=goship-", check=False).split()
    if volumes:
        on_host(host, "docker", "volume", "rm", "-f", *volumes, check=False)


def remote_containers(host, service: str) -> list[dict]:
    """The app containers of ``service`` on ``host``, as ``docker ps`` describes them."""
    out = subprocess.run(
        host.ssh_argv(
            "docker", "ps", "-a", "--filter", f"label=goship.service={service}", "--filter", "label=goship.role=app",
            "--format", "{{json .}}",
        ),
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    return [json.loads(line) for line in out.splitlines()]
