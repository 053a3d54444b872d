"""The lint rules: stable IDs, a severity, why it matters and the fix.

GS1xx look at the Dockerfile and the build context, GS2xx at goship.yaml.
IDs never change meaning; a retired rule's ID is not reused.

Each check is a pure function of the parsed Dockerfile (and, for the
context rules, a ``BuildContext``) returning findings. Suppression
(``--ignore``, ``# goship-ignore``) happens afterwards, in one place.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from goship.commands.lint.context import BuildContext, format_size
from goship.commands.lint.findings import Finding, Rule, Severity
from goship.dockerfiles.ignore import IgnoreMatcher
from goship.dockerfiles.parse import (
    Dockerfile,
    Instruction,
    Stage,
    context_sources,
    is_url,
    normalise_source,
    parse_arg,
    parse_env,
    parse_image,
)
from goship.golang.versions import image_go_version, parse_go_version
from goship.secrets import is_secret_name

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO

RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("GS100", E, "Dockerfile or go.mod does not parse",
             "goship lint (and docker build) cannot read the file, so nothing else was checked.",
             "Correct the file at the line shown, then run goship lint again."),
        Rule("GS101", W, "Go toolchain shipped in the final image",
             "A single-stage build ships the Go toolchain and the sources (~800 MB) with the service: "
             "slow pulls and a large attack surface.",
             "Build in 'FROM golang:<version> AS build', then start the final stage FROM scratch or "
             "distroless and COPY --from=build only the binary."),
        Rule("GS102", E, "cgo binary copied into an image without a matching libc",
             "'go build' links against the builder's C library unless CGO_ENABLED=0; scratch and "
             "distroless/static have none and alpine has musl, so the binary fails with "
             "'no such file or directory' (exec format error on some engines).",
             "Set CGO_ENABLED=0 for the build (ENV CGO_ENABLED=0, or 'RUN CGO_ENABLED=0 go build ...')."),
        Rule("GS103", W, "Final stage runs as root",
             "A process running as root inside the container turns any compromise into root on its "
             "filesystem and a short step from the host.",
             "Add 'USER 65532:65532' (a numeric uid needs no /etc/passwd) to the final stage."),
        Rule("GS104", W, "Base image not pinned",
             "'latest' (or no tag, which means latest) changes under you: the same Dockerfile builds a "
             "different image tomorrow, and a rebuild can break without a code change.",
             "Pin a version tag (alpine:3.20, golang:1.22-alpine) or a digest (@sha256:...)."),
        Rule("GS105", W, "Whole context copied before the Go modules are downloaded",
             "'COPY . .' before 'go mod download' invalidates the dependency layer on every source "
             "change: each build downloads every module again.",
             "First 'COPY go.mod go.sum ./' and 'RUN go mod download', then 'COPY . .'."),
        Rule("GS106", N, "apk add without --no-cache",
             "The package index stays in the layer: megabytes of cache shipped in the image.",
             "Use 'apk add --no-cache <packages>'."),
        Rule("GS107", N, "apt-get install without cleaning the package lists",
             "/var/lib/apt/lists stays in the layer: tens of megabytes of index shipped in the image.",
             "End the same RUN with '&& rm -rf /var/lib/apt/lists/*'."),
        Rule("GS108", W, "ENTRYPOINT/CMD in shell form",
             "Shell form runs '/bin/sh -c ...': the shell is PID 1 and does not pass SIGTERM on, so the "
             "Go process never shuts down gracefully and is killed after the stop timeout; images "
             "without /bin/sh (scratch, distroless) do not start at all.",
             'Use exec form: ENTRYPOINT ["/app"] (or CMD ["/app"]).'),
        Rule("GS109", E, "Secret in ENV or ARG",
             "ENV values are stored in the image config and ARG values in its history: anyone who can "
             "pull the image can read them.",
             "Pass secrets at run time (goship.yaml app.secrets) or at build time with "
             "'RUN --mount=type=secret,id=...'; never in ENV or ARG."),
        Rule("GS110", E, "Script with CRLF line endings copied into the image",
             "A Windows checkout turns '#!/bin/sh' into '#!/bin/sh\\r': the kernel looks for "
             "'/bin/sh\\r' and the container fails with 'no such file or directory' or "
             "'exec format error'.",
             "Add '*.sh text eol=lf' to .gitattributes and re-checkout, or convert the file (dos2unix)."),
        Rule("GS111", W, "ADD of a URL",
             "ADD downloads without verifying what it got, and the layer is not cached reliably.",
             "Use 'ADD --checksum=sha256:<digest> <url> <dest>', or download with curl and check the "
             "checksum in a RUN."),
        Rule("GS112", N, "No health check",
             "Neither the image (HEALTHCHECK) nor goship.yaml (health:) says how to tell the service is "
             "healthy; goship's deploy gate then probes the default /healthz.",
             "Add a 'health:' section to goship.yaml with the path your service answers 2xx on."),
        Rule("GS113", W, "No .dockerignore",
             "Without it the whole directory - .git, local binaries, .env files - is sent to the engine "
             "and 'COPY . .' puts it in the image.",
             "Add a .dockerignore excluding at least .git, .goship, .env* and build output."),
        Rule("GS114", W, ".dockerignore does not exclude .git",
             "The repository history is sent with every build, slows it down and, through 'COPY . .', "
             "can end up in the image.",
             "Add '.git' to .dockerignore."),
        Rule("GS115", W, "Build context too large",
             "Every build sends the whole context to the engine before the first step runs.",
             "Exclude the largest entries in .dockerignore."),
        Rule("GS116", E, "Dockerfile or .dockerignore saved as UTF-16",
             "Windows PowerShell 5 writes UTF-16 with '>' and Out-File; docker build reads UTF-8 only and "
             "fails with 'unknown instruction' on the first line of a Dockerfile, and matches none of the "
             "patterns of a .dockerignore (the whole directory is sent).",
             "Save it as UTF-8: in PowerShell use '| Out-File -Encoding utf8' or 'Set-Content -Encoding utf8'."),
        Rule("GS117", W, "Port differs between goship.yaml and the Dockerfile",
             "goship deploys with app.port (it sets PORT and routes traffic there); an image that EXPOSEs or "
             "defaults PORT to another port listens where nothing is routed, or fails its health check.",
             "Use the same port in goship.yaml (app.port) and the Dockerfile (EXPOSE, ENV PORT)."),
        Rule("GS118", E, "COPY or ADD source excluded by .dockerignore",
             "docker build sends the context without what .dockerignore excludes, so a COPY of an excluded "
             "path fails with 'not found' (or copies an empty directory).",
             "Remove the pattern from .dockerignore, or re-include the path with a '!' line after it."),
        Rule("GS119", E, "Builder image's Go is older than go.mod's go line",
             "go.mod's go line is the oldest Go that may build the module. The official golang images "
             "set GOTOOLCHAIN=local, so an older Go does not fetch a newer one: 'go build' stops with "
             "'go.mod requires go >= X (running go Y; GOTOOLCHAIN=local)'.",
             "Build FROM a golang image at least as new as go.mod's go line (golang:<go line>-alpine), "
             "or lower the go line if the code allows it."),
        Rule("GS120", E, "Package manager of another distribution",
             "Alpine has only apk; Debian and Ubuntu (and golang:<version> without -alpine, which is "
             "Debian) only apt-get; distroless has neither. The RUN stops with 'apk: not found' or "
             "'apt-get: not found', and the build fails.",
             "Use the base's own package manager (apk add --no-cache on Alpine, apt-get install on "
             "Debian/Ubuntu), or change the stage's FROM to the distribution the RUN was written for."),
        Rule("GS201", E, "goship.yaml does not load",
             "goship cannot build or deploy with a configuration it cannot read.",
             "Correct the key or value at the line shown."),
        Rule("GS202", W, "Insecure registry that is not on this machine",
             "registry.insecure sends pushes and registry credentials over plain HTTP; on anything but "
             "loopback they can be read and the image swapped on the way.",
             "Serve the registry over TLS (registry.ca_file for a private CA) and remove insecure: true."),
        Rule("GS203", N, "Container hardening weakened",
             "app.security turns off part of goship's default hardening (read-only root, no new "
             "privileges, no capabilities, non-root).",
             "Keep the defaults where the service allows it; the reason given is shown here for review."),
        Rule("GS204", E, "Required setting still a placeholder",
             "goship init writes an empty value marked '# REQUIRED:' for each flag or variable the "
             "service exits without; deployed as it is, the service fails to start or runs misconfigured.",
             "Fill in the value goship init left empty (the comment on its line says what the code needs), "
             "then delete the REQUIRED comment."),
        Rule("GS210", W, "SQLite on a volume shared during the switch",
             "A zero-downtime deploy starts the new container before it stops the old one, so for a few seconds "
             "two processes open the same SQLite file on the volume. In SQLite's default rollback-journal mode a "
             "write of one makes the other fail with 'database is locked' (SQLITE_BUSY); two writers that do not "
             "both use locking correctly can corrupt it.",
             "Open the database in WAL mode with a busy timeout (e.g. '?_pragma=journal_mode(WAL)&"
             "_pragma=busy_timeout(5000)' for modernc.org/sqlite, '?_journal_mode=WAL&_busy_timeout=5000' for "
             "mattn/go-sqlite3), keep writes short, and stop writing on SIGTERM; keep the volume on a local disk "
             "(never a network file system). Or move the data to a database server."),
    )
}

_GO_BUILD = re.compile(r"\bgo\s+(?:build|install)\b")
_GO_DEPS = re.compile(r"\bgo\s+(?:build|install|test|vet|generate|run|mod\s+download)\b")
_GO_MOD_DOWNLOAD = re.compile(r"\bgo\s+mod\s+download\b")
_CGO_OFF = re.compile(r"\bCGO_ENABLED\s*=\s*[\"']?0\b")
_STATIC_LINK = re.compile(r"-extldflags[= ]+[\"']?[^\"']*-static")
_SCRIPT_SUFFIXES = (".sh", ".bash", ".ash", ".zsh", ".ksh")


def finding(
    rule_id: str, message: str, file: str, line: int | None, severity: Severity | None = None, fix: str | None = None
) -> Finding:
    """A finding of rule ``rule_id``; ``fix`` replaces the rule's fix when this case needs its own."""
    rule = RULES[rule_id]
    return Finding(
        rule=rule_id, severity=severity or rule.severity, message=message, file=file, line=line, fix=fix or rule.fix
    )


