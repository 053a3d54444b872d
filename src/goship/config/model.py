"""The validated shape of goship.yaml.

Each dataclass is one mapping in the file; ``doc`` metadata feeds error
messages and the documentation. Durations are seconds (floats) after
loading; ``Duration`` marks the fields that accept ``30s``/``1m``/``500ms``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, NewType

from goship.config import names
from goship.config.names import TARGET_KINDS
from goship.config.values import (
    SUPPORTED_PLATFORMS,
    VOLUME_NAME,
    memory_bytes,
    nano_cpus,
    parse_host,
    parse_volume,
)
from goship.errors import ConfigError
from goship.images.reference import parse_repository

Duration = NewType("Duration", float)

LOCAL_TARGET = names.LOCAL_TARGET
BUILDERS = names.BUILDERS


def _doc(text: str, check: Callable[[Any], str | None] | None = None, **schema: Any) -> dict[str, Any]:
    """Field metadata: its documentation, a check whose message (None = fine)
    the loader reports at the value's line, and what the JSON Schema says of
    the value (enum, minimum, pattern) for editors."""
    return {"doc": text, "check": check, "schema": schema}


PORT_RANGE = {"minimum": 1, "maximum": 65535}


def _port(value: int | None) -> str | None:
    if value is None or 1 <= value <= 65535:
        return None
    return f"{value} is not a TCP port (1-65535)"


HTTP_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME_RULE = "letters, digits and '_', not starting with a digit"


def _http_path(value: str) -> str | None:
    if not value.startswith("/"):
        return f"{value!r} must start with '/' (e.g. /{value.lstrip('/')})"
    if not HTTP_PATH.match(value):
        return f"{value!r} is not a URL path (no spaces, quotes, '#' or control characters; escape them as %XX)"
    return None


def _env_names(kind: str, reserved: tuple[str, ...] = ()) -> Callable[[Any], str | None]:
    def check(values: Any) -> str | None:
        for name in values:
            if not ENV_NAME.match(name):
                return f"{name!r} is not a {kind} ({_NAME_RULE})"
            if name in reserved:
                return f"{name} is set by goship (from app.port): leave it out"
        return None

    return check


def _image_reference(value: str) -> str | None:
    if re.fullmatch(r"[a-z0-9][a-z0-9._/:@-]*", value) and len(value) <= 255:
        return None
    return f"{value!r} is not an image reference (e.g. caddy:2 or registry.example.com/caddy:2.7)"


def _capabilities(values: list[str]) -> str | None:
    bad = next((v for v in values if not re.fullmatch(r"(CAP_)?[A-Z_]+", v)), None)
    return f"{bad!r} is not a capability name (e.g. NET_BIND_SERVICE)" if bad else None


def _user(value: str | None) -> str | None:
    if value is None or re.fullmatch(r"([0-9]+|[a-z_][a-z0-9_-]*)(:([0-9]+|[a-z_][a-z0-9_-]*))?", value):
        return None
    return f"{value!r} is not uid[:gid] or user[:group]"


def _local_path(value: str | None) -> str | None:
    if value is None or not any(c in value for c in '"\n\r\0'):
        return None
    return f"{value!r}: a path may not hold quotes or line breaks"


#: Problems across the keys of one mapping: (key, message, hint).
Problems = list[tuple[str, str, str | None]]


#: build.sbom's formats, by the name goship.yaml uses.
SBOM_FORMATS = ("spdx", "cyclonedx")


def _sbom_format(value: bool | str) -> str | None:
    if isinstance(value, bool) or value in SBOM_FORMATS:
        return None
    return f"expected true, false, 'spdx' or 'cyclonedx', got {value!r}"


def _one_of(*choices: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in choices else f"expected {' or '.join(repr(c) for c in choices)}, got {value!r}"

    return check


def _parsed_by(parse: Callable[[str], object]) -> Callable[[str | None], str | None]:
    def check(value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parse(value)
        except ValueError as exc:
            return str(exc)
        return None

    return check


def _platform(value: str) -> str | None:
    if value in SUPPORTED_PLATFORMS:
        return None
    return f"unsupported platform {value!r} (use one of: {', '.join(SUPPORTED_PLATFORMS)})"


def _platforms(values: list[str]) -> str | None:
    for value in values:
        problem = _platform(value)
        if problem:
            return problem
    repeated = sorted({v for v in values if values.count(v) > 1})
    return f"{', '.join(repeated)} listed twice" if repeated else None


# go build's target is the platform's job, and the images have no libc:
# these must not come from build.env.
_RESERVED_GO_ENV = {
    "GOOS": "set by build.platform(s)",
    "GOARCH": "set by build.platform(s)",
    "GOARM": "set by the platform's variant, e.g. linux/arm/v6",
    "GOAMD64": "set by the platform's variant, e.g. linux/amd64/v3",
    "CGO_ENABLED": "goship builds static binaries (CGO_ENABLED=0) for images without a C library",
}


def _control_character(value: str) -> str | None:
    """How to name the first control character in ``value`` (a tab is fine), or None."""
    for char in value:
        if char == "\t" or not (ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F):
            continue
        return "a line break" if char in "\n\r" else f"the control character U+{ord(char):04X}"
    return None


def _one_line(value: str) -> str | None:
    # go build reads these as one line of words, and the Dockerfile's RUN line
    # carries them: a line break there is a mistake that would break that line.
    bad = _control_character(value)
    return f"{value!r} holds {bad}: write it on one line (words separated by spaces)" if bad else None


def _go_env(values: dict[str, str]) -> str | None:
    for key, value in values.items():
        if not ENV_NAME.match(key):
            return f"{key!r} is not a variable name ({_NAME_RULE})"
        if key in _RESERVED_GO_ENV:
            return f"{key} cannot be set here: {_RESERVED_GO_ENV[key]}"
        bad = _control_character(value)
        if bad:
            # A value for go build (GOFLAGS, GOPRIVATE, GOEXPERIMENT...) is one line:
            # refused here, so no builder gets a value it would split or mangle.
            return f"{key}: {value!r} holds {bad}: a go build setting is one line (separate GOFLAGS words with spaces)"
    return None


def _image_repository(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        repository = parse_repository(value)
    except ValueError as exc:
        return f"{exc} (lower-case letters, digits, '.', '_', '-'; e.g. registry.example.com/team/app)"
    _, _, port = repository.registry.rpartition(":")
    if ":" in repository.registry and not (port.isdigit() and 1 <= int(port) <= 65535):
        return f"{value!r}: {port!r} is not a registry port (1-65535)"
    return None


def _go_variable(value: str | None) -> str | None:
    if value is None or re.fullmatch(r"[\w.~/-]+\.[A-Za-z_]\w*", value):
        return None
    return f"{value!r} is not importpath.name (e.g. main.version or example.com/app/internal/build.Version)"


SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
PATH_PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _path_prefix(value: str | None) -> str | None:
    if value is None or PATH_PREFIX.match(value):
        return None
    return f"{value!r} is not a path prefix like /api or /shop/v2 (no trailing '/', no '*' or spaces)"


def _domains(values: list[str]) -> str | None:
    for value in values:
        name = value.lower()
        labels = name.removeprefix("*.").split(".")
        if (
            name != value or len(name) > 253 or len(labels) < 2
            or not all(_HOST_LABEL.match(label) for label in labels)
        ):
            return f"{value!r} is not a host name (lower-case letters, digits and '-', e.g. shop.example.com)"
    repeated = sorted({v for v in values if values.count(v) > 1})
    return f"{', '.join(repeated)} listed twice" if repeated else None


def _service_name(value: str | None) -> str | None:
    if value is None or (SERVICE_NAME.match(value) and len(value) <= 63):
        return None
    return f"{value!r} is not a valid name (lower-case letters, digits, '-', '_' or '.', at most 63)"


def _at_least(minimum: int) -> Callable[[int], str | None]:
    return lambda value: None if value >= minimum else f"must be at least {minimum}, got {value}"


@dataclass(frozen=True)
class BuildConfig:
    builder: str = field(
        default="native",
        metadata=_doc(
            "native (go build + image assembled by goship) or docker (the Dockerfile, BuildKit)",
            lambda v: None if v in BUILDERS else f"unknown builder {v!r} (use native or docker)",
            enum=list(BUILDERS),
        ),
    )
    main: str | None = field(default=None, metadata=_doc("main package directory, relative to go.mod"))
    platform: str = field(default="linux/amd64", metadata=_doc("target platform, os/arch", _platform, enum=list(SUPPORTED_PLATFORMS)))
    platforms: list[str] = field(
        default_factory=list,
        metadata=_doc("several target platforms: pushes one multi-arch image index", _platforms),
    )
    ldflags: str = field(default="-s -w", metadata=_doc("linker flags passed to go build", _one_line))
    tags: list[str] = field(
        default_factory=list,
        metadata=_doc(
            "Go build tags",
            lambda tags: next((f"{t!r} is not a build tag (letters, digits, '_', '.')" for t in tags
                               if not re.fullmatch(r"[\w.]+", t)), None),
        ),
    )
    env: dict[str, str] = field(default_factory=dict, metadata=_doc("extra environment for go build", _go_env))
    version_var: str | None = field(
        default=None, metadata=_doc("Go variable set to the version with -X, e.g. main.version", _go_variable)
    )
    ca_certificates: bool = field(default=True, metadata=_doc("put a CA bundle in the image"))
    tzdata: bool = field(
        default=False, metadata=_doc("put the Go toolchain's time zone database in the image")
    )
    files: dict[str, str] = field(
        default_factory=dict,
        metadata=_doc("extra files: image path -> file or directory in the module"),
    )
    sbom: bool | str = field(
        default=True,
        metadata=_doc(
            "the SBOM of the binary's modules attached to each image: spdx (or true), cyclonedx, or false",
            _sbom_format,
        ),
    )
    dockerfile: str = field(default="Dockerfile", metadata=_doc("Dockerfile of the docker builder, relative to go.mod"))
    context: str = field(default=".", metadata=_doc("build context of the docker builder, relative to go.mod"))
    target: str | None = field(default=None, metadata=_doc("Dockerfile stage to build (docker builder)"))
    args: dict[str, str] = field(
        default_factory=dict, metadata=_doc("build arguments (docker builder)", _env_names("build argument name"))
    )
    secrets: dict[str, str] = field(
        default_factory=dict,
        metadata=_doc("build secrets, id -> env:NAME or a file path, for RUN --mount=type=secret (docker builder)"),
    )
    cache_from: list[str] = field(default_factory=list, metadata=_doc("images to use as build cache (docker builder)"))
    cache_to: str | None = field(default=None, metadata=_doc("registry ref to export the build cache to (docker builder)"))

    def target_platforms(self) -> list[str]:
        return list(self.platforms) if self.platforms else [self.platform]

    @property
    def sbom_format(self) -> str | None:
        """"spdx", "cyclonedx", or None when no SBOM is attached."""
        if self.sbom is False:
            return None
        return "spdx" if self.sbom is True else str(self.sbom)

    def problems(self) -> Problems:
        if self.platforms and self.platform != BuildConfig.platform:
            return [("platforms", "build.platform and build.platforms are both set",
                     "keep one: platform for a single image, platforms for a multi-arch index")]
        return []


@dataclass(frozen=True)
class RegistryConfig:
    insecure: bool = field(default=False, metadata=_doc("plain HTTP, no TLS (test and private networks only)"))
    ca_file: str | None = field(default=None, metadata=_doc("PEM file of a private CA to trust"))
    username: str | None = field(
        default=None, metadata=_doc("user name; the password comes from GOSHIP_REGISTRY_PASSWORD")
    )


@dataclass(frozen=True)
class ResourcesConfig:
    memory: str | None = field(default=None, metadata=_doc("memory limit, e.g. 256m or 1g", _parsed_by(memory_bytes)))
    cpus: str | None = field(default=None, metadata=_doc("CPU limit, e.g. 0.5 or 2", _parsed_by(nano_cpus)))


@dataclass(frozen=True)
class SecurityConfig:
    """Hardening of the app container; weakening any of it needs a reason."""

    read_only: bool = field(default=True, metadata=_doc("read-only root filesystem (a tmpfs /tmp is writable)"))
    no_new_privileges: bool = field(default=True, metadata=_doc("forbid privilege escalation"))
    cap_add: list[str] = field(
        default_factory=list, metadata=_doc("capabilities to add back (all are dropped)", _capabilities)
    )
    user: str | None = field(default=None, metadata=_doc("run as this uid:gid instead of the image's user", _user))
    reason: str | None = field(default=None, metadata=_doc("why the defaults are weakened (required then)"))

    def weakened(self) -> list[str]:
        changes = []
        if not self.read_only:
            changes.append("read_only: false")
        if not self.no_new_privileges:
            changes.append("no_new_privileges: false")
        if self.cap_add:
            changes.append(f"cap_add: {', '.join(self.cap_add)}")
        if self.user is not None and self.user.split(":")[0] in ("0", "root"):
            changes.append(f"user: {self.user}")
        return changes

    def problems(self) -> Problems:
        weakened = self.weakened()
        if weakened and not self.reason:
            return [("", f"weakens the defaults ({'; '.join(weakened)}) without a reason",
                     "say why in app.security.reason, so reviewers see it")]
        return []


# What goship itself puts in the container: a volume on one of these (or on a
# directory above one) would hide the binary, the users or the CA roots, or
# the scratch space, and the service would not start.
_GOSHIP_PATHS = ("/usr/local/bin", "/etc/passwd", "/etc/group", "/etc/ssl/certs", "/tmp")
_SYSTEM_PATHS = ("/proc", "/sys", "/dev")


def _under(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


@dataclass(frozen=True)
class VolumeConfig:
    """One entry of app.volumes: the mapping form, or ``SOURCE:TARGET[:ro]`` as ``docker run -v`` reads it."""

    source: str = field(
        default="",
        metadata=_doc(
            "a volume name (goship creates it on each host as SERVICE-NAME, labelled with the service) "
            "or an absolute path on the host"
        ),
    )
    target: str = field(default="", metadata=_doc("absolute path in the container where it is mounted"))
    read_only: bool = field(default=False, metadata=_doc("mount it read-only"))

    #: The short form, for the JSON Schema (the loader checks it with ``from_text``).
    TEXT_PATTERN: ClassVar[str] = r"^[^:]+:/[^:]*(:(ro|rw))?$"

    @classmethod
    def from_text(cls, text: str) -> VolumeConfig:
        """``data:/var/lib/app``, ``/srv/app/config:/etc/app:ro``; ValueError when it is not of that shape."""
        source, target, read_only = parse_volume(text)
        return cls(source, target, read_only)

    @property
    def named(self) -> bool:
        """A Docker volume (rather than a host path)."""
        return not self.source.startswith("/")

    def short(self) -> str:
        return f"{self.source}:{self.target}" + (":ro" if self.read_only else "")

    def problems(self) -> Problems:
        return [(key, message, hint) for key, message, hint in (self._source_problem(), self._target_problem()) if message]

    def _source_problem(self) -> tuple[str, str | None, str | None]:
        source = self.source
        if not source:
            return "source", "a volume needs a source: a volume name or an absolute host path", "e.g. data:/var/lib/app"
        if source.startswith("~"):
            return ("source", f"{source!r}: '~' is not expanded on the host",
                    "write the absolute host path, e.g. /home/deploy/app-data")
        if source.startswith("/"):
            if any(c in source for c in ',"\n\r\0'):
                return "source", f"{source!r}: a host path may not hold ',', quotes or line breaks", None
            return "source", None, None
        if "/" in source or source.startswith("."):
            return ("source", f"{source!r} is a relative host path: the host resolves it against no directory of yours",
                    "write the absolute path on the host (e.g. /srv/app/data), or use a volume name such as data")
        if not VOLUME_NAME.match(source):
            return ("source", f"{source!r} is not a volume name (letters, digits, '_', '.', '-', at least 2, "
                    "starting with a letter or digit)", None)
        return "source", None, None

    def _target_problem(self) -> tuple[str, str | None, str | None]:
        target = self.target
        if not target:
            return "target", "a volume needs a target: the absolute path in the container", "e.g. /var/lib/app"
        if target == "/":
            return "target", "a volume cannot be mounted over the whole file system ('/')", "mount it on a directory of its own, e.g. /data"
        if not target.startswith("/"):
            return "target", f"{target!r}: the path in the container must be absolute", f"e.g. /{target.lstrip('./')}"
        if posixpath.normpath(target) != target.rstrip("/") or any(c in target for c in ',"\n\r\0'):
            return "target", f"{target!r} is not a plain absolute path (no '..', '//', ',', quotes)", None
        for path in _GOSHIP_PATHS:
            if _under(path, target) or _under(target, path):
                what = "its scratch tmpfs" if path == "/tmp" else path
                return ("target", f"{target} would hide {what}, which goship puts in the container",
                        "mount it on a directory of its own, e.g. /data or /var/lib/<service>")
        for path in _SYSTEM_PATHS:
            if _under(target, path):
                return "target", f"{target} is under {path}, which the container runtime provides", None
        return "target", None, None


def _volumes(values: list[VolumeConfig]) -> str | None:
    seen: dict[str, int] = {}
    for index, volume in enumerate(values):
        target = volume.target.rstrip("/") or "/"
        if target in seen:
            return f"[{index}]: {target} is mounted twice (also [{seen[target]}])"
        seen[target] = index
    return None


@dataclass(frozen=True)
class AppConfig:
    port: int = field(default=8080, metadata=_doc("port the service listens on inside the container", _port, **PORT_RANGE))
    env: dict[str, str] = field(
        default_factory=dict,
        metadata=_doc("environment for the service (passed as it is)", _env_names("variable name", ("PORT",))),
    )
    secrets: list[str] = field(
        default_factory=list,
        metadata=_doc(
            "names of secret variables, read from the deployer's environment or env_file",
            _env_names("variable name", ("PORT",)),
        ),
    )
    env_file: str | None = field(default=None, metadata=_doc("dotenv file with secret values (never committed)"))
    command: list[str] | None = field(
        default=None,
        metadata=_doc("the arguments the entrypoint (the service's binary) gets, instead of the image's CMD (a list)"),
    )
    args: list[str] = field(
        default_factory=list, metadata=_doc("arguments added after the image's CMD (or after command), e.g. [-text=hi]")
    )
    volumes: list[VolumeConfig] = field(
        default_factory=list,
        metadata=_doc(
            "data mounted into every container of the service: NAME:/path or /host/path:/path, ':ro' for "
            "read-only, or {source, target, read_only}; named volumes outlive deploys and 'goship remove'",
            _volumes,
        ),
    )
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    replicas: int = field(
        default=1,
        metadata=_doc(
            "containers of the service on each host, all behind its proxy route and switched together",
            _at_least(1), minimum=1,
        ),
    )

    def problems(self) -> Problems:
        both = sorted(set(self.env) & set(self.secrets))
        if both:
            return [("secrets", f"{', '.join(both)} is in app.env too", "keep a value in one place: env or secrets")]
        return []


@dataclass(frozen=True)
class HealthConfig:
    type: str = field(
        default="http",
        metadata=_doc(
            "http: health.path answers 2xx (or health.status); answers: health.path answers anything below 500 "
            "(a service without a health route); tcp: the port accepts a connection (not HTTP)",
            _one_of("http", "answers", "tcp"), enum=["http", "answers", "tcp"],
        ),
    )
    path: str = field(default="/healthz", metadata=_doc("HTTP path that answers 2xx when healthy", _http_path, pattern="^/"))
    timeout: Duration = field(default=Duration(30.0), metadata=_doc("how long a new version may take"))
    interval: Duration = field(default=Duration(0.5), metadata=_doc("pause between probes"))
    status: int | None = field(default=None, metadata=_doc("exact status expected (default: any 2xx)"))
    successes: int = field(default=1, metadata=_doc("consecutive healthy answers needed", _at_least(1), minimum=1))


@dataclass(frozen=True)
class DeployConfig:
    drain: Duration = field(
        default=Duration(2.0), metadata=_doc("after the switch, how long the old version finishes requests")
    )
    stop_timeout: Duration = field(
        default=Duration(30.0), metadata=_doc("grace period between SIGTERM and SIGKILL")
    )
    watch: Duration = field(
        default=Duration(0.0), metadata=_doc("how long the new version is watched after the switch")
    )
    batch: int = field(default=1, metadata=_doc("hosts deployed at a time", _at_least(1), minimum=1))
    keep: int = field(default=3, metadata=_doc("releases kept on each host for rollback (at least 2)", _at_least(2), minimum=2))


@dataclass(frozen=True)
class ProxyConfig:
    port: int | None = field(
        default=None, metadata=_doc("port the proxy publishes (default 80 on hosts, 8000 locally)", _port, **PORT_RANGE)
    )
    image: str = field(default="caddy:2", metadata=_doc("the Caddy image that runs the proxy", _image_reference))
    domains: list[str] = field(
        default_factory=list,
        metadata=_doc("host names of the service: routed by name, served over HTTPS", _domains),
    )
    tls: str = field(
        default="acme",
        metadata=_doc("certificates for domains: acme (public CA) or internal (Caddy's own CA)", _one_of("acme", "internal"), enum=["acme", "internal"]),
    )
    https_port: int | None = field(
        default=None, metadata=_doc("HTTPS port the proxy publishes (default 443 when domains are set)", _port, **PORT_RANGE)
    )
    path_prefix: str | None = field(
        default=None,
        metadata=_doc(
            "route only requests under this path (e.g. /api) to the service, so several share one host name or port",
            _path_prefix, pattern=PATH_PREFIX.pattern,
        ),
    )
    strip_prefix: bool = field(
        default=False, metadata=_doc("remove path_prefix before the request reaches the service (/api/x -> /x)")
    )


#: A role's name: a DNS label (it names containers and routes); ``web`` is the main process.
ROLE_NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$")
MAIN_ROLE = "web"
ROLE_HEALTH_TYPES = ("http", "answers", "tcp", "command", "none")


def _role_name(name: str) -> str | None:
    if name == MAIN_ROLE:
        return f"'{MAIN_ROLE}' is the name of the main process (app): give this role another name"
    if not ROLE_NAME.match(name):
        return f"{name!r} is not a role name (lower-case letters, digits and '-', starting with a letter, at most 32)"
    return None


@dataclass(frozen=True)
class RoleHealthConfig:
    """When a role's new containers are ready; unset keys come from the top-level health."""

    type: str | None = field(
        default=None,
        metadata=_doc(
            "http or answers (as health.type, on the role's port), tcp (its port accepts a connection), "
            "command (health.command exits 0 inside the container) or none (it keeps running, not restarted, "
            "for health.settle); default: http for a role with proxy, else none",
            lambda v: None if v is None else _one_of(*ROLE_HEALTH_TYPES)(v), enum=list(ROLE_HEALTH_TYPES),
        ),
    )
    port: int | None = field(
        default=None, metadata=_doc("port probed by http, answers and tcp (default: the role's port)", _port, **PORT_RANGE)
    )
    command: list[str] | None = field(
        default=None,
        metadata=_doc("for type command: the program and its arguments, run in the container (exit 0 = healthy)"),
    )
    path: str | None = field(
        default=None, metadata=_doc("HTTP path probed (default: health.path)", lambda v: None if v is None else _http_path(v))
    )
    status: int | None = field(default=None, metadata=_doc("exact status expected (default: any 2xx)"))
    timeout: Duration | None = field(default=None, metadata=_doc("how long a new version may take (default: health.timeout)"))
    interval: Duration | None = field(default=None, metadata=_doc("pause between checks (default: health.interval)"))
    successes: int | None = field(
        default=None,
        metadata=_doc("consecutive good checks needed (default: health.successes)",
                      lambda v: None if v is None else _at_least(1)(v), minimum=1),
    )
    settle: Duration = field(
        default=Duration(3.0), metadata=_doc("for type none: how long it must keep running, not restarted")
    )

    def problems(self) -> Problems:
        if self.type == "command" and not self.command:
            return [("command", "type command needs the command to run", "e.g. command: [/usr/local/bin/worker, -check]")]
        if self.command and self.type != "command":
            return [("command", f"a command is only run by type command (type is {self.type or 'not set'})",
                     "set type: command, or remove command")]
        return []


