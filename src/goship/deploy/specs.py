"""What goship asks a Docker host to create, as data.

Every container goship makes is labelled ``goship.managed=true`` with its
role (app, proxy, lock, state) and service, so everything it finds later is
selected by label, never by a guess at a name. Pure: unit tests compare
these specs with the exact Engine API bodies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from goship.config.model import VolumeConfig
from goship.engine.api import ContainerSpec, PortBinding

LABEL_MANAGED = "goship.managed"
LABEL_SERVICE = "goship.service"
LABEL_ROLE = "goship.role"
LABEL_VERSION = "goship.version"
LABEL_IMAGE = "goship.image"
#: On a data volume: the name goship.yaml gives it (app.volumes).
LABEL_VOLUME = "goship.volume"
#: Which process of the service an app container runs: "web" (the main one) or a role of
#: goship.yaml. Containers made before roles have none, and are the main process.
LABEL_PROCESS = "goship.process"
MAIN_PROCESS = "web"


def process_of(labels: Mapping[str, str]) -> str:
    """The process an app container runs, from its labels."""
    return labels.get(LABEL_PROCESS) or MAIN_PROCESS

#: The private network of a host's apps and proxies.
NETWORK = "goship"
LOG_OPTS = {"max-size": "10m", "max-file": "3"}


def managed(role: str, service: str | None = None, **extra: str) -> dict[str, str]:
    labels = {LABEL_MANAGED: "true", LABEL_ROLE: role}
    if service is not None:
        labels[LABEL_SERVICE] = service
    labels.update(extra)
    return labels


@dataclass(frozen=True)
class Hardening:
    """Limits and privileges of an app container; the defaults are the safe ones."""

    memory: int | None = None  # bytes
    nano_cpus: int | None = None
    read_only: bool = True
    no_new_privileges: bool = True
    cap_add: tuple[str, ...] = ()
    user: str | None = None


@dataclass(frozen=True)
class AppContainer:
    """Everything needed to start one version of a service."""

    name: str
    image: str
    service: str
    version: str
    port: int | None  # None: it listens on no port (a worker)
    env: Mapping[str, str] = field(default_factory=dict)
    #: Secret values: in the request body only, never in an argv, a log or a file goship writes.
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    command: tuple[str, ...] | None = None
    hardening: Hardening = field(default_factory=Hardening)
    stop_timeout: int | None = None
    volumes: tuple[VolumeConfig, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    process: str = MAIN_PROCESS
    #: A port its health check probes besides ``port`` (a role's health.port), published the same way.
    health_port: int | None = None


def app_container(app: AppContainer) -> ContainerSpec:
    """An app container: private network, its port published on the host's loopback
    only (the health probe reaches it there; the world only through the proxy), hardened."""
    hard = app.hardening
    env = {**app.env, **app.secrets, **({"PORT": str(app.port)} if app.port is not None else {})}
    return ContainerSpec(
        image=app.image,
        labels=managed(
            "app", app.service, **{LABEL_VERSION: app.version, LABEL_IMAGE: app.image, LABEL_PROCESS: app.process}
        ),
        env=env,
        cmd=app.command,
        entrypoint=app.entrypoint,
        network=NETWORK,
        aliases=(app.name,),
        # Docker picks the host port: two versions run side by side during a switch.
        publish=tuple(
            PortBinding(port, "127.0.0.1", None)
            for port in dict.fromkeys((app.port, app.health_port)) if port is not None
        ),
        restart="unless-stopped",
        read_only=hard.read_only,
        tmpfs={"/tmp": ""} if hard.read_only else {},
        cap_drop=("ALL",),
        cap_add=hard.cap_add,
        security_opt=("no-new-privileges",) if hard.no_new_privileges else (),
        user=hard.user,
        memory=hard.memory,
        nano_cpus=hard.nano_cpus,
        log_opts=LOG_OPTS,
        stop_timeout=app.stop_timeout,
        binds=volume_binds(app.service, app.volumes),
    )


def volume_name(service: str, source: str) -> str:
    """The engine's name of the service's named volume ``source``: two services
    that both say ``data:/data`` get a volume each, never one by accident."""
    return f"{service}-{source}"


def volume_labels(service: str, source: str) -> dict[str, str]:
    """What a data volume carries: ``goship remove --purge`` selects by these, never by name."""
    return managed("data", service, **{LABEL_VOLUME: source})


def data_volumes(service: str, volumes: Sequence[VolumeConfig]) -> dict[str, dict[str, str]]:
    """The named volumes of ``volumes`` (host paths need no creating): engine name -> labels."""
    return {volume_name(service, v.source): volume_labels(service, v.source) for v in volumes if v.named}


def volume_binds(service: str, volumes: Sequence[VolumeConfig]) -> tuple[str, ...]:
    """app.volumes as the engine's ``Binds`` (``docker run -v``): ``NAME:TARGET[:ro]``
    with the service's volume name, host paths as written. Every container spec of
    the service (the app, a role's process) mounts the same data through this."""
    return tuple(
        f"{volume_name(service, v.source) if v.named else v.source}:{v.target}" + (":ro" if v.read_only else "")
        for v in volumes
    )


def marker_container(image: str, labels: Mapping[str, str], binds: tuple[str, ...] = ()) -> ContainerSpec:
    """A container that is created and never started: a lock, or the holder of a volume.

    It needs an image but runs nothing, so any image present will do.
    """
    return ContainerSpec(image=image, labels=dict(labels), network="none", binds=binds)
