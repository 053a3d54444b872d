"""The native builder: ``go build`` on this machine, image assembled in Python.

No Docker daemon is involved, so it works the same on Windows, macOS and
Linux and in CI without Docker-in-Docker. The binary is cross-compiled for
the target platform; the image is a base layer (users, CA roots, /tmp) and
an app layer (the binary), so a code change re-pushes only the app layer.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import certifi

from goship.build import oci
from goship.build.gobuild import GoBuildRequest, parse_platform, plan_go_build, run_go_build
from goship.build.layout import read_layout, state_dir, write_layout
from goship.build.version import SourceVersion, source_version
from goship.events import NullReporter, Reporter, Stage
from goship.project import Project


@dataclass(frozen=True)
class BuiltImage:
    image: oci.Image
    repository: str
    version: str
    layout: Path

    @property
    def tag(self) -> str:
        return f"{self.repository}:{self.version}"

    @property
    def digest(self) -> str:
        return self.image.digest

    @property
    def revision(self) -> str:
        """The git commit the image was built from ('' outside git)."""
        config = json.loads(self.image.config.data)
        labels = config.get("config", {}).get("Labels") or {}
        return str(labels.get("org.opencontainers.image.revision", ""))

    @property
    def image_id(self) -> str:
        """What Docker calls the image once loaded: its config digest."""
        return self.image.config.digest


def layout_dir(project: Project) -> Path:
    return state_dir(project.root) / "oci"


def image_labels(project: Project, source: SourceVersion) -> dict[str, str]:
    labels = {
        "org.opencontainers.image.title": project.service,
        "org.opencontainers.image.version": source.version,
        "org.opencontainers.image.created": oci.rfc3339(source.timestamp),
    }
    if source.revision:
        labels["org.opencontainers.image.revision"] = source.revision
    return labels


def image_spec(project: Project, source: SourceVersion) -> oci.ImageSpec:
    platform = parse_platform(project.config.build.platform)
    return oci.ImageSpec(
        os=platform.os,
        architecture=platform.arch,
        variant=platform.variant,
        entrypoint=(f"/{oci.BIN_DIR}/{project.binary_name}",),
        port=project.config.app.port,
        created=source.timestamp,
        labels=image_labels(project, source),
    )


def build_native(project: Project, reporter: Reporter | None = None) -> BuiltImage:
    """Compile the service and write its image to the module's .goship/oci."""
    stage = Stage(reporter or NullReporter(), "build")
    build = project.config.build
    platform = parse_platform(build.platform)
    source = source_version(project.root)
    stage.step(f"go build ./{project.main} for {platform}", version=source.version)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="goship-build-") as tmp:
        plan = plan_go_build(
            GoBuildRequest(
                module_root=project.root,
                main=project.main,
                output=Path(tmp) / project.binary_name,
                platform=platform,
                ldflags=build.ldflags,
                tags=tuple(build.tags),
                extra_env=dict(build.env),
            )
        )
        binary = run_go_build(plan).read_bytes()
    compiled = time.monotonic() - started
    base = oci.make_layer(
        oci.base_entries(Path(certifi.where()).read_bytes()),
        source.timestamp,
        "goship: base (nonroot user 65532, CA certificates, /tmp)",
    )
    app = oci.make_layer(
        oci.app_entries(project.binary_name, binary),
        source.timestamp,
        f"goship: go build -trimpath ./{project.main}",
    )
    image = oci.assemble(image_spec(project, source), (base, app))
    layout = layout_dir(project)
    write_layout(layout, image, source.version)
    stage.ok(
        f"built {project.repository}:{source.version} ({image.digest[:19]})",
        digest=image.digest,
        binary_bytes=len(binary),
        compile_seconds=round(compiled, 2),
        total_seconds=round(time.monotonic() - started, 2),
    )
    return BuiltImage(image, project.repository, source.version, layout)


def last_build(project: Project) -> BuiltImage:
    """The image of the last ``goship build`` of this module."""
    image, version = read_layout(layout_dir(project))
    return BuiltImage(image, project.repository, version, layout_dir(project))