@dataclass(frozen=True)
class RoleProxyConfig:
    """How an HTTP role is reached through the proxy; a role without it gets no route."""

    path_prefix: str | None = field(
        default=None,
        metadata=_doc("requests under this path go to the role (on the service's domains, if any)",
                      _path_prefix, pattern=PATH_PREFIX.pattern),
    )
    strip_prefix: bool = field(default=False, metadata=_doc("remove path_prefix before the request reaches the role"))
    domains: list[str] = field(
        default_factory=list, metadata=_doc("host names of the role (default: proxy.domains)", _domains)
    )

    def problems(self) -> Problems:
        if not self.path_prefix and not self.domains:
            return [("", "a role's route needs a path_prefix or domains of its own (the main process takes the rest)",
                     "e.g. proxy: {path_prefix: /admin}")]
        if self.strip_prefix and not self.path_prefix:
            return [("strip_prefix", "strip_prefix needs a path_prefix", None)]
        return []


@dataclass(frozen=True)
class RoleConfig:
    """One more process of the service, from the same image: a worker, a scheduler, an admin UI."""

    main: str | None = field(
        default=None,
        metadata=_doc(
            "main package directory of its program, relative to go.mod (e.g. ./cmd/worker); "
            "goship builds it into the same image (default: the service's own program)"
        ),
    )
    command: list[str] | None = field(
        default=None,
        metadata=_doc(
            "the program the container runs and its first arguments, e.g. [/usr/local/bin/worker] "
            "(for a program the image already holds, such as one an own Dockerfile builds)"
        ),
    )
    args: list[str] = field(default_factory=list, metadata=_doc("arguments of its program, e.g. [-queue=default]"))
    env: dict[str, str] = field(
        default_factory=dict, metadata=_doc("environment merged over app.env", _env_names("variable name", ("PORT",)))
    )
    secrets: list[str] | None = field(
        default=None, metadata=_doc("secret variables (default: app.secrets)", lambda v: None if v is None else _env_names("variable name", ("PORT",))(v))
    )
    env_file: str | None = field(default=None, metadata=_doc("dotenv file with secret values (default: app.env_file)"))
    resources: ResourcesConfig | None = field(default=None, metadata=_doc("limits (default: app.resources)"))
    security: SecurityConfig | None = field(default=None, metadata=_doc("hardening (default: app.security)"))
    replicas: int = field(default=1, metadata=_doc("containers of the role on each host", _at_least(1), minimum=1))
    port: int | None = field(
        default=None,
        metadata=_doc("port it listens on (its PORT), for its health check and route; none for a pure worker", _port, **PORT_RANGE),
    )
    health: RoleHealthConfig = field(default_factory=RoleHealthConfig)
    proxy: RoleProxyConfig | None = field(
        default=None, metadata=_doc("serve the role over HTTP through the proxy (default: no route)")
    )

    @property
    def health_type(self) -> str:
        """health.type, or its default: http for a role with a route, none for one without."""
        return self.health.type or ("http" if self.proxy is not None else "none")

    def problems(self) -> Problems:
        if self.main is not None and self.command is not None:
            return [("command", "main and command are both set",
                     "main: goship builds that package and runs it; command: a program already in the image. Keep one")]
        if self.proxy is not None and self.port is None:
            return [("proxy", "a role served through the proxy needs its port", "add port: (the port it listens on)")]
        if self.health_type in ("http", "answers", "tcp") and self.port is None and self.health.port is None:
            return [("health", f"health type {self.health_type} needs a port",
                     "set the role's port, or health: {type: command, command: [...]} or {type: none} for a process without one")]
        return []


