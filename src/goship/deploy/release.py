"""What a host runs: the Release (one version of one service, with the deploy
settings of goship.yaml), and what deploying it on one host gave."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from goship import secrets
from goship.config.model import VolumeConfig
from goship.config.values import memory_bytes, nano_cpus
from goship.deploy.health import HealthCheck
from goship.deploy.specs import Hardening
from goship.project import Project


@dataclass(frozen=True)
class Release:
    """What to run: one version of one service."""

    service: str
    version: str
    image: str  # what the container is created from: an image id, a tag or repo@digest
    app_port: int
    env: dict[str, str] = field(default_factory=dict)
    #: The entrypoint's arguments instead of the image's CMD (None: the image's).
    command: tuple[str, ...] | None = None
    #: Arguments after those (the image's CMD, or ``command``).
    args: tuple[str, ...] = ()
    health_type: str = "http"  # http (2xx), answers (any answer below 500), tcp (a connection)
    health_path: str = "/healthz"
    health_timeout: float = 30.0
    health_interval: float = 0.5
    health_status: int | None = None  # exact status wanted; None = any 2xx
    health_successes: int = 1
    watch_seconds: float = 0.0
    stop_timeout: int = 30
    drain_seconds: float = 2.0
    digest: str = ""
    revision: str = ""
    domains: tuple[str, ...] = ()
    tls: str = "acme"
    path_prefix: str | None = None
    strip_prefix: bool = False
    keep: int = 3  # releases whose images stay on the host for rollbacks
    #: What the release history calls a success: "live", or "rollback".
    kind: str = "live"
    #: Secret values: sent in the create request's body, never in argv or records.
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    hardening: Hardening = field(default_factory=Hardening)
    #: app.volumes: mounted into every container of the release.
    volumes: tuple[VolumeConfig, ...] = ()

    @property
    def health(self) -> HealthCheck:
        return HealthCheck(
            port=self.app_port,
            type=self.health_type,
            path=self.health_path,
            timeout=self.health_timeout,
            interval=self.health_interval,
            status=self.health_status,
            successes=self.health_successes,
        )

    @property
    def subject(self) -> str:
        """How messages name it: ``hello 3f2a9c1d0b7e``."""
        return f"{self.service} {self.version}"


@dataclass(frozen=True)
class HostResult:
    host: str
    container: str
    url: str
    replaced: tuple[str, ...]
    #: The release that served before, for a rollback across hosts.
    previous_image: str | None = None
    previous_version: str | None = None

    def describe(self) -> str:
        return f"{self.host}: {self.container}"


def make_release(
    project: Project, version: str, image: str, digest: str, revision: str, kind: str = "live"
) -> Release:
    """A Release of ``image`` with the deploy settings of goship.yaml (checked when it was loaded).

    Secrets are read here: a missing one stops a deploy before any host changes.
    """
    config = project.config
    security = config.app.security
    resources = config.app.resources
    env_file = Path(config.app.env_file) if config.app.env_file else None
    if env_file is not None and not env_file.is_absolute():
        env_file = project.root / env_file
    return Release(
        service=project.service,
        version=version,
        image=image,
        app_port=config.app.port,
        env=dict(config.app.env),
        command=tuple(config.app.command) if config.app.command is not None else None,
        args=tuple(config.app.args),
        health_type=config.health.type,
        health_path=config.health.path,
        health_timeout=config.health.timeout,
        health_interval=config.health.interval,
        health_status=config.health.status,
        health_successes=config.health.successes,
        watch_seconds=config.deploy.watch,
        stop_timeout=int(config.deploy.stop_timeout),
        drain_seconds=config.deploy.drain,
        keep=config.deploy.keep,
        domains=tuple(config.proxy.domains),
        tls=config.proxy.tls,
        path_prefix=config.proxy.path_prefix,
        strip_prefix=config.proxy.strip_prefix,
        digest=digest,
        revision=revision,
        kind=kind,
        secrets=secrets.resolve(config.app.secrets, env_file),
        hardening=Hardening(
            memory=memory_bytes(resources.memory) if resources.memory else None,
            nano_cpus=nano_cpus(resources.cpus) if resources.cpus else None,
            read_only=security.read_only,
            no_new_privileges=security.no_new_privileges,
            cap_add=tuple(security.cap_add),
            user=security.user,
        ),
        volumes=tuple(config.app.volumes),
    )
