"""Where ``goship build --output`` sends an image, named like skopeo's transports.

    oci:DIR                an OCI image layout directory (with SBOM referrers)
    oci-archive:FILE       the same layout as one tar file
    docker-archive:FILE    the ``docker save`` format (``docker load -i FILE``)
    docker                 loaded into the local Docker engine
    registry               pushed to the registry named by ``image``
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from goship.builders.image import BuiltImage
from goship.errors import ConfigError, GoshipError
from goship.images.layout import docker_archive, write_layout

KINDS = ("oci", "oci-archive", "docker-archive", "docker", "registry")


@dataclass(frozen=True)
class Output:
    kind: str
    path: Path | None = None

    def __str__(self) -> str:
        return f"{self.kind}:{self.path}" if self.path else self.kind


def parse_output(text: str, base: Path) -> Output:
    """``oci:out/hello`` -> Output("oci", base/out/hello); relative paths are from ``base``."""
    kind, sep, rest = text.partition(":")
    if kind not in KINDS:
        raise ConfigError(f"--output {text!r}: unknown kind {kind!r}", hint=f"use one of: {', '.join(KINDS)}")
    if kind in ("docker", "registry"):
        if sep:
            raise ConfigError(f"--output {text!r}: '{kind}' takes no path")
        return Output(kind)
    if not rest:
        raise ConfigError(f"--output {text!r}: {kind} needs a path, e.g. {kind}:out/image")
    path = Path(rest)
    return Output(kind, path if path.is_absolute() else base / path)


def check_output(output: Output) -> None:
    """Refuse, before anything is built, a file output that cannot be written:
    an ``oci:`` directory that is a file, an archive that is a directory, a
    parent that is not a writable directory."""
    if output.path is None:
        return
    path = output.path
    if output.kind == "oci" and path.exists() and not path.is_dir():
        raise ConfigError(f"--output {output}: {path} is not a directory", hint="oci: takes a directory (an OCI image layout)")
    if output.kind == "oci" and path.is_dir() and any(path.iterdir()) and not (path / "oci-layout").exists():
        raise ConfigError(
            f"--output {output}: {path} is a directory with other files, not an OCI image layout",
            hint="name a new or empty directory, or an existing layout (goship adds its image beside the others)",
        )
    if output.kind != "oci" and path.is_dir():
        raise ConfigError(f"--output {output}: {path} is a directory", hint=f"{output.kind}: takes a file name, e.g. {path / 'image.tar'}")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"--output {output}: {path} is not writable")
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"--output {output}: {existing} is not a directory")
    try:  # a real write: catches read-only mounts and /proc as well as permissions
        with tempfile.TemporaryFile(dir=existing, prefix=".goship-probe-"):
            pass
    except OSError as exc:
        raise ConfigError(f"--output {output}: cannot create files in {existing} ({exc.strerror or exc})") from None


def write_oci_archive(built: BuiltImage, file: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="goship-oci-") as tmp:
        write_layout(Path(tmp), built.built, built.version, built.sboms)
        with tarfile.open(file, "w") as tar:
            for path in sorted(Path(tmp).rglob("*")):
                info = tar.gettarinfo(str(path), arcname=path.relative_to(tmp).as_posix())
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                if path.is_file():
                    with path.open("rb") as data:
                        tar.addfile(info, data)
                else:
                    tar.addfile(info)


def write_file_output(built: BuiltImage, output: Output) -> None:
    """The outputs that are files; docker and registry go through the pipeline."""
    assert output.path is not None
    try:
        output.path.parent.mkdir(parents=True, exist_ok=True)
        if output.kind == "oci":
            write_layout(output.path, built.built, built.version, built.sboms)
        elif output.kind == "oci-archive":
            write_oci_archive(built, output.path)
        elif output.kind == "docker-archive":
            output.path.write_bytes(docker_archive(built.image, [built.tag]))
    except OSError as exc:
        where = exc.filename or output.path
        raise GoshipError(
            f"--output {output}: cannot write {where}: {exc.strerror or exc}",
            hint="the image was built; write it elsewhere with another -o, or fix the path",
        ) from None

