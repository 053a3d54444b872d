"""The Dockerfile goship writes for a Go service (``goship dockerfile``, ``goship init``).

``render_dockerfile`` is pure: a ``DockerfileSpec`` in, the file's text out,
so every line is unit-tested. ``dockerfile_spec`` is the only part that looks
at the module (go.sum, vendor/, go.work) to fill the spec in.

What the file must do, and why it looks the way it does:

* build offline on a plain BuildKit engine (Docker 20.10's built-in
  frontend): no ``# syntax=`` line, which would pull a frontend image; the
  only images are the Go builder named by go.mod and ``scratch``;
* cache well: go.mod/go.sum are copied and their modules downloaded before
  the sources, and the module and build caches are BuildKit cache mounts;
* run small and unprivileged: a static binary (``CGO_ENABLED=0``) on
  ``scratch`` with the CA roots, as uid 65532, exec-form ENTRYPOINT;
* give the service what the native builder's image gives it ("two builders,
  one image format"): /etc/passwd and /etc/group with root and nonroot,
  /tmp (1777), /home/nonroot (65532, 0700), and the build settings of
  goship.yaml that shape the image: ``build.tzdata`` (Go's zoneinfo.zip and
  ``ZONEINFO``), ``build.files`` (0644, or 0755 for executables and scripts
  with a ``#!`` line), ``build.version_var`` (``-X var=${VERSION}``, a build
  arg the docker builder sets to the source version) and
  ``build.ca_certificates``. The build stage lays this file system out in
  /out/rootfs and the final stage copies it whole (Docker 20.10's frontend
  has no ``COPY --chmod``).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path

from goship.errors import ConfigError
from goship.golang.workspace import Workspace, find_workspace
from goship.project import GoMod, Project

#: When go.mod has neither a ``toolchain`` nor a ``go`` line.
DEFAULT_GO_VERSION = "1.22"
#: The conventional "nonroot" uid:gid (distroless); numeric, so scratch needs no /etc/passwd.
NONROOT_USER = "65532:65532"
#: Where Go keeps downloaded modules and compiled packages in the builder; the
#: cache mounts must be exactly these directories, so the Dockerfile sets them.
GOMODCACHE = "/go/pkg/mod"
GOCACHE = "/root/.cache/go-build"
#: The runtime file system besides the binary, prepared in the build stage.
ROOTFS = "/out/rootfs"
#: Where the native builder puts Go's time zone database (oci.ZONEINFO_PATH).
ZONEINFO = "/usr/share/zoneinfo.zip"
#: The build arg the docker builder sets to the source version for build.version_var.
VERSION_ARG = "VERSION"

_VERSION = re.compile(r"(?:go)?(\d+)\.(\d+)")


def go_minor(version: str | None) -> str | None:
    """``1.22.3``, ``go1.22.3``, ``1.21rc1`` -> ``1.22``/``1.21``; None when absent or odd."""
    match = _VERSION.match(version or "")
    return f"{match.group(1)}.{match.group(2)}" if match else None


def builder_go_version(gomod: GoMod, workspace_go: str | None = None) -> str:
    """The Go major.minor to build with: the toolchain line wins over the go line.

    In a workspace, go.work's own go line can be newer than the module's; the
    newer of the two is needed.
    """
    own = go_minor(gomod.toolchain) or go_minor(gomod.go) or DEFAULT_GO_VERSION
    versions = [v for v in (own, go_minor(workspace_go)) if v]
    return max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))


def builder_image(go_version: str) -> str:
    """``1.22`` -> ``golang:1.22-alpine``: the official image, pinned to the minor release."""
    return f"golang:{go_version}-alpine"


@dataclass(frozen=True)
class DockerfileSpec:
    """Everything the Dockerfile depends on; paths are '/'-separated."""

    binary: str
    go_version: str
    #: main package relative to the module ('.' for the module root).
    main: str = "."
    port: int = 8080
    ldflags: str = "-s -w"
    tags: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    #: vendor/modules.txt exists: build from vendor/, download nothing.
    vendored: bool = False
    #: the module's directory relative to the build context ('.' unless in a workspace).
    module_dir: str = "."
    #: in a workspace: every module directory relative to the context (the workspace root).
    workspace_modules: tuple[str, ...] = ()
    #: in a workspace whose modules require each other at unpublished versions.
    skip_download: bool = False
    #: extra GOARM for linux/arm/vN targets (TARGETVARIANT carries it).
    arm_variant: bool = False
    labels: tuple[tuple[str, str], ...] = field(default=())
    #: build.tzdata: Go's zoneinfo.zip at /usr/share/zoneinfo.zip, ZONEINFO set.
    tzdata: bool = False
    #: build.files as (image path, source relative to the build context); a
    #: source ending in '/' is a directory, copied with its contents.
    files: tuple[tuple[str, str], ...] = ()
    #: build.version_var: ``-X <var>=${VERSION}`` in the linker flags.
    version_var: str | None = None
    #: build.ca_certificates: the CA roots in the image.
    ca_certificates: bool = True
    #: Targets of app.volumes' named volumes: directories owned by nonroot, so a
    #: fresh volume mounted there takes that owner (Docker copies it from the image).
    volume_dirs: tuple[str, ...] = ()


def _package(main: str) -> str:
    main = main.strip().removeprefix("./").strip("/")
    return "." if main in ("", ".") else f"./{main}"


def _dir(path: str) -> str:
    """A directory as a COPY destination relative to WORKDIR: ``./api/``."""
    return "./" if path in ("", ".") else f"./{path.strip('/')}/"


def _src(path: str, name: str) -> str:
    return name if path in ("", ".") else f"{path.strip('/')}/{name}"


def _label_value(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _double_quoted(value: str) -> str:
    """``value`` in double quotes, taken literally: only what is added after it
    (``${VERSION}``) is expanded by the shell."""
    return '"' + re.sub(r'([\\"$`])', r"\\\1", value) + '"'


def _copy(source: str, destination: str) -> str:
    """A COPY instruction; the JSON form when a path has blanks or quotes."""
    if re.search(r'[\s"\'\\]', source + destination):
        return f"COPY [{json.dumps(source)}, {json.dumps(destination)}]"
    return f"COPY {source} {destination}"


def _ldflags(spec: DockerfileSpec) -> str:
    if not spec.version_var:
        return shlex.quote(spec.ldflags)
    # Double quotes, so that the shell of the RUN expands the build arg.
    flags = " ".join(part for part in (spec.ldflags.strip(), f"-X {spec.version_var}") if part)
    return _double_quoted(flags).removesuffix('"') + f'=${{{VERSION_ARG}}}"'


def _run(commands: list[str]) -> list[str]:
    """One RUN of several commands, one per line."""
    return [f"RUN {commands[0]}"] + [f"    && {command}" for command in commands[1:]]


def _continued(lines: list[str]) -> list[str]:
    return [line + " \\" for line in lines[:-1]] + lines[-1:]


def _quoted(words: list[str]) -> str:
    return " ".join(f"'{word}'" for word in words)


def _rootfs_lines(spec: DockerfileSpec) -> list[str]:
    """The build-stage RUN laying out the runtime file system in /out/rootfs."""
    uid, gid = NONROOT_USER.split(":")
    passwd = ["root:x:0:0:root:/root:/sbin/nologin", f"nonroot:x:{uid}:{gid}:nonroot:/home/nonroot:/sbin/nologin"]
    group = ["root:x:0:", f"nonroot:x:{gid}:"]
    lines = [
        "# The runtime file system besides the binary, as the native builder lays it out:",
        "# users root and nonroot (/etc/passwd, /etc/group), /tmp (1777) and nonroot's",
        "# home (0700)" + (", and Go's time zone database (build.tzdata; scratch has" if spec.tzdata else "."),
    ]
    if spec.tzdata:
        lines.append("# no /usr/share/zoneinfo for time.LoadLocation).")
    commands = [
        f"mkdir -p {ROOTFS}/etc {ROOTFS}/tmp {ROOTFS}/home/nonroot",
        f"printf '%s\\n' {_quoted(passwd)} > {ROOTFS}/etc/passwd",
        f"printf '%s\\n' {_quoted(group)} > {ROOTFS}/etc/group",
        f"chmod 1777 {ROOTFS}/tmp",
        f"chmod 0700 {ROOTFS}/home/nonroot",
        f"chown {NONROOT_USER} {ROOTFS}/home/nonroot",
    ]
    if spec.tzdata:
        commands += [
            f"mkdir -p {ROOTFS}{ZONEINFO.rsplit('/', 1)[0]}",
            f'cp "$(go env GOROOT)/lib/time/zoneinfo.zip" {ROOTFS}{ZONEINFO}',
        ]
    if spec.volume_dirs:
        lines += [
            "# Mount points of app.volumes, owned by nonroot: a fresh volume takes the owner",
            "# of the directory it is mounted on, so the service can write its data.",
        ]
        dirs = " ".join(shlex.quote(f"{ROOTFS}/{d.strip('/')}") for d in spec.volume_dirs)
        commands += [f"mkdir -p {dirs}", f"chown {NONROOT_USER} {dirs}"]
    return lines + _continued(_run(commands))


def _files_lines(spec: DockerfileSpec) -> list[str]:
    """build.files: one COPY each into /out/rootfs, then the modes the native builder gives."""
    if not spec.files:
        return []
    lines = [
        "# build.files of goship.yaml (image path <- module path). Modes as the native",
        "# builder sets them, whatever they are in the checkout: 0755 for directories,",
        "# executables and scripts starting with '#!', 0644 for the rest.",
    ]
    targets = []
    for destination, source in spec.files:
        target = f"{ROOTFS}/{destination.strip('/')}"
        targets.append(shlex.quote(target))
        lines.append(_copy(source, target))
    script = 'for f; do if [ -x "$f" ] || [ "$(head -c 2 "$f")" = "#!" ]; then chmod 755 "$f"; else chmod 644 "$f"; fi; done'
    return lines + _continued([
        f"RUN find {' '.join(targets)} \\( -type d -o -type f \\) -exec sh -c",
        f"    '{script}'",
        "    sh {} +",
    ])


def render_dockerfile(spec: DockerfileSpec) -> str:
    """The Dockerfile text for ``spec``; byte-for-byte deterministic."""
    binary = spec.binary
    in_workspace = bool(spec.workspace_modules)
    lines: list[str] = []
    add = lines.append

    add(f"# Dockerfile for {binary}, generated by goship ('goship dockerfile' prints it again).")
    if in_workspace:
        add("# This module is part of a Go workspace (go.work): the build context is the")
        add("# workspace root, so the sibling modules it compiles against are available:")
        add(f"#   DOCKER_BUILDKIT=1 docker build -f {_src(spec.module_dir, 'Dockerfile')} -t {binary} .")
        add("# (run from the workspace root).")
    else:
        add(f"#   DOCKER_BUILDKIT=1 docker build -t {binary} .")
    add("# BuildKit is required (cache mounts); nothing is pulled but the two base images.")
    add("")
    add("# Build stage. The Go release follows go.mod (its toolchain line, else its go line).")
    add("# --platform=$BUILDPLATFORM runs the compiler natively and cross-compiles for the")
    add("# target platform, instead of emulating the target CPU.")
    add(f"FROM --platform=$BUILDPLATFORM {builder_image(spec.go_version)} AS build")
    add("# The cache mounts below must be where Go looks, whatever HOME and GOPATH the")
    add("# image sets. CGO off gives a static binary that runs on an empty image.")
    add(f"ENV CGO_ENABLED=0 GOCACHE={GOCACHE} GOMODCACHE={GOMODCACHE}")
    add("WORKDIR /src")
    add("")
    lines.extend(_rootfs_lines(spec))
    add("")

    mod_cache = f"--mount=type=cache,target={GOMODCACHE}"
    build_cache = f"--mount=type=cache,target={GOCACHE}"
    if spec.vendored:
        add("# Dependencies are vendored (vendor/modules.txt): nothing to download.")
    elif in_workspace and spec.skip_download:
        add("# No separate download step: modules of this workspace require each other at")
        add("# versions that exist only as source here, so 'go mod download' cannot run before")
        add("# the sources are copied. The module cache mount of the build step still keeps")
        add("# downloaded modules from one build to the next.")
    elif in_workspace:
        add("# Dependencies first: the go.mod/go.sum of every workspace module, so the download")
        add("# is reused until one of them changes. ('go.sum*' keeps the COPY valid for a")
        add("# module without dependencies, which has no go.sum.)")
        add("COPY go.work go.work.sum* ./")
        for module in spec.workspace_modules:
            add(f"COPY {_src(module, 'go.mod')} {_src(module, 'go.sum*')} {_dir(module)}")
        add(f"RUN {mod_cache} go mod download")
    else:
        add("# Dependencies first: this step is reused until go.mod or go.sum change, so an")
        add("# edit to the code does not download modules again. ('go.sum*' keeps the COPY")
        add("# valid for a module without dependencies, which has no go.sum.)")
        add("COPY go.mod go.sum* ./")
        add(f"RUN {mod_cache} go mod download")
    add("")
    if spec.files:
        lines.extend(_files_lines(spec))
        add("")

    add("COPY . .")
    if spec.module_dir not in ("", "."):
        add(f"WORKDIR /src/{spec.module_dir.strip('/')}")
    add("ARG TARGETOS")
    add("ARG TARGETARCH")
    if spec.arm_variant:
        add("ARG TARGETVARIANT")
    add("# -trimpath leaves local paths out of the binary (the same binary for the same")
    add("# sources); the linker flags are build.ldflags of goship.yaml ('-s -w' drops the")
    add("# debug tables). The build cache mount makes rebuilds incremental.")
    if spec.version_var:
        add(f"# {spec.version_var} gets the version (build.version_var): goship build passes")
        add(f"# --build-arg {VERSION_ARG}=<git commit or source hash>; plain docker build gives 'dev'.")
        add(f"ARG {VERSION_ARG}=dev")
    build_env = ["GOOS=$TARGETOS", "GOARCH=$TARGETARCH"]
    if spec.arm_variant:
        build_env.append("GOARM=${TARGETVARIANT#v}")
    build_env += [f"{key}={shlex.quote(value)}" for key, value in spec.env]
    flags = ["-trimpath", f"-ldflags={_ldflags(spec)}"]
    if spec.vendored:
        flags.append("-mod=vendor")
    if spec.tags:
        flags.append(f"-tags={shlex.quote(','.join(spec.tags))}")
    mounts = [build_cache] if spec.vendored else [mod_cache, build_cache]
    add(f"RUN {mounts[0]} \\")
    for mount in mounts[1:]:
        add(f"    {mount} \\")
    add(f"    {' '.join(build_env)} \\")
    add(f"    go build {' '.join(flags)} -o /out/{binary} {_package(spec.main)}")
    add("")

    add("# Runtime stage: the file system laid out above, the binary" + (" and the CA roots" if spec.ca_certificates else "."))
    if spec.ca_certificates:
        add("# (for outgoing TLS); no shell, no package manager, nothing else to patch or")
        add("# to exploit.")
    else:
        add("# No shell, no package manager, nothing else to patch or to exploit.")
    add("FROM scratch")
    for key, value in spec.labels:
        add(f"LABEL {key}={_label_value(value)}")
    add(f"COPY --from=build {ROOTFS}/ /")
    if spec.ca_certificates:
        add("COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/")
    add(f"COPY --from=build /out/{binary} /usr/local/bin/{binary}")
    add("# nonroot, numeric: the user does not depend on /etc/passwd; never root.")
    add(f"USER {NONROOT_USER}")
    if spec.tzdata:
        add("# Go's time package reads the time zone database from this file.")
        add(f"ENV ZONEINFO={ZONEINFO}")
    add("# goship sets PORT to app.port when it deploys; the same default for docker run.")
    add(f"ENV PORT={spec.port}")
    add(f"EXPOSE {spec.port}")
    add("# Exec form: the binary is PID 1 and receives SIGTERM for a graceful shutdown.")
    add(f'ENTRYPOINT ["/usr/local/bin/{binary}"]')
    return "\n".join(lines) + "\n"


def _workspace_go_line(workspace: Workspace) -> str | None:
    try:
        text = (workspace.root / "go.work").read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    match = re.search(r"^\s*(?:toolchain\s+go|go\s+)(\d+\.\d+\S*)", text, re.MULTILINE)
    return match.group(1) if match else None


def dockerfile_spec(
    project: Project, main: str | None = None, port: int | None = None
) -> DockerfileSpec:
    """The spec for a loaded project: goship.yaml's build settings, the module's layout."""
    build = project.config.build
    workspace = find_workspace(project.root)
    labels = [("org.opencontainers.image.title", project.service)]
    if project.gomod.module.startswith(("github.com/", "gitlab.com/", "codeberg.org/")):
        source = "/".join(project.gomod.module.split("/")[:3])
        labels.append(("org.opencontainers.image.source", f"https://{source}"))
    spec = DockerfileSpec(
        binary=project.binary_name,
        go_version=builder_go_version(
            project.gomod, _workspace_go_line(workspace) if workspace else None
        ),
        main=main if main is not None else project.main,
        port=port if port is not None else project.config.app.port,
        ldflags=build.ldflags,
        tags=tuple(build.tags),
        env=tuple(sorted(build.env.items())),
        arm_variant=build.platform.startswith("linux/arm/"),
        labels=tuple(labels),
        tzdata=build.tzdata,
        files=_files(project, workspace.root if workspace else project.root),
        version_var=build.version_var or None,
        ca_certificates=build.ca_certificates,
        volume_dirs=tuple(v.target for v in project.config.app.volumes if v.named),
    )
    if workspace is not None:
        return _with_workspace(spec, workspace, project.root)
    return replace(spec, vendored=(project.root / "vendor" / "modules.txt").is_file())


def _files(project: Project, context: Path) -> tuple[tuple[str, str], ...]:
    """build.files as (image path, source relative to the build context), checked
    the way the native builder checks them; a directory source ends in '/'."""
    where = project.config_path or "goship.yaml"
    context = context.resolve()
    files: list[tuple[str, str]] = []
    for destination, source in sorted(project.config.build.files.items()):
        dest = destination.strip("/")
        if not dest or ".." in dest.split("/"):
            raise ConfigError(f"{where}: build.files: {destination!r} is not a path inside the image")
        path = (project.root / source).resolve()
        if not path.exists():
            raise ConfigError(
                f"{where}: build.files.{destination}: {source} does not exist in {project.root}",
                hint="paths are relative to the directory holding go.mod",
            )
        if not path.is_relative_to(context):
            raise ConfigError(
                f"{where}: build.files.{destination}: {source} is outside the build context {context}",
                hint="a Dockerfile can only COPY files of its build context: move it into the module",
            )
        relative = path.relative_to(context).as_posix()
        if path.is_dir():
            relative = "./" if relative == "." else f"{relative}/"
        files.append((f"/{dest}", relative))
    return tuple(files)


def _with_workspace(spec: DockerfileSpec, workspace: Workspace, module_root: Path) -> DockerfileSpec:
    return replace(
        spec,
        module_dir=workspace.relative(module_root),
        workspace_modules=workspace.modules,
        skip_download=workspace.cross_requires,
        # 'go work vendor' puts vendor/ at the workspace root.
        vendored=(workspace.root / "vendor" / "modules.txt").is_file(),
    )


def build_context(module_root: Path) -> Path:
    """The directory to send as the docker build context: the workspace root in a workspace."""
    workspace = find_workspace(module_root)
    return workspace.root if workspace is not None else module_root.resolve()
