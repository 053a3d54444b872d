"""Docker CLI commands as data, and parsers for what Docker prints.

Nothing here runs anything: each function returns the argv an executor
will run, locally or over SSH, so the exact commands are unit-tested.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Argv = tuple[str, ...]

LABEL_MANAGED = "goship.managed"
LABEL_SERVICE = "goship.service"
LABEL_ROLE = "goship.role"
LABEL_VERSION = "goship.version"
LABEL_IMAGE = "goship.image"

NETWORK = "goship"


def _labels(labels: Mapping[str, str]) -> list[str]:
    args: list[str] = []
    for key, value in sorted(labels.items()):
        args += ["--label", f"{key}={value}"]
    return args


def server_version() -> Argv:
    return ("docker", "version", "--format", "{{.Server.Version}}")


def server_arch() -> Argv:
    """The engine's architecture as Go names it (amd64, arm64)."""
    return ("docker", "version", "--format", "{{.Server.Arch}}")


def image_exists(ref: str) -> Argv:
    return ("docker", "image", "inspect", "--format", "{{.Id}}", ref)


def pull(ref: str) -> Argv:
    return ("docker", "pull", "--quiet", ref)


def load() -> Argv:
    """Reads a docker-archive tarball on stdin."""
    return ("docker", "load", "--quiet")


def network_exists(name: str = NETWORK) -> Argv:
    return ("docker", "network", "inspect", "--format", "{{.Name}}", name)


def network_create(name: str = NETWORK) -> Argv:
    return ("docker", "network", "create", "--label", f"{LABEL_MANAGED}=true", name)


@dataclass(frozen=True)
class Hardening:
    """Limits and privileges of an app container; the defaults are the safe ones."""

    memory: str | None = None
    cpus: str | None = None
    read_only: bool = True
    no_new_privileges: bool = True
    cap_add: tuple[str, ...] = ()
    user: str | None = None


@dataclass(frozen=True)
class AppContainer:
    """Everything ``docker run`` needs to start one version of a service."""

    name: str
    image: str
    service: str
    version: str
    port: int
    env: Mapping[str, str]
    network: str = NETWORK
    #: ``--env-file`` source for secrets: "/dev/stdin" sends them on stdin,
    #: so they never appear in an argv, a process list or a file on the host.
    env_file: str | None = None
    hardening: Hardening = Hardening()


def run_app(spec: AppContainer) -> Argv:
    """Start an app container: private network, loopback-only probe port, hardened."""
    labels = {
        LABEL_MANAGED: "true",
        LABEL_SERVICE: spec.service,
        LABEL_ROLE: "app",
        LABEL_VERSION: spec.version,
        LABEL_IMAGE: spec.image,
    }
    env = {"PORT": str(spec.port), **spec.env}
    args = ["docker", "run", "--detach", "--name", spec.name, "--network", spec.network]
    args += ["--network-alias", f"{spec.name}"]
    # Published on the host's loopback only, with a port Docker picks: the
    # health probe reaches it there (over SSH for remote hosts); the world
    # reaches the service only through the proxy.
    args += ["--publish", f"127.0.0.1::{spec.port}"]
    args += _labels(labels)
    for key, value in sorted(env.items()):
        args += ["--env", f"{key}={value}"]
    if spec.env_file:
        args += ["--env-file", spec.env_file]
    args += ["--restart", "unless-stopped"]
    hard = spec.hardening
    if hard.read_only:
        args += ["--read-only", "--tmpfs", "/tmp"]
    args += ["--cap-drop", "ALL"]
    for cap in hard.cap_add:
        args += ["--cap-add", cap]
    if hard.no_new_privileges:
        args += ["--security-opt", "no-new-privileges"]
    if hard.user:
        args += ["--user", hard.user]
    if hard.memory:
        args += ["--memory", hard.memory]
    if hard.cpus:
        args += ["--cpus", hard.cpus]
    args += ["--log-opt", "max-size=10m", "--log-opt", "max-file=3"]
    args.append(spec.image)
    return tuple(args)


def port(name: str, container_port: int) -> Argv:
    return ("docker", "port", name, f"{container_port}/tcp")


def inspect(*names: str) -> Argv:
    return ("docker", "inspect", "--type", "container", *names)


def list_containers(labels: Mapping[str, str], all: bool = True) -> Argv:
    args = ["docker", "ps", "--no-trunc", "--format", "{{json .}}"]
    if all:
        args.append("--all")
    for key, value in sorted(labels.items()):
        args += ["--filter", f"label={key}={value}"]
    return tuple(args)


def logs(name: str, tail: int = 20) -> Argv:
    return ("docker", "logs", "--tail", str(tail), name)


def stop(names: Sequence[str], timeout: int = 30) -> Argv:
    return ("docker", "stop", "--time", str(timeout), *names)


def remove(names: Sequence[str], force: bool = False) -> Argv:
    return ("docker", "rm", *(["--force"] if force else []), *names)


def start(name: str) -> Argv:
    return ("docker", "start", name)


def copy_tar_into(name: str, directory: str) -> Argv:
    """``docker cp -`` extracts a tar read from stdin: no shell needed on the host."""
    return ("docker", "cp", "-", f"{name}:{directory}")


def exec_(name: str, *command: str) -> Argv:
    return ("docker", "exec", name, *command)


# Parsers -------------------------------------------------------------------


@dataclass(frozen=True)
class ContainerSummary:
    id: str
    name: str
    state: str
    labels: dict[str, str]

    @property
    def running(self) -> bool:
        return self.state == "running"


def parse_ps(output: str) -> list[ContainerSummary]:
    """Parse ``docker ps --format '{{json .}}'`` (one JSON object a line)."""
    found = []
    for line in output.splitlines():
        line = line.strip()
        if not line:
            continue
        row = json.loads(line)
        labels = dict(
            item.split("=", 1) for item in row.get("Labels", "").split(",") if "=" in item
        )
        found.append(
            ContainerSummary(
                id=row["ID"], name=row["Names"].split(",")[0], state=row.get("State", ""), labels=labels
            )
        )
    return found


@dataclass(frozen=True)
class ContainerState:
    name: str
    status: str
    running: bool
    exit_code: int
    error: str
    health: str | None
    image: str


def parse_inspect(output: str) -> list[ContainerState]:
    """Parse ``docker inspect`` output into the fields a deploy decides on."""
    states = []
    for item in json.loads(output or "[]"):
        state = item.get("State", {})
        health = state.get("Health") or {}
        states.append(
            ContainerState(
                name=item.get("Name", "").lstrip("/"),
                status=state.get("Status", ""),
                running=bool(state.get("Running")),
                exit_code=int(state.get("ExitCode", 0)),
                error=state.get("Error", ""),
                health=health.get("Status"),
                image=item.get("Image", ""),
            )
        )
    return states


def parse_port(output: str) -> tuple[str, int]:
    """``127.0.0.1:49153`` (first line of ``docker port``) -> ("127.0.0.1", 49153)."""
    for line in output.splitlines():
        host, _, port_text = line.strip().rpartition(":")
        if port_text.isdigit():
            return host.strip("[]") or "127.0.0.1", int(port_text)
    raise ValueError(f"no published port in {output!r}")
