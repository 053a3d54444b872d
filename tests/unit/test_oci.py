"""Image assembly is deterministic and produces what the issue specifies."""

import gzip
import io
import json
import tarfile

import pytest

from goship.errors import BuildError
from goship.images import docker_save, oci
from goship.images.layout import REF_ANNOTATION, docker_archive, read_layout, write_layout


def _spec(**overrides):
    values = {
        "os": "linux", "architecture": "amd64", "variant": None, "entrypoint": ("/usr/local/bin/hello",),
        "port": 8080, "created": 1700000000, "labels": {"org.opencontainers.image.version": "abc"},
    }
    values.update(overrides)
    return oci.ImageSpec(**values)


def _image(binary=b"\x7fELF binary"):
    base = oci.make_layer(oci.base_entries(b"CA"), 1700000000, "base")
    app = oci.make_layer(oci.app_entries("hello", binary), 1700000000, "app")
    return oci.assemble(_spec(), (base, app))


def _members(layer):
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer.blob.data))) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_same_input_same_digest():
    assert _image().digest == _image().digest
    assert _image().digest != _image(b"other").digest


def test_code_change_changes_only_the_app_layer():
    one, two = _image(b"v1"), _image(b"v2")
    assert one.layers[0].blob.digest == two.layers[0].blob.digest
    assert one.layers[1].blob.digest != two.layers[1].blob.digest


def test_base_layer_has_nonroot_user_ca_and_sticky_tmp():
    members = _members(_image().layers[0])
    assert members["tmp"].mode == 0o1777 and members["tmp"].isdir()
    assert members["etc/ssl/certs/ca-certificates.crt"].size == 2
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(_image().layers[0].blob.data))) as tar:
        passwd = tar.extractfile("etc/passwd").read().decode()
    assert "nonroot:x:65532:65532:" in passwd
    assert all(m.mtime == 1700000000 for m in members.values())


def test_gzip_header_carries_no_time():
    data = _image().layers[1].blob.data
    assert data[4:8] == b"\0\0\0\0"


def test_config_runs_as_nonroot_with_entrypoint_and_port():
    image = _image()
    config = json.loads(image.config.data)
    assert config["config"]["User"] == "65532:65532"
    assert config["config"]["Entrypoint"] == ["/usr/local/bin/hello"]
    assert config["config"]["ExposedPorts"] == {"8080/tcp": {}}
    assert config["rootfs"]["diff_ids"] == [layer.diff_id for layer in image.layers]
    assert config["created"] == "2023-11-14T22:13:20Z"
    manifest = json.loads(image.manifest.data)
    assert manifest["mediaType"] == oci.MEDIA_MANIFEST
    assert [l["digest"] for l in manifest["layers"]] == [l.blob.digest for l in image.layers]


def test_layout_round_trip(tmp_path):
    image = _image()
    write_layout(tmp_path / "oci", image, "abc")
    again, ref, artifacts = read_layout(tmp_path / "oci")
    assert (again.digest, ref, artifacts) == (image.digest, "abc", [])
    assert [l.diff_id for l in again.layers] == [l.diff_id for l in image.layers]
    # goship's own layout keeps only the newest build ...
    write_layout(tmp_path / "oci", _image(b"new"), "def", prune=True)
    assert len(list((tmp_path / "oci/blobs/sha256").iterdir())) == 4
    # ... a layout the user names keeps its other images, and a rebuilt ref replaces its entry.
    write_layout(tmp_path / "oci", _image(b"newer"), "ghi")
    write_layout(tmp_path / "oci", _image(b"newest"), "ghi")
    names = [d["annotations"][REF_ANNOTATION] for d in json.loads((tmp_path / "oci/index.json").read_text())["manifests"]]
    assert names == ["def", "ghi"]
    assert read_layout(tmp_path / "oci")[0].digest == _image(b"newest").digest


def test_docker_archive_lists_config_and_layers():
    image = _image()
    with tarfile.open(fileobj=io.BytesIO(docker_archive(image, ["hello:abc"]))) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        names = tar.getnames()
    assert manifest[0]["RepoTags"] == ["hello:abc"]
    assert manifest[0]["Config"] in names
    assert all(layer in names for layer in manifest[0]["Layers"])


