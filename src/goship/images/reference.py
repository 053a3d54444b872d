"""Image references: which registry, which repository, which tag or digest."""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "registry-1.docker.io"
#: The names Docker Hub goes by in image references; its API is at DOCKER_HUB.
HUB_NAMES = ("docker.io", "index.docker.io", "registry-1.docker.io")
_REPO_PART = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


@dataclass(frozen=True)
class Repository:
    registry: str  # host[:port]
    path: str  # team/app

    def __str__(self) -> str:
        return f"{self.registry}/{self.path}"

    def tagged(self, tag: str) -> str:
        return f"{self}:{tag}"

    def by_digest(self, digest: str) -> str:
        return f"{self}@{digest}"

    @property
    def docker_name(self) -> str:
        """The name a Docker engine pulls it by: Docker Hub's repositories as docker.io/..."""
        return docker_name(self.registry, self.path)


def docker_name(registry: str, path: str) -> str:
    return f"docker.io/{path}" if registry == DOCKER_HUB else f"{registry}/{path}"


def parse_repository(text: str) -> Repository:
    """``10.0.0.1:5000/team/app`` -> Repository; Docker Hub names are expanded."""
    if "@" in text or not text:
        raise ValueError(f"{text!r}: expected a repository without tag or digest")
    first, _, rest = text.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = DOCKER_HUB, text
    if registry in HUB_NAMES:
        # docker.io/nginx is docker.io/library/nginx, as Docker reads it.
        registry, path = DOCKER_HUB, path if "/" in path else f"library/{path}"
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        raise ValueError(f"{text!r}: give the repository without a tag; goship picks the tag")
    for part in path.split("/"):
        if not _REPO_PART.match(part):
            raise ValueError(f"{text!r}: {part!r} is not a valid repository name component")
    return Repository(registry, path)


def split_reference(ref: str) -> tuple[str, str]:
    """``reg:5000/app@sha256:..`` -> (``reg:5000/app``, ``sha256:..``); ``app:1`` -> (``app``, ``1``);
    no tag -> ``latest``. The name is returned as written (not checked, not expanded)."""
    if "@" in ref:
        name, _, digest = ref.partition("@")
        return name, digest
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1 :]
    return ref, "latest"
