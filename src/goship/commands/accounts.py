"""Registry logins and listings as a library API: goship login, logout, tags.

The registry defaults to the one of ``image:`` in goship.yaml, and then its
``registry:`` settings (``insecure``, ``ca_file``) apply; a login is checked
against the registry (``/v2/``, answering its challenge) before it is stored,
so a wrong password writes nothing.
"""

from __future__ import annotations

from goship.errors import ConfigError
from goship.images.reference import parse_repository
from goship.project import Project
from goship.registry import credentials
from goship.registry.access import RegistrySettings, open_client, settings_for
from goship.registry.credentials import Credentials

__all__ = ["RegistrySettings", "login", "logout", "open_client", "settings", "tags"]


def settings(project: Project | None, registry: str | None = None) -> RegistrySettings:
    """Where and how to reach ``registry`` (default: the registry of ``image:``)."""
    configured = None
    if project is not None and project.config.image:
        try:
            configured = parse_repository(project.config.image).registry
        except ValueError as exc:
            raise ConfigError(f"{project.config_path}: image: {exc}") from None
    registry = registry or configured
    if registry is None:
        raise ConfigError(
            "no registry given, and 'image' is not set in goship.yaml",
            hint="name it: goship login registry.example.com",
        )
    if project is None:
        return RegistrySettings(registry)
    return settings_for(registry, project.config.registry, project.config.image, project.root)


def login(where: RegistrySettings, login: Credentials) -> str:
    """Check ``login`` against the registry, then store it; return where it was stored."""
    with open_client(where, login) as client:
        client.check()
    return credentials.store(where.registry, login)


def logout(registry: str) -> bool:
    """Forget the stored login for ``registry``; False when there was none."""
    return credentials.erase(registry)


def tags(project: Project) -> tuple[str, list[str]]:
    """The repository of ``image:`` and its tags, as the registry lists them."""
    if not project.config.image:
        raise ConfigError("'image' is not set in goship.yaml", hint="add e.g. 'image: registry.example.com/team/app'")
    try:
        repository = parse_repository(project.config.image)
    except ValueError as exc:
        raise ConfigError(f"{project.config_path}: image: {exc}") from None
    with open_client(settings(project)) as client:
        return str(repository), client.list_tags(repository.path)
