"""The Engine API calls goship makes, as data, and parsers of the answers.

Nothing here sends anything: each function returns the ``Request`` the
engine client sends (over the local socket, the named pipe or an SSH
stream), so the exact bodies are unit-tested and the fake engine answers
the very same requests. Reference: the Docker Engine API v1.41 (Docker
20.10), which every call here stays within.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from goship.engine.http import Request, json_request, path_part
from goship.images.reference import split_reference

#: The oldest API goship needs (Docker 20.10); newer engines answer it too.
MIN_API = (1, 41)
#: The newest goship knows; an engine offering more is spoken to at this one.
MAX_API = (1, 45)


def negotiate(server_api: str | None) -> str:
    """The version prefix for requests: the engine's API version, capped at MAX_API."""
    if not server_api:
        return "/v{}.{}".format(*MIN_API)
    try:
        major, minor = (int(part) for part in server_api.split(".")[:2])
    except ValueError:
        return "/v{}.{}".format(*MIN_API)
    chosen = min((major, minor), MAX_API)
    return "/v{}.{}".format(*chosen)


def version() -> Request:
    return Request("GET", "/version", timeout=30)


# Images -------------------------------------------------------------------


def image_inspect(ref: str) -> Request:
    return Request("GET", f"/images/{path_part(ref)}/json")


def image_pull(ref: str, auth: str | None = None) -> Request:
    """Pull ``ref``; ``auth`` is the base64 X-Registry-Auth value (the engine never stores it)."""
    name, tag = split_reference(ref)
    headers = (("X-Registry-Auth", auth),) if auth else ()
    return Request(
        "POST", "/images/create", query=(("fromImage", name), ("tag", tag)), headers=headers, timeout=900, stream=True
    )


def distribution(ref: str, auth: str | None = None) -> Request:
    """``GET /distribution/{name}/json``: the engine asks the registry about ``ref`` (what
    ``docker manifest inspect`` does) - a pull's reachability, TLS and credentials, without pulling."""
    headers = (("X-Registry-Auth", auth),) if auth else ()
    return Request("GET", f"/distribution/{ref}/json", headers=headers, timeout=60)


def image_load(archive: bytes) -> Request:
    """``docker load``: a docker-archive tarball as the body."""
    return Request(
        "POST", "/images/load", query=(("quiet", "1"),), body=archive, content_type="application/x-tar",
        timeout=900, stream=True,
    )


def image_remove(ref: str) -> Request:
    return Request("DELETE", f"/images/{path_part(ref)}", timeout=120)


def image_export(ref: str) -> Request:
    """``docker save``: the image as a docker-archive tarball."""
    return Request("GET", f"/images/{path_part(ref)}/get", timeout=900)


# Networks and volumes -----------------------------------------------------


def network_inspect(name: str) -> Request:
    return Request("GET", f"/networks/{path_part(name)}")


def network_create(name: str, labels: Mapping[str, str]) -> Request:
    return json_request(
        "POST", "/networks/create", {"Name": name, "Driver": "bridge", "CheckDuplicate": True, "Labels": dict(labels)}
    )


def volume_remove(name: str) -> Request:
    return Request("DELETE", f"/volumes/{path_part(name)}", timeout=120)


def volume_list(names: Sequence[str] = (), labels: Mapping[str, str] | None = None) -> Request:
    """Volumes whose name contains one of ``names`` (the engine matches parts of
    names) and that carry every label of ``labels``."""
    filters: dict[str, list[str]] = {}
    if names:
        filters["name"] = list(names)
    if labels:
        filters["label"] = [f"{key}={value}" for key, value in sorted(labels.items())]
    query = (("filters", json.dumps(filters, sort_keys=True)),) if filters else ()
    return Request("GET", "/volumes", query=query)


def volume_create(name: str, labels: Mapping[str, str]) -> Request:
    """``docker volume create``: the engine answers with the existing volume when
    ``name`` is taken (its labels unchanged), so creating is safe to repeat."""
    return json_request("POST", "/volumes/create", {"Name": name, "Labels": dict(labels)})


# Containers ---------------------------------------------------------------


@dataclass(frozen=True)
class PortBinding:
    container_port: int
    host_ip: str = "127.0.0.1"
    host_port: int | None = None  # None: the engine picks a free port