# -- base images ------------------------------------------------------------------------------------


def libc_of(image: str) -> str | None:
    """'none', 'musl' or 'glibc' for the C library an image provides; None when unknown."""
    if image == "scratch":
        return "none"
    ref = parse_image(image)
    tag = ref.tag or ""
    if "distroless" in ref.name:
        return "none" if "static" in ref.name else "glibc"
    if ref.name.endswith("chainguard/static"):
        return "none"
    if ref.repo == "alpine" or "alpine" in tag:
        return "musl"
    if ref.repo in ("golang", "debian", "ubuntu", "busybox") or any(d in tag for d in ("bookworm", "bullseye", "buster", "trixie")):
        return "glibc"
    return None


def _default_nonroot(image: str) -> bool:
    """Images whose default user is not root (distroless :nonroot, Chainguard)."""
    ref = parse_image(image)
    return "nonroot" in (ref.tag or "") or ref.name.startswith("cgr.dev/chainguard/")


_DEBIAN_CODENAMES = ("bookworm", "bullseye", "buster", "stretch", "trixie", "forky", "sid")
_UBUNTU_CODENAMES = ("noble", "jammy", "focal", "bionic", "oracular", "plucky")


def distro_of(image: str) -> str | None:
    """'alpine', 'debian', 'ubuntu' or 'distroless' for the distribution an image is built on;
    None when unknown (scratch, busybox, Windows tags, images goship does not know)."""
    if image == "scratch":
        return None
    ref = parse_image(image)
    tag = ref.tag or ""
    if "windowsservercore" in tag or "nanoserver" in tag:
        return None
    if "distroless" in ref.name:
        return "distroless"
    if ref.repo == "alpine" or "alpine" in tag:
        return "alpine"
    if ref.repo == "ubuntu" or any(name in tag for name in _UBUNTU_CODENAMES):
        return "ubuntu"
    # The official golang image without a variant tag is Debian (bookworm today).
    if ref.repo in ("debian", "golang") or any(name in tag for name in _DEBIAN_CODENAMES):
        return "debian"
    return None


