"""What every builder returns and what the stages after it read: ``BuiltImage``.

A builder (``Builder``: ``native.build_native``, ``dockerbuild.build_docker``)
writes its image as an OCI layout at ``layout_dir(project)`` and returns it
as a ``BuiltImage``; push, SBOM, outputs and deploy take that value, or read
the last build back with ``last_build``. Nothing here builds anything.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from goship import process
from goship.errors import BuildError
from goship.events import Reporter
from goship.hosts import HostConnection, connect_local
from goship.images import oci
from goship.images.layout import STATE_DIR, read_layout, state_dir
from goship.project import Project


@dataclass(frozen=True)
class BuiltImage:
    """The result of a build: one image, or an index of one image per platform."""

    built: oci.Image | oci.Index
    repository: str
    version: str
    layout: Path
    sboms: tuple[oci.Artifact, ...] = ()

    @property
    def tag(self) -> str:
        return f"{self.repository}:{self.version}"

    @property
    def digest(self) -> str:
        """The digest users pull: the index's for a multi-arch build."""
        return self.built.digest

    @property
    def images(self) -> tuple[oci.Image, ...]:
        return self.built.images if isinstance(self.built, oci.Index) else (self.built,)

    @property
    def platforms(self) -> list[str]:
        return [oci.platform_of(image) for image in self.images]

    @property
    def image(self) -> oci.Image:
        """The image for this machine's architecture (what a local engine runs)."""
        wanted = f"linux/{host_arch()}"
        for image in self.images:
            if oci.platform_of(image).startswith(wanted):
                return image
        return self.images[0]

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


def host_arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def layout_dir(project: Project) -> Path:
    return state_dir(project.root) / "oci"


#: What to do when nothing was built: said by every command that reads the last build.
BUILD_FIRST = "run 'goship build' (or 'goship ship', which builds)"


def last_build(project: Project, hint: str = BUILD_FIRST) -> BuiltImage:
    """The image of the last ``goship build`` of this module.

    No build at all is the usual first mistake (``goship deploy`` in a fresh
    checkout), so it is said in those words with ``hint``, not as the file
    that is missing; a layout that is there but damaged says what is wrong with it.
    """
    # Looked for without layout_dir, which would make .goship in a module that never had one.
    layout = project.root / STATE_DIR / "oci"
    if not (layout / "index.json").is_file():
        raise BuildError(f"nothing built yet for {project.service} (no image in {layout})", hint=hint)
    built, version, artifacts = read_layout(layout)
    return BuiltImage(built, project.repository, version, layout_dir(project), tuple(artifacts))


class Builder(Protocol):
    """Builds the project's image, writes it to ``layout_dir(project)`` and returns it.

    ``build_native`` and ``build_docker`` are builders; a new one is a function of this shape,
    named in ``goship.commands.pipeline.BUILDER_FUNCTIONS``. Programs (go, git) run through ``runner``:
    the session's, so a unit test gives ``goship.testing.FakeRunner``; a builder that needs
    a Docker engine reaches it with ``connect`` (the session's).
    """

    def __call__(
        self,
        project: Project,
        reporter: Reporter | None = None,
        runner: process.Runner = process.SYSTEM,
        connect: Callable[[], HostConnection] = connect_local,
    ) -> BuiltImage: ...