@dataclass(frozen=True)
class ContainerSpec:
    """What ``docker create`` is told; the defaults change nothing."""

    image: str
    labels: Mapping[str, str] = field(default_factory=dict)
    #: Environment, secrets included: sent in the request body only, never in an argv.
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    network: str | None = None
    aliases: tuple[str, ...] = ()
    publish: tuple[PortBinding, ...] = ()
    binds: tuple[str, ...] = ()
    restart: str | None = None
    read_only: bool = False
    tmpfs: Mapping[str, str] = field(default_factory=dict)
    cap_drop: tuple[str, ...] = ()
    cap_add: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    user: str | None = None
    memory: int | None = None  # bytes
    nano_cpus: int | None = None
    log_opts: Mapping[str, str] = field(default_factory=dict)
    stop_timeout: int | None = None


def container_body(spec: ContainerSpec) -> dict[str, Any]:
    """The JSON body of POST /containers/create for ``spec``."""
    host: dict[str, Any] = {}
    body: dict[str, Any] = {"Image": spec.image, "Labels": dict(spec.labels)}
    if spec.env:
        body["Env"] = [f"{key}={value}" for key, value in sorted(spec.env.items())]
    if spec.cmd is not None:
        body["Cmd"] = list(spec.cmd)
    if spec.entrypoint is not None:
        body["Entrypoint"] = list(spec.entrypoint)
    if spec.user:
        body["User"] = spec.user
    if spec.stop_timeout is not None:
        body["StopTimeout"] = spec.stop_timeout
    if spec.publish:
        body["ExposedPorts"] = {f"{p.container_port}/tcp": {} for p in spec.publish}
        bindings: dict[str, list[dict[str, str]]] = {}
        for p in spec.publish:
            bindings.setdefault(f"{p.container_port}/tcp", []).append(
                {"HostIp": p.host_ip, "HostPort": str(p.host_port) if p.host_port else ""}
            )
        host["PortBindings"] = bindings
    if spec.network:
        host["NetworkMode"] = spec.network
        if spec.aliases and spec.network not in ("none", "host", "bridge"):
            body["NetworkingConfig"] = {"EndpointsConfig": {spec.network: {"Aliases": list(spec.aliases)}}}
    if spec.binds:
        host["Binds"] = list(spec.binds)
    if spec.restart:
        host["RestartPolicy"] = {"Name": spec.restart}
    if spec.read_only:
        host["ReadonlyRootfs"] = True
    if spec.tmpfs:
        host["Tmpfs"] = dict(spec.tmpfs)
    if spec.cap_drop:
        host["CapDrop"] = list(spec.cap_drop)
    if spec.cap_add:
        host["CapAdd"] = list(spec.cap_add)
    if spec.security_opt:
        host["SecurityOpt"] = list(spec.security_opt)
    if spec.memory:
        host["Memory"] = spec.memory
    if spec.nano_cpus:
        host["NanoCpus"] = spec.nano_cpus
    if spec.log_opts:
        # Type "" keeps the engine's default log driver, as `docker run --log-opt` does.
        host["LogConfig"] = {"Type": "", "Config": dict(spec.log_opts)}
    body["HostConfig"] = host
    return body


def container_create(name: str, spec: ContainerSpec) -> Request:
    return json_request("POST", "/containers/create", container_body(spec), query=(("name", name),))


def container_start(name: str) -> Request:
    return Request("POST", f"/containers/{path_part(name)}/start", timeout=120)


def container_stop(name: str, timeout: int) -> Request:
    return Request("POST", f"/containers/{path_part(name)}/stop", query=(("t", str(timeout)),), timeout=timeout + 60)


def container_remove(name: str, volumes: bool = False) -> Request:
    """Remove a container, running or not (``docker rm --force``)."""
    query = (("force", "1"), ("v", "1" if volumes else "0"))
    return Request("DELETE", f"/containers/{path_part(name)}", query=query, timeout=120)


def container_inspect(name: str) -> Request:
    return Request("GET", f"/containers/{path_part(name)}/json")


