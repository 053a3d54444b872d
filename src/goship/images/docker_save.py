"""Images a Docker engine built, read as goship's OCI values.

``read_image`` turns a ``docker save`` tarball (one image) into an OCI
image with gzip layers, so a Dockerfile build is pushed, scanned and
deployed like a native one; ``entrypoint_binary`` reads the file such an
image runs out of its layers (the docker builder's SBOM describes it).
Pure: bytes in, values out.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile

from goship.errors import BuildError
from goship.images import oci


def read_image(archive: bytes, tag: str) -> oci.Image:
    """The image of a ``docker save`` archive of ``tag`` (named in errors) as an OCI image with gzip layers."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        def read(name: str) -> bytes:
            member = tar.extractfile(name)
            if member is None:
                raise BuildError(f"docker save {tag}: {name} missing from the archive")
            return member.read()

        manifest = json.loads(read("manifest.json"))[0]
        config = read(manifest["Config"])
        layers = []
        history = [h for h in json.loads(config).get("history", []) if not h.get("empty_layer")]
        for i, name in enumerate(manifest["Layers"]):
            raw = read(name)
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            created_by = history[i].get("created_by", "") if i < len(history) else ""
            layers.append(oci.Layer(oci.Blob(oci.MEDIA_LAYER, oci.gzip_bytes(raw)), oci.sha256_digest(raw), created_by))
    config_blob = oci.Blob(oci.MEDIA_CONFIG, config)
    document = {
        "schemaVersion": 2,
        "mediaType": oci.MEDIA_MANIFEST,
        "config": config_blob.descriptor(),
        "layers": [layer.blob.descriptor() for layer in layers],
    }
    return oci.Image(oci.Blob(oci.MEDIA_MANIFEST, oci.canonical_json(document)), config_blob, tuple(layers))


def entrypoint_binary(image: oci.Image) -> bytes | None:
    """The file the image runs (ENTRYPOINT, else CMD), read from its layers."""
    config = json.loads(image.config.data).get("config") or {}
    command = (config.get("Entrypoint") or []) + (config.get("Cmd") or [])
    if not command:
        return None
    path = command[0]
    if not path.startswith("/"):
        path = f"{(config.get('WorkingDir') or '/').rstrip('/')}/{path.removeprefix('./')}"
    wanted = path.lstrip("/")
    found: bytes | None = None
    for layer in image.layers:  # a later layer's copy wins
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer.blob.data))) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.lstrip("./") == wanted:
                    extracted = tar.extractfile(member)
                    found = extracted.read() if extracted else found
    return found
