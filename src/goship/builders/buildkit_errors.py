"""BuildKit's failures, cut down to what to fix and where.

BuildKit reports a failed build as pages of progress output. ``explain_failure``
finds in it what went wrong (a Dockerfile parse error, no engine, an unknown
target, a ``# syntax=`` frontend or base image that cannot be pulled and why,
a step that failed) and names the Dockerfile line, read with goship's one
Dockerfile parser (``goship.dockerfiles.parse``). Pure, apart from reading
the Dockerfile.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from goship.dockerfiles.parse import Dockerfile, Instruction, decode_dockerfile, parse_dockerfile, parser_directives
from goship.dockerfiles.parse import Stage as DockerfileStage
from goship.errors import BuildError, ConfigError, DockerfileError, EngineUnreachable, GoshipError


def _read_dockerfile(dockerfile: Path) -> str:
    try:
        return decode_dockerfile(dockerfile.read_bytes())
    except OSError:
        return ""


def _parsed(text: str) -> Dockerfile | None:
    """The Dockerfile as goship's parser reads it; None for text it refuses
    (then there are no stages or lines to name: BuildKit has the last word)."""
    try:
        return parse_dockerfile(text)
    except DockerfileError:
        return None


def _stage_names(dockerfile: Dockerfile | None) -> str:
    """' (stages: a, b)' for messages that name a stage that is not there."""
    if dockerfile is None:
        return ""
    names = [stage.name.lower() for stage in dockerfile.stages if stage.name]
    return f" (stages: {', '.join(names)})" if names else " (it names no stage: add 'AS NAME' to a FROM line)"


def check_target(target: str, dockerfile: Path, display: str, where: Path | str) -> None:
    """Refuse a build.target that names no stage of the Dockerfile before BuildKit runs
    (a file goship's parser refuses is left to BuildKit to judge)."""
    parsed = _parsed(_read_dockerfile(dockerfile))
    if parsed is not None and target.lower() not in {s.name.lower() for s in parsed.stages if s.name}:
        raise ConfigError(
            f"{where}: build.target {target!r} is not a stage of {display}{_stage_names(parsed)}",
            hint="set build.target to a stage name (FROM ... AS NAME), or remove it to build the last stage",
        )


_PARSE_ERROR = re.compile(r"dockerfile parse error (?:on )?line (\d+): (.+)", re.IGNORECASE)
_BASE_REF = re.compile(r"(?:docker\.io/library/|docker\.io/)?([a-z0-9][\w./-]*:[\w.-]+)")
_METADATA_REF = re.compile(r"source metadata for (\S+?):\s")
# "#3 [internal] load metadata for gcr.io/x:1" ... "#3 ERROR: ...": the step that failed.
_METADATA_STEP = re.compile(r"^#(\d+) \[internal\] load metadata for (\S+)\s*$", re.MULTILINE)
_FRONTEND_STEP = re.compile(r"resolve image config for (\S+?):?\s*$", re.MULTILINE)
_HEAD_URL = re.compile(r'https://([^/\s"]+)/v2/(\S+?)/manifests/([^"\s]+)')
_ARG_REFERENCE = re.compile(r"\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)")
_FROM_REFERENCE = re.compile(r"(?:^|[\s,])(?:--)?from=([^\s,]+)", re.IGNORECASE)

#: What the engine has of an image: "linux/amd64", or None when it has none.
ImagePlatform = Callable[[str], "str | None"]


def _normal_ref(ref: str) -> str:
    """``golang:1.21`` for ``docker.io/library/golang:1.21``; ``:latest`` added when untagged."""
    ref = ref.strip().strip('"')
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/", "library/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix):]
            break
    if "@" not in ref and "$" not in ref and ":" not in ref.rsplit("/", 1)[-1]:
        ref += ":latest"
    return ref


