"""The one place a registry client is made from goship.yaml: which settings
apply to a registry, the client, and the pull credentials a host gets.

``registry:`` in goship.yaml (insecure, ca_file, username) belongs to the
registry of ``image:``; any other registry is reached with defaults (TLS
verified, the system's CAs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from goship.config.model import RegistryConfig
from goship.engine.client import registry_auth, token_auth
from goship.images.reference import parse_repository
from goship.registry import credentials
from goship.registry.client import RegistryClient
from goship.registry.credentials import Credentials


@dataclass(frozen=True)
class RegistrySettings:
    registry: str
    insecure: bool = False
    ca_file: Path | None = None
    username: str | None = None  # registry.username from goship.yaml


def settings_for(registry: str, config: RegistryConfig, image: str | None, root: Path | None) -> RegistrySettings:
    """The settings for ``registry``: goship.yaml's when it is the registry of ``image``."""
    if registry != own_registry(image):
        return RegistrySettings(registry)
    ca_file = Path(config.ca_file) if config.ca_file else None
    if ca_file is not None and root is not None and not ca_file.is_absolute():
        ca_file = root / ca_file
    return RegistrySettings(registry, config.insecure, ca_file, config.username)


def own_registry(image: str | None) -> str | None:
    """The registry of goship.yaml's ``image``, whose ``registry:`` settings apply."""
    try:
        return parse_repository(image).registry if image else None
    except ValueError:
        return None


def open_client(
    where: RegistrySettings, login: Credentials | None = None, transport: httpx.BaseTransport | None = None
) -> RegistryClient:
    """A client for ``where``; credentials are looked up (environment, helpers, docker config) unless given."""
    found = login if login is not None else credentials.lookup(where.registry, where.username)
    return RegistryClient(
        where.registry, insecure=where.insecure, ca_file=where.ca_file, credentials=found, transport=transport
    )


def pull_auth(where: RegistrySettings, repository: str, transport: httpx.BaseTransport | None = None) -> str | None:
    """X-Registry-Auth for a host's pull of ``repository`` on ``where``.

    Where the registry has a token service, it is a token that may pull this
    repository and nothing else, obtained with the deployer's credentials
    (environment, credential helper or docker config); otherwise those
    credentials themselves. Either way it travels in the request to the
    host's engine, which keeps it nowhere: not on the host's disk, not in a
    process argument, not in goship's output.
    """
    found = credentials.lookup(where.registry, where.username)
    if found is None:
        return None
    server = credentials.config_key(where.registry)
    with open_client(where, found, transport) as client:
        token = client.pull_token(repository)
    if token is not None:
        return token_auth(token, server)
    return registry_auth(found.username, found.password, server)
