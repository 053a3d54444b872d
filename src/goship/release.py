"""From goship.yaml to what a host runs: the Release, and the credentials it pulls with.

Shared by deploys (pipeline) and rollbacks (operations), and light on
purpose: a rollback loads this, not the builders or the registry client.
"""

from __future__ import annotations

from pathlib import Path

from goship import secrets
from goship.config.values import memory_bytes, nano_cpus
from goship.deploy.rollout import ImageProvider, Release, ensure_image
from goship.deploy.specs import Hardening
from goship.engine.client import Engine, registry_auth, token_auth
from goship.images.reference import parse_repository
from goship.project import Project
from goship.registry import credentials


def make_release(
    project: Project, version: str, image: str, digest: str, revision: str, kind: str = "live"
) -> Release:
    """A Release of ``image`` with the deploy settings of goship.yaml (checked when it was loaded)."""
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
    )


def pull_auth(project: Project, reference: str) -> str | None:
    """X-Registry-Auth for a host's pull of ``reference`` (``registry/path@digest``).

    Where the registry has a token service, it is a token that may pull this
    repository and nothing else, obtained with the deployer's credentials
    (environment, credential helper or docker config); otherwise those
    credentials themselves. Either way it travels in the request to the
    host's engine, which keeps it nowhere: not on the host's disk, not in a
    process argument, not in goship's output.
    """
    try:
        repository = parse_repository(reference.split("@", 1)[0])
    except ValueError:
        return None
    found = credentials.lookup(repository.registry, project.config.registry.username)
    if found is None:
        return None
    server = credentials.config_key(repository.registry)
    settings = project.config.registry
    ca_file = Path(settings.ca_file) if settings.ca_file else None
    if ca_file is not None and not ca_file.is_absolute():
        ca_file = project.root / ca_file
    own = repository.registry == registry_of(project)
    # Only here: a rollback from kept images loads no HTTP client.
    from goship.registry.client import RegistryClient  # noqa: PLC0415

    with RegistryClient(
        repository.registry, insecure=settings.insecure if own else False, ca_file=ca_file if own else None,
        credentials=found,
    ) as client:
        token = client.pull_token(repository.path)
    if token is not None:
        return token_auth(token, server)
    return registry_auth(found.username, found.password, server)


def kept_image(project: Project, image: str, *, local: bool = False) -> ImageProvider:
    """An earlier release's image for a host: the one it kept, else pulled by digest
    with the deployer's credentials (asked for only then; ``local``: never)."""

    def provide(engine: Engine) -> None:
        ensure_image(engine, image, None if local or "@" not in image else lambda: pull_auth(project, image))

    return provide


def registry_of(project: Project) -> str | None:
    """The registry of goship.yaml's ``image``, whose ``registry:`` settings apply."""
    try:
        return parse_repository(project.config.image).registry if project.config.image else None
    except ValueError:
        return None