def check_single_stage(df: Dockerfile) -> Iterable[Finding]:
    final = df.final
    # 'FROM build' as the final stage is the build stage itself: follow the FROM chain to its image.
    base = df.root(final)
    if base.unresolved:
        return
    builds_here = any(i.keyword == "RUN" and _GO_BUILD.search(i.command_text()) for i in df.chain(final))
    if parse_image(base.image).repo == "golang" or builds_here:
        if len(df.stages) == 1:
            how = f"a single stage FROM {final.image}"
        elif base.index != final.index:
            how = f"the final stage FROM {final.image_raw} (stage {base.label()}, FROM {base.image})"
        else:
            how = f"the final stage FROM {final.image}"
        yield finding("GS101", f"{how} ships the Go toolchain and sources with the service", df.path, final.line)


def _cgo_disabled(df: Dockerfile, stage: Stage, run: Instruction) -> bool:
    text = run.command_text()
    if _CGO_OFF.search(text) or _STATIC_LINK.search(text):
        return True
    state = False
    for instruction in df.chain(stage):
        if instruction.line >= run.line:
            break
        if instruction.keyword == "ENV":
            for name, value in parse_env(instruction.args):
                if name == "CGO_ENABLED":
                    state = value.strip("\"'") == "0"
        elif instruction.keyword == "ARG":
            for name, default in parse_arg(instruction.args):
                if name == "CGO_ENABLED" and default is not None:
                    state = default.strip("\"'") == "0"
    return state


def _copied_from(df: Dockerfile, stage: Stage) -> list[tuple[Instruction, Stage]]:
    """The COPY --from=<stage> instructions in effect in ``stage`` and the stages they name."""
    result = []
    for copy in df.chain(stage):
        source = copy.flag("from") if copy.keyword == "COPY" else None
        origin = df.stage(source) if source else None
        if origin is not None:
            result.append((copy, origin))
    return result


_C_TOOLCHAIN = re.compile(r"(?<![\w.-])(gcc|g\+\+|clang|build-base|build-essential|musl-dev|libc6?-dev|cc)(?![\w.+-])")


def _has_c_compiler(df: Dockerfile, stage: Stage, libc: str | None, before: Instruction) -> bool:
    """The stage can run cgo at ``before``: an image with gcc (golang:X on Debian has it, golang:X-alpine
    does not) or a RUN earlier in the chain that installs a C toolchain (apk add gcc/build-base/musl-dev)."""
    if libc != "musl":
        return True
    for run in df.chain(stage):
        if run is before:
            break
        if run.keyword == "RUN" and _C_TOOLCHAIN.search(run.command_text()):
            return True
    return False


def check_cgo(df: Dockerfile) -> Iterable[Finding]:
    final = df.final
    base = df.root(final)
    if len(df.stages) < 2 or base.unresolved:
        return
    final_libc = libc_of(base.image)
    if final_libc is None:
        return
    # Stages the final one is built FROM share its C library: not builders to compare with.
    own = {stage.index for stage in df.ancestors(final)}
    # Every stage whose files can reach the final image, through COPY --from chains
    # (golang -> an alpine stage -> scratch), with the final stage's COPY line and the way through.
    queue: list[tuple[Instruction, Stage, tuple[str, ...]]] = [(copy, origin, ()) for copy, origin in _copied_from(df, final)]
    seen: set[int] = set()
    reported: set[int] = set()
    while queue:
        copy, builder, via = queue.pop(0)
        if builder.index in own or builder.index in seen:
            continue
        seen.add(builder.index)
        queue += [(copy, origin, (*via, builder.label())) for _, origin in _copied_from(df, builder)]
        builder_root = df.root(builder)
        if builder_root.unresolved:
            continue
        builder_libc = libc_of(builder_root.image)
        for run in df.chain(builder):
            if run.keyword != "RUN" or not _GO_BUILD.search(run.command_text()) or run.line in reported:
                continue
            if _cgo_disabled(df, builder, run):
                continue
            if final_libc == "musl" and builder_libc == "musl":
                continue  # alpine to alpine: the same musl
            if final_libc == "glibc" and builder_libc != "musl":
                continue
            reported.add(run.line)
            target = "scratch" if base.image == "scratch" else base.image
            libc = {"none": "no C library", "musl": "musl, not glibc", "glibc": "glibc, not musl"}[final_libc]
            through = f" (through stage {', '.join(via)})" if via else ""
            where = (
                f"'go build' without CGO_ENABLED=0 in stage {df.stage_at(run.line).label()}; line {copy.line} copies "
                f"its output{through} into {target}, which has {libc}"
            )
            if not _has_c_compiler(df, builder, builder_libc, run):
                # No gcc in the stage: go turns cgo off by itself and the binary runs, until one is installed.
                yield finding(
                    "GS102",
                    f"{where}: it starts only because {builder_root.image} has no C compiler, so go turns cgo off "
                    "by itself; set CGO_ENABLED=0 explicitly so installing gcc later cannot break it",
                    df.path, run.line, severity=W,
                )
                continue
            yield finding("GS102", f"{where}: the binary will not start", df.path, run.line)


def check_root(df: Dockerfile) -> Iterable[Finding]:
    final = df.final
    users = [i for i in df.chain(final) if i.keyword == "USER"]
    if not users:
        base_image = df.root(final)
        if base_image.unresolved or _default_nonroot(base_image.image):
            return
        base = final.image if final.parent is None else f"stage {df.stages[final.parent].label()}"
        yield finding("GS103", f"the final stage (FROM {base}) has no USER: the service runs as root", df.path, final.line)
        return
    last = users[-1]
    user = last.args.split(":", 1)[0].strip()
    if user in ("root", "0"):
        yield finding("GS103", f"USER {last.args} in the final stage: the service runs as root", df.path, last.line)


