"""Facts several checks share, derived from a Machine, plus their pure parsers.

Which kind of machine this is (WSL2 is Linux to Python but Windows to its
user), which Docker endpoint the ``docker`` CLI will use, what the engine
answered, where the Windows user profile is. Each is computed once per run
(``Facts`` caches) because the engine probe costs a process start.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Literal

from goship.commands.doctor.machine import Machine
from goship.engine.endpoint import SCHEMES, UNIX_SOCKET, WINDOWS_PIPE, HostProblem, current_context, host_problem
from goship.errors import GoshipError

Flavor = Literal["linux", "wsl2", "wsl1", "windows", "darwin"]

GIB = 1024**3

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_DRIVE_PATH = re.compile(r"^([A-Za-z]):[\\/]?(.*)$")
_VERSION = re.compile(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def join(machine: Machine, base: str, *parts: str) -> str:
    """Join path parts in the machine's own syntax (backslashes on Windows)."""
    pure = PureWindowsPath if machine.platform == "windows" else PurePosixPath
    return str(pure(base, *parts))


def version_tuple(text: str | None) -> tuple[int, int, int] | None:
    """``20.10.24+dfsg1`` -> (20, 10, 24); ``go1.22`` -> (1, 22, 0); None if no number."""
    match = _VERSION.search(text or "")
    if not match:
        return None
    return (int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0))


def parse_size(text: str) -> int | None:
    """A .wslconfig size (``2GB``, ``512MB``, ``8G``, ``0``) in bytes; binary units as WSL uses."""
    match = _SIZE.match(text)
    if not match:
        return None
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def format_size(size: int) -> str:
    return f"{size / GIB:.1f} GB" if size >= GIB else f"{size / 1024**2:.0f} MB"


def parse_wslconfig(text: str) -> dict[str, str]:
    """The ``[wsl2]`` keys of a .wslconfig (INI), lower-cased, comments dropped."""
    section = ""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
            continue
        key, sep, value = line.partition("=")
        if sep and section == "wsl2":
            values[key.strip().lower()] = re.split(r"[#;]", value, maxsplit=1)[0].strip().strip('"')
    return values


def windows_to_wsl_path(path: str, mount_root: str = "/mnt") -> str | None:
    """``C:\\Users\\me`` -> ``/mnt/c/Users/me`` (as wslpath does); None if not a drive path."""
    match = _DRIVE_PATH.match(path.strip())
    if not match:
        return None
    rest = match.group(2).replace("\\", "/").strip("/")
    return f"{mount_root}/{match.group(1).lower()}" + (f"/{rest}" if rest else "")


def detect_flavor(machine: Machine) -> Flavor:
    """The platform as the user knows it: WSL is told apart from plain Linux."""
    if machine.platform in ("windows", "darwin"):
        return machine.platform  # type: ignore[return-value]
    version = machine.read_text("/proc/version") or ""
    if "microsoft-standard" in version or "WSL2" in version:
        return "wsl2"
    if "Microsoft" in version:
        return "wsl1"  # WSL 1 kernels say "Microsoft" and have no "-standard"
    if "microsoft" in version.lower() or machine.env.get("WSL_INTEROP") or machine.env.get("WSL_DISTRO_NAME"):
        return "wsl2"
    return "linux"


@dataclass(frozen=True)
class Endpoint:
    """The engine address the docker CLI will use, and why."""

    host: str
    source: str  # "DOCKER_HOST", "docker context 'colima'", "default"
    error: str | None = None  # a named context that does not exist


def docker_config_dir(machine: Machine) -> str:
    return machine.env.get("DOCKER_CONFIG") or join(machine, machine.home, ".docker")


def resolve_endpoint(machine: Machine) -> Endpoint:
    """Resolve the endpoint like the docker CLI: DOCKER_HOST, then the context, then the default."""
    if machine.env.get("DOCKER_HOST"):
        return Endpoint(machine.env["DOCKER_HOST"], "DOCKER_HOST")
    default = WINDOWS_PIPE if machine.platform == "windows" else UNIX_SOCKET
    config_dir = docker_config_dir(machine)
    context = current_context(machine.env, lambda *parts: machine.read_text(join(machine, config_dir, *parts)))
    if context is None:
        return Endpoint(default, "default")
    if context.host is None:
        source = "DOCKER_CONTEXT" if context.from_env else "~/.docker/config.json"
        return Endpoint(
            default, f"docker context {context.name!r}", f"docker context {context.name!r} (from {source}) not found"
        )
    return Endpoint(context.host, f"docker context {context.name!r}")


@dataclass(frozen=True)
class EngineProbe:
    """What ``docker version`` said."""

    endpoint: Endpoint
    client: str | None = None  # None: no docker CLI
    server: str | None = None  # None: no engine answered
    platform_name: str = ""  # "Docker Desktop 4.30.0 (149282)", "Docker Engine - Community"
    error: str = ""  # the one line that says why no engine answered
    output: str = ""  # everything docker said on stderr, for checks that look for a phrase
    #: Asked through goship's own engine client (there is no docker CLI).
    direct: bool = False

    @property
    def desktop(self) -> bool:
        return "Docker Desktop" in self.platform_name


def parse_docker_version(stdout: str) -> tuple[str | None, str | None, str]:
    """Client version, server version and server platform from ``docker version --format '{{json .}}'``.

    The client half is printed even when no engine answers (Server is null).
    """
    try:
        data = json.loads(stdout.strip().splitlines()[0]) if stdout.strip() else {}
    except ValueError:
        return None, None, ""
    client = (data.get("Client") or {}).get("Version")
    server = data.get("Server") or {}
    platform = (server.get("Platform") or {}).get("Name", "")
    return client, server.get("Version"), platform


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