def container_list(labels: Mapping[str, str], all: bool = True) -> Request:
    filters = {"label": [f"{key}={value}" for key, value in sorted(labels.items())]}
    return Request(
        "GET", "/containers/json", query=(("all", "1" if all else "0"), ("filters", json.dumps(filters, sort_keys=True)))
    )


def container_logs(name: str, tail: int | None = 100, follow: bool = False) -> Request:
    query = [("stdout", "1"), ("stderr", "1"), ("tail", str(tail) if tail is not None else "all")]
    if follow:
        query.append(("follow", "1"))
    return Request(
        "GET", f"/containers/{path_part(name)}/logs", query=tuple(query), timeout=None if follow else 60,
        stream=follow,
    )


def container_wait(name: str, timeout: float = 120) -> Request:
    return Request("POST", f"/containers/{path_part(name)}/wait", timeout=timeout)


def put_archive(name: str, directory: str, tar: bytes) -> Request:
    """Extract a tar into ``directory`` of the container (``docker cp -``): no shell needed there."""
    return Request(
        "PUT", f"/containers/{path_part(name)}/archive", query=(("path", directory),), body=tar,
        content_type="application/x-tar", timeout=120,
    )


def get_archive(name: str, path: str) -> Request:
    """A file or directory of the container, as a tar (``docker cp NAME:PATH -``)."""
    return Request("GET", f"/containers/{path_part(name)}/archive", query=(("path", path),), timeout=120)


def exec_create(name: str, cmd: Sequence[str]) -> Request:
    return json_request(
        "POST", f"/containers/{path_part(name)}/exec",
        {"AttachStdout": True, "AttachStderr": True, "AttachStdin": False, "Tty": False, "Cmd": list(cmd)},
    )


def exec_start(exec_id: str, timeout: float = 120) -> Request:
    # The engine takes the connection over and closes it when the command ends.
    return json_request("POST", f"/exec/{path_part(exec_id)}/start", {"Detach": False, "Tty": False}, timeout=timeout)


def exec_inspect(exec_id: str) -> Request:
    return Request("GET", f"/exec/{path_part(exec_id)}/json")


# Parsers ------------------------------------------------------------------


def demux(data: bytes) -> list[tuple[int, bytes]]:
    """Split the engine's multiplexed stdout/stderr stream into (stream, bytes) frames.

    Each frame is an 8-byte header (stream 1 or 2, three zero bytes, a
    big-endian length) then the payload. Output of a container with a TTY is
    not framed: it comes back as one stdout frame.
    """
    demuxer = Demuxer()
    return [*demuxer.feed(data), *demuxer.flush()]


class Demuxer:
    """demux for a stream that arrives in pieces (``logs --follow``).

    ``feed`` returns the frames complete so far; from the first byte that is
    no frame header on, everything is one stdout frame (a TTY's raw output).
    ``flush`` returns what the end of the stream cut short.
    """

    def __init__(self) -> None:
        self._pending = b""
        self._raw = False

    def feed(self, chunk: bytes) -> list[tuple[int, bytes]]:
        self._pending += chunk
        frames = []
        while not self._raw and self._pending:
            header = self._pending[:8]
            if header[0] not in (0, 1, 2) or (len(header) == 8 and header[1:4] != b"\0\0\0"):
                self._raw = True
                break
            if len(header) < 8:
                break
            (size,) = struct.unpack(">I", header[4:8])
            if len(self._pending) < 8 + size:
                break
            frames.append((header[0], self._pending[8 : 8 + size]))
            self._pending = self._pending[8 + size :]
        if self._raw and self._pending:
            frames.append((1, self._pending))
            self._pending = b""
        return frames

    def flush(self) -> list[tuple[int, bytes]]:
        """The rest at the end of the stream: a cut-off frame's payload, or bytes too few for a header."""
        rest, self._pending = self._pending, b""
        if not rest:
            return []
        return [(rest[0], rest[8:])] if len(rest) >= 8 else [(1, rest)]


def log_lines(data: bytes) -> list[str]:
    """A log answer as text lines, stdout and stderr interleaved as the engine sent them."""
    text = b"".join(payload for _, payload in demux(data)).decode("utf-8", errors="replace")
    return text.splitlines()