def check_base_tags(df: Dockerfile) -> Iterable[Finding]:
    for stage in df.stages:
        if stage.parent is not None or stage.unresolved or stage.image.lower() == "scratch":
            continue
        ref = parse_image(stage.image)
        if ref.digest:
            continue
        if ref.tag is None:
            yield finding("GS104", f"base image '{stage.image}' has no tag, which means 'latest'", df.path, stage.line)
        elif ref.tag == "latest":
            yield finding("GS104", f"base image '{stage.image}' uses the 'latest' tag", df.path, stage.line)


def _copy_sources(instruction: Instruction) -> list[str]:
    if instruction.heredocs:
        return []
    return instruction.words()[:-1]


def _whole_context(source: str) -> bool:
    return source.strip() in (".", "./", "*", "/", "./*")


def _is_module_file(source: str) -> bool:
    name = source.rstrip("/").rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(candidate, name) for candidate in ("go.mod", "go.sum", "go.work"))


def _module_cache_mounted(df: Dockerfile, stage: Stage, run: Instruction) -> bool:
    """``run`` has a cache mount where Go keeps downloaded modules (GOMODCACHE, /go/pkg/mod by default)."""
    targets = {"/go/pkg/mod"}
    for instruction in df.chain(stage):
        if instruction.keyword == "ENV":
            targets |= {value.strip("\"'") for name, value in parse_env(instruction.args) if name == "GOMODCACHE"}
    for name, value in run.flags:
        if name != "mount":
            continue
        options = dict(part.partition("=")[::2] for part in value.split(","))
        target = options.get("target") or options.get("dst") or options.get("destination") or ""
        if options.get("type") == "cache" and (target.rstrip("/") in targets or target.rstrip("/").endswith("/pkg/mod")):
            return True
    return False


def check_copy_before_download(df: Dockerfile, context: BuildContext | None = None) -> Iterable[Finding]:
    if context is not None and context.exists("vendor/modules.txt"):
        return  # vendored modules come with the sources: nothing to download first
    for stage in df.stages:
        if any("-mod=vendor" in i.command_text() for i in stage.instructions if i.keyword == "RUN"):
            continue
        module_files = downloaded = False
        workspace = context is not None and context.exists("go.work")
        candidate: Instruction | None = None
        # A workspace (go.work) whose modules require each other at unpublished
        # versions cannot 'go mod download' before its sources are there: a stage
        # that never downloads is taken to be one of those, not a mistake.
        never_downloads = not any(
            _GO_MOD_DOWNLOAD.search(i.command_text()) for i in stage.instructions if i.keyword == "RUN"
        )
        for instruction in stage.instructions:
            if instruction.keyword in ("COPY", "ADD") and instruction.flag("from") is None:
                sources = _copy_sources(instruction)
                if any(_is_module_file(s) for s in sources):
                    module_files = True
                    workspace = workspace or any(s.rstrip("/").endswith(("go.work", "go.work*")) for s in sources)
                if candidate is None and workspace and never_downloads:
                    continue
                if candidate is None and any(_whole_context(s) for s in sources) and not downloaded:
                    candidate = instruction
            elif instruction.keyword == "RUN":
                text = instruction.command_text()
                if candidate is None and module_files and _GO_MOD_DOWNLOAD.search(text):
                    downloaded = True
                elif candidate is not None and _GO_DEPS.search(text):
                    what = f"{candidate.keyword} {candidate.args} comes before the modules are downloaded (line {instruction.line} runs go)"
                    if _module_cache_mounted(df, stage, instruction):
                        cost = (
                            ": any source change re-runs the module step; the cache mount keeps the modules on "
                            "this builder, but a builder without that cache (a fresh CI runner) downloads every module again"
                        )
                    else:
                        cost = ": any source change downloads every module again"
                    yield finding("GS105", what + cost, df.path, candidate.line)
                    break


def _segments(command: str) -> list[str]:
    return [s for s in re.split(r"&&|\|\||;|\n|\|", command) if s.strip()]


#: Words that may stand before a command in a shell line ('then apk add', 'sudo apt-get').
_BEFORE_COMMAND = frozenset({"then", "do", "else", "{", "(", "!", "exec", "sudo", "nohup", "time", "env"})
_MANAGERS = {"apk": "apk", "apt-get": "apt", "apt": "apt", "aptitude": "apt"}
#: The package manager each distribution has (distroless has none).
_DISTRO_MANAGER = {"alpine": "apk", "debian": "apt", "ubuntu": "apt", "distroless": None}
_DISTRO_NAME = {"alpine": "Alpine", "debian": "Debian", "ubuntu": "Ubuntu", "distroless": "distroless (Debian without a shell or package manager)"}


def _manager_commands(command: str, depth: int = 0) -> list[tuple[str, str]]:
    """(manager, the command as written) for each apk/apt-get/apt call a RUN makes, in order."""
    found: list[tuple[str, str]] = []
    for segment in _segments(command):
        try:
            words = shlex.split(segment, posix=True)
        except ValueError:
            words = segment.split()
        while words and (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]) or words[0] in _BEFORE_COMMAND):
            words.pop(0)
        if not words:
            continue
        program = posixpath.basename(words[0])
        if program in _SHELLS and len(words) > 2 and re.fullmatch(r"-[a-z]*c[a-z]*", words[1]) and depth < 2:
            found += _manager_commands(words[2], depth + 1)
        elif program in _MANAGERS:
            written = " ".join(words)
            found.append((_MANAGERS[program], written if len(written) <= 60 else written[:57] + "..."))
    return found


