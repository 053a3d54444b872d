"""What a host runs: the Release (one version of one service, with the deploy
settings of goship.yaml), and what deploying it on one host gave."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from goship import secrets
from goship.config.model import MAIN_ROLE, HealthConfig, ResourcesConfig, RoleConfig, SecurityConfig, VolumeConfig
from goship.config.values import memory_bytes, nano_cpus
from goship.deploy.health import HealthCheck
from goship.deploy.specs import Hardening
from goship.images.oci import BIN_DIR
from goship.project import Project, normalise_main


@dataclass(frozen=True)
class RoleRoute:
    """What an HTTP role asks of the proxy (roles.NAME.proxy); the main process's is the Release's own."""

    domains: tuple[str, ...] = ()
    path_prefix: str | None = None
    strip_prefix: bool = False


@dataclass(frozen=True)
class Role:
    """One more process of a release (roles.NAME of goship.yaml): same image, its own program,
    arguments, environment, replicas and health check."""

    name: str
    health: HealthCheck
    replicas: int = 1
    port: int | None = None
    #: The program it runs (the image's entrypoint when None) and its arguments (the image's CMD when None).
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    hardening: Hardening = field(default_factory=Hardening)
    route: RoleRoute | None = None


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
    #: Containers of the main process on each host, all behind its route.
    replicas: int = 1
    #: The other processes, deployed after the main one in this order; a version is all of them.
    roles: tuple[Role, ...] = ()

    def only(self, names: tuple[str, ...] | None) -> Release:
        """This release with only the roles named (the main process always stays); None: all."""
        if names is None:
            return self
        return replace(self, roles=tuple(r for r in self.roles if r.name in names))

    @property
    def role_names(self) -> tuple[str, ...]:
        return (MAIN_ROLE, *(r.name for r in self.roles))

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
    #: The processes it ran (the main one, "web", first); None: nothing ran before.
    previous_roles: tuple[str, ...] | None = None
    #: The new containers of each process, the main one ("web") first.
    containers: tuple[tuple[str, tuple[str, ...]], ...] = ()

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
    env_file = _env_file(project, config.app.env_file)
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
        hardening=_hardening(resources, security),
        volumes=tuple(config.app.volumes),
        replicas=config.app.replicas,
        roles=tuple(_role(project, name, role) for name, role in config.roles.items()),
    )


def _env_file(project: Project, value: str | None) -> Path | None:
    env_file = Path(value) if value else None
    if env_file is not None and not env_file.is_absolute():
        env_file = project.root / env_file
    return env_file


def _hardening(resources: ResourcesConfig, security: SecurityConfig) -> Hardening:
    return Hardening(
        memory=memory_bytes(resources.memory) if resources.memory else None,
        nano_cpus=nano_cpus(resources.cpus) if resources.cpus else None,
        read_only=security.read_only,
        no_new_privileges=security.no_new_privileges,
        cap_add=tuple(security.cap_add),
        user=security.user,
    )


def role_health(config: RoleConfig, base: HealthConfig, keys: str) -> HealthCheck:
    """A role's health check: its own settings, the top-level health's where it sets none."""
    health = config.health
    return HealthCheck(
        port=health.port if health.port is not None else config.port,
        type=config.health_type,
        path=health.path or base.path,
        timeout=health.timeout if health.timeout is not None else base.timeout,
        interval=health.interval if health.interval is not None else base.interval,
        status=health.status,
        successes=health.successes or base.successes,
        command=tuple(health.command or ()),
        settle=health.settle,
        keys=keys,
    )


def _role(project: Project, name: str, config: RoleConfig) -> Role:
    """roles.NAME of goship.yaml as deployed: it inherits app's env, secrets, env_file,
    resources and security unless it sets its own."""
    app = project.config.app
    entrypoint: tuple[str, ...] | None = None
    if config.main is not None:
        binary = project.programs()[normalise_main(config.main)]
        entrypoint = (f"/{BIN_DIR}/{binary}",)
    elif config.command is not None:
        entrypoint = tuple(config.command)
    names = config.secrets if config.secrets is not None else app.secrets
    env_file = _env_file(project, config.env_file or app.env_file)
    route = config.proxy
    return Role(
        name=name,
        health=role_health(config, project.config.health, f"roles.{name}."),
        replicas=config.replicas,
        port=config.port,
        entrypoint=entrypoint,
        # With its own program, only its own arguments: the image's CMD belongs to the main process.
        command=tuple(config.args) if entrypoint is not None or config.args else None,
        env={**app.env, **config.env},
        secrets=secrets.resolve(names, env_file),
        hardening=_hardening(config.resources or app.resources, config.security or app.security),
        route=RoleRoute(tuple(route.domains) or tuple(project.config.proxy.domains), route.path_prefix, route.strip_prefix)
        if route is not None else None,
    )