def _errored_metadata_ref(output: str) -> str | None:
    """The image of a 'load metadata for IMAGE' step that ERRORed, as written."""
    for step, ref in _METADATA_STEP.findall(output):
        if re.search(rf"^#{step} ERROR", output, re.MULTILINE):
            return str(ref)
    return None


def _failed_ref(output: str, lines: list[str]) -> str | None:
    """The image BuildKit could not resolve, from its error text."""
    errored = _errored_metadata_ref(output)
    if errored is not None:
        return _normal_ref(errored)
    metadata = _METADATA_REF.findall(output)
    if metadata:
        return _normal_ref(metadata[-1])
    heads = _HEAD_URL.findall(output)
    if heads:
        host, path, reference = heads[-1]
        name = path if host in ("registry-1.docker.io", "index.docker.io", "docker.io") else f"{host}/{path}"
        return _normal_ref(f"{name}@{reference}" if ":" in reference else f"{name}:{reference}")
    refs = _BASE_REF.findall(" ".join(line for line in lines if "resolve" in line.lower() or "load metadata" in line.lower()))
    return _normal_ref(refs[-1]) if refs else None


def _arg_pattern(text: str) -> str:
    """A regex for what BuildKit shows of ``text``: $VAR and ${VAR} match anything."""
    def literal(part: str) -> str:
        return r"\s*".join(re.escape(word) for word in part.split())

    return ".*?".join(literal(part) for part in _ARG_REFERENCE.split(text))


def _step_line(dockerfile: Dockerfile | None, label: str, step: str) -> int | None:
    """The line of the instruction BuildKit ran as ``[label] step``: searched in
    the instructions (continuations joined) of the step's stage, with ARG/ENV
    references matching their expanded values."""
    if dockerfile is None:
        return None
    stages = dockerfile.stages
    chosen: tuple[Instruction, ...] = dockerfile.instructions
    stage_label = label.rsplit(" ", 1)[0].strip().lower() if " " in label.strip() else ""
    index: int | None = None
    names = [stage.name.lower() if stage.name else None for stage in stages]
    if stage_label in names:
        index = names.index(stage_label)
    elif re.fullmatch(r"stage-(\d+)", stage_label):
        index = int(stage_label.split("-")[1])
    if index is not None and index < len(stages):
        chosen = (stages[index].from_instruction, *stages[index].instructions)
    candidates = [(instruction.line, " ".join(instruction.text.split())) for instruction in chosen]
    wanted = " ".join(step.split())
    for number, instruction in candidates:
        if re.fullmatch(_arg_pattern(instruction), wanted, re.IGNORECASE | re.DOTALL):
            return number
    for number, instruction in candidates:  # the instruction's text up to its first $
        prefix = instruction.split("$", 1)[0].lower()
        shown = wanted.lower()
        if len(prefix) >= 8 and (shown.startswith(prefix) or (len(shown) >= 8 and prefix.startswith(shown))):
            return number
    return None


def _step_reason(output: str) -> str | None:
    """Why a step failed when no command exited non-zero (COPY of a missing file, ...)."""
    cache_key = re.findall(r"failed to compute cache key: (?:failed to calculate checksum of ref \S+ )?(.+)", output)
    errors = re.findall(r"^#\d+ (?:\d+\.\d+ )?ERROR: (.+)$", output, re.MULTILINE)
    reason = (cache_key or errors or [None])[-1]
    if not reason:
        return None
    reason = re.sub(r"^(?:ERROR: )?(?:failed to solve(?: with frontend dockerfile\.v0)?: )+", "", reason.strip())
    if reason.endswith(" not found: not found"):
        reason = reason[: -len(": not found")]
    return reason[:300]


def _registry_of(ref: str) -> str:
    first = ref.split("/", 1)[0]
    return first if "/" in ref and ("." in first or ":" in first or first == "localhost") else "docker.io"


