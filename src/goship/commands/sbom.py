"""``goship sbom``: find the SBOM (SPDX or CycloneDX) attached to an image and read it.

For the last local build it comes from ``.goship/oci``; for a reference in
a registry it is found through the referrers of the platform's manifest
(the registry's referrers API, or the ``sha256-<hex>`` fallback tag).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from goship.builders.image import host_arch, last_build
from goship.builders.sbom import convert
from goship.errors import GoshipError, RegistryError
from goship.images.oci import MEDIA_INDEX, SBOM_MEDIA, platform_of
from goship.images.reference import parse_repository, split_reference
from goship.project import Project
from goship.registry.access import RegistrySettings, open_client, settings_for
from goship.registry.publish import referrers

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


@dataclass(frozen=True)
class SBOM:
    subject: str  # the image manifest digest the SBOM describes
    platform: str
    document: dict[str, Any]  # SPDX or CycloneDX JSON, as parsed

    def as_format(self, format: str) -> dict[str, Any]:
        """The document in ``format`` (spdx or cyclonedx), converted when it is the other."""
        return convert(self.document, format)

    def packages(self) -> list[tuple[str, str, str]]:
        """(name, version, purl) of each package, main module first."""
        document = self.as_format("spdx")
        rows = []
        for package in document.get("packages", []):
            refs = package.get("externalRefs", [])
            purl = next((r["referenceLocator"] for r in refs if r.get("referenceType") == "purl"), "")
            rows.append((package.get("name", ""), package.get("versionInfo", ""), purl))
        return rows


def default_platform() -> str:
    return f"linux/{host_arch()}"


def local_sboms(project: Project) -> list[SBOM]:
    built = last_build(project)
    by_digest = {image.digest: platform_of(image) for image in built.images}
    found = [
        SBOM(a.subject_digest, by_digest.get(a.subject_digest, "?"), json.loads(a.payload.data))
        for a in built.sboms
        if a.artifact_type in SBOM_MEDIA.values()
    ]
    if not found:
        raise GoshipError(
            f"the last build of {project.service} ({built.version}) has no SBOM",
            hint="build.sbom is off, or the image's entrypoint is not a Go binary",
        )
    return found


def _split_reference(text: str) -> tuple[str, str, str]:
    """``host/repo:tag`` or ``host/repo@sha256:...`` -> (registry, path, reference)."""
    name, reference = split_reference(text)
    if "@" in text and not re.fullmatch(r"sha256:[0-9a-f]{64}", reference):
        raise ValueError(f"{reference!r} is not a digest (sha256: and 64 hex digits)")
    repository = parse_repository(name)
    return repository.registry, repository.path, reference


def remote_sboms(text: str, project: Project | None = None) -> list[SBOM]:
    """The SBOMs attached to image ``text`` in its registry (goship.yaml's ``registry:`` settings
    apply when it is the registry of ``image:``)."""
    try:
        registry, path, reference = _split_reference(text)
    except ValueError as exc:
        raise GoshipError(f"{text!r} is not an image reference: {exc}", hint="e.g. registry.example.com/team/app:v1") from None
    where = (
        settings_for(registry, project.config.registry, project.config.image, project.root)
        if project is not None else RegistrySettings(registry)
    )
    with open_client(where) as client:
        media_type, data, digest = client.get_manifest(path, reference)
        manifest = json.loads(data)
        if media_type in (MEDIA_INDEX, DOCKER_LIST) or "manifests" in manifest:
            subjects = [
                (m["digest"], "/".join(m["platform"][k] for k in ("os", "architecture", "variant") if k in m["platform"]))
                for m in manifest["manifests"]
                if "platform" in m
            ]
        else:
            config = json.loads(client.get_blob(path, manifest["config"]["digest"]))
            subjects = [(digest, f"{config.get('os', '?')}/{config.get('architecture', '?')}")]
        found = []
        for subject, platform in subjects:
            for descriptor in referrers(client, path, subject):
                if descriptor.get("artifactType") not in SBOM_MEDIA.values():
                    continue
                _, artifact_data, _ = client.get_manifest(path, str(descriptor["digest"]))
                layer = json.loads(artifact_data)["layers"][0]
                found.append(SBOM(subject, platform, json.loads(client.get_blob(path, layer["digest"]))))
    if not found:
        raise RegistryError(
            f"no SBOM is attached to {text}",
            hint="push it with goship (build.sbom: spdx or cyclonedx), which attaches an SBOM to each image",
        )
    return found


def choose(sboms: list[SBOM], platform: str | None) -> list[SBOM]:
    if platform is None:
        return sboms
    chosen = [s for s in sboms if s.platform == platform]
    if not chosen:
        raise GoshipError(
            f"no SBOM for platform {platform}",
            hint=f"platforms with an SBOM: {', '.join(s.platform for s in sboms)}",
        )
    return chosen
