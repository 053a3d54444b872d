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
from pathlib import Path

from goship.build.oci import (
    MEDIA_INDEX,
    MEDIA_LAYER,
    MEDIA_MANIFEST,
    Blob,
    Image,
    Layer,
    canonical_json,
)
from goship.errors import BuildError

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


def write_layout(layout: Path, image: Image, ref_name: str) -> None:
    """Write ``image`` as the only image of an OCI layout at ``layout``."""
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))
    keep = set()
    for blob in (image.manifest, *image.blobs):
        path = _blob_path(layout, blob.digest)
        keep.add(path.name)
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(blob.data)
            tmp.replace(path)
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [image.manifest.descriptor(annotations={REF_ANNOTATION: ref_name})],
    }
    tmp_index = layout / "index.json.tmp"
    tmp_index.write_bytes(canonical_json(index))
    tmp_index.replace(layout / "index.json")
    for stale in (layout / "blobs" / "sha256").iterdir():
        if stale.name not in keep:
            stale.unlink()


def read_layout(layout: Path) -> tuple[Image, str]:
    """The image written by ``write_layout`` and its ref name."""
    try:
        index = json.loads((layout / "index.json").read_bytes())
        descriptor = index["manifests"][0]
        manifest_data = _blob_path(layout, descriptor["digest"]).read_bytes()
        manifest = json.loads(manifest_data)
        config_data = _blob_path(layout, manifest["config"]["digest"]).read_bytes()
        config = json.loads(config_data)
        diff_ids = config["rootfs"]["diff_ids"]
        history = [h.get("created_by", "") for h in config.get("history", [])]
        layers = tuple(
            Layer(
                Blob(item.get("mediaType", MEDIA_LAYER), _blob_path(layout, item["digest"]).read_bytes()),
                diff_ids[i],
                history[i] if i < len(history) else "",
            )
            for i, item in enumerate(manifest["layers"])
        )
    except (OSError, KeyError, IndexError, ValueError) as exc:
        raise BuildError(
            f"no usable image in {layout} ({exc.__class__.__name__}: {exc})",
            hint="run 'goship build' first",
        ) from None
    image = Image(
        Blob(descriptor.get("mediaType", MEDIA_MANIFEST), manifest_data),
        Blob(manifest["config"]["mediaType"], config_data),
        layers,
    )
    if image.digest != descriptor["digest"]:
        raise BuildError(f"{layout}: manifest does not match its digest; rebuild with 'goship build'")
    return image, descriptor.get("annotations", {}).get(REF_ANNOTATION, "")


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