def _foreign_manager_runs(df: Dockerfile) -> list[tuple[Instruction, str, Stage, Stage, str]]:
    """RUNs calling a package manager their stage's base does not have:
    (run, the command, its stage, the stage built FROM an image, that image's distribution)."""
    found = []
    for stage in df.stages:
        base = df.root(stage)  # 'FROM build' follows the chain to the image it starts from
        if base.unresolved:
            continue
        distro = distro_of(base.image)
        if distro is None:
            continue
        for run in (i for i in stage.instructions if i.keyword == "RUN"):
            calls = _manager_commands(run.command_text())
            # A RUN calling both managers is written for either base ('if command -v apk; then ...').
            if len({manager for manager, _ in calls}) != 1:
                continue
            manager, written = calls[0]
            if manager != _DISTRO_MANAGER[distro]:
                found.append((run, written, stage, base, distro))
    return found


def check_package_manager(df: Dockerfile) -> Iterable[Finding]:
    """apk in a Debian/Ubuntu stage, apt-get in an Alpine one, either in distroless: the RUN fails."""
    for run, written, stage, base, distro in _foreign_manager_runs(df):
        program = written.split()[0]
        where = f"stage {stage.label()}"
        if base.index != stage.index:
            where += f" (built FROM stage {base.label()})"
        image = base.image if base.image == base.image_raw else f"{base.image_raw} ({base.image})"
        message = (
            f"'{written}' in {where}: {image} is {_DISTRO_NAME[distro]} and has no {program}, so the build "
            f"fails with '{program}: not found'"
        )
        ref = parse_image(base.image)
        go = image_go_version(ref.tag) if ref.repo == "golang" else None
        version = go.text if go is not None else "<version>"
        if distro == "alpine":
            fix = (
                "Install with 'apk add --no-cache <packages>' (Alpine's package names), or build this stage "
                f"FROM a Debian-based image (e.g. golang:{version}-bookworm)."
            )
        elif distro == "distroless":
            fix = (
                f"Install what you need in a build stage (e.g. FROM golang:{version}) and COPY --from it; "
                "distroless stages cannot RUN a package manager."
            )
        else:
            fix = (
                "Install with 'apt-get update && apt-get install -y --no-install-recommends <packages> && "
                "rm -rf /var/lib/apt/lists/*' (Debian's package names), or build this stage FROM an "
                f"Alpine-based image (e.g. golang:{version}-alpine)."
            )
        yield finding("GS120", message, df.path, run.line, fix=fix)


_GOTOOLCHAIN = re.compile(r"\bGOTOOLCHAIN\s*=\s*[\"']?([\w.+-]+)")


def _fetches_toolchain(df: Dockerfile, stage: Stage, runs: list[Instruction]) -> bool:
    """GOTOOLCHAIN set to anything but 'local' (auto, go1.23.4, path) in the stage's chain or its go RUNs:
    go then downloads the toolchain go.mod asks for, so an older image still builds."""
    values = []
    for instruction in df.chain(stage):
        if instruction.keyword == "ENV":
            values += [value.strip("\"'") for name, value in parse_env(instruction.args) if name == "GOTOOLCHAIN"]
        elif instruction.keyword == "ARG":
            values += [(default or "").strip("\"'") for name, default in parse_arg(instruction.args) if name == "GOTOOLCHAIN"]
    for run in runs:
        values += _GOTOOLCHAIN.findall(run.command_text())
    return bool(values) and values[-1] not in ("local", "")


def check_go_version(df: Dockerfile, go_required: str | None, go_mod: str = "go.mod") -> Iterable[Finding]:
    """A golang builder image whose Go is older than go.mod's go line: 'go build' refuses the module."""
    required = parse_go_version(go_required)
    if required is None:
        return
    for base in df.stages:
        if base.parent is not None or base.unresolved:
            continue
        ref = parse_image(base.image)
        if ref.repo != "golang":
            continue
        have = image_go_version(ref.tag)
        if have is None or not have.older_than(required):
            continue
        # The stages that build from this image (itself, and any FROM it by name) and run go there.
        stages = [stage for stage in df.stages if df.root(stage).index == base.index]
        go_runs = {
            stage.index: [i for i in stage.instructions if i.keyword == "RUN" and _GO_DEPS.search(i.command_text())]
            for stage in stages
        }
        users = [stage for stage in stages if go_runs[stage.index]]
        if not users or all(_fetches_toolchain(df, stage, go_runs[stage.index]) for stage in users):
            continue
        first = go_runs[users[0].index][0]
        written = f"FROM {base.image_raw} (ARG default: {base.image})" if base.image_raw != base.image else f"FROM {base.image}"
        wanted = ref.tag.replace(have.text, required.minor_text, 1) if ref.tag else required.minor_text
        yield finding(
            "GS119",
            f"{written} has Go {have.text} but {go_mod} says 'go {required.text}': the go command at line "
            f"{first.line} stops with 'go.mod requires go >= {required.text} (running go {have.text}; GOTOOLCHAIN=local)'",
            df.path, base.line,
            fix=(
                f"Build FROM {ref.name.removeprefix('docker.io/library/')}:{wanted} or newer"
                + (" (change the ARG default that names the version)" if base.image_raw != base.image else "")
                + f", or lower the go line of {go_mod} if the code allows it."
            ),
        )


def check_apk(df: Dockerfile) -> Iterable[Finding]:
    foreign = {run.line for run, *_ in _foreign_manager_runs(df)}  # GS120 says more: that RUN cannot work at all
    for run in (i for i in df.instructions if i.keyword == "RUN" and i.line not in foreign):
        text = run.command_text()
        if "/var/cache/apk" in text or "/var/cache/apk" in (run.flag("mount") or ""):
            continue
        for segment in _segments(text):
            if re.search(r"\bapk\b", segment) and re.search(r"\badd\b", segment) and "--no-cache" not in segment:
                yield finding("GS106", "'apk add' without --no-cache keeps the package index in the layer", df.path, run.line)
                break


def check_apt(df: Dockerfile) -> Iterable[Finding]:
    foreign = {run.line for run, *_ in _foreign_manager_runs(df)}
    for run in (i for i in df.instructions if i.keyword == "RUN" and i.line not in foreign):
        text = run.command_text()
        mounts = " ".join(v for k, v in run.flags if k == "mount")
        if not re.search(r"\bapt(?:-get)?\s+(?:[^&|;\n]*\s)?install\b", text):
            continue
        if "/var/lib/apt/lists" in text or "/var/lib/apt" in mounts:
            continue
        yield finding(
            "GS107", "'apt-get install' without 'rm -rf /var/lib/apt/lists/*' in the same RUN", df.path, run.line
        )


