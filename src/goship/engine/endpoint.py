"""Where the local Docker engine is, found the way the docker CLI finds it.

``DOCKER_HOST`` first (with ``DOCKER_TLS_VERIFY``/``DOCKER_CERT_PATH`` for
tcp://), then the current docker context (``DOCKER_CONTEXT`` or
``currentContext`` in the docker config; Docker Desktop, colima and
rootless Docker live there), else the platform's default: the unix socket,
or the named pipe on Windows. Pure apart from reading the docker config.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from goship.errors import EngineUnreachable

UNIX_SOCKET = "unix:///var/run/docker.sock"
WINDOWS_PIPE = "npipe:////./pipe/docker_engine"
SCHEMES = ("unix", "npipe", "tcp", "ssh")

#: What is wrong with an engine address, as far as its text tells (see host_problem).
HostProblem = Literal["windows-pipe", "invalid", "remote"]


@dataclass(frozen=True)
class TLSFiles:
    """Client certificates for a tcp:// engine (``DOCKER_CERT_PATH`` layout)."""

    ca: Path | None
    cert: Path | None
    key: Path | None
    verify: bool = True


@dataclass(frozen=True)
class Endpoint:
    """An engine address and why it was chosen."""

    host: str  # unix:///var/run/docker.sock, npipe:////./pipe/docker_engine, tcp://h:2376, ssh://u@h
    source: str  # "DOCKER_HOST", "docker context 'colima'", "default"
    tls: TLSFiles | None = None

    @property
    def scheme(self) -> str:
        return self.host.partition("://")[0].lower()

    @property
    def address(self) -> str:
        """What follows the scheme: a socket path, host:port or [user@]host."""
        return self.host.partition("://")[2]

    def socket_path(self) -> str:
        """unix:///var/run/docker.sock -> /var/run/docker.sock; npipe:////./pipe/x -> \\\\.\\pipe\\x."""
        rest = self.address
        if self.scheme == "npipe":
            return rest.replace("/", "\\")
        return rest


def default_host(platform: str = sys.platform) -> str:
    return WINDOWS_PIPE if platform == "win32" else UNIX_SOCKET


def docker_config_dir(env: Mapping[str, str]) -> Path:
    configured = env.get("DOCKER_CONFIG")
    return Path(configured) if configured else Path.home() / ".docker"


def _parse_json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _read_file(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError:
        return None


def host_problem(host: str, windows: bool, schemes: Sequence[str] = SCHEMES) -> HostProblem | None:
    """What is wrong with an engine address, as far as its text tells.

    ``invalid``: none of ``schemes``, or nothing after it; ``windows-pipe``:
    a named pipe where ``windows`` is false; ``remote``: a network address
    (tcp://, ssh://).
    """
    scheme, sep, rest = host.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in schemes or not rest.strip("/"):
        return "invalid"
    if scheme == "npipe" and not windows:
        return "windows-pipe"
    if scheme in ("tcp", "ssh"):
        return "remote"
    return None


def check_host(host: str, source: str, platform: str = sys.platform) -> None:
    """Refuse an address no engine can be reached at, naming where it came from."""
    problem = host_problem(host, windows=platform == "win32")
    if problem == "invalid":
        raise EngineUnreachable(
            f"{source}={host!r} is not a Docker engine address",
            hint="use unix:///var/run/docker.sock, npipe:////./pipe/docker_engine (Windows), "
            "tcp://HOST:2376 or ssh://USER@HOST, or unset it",
        )
    if problem == "windows-pipe":
        raise EngineUnreachable(
            f"{source}={host!r} is a Windows named pipe, which does not exist here",
            hint="unset DOCKER_HOST (inside WSL, enable Docker Desktop's WSL integration instead)",
        )


@dataclass(frozen=True)
class DockerContext:
    """The docker context the CLI would use, as its ``meta.json`` describes it."""

    name: str
    from_env: bool  # named by DOCKER_CONTEXT, else by currentContext in config.json
    digest: str  # the CLI stores each context under the SHA-256 of its name
    #: The ``Endpoints.docker`` object and its ``Host``; None when no such context exists.
    docker: Any = None
    host: str | None = None


def current_context(env: Mapping[str, str], read: Callable[..., str | None]) -> DockerContext | None:
    """The context named by DOCKER_CONTEXT or the docker config; None for the default one.

    ``read(*parts)`` returns the text of a file under the docker config
    directory (``read("config.json")``), or None when there is none.
    """
    name = env.get("DOCKER_CONTEXT")
    from_env = bool(name)
    if not name:
        config = _parse_json(read("config.json"))
        name = config.get("currentContext") if isinstance(config, dict) else None
    if not name or name == "default":
        return None
    name = str(name)
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
    meta = _parse_json(read("contexts", "meta", digest, "meta.json"))
    try:
        docker = meta["Endpoints"]["docker"]
        host = str(docker["Host"])
    except (KeyError, TypeError):
        return DockerContext(name, from_env, digest)
    return DockerContext(name, from_env, digest, docker, host)


def resolve(
    env: Mapping[str, str] | None = None,
    platform: str = sys.platform,
    read: Callable[[Path], str | None] = _read_file,
) -> Endpoint:
    """The endpoint the docker CLI would use with this environment."""
    env = os.environ if env is None else env
    config_dir = docker_config_dir(env)
    host = env.get("DOCKER_HOST")
    if host:
        check_host(host, "DOCKER_HOST", platform)
        tls = None
        if host.lower().startswith("tcp://") and env.get("DOCKER_TLS_VERIFY", "") not in ("", "0"):
            certs = Path(env.get("DOCKER_CERT_PATH") or config_dir)
            tls = TLSFiles(certs / "ca.pem", certs / "cert.pem", certs / "key.pem")
        return Endpoint(host, "DOCKER_HOST", tls)
    context = current_context(env, lambda *parts: read(config_dir.joinpath(*parts)))
    if context is None:
        return Endpoint(default_host(platform), "default")
    context_host = context.host
    if context_host is None:
        source = "DOCKER_CONTEXT" if context.from_env else f"{config_dir / 'config.json'}"
        raise EngineUnreachable(
            f"docker context {context.name!r} (from {source}) does not exist",
            hint=f"list the contexts with 'docker context ls' and pick one with 'docker context use NAME', "
            f"or remove currentContext from {config_dir / 'config.json'}",
        )
    check_host(context_host, f"docker context {context.name!r}", platform)
    tls = None
    tls_dir = config_dir / "contexts" / "tls" / context.digest / "docker"
    if context_host.lower().startswith("tcp://") and (tls_dir / "ca.pem").exists():
        docker = context.docker
        skip = bool(docker.get("SkipTLSVerify")) if isinstance(docker, dict) else False
        tls = TLSFiles(
            tls_dir / "ca.pem",
            tls_dir / "cert.pem" if (tls_dir / "cert.pem").exists() else None,
            tls_dir / "key.pem" if (tls_dir / "key.pem").exists() else None,
            verify=not skip,
        )
    return Endpoint(context_host, f"docker context {context.name!r}", tls)
