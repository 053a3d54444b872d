"""The docker builder: the project's own Dockerfile, built by BuildKit.

Planning (which client, which argv) is pure; ``build_docker`` runs it,
streams BuildKit's progress as events, then reads the image back with
``docker save`` into the same OCI form the native builder produces, so
push, SBOM and deploy work the same whichever builder made the image.

BuildKit comes either from the buildx plugin (``docker buildx build
--load``) or, on clients older than 23.0, from ``DOCKER_BUILDKIT=1 docker
build``. Newer clients without buildx have no BuildKit at all, so every
``docker`` on PATH is considered, not only the first.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from goship.build import oci
from goship.build.layout import write_layout
from goship.build.native import BuiltImage, layout_dir, sbom_artifact
from goship.build.version import source_version
from goship.config.model import BuildConfig
from goship.errors import BuildError, ConfigError, EngineUnreachable, ToolError
from goship.events import NullReporter, Reporter, Stage
from goship.project import Project


@dataclass(frozen=True)
class DockerClient:
    path: str
    mode: str  # "buildx" or "classic" (DOCKER_BUILDKIT=1 docker build)


@dataclass(frozen=True)
class DockerBuildPlan:
    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: Path
    dockerfile: Path
    tag: str


def _docker_candidates() -> Iterator[str]:
    seen: set[str] = set()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        found = shutil.which("docker", path=directory) if directory else None
        if found and os.path.realpath(found) not in seen:
            seen.add(os.path.realpath(found))
            yield found


def _client_major(docker: str) -> int | None:
    try:
        out = subprocess.run([docker, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"version (\d+)\.", out)
    return int(match.group(1)) if match else None


def find_buildkit_client() -> DockerClient:
    """The first docker client on PATH that can drive BuildKit."""
    candidates = list(_docker_candidates())
    if not candidates:
        raise ToolError(
            "the docker builder needs the docker command, which is not on PATH",
            hint="install Docker (Docker Desktop on Windows/macOS), or use build.builder: native",
        )
    for docker in candidates:
        try:
            if subprocess.run([docker, "buildx", "version"], capture_output=True, timeout=30).returncode == 0:
                return DockerClient(docker, "buildx")
        except (OSError, subprocess.TimeoutExpired):
            continue
        major = _client_major(docker)
        if major is not None and major < 23:
            return DockerClient(docker, "classic")
    raise ToolError(
        f"no docker client with BuildKit: {', '.join(candidates)} lack(s) the buildx plugin",
        hint="install docker-buildx (Debian/Ubuntu: docker-buildx-plugin or docker-buildx), or use build.builder: native",
    )


def plan_docker_build(
    project: Project, client: DockerClient, tag: str, secret_files: dict[str, Path], labels: dict[str, str]
) -> DockerBuildPlan:
    """The argv and environment of one BuildKit build of the project's Dockerfile."""
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
    argv: list[str] = [client.path]
    argv += ["buildx", "build", "--load"] if client.mode == "buildx" else ["build"]
    argv += ["--progress", "plain", "-f", str(dockerfile), "-t", tag, "--platform", platforms[0]]
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
    argv.append(str(context))
    env = {"DOCKER_BUILDKIT": "1"} if client.mode == "classic" else {}
    return DockerBuildPlan(tuple(argv), env, project.root, dockerfile, tag)


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


_PARSE_ERROR = re.compile(r"dockerfile parse error (?:on )?line (\d+): (.+)", re.IGNORECASE)
_PULL_ERROR = re.compile(r"failed to (?:solve|resolve)[^\n]*?(?:docker\.io/library/|docker\.io/)?([\w./:-]+): "
                         r"(?:failed to resolve source metadata|pull access denied|[^\n]*not found)", re.IGNORECASE)
_BASE_REF = re.compile(r"(?:docker\.io/library/|docker\.io/)?([a-z0-9][\w./-]*:[\w.-]+)")


