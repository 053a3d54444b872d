"""The native builder: ``go build`` on this machine, image assembled in Python.

No Docker daemon is involved, so it works the same on Windows, macOS and
Linux and in CI without Docker-in-Docker. The binary is cross-compiled for
each target platform; each image is the shared layers (users, CA roots,
/tmp; optionally time zones and project files) and an app layer (the
binary), so a code change re-pushes only the app layer. Several platforms
give an OCI image index; each image gets an SPDX SBOM as an OCI referrer.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import certifi

from goship import process
from goship.builders.gobuild import (
    GoBuildRequest,
    Platform,
    go_executable,
    parse_platform,
    plan_go_build,
    run_go_build,
)
from goship.builders.image import BuiltImage, layout_dir
from goship.builders.sbom import sbom_artifact
from goship.builders.version import SourceVersion, source_version
from goship.config.model import BuildConfig
from goship.errors import BuildError, ConfigError, ProcessError
from goship.events import NullReporter, Reporter, Stage
from goship.hosts import HostConnection, connect_local
from goship.images import oci
from goship.images.layout import write_layout
from goship.project import Project


def image_labels(project: Project, source: SourceVersion) -> dict[str, str]:
    labels = {
        "org.opencontainers.image.title": project.service,
        "org.opencontainers.image.version": source.version,
        "org.opencontainers.image.created": oci.rfc3339(source.timestamp),
    }
    if source.revision:
        labels["org.opencontainers.image.revision"] = source.revision
    return labels


def image_spec(project: Project, source: SourceVersion, target: Platform) -> oci.ImageSpec:
    env = ["PATH=/usr/local/bin:/usr/bin:/bin"]
    if project.config.build.ca_certificates:
        env.append(f"SSL_CERT_FILE=/{oci.CA_BUNDLE_PATH}")
    if project.config.build.tzdata:
        env.append(f"ZONEINFO=/{oci.ZONEINFO_PATH}")
    return oci.ImageSpec(
        os=target.os,
        architecture=target.arch,
        variant=target.variant,
        entrypoint=(f"/{oci.BIN_DIR}/{project.binary_name}",),
        port=project.config.app.port,
        created=source.timestamp,
        labels=image_labels(project, source),
        env=tuple(env),
    )


def ldflags(build: BuildConfig, version: str) -> str:
    """The configured linker flags, plus ``-X var=version`` when asked for."""
    if not build.version_var:
        return build.ldflags
    return f"{build.ldflags} -X {build.version_var}={version}".strip()


def _zoneinfo_zip(runner: process.Runner = process.SYSTEM) -> bytes:
    try:
        goroot = runner.run([go_executable(runner), "env", "GOROOT"], timeout=60).text.strip()
    except ProcessError as exc:
        raise BuildError(f"'go env GOROOT' failed: {exc.stderr.strip() or exc.message}") from None
    path = Path(goroot) / "lib" / "time" / "zoneinfo.zip"
    if not path.is_file():
        raise BuildError(
            f"build.tzdata: the Go toolchain has no {path}",
            hint="reinstall Go, or set build.tzdata: false and import _ \"time/tzdata\" in main",
        )
    return path.read_bytes()


# Never copied from a directory named in build.files: VCS data and goship's
# own state (which changes with every build and would make it irreproducible).
_NEVER_COPIED = {".git", ".goship", ".hg", ".svn"}


def _project_files(project: Project) -> list[oci.Entry]:
    """``build.files`` (image path -> module path) as layer entries."""
    entries: dict[str, oci.Entry] = {}
    where = project.config_path or "goship.yaml"
    root = project.root.resolve()
    # What the other layers put there; a copy over it would silently break them.
    reserved_files = {
        "etc/passwd", "etc/group", oci.CA_BUNDLE_PATH, oci.ZONEINFO_PATH, f"{oci.BIN_DIR}/{project.binary_name}",
    }
    reserved = reserved_files | {"tmp", "home", "home/nonroot"}
    for destination, source in sorted(project.config.build.files.items()):
        key = f"{where}: build.files.{destination}"
        src = (project.root / source).resolve()
        dest = destination.strip("/")
        if not dest or ".." in dest.split("/"):
            raise ConfigError(f"{where}: build.files: {destination!r} is not a path inside the image")
        if src != root and root not in src.parents:
            raise ConfigError(f"{key}: {source} is outside the module {root}", hint="build.files copies files of the module only")
        if not src.exists():
            raise ConfigError(f"{key}: {source} does not exist in {project.root}", hint="paths are relative to the directory holding go.mod")
        if src.is_file():
            files = [src]
        else:
            files = sorted(
                p for p in src.rglob("*")
                if p.is_file() and not _NEVER_COPIED.intersection(p.relative_to(src).parts)
            )
        for path in files:
            rel = dest if path == src else f"{dest}/{path.relative_to(src).as_posix()}"
            if rel in reserved or any(rel.startswith(r + "/") for r in reserved_files):
                raise ConfigError(
                    f"{key}: /{rel} is part of the image goship builds (users, /tmp, CA roots, the binary)",
                    hint="copy project files to a path of their own, e.g. /etc/<service>/ or /usr/share/<service>/",
                )
            if rel in entries:
                raise ConfigError(f"{key}: /{rel} is already copied by another build.files entry")
            # Windows has no execute bit: scripts are recognised by their shebang.
            data = path.read_bytes()
            executable = data.startswith(b"#!") or bool(path.stat().st_mode & 0o111)
            entries[rel] = oci.Entry(rel, data, 0o755 if executable else 0o644)
    return oci.with_parents(entries.values())


def app_user(user: str | None) -> tuple[int, int]:
    """uid and gid the container runs as: app.security.user when numeric (or
    ``nonroot``/``root``, the image's two users), else the image's nonroot user."""
    names = {"root": 0, "nonroot": oci.NONROOT_UID}
    uid_text, _, gid_text = (user or "").partition(":")
    uid = int(uid_text) if uid_text.isdigit() else names.get(uid_text, oci.NONROOT_UID)
    gid = int(gid_text) if gid_text.isdigit() else names.get(gid_text, uid) if gid_text else uid
    return uid, gid


def volume_mount_entries(project: Project) -> list[oci.Entry]:
    """The targets of app.volumes' named volumes as empty directories owned by the
    app user. A fresh volume takes the owner and mode of the directory it is
    mounted on (Docker copies them from the image); without these it would be
    root's, and the service, which runs as nonroot on a read-only root, could not
    write its own data. Host paths are the host's: their owner is the user's to set."""
    app = project.config.app
    uid, gid = app_user(app.security.user)
    entries = {v.target.strip("/"): oci.Entry(v.target.strip("/"), None, 0o755, uid, gid) for v in app.volumes if v.named}
    return oci.with_parents(entries.values())


# The shared layers' files carry this time, not the commit's: their digests
# then stay the same from one commit to the next, so a push after a code
# change uploads only the app layer and the config (as ko does).
SHARED_LAYER_MTIME = 0


def _shared_layers(
    project: Project, timestamp: int = SHARED_LAYER_MTIME, runner: process.Runner = process.SYSTEM
) -> list[oci.Layer]:
    """The layers every platform shares: base, time zones, project files."""
    build = project.config.build
    ca_bundle = Path(certifi.where()).read_bytes() if build.ca_certificates else None
    what = "nonroot user 65532, /tmp" + (", CA certificates" if ca_bundle else "")
    layers = [oci.make_layer(oci.base_entries(ca_bundle), timestamp, f"goship: base ({what})")]
    if build.tzdata:
        layers.append(oci.make_layer(oci.zoneinfo_entries(_zoneinfo_zip(runner)), timestamp, "goship: time zone database"))
    if build.files:
        layers.append(oci.make_layer(_project_files(project), timestamp, "goship: build.files"))
    mount_points = volume_mount_entries(project)
    if mount_points:
        layers.append(oci.make_layer(mount_points, timestamp, "goship: app.volumes mount points (owned by the app user)"))
    return layers


def _compile(
    project: Project, target: Platform, version: str, runner: process.Runner, main: str | None = None
) -> bytes:
    """``main`` (default: the service's own) for ``target``."""
    build = project.config.build
    main = project.main if main is None else main
    with tempfile.TemporaryDirectory(prefix="goship-build-") as tmp:
        plan = plan_go_build(
            GoBuildRequest(
                module_root=project.root,
                main=main,
                output=Path(tmp) / project.binary_name,
                platform=target,
                ldflags=ldflags(build, version),
                tags=tuple(build.tags),
                extra_env=dict(build.env),
            )
        )
        return run_go_build(plan, runner).read_bytes()


def build_native(
    project: Project,
    reporter: Reporter | None = None,
    runner: process.Runner = process.SYSTEM,
    connect: Callable[[], HostConnection] = connect_local,
) -> BuiltImage:
    """Compile the service for each platform (``go`` and ``git`` through ``runner``)
    and write its image to .goship/oci."""
    stage = Stage(reporter or NullReporter(), "build")
    build = project.config.build
    targets = [parse_platform(p) for p in build.target_platforms()]
    # The programs roles run (roles.NAME.main) go into the same image: one digest is the whole version.
    role_programs = [(main, binary) for main, binary in project.programs().items() if main != project.main]
    source = source_version(project.root, runner)
    started = time.monotonic()
    shared = _shared_layers(project, runner=runner)
    images: list[oci.Image] = []
    sboms: list[oci.Artifact] = []
    binary_bytes = 0
    for target in targets:
        stage.step(f"go build ./{project.main} for {target}", version=source.version)
        binary = _compile(project, target, source.version, runner)
        binary_bytes += len(binary)
        if build.version_var and source.version.encode() not in binary:
            # go build ignores -X for a variable that does not exist: say so.
            stage.warn(
                f"build.version_var {build.version_var}: the version is not in the binary; "
                "is it a package-level string variable (var version string) of that package?"
            )
        app = oci.make_layer(
            oci.app_entries(project.binary_name, binary),
            source.timestamp,
            f"goship: go build -trimpath ./{project.main}",
        )
        role_layers = []
        for main, binary_name in role_programs:
            stage.step(f"go build ./{main} for {target}")
            program = _compile(project, target, source.version, runner, main)
            binary_bytes += len(program)
            # A layer of its own: the service's app layer stays what it is without roles.
            role_layers.append(
                oci.make_layer(oci.app_entries(binary_name, program), source.timestamp, f"goship: go build -trimpath ./{main}")
            )
        image = oci.assemble(image_spec(project, source, target), (*shared, app, *role_layers))
        images.append(image)
        if build.sbom_format:
            sboms.append(sbom_artifact(binary, image, project.service, source, build.sbom_format))
    compiled = time.monotonic() - started
    built: oci.Image | oci.Index = images[0] if len(images) == 1 else oci.make_index(images)
    layout = layout_dir(project)
    write_layout(layout, built, source.version, sboms, prune=True)
    platforms = ", ".join(str(t) for t in targets)
    stage.ok(
        f"built {project.repository}:{source.version} ({built.digest[:19]}; {platforms})",
        digest=built.digest,
        platforms=[str(t) for t in targets],
        binary_bytes=binary_bytes,
        compile_seconds=round(compiled, 2),
        total_seconds=round(time.monotonic() - started, 2),
    )
    return BuiltImage(built, project.repository, source.version, layout, tuple(sboms))