@dataclass(frozen=True)
class SSHConfig:
    user: str | None = field(
        default=None,
        metadata=_doc(
            "login user when a host names none",
            lambda v: None if v is None or re.fullmatch(r"[A-Za-z0-9._][A-Za-z0-9._\\-]*", v) else f"{v!r} is not a user name",
        ),
    )
    port: int | None = field(default=None, metadata=_doc("SSH port when a host names none", _port, **PORT_RANGE))
    identity_file: str | None = field(default=None, metadata=_doc("private key file", _local_path))
    known_hosts_file: str | None = field(default=None, metadata=_doc("known_hosts file to verify host keys", _local_path))
    config_file: str | None = field(default=None, metadata=_doc("ssh_config file (ssh -F)", _local_path))
    connect_timeout: Duration = field(default=Duration(10.0), metadata=_doc("SSH connect timeout"))


def _target_kind(value: str) -> str | None:
    # Read when checked, not when defined: a kind registered by a plug-in counts.
    if value in TARGET_KINDS:
        return None
    return f"expected {' or '.join(repr(k) for k in sorted(TARGET_KINDS))}, got {value!r}"


def _hosts(values: list[str]) -> str | None:
    if not values:
        return "no hosts listed"
    for index, value in enumerate(values):
        try:
            parse_host(value)
        except ValueError as exc:
            return f"[{index}]: {exc}"
    repeated = sorted({v for v in values if values.count(v) > 1})
    return f"{', '.join(repeated)} listed twice" if repeated else None