def explain_failure(output: str, dockerfile: Path) -> BuildError:
    """BuildKit's verbose failure, cut down to what to fix and where."""
    name = dockerfile.name
    lines = [line for line in output.splitlines() if line.strip()]
    parse = _PARSE_ERROR.search(output)
    if parse:
        return BuildError(
            f"{name}:{parse.group(1)}: {parse.group(2).strip()}",
            hint="fix the Dockerfile (see https://docs.docker.com/reference/dockerfile/)",
        )
    if re.search(r"Cannot connect to the Docker daemon|error during connect", output):
        return EngineUnreachable(
            "the docker builder cannot reach a Docker engine",
            hint="start Docker (Docker Desktop, or 'sudo systemctl start docker'), or use build.builder: native",
        )
    lowered = output.lower()
    if "failed to resolve source metadata" in lowered or "pull access denied" in lowered or (
        "registry-1.docker.io" in output and ("no such host" in lowered or "dial tcp" in lowered)
    ):
        refs = [m for m in _BASE_REF.findall(" ".join(l for l in lines if "resolve" in l.lower() or "load metadata" in l.lower()))]
        base = refs[-1] if refs else "a base image"
        number = _find_line(dockerfile, f"FROM {base}") or _find_line(dockerfile, f"FROM {base.split(':')[0]}")
        return BuildError(
            f"{name}{':' + number if number else ''}: base image {base} is not present locally and cannot be pulled",
            hint="pull it where there is network access and 'docker load' it here, or change the FROM line",
            details=tuple(l.strip()[:300] for l in lines[-3:] if l.strip("- ")),
        )
    step = re.search(r"^\s*>\s*\[([^\]]+)\]\s*(.+?):?\s*$", output, re.MULTILINE)
    code = re.search(r"(?:exit code|did not complete successfully): ?(\d+)", output)
    context = [l for l in lines if re.match(r"^#\d+ \d+\.\d+ ", l)][-12:]
    if step:
        line_match = re.search(rf"{re.escape(name)}:(\d+)", output)
        number = line_match.group(1) if line_match else _find_line(dockerfile, step.group(2))
        where = f"{name}:{number}" if number else name
        return BuildError(
            f"{where}: [{step.group(1)}] {step.group(2).strip()} failed"
            + (f" (exit code {code.group(1)})" if code else ""),
            details=tuple(re.sub(r"^#\d+ \d+\.\d+ ", "", l) for l in context),
        )
    return BuildError("docker build failed: " + "; ".join(lines[-3:])[:400])


def _find_line(dockerfile: Path, instruction: str) -> str | None:
    """The line number of the Dockerfile line that starts ``instruction`` (BuildKit
    before 23 names the failed step but not its line)."""
    try:
        lines = dockerfile.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    wanted = " ".join(instruction.split())[:60].lower()
    for number, line in enumerate(lines, start=1):
        if " ".join(line.split()).lower().startswith(wanted):
            return str(number)
    return None


def _run_streaming(plan: DockerBuildPlan, stage: Stage) -> None:
    env = {**os.environ, **plan.env}
    tail: deque[str] = deque(maxlen=400)
    try:
        proc = subprocess.Popen(
            plan.argv, cwd=plan.cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace", stdin=subprocess.DEVNULL,
        )
    except OSError as exc:
        raise ToolError(f"cannot run {plan.argv[0]}: {exc.strerror}") from None
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip("\n")
        tail.append(line)
        # Step headers only ("#7 [build 4/6] RUN go mod download"); the rest is for errors.
        header = re.match(r"^#\d+ (\[.+)$", line)
        if header:
            stage.info(header.group(1))
    if proc.wait() != 0:
        raise explain_failure("\n".join(tail), plan.dockerfile)


def _saved_image(docker: str, tag: str) -> oci.Image:
    """``docker save TAG`` read back as an OCI image with gzip layers."""
    proc = subprocess.run([docker, "save", tag], capture_output=True, timeout=900)
    if proc.returncode != 0:
        raise BuildError(f"docker save {tag} failed: {proc.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
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
            layers.append(oci.Layer(oci.Blob(oci.MEDIA_LAYER, gzip.compress(raw, 6, mtime=0)), oci.sha256_digest(raw), created_by))
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


def build_docker(project: Project, reporter: Reporter | None = None) -> BuiltImage:
    """Build the project's Dockerfile with BuildKit and keep it as .goship/oci."""
    stage = Stage(reporter or NullReporter(), "build")
    client = find_buildkit_client()
    source = source_version(project.root)
    tag = f"{project.repository}:{source.version}"
    labels = {"org.opencontainers.image.version": source.version}
    if source.revision:
        labels["org.opencontainers.image.revision"] = source.revision
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="goship-secrets-") as tmp:
        plan = plan_docker_build(project, client, tag, _secret_files(project, Path(tmp)), labels)
        stage.step(f"docker build ({client.mode} BuildKit) {plan.dockerfile.name} -> {tag}")
        _run_streaming(plan, stage)
    image = _saved_image(client.path, tag)
    sboms: tuple[oci.Artifact, ...] = ()
    if project.config.build.sbom:
        binary = entrypoint_binary(image)
        try:
            if binary is None:
                raise BuildError("the image's ENTRYPOINT/CMD file was not found in its layers")
            sboms = (sbom_artifact(binary, image, project.service, source),)
        except BuildError as exc:
            stage.warn(f"no SBOM: {exc.message}")
    write_layout(layout_dir(project), image, source.version, sboms, prune=True)
    stage.ok(
        f"built {tag} ({image.digest[:19]}) with the Dockerfile",
        digest=image.digest,
        total_seconds=round(time.monotonic() - started, 2),
    )
    return BuiltImage(image, project.repository, source.version, layout_dir(project), sboms)