_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"})


def _shell_wrapped(words: Sequence[str]) -> bool:
    """``["/bin/sh", "-c", ...]``: an exec form that starts a shell to run the command."""
    return (
        len(words) >= 2
        and posixpath.basename(words[0]) in _SHELLS
        and re.fullmatch(r"-[a-z]*c[a-z]*", words[1]) is not None
    )


def check_shell_form(df: Dockerfile) -> Iterable[Finding]:
    final = df.final
    base = df.root(final)
    chain = df.chain(final)
    entrypoints = [i for i in chain if i.keyword == "ENTRYPOINT"]
    cmds = [i for i in chain if i.keyword == "CMD"]
    entrypoint = entrypoints[-1] if entrypoints else None
    cmd = cmds[-1] if cmds else None
    # ENTRYPOINT resets a CMD inherited from the image (stage) it is built FROM.
    if (
        cmd is not None
        and entrypoint is not None
        and df.stage_at(cmd.line).index != df.stage_at(entrypoint.line).index
        and cmd.line < entrypoint.line
    ):
        cmd = None
    no_shell = not base.unresolved and libc_of(base.image) == "none"

    target = entrypoint if entrypoint is not None else cmd
    if target is None:
        return
    if target.is_shell_form:
        message = f"{target.keyword} {target.args} runs under /bin/sh -c: SIGTERM never reaches the Go process"
        if no_shell:
            message += f"; {base.image} has no /bin/sh, so the container cannot even start"
        yield finding("GS108", message, df.path, target.line, severity=E if no_shell else None)
        return
    words = list(target.exec_form or ())
    if target is entrypoint and cmd is not None and cmd.is_shell_form:
        # Docker stores a shell-form CMD as ["/bin/sh", "-c", "<text>"] and appends
        # that to an exec-form ENTRYPOINT: the program gets "/bin/sh -c <text>" as arguments.
        arguments = json.dumps(cmd.words())
        yield finding(
            "GS108",
            f"CMD {cmd.args} is shell form after an exec-form ENTRYPOINT: {words[0] if words else 'the entrypoint'} "
            f"receives the arguments '/bin/sh -c {cmd.args}', not '{cmd.args}'",
            df.path, cmd.line, severity=E,
            fix=f"Write the default arguments in exec form: CMD {arguments}.",
        )
    if _shell_wrapped(words):
        script = words[2] if len(words) > 2 else (" ".join(cmd.words()) if cmd is not None and target is entrypoint else "")
        if script.lstrip().startswith("exec "):
            return  # the shell replaces itself with the program: signals reach it
        message = (
            f"{target.keyword} {target.args} starts the service under {words[0]}: the shell is PID 1 and "
            "SIGTERM never reaches the Go process"
        )
        if no_shell:
            message += f"; {base.image} has no {words[0]}, so the container cannot even start"
        yield finding(
            "GS108", message, df.path, target.line, severity=E if no_shell else None,
            fix=f'Run the binary directly, e.g. {target.keyword} ["/app"], or start the command with \'exec\'.',
        )


def check_secrets(df: Dockerfile) -> Iterable[Finding]:
    for instruction in df.instructions:
        if instruction.keyword == "ENV":
            for name, value in parse_env(instruction.args):
                if is_secret_name(name):
                    stored = "with a value " if value else ""
                    yield finding("GS109", f"ENV {name} {stored}is stored in the image for anyone who pulls it", df.path, instruction.line)
        elif instruction.keyword == "ARG":
            for name, default in parse_arg(instruction.args):
                if is_secret_name(name):
                    # A build arg ends up in the image history, not its config: still readable.
                    yield finding(
                        "GS109", f"ARG {name} is recorded in the image history", df.path, instruction.line,
                        severity=E if default else W,
                    )


def check_add_url(df: Dockerfile) -> Iterable[Finding]:
    for add in (i for i in df.instructions if i.keyword == "ADD"):
        if add.flag("checksum") is not None:
            continue
        urls = [s for s in _copy_sources(add) if re.match(r"^https?://", s, re.IGNORECASE)]
        if urls:
            yield finding("GS111", f"ADD {urls[0]} downloads without checking what it got", df.path, add.line)


def check_healthcheck(df: Dockerfile, health_configured: bool) -> Iterable[Finding]:
    if health_configured:
        return
    checks = [i for i in df.chain(df.final) if i.keyword == "HEALTHCHECK"]
    if checks and checks[-1].args.strip().upper() != "NONE":
        return
    yield finding(
        "GS112", "the final image has no HEALTHCHECK and goship.yaml has no 'health:' section", df.path, df.final.line
    )


# -- the build context ----------------------------------------------------------------------------


def _matches_source(source: str, path: str) -> bool:
    """Does a COPY source (file, directory or glob, relative to the context) take ``path``?"""
    source = normalise_source(source)
    if source in ("", ".", "*"):
        return True
    if path == source or path.startswith(source + "/"):
        return True
    if any(c in source for c in "*?["):
        parts = source.split("/")
        path_parts = path.split("/")
        if len(path_parts) < len(parts):
            return False
        # The glob names files or directories; a directory brings what is below it.
        return all(fnmatch.fnmatchcase(p, s) for p, s in zip(path_parts, parts, strict=False))
    return False


def _is_script(path: str, head: bytes) -> bool:
    return path.endswith(_SCRIPT_SUFFIXES) or head.startswith(b"#!")


def _crlf_scripts(df: Dockerfile, context: BuildContext) -> set[str]:
    """Context files some COPY/ADD takes that are scripts (by suffix or '#!') with CRLF line endings."""
    sources = [source.written for source in context_sources(df)]
    found: set[str] = set()
    if not sources:
        return found
    for item in context.files():
        if item.path.startswith(".git/") or item.size == 0 or item.size > 1_048_576:
            continue
        if not any(_matches_source(s, item.path) for s in sources):
            continue
        # Two bytes tell a script from everything else; only scripts are read further.
        if _is_script(item.path, context.head(item.path, 2)) and b"\r\n" in context.head(item.path, 65536):
            found.add(item.path)
    return found


