"""Which docker client builds: the first on PATH that can drive BuildKit.

BuildKit comes either from the buildx plugin (``docker buildx build
--load``) or, on clients older than 23.0, from ``DOCKER_BUILDKIT=1 docker
build``. Newer clients without buildx have no BuildKit at all, so every
``docker`` on PATH is considered, not only the first.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

from goship import process
from goship.errors import ProcessError, ToolError


@dataclass(frozen=True)
class DockerClient:
    path: str
    mode: str  # "buildx" or "classic" (DOCKER_BUILDKIT=1 docker build)


def _docker_candidates() -> Iterator[str]:
    seen: set[str] = set()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        found = shutil.which("docker", path=directory) if directory else None
        if found and os.path.realpath(found) not in seen:
            seen.add(os.path.realpath(found))
            yield found


def _client_major(docker: str) -> int | None:
    try:
        out = process.run([docker, "--version"], timeout=30, check=False).text
    except ProcessError:
        return None
    match = re.search(r"version (\d+)\.", out)
    return int(match.group(1)) if match else None


def find_buildkit_client() -> DockerClient:
    """The first docker client on PATH that can drive BuildKit."""
    candidates = list(_docker_candidates())
    if not candidates:
        raise ToolError(
            "the docker builder needs the docker command, which is not on PATH",
            hint="install Docker (Docker Desktop on Windows/macOS), or use build.builder: native",
        )
    for docker in candidates:
        try:
            if process.run([docker, "buildx", "version"], timeout=30, check=False).returncode == 0:
                return DockerClient(docker, "buildx")
        except ProcessError:
            continue
        major = _client_major(docker)
        if major is not None and major < 23:
            return DockerClient(docker, "classic")
    raise ToolError(
        f"no docker client with BuildKit: {', '.join(candidates)} lack(s) the buildx plugin",
        hint="install docker-buildx (Debian/Ubuntu: docker-buildx-plugin or docker-buildx), or use build.builder: native",
    )