# What the docker CLI says when it cannot reach an engine, most telling first.
_TELLING = (
    "could not be found in this wsl",  # Docker Desktop's stub without WSL integration
    "error during connect",
    "cannot connect",
    "permission denied",
    "unable to parse",
    "unable to resolve docker endpoint",
    "failed to initialize",
    "invalid bind address",
    "protocol not available",
    "context not found",
)
# Lines of a Go panic's stack trace: "goroutine 1 [running]:", "\t/go/src/.../docker.go:39 +0x25",
# "main.main()", "created by ...", "[signal SIGSEGV ...]", "exit status 2".
_STACK = re.compile(
    r"^(goroutine \d+|\[signal |created by |exit status \d+$)|\.go:\d+( \+0x[0-9a-f]+)?$|^[\w./*()-]+\(.*\)$|^\.\.\.$"
)


def meaningful_line(text: str) -> str:
    """The line of a program's error output that says what went wrong.

    Never a stack frame: a crashing docker CLI (DOCKER_HOST=npipe://... on
    Linux panics) ends its output with ``/go/src/.../docker.go:39 +0x25``,
    which tells a user nothing. ``panic: runtime error: ...`` becomes
    ``docker crashed: runtime error: ...``.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not _STACK.search(line)]
    for marker in _TELLING:
        for line in lines:
            if marker in line.lower():
                return line
    for line in lines:
        if line.startswith("panic:"):
            return "docker crashed: " + line.removeprefix("panic:").strip()
    for line in lines:
        if "error" in line.lower():
            return line
    return lines[-1] if lines else ""


_SCHEMES = (*SCHEMES, "fd")  # the docker CLI knows fd:// too
VALID_HOSTS = "unix:///var/run/docker.sock, npipe:////./pipe/docker_engine (Windows), tcp://host:2376, ssh://user@host"


def endpoint_problem(host: str, platform: str) -> HostProblem | None:
    """What is wrong with an engine address on this platform, as far as its text tells.

    ``windows-pipe``: a named pipe outside Windows (copied from a Windows
    guide into WSL); ``invalid``: no scheme the docker CLI knows; ``remote``:
    a network address (tcp://, ssh://) - nothing local to start.
    """
    return host_problem(host, windows=platform == "windows", schemes=_SCHEMES)


@dataclass
class Facts:
    """Shared, computed-once facts of one doctor run."""

    machine: Machine
    _cache: dict[str, object] = field(default_factory=dict, repr=False)

    @property
    def flavor(self) -> Flavor:
        if "flavor" not in self._cache:
            self._cache["flavor"] = detect_flavor(self.machine)
        return self._cache["flavor"]  # type: ignore[return-value]

    @property
    def wsl(self) -> bool:
        return self.flavor in ("wsl1", "wsl2")

    @property
    def engine(self) -> EngineProbe:
        if "engine" not in self._cache:
            self._cache["engine"] = self._probe_engine()
        return self._cache["engine"]  # type: ignore[return-value]

    def _probe_engine(self) -> EngineProbe:
        endpoint = resolve_endpoint(self.machine)
        if self.machine.which("docker") is None:
            # goship needs no docker CLI for the local engine: ask the engine itself.
            try:
                return EngineProbe(endpoint, None, self.machine.engine_version() or "unknown", "", "", "", direct=True)
            except GoshipError as failure:
                return EngineProbe(endpoint, None, None, "", failure.message, "", direct=True)
        # DOCKER_HOST is not forced to the resolved endpoint: the CLI resolves
        # it the same way, and a context may carry TLS settings DOCKER_HOST loses.
        result = self.machine.run(("docker", "version", "--format", "{{json .}}"), timeout=20)
        client, server, platform = parse_docker_version(result.stdout)
        error = "" if result.ok else meaningful_line(result.stderr) or last_line(result.stdout)
        if not result.ok and not error:
            error = f"docker version exited with code {result.returncode}"
        if error and server:
            server = None  # a half answer is no answer
        return EngineProbe(endpoint, client or "unknown", server, platform, error, result.stderr)

    @property
    def windows_profile(self) -> str | None:
        """The Windows user's profile directory, as this machine names it."""
        if "profile" not in self._cache:
            self._cache["profile"] = self._find_profile()
        return self._cache["profile"]  # type: ignore[return-value]

    def _find_profile(self) -> str | None:
        machine = self.machine
        if machine.platform == "windows":
            return machine.env.get("USERPROFILE")
        if not self.wsl:
            return None
        # WSL shares USERPROFILE only when WSLENV says so; otherwise ask
        # Windows itself, and as a last resort look for the one user with a .wslconfig.
        shared = machine.env.get("USERPROFILE", "")
        if shared.startswith("/"):
            return shared
        if shared and windows_to_wsl_path(shared):
            return windows_to_wsl_path(shared)
        if machine.which("cmd.exe"):
            result = machine.run(("cmd.exe", "/c", "echo", "%USERPROFILE%"), timeout=10)
            translated = windows_to_wsl_path(last_line(result.stdout)) if result.ok else None
            if translated:
                return translated
        users = [
            name
            for name in machine.list_dir("/mnt/c/Users") or []
            if name not in ("Public", "Default", "Default User", "All Users")
            and machine.read_text(f"/mnt/c/Users/{name}/.wslconfig") is not None
        ]
        return f"/mnt/c/Users/{users[0]}" if len(users) == 1 else None

    @property
    def wslconfig(self) -> tuple[str | None, dict[str, str] | None]:
        """(path of .wslconfig, its [wsl2] keys); keys None when the file is absent."""
        profile = self.windows_profile
        if profile is None:
            return None, None
        path = join(self.machine, profile, ".wslconfig")
        text = self.machine.read_text(path)
        return path, (parse_wslconfig(text) if text is not None else None)