def _saved(image, layer_data):
    """A ``docker save`` archive of ``image`` whose layers are ``layer_data(layer)``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        names = [f"{i}/layer.tar" for i in range(len(image.layers))]
        add("manifest.json", json.dumps([{"Config": "config.json", "RepoTags": ["hello:abc"], "Layers": names}]).encode())
        add("config.json", image.config.data)
        for name, layer in zip(names, image.layers, strict=True):
            add(name, layer_data(layer))
    return buffer.getvalue()


def test_docker_save_reads_back_as_the_same_oci_image():
    image = _image()
    assert docker_save.read_image(docker_archive(image, ["hello:abc"]), "hello:abc") == image
    # Docker 25+ saves uncompressed layers: they are gzipped, with the same diff IDs.
    plain = docker_save.read_image(_saved(image, lambda layer: gzip.decompress(layer.blob.data)), "hello:abc")
    assert plain.digest == image.digest
    assert [layer.created_by for layer in plain.layers] == ["base", "app"]


def test_docker_save_whose_listed_file_is_no_file_is_a_build_error():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        manifest = json.dumps([{"Config": "config", "Layers": []}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        directory = tarfile.TarInfo("config")
        directory.type = tarfile.DIRTYPE
        tar.addfile(directory)
    with pytest.raises(BuildError, match="docker save hello:abc: config missing from the archive"):
        docker_save.read_image(buffer.getvalue(), "hello:abc")


def test_entrypoint_binary_is_read_from_the_layers():
    assert docker_save.entrypoint_binary(_image(b"the binary")) == b"the binary"
    assert docker_save.entrypoint_binary(oci.assemble(_spec(entrypoint=()), ())) is None


def _arm_image() -> oci.Image:
    spec = oci.ImageSpec(
        os="linux", architecture="arm64", variant=None, entrypoint=("/usr/local/bin/hello",),
        port=8080, created=1700000000, labels={},
    )
    base = oci.make_layer(oci.base_entries(b"CA"), 1700000000, "base")
    app = oci.make_layer(oci.app_entries("hello", b"arm binary"), 1700000000, "app")
    return oci.assemble(spec, (base, app))


def test_index_lists_each_platform_and_shares_the_base_layer(tmp_path):
    amd, arm = _image(), _arm_image()
    index = oci.make_index([amd, arm])
    data = json.loads(index.manifest.data)
    assert data["mediaType"] == oci.MEDIA_INDEX
    assert [m["platform"] for m in data["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux"},
    ]
    assert index.platforms() == ["linux/amd64", "linux/arm64"]
    assert index.image_for("linux/arm64") == arm
    sbom = oci.make_artifact(oci.MEDIA_SPDX, oci.Blob(oci.MEDIA_SPDX, b"{}"), arm.manifest, {"a": "b"})
    write_layout(tmp_path / "oci", index, "v1", [sbom])
    again, ref, artifacts = read_layout(tmp_path / "oci")
    assert (again.digest, ref) == (index.digest, "v1")
    assert [a.digest for a in artifacts] == [sbom.digest]
    # One entry in index.json: single-image tools (skopeo oci:DIR) read it as usual.
    assert len(json.loads((tmp_path / "oci" / "index.json").read_text())["manifests"]) == 1
    assert artifacts[0].subject_digest == arm.digest
    manifest = json.loads(sbom.manifest.data)
    assert manifest["subject"]["digest"] == arm.digest
    assert manifest["artifactType"] == oci.MEDIA_SPDX
    assert manifest["config"] == {"mediaType": oci.MEDIA_EMPTY, "digest": oci.EMPTY_CONFIG.digest, "size": 2}


def test_parallel_gzip_is_gzip_and_does_not_depend_on_the_cores(monkeypatch):
    import os
    import random

    text = b"".join(b"GET /v2/%d HTTP/1.1\r\n" % n for n in range(120_000))
    data = random.Random(7).randbytes(1 << 20) + text + random.Random(8).randbytes(12345)
    first = oci.gzip_bytes(data)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert oci.gzip_bytes(data) == first
    assert gzip.decompress(first) == data
    assert len(first) <= len(gzip.compress(data, 6, mtime=0)) * 1.01 + 1024
    assert gzip.decompress(oci.gzip_bytes(b"")) == b""