def _placement(source: str, path: str, dest: str, several: bool) -> str | None:
    """Where COPY ``source`` ... ``dest`` puts file ``path`` (both relative to the same root), or None.

    ``dest`` is absolute. A directory source copies its contents; a file goes to
    ``dest`` itself unless ``dest`` ends in '/' or several sources are copied.
    """
    source = normalise_source(source)

    def as_file(name: str) -> str:
        if several or dest.endswith("/"):
            return posixpath.join(dest, name)
        # 'COPY x.sh /usr/local/bin' puts it inside when /usr/local/bin is a directory: callers
        # record both places (the file is the same, so nothing is reported twice).
        return dest

    if source in ("", ".", "*"):
        return posixpath.normpath(posixpath.join(dest, path))
    if path == source:
        return as_file(posixpath.basename(path))
    if path.startswith(source + "/"):
        return posixpath.normpath(posixpath.join(dest, path[len(source) + 1 :]))
    if any(c in source for c in "*?["):
        parts, path_parts = source.split("/"), path.split("/")
        if len(path_parts) < len(parts) or not all(fnmatch.fnmatchcase(p, s) for p, s in zip(path_parts, parts, strict=False)):
            return None
        if len(path_parts) == len(parts):
            return as_file(path_parts[-1])
        return posixpath.normpath(posixpath.join(dest, *path_parts[len(parts) :]))
    return None


def _absolute(path: str, workdir: str) -> str:
    return posixpath.normpath(posixpath.join(workdir, path))


_PATH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
_COMMAND_PREFIXES = frozenset({"exec", "sudo", "nohup", "time", "command", "env", "su-exec", "gosu"})


def _executed(command: str, workdir: str, depth: int = 0) -> list[str]:
    """Absolute paths of the files a RUN command executes ('./x.sh', 'sh x.sh', 'bash -e x.sh', 'x.sh' on PATH)."""
    found: list[str] = []
    for segment in _segments(command):
        try:
            words = shlex.split(segment, posix=True)
        except ValueError:
            words = segment.split()
        while words and (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]) or words[0] in _COMMAND_PREFIXES):
            words.pop(0)
        if not words:
            continue
        program, arguments = words[0], words[1:]
        if posixpath.basename(program) in _SHELLS or program in ("source", "."):
            script = None
            for index, word in enumerate(arguments):
                if re.fullmatch(r"-[a-z]*c[a-z]*", word) and depth < 2:
                    if index + 1 < len(arguments):
                        found += _executed(arguments[index + 1], workdir, depth + 1)
                    break
                if not word.startswith(("-", "+")):
                    script = word
                    break
            if script is None:
                continue
            program = script
        if "$" in program:
            continue
        if "/" in program:
            found.append(_absolute(program, workdir))
        else:
            found += [posixpath.join(directory, program) for directory in _PATH_DIRS]
            if program.endswith(_SCRIPT_SUFFIXES):  # 'sh x.sh' reads x.sh from the working directory
                found.append(_absolute(program, workdir))
    return found


def _gitattributes_fix(path: str) -> str:
    suffix = posixpath.splitext(path)[1]
    pattern = f"*{suffix}" if suffix in _SCRIPT_SUFFIXES else path
    return (
        f"Add '{pattern} text eol=lf' to .gitattributes, then check the file out again "
        f"(delete it and run 'git checkout -- {path}'), or convert it (dos2unix {path})."
    )


def check_crlf_scripts(df: Dockerfile, context: BuildContext) -> Iterable[Finding]:
    """CRLF scripts that reach the final image, or that a RUN in any stage executes.

    The stages are replayed on paths: each stage's files (only the CRLF
    scripts, by their path in the image) come from its parent stage, COPY/ADD
    from the context and COPY --from other stages, relative paths following
    WORKDIR. A script copied into a build stage that nothing runs or passes
    on (``COPY . .`` in goship's own Dockerfile) is not a problem.
    """
    scripts = _crlf_scripts(df, context)
    if not scripts:
        return
    #: Per stage: image path -> (context path, line that put it in the stage).
    files: dict[int, dict[str, tuple[str, int]]] = {}
    workdirs: dict[int, str] = {}
    executed: dict[str, int] = {}
    for stage in df.stages:
        parent = stage.parent if stage.parent is not None and stage.parent < stage.index else None
        current = dict(files.get(parent, {})) if parent is not None else {}
        workdir = workdirs.get(parent, "/") if parent is not None else "/"
        for instruction in stage.instructions:
            keyword = instruction.keyword
            if keyword == "WORKDIR":
                workdir = _absolute(instruction.args.strip().strip("\"'"), workdir)
            elif keyword in ("COPY", "ADD") and not instruction.heredocs:
                words = instruction.words()
                if len(words) < 2:
                    continue
                sources, dest = words[:-1], words[-1]
                several = len(sources) > 1
                dest_path = _absolute(dest, workdir)
                if dest.endswith("/") and not dest_path.endswith("/"):
                    dest_path += "/"
                origin_ref = instruction.flag("from")
                if origin_ref is None:
                    available = {path: path for path in scripts}
                else:
                    origin = df.stage(origin_ref)
                    if origin is None or origin.index not in files:
                        continue  # another image: not from this context
                    available = {image.lstrip("/"): found for image, (found, _) in files[origin.index].items()}
                for path, context_path in available.items():
                    for source in sources:
                        if origin_ref is None and is_url(source):
                            continue
                        target = _placement(source, path, dest_path, several)
                        if target is None:
                            continue
                        targets = [target]
                        if target == dest_path.rstrip("/"):
                            targets.append(posixpath.join(target, posixpath.basename(path)))
                        for place in targets:
                            if current.get(place, ("", 0))[0] != context_path:  # the same file again keeps its first line
                                current[place] = (context_path, instruction.line)
                        break
            elif keyword == "RUN":
                for path in _executed(instruction.command_text(), workdir):
                    if path in current:
                        executed.setdefault(current[path][0], instruction.line)
        files[stage.index] = current
        workdirs[stage.index] = workdir

    in_final: dict[str, int] = {}
    for context_path, line in sorted(files[df.final.index].values(), key=lambda item: item[1]):
        in_final.setdefault(context_path, line)
    reports: list[tuple[int, str, str]] = []
    for context_path in sorted(set(executed) | set(in_final)):
        if context_path in executed:
            line = executed[context_path]
            message = f"{context_path} has CRLF line endings: the RUN at this line fails to execute it"
            if context_path in in_final:
                message += " (and it is copied into the final image)"
        else:
            line = in_final[context_path]
            message = f"{context_path} has CRLF line endings and is copied into the final image, where it would fail to run"
        reports.append((line, context_path, message))
    for line, context_path, message in sorted(reports):
        yield finding("GS110", message, df.path, line, fix=_gitattributes_fix(context_path))