def _pull_reason(output: str, registry: str) -> tuple[str, str]:
    """Why the pull failed, in a few words, and the fix that goes with it."""
    lowered = output.lower()
    offline = "pull it where there is network access and 'docker load' it here"
    if "no such host" in lowered or "server misbehaving" in lowered or "temporary failure in name resolution" in lowered:
        return f"{registry} cannot be resolved (offline, or no DNS for it)", offline
    if "connection refused" in lowered:
        return f"{registry} refused the connection", offline
    if "gave http response to https client" in lowered:
        return f"{registry} speaks plain HTTP", f"add {registry} to the engine's insecure-registries, or {offline}"
    if "x509" in lowered or "certificate" in lowered:
        return (f"{registry}'s TLS certificate is not trusted",
                f"trust its CA (/etc/docker/certs.d/{registry}/ca.crt), or {offline}")
    if re.search(r"unauthorized|authentication required|denied|401", lowered):
        return (f"{registry} wants a login for it",
                f"run 'docker login {registry}' (the docker builder pulls with the docker CLI's logins), or {offline}")
    if "i/o timeout" in lowered or "handshake timeout" in lowered or "deadline exceeded" in lowered:
        return f"{registry} did not answer in time", offline
    if "manifest unknown" in lowered or "not found" in lowered:
        return f"{registry} has no such image or tag", "check the name and tag"
    return "", offline


def _frontend_failure(text: str, display: str, output: str, details: tuple[str, ...]) -> BuildError | None:
    """The ``# syntax=`` frontend image could not be had: say so, not "base image"."""
    syntax = [(number, value) for number, name, value in parser_directives(text) if name == "syntax"]
    if not syntax:
        return None
    number, image = syntax[0]
    wanted = _normal_ref(image)
    failed = {_normal_ref(ref) for ref in _FRONTEND_STEP.findall(output) + _METADATA_REF.findall(output)}
    if wanted not in failed and "frontend gateway" not in output.lower():
        return None
    reason, fix = _pull_reason(output, _registry_of(wanted))
    return BuildError(
        f"{display}:{number}: the '# syntax={image}' directive needs the Dockerfile frontend image {wanted}, "
        "which is not present locally and cannot be pulled" + (f": {reason}" if reason else ""),
        hint=f"make {wanted} available ({fix}), or remove line {number} to build with the engine's built-in "
             "Dockerfile frontend",
        details=details,
    )


def _base_image_failure(
    dockerfile: Dockerfile | None, display: str, base: str | None, platform: str | None, image_platform: ImagePlatform | None,
    details: tuple[str, ...], output: str = "",
) -> BuildError:
    reason, fix = _pull_reason(output, _registry_of(base or ""))
    because = f": {reason}" if reason else ""
    pull_hint = f"{fix}, or change the FROM line"
    if base is None:
        return BuildError(f"{display}: a base image is not present locally and cannot be pulled{because}",
                          hint=pull_hint, details=details)
    stages = dockerfile.stages if dockerfile is not None else ()
    exact = [s for s in stages if _normal_ref(s.image_raw) == base]
    with_args = [s for s in stages if re.fullmatch(_arg_pattern(_normal_ref(s.image_raw)), base)]
    from_stage: DockerfileStage | None = (exact or with_args)[0] if exact or with_args else None
    if from_stage is None and dockerfile is not None:
        # Not a FROM: a COPY --from= / RUN --mount=from= naming neither a stage nor a local image.
        for instruction in dockerfile.instructions:
            for name in _FROM_REFERENCE.findall(instruction.text):
                if _normal_ref(name) == base and instruction.keyword != "FROM":
                    return BuildError(
                        f"{display}:{instruction.line}: {instruction.keyword} --from={name} names no stage of "
                        f"{display}{_stage_names(dockerfile)} and no image present locally",
                        hint=f"name a stage defined above it (FROM ... AS {name}), or 'docker load' image {base} here",
                        details=details,
                    )
    where = f"{display}:{from_stage.line}" if from_stage else display
    present = image_platform(base) if image_platform and platform else None
    wanted = "/".join((platform or "").split("/")[:2])
    if present and wanted and present != wanted:
        return BuildError(
            f"{where}: base image {base} is present locally only for {present}, not for {wanted}, and cannot be pulled",
            hint=f"build for {present} (build.platforms), 'docker load' a {wanted} image of {base} here, "
                 "or use build.builder: native, which cross-compiles without base images",
            details=details,
        )
    return BuildError(f"{where}: base image {base} is not present locally and cannot be pulled{because}",
                      hint=f"{fix} (docker pull {base}), or change the FROM line", details=details)


