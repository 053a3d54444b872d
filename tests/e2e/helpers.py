"""Helpers the e2e test modules share (test modules import them from here, never
from one another): the production config of a test host, a GET, hey's load in the
background, and the machine's own Docker engine that the suite must leave alone."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from testbed import engine

SENTINEL_GREETING = "sentinel of the machine engine"


def production_config(registry_addr: str, host, client_key: Path, *, extra: str = "", known_hosts: Path | None = None) -> str:
    return (
        "service: hello\n"
        f"image: {registry_addr}/hello\n"
        "registry:\n  insecure: true\n"
        "app:\n  port: 8080\n"
        "health:\n  path: /healthz\n  timeout: 10s\n"
        "proxy:\n  port: 80\n"
        "ssh:\n"
        f"  identity_file: {client_key}\n"
        f"  known_hosts_file: {known_hosts or host.known_hosts}\n"
        "targets:\n"
        "  production:\n"
        f"    hosts: [root@{host.address}]\n"
        f"{extra}"
    )


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode().strip()


class Load:
    """hey in the background for a fixed time; ``report()`` waits for it."""

    def __init__(self, url: str, seconds: int, connections: int = 16) -> None:
        self.output = ""
        self._thread = threading.Thread(target=self._run, args=(url, seconds, connections))
        self._thread.start()

    def _run(self, url: str, seconds: int, connections: int) -> None:
        self.output = subprocess.run(
            ["hey", "-z", f"{seconds}s", "-c", str(connections), "-t", "10", url],
            capture_output=True, text=True, timeout=seconds + 120,
        ).stdout

    def report(self) -> tuple[dict[str, int], int, float]:
        self._thread.join()
        statuses = {m.group(1): int(m.group(2)) for m in re.finditer(r"\[(\d{3})\]\s+(\d+) responses", self.output)}
        errors = 0
        if "Error distribution:" in self.output:
            tail = self.output.split("Error distribution:", 1)[1]
            errors = sum(int(m.group(1)) for m in re.finditer(r"^\s+\[(\d+)\]\s+", tail, re.MULTILINE))
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", self.output).group(1))
        return statuses, errors, rps


def machine_env() -> dict[str, str]:
    """The environment as the user had it: their DOCKER_HOST (if any), not the suite's."""
    env = dict(os.environ)
    original = env.pop("GOSHIP_SUITE_SAVED_DOCKER_HOST", None)
    if "GOSHIP_SUITE_ENGINE" in env:
        env.pop("DOCKER_HOST", None)
        env.pop("GOSHIP_SUITE_ENGINE")
        if original:
            env["DOCKER_HOST"] = original
    return env


def machine_docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([engine.docker_binary(), *args], env=machine_env(), capture_output=True, text=True,
                          timeout=120)


def machine_snapshot() -> tuple[set[str], set[str]]:
    """The containers (id, name, state) and volumes on the machine's engine."""
    containers = machine_docker("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.State}}").stdout
    volumes = machine_docker("volume", "ls", "-q").stdout
    return set(containers.split("\n")) - {""}, set(volumes.split()) - {""}


@dataclass
class MachineEngine:
    """The machine's engine as the suite found it, with a goship service of the suite's on it."""

    started: engine.Dockerd | None  # set when the suite had to start it (CI)
    service: str
    url: str
    containers: set[str]
    volumes: set[str]
