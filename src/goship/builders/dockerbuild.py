"""The docker builder: the project's own Dockerfile, built by BuildKit.

Planning (which client, which argv) is pure; ``build_docker`` runs it,
streams BuildKit's progress as events, then reads the image back with
``docker save`` into the same OCI form the native builder produces, so
push, SBOM and deploy work the same whichever builder made the image.
Which docker client drives BuildKit is ``docker_client``'s question; what
BuildKit's failure output means is ``buildkit_errors``'.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from goship import process
from goship.builders.buildkit_errors import ImagePlatform, check_target, explain_failure
from goship.builders.docker_client import DockerClient, find_buildkit_client
from goship.builders.image import BuiltImage, layout_dir
from goship.builders.sbom import sbom_artifact
from goship.builders.version import source_version
from goship.config.model import BuildConfig
from goship.errors import BuildError, ConfigError, GoshipError, ProcessError, ToolError
from goship.events import NullReporter, Reporter, Stage
from goship.hosts import HostConnection, connect_local
from goship.images import docker_save, oci
from goship.images.layout import STATE_DIR, write_layout
from goship.project import Project


@dataclass(frozen=True)
class DockerBuildPlan:
    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: Path
    dockerfile: Path
    tag: str
    #: The Dockerfile as errors name it (its path from the module root).
    display: str = "Dockerfile"
    platform: str = "linux/amd64"
    #: Settings this client cannot honour, said once as warnings.
    warnings: tuple[str, ...] = ()


def _dockerignore(dockerfile: Path, context: Path, module_root: Path) -> str:
    """What BuildKit would exclude (the Dockerfile's own ignore file, else the
    context's .dockerignore), plus goship's state folder."""
    text = ""
    for candidate in (dockerfile.with_name(dockerfile.name + ".dockerignore"), context / ".dockerignore"):
        if candidate.is_file():
            text = candidate.read_text(encoding="utf-8", errors="replace")
            break
    extra = [f"# added by goship: its build state ({STATE_DIR}) is never build input", f"**/{STATE_DIR}"]
    state = module_root / STATE_DIR
    if state.resolve().is_relative_to(context):
        extra.insert(1, state.resolve().relative_to(context).as_posix())
    return text + ("\n" if text and not text.endswith("\n") else "") + "\n".join(extra) + "\n"


def _stage_dockerfile(dockerfile: Path, context: Path, module_root: Path, scratch: Path) -> Path:
    """A copy of the Dockerfile under the same name in ``scratch``, with a
    ``<name>.dockerignore`` next to it that also keeps .goship out of the context.

    BuildKit (docker 19.03+, buildx) reads the ignore file next to the
    Dockerfile in preference to the context's .dockerignore, so the user's
    files are never touched and the context is still sent straight from disk.
    """
    staged = scratch / "dockerfile" / dockerfile.name
    staged.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(dockerfile, staged)
    staged.with_name(dockerfile.name + ".dockerignore").write_text(
        _dockerignore(dockerfile, context, module_root), encoding="utf-8"
    )
    return staged


def plan_docker_build(
    project: Project, client: DockerClient, tag: str, secret_files: dict[str, Path], labels: dict[str, str],
    scratch: Path | None = None,
) -> DockerBuildPlan:
    """The argv and environment of one BuildKit build of the project's Dockerfile.

    With ``scratch`` (a temporary directory), BuildKit reads a copy of the
    Dockerfile from there, whose ignore file keeps .goship out of the context.
    """
    build: BuildConfig = project.config.build
    where = project.config_path or "goship.yaml"
    platforms = build.target_platforms()
    if len(platforms) > 1:
        # 'docker build' (and buildx --load) keeps one platform in the engine.
        raise BuildError(
            f"build.platforms lists {len(platforms)} platforms; the docker builder builds one at a time",
            hint="use build.builder: native, which cross-compiles every platform into one image index",
        )
    context = (project.root / build.context).resolve()
    dockerfile = (project.root / build.dockerfile).resolve()
    if not context.is_dir():
        raise ConfigError(f"{where}: build.context: {build.context} is not a directory")
    if not dockerfile.is_file():
        raise ConfigError(
            f"{where}: build.dockerfile: {dockerfile} does not exist",
            hint="write one with 'goship dockerfile -o Dockerfile', or use build.builder: native",
        )
    try:
        display = dockerfile.relative_to(project.root.resolve()).as_posix()
    except ValueError:
        display = str(dockerfile)
    if build.target:
        check_target(build.target, dockerfile, display, where)
    warnings: list[str] = []
    staged = _stage_dockerfile(dockerfile, context, project.root, scratch) if scratch is not None else dockerfile
    argv: list[str] = [client.path]
    argv += ["buildx", "build", "--load"] if client.mode == "buildx" else ["build"]
    argv += ["--progress", "plain", "-f", str(staged), "-t", tag, "--platform", platforms[0]]
    if build.target:
        argv += ["--target", build.target]
    build_args = dict(build.args)
    if build.version_var and "VERSION" not in build_args:
        # For the generated Dockerfile's -X <build.version_var>=${VERSION}: the version native builds get.
        build_args["VERSION"] = labels.get("org.opencontainers.image.version") or source_version(project.root).version
    for key, value in sorted(build_args.items()):
        argv += ["--build-arg", f"{key}={value}"]
    for key, value in sorted(labels.items()):
        argv += ["--label", f"{key}={value}"]
    for secret_id, path in sorted(secret_files.items()):
        argv += ["--secret", f"id={secret_id},src={path}"]
    for ref in build.cache_from:
        argv += ["--cache-from", f"type=registry,ref={ref}" if client.mode == "buildx" else ref]
    if build.cache_to:
        if client.mode == "buildx":
            argv += ["--cache-to", f"type=registry,ref={build.cache_to},mode=max"]
        else:
            # The classic builder can only embed its cache in the image it pushes.
            argv += ["--build-arg", "BUILDKIT_INLINE_CACHE=1"]
            warnings.append(
                f"build.cache_to ({build.cache_to}) needs buildx; the classic builder embeds the cache in the "
                "image it pushes (BUILDKIT_INLINE_CACHE) instead"
            )
    argv.append(str(context))
    env = {"DOCKER_BUILDKIT": "1"} if client.mode == "classic" else {}
    return DockerBuildPlan(tuple(argv), env, project.root, dockerfile, tag, display, platforms[0], tuple(warnings))


def _secret_files(project: Project, tmp: Path) -> dict[str, Path]:
    """Each build secret as a 0600 file: BuildKit mounts it, never stores it in a layer."""
    where = project.config_path or "goship.yaml"
    files: dict[str, Path] = {}
    for secret_id, source in project.config.build.secrets.items():
        if source.startswith("env:"):
            name = source[4:]
            if name not in os.environ:
                raise ConfigError(
                    f"{where}: build.secrets.{secret_id}: environment variable {name} is not set",
                    hint=f"export {name}=... before building",
                )
            path = tmp / f"secret-{len(files)}"
            path.write_text(os.environ[name], encoding="utf-8")
            path.chmod(0o600)
            files[secret_id] = path
        else:
            path = (project.root / source).resolve()
            if not path.is_file():
                raise ConfigError(f"{where}: build.secrets.{secret_id}: {source} is not a file")
            files[secret_id] = path
    return files


def local_image_platform(connect: Callable[[], HostConnection] = connect_local) -> ImagePlatform:
    """The os/arch of an image in the local engine (None when it has no such image)."""

    def inspect(ref: str) -> str | None:
        local = connect()
        try:
            found = local.engine.image(ref)
        except GoshipError:
            return None
        finally:
            local.close()
        if not found or not found.get("Os"):
            return None
        return f"{found['Os']}/{found.get('Architecture', '')}"

    return inspect


def _run_streaming(plan: DockerBuildPlan, stage: Stage, connect: Callable[[], HostConnection]) -> None:
    env = {**os.environ, **plan.env}
    tail: deque[str] = deque(maxlen=400)
    steps: dict[str, str] = {}
    lines = process.stream_lines(plan.argv, cwd=plan.cwd, env=env)
    try:
        for line in lines:
            tail.append(line)
            _show_step(line, steps, stage)
    except ProcessError as exc:
        if exc.not_found:
            raise ToolError(f"cannot run {plan.argv[0]}: {exc.message}") from None
        raise explain_failure("\n".join(tail), plan.dockerfile, plan.display, plan.platform,
                              local_image_platform(connect)) from None


def _show_step(line: str, steps: dict[str, str], stage: Stage) -> None:
    """Step headers ("#7 [build 4/6] RUN go mod download") and which came from
    the cache ("#7 CACHED") become events; the rest is kept for errors."""
    header = re.match(r"^#(\d+) (\[.+)$", line)
    if header:
        steps[header.group(1)] = header.group(2)
        stage.info(header.group(2))
    cached = re.match(r"^#(\d+) CACHED\s*$", line)
    if cached and cached.group(1) in steps:
        stage.info(f"CACHED {steps[cached.group(1)]}", cached=True)


def _saved_image(tag: str, connect: Callable[[], HostConnection]) -> oci.Image:
    """The built image exported from the local engine (``docker save``) as an OCI image with gzip layers."""
    local = connect()
    try:
        archive = local.engine.export_image(tag)
    except GoshipError as exc:
        raise BuildError(f"reading {tag} back from the engine failed: {exc.message}") from None
    finally:
        local.close()
    return docker_save.read_image(archive, tag)


def ignored_settings(project: Project, dockerfile: Path) -> list[str]:
    """build.* settings a hand-written Dockerfile decides for itself: say so
    rather than leave the user to find them missing from the image.
    (Dockerfiles goship generates carry them: see commands/init/dockerfile.py.)"""
    try:
        head = dockerfile.read_text(encoding="utf-8", errors="replace")[:200]
    except OSError:
        return []
    if "generated by goship" in head:
        return []
    build, default = project.config.build, BuildConfig()
    unused = [
        name
        for name, changed in (
            ("tzdata", build.tzdata),
            ("files", bool(build.files)),
            ("ldflags", build.ldflags != default.ldflags),
            ("tags", bool(build.tags)),
            ("env", bool(build.env)),
            ("ca_certificates", build.ca_certificates != default.ca_certificates),
        )
        if changed
    ]
    if not unused:
        return []
    names = ", ".join(f"build.{n}" for n in unused)
    return [
        f"{names} not applied: {dockerfile.name} is your own, and it decides these itself "
        "(they apply to the native builder and to Dockerfiles 'goship dockerfile' writes)"
    ]


def build_docker(
    project: Project,
    reporter: Reporter | None = None,
    runner: process.Runner = process.SYSTEM,
    connect: Callable[[], HostConnection] = connect_local,
) -> BuiltImage:
    """Build the project's Dockerfile with BuildKit and keep it as .goship/oci (git through
    ``runner``; the built image is read back from the engine ``connect`` reaches)."""
    stage = Stage(reporter or NullReporter(), "build")
    client = find_buildkit_client()
    source = source_version(project.root, runner)
    tag = f"{project.repository}:{source.version}"
    labels = {"org.opencontainers.image.version": source.version}
    if source.revision:
        labels["org.opencontainers.image.revision"] = source.revision
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="goship-secrets-") as tmp:
        plan = plan_docker_build(project, client, tag, _secret_files(project, Path(tmp)), labels, scratch=Path(tmp))
        for warning in [*plan.warnings, *ignored_settings(project, plan.dockerfile)]:
            stage.warn(warning)
        stage.step(f"docker build ({client.mode} BuildKit) {plan.display} -> {tag}")
        _run_streaming(plan, stage, connect)
    image = _saved_image(tag, connect)
    sboms: tuple[oci.Artifact, ...] = ()
    sbom_format = project.config.build.sbom_format
    if sbom_format:
        binary = docker_save.entrypoint_binary(image)
        try:
            if binary is None:
                raise BuildError("the image's ENTRYPOINT/CMD file was not found in its layers")
            sboms = (sbom_artifact(binary, image, project.service, source, sbom_format),)
        except BuildError as exc:
            stage.warn(f"no SBOM: {exc.message}")
    write_layout(layout_dir(project), image, source.version, sboms, prune=True)
    stage.ok(
        f"built {tag} ({image.digest[:19]}) with the Dockerfile",
        digest=image.digest,
        total_seconds=round(time.monotonic() - started, 2),
    )
    return BuiltImage(image, project.repository, source.version, layout_dir(project), sboms)