def check_dockerignore(ignore_file: str, text: str | None) -> Iterable[Finding]:
    if text is None:
        yield finding("GS113", "no .dockerignore: the whole directory is sent to the engine", ignore_file, None)
        return
    if not IgnoreMatcher.from_text(text).excluded(".git"):
        yield finding("GS114", ".dockerignore does not exclude .git", ignore_file, None)


def check_ignored_sources(df: Dockerfile, ignore_file: str, text: str | None) -> Iterable[Finding]:
    """A COPY/ADD source that .dockerignore leaves out: the build cannot find it."""
    if text is None:
        return
    matcher = IgnoreMatcher.from_text(text)
    for source in context_sources(df):
        if not source.path:
            continue
        pattern = matcher.excluding(source.path)
        if pattern is None:
            continue
        keyword = source.instruction.keyword
        yield finding(
            "GS118",
            f"{keyword} {source.written} reads {source.path}, which {ignore_file}:{pattern.line} ('{pattern.text}') "
            f"leaves out of the build context: the build fails with 'not found'",
            df.path, source.instruction.line,
            fix=f"remove '{pattern.text}' from {ignore_file} (line {pattern.line}), or add '!{source.path}' after it",
        )


def check_context_size(ignore_file: str, context: BuildContext, limit: int) -> Iterable[Finding]:
    total = context.total_size()
    if total <= limit:
        return
    offenders = ", ".join(f"{name} {format_size(size)}" for name, size in context.biggest(5))
    yield finding(
        "GS115",
        f"the build context is {format_size(total)} (limit {format_size(limit)}); largest: {offenders}",
        ignore_file, None,
    )


def _ports(expose: Instruction) -> set[int]:
    """The port numbers an EXPOSE names ('8080', '8080/tcp', '8000-8002'); variables are skipped."""
    ports: set[int] = set()
    for word in expose.words():
        number = word.split("/", 1)[0]
        low, _, high = number.partition("-")
        if low.isdigit() and (not high or high.isdigit()):
            ports |= set(range(int(low), min(int(high or low), 65535) + 1))
    return ports


def check_port(df: Dockerfile, app_port: int | None, config_file: str) -> Iterable[Finding]:
    """app.port (when goship.yaml sets it) against the final stage's EXPOSE and ENV PORT."""
    if app_port is None:
        return
    chain = df.chain(df.final)
    exposes = [(i, _ports(i)) for i in chain if i.keyword == "EXPOSE"]
    exposed = set().union(*(ports for _, ports in exposes)) if exposes else set()
    if exposed and app_port not in exposed:
        last = [i for i, ports in exposes if ports][-1]
        yield finding(
            "GS117",
            f"EXPOSE {last.args} but {config_file} sets app.port: {app_port}: goship routes traffic and health "
            f"checks to {app_port}",
            df.path, last.line,
        )
    port_env: tuple[Instruction, str] | None = None
    for instruction in chain:
        if instruction.keyword == "ENV":
            for name, value in parse_env(instruction.args):
                if name == "PORT":
                    port_env = (instruction, value.strip("\"'"))
    if port_env is not None and port_env[1].isdigit() and int(port_env[1]) != app_port:
        yield finding(
            "GS117",
            f"ENV PORT={port_env[1]} but {config_file} sets app.port: {app_port}: 'docker run' of this image "
            f"listens on {port_env[1]}, a goship deploy on {app_port}",
            df.path, port_env[0].line,
        )


@dataclass(frozen=True)
class DockerfileFacts:
    """What the Dockerfile rules need beyond the file itself."""

    health_configured: bool = False
    context: BuildContext | None = None
    #: app.port when goship.yaml sets it (None when it is only the default).
    app_port: int | None = None
    #: goship.yaml's path as messages show it.
    config_file: str = "goship.yaml"
    #: go.mod's go line ('1.23', '1.23.4'), when lint read one.
    go_required: str | None = None


DOCKERFILE_CHECKS: tuple[Callable[[Dockerfile, DockerfileFacts], Iterable[Finding]], ...] = (
    lambda df, facts: check_single_stage(df),
    lambda df, facts: check_cgo(df),
    lambda df, facts: check_root(df),
    lambda df, facts: check_base_tags(df),
    lambda df, facts: check_copy_before_download(df, facts.context),
    lambda df, facts: check_apk(df),
    lambda df, facts: check_apt(df),
    lambda df, facts: check_package_manager(df),
    lambda df, facts: check_go_version(df, facts.go_required),
    lambda df, facts: check_shell_form(df),
    lambda df, facts: check_secrets(df),
    lambda df, facts: check_crlf_scripts(df, facts.context) if facts.context is not None else (),
    lambda df, facts: check_add_url(df),
    lambda df, facts: check_healthcheck(df, facts.health_configured),
    lambda df, facts: check_port(df, facts.app_port, facts.config_file),
)


def check_dockerfile(df: Dockerfile, facts: DockerfileFacts | None = None) -> list[Finding]:
    """Every Dockerfile rule over one parsed file, unsuppressed."""
    facts = facts or DockerfileFacts()
    return [f for check in DOCKERFILE_CHECKS for f in check(df, facts)]