def _percent(value: float | None) -> str | None:
    if value is None or 0 <= value <= 100:
        return None
    return f"{value:g} is not a percentage (0-100)"


def _switch(name: str, *words: str) -> Callable[[bool | str], str | None]:
    def check(value: bool | str) -> str | None:
        if isinstance(value, bool) or value in words:
            return None
        return f"expected {', '.join(repr(w) for w in words)}, on or off, got {value!r}"

    return check


@dataclass(frozen=True)
class TestConfig:
    """goship test: go vet, go test with coverage, a linter when installed."""

    __test__ = False  # not a test class, for pytest

    coverage_min: float | None = field(
        default=None, metadata=_doc("fail when the total statement coverage is below this percentage", _percent,
                                    minimum=0, maximum=100),
    )
    # bool | str: YAML reads on/off/yes/no as true/false, so "race: off" must mean off.
    race: bool | str = field(
        default="auto",
        metadata=_doc("-race: auto (when a C compiler is installed), on (true: required), off (false)",
                      _switch("race", "auto")),
    )
    lint: bool | str = field(
        default="auto",
        metadata=_doc("golangci-lint or staticcheck: auto (when installed), required (true), off (false)",
                      _switch("lint", "auto", "required")),
    )

    @property
    def race_mode(self) -> str:
        if isinstance(self.race, bool):
            return "on" if self.race else "off"
        return self.race

    @property
    def lint_mode(self) -> str:
        if isinstance(self.lint, bool):
            return "required" if self.lint else "off"
        return self.lint

    packages: list[str] = field(
        default_factory=list, metadata=_doc("package patterns to vet and test (default: the module, or each module of its workspace)")
    )
    timeout: Duration = field(default=Duration(600.0), metadata=_doc("how long go vet and go test may take each"))


