"""Which hosts a target name means, and how goship reaches each of them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from goship.config import LOCAL_TARGET
from goship.deploy.proxy import ProxySpec
from goship.errors import ConfigError
from goship.hosts.executor import Executor, LocalExecutor, SSHExecutor, SSHTarget, parse_host
from goship.project import Project

LOCAL_PROXY_PORT = 8000
REMOTE_PROXY_PORT = 80


@dataclass
class Host:
    executor: Executor
    proxy: ProxySpec
    #: Address a user's browser would use; printed as "live at".
    public_address: str
    local: bool

    @property
    def name(self) -> str:
        return self.executor.name

    @property
    def url(self) -> str:
        return f"http://{self.public_address}:{self.proxy.public_port}"


def _path(project: Project, value: str | None) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else project.root / path


def resolve_target(project: Project, name: str) -> list[Host]:
    """The hosts of target ``name``; ``local`` is the engine on this machine."""
    config = project.config
    target = config.targets.get(name)
    if target is None:
        if name == LOCAL_TARGET:
            port = config.proxy.port or LOCAL_PROXY_PORT
            # Locally the proxy listens on loopback only: nothing on the
            # laptop's network sees a development service by accident.
            https = config.proxy.https_port or (8443 if config.proxy.domains else None)
            proxy = ProxySpec(config.proxy.image, port, bind_address="127.0.0.1", https_port=https)
            return [Host(LocalExecutor(), proxy, "localhost", local=True)]
        known = ", ".join(sorted({LOCAL_TARGET, *config.targets})) or LOCAL_TARGET
        raise ConfigError(
            f"unknown target {name!r}",
            hint=f"targets in {project.config_path or 'goship.yaml'}: {known}",
        )
    if not target.hosts:
        raise ConfigError(f"{project.config_path}: targets.{name}.hosts: no hosts listed")
    ssh = config.ssh
    if target.shell not in ("sh", "powershell"):
        raise ConfigError(
            f"{project.config_path}: targets.{name}.shell: expected 'sh' or 'powershell', got {target.shell!r}"
        )
    hosts = []
    for index, spec in enumerate(target.hosts):
        try:
            user, address, port = parse_host(spec)
        except ValueError as exc:
            raise ConfigError(f"{project.config_path}: targets.{name}.hosts[{index}]: {exc}") from None
        ssh_target = SSHTarget(
            host=address,
            user=user or ssh.user,
            port=port or ssh.port,
            identity_file=_path(project, ssh.identity_file),
            known_hosts_file=_path(project, ssh.known_hosts_file),
            config_file=_path(project, ssh.config_file),
            connect_timeout=ssh.connect_timeout,
        )
        https = config.proxy.https_port or (443 if config.proxy.domains else None)
        proxy = ProxySpec(config.proxy.image, config.proxy.port or REMOTE_PROXY_PORT, https_port=https)
        hosts.append(Host(SSHExecutor(ssh_target, shell=target.shell), proxy, address, local=False))
    return hosts
