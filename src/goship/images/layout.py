"""Where a built image lives between stages, and the formats it leaves in.

``goship build`` writes the image as an OCI image layout under
``.goship/oci`` in the module; ``push`` and ``deploy`` read it back from
there, so each stage can also run alone. ``docker_archive`` turns the same
blobs into the tarball ``docker load`` reads (Docker before 25 cannot load
an OCI layout).
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterable
from pathlib import Path

from goship.errors import BuildError
from goship.images.oci import (
    MEDIA_INDEX,
    MEDIA_LAYER,
    MEDIA_MANIFEST,
    Artifact,
    Blob,
    Image,
    Index,
    Layer,
    canonical_json,
)

STATE_DIR = ".goship"
REF_ANNOTATION = "org.opencontainers.image.ref.name"


def state_dir(module_root: Path) -> Path:
    directory = module_root / STATE_DIR
    directory.mkdir(exist_ok=True)
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# goship's build state; never commit it\n*\n", encoding="utf-8")
    return directory


def _blob_path(layout: Path, digest: str) -> Path:
    algorithm, _, hexdigest = digest.partition(":")
    return layout / "blobs" / algorithm / hexdigest


Built = Image | Index  # what one build produces: an image, or one per platform


def _write_blob(layout: Path, blob: Blob, keep: set[str]) -> None:
    path = _blob_path(layout, blob.digest)
    keep.add(path.name)
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(blob.data)
        tmp.replace(path)


def all_blobs(built: Built) -> list[Blob]:
    """Every blob of ``built``, manifests included, each once."""
    images = built.images if isinstance(built, Index) else (built,)
    seen: dict[str, Blob] = {}
    for image in images:
        for blob in (image.manifest, *image.blobs):
            seen.setdefault(blob.digest, blob)
    if isinstance(built, Index):
        seen.setdefault(built.manifest.digest, built.manifest)
    return list(seen.values())


SBOM_ANNOTATION = "dev.goship.sboms"


def write_layout(
    layout: Path, built: Built, ref_name: str, artifacts: Iterable[Artifact] = (), *, prune: bool = False
) -> None:
    """Write ``built`` (and artifacts referring to it) into an OCI image layout.

    index.json gets exactly one entry for ``built`` (replacing one with the
    same ref name), so tools that expect one image per name (skopeo
    ``oci:DIR``, oci-image-tool) read it as they read any layout. The SBOM
    artifacts are stored as blobs and named in an annotation of that entry.
    ``prune`` (goship's own .goship/oci only) leaves nothing else behind;
    a layout the user names keeps its other images and blobs.
    """
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))
    keep: set[str] = set()
    for blob in all_blobs(built):
        _write_blob(layout, blob, keep)
    artifacts = list(artifacts)
    for artifact in artifacts:
        for blob in (artifact.manifest, *artifact.blobs):
            _write_blob(layout, blob, keep)
    annotations = {REF_ANNOTATION: ref_name}
    if artifacts:
        annotations[SBOM_ANNOTATION] = ",".join(artifact.digest for artifact in artifacts)
    others: list[dict[str, object]] = []
    if not prune:
        try:
            existing = json.loads((layout / "index.json").read_bytes()).get("manifests", [])
        except (OSError, ValueError):
            existing = []
        others = [d for d in existing if d.get("annotations", {}).get(REF_ANNOTATION) != ref_name]
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [*others, built.manifest.descriptor(annotations=annotations)],
    }
    tmp_index = layout / "index.json.tmp"
    tmp_index.write_bytes(canonical_json(index))
    tmp_index.replace(layout / "index.json")
    if prune:
        for stale in (layout / "blobs" / "sha256").iterdir():
            if stale.name not in keep:
                stale.unlink()


def _read_image(layout: Path, digest: str, media_type: str = MEDIA_MANIFEST) -> Image:
    manifest_data = _blob_path(layout, digest).read_bytes()
    manifest = json.loads(manifest_data)
    config_data = _blob_path(layout, manifest["config"]["digest"]).read_bytes()
    config = json.loads(config_data)
    diff_ids = config["rootfs"]["diff_ids"]
    history = [h.get("created_by", "") for h in config.get("history", []) if not h.get("empty_layer")]
    layers = tuple(
        Layer(
            Blob(item.get("mediaType", MEDIA_LAYER), _blob_path(layout, item["digest"]).read_bytes()),
            diff_ids[i],
            history[i] if i < len(history) else "",
        )
        for i, item in enumerate(manifest["layers"])
    )
    image = Image(Blob(media_type, manifest_data), Blob(manifest["config"]["mediaType"], config_data), layers)
    if image.digest != digest:
        raise ValueError(f"manifest {digest[:19]} does not match its digest")
    return image


def _read_artifact(layout: Path, digest: str) -> Artifact:
    data = _blob_path(layout, digest).read_bytes()
    manifest = json.loads(data)
    payload = manifest["layers"][0]
    return Artifact(
        Blob(MEDIA_MANIFEST, data),
        manifest["artifactType"],
        Blob(payload["mediaType"], _blob_path(layout, payload["digest"]).read_bytes()),
        manifest["subject"]["digest"],
    )


def read_layout(layout: Path) -> tuple[Built, str, list[Artifact]]:
    """What ``write_layout`` wrote: the image or index, its ref name, its artifacts."""
    try:
        index = json.loads((layout / "index.json").read_bytes())
        descriptors = index["manifests"]
        named = [d for d in descriptors if REF_ANNOTATION in d.get("annotations", {}) and not d.get("artifactType")]
        top = named[-1]  # the newest entry: write_layout appends
        built: Built
        if top.get("mediaType") == MEDIA_INDEX:
            data = _blob_path(layout, top["digest"]).read_bytes()
            children = json.loads(data)["manifests"]
            built = Index(
                Blob(MEDIA_INDEX, data),
                tuple(_read_image(layout, child["digest"], child.get("mediaType", MEDIA_MANIFEST)) for child in children),
            )
            if built.digest != top["digest"]:
                raise ValueError("index does not match its digest")
        else:
            built = _read_image(layout, top["digest"], top.get("mediaType", MEDIA_MANIFEST))
        listed = top.get("annotations", {}).get(SBOM_ANNOTATION, "")
        artifacts = [_read_artifact(layout, digest) for digest in listed.split(",") if digest]
    except (OSError, KeyError, IndexError, ValueError) as exc:
        raise BuildError(
            f"no usable image in {layout} ({exc.__class__.__name__}: {exc})",
            hint="run 'goship build' first",
        ) from None
    return built, top["annotations"][REF_ANNOTATION], artifacts


def docker_archive(image: Image, repo_tags: list[str]) -> bytes:
    """The ``docker save`` format, which every Docker version can ``load``."""
    buffer = io.BytesIO()

    def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))

    config_name = f"blobs/sha256/{image.config.digest.split(':', 1)[1]}"
    layer_names = [f"blobs/sha256/{layer.blob.digest.split(':', 1)[1]}" for layer in image.layers]
    manifest = [{"Config": config_name, "RepoTags": repo_tags, "Layers": layer_names}]
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        add(tar, "manifest.json", json.dumps(manifest).encode())
        add(tar, config_name, image.config.data)
        for name, layer in zip(layer_names, image.layers, strict=True):
            add(tar, name, layer.blob.data)
    return buffer.getvalue()
