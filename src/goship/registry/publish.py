"""Publishing a build: images, the multi-arch index, tags and SBOM referrers.

The order is what keeps a registry consistent when a push is cut short:
blobs first, then each platform's manifest by digest, then the index, and
only then the tags people pull. Referrers (SBOMs) come last, since their
``subject`` must already exist. Registries without the OCI 1.1 referrers
API get the fallback the spec defines: an index under the tag
``sha256-<hex of the subject>`` listing the artifacts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from goship.errors import RegistryError, RegistryNotFound
from goship.images.layout import Built
from goship.images.oci import MEDIA_INDEX, Artifact, Blob, Image, Index, canonical_json
from goship.images.reference import docker_name
from goship.registry.client import PushResult, RegistryClient


def _images(built: Built) -> tuple[Image, ...]:
    return built.images if isinstance(built, Index) else (built,)


def push_built(
    client: RegistryClient,
    repository: str,
    built: Built,
    tags: Sequence[str],
    artifacts: Iterable[Artifact] = (),
    mount_from: Sequence[str] = (),
) -> PushResult:
    """Upload what the registry lacks (mounting it from ``mount_from``
    repositories when they have it), then manifests, the index, tags, referrers."""
    images = _images(built)
    blobs: dict[str, Blob] = {}
    for image in images:
        for blob in image.blobs:
            blobs.setdefault(blob.digest, blob)
    artifacts = list(artifacts)
    for artifact in artifacts:
        for blob in artifact.blobs:
            blobs.setdefault(blob.digest, blob)
    uploaded = uploaded_bytes = skipped = mounted = 0
    sources = list(mount_from)
    for blob in blobs.values():
        if client.blob_exists(repository, blob.digest):
            skipped += 1
            continue
        source = next((s for s in sources if _has_blob(client, s, blob.digest)), None)
        if source is not None and client.mount_blob(repository, blob.digest, source):
            mounted += 1
            continue
        client.upload_blob(repository, blob)
        uploaded += 1
        uploaded_bytes += blob.size
    for image in images:
        client.put_manifest(repository, image.digest, image.manifest)
    if isinstance(built, Index):
        client.put_manifest(repository, built.digest, built.manifest)
    for tag in tags:
        client.put_manifest(repository, tag, built.manifest)
    for artifact in artifacts:
        attach(client, repository, artifact)
    return PushResult(
        f"{docker_name(client.registry, repository)}@{built.digest}", built.digest, uploaded_bytes, uploaded, skipped,
        mounted,
    )


def _has_blob(client: RegistryClient, repository: str, digest: str) -> bool:
    """Whether another repository has the blob; one we may not read has not."""
    try:
        return client.blob_exists(repository, digest)
    except RegistryError:
        return False


def fallback_tag(subject_digest: str) -> str:
    """The tag OCI 1.1 assigns to a subject's referrers list: sha256-<hex>."""
    algorithm, _, hexdigest = subject_digest.partition(":")
    return f"{algorithm}-{hexdigest}"


def _referrers_api(client: RegistryClient, repository: str, subject_digest: str) -> list[dict[str, object]] | None:
    """The referrers the registry lists itself; None if it has no such API."""
    response = client.request(
        "GET",
        f"{client.base}/v2/{repository}/referrers/{subject_digest}",
        scope=f"repository:{repository}:pull",
        headers={"Accept": MEDIA_INDEX},
    )
    if response.status_code == 200 and MEDIA_INDEX in response.headers.get("Content-Type", ""):
        return list(response.json().get("manifests", []))
    return None


def _fallback_index(client: RegistryClient, repository: str, subject_digest: str) -> list[dict[str, object]]:
    try:
        _, data, _ = client.get_manifest(repository, fallback_tag(subject_digest), accept=MEDIA_INDEX)
    except RegistryNotFound:
        return []
    return list(json.loads(data).get("manifests", []))


def attach(client: RegistryClient, repository: str, artifact: Artifact) -> None:
    """Push ``artifact``'s manifest and make it findable from its subject."""
    client.put_manifest(repository, artifact.digest, artifact.manifest)
    if _referrers_api(client, repository, artifact.subject_digest) is not None:
        return  # the registry indexes the subject field itself
    listed = _fallback_index(client, repository, artifact.subject_digest)
    if any(item.get("digest") == artifact.digest for item in listed):
        return
    descriptor = artifact.manifest.descriptor(artifactType=artifact.artifact_type)
    manifest = json.loads(artifact.manifest.data)
    if manifest.get("annotations"):
        descriptor["annotations"] = manifest["annotations"]
    index = {"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": [*listed, descriptor]}
    client.put_manifest(repository, fallback_tag(artifact.subject_digest), Blob(MEDIA_INDEX, canonical_json(index)))


def referrers(client: RegistryClient, repository: str, subject_digest: str) -> list[dict[str, object]]:
    """Descriptors of the artifacts that refer to ``subject_digest``."""
    listed = _referrers_api(client, repository, subject_digest)
    return listed if listed is not None else _fallback_index(client, repository, subject_digest)