def explain_failure(
    output: str, dockerfile: Path, display: str | None = None, platform: str | None = None,
    image_platform: ImagePlatform | None = None,
) -> GoshipError:
    """BuildKit's verbose failure, cut down to what to fix and where.

    ``display`` names the Dockerfile in messages (default: its file name);
    ``image_platform`` says which platform a local image has, to tell "missing"
    from "present for another platform than ``platform``".
    """
    name = dockerfile.name
    display = display or name
    text = _read_dockerfile(dockerfile)
    parsed = _parsed(text)
    lines = [line for line in output.splitlines() if line.strip()]
    parse = _PARSE_ERROR.search(output)
    if parse:
        return BuildError(
            f"{display}:{parse.group(1)}: {parse.group(2).strip()}",
            hint="fix the Dockerfile (see https://docs.docker.com/reference/dockerfile/)",
        )
    if re.search(r"cannot connect to the docker daemon|error during connect", output, re.IGNORECASE):
        return EngineUnreachable(
            "the docker builder cannot reach a Docker engine",
            hint="start Docker (Docker Desktop, or 'sudo systemctl start docker'), or use build.builder: native",
        )
    target = re.search(r"target stage (\S+) could not be found", output)
    if target:
        return ConfigError(
            f"build.target {target.group(1)!r} is not a stage of {display}{_stage_names(parsed)}",
            hint="set build.target to a stage name (FROM ... AS NAME), or remove it to build the last stage",
        )
    lowered = output.lower()
    details = tuple(line.strip()[:300] for line in lines[-3:] if line.strip("- "))
    frontend = _frontend_failure(text, display, output, details)
    if frontend is not None:
        return frontend
    metadata_failed = _errored_metadata_ref(output) is not None
    if metadata_failed or "failed to resolve source metadata" in lowered or "pull access denied" in lowered or (
        "failed to create llb definition" in lowered
    ) or ("registry-1.docker.io" in output and ("no such host" in lowered or "dial tcp" in lowered)):
        return _base_image_failure(
            parsed, display, _failed_ref(output, lines), platform, image_platform, details, output
        )
    step = re.search(r"^\s*>\s*\[([^\]]+)\]\s*(.+?):?\s*$", output, re.MULTILINE)
    code = re.search(r"(?:exit code|did not complete successfully): ?(\d+)", output)
    context = [line for line in lines if re.match(r"^#\d+ \d+\.\d+ ", line)][-12:]
    if step:
        line_match = re.search(rf"(?<![\w.-]){re.escape(name)}:(\d+)", output)
        number = line_match.group(1) if line_match else _step_line(parsed, step.group(1), step.group(2))
        where = f"{display}:{number}" if number else display
        reason = None if code else _step_reason(output)
        instruction = " ".join(step.group(2).split())
        hint = None
        if reason and "not found" in reason and re.match(r"(?i)(COPY|ADD)\s", instruction):
            hint = ("COPY and ADD read from the build context (build.context): the file is not there, "
                    "or .dockerignore excludes it")
        return BuildError(
            f"{where}: [{step.group(1)}] {instruction} failed"
            + (f" (exit code {code.group(1)})" if code else "")
            + (f": {reason}" if reason else ""),
            hint=hint,
            details=tuple(re.sub(r"^#\d+ \d+\.\d+ ", "", line) for line in context),
        )
    return BuildError("docker build failed: " + "; ".join(lines[-3:])[:400])