#: The top-level sections a target may override (targets.NAME.app.env.X): everything but
#: the service's name and the targets themselves.
OVERRIDABLE = ("image", "build", "registry", "app", "health", "proxy", "deploy", "ssh", "roles")

TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _target_name(name: str) -> str | None:
    if TARGET_NAME.match(name) and len(name) <= 63:
        return None
    return f"{name!r} is not a target name (letters, digits, '.', '_', '-'; up to 63)"


def _override(section: str) -> dict[str, Any]:
    return _doc(f"this target's {section}: merged over the top-level {section} (maps key by key, lists replace)")


@dataclass(frozen=True)
class TargetConfig:
    kind: str = field(
        default="hosts",
        metadata=_doc(
            "what the target is: hosts (Docker hosts over SSH, each with its own proxy) or local (this machine's engine)",
            _target_kind,
            enum=sorted(TARGET_KINDS),
        ),
    )
    hosts: list[str] = field(
        default_factory=list, metadata=_doc("[user@]host[:port] of each Docker host", _hosts)
    )
    shell: str = field(
        default="sh",
        metadata=_doc("the hosts' shell: sh (Linux) or powershell (Windows Server)", _one_of("sh", "powershell"), enum=["sh", "powershell"]),
    )
    # Overrides. The loader stores each one merged with the top-level section (validated
    # whole); None: not overridden.
    image: str | None = field(
        default=None, metadata={**_doc("this target's image repository", _image_repository), "text_only": True}
    )
    build: BuildConfig | None = field(default=None, metadata=_override("build"))
    registry: RegistryConfig | None = field(default=None, metadata=_override("registry"))
    app: AppConfig | None = field(default=None, metadata=_override("app"))
    health: HealthConfig | None = field(default=None, metadata=_override("health"))
    proxy: ProxyConfig | None = field(default=None, metadata=_override("proxy"))
    deploy: DeployConfig | None = field(default=None, metadata=_override("deploy"))
    ssh: SSHConfig | None = field(default=None, metadata=_override("ssh"))
    roles: dict[str, RoleConfig] | None = field(default=None, metadata={**_override("roles"), "names": _role_name})
    #: An override that names a ${VAR} this environment does not set: reported when the
    #: target is used, so staging deploys without production's variables.
    unresolved: ConfigError | None = field(default=None, repr=False, compare=False, metadata={"internal": True})

    def problems(self) -> Problems:
        if self.kind == "hosts" and not self.hosts:
            return [("hosts", "no hosts listed", "list each host as [user@]host[:port]")]
        if self.kind == "local" and self.hosts:
            return [("hosts", "a local target has no hosts", "remove hosts, or use kind: hosts")]
        return []

    def overrides(self) -> dict[str, Any]:
        """The sections this target sets, each already merged with the top level."""
        return {name: getattr(self, name) for name in OVERRIDABLE if getattr(self, name) is not None}


