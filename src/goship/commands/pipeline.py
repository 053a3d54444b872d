"""The stages as a library API: build, push, deploy, and ship (the graph of all three).

Each stage can run alone: build leaves the image in ``.goship/oci``, push
records what it pushed in ``.goship/push.json``, deploy reads both. Every
function takes a ``Project`` (a session is made for the call) or a
``Session`` (its reporter, clock, Ctrl-C event, runner, connections and
registry transport are used, and its targets stay open).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from goship.builders.dockerbuild import build_docker
from goship.builders.image import BUILD_FIRST, Builder, BuiltImage, host_arch, last_build
from goship.builders.native import build_native
from goship.builders.outputs import Output, write_file_output
from goship.builders.version import source_version
from goship.config import LOCAL_TARGET
from goship.config.names import BUILDERS
from goship.deploy.release import make_release
from goship.deploy.target import DeployResult, ImageSource, Target
from goship.errors import ConfigError, GoshipError, ProcessError, RegistryNotFound
from goship.events import Reporter, Stage
from goship.images import oci
from goship.images.layout import STATE_DIR, docker_archive, state_dir
from goship.images.reference import Repository, parse_repository
from goship.project import Project
from goship.registry import mounts, pushed
from goship.registry.client import PushResult
from goship.registry.publish import push_built
from goship.session import Session, session_for
from goship.stages import Skipped, StageContext, StageDef
from goship.stages import run as run_stages

__all__ = [
    "DeployResult", "Session", "build", "deploy", "find_pushed", "push", "registry_repository", "ship", "write_outputs",
]

PUSH_RECORD = "push.json"

#: Each name of build.builder (goship.config.names.BUILDERS) and the function that builds with it.
BUILDER_FUNCTIONS: dict[str, Builder] = {"native": build_native, "docker": build_docker}


def build(where: Project | Session, reporter: Reporter | None = None, builder: str | None = None) -> BuiltImage:
    """Build the image with ``builder`` (default: build.builder of goship.yaml)."""
    session, _ = session_for(where, reporter)
    project = session.project
    builder = builder or project.config.build.builder
    if builder not in BUILDERS:
        raise ConfigError(
            f"unknown builder {builder!r}",
            hint="use 'native' (go build, no Docker needed) or 'docker' (the project's Dockerfile with BuildKit)",
            key="build.builder",
        )
    return BUILDER_FUNCTIONS[builder](project, session.reporter, session.runner, session.connect_local)


def write_outputs(
    where: Project | Session, built: BuiltImage, outputs: list[Output], reporter: Reporter | None = None
) -> None:
    """Send a build where ``--output`` asked: files, the local engine, the registry."""
    session, _ = session_for(where, reporter)
    stage = Stage(session.reporter, "output")
    for output in outputs:
        for warning in output_warnings(built, output, lambda: _engine_arch(session)):
            stage.warn(warning)
        if output.kind == "registry":
            push(session, built)
        elif output.kind == "docker":
            local = session.local_engine()
            try:
                image_source(built).load_into(local.engine)
            finally:
                local.close()
            stage.ok(f"loaded {built.tag} into the local Docker engine")
        else:
            write_file_output(built, output)
            stage.ok(f"wrote {output}")
            if output.path is not None and _counts_as_source(session, output.path):
                stage.warn(
                    f"{output.path} is inside the module: the next build counts it as an uncommitted "
                    "change (a '-dirty' version, another digest); add it to .gitignore or write outside the module"
                )


def _counts_as_source(session: Session, path: Path) -> bool:
    """Whether ``path`` would enter the version of the next build (inside the
    module, not in .goship, not ignored by git)."""
    root = session.project.root.resolve()
    target = path.resolve()
    if root not in target.parents or (root / STATE_DIR) in (target, *target.parents):
        return False
    try:
        ignored = session.runner.run(["git", "check-ignore", "-q", str(target)], cwd=root, timeout=30, check=False)
    except ProcessError:
        return True
    return ignored.returncode != 0


def _engine_arch(session: Session) -> str | None:
    local = session.local_engine()
    try:
        return str(local.engine.version().get("Arch") or "") or None
    except GoshipError:
        return None
    finally:
        local.close()


def output_warnings(built: BuiltImage, output: Output, engine_arch: Callable[[], str | None]) -> list[str]:
    """What an output will not do here: hold every platform, or run on this engine."""
    warnings = []
    platform = oci.platform_of(built.image)
    if output.kind in ("docker-archive", "docker") and len(built.platforms) > 1:
        where = "the archive holds" if output.kind == "docker-archive" else "the engine gets"
        warnings.append(
            f"{output}: {where} only {platform} of {', '.join(built.platforms)} (the docker image format has one "
            "platform per tag); oci-archive:FILE or oci:DIR keep them all"
        )
    if output.kind == "docker":
        arch = engine_arch()
        image_arch = platform.split("/")[1] if "/" in platform else platform
        if arch and image_arch != arch:
            warnings.append(
                f"docker: the image is {platform} but the local engine runs {arch}: its containers fail with "
                "'exec format error' unless the engine emulates that platform (QEMU binfmt)"
            )
    return warnings


def registry_repository(project: Project) -> Repository:
    if not project.config.image:
        raise ConfigError(
            "no registry configured: 'image' is not set in goship.yaml",
            hint="add e.g. 'image: registry.example.com/team/" + project.service + "'",
        )
    try:
        return parse_repository(project.config.image)
    except ValueError as exc:
        raise ConfigError(str(exc), file=str(project.config_path), key="image") from None


def push(where: Project | Session, built: BuiltImage | None = None, reporter: Reporter | None = None) -> PushResult:
    """Upload the image to the registry named by ``image``; record the digest."""
    session, _ = session_for(where, reporter)
    project = session.project
    stage = Stage(session.reporter, "push")
    repository = registry_repository(project)
    if built is None:
        built = last_build(project)
        current = source_version(project.root, session.runner).version
        if current != built.version:
            stage.warn(
                f"pushing the last build ({built.version}); the sources have changed since ({current}): "
                "run 'goship build' (or 'goship build -o registry') to push them"
            )
    platforms = ", ".join(built.platforms)
    stage.step(f"pushing {repository.tagged(built.version)} ({platforms})")
    sboms = built.sboms if project.config.build.sbom_format else ()
    with session.registry(repository.registry) as client:
        mount_from = mounts.candidates(repository.registry, repository.path)
        result = push_built(client, repository.path, built.built, [built.version], sboms, mount_from)
    mounts.remember(repository.registry, repository.path)
    (state_dir(project.root) / PUSH_RECORD).write_text(
        json.dumps({**asdict(result), "version": built.version}, indent=2), encoding="utf-8"
    )
    stage.ok(
        f"pushed {repository.tagged(built.version)} = {result.reference} ({result.uploaded_blobs} blobs uploaded, "
        f"{result.uploaded_bytes} bytes; {result.skipped_blobs} already there"
        + (f", {result.mounted_blobs} mounted from another repository" if result.mounted_blobs else "")
        + ")"
        + (f"; SBOM attached to {len(sboms)} image(s)" if sboms else ""),
        uploaded_bytes=result.uploaded_bytes,
        uploaded_blobs=result.uploaded_blobs,
        mounted_blobs=result.mounted_blobs,
        digest=result.digest,
    )
    return result


def pushed_reference(project: Project, built: BuiltImage) -> str | None:
    """``repository@digest`` of ``built`` if ``goship push`` recorded pushing it."""
    try:
        record = json.loads((state_dir(project.root) / PUSH_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return str(record["reference"]) if record.get("digest") == built.digest and "reference" in record else None


def image_source(built: BuiltImage, reference: str | None = None) -> ImageSource:
    """The build as targets take it: a docker-archive to load, or ``reference`` to pull."""
    return ImageSource(
        tag=built.tag,
        digest=built.digest,
        image_id=built.image_id,
        version=built.version,
        revision=built.revision,
        archive=lambda: docker_archive(built.image, [built.tag]),
        reference=reference,
    )


def find_pushed(session: Session, *, version: str | None = None, image: str | None = None) -> pushed.PushedImage:
    """The image already in the registry that ``version`` (a tag of ``image:`` in goship.yaml)
    or ``image`` (``registry/repo@sha256:...``) names, resolved to its digest.

    Refused with what to do when it is not there, before any host is asked anything.
    """
    if (version is None) == (image is None):
        raise TypeError("give exactly one of version and image")
    if image is not None:
        try:
            repository, reference = pushed.parse_digest_reference(image)
        except ValueError as exc:
            raise GoshipError(
                f"--image {image}: {exc}",
                hint="name the image by digest (REPOSITORY@sha256:...), or deploy a tag of 'image' with --version TAG",
            ) from None
        shown = repository.by_digest(reference)
    else:
        assert version is not None
        repository = registry_repository(session.project)
        if not pushed.TAG.fullmatch(version):
            raise GoshipError(
                f"--version {version}: not a tag (letters, digits, '_', '.' and '-', at most 128)",
                hint="list the pushed versions with 'goship tags'; a digest is deployed with --image REPOSITORY@sha256:...",
            )
        reference, shown = version, repository.tagged(version)
    try:
        with session.registry(repository.registry) as client:
            found = pushed.find(client, repository, reference, host_arch())
    except RegistryNotFound:
        raise RegistryNotFound(
            f"image {shown} is not in the registry",
            hint="push it first with 'goship push' (or 'goship ship TARGET'), or list the tags there with 'goship tags'",
        ) from None
    Stage(session.reporter, "deploy").ok(f"{shown} is {found.reference}", digest=found.digest)
    return found


def pushed_source(found: pushed.PushedImage) -> ImageSource:
    """An image that is only in the registry, as targets take it: every host pulls it by digest."""
    return ImageSource(
        tag=found.tag,
        digest=found.digest,
        image_id=found.config_digest,
        version=found.version,
        revision=found.revision,
        archive=None,
        reference=found.reference,
    )


def _deploy(session: Session, target: Target, built: BuiltImage, reference: str | None) -> DeployResult:
    # Built once, before any host changes: a missing secret stops here.
    release = make_release(session.project, built.version, built.tag, built.digest, built.revision)
    return target.deploy(release, image_source(built, reference))


def deploy(
    where: Project | Session,
    target: str = LOCAL_TARGET,
    built: BuiltImage | None = None,
    reporter: Reporter | None = None,
    *,
    cancel: threading.Event | None = None,
    version: str | None = None,
    image: str | None = None,
) -> DeployResult:
    """Roll the last built (and, for a target that pulls from a registry, pushed) image out to ``target``.

    With ``version`` (a tag of goship.yaml's ``image:``) or ``image``
    (``registry/repo@sha256:...``), an image already in the registry is
    deployed instead, with no build here: every host (this machine's engine
    too) pulls it by digest, so CI builds once and each target runs the same bytes.

    ``cancel`` (set by the CLI on the first Ctrl-C) stops every host at its
    next safe point; hosts already switched are rolled back, and
    ``Interrupted`` says what runs where.
    """
    if built is not None and (version is not None or image is not None):
        raise TypeError("deploy takes a build, or a version or image from the registry, not both")
    if version is not None and image is not None:
        raise GoshipError(
            "--version and --image both name the image to deploy: give one",
            hint="--version TAG, or --image REPOSITORY@sha256:...",
        )
    session, owned = session_for(where, reporter, cancel)
    try:
        # What to deploy is found first: a missing build or version stops here, before any host is reached.
        if version is not None or image is not None:
            found = find_pushed(session, version=version, image=image)
            # Built once, before any host changes: a missing secret stops here.
            release = make_release(session.project, found.version, found.tag, found.digest, found.revision)
            return session.target(target).deploy(release, pushed_source(found))
        built = built or last_build(session.project, hint=f"{BUILD_FIRST}; or deploy a version already pushed with --version V")
        return _deploy(session, session.target(target), built, pushed_reference(session.project, built))
    finally:
        if owned:
            session.close()


def ship(
    where: Project | Session,
    target: str = LOCAL_TARGET,
    reporter: Reporter | None = None,
    *,
    cancel: threading.Event | None = None,
) -> DeployResult:
    """Check the target, build, push when the target pulls from a registry, and deploy.

    The target is checked while the image builds (connecting over SSH takes
    as long as a small build); nothing is pushed or changed anywhere unless
    the check passed.
    """
    session, owned = session_for(where, reporter, cancel)
    try:
        make_release(session.project, "check", "", "", "")  # secrets, before anything runs
        opened = session.target(target)

        def push_stage(context: StageContext) -> object:
            if not opened.needs_registry:
                return Skipped("the target loads the image from this machine")
            built = context.inputs["build"]
            assert isinstance(built, BuiltImage)
            return push(session, built)

        def deploy_stage(context: StageContext) -> DeployResult:
            built = context.inputs["build"]
            assert isinstance(built, BuiltImage)
            pushed = context.inputs["push"]
            return _deploy(session, opened, built, pushed.reference if isinstance(pushed, PushResult) else None)

        graph = [
            # Declared first: when the target and the build both fail, the target's problem is the one reported.
            StageDef("preflight", lambda context: opened.preflight()),
            StageDef("build", lambda context: build(session)),
            StageDef("push", push_stage, needs=("preflight", "build")),
            StageDef("deploy", deploy_stage, needs=("build", "push")),
        ]
        done = run_stages(graph, reporter=session.reporter, cancel=session.cancel)
        result = done.value("deploy")
        assert isinstance(result, DeployResult)
        return result
    finally:
        if owned:
            session.close()
