"""The stages as a library API: build, push, deploy, and ship (all three).

Each stage can run alone: build leaves the image in ``.goship/oci``, push
records what it pushed in ``.goship/push.json``, deploy reads both.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import asdict, dataclass
from pathlib import Path

from goship import process
from goship.builders.dockerbuild import build_docker
from goship.builders.image import BuiltImage, last_build
from goship.builders.native import build_native
from goship.builders.outputs import Output, write_file_output
from goship.builders.version import source_version
from goship.config import LOCAL_TARGET
from goship.config.names import BUILDERS
from goship.deploy.clock import REAL_CLOCK, Cancellable, Clock, checkpoint, uninterrupted
from goship.deploy.rollout import HostResult, ImageProvider, deploy_to_host
from goship.deploy.targets import Host, resolve_target
from goship.engine.client import Engine
from goship.errors import ConfigError, DeployError, GoshipError, Interrupted, ProcessError
from goship.events import NullReporter, Reporter, Stage
from goship.hosts import connect_local
from goship.images import oci
from goship.images.layout import STATE_DIR, docker_archive, state_dir
from goship.images.reference import Repository, parse_repository
from goship.project import Project
from goship.registry import credentials, mounts
from goship.registry.client import PushResult, RegistryClient
from goship.registry.publish import push_built
from goship.release import kept_image, make_release, pull_auth

PUSH_RECORD = "push.json"


def build(project: Project, reporter: Reporter | None = None, builder: str | None = None) -> BuiltImage:
    """Build the image with ``builder`` (default: build.builder of goship.yaml)."""
    builder = builder or project.config.build.builder
    if builder not in BUILDERS:
        raise ConfigError(
            f"unknown builder {builder!r}",
            hint="use 'native' (go build, no Docker needed) or 'docker' (the project's Dockerfile with BuildKit)",
            key="build.builder",
        )
    if builder == "docker":
        return build_docker(project, reporter)
    return build_native(project, reporter)


def write_outputs(
    project: Project, built: BuiltImage, outputs: list[Output], reporter: Reporter | None = None
) -> None:
    """Send a build where ``--output`` asked: files, the local engine, the registry."""
    stage = Stage(reporter or NullReporter(), "output")
    for output in outputs:
        for warning in output_warnings(built, output):
            stage.warn(warning)
        if output.kind == "registry":
            push(project, built, reporter)
        elif output.kind == "docker":
            local = connect_local()
            try:
                _load_locally(built)(local.engine)
            finally:
                local.close()
            stage.ok(f"loaded {built.tag} into the local Docker engine")
        else:
            write_file_output(built, output)
            stage.ok(f"wrote {output}")
            if output.path is not None and _counts_as_source(project, output.path):
                stage.warn(
                    f"{output.path} is inside the module: the next build counts it as an uncommitted "
                    "change (a '-dirty' version, another digest); add it to .gitignore or write outside the module"
                )


def _counts_as_source(project: Project, path: Path) -> bool:
    """Whether ``path`` would enter the version of the next build (inside the
    module, not in .goship, not ignored by git)."""
    root = project.root.resolve()
    target = path.resolve()
    if root not in target.parents or (root / STATE_DIR) in (target, *target.parents):
        return False
    try:
        ignored = process.run(["git", "check-ignore", "-q", str(target)], cwd=root, timeout=30, check=False)
    except ProcessError:
        return True
    return ignored.returncode != 0


def _engine_arch() -> str | None:
    local = connect_local()
    try:
        return str(local.engine.version().get("Arch") or "") or None
    except GoshipError:
        return None
    finally:
        local.close()


def output_warnings(
    built: BuiltImage, output: Output, engine_arch: Callable[[], str | None] = _engine_arch
) -> list[str]:
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


def _client(project: Project, repository: Repository) -> RegistryClient:
    registry = project.config.registry
    ca_file = Path(registry.ca_file) if registry.ca_file else None
    if ca_file is not None and not ca_file.is_absolute():
        ca_file = project.root / ca_file
    return RegistryClient(
        repository.registry,
        insecure=registry.insecure,
        ca_file=ca_file,
        credentials=credentials.lookup(repository.registry, registry.username),
    )


def push(project: Project, built: BuiltImage | None = None, reporter: Reporter | None = None) -> PushResult:
    """Upload the image to the registry named by ``image``; record the digest."""
    stage = Stage(reporter or NullReporter(), "push")
    repository = registry_repository(project)
    if built is None:
        built = last_build(project)
        current = source_version(project.root).version
        if current != built.version:
            stage.warn(
                f"pushing the last build ({built.version}); the sources have changed since ({current}): "
                "run 'goship build' (or 'goship build -o registry') to push them"
            )
    platforms = ", ".join(built.platforms)
    stage.step(f"pushing {repository.tagged(built.version)} ({platforms})")
    sboms = built.sboms if project.config.build.sbom_format else ()
    with _client(project, repository) as client:
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


def _pushed_reference(project: Project, built: BuiltImage) -> str:
    record_path = state_dir(project.root) / PUSH_RECORD
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    if record.get("digest") != built.digest:
        raise DeployError(
            f"image {built.tag} ({built.digest[:19]}) has not been pushed",
            hint="run 'goship push' (or 'goship ship TARGET', which pushes)",
        )
    return str(record["reference"])


def _load_locally(built: BuiltImage) -> ImageProvider:
    def provide(engine: Engine) -> None:
        found = engine.image(built.tag)
        if found is not None and found.get("Id") in (built.image_id, built.digest):
            return
        engine.load(docker_archive(built.image, [built.tag]))

    return provide


def _pull(reference: str, auth: str | None) -> ImageProvider:
    def provide(engine: Engine) -> None:
        engine.pull(reference, auth)

    return provide


@dataclass(frozen=True)
class DeployResult:
    target: str
    version: str
    hosts: tuple[HostResult, ...]


def deploy(
    project: Project,
    target: str = LOCAL_TARGET,
    built: BuiltImage | None = None,
    reporter: Reporter | None = None,
    hosts: list[Host] | None = None,
    clock: Clock = REAL_CLOCK,
    cancel: threading.Event | None = None,
) -> DeployResult:
    """Roll the last built (and, for remote hosts, pushed) image out to ``target``.

    ``cancel`` (set by the CLI on the first Ctrl-C; a KeyboardInterrupt
    while waiting sets it too) stops every host at its next safe point:
    before its new container starts, while it is probed, before the switch,
    or during the watch (then it switches back). Hosts already switched are
    rolled back, and ``Interrupted`` says what runs where.
    """
    stage = Stage(reporter or NullReporter(), "deploy")
    hosts = hosts if hosts is not None else resolve_target(project, target)
    cancel = cancel or threading.Event()
    clock = Cancellable(clock, cancel)
    try:
        built = built or last_build(project)
        reference = None if all(h.local for h in hosts) else _pushed_reference(project, built)
        auth = pull_auth(project, reference) if reference else None
        batch = max(1, project.config.deploy.batch)
        done: list[tuple[Host, HostResult]] = []
        # Built once, before any host changes: a missing secret stops here.
        base = make_release(project, built.version, built.tag, built.digest, built.revision)
        version = built.version

        def one(host: Host) -> HostResult:
            checkpoint(clock)
            if host.local:
                image, provider = built.tag, _load_locally(built)
            else:
                assert reference is not None
                image, provider = reference, _pull(reference, auth)
            release = dataclasses.replace(base, image=image)
            stage.step(f"deploying {project.service} {version} to {host.name}")
            result = deploy_to_host(host, release, provider, stage, clock)
            stage.ok(f"live at {result.url}", url=result.url, container=result.container)
            return result

        for start in range(0, len(hosts), batch):
            group = hosts[start : start + batch]
            failure: GoshipError | None = Interrupted("interrupted") if cancel.is_set() else None
            if failure is None:
                with ThreadPoolExecutor(max_workers=len(group)) as pool:
                    futures = [(host, pool.submit(one, host)) for host in group]
                    _wait(futures, cancel, stage)
                    for host, future in futures:
                        try:
                            done.append((host, future.result()))
                        except GoshipError as exc:
                            failure = failure or exc
            if failure is not None:
                summary = _roll_back(project, done, hosts, stage, uninterrupted(clock))
                if cancel.is_set():
                    raise Interrupted(
                        "interrupted: every host stopped at a safe point, nothing is half-switched",
                        details=tuple(summary),
                    )
                failure.details = (*failure.details, *summary)
                raise failure
    finally:
        for host in hosts:
            host.close()
    return DeployResult(target, built.version, tuple(result for _, result in done))


def _wait(futures: list[tuple[Host, Future[HostResult]]], cancel: threading.Event, stage: Stage) -> None:
    """Wait for the hosts' deploys in this (the main) thread, where Ctrl-C arrives:
    the first one asks them to stop at a safe point, a second stops at once."""
    pending = {future for _, future in futures}
    while pending:
        try:
            _, pending = futures_wait(pending, timeout=0.2)
        except KeyboardInterrupt:
            if cancel.is_set():
                raise
            cancel.set()
            stage.warn("interrupted: stopping each host at a safe point (Ctrl-C again to stop at once)")


def _roll_back(
    project: Project, done: list[tuple[Host, HostResult]], hosts: list[Host], stage: Stage, clock: Clock
) -> list[str]:
    """Return the hosts this deploy already switched to what they ran before;
    say exactly what runs where afterwards."""
    summary = []
    for host, result in done:
        if result.previous_image is None:
            summary.append(f"{host.name}: kept the new version (there was no previous one)")
            continue
        version = result.previous_version or "previous"
        release = make_release(project, version, result.previous_image, "", "", kind="rollback")
        try:
            deploy_to_host(host, release, kept_image(project, result.previous_image), stage, clock)
            summary.append(f"{host.name}: rolled back to {version}")
        except GoshipError as exc:
            summary.append(f"{host.name}: ROLLBACK FAILED, runs the new version: {exc.message}")
    switched = {host.name for host, _ in done}
    untouched = [h.name for h in hosts if h.name not in switched]
    if untouched:
        summary.append(f"unchanged (previous version): {', '.join(untouched)}")
    return summary


def preflight(hosts: list[Host], reporter: Reporter | None = None) -> None:
    """Check every host answers (SSH, host key, Docker) before anything changes.

    The hosts are asked at the same time; the first failure (in the order
    of the target's hosts) is raised once all have answered.
    """
    stage = Stage(reporter or NullReporter(), "preflight")

    def check(host: Host) -> None:
        version = host.engine.version().get("Version", "?")
        stage.on(host.name).ok(f"Docker {version}")

    with ThreadPoolExecutor(max_workers=max(1, len(hosts))) as pool:
        checks = [pool.submit(check, host) for host in hosts]
    for done in checks:
        done.result()


def ship(
    project: Project, target: str = LOCAL_TARGET, reporter: Reporter | None = None, cancel: threading.Event | None = None
) -> DeployResult:
    """Check the hosts, build, push when the target needs a registry, and deploy.

    The hosts are checked while the image builds (connecting over SSH takes
    as long as a small build); nothing is pushed or changed on any host
    unless every one of them answered.
    """
    make_release(project, "check", "", "", "")  # secrets, before anything runs
    hosts: list[Host] = resolve_target(project, target)
    try:
        with ThreadPoolExecutor(max_workers=1) as background:
            checked = background.submit(preflight, hosts, reporter)
            try:
                built = build(project, reporter)
            finally:
                checked.result()  # a host problem is the error that matters most
        if cancel is not None and cancel.is_set():
            raise Interrupted("interrupted after the build: nothing was pushed or deployed")
        if any(not host.local for host in hosts):
            push(project, built, reporter)
    except BaseException:
        for host in hosts:
            host.close()
        raise
    # deploy() reuses the hosts' connections and closes them.
    return deploy(project, target, built, reporter, hosts, cancel=cancel)