@dataclass(frozen=True)
class Config:
    """A whole goship.yaml; every key optional except where a command needs it."""

    service: str | None = field(
        default=None, metadata=_doc("names containers, proxy routes and releases", _service_name, pattern=SERVICE_NAME.pattern, maxLength=63)
    )
    image: str | None = field(
        default=None,
        metadata={**_doc("image repository, e.g. registry:5000/team/app", _image_repository), "text_only": True},
    )
    build: BuildConfig = field(default_factory=BuildConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    app: AppConfig = field(default_factory=AppConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    proxy: ProxyConfig = field(default_factory=ProxyConfig)
    deploy: DeployConfig = field(default_factory=DeployConfig)
    ssh: SSHConfig = field(default_factory=SSHConfig)
    test: TestConfig = field(default_factory=TestConfig)
    targets: dict[str, TargetConfig] = field(
        default_factory=dict,
        metadata={
            **_doc("where the service runs: name -> Docker hosts (or this engine), with its own settings"),
            "names": _target_name,
        },
    )

    roles: dict[str, RoleConfig] = field(
        default_factory=dict,
        metadata={
            **_doc("more processes of the service (a worker...), deployed with it in this order, after the main one",
                   propertyNames={"pattern": ROLE_NAME.pattern, "not": {"const": MAIN_ROLE}}),
            "names": _role_name,
        },
    )

    def problems(self) -> Problems:
        found = self._rules()
        for target, entry in self.targets.items():
            if entry.unresolved is None and entry.overrides():
                # The same rules across sections, for what each target deploys.
                found += [("targets", f"targets.{target}: {message}", hint)
                          for _, message, hint in self.for_target(target)._rules()]
        return found

    def _rules(self) -> Problems:
        for name, role in self.roles.items():
            if role.main is not None and self.build.builder == "docker":
                return [("roles", f"roles.{name}.main: the docker builder builds your Dockerfile, and goship cannot "
                         "add another program to it",
                         f"build it in the Dockerfile (RUN go build -o /usr/local/bin/{name} {role.main}) and set "
                         f"roles.{name}.command: [/usr/local/bin/{name}] instead of main, or use build.builder: native")]
            route = role.proxy
            if route is not None and route.path_prefix is not None and route.path_prefix == self.proxy.path_prefix \
                    and not route.domains:
                prefix = route.path_prefix
                return [("roles", f"roles.{name}.proxy.path_prefix {prefix} is the main process's proxy.path_prefix",
                         "give the role a path of its own")]
        prefixes = [r.proxy.path_prefix for r in self.roles.values() if r.proxy and r.proxy.path_prefix and not r.proxy.domains]
        repeated = sorted({p for p in prefixes if prefixes.count(p) > 1})
        if repeated:
            return [("roles", f"{', '.join(repeated)}: the same proxy.path_prefix for two roles", "give each role its own path")]
        return []

    def for_target(self, name: str) -> Config:
        """This configuration as target ``name`` sees it: its overrides in place of the
        top-level sections (unchanged for a name goship.yaml does not define)."""
        target = self.targets.get(name)
        if target is not None and target.unresolved is not None:
            raise target.unresolved
        return replace(self, **target.overrides()) if target is not None else self