def progress_error(lines: Iterable[bytes]) -> str | None:
    """The first error in a pull/load progress stream.

    The engine answers 200 and only then streams; a failed pull says so in
    a line like ``{"errorDetail": {...}, "error": "..."}`` (the trap of
    docker-py#3161: a status alone proves nothing).
    """
    for raw in lines:
        try:
            item = json.loads(raw)
        except ValueError:
            continue
        if isinstance(item, dict) and item.get("error"):
            detail = item.get("errorDetail") or {}
            message = detail.get("message") if isinstance(detail, dict) else None
            return str(message or item["error"])
    return None


@dataclass(frozen=True)
class Mount:
    """One entry of an inspect's ``Mounts``: a volume or a host path (bind)."""

    kind: str  # volume, bind, tmpfs
    source: str  # the volume's name, or the host path
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class ContainerState:
    """The parts of ``GET /containers/{id}/json`` a deploy decides on."""

    id: str
    name: str
    status: str  # created, running, restarting, exited, dead, paused
    running: bool
    exit_code: int
    error: str
    oom_killed: bool
    restart_count: int
    health: str | None  # starting, healthy, unhealthy; None without a HEALTHCHECK
    image: str  # the image id
    labels: dict[str, str]
    ports: dict[str, list[tuple[str, int]]]
    started_at: str
    finished_at: str
    restarting: bool = False
    mounts: tuple[Mount, ...] = ()

    def published(self, container_port: int) -> tuple[str, int] | None:
        """Where the engine published ``container_port/tcp`` on the host, if it did."""
        bindings = self.ports.get(f"{container_port}/tcp") or []
        for host_ip, host_port in bindings:
            if host_ip in ("127.0.0.1", "0.0.0.0", ""):
                return ("127.0.0.1", host_port)
        return (bindings[0][0].strip("[]"), bindings[0][1]) if bindings else None

    @property
    def stopped(self) -> bool:
        return self.status in ("exited", "dead") or self.restarting


def parse_container(item: Mapping[str, Any]) -> ContainerState:
    state = item.get("State") or {}
    health = state.get("Health") or {}
    config = item.get("Config") or {}
    settings = item.get("NetworkSettings") or {}
    ports: dict[str, list[tuple[str, int]]] = {}
    for key, bindings in (settings.get("Ports") or {}).items():
        for binding in bindings or []:
            port_text = str(binding.get("HostPort", ""))
            if port_text.isdigit():
                ports.setdefault(key, []).append((str(binding.get("HostIp", "")), int(port_text)))
    return ContainerState(
        id=str(item.get("Id", "")),
        name=str(item.get("Name", "")).lstrip("/"),
        status=str(state.get("Status", "")),
        running=bool(state.get("Running")),
        exit_code=int(state.get("ExitCode") or 0),
        error=str(state.get("Error") or ""),
        oom_killed=bool(state.get("OOMKilled")),
        restart_count=int(item.get("RestartCount") or 0),
        health=health.get("Status") or None,
        image=str(item.get("Image", "")),
        labels=dict(config.get("Labels") or {}),
        ports=ports,
        started_at=str(state.get("StartedAt") or ""),
        finished_at=str(state.get("FinishedAt") or ""),
        restarting=bool(state.get("Restarting")),
        mounts=tuple(
            Mount(
                str(m.get("Type", "")),
                str(m.get("Name") or m.get("Source") or ""),
                str(m.get("Destination", "")),
                not m.get("RW", True),
            )
            for m in item.get("Mounts") or []
            if isinstance(m, dict)
        ),
    )


@dataclass(frozen=True)
class ContainerSummary:
    """One row of ``GET /containers/json``."""

    id: str
    name: str
    state: str
    labels: dict[str, str]
    image: str = ""
    created: int = 0

    @property
    def running(self) -> bool:
        return self.state == "running"


def parse_container_list(items: Iterable[Mapping[str, Any]]) -> list[ContainerSummary]:
    found = []
    for item in items:
        names = item.get("Names") or [""]
        found.append(
            ContainerSummary(
                id=str(item.get("Id", "")),
                name=str(names[0]).lstrip("/"),
                state=str(item.get("State", "")),
                labels=dict(item.get("Labels") or {}),
                image=str(item.get("Image", "")),
                created=int(item.get("Created") or 0),
            )
        )
    return sorted(found, key=lambda c: (c.created, c.name))
