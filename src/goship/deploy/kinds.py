"""Target kinds: which module implements ``targets.NAME.kind`` of goship.yaml.

``local`` (this machine's engine) is what the target name ``local`` means
when goship.yaml does not define it; ``hosts`` (Docker hosts over SSH) is
the default kind. A new kind is a module implementing ``Target`` and one
``register`` call.
"""

from __future__ import annotations

from collections.abc import Callable

from goship.config import LOCAL_TARGET
from goship.config.names import TARGET_KINDS
from goship.deploy.fleet import DockerHosts
from goship.deploy.target import Target, TargetContext
from goship.deploy.targets import local_host, resolve_target, unknown_target
from goship.errors import ConfigError
from goship.project import Project

#: Opens target ``name`` of ``project``; nothing needs to connect yet.
Factory = Callable[[Project, str, TargetContext], Target]


def _local(project: Project, name: str, context: TargetContext) -> Target:
    return DockerHosts(project, name, [local_host(project, context.connect_local)], context)


def _hosts(project: Project, name: str, context: TargetContext) -> Target:
    hosts = resolve_target(project, name, context.connect_local, context.connect_ssh)
    return DockerHosts(project, name, hosts, context)


_FACTORIES: dict[str, Factory] = {"local": _local, "hosts": _hosts}


def register(kind: str, factory: Factory) -> None:
    """Make ``kind`` a valid ``targets.NAME.kind``, opened by ``factory``."""
    _FACTORIES[kind] = factory
    TARGET_KINDS.add(kind)


def unregister(kind: str) -> None:
    """Forget a kind ``register`` added (the built-in ones stay)."""
    if kind not in ("local", "hosts"):
        _FACTORIES.pop(kind, None)
        TARGET_KINDS.discard(kind)


def open_target(project: Project, name: str, context: TargetContext) -> Target:
    """Target ``name`` of goship.yaml, or ``local`` (this machine) when goship.yaml has none of that name."""
    config = project.config.targets.get(name)
    if config is None:
        if name != LOCAL_TARGET:
            raise unknown_target(project, name)
        return _FACTORIES["local"](project, name, context)
    factory = _FACTORIES.get(config.kind)
    if factory is None:  # a kind registered when goship.yaml was read, and forgotten since
        raise ConfigError(
            f"targets.{name}.kind: no deploy target of kind {config.kind!r} is registered",
            hint=f"kinds: {', '.join(sorted(_FACTORIES))}",
            file=str(project.config_path) if project.config_path else None,
            key=f"targets.{name}.kind",
        )
    return factory(project, name, context)
