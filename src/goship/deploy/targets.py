"""The Docker hosts a target of kind ``hosts`` (or ``local``) means, and how goship reaches each of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from goship.config import LOCAL_TARGET
from goship.config.values import parse_host
from goship.deploy.proxy import ProxySpec
from goship.engine.client import Engine
from goship.errors import ConfigError
from goship.hosts import HostConnection, connect_local, connect_ssh
from goship.hosts.probe import Prober
from goship.hosts.ssh import SSHTarget
from goship.project import Project

LOCAL_PROXY_PORT = 8000
REMOTE_PROXY_PORT = 80


@dataclass
class Host:
    connection: HostConnection
    proxy: ProxySpec
    #: Address a user's browser would use; printed as "live at".
    public_address: str
    local: bool

    @property
    def name(self) -> str:
        return self.connection.name

    @property
    def engine(self) -> Engine:
        return self.connection.engine

    @property
    def prober(self) -> Prober:
        return self.connection.prober

    @property
    def url(self) -> str:
        return f"http://{self.public_address}:{self.proxy.public_port}"

    def close(self) -> None:
        self.connection.close()


def _path(project: Project, value: str | None) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else project.root / path


def local_host(project: Project, connect: Callable[[], HostConnection] = connect_local) -> Host:
    """This machine's engine, with its proxy on loopback."""
    config = project.config
    port = config.proxy.port or LOCAL_PROXY_PORT
    # Locally the proxy listens on loopback only: nothing on the
    # laptop's network sees a development service by accident.
    https = config.proxy.https_port or (8443 if config.proxy.domains else None)
    spec = ProxySpec(config.proxy.image, port, bind_address="127.0.0.1", https_port=https, local=True)
    return Host(connect(), spec, "localhost", local=True)


def unknown_target(project: Project, name: str) -> ConfigError:
    known = ", ".join(sorted({LOCAL_TARGET, *project.config.targets})) or LOCAL_TARGET
    return ConfigError(f"unknown target {name!r}", hint=f"targets in {project.config_path or 'goship.yaml'}: {known}")


def resolve_target(
    project: Project,
    name: str,
    connect_local: Callable[[], HostConnection] = connect_local,
    connect_ssh: Callable[[SSHTarget, str], HostConnection] = connect_ssh,
) -> list[Host]:
    """The hosts of target ``name``; ``local`` is the engine on this machine.

    Nothing connects yet: each host's connection opens on its first request.
    """
    config = project.config
    target = config.targets.get(name)
    if target is None:
        if name == LOCAL_TARGET:
            return [local_host(project, connect_local)]
        raise unknown_target(project, name)
    ssh = config.ssh
    https = config.proxy.https_port or (443 if config.proxy.domains else None)
    spec = ProxySpec(config.proxy.image, config.proxy.port or REMOTE_PROXY_PORT, https_port=https)
    hosts = []
    for entry in target.hosts:
        user, address, host_port = parse_host(entry)  # checked when goship.yaml was loaded
        ssh_target = SSHTarget(
            host=address,
            user=user or ssh.user,
            port=host_port or ssh.port,
            identity_file=_path(project, ssh.identity_file),
            known_hosts_file=_path(project, ssh.known_hosts_file),
            config_file=_path(project, ssh.config_file),
            connect_timeout=ssh.connect_timeout,
        )
        hosts.append(Host(connect_ssh(ssh_target, target.shell), spec, address, local=False))
    return hosts
