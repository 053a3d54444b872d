"""An image already in the registry, found by tag or digest: what ``goship deploy --version`` deploys.

CI builds and pushes once; staging and production then deploy that same
digest. The tag is looked up once, here, and turned into its digest, so
every host pulls exactly the same bytes even if the tag moves meanwhile.
The labels goship's builders write (``org.opencontainers.image.version``
and ``.revision``) are read from the image config of this machine's
platform (or the first one of an index), for the release record.

The parsing is pure (``choose_platform``, ``image_labels``, ``parse_digest_reference``);
``find`` asks the registry through the one client.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from goship.errors import RegistryError
from goship.images.reference import Repository, parse_repository
from goship.registry.client import RegistryClient

#: What Docker accepts as a tag (the distribution spec's grammar).
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
#: What a version must look like to name containers (``<service>-<version>-<hex>``) and labels.
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
_CONFIG_TYPES = ("application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json")
VERSION_LABEL = "org.opencontainers.image.version"
REVISION_LABEL = "org.opencontainers.image.revision"


@dataclass(frozen=True)
class PushedImage:
    repository: Repository
    #: The manifest (or index) digest the tag named: what every host pulls.
    digest: str
    version: str
    revision: str
    #: The image config's digest for the platform read (what a local engine calls the image).
    config_digest: str
    platforms: tuple[str, ...]

    @property
    def reference(self) -> str:
        """``registry/repo@digest`` as a Docker engine pulls it."""
        return f"{self.repository.docker_name}@{self.digest}"

    @property
    def tag(self) -> str:
        return f"{self.repository.docker_name}:{self.version}"


def parse_digest_reference(text: str) -> tuple[Repository, str]:
    """``registry/repo@sha256:<hex>`` -> (repository, digest); ValueError saying what is wrong.

    A tag is refused: it names whatever was pushed last under it, and the
    point of ``--image`` is to deploy exactly one image.
    """
    name, at, digest = text.partition("@")
    if not at:
        raise ValueError("it names an image by tag, not by digest")
    if not DIGEST.fullmatch(digest):
        raise ValueError(f"{digest} is not a digest (sha256: and 64 lowercase hex digits)")
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]  # repo:tag@digest: the digest decides, as Docker reads it
    return parse_repository(name), digest


def choose_platform(index: dict[str, Any], arch: str) -> tuple[str | None, tuple[str, ...]]:
    """The child manifest of ``index`` for linux/``arch`` (else the first linux one, else the first),
    and every platform the index lists."""
    children = [m for m in index.get("manifests") or [] if isinstance(m, dict) and "digest" in m]
    platforms: list[tuple[str, str]] = []
    for child in children:
        platform = child.get("platform") or {}
        if not isinstance(platform, dict):
            continue
        if platform.get("os") == "unknown":  # attestations (BuildKit's provenance), not an image
            continue
        name = "/".join(str(platform[k]) for k in ("os", "architecture", "variant") if k in platform)
        platforms.append((str(child["digest"]), name))
    if not platforms:
        return (str(children[0]["digest"]) if children else None), ()
    names = tuple(name for _, name in platforms)
    exact = [digest for digest, name in platforms if name == f"linux/{arch}" or name.startswith(f"linux/{arch}/")]
    linux = [digest for digest, name in platforms if name.startswith("linux/")]
    return (exact or linux or [platforms[0][0]])[0], names


def image_labels(config: dict[str, Any]) -> dict[str, str]:
    labels = (config.get("config") or {}).get("Labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def version_of(labels: dict[str, str], digest: str) -> str:
    """The version an image was built as (its version label) when that can name a container,
    else the start of its digest."""
    label = labels.get(VERSION_LABEL, "")
    return label if _VERSION.fullmatch(label) else digest.removeprefix("sha256:")[:12]


def find(client: RegistryClient, repository: Repository, reference: str, arch: str) -> PushedImage:
    """The image ``reference`` (a tag or digest) names in ``repository``.

    RegistryNotFound when the registry has no such tag, digest or repository.
    The version is the tag when one was given, else the image's version label.
    """
    _, data, digest = client.get_manifest(repository.path, reference)
    document = _json(data, f"{repository}:{reference}")
    platforms: tuple[str, ...] = ()
    manifest = document
    if document.get("mediaType") in _INDEX_TYPES or "manifests" in document:
        child, platforms = choose_platform(document, arch)
        if child is None:
            raise RegistryError(f"{repository}:{reference} is an empty index: it holds no image")
        _, child_data, _ = client.get_manifest(repository.path, child)
        manifest = _json(child_data, f"{repository}@{child}")
    config = manifest.get("config") or {}
    if not isinstance(config, dict) or config.get("mediaType") not in _CONFIG_TYPES:
        raise RegistryError(
            f"{repository}:{reference} is not a container image (its config is {config.get('mediaType')!r})",
            hint="name an image goship (or docker) pushed; 'goship tags' lists them",
        )
    config_digest = str(config.get("digest", ""))
    labels = image_labels(_json(client.get_blob(repository.path, config_digest), f"config of {repository}:{reference}"))
    version = reference if not DIGEST.fullmatch(reference) else version_of(labels, digest)
    return PushedImage(repository, digest, version, labels.get(REVISION_LABEL, ""), config_digest, platforms)


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise RegistryError(f"the registry sent a malformed manifest for {what}")
    return document

