"""Registry credentials, looked up the way docker does, never printed.

Order: GOSHIP_REGISTRY_USERNAME/PASSWORD (CI), then ~/.docker/config.json
(``credHelpers``, ``credsStore``, then ``auths``).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from goship.errors import RegistryError
from goship.registry.reference import DOCKER_HUB


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)  # never in a repr, a log or an error


def docker_config_path() -> Path:
    directory = os.environ.get("DOCKER_CONFIG")
    return (Path(directory) if directory else Path.home() / ".docker") / "config.json"


def _hub_keys(registry: str) -> list[str]:
    if registry == DOCKER_HUB:
        return ["https://index.docker.io/v1/", "index.docker.io", "docker.io", registry]
    return [registry, f"https://{registry}", f"http://{registry}"]


def _from_helper(helper: str, registry: str) -> Credentials | None:
    program = shutil.which(f"docker-credential-{helper}")
    if program is None:
        raise RegistryError(
            f"docker config names credential helper '{helper}', but docker-credential-{helper} is not on PATH",
            hint="install the helper, or remove it from ~/.docker/config.json",
        )
    proc = subprocess.run([program, "get"], input=registry, capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        return None  # "credentials not found in native keychain"
    data = json.loads(proc.stdout)
    return Credentials(data.get("Username", ""), data.get("Secret", ""))


def lookup(registry: str, username: str | None = None) -> Credentials | None:
    env_user = os.environ.get("GOSHIP_REGISTRY_USERNAME") or username
    env_password = os.environ.get("GOSHIP_REGISTRY_PASSWORD")
    if env_user and env_password is not None:
        return Credentials(env_user, env_password)
    path = docker_config_path()
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise RegistryError(f"cannot read {path}: {exc}") from None
    keys = _hub_keys(registry)
    helpers = config.get("credHelpers", {})
    for key in keys:
        if key in helpers:
            return _from_helper(helpers[key], key)
    auths = config.get("auths", {})
    if config.get("credsStore"):
        for key in keys:
            found = _from_helper(config["credsStore"], key)
            if found:
                return found
    for key in keys:
        entry = auths.get(key)
        if entry and entry.get("auth"):
            user, _, password = base64.b64decode(entry["auth"]).decode("utf-8").partition(":")
            return Credentials(user, password)
    return None
