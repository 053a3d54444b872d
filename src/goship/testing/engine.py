"""A Docker engine in memory, answering the Engine API requests goship sends.

``FakeEngine`` is a ``Transport``: hand it to ``Engine`` instead of a real
connection and every request is recorded (``requests``, ``calls()``) and
answered from a small model of a Docker host - images, containers with
their labels, ports, state and files, volumes, networks, exec. App
containers behave as their image's ``Behaviour`` says (healthy, slow,
crashing, failing after a while); a proxy container behaves like Caddy:
``caddy reload`` loads the site files or refuses them, and its routes
decide where a request to the proxy's port goes (a split's upstreams in
turn, as Caddy's round robin picks them).

Faults are scripted per request (``fail``), and ``crash_after`` raises
``Crash`` on the n-th changing request to stand for a goship killed at
that point. Time comes from ``FakeClock``, which ``sleep`` advances, so a
30-second health timeout passes in no time. The prober that goes with it
is ``goship.testing.prober.FakeProber``.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from goship.deploy.proxy import parse_table
from goship.deploy.routes import HTTP_PORT, Route
from goship.engine.http import Request, Response


class Crash(BaseException):
    """goship "killed" by the fake at a chosen request (a BaseException, like SIGKILL is no error)."""


@dataclass
class FakeClock:
    now: float = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.001)


@dataclass(frozen=True)
class Behaviour:
    """How an app image behaves once started."""

    status: int = 200  # what its health path answers when ready
    ready_after: float = 0.0  # seconds before it listens (connections refused until then)
    fails_after: float | None = None  # its health path answers fail_status from then on
    fail_status: int = 500
    exit_code: int | None = None  # exits right after start with this code (then restarts, forever)
    oom: bool = False
    logs: tuple[str, ...] = ("listening",)
    #: What a command run in it (``exec``: a health check) exits with; None: no such program (127).
    exec_exit: int | None = None
    exec_output: tuple[str, ...] = ()


@dataclass
class Container:
    id: str
    name: str
    body: dict[str, Any]
    created: int
    status: str = "created"  # created, running, restarting, exited
    exit_code: int = 0
    restart_count: int = 0
    started_at: float | None = None
    ports: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    #: What it printed, for containers that are not apps (a proxy, a check).
    output: list[str] | None = None

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.body.get("Labels") or {})

    @property
    def image(self) -> str:
        return str(self.body.get("Image", ""))

    @property
    def host_config(self) -> dict[str, Any]:
        return dict(self.body.get("HostConfig") or {})

    @property
    def running(self) -> bool:
        return self.status == "running"


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    message: str
    times: int | None  # None: every time


_MUTATING = ("POST", "PUT", "DELETE")


class FakeEngine:
    """See the module docstring. ``name`` only labels it in test failures."""

    def __init__(self, name: str = "fake", clock: FakeClock | None = None) -> None:
        self.name = name
        self.clock = clock or FakeClock()
        self.prefix = ""
        self.requests: list[Request] = []
        self.images: dict[str, dict[str, Any]] = {}
        self.registry: dict[str, str] = {}  # ref -> image id, what pulls can fetch
        self.registry_auth: dict[str, tuple[str, str]] = {}  # registry host -> credentials it wants
        #: Asked for a reference ``registry`` does not list: the image id a registry would give, or None.
        self.pull_source: Callable[[str], str | None] = lambda ref: None
        self.behaviours: dict[str, Behaviour] = {}
        #: How the containers of one process (label goship.process) of an image behave, over ``behaviours``.
        self.process_behaviours: dict[tuple[str, str], Behaviour] = {}
        self.containers: dict[str, Container] = {}
        self.networks: dict[str, dict[str, Any]] = {}
        self.volumes: dict[str, dict[str, bytes]] = {}
        #: The labels a volume was created with (a volume made by a mount has none).
        self.volume_labels: dict[str, dict[str, str]] = {}
        self.execs: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        #: Caddy's loaded routes per proxy container: service -> Route.
        self.routes: dict[str, dict[str, Route]] = {}
        #: Every upstream of each proxy's loaded configuration (what its status window lists).
        self.upstreams: dict[str, set[str]] = {}
        #: Each proxy's loaded Caddyfile as Caddy forwards: (site, path prefix) -> (lb_policy, upstreams listed).
        self.pools: dict[str, dict[tuple[str, str | None], tuple[str, tuple[str, ...]]]] = {}
        #: Caddy's round-robin counter per (proxy, site, path prefix); a reload starts them again.
        self.robins: dict[tuple[str, str, str | None], int] = {}
        #: A proxy refuses a configuration this returns a reason for.
        self.caddy_refuses: Callable[[dict[str, str]], str | None] = lambda files: None
        #: Requests in flight through a proxy to an upstream, until a clock time.
        self.in_flight: dict[str, float] = {}
        self.crash_after: int | None = None
        self._changes = 0
        self._serial = 0
        self._next_port = 40000
        self.closed = 0

    # Scripting -------------------------------------------------------------

    def add_image(self, ref: str, behaviour: Behaviour | None = None, *, pullable: bool = False) -> str:
        image_id = "sha256:" + hashlib.sha256(ref.encode()).hexdigest()
        if pullable:
            self.registry[ref] = image_id
        else:
            self.images[ref] = {"Id": image_id, "RepoTags": [ref], "Os": "linux", "Architecture": "amd64"}
        if behaviour is not None:
            self.behaviours[ref] = behaviour
        return image_id

    def fail(self, method: str, path: str, status: int = 500, message: str = "injected", times: int | None = 1) -> None:
        """Answer the next ``times`` requests matching ``method`` and the ``path`` regex with an error."""
        self.faults.append(Fault(method, re.compile(path), status, message, times))

    def calls(self, mutating: bool = True) -> list[str]:
        """The requests so far as 'POST /containers/create name=x' lines (the changing ones by default)."""
        lines = []
        for request in self.requests:
            if mutating and request.method not in _MUTATING:
                continue
            query = " ".join(f"{k}={v}" for k, v in request.query if k in ("name", "path", "t", "fromImage", "tag"))
            lines.append(f"{request.method} {request.path}" + (f" {query}" if query else ""))
        return lines

    def app_containers(self, service: str) -> list[Container]:
        return [
            c for c in self.containers.values()
            if c.labels.get("goship.service") == service and c.labels.get("goship.role") == "app"
        ]

    def container_with_port(self, port: int) -> Container | None:
        for container in self.containers.values():
            if container.running or container.status == "restarting":
                for bindings in container.ports.values():
                    if any(host_port == port for _, host_port in bindings):
                        return container
        return None

    def set_behaviour(self, image: str, behaviour: Behaviour, *, process: str | None = None) -> None:
        """How containers of ``image`` behave; with ``process``, only those running that process (a role)."""
        if process is None:
            self.behaviours[image] = behaviour
        else:
            self.process_behaviours[(image, process)] = behaviour

    def behaviour(self, container: Container) -> Behaviour:
        process = container.labels.get("goship.process")
        if process is not None and (container.image, process) in self.process_behaviours:
            return self.process_behaviours[(container.image, process)]
        return self.behaviours.get(container.image, Behaviour())

    # Transport -------------------------------------------------------------

    def close(self) -> None:
        self.closed += 1

    def handle(self, request: Request) -> Response:
        self.requests.append(request)
        if request.method in _MUTATING:
            self._changes += 1
            if self.crash_after is not None and self._changes > self.crash_after:
                raise Crash(f"killed before {request.describe()}")
        for fault in self.faults:
            if fault.method == request.method and fault.path.search(request.path) and fault.times != 0:
                if fault.times is not None:
                    fault.times -= 1
                return _error(fault.status, fault.message)
        query = dict(parse_qsl(request.target.partition("?")[2]))
        for method, pattern, handler in _ROUTES:
            match = re.fullmatch(pattern, request.path) if method == request.method else None
            if not match:
                continue
            args: list[Any] = [unquote(g) for g in match.groups()]
            if pattern.startswith("/containers/") and args:
                # /containers/{name}/...: the handler gets the container itself.
                container = self._find(args[0])
                if container is None:
                    return _error(404, f"No such container: {args[0]}")
                args[0] = container
            return handler(self, request, query, *args)
        return _error(404, f"page not found: {request.method} {request.path}")

    # Images ------------------------------------------------------------------

    def _version(self, request: Request, query: dict[str, str]) -> Response:
        return _json({"Version": "20.10.99-fake", "ApiVersion": "1.41", "Os": "linux", "Arch": "amd64"})

    def _image(self, request: Request, query: dict[str, str], ref: str) -> Response:
        found = self.images.get(ref) or next((i for i in self.images.values() if i["Id"] == ref), None)
        return _json(found) if found else _error(404, f"No such image: {ref}")

    def _pull(self, request: Request, query: dict[str, str]) -> Response:
        name, tag = query.get("fromImage", ""), query.get("tag", "latest")
        ref = f"{name}@{tag}" if tag.startswith("sha256:") else f"{name}:{tag}"
        registry = name.split("/", 1)[0]
        wanted = self.registry_auth.get(registry)
        if wanted is not None:
            header = dict(request.headers).get("X-Registry-Auth")
            given = _decode_auth(header)
            if given != wanted:
                return _stream([{"status": f"Pulling from {name}"}, {"error": "unauthorized: authentication required",
                                "errorDetail": {"message": "unauthorized: authentication required"}}])
        if ref not in self.registry and (found := self.pull_source(ref)) is not None:
            self.registry[ref] = found
        if ref not in self.registry:
            return _stream([{"error": f"manifest for {ref} not found: manifest unknown",
                             "errorDetail": {"message": f"manifest for {ref} not found: manifest unknown"}}])
        self.images[ref] = {"Id": self.registry[ref], "RepoTags": [], "RepoDigests": [ref], "Os": "linux",
                            "Architecture": "amd64"}
        return _stream([{"status": f"Digest: {tag}"}, {"status": f"Status: Downloaded newer image for {ref}"}])

    def _load(self, request: Request, query: dict[str, str]) -> Response:
        try:
            with tarfile.open(fileobj=io.BytesIO(request.body)) as tar:
                member = tar.extractfile("manifest.json")
                manifest = json.loads(member.read() if member else b"[]")
        except (tarfile.TarError, KeyError, ValueError):
            return _stream([{"error": "unexpected EOF", "errorDetail": {"message": "unexpected EOF"}}])
        for entry in manifest:
            image_id = "sha256:" + str(entry.get("Config", "")).rsplit("/", 1)[-1].removesuffix(".json")
            for tag in entry.get("RepoTags") or []:
                self.images[tag] = {"Id": image_id, "RepoTags": [tag], "Os": "linux", "Architecture": "amd64"}
        return _stream([{"stream": "Loaded image"}])

    def _remove_image(self, request: Request, query: dict[str, str], ref: str) -> Response:
        if ref not in self.images:
            return _error(404, f"No such image: {ref}")
        if any(c.image == ref for c in self.containers.values()):
            return _error(409, f"conflict: unable to remove repository reference {ref} (must force)")
        del self.images[ref]
        return _json([{"Untagged": ref}])

    def _export(self, request: Request, query: dict[str, str], ref: str) -> Response:
        return Response(200, {}, _tar({"manifest.json": b"[]"})) if ref in self.images else _error(404, "No such image")

    # Networks and volumes ------------------------------------------------------

    def _network(self, request: Request, query: dict[str, str], name: str) -> Response:
        return _json(self.networks[name]) if name in self.networks else _error(404, f"network {name} not found")

    def _create_network(self, request: Request, query: dict[str, str]) -> Response:
        body = request.json() or {}
        name = str(body.get("Name"))
        if name in self.networks:
            return _error(409, f"network with name {name} already exists")
        self.networks[name] = {"Name": name, "Id": self._id(), "Labels": body.get("Labels") or {}}
        return _json({"Id": self.networks[name]["Id"]}, 201)

    def _volumes(self, request: Request, query: dict[str, str]) -> Response:
        filters = json.loads(query.get("filters") or "{}")
        names = filters.get("name") or []
        wanted = [item.split("=", 1) for item in filters.get("label") or []]
        found = [
            name for name in sorted(self.volumes)
            if (not names or any(n in name for n in names))
            and all(self.volume_labels.get(name, {}).get(key) == value for key, value in wanted)
        ]
        return _json({"Volumes": [{"Name": name, "Labels": self.volume_labels.get(name) or None} for name in found]})

    def _create_volume(self, request: Request, query: dict[str, str]) -> Response:
        # As the engine does: an existing volume is answered as it is, labels unchanged.
        body = request.json() or {}
        name = str(body.get("Name"))
        if name not in self.volumes:
            self.volumes[name] = {}
            self.volume_labels[name] = dict(body.get("Labels") or {})
        return _json({"Name": name, "Driver": "local", "Labels": self.volume_labels.get(name) or None}, 201)

    def _remove_volume(self, request: Request, query: dict[str, str], name: str) -> Response:
        if name not in self.volumes:
            return _error(404, f"get {name}: no such volume")
        if any(name in _volume_mounts(c) for c in self.containers.values()):
            return _error(409, f"remove {name}: volume is in use")
        del self.volumes[name]
        self.volume_labels.pop(name, None)
        return Response(204, {})

    # Containers --------------------------------------------------------------

    def _id(self) -> str:
        self._serial += 1
        return hashlib.sha256(f"{self.name}-{self._serial}".encode()).hexdigest()

    def _find(self, name: str) -> Container | None:
        return self.containers.get(name) or next((c for c in self.containers.values() if c.id.startswith(name)), None)

    def _create(self, request: Request, query: dict[str, str]) -> Response:
        name = query.get("name", "")
        body = request.json() or {}
        if name in self.containers:
            return _error(409, f'Conflict. The container name "/{name}" is already in use by container "{self.containers[name].id}".')
        image = str(body.get("Image", ""))
        if image not in self.images and not any(i["Id"] == image for i in self.images.values()):
            return _error(404, f"No such image: {image}")
        container = Container(self._id(), name, body, created=self._serial)
        for volume in _volume_mounts(container):
            self.volumes.setdefault(volume, {})
        self.containers[name] = container
        return _json({"Id": container.id, "Warnings": []}, 201)

    def _start(self, request: Request, query: dict[str, str], container: Container) -> Response:
        if container.running:
            return Response(304, {})
        bindings = (container.host_config.get("PortBindings") or {})
        ports: dict[str, list[tuple[str, int]]] = {}
        for key, wanted in bindings.items():
            for binding in wanted:
                host_port = int(binding.get("HostPort") or 0)
                ip = str(binding.get("HostIp") or "0.0.0.0")
                if host_port:
                    other = self.container_with_port(host_port)
                    if other is not None and other is not container:
                        return _error(500, f"driver failed programming external connectivity on endpoint {container.name}: "
                                           f"Bind for {ip}:{host_port} failed: port is already allocated")
                else:
                    self._next_port += 1
                    host_port = self._next_port
                ports.setdefault(key, []).append((ip, host_port))
        container.ports = ports
        container.started_at = self.clock.now
        if container.labels.get("goship.role") == "proxy":
            problem = self._caddy_load(container)
            container.status = "restarting" if problem else "running"
            container.exit_code = 1 if problem else 0
            container.output = [f"Error: {problem}"] if problem else []
            container.restart_count += 1 if problem else 0
            return Response(204, {})
        if container.labels.get("goship.role") == "proxy-check":  # caddy validate, then it exits
            problem = self._caddy_check(self.proxy_files(container))
            container.status, container.exit_code = "exited", 1 if problem else 0
            container.output = [f"Error: {problem}"] if problem else ["Valid configuration"]
            return Response(204, {})
        behaviour = self.behaviour(container)
        if behaviour.exit_code is not None:
            container.status = "restarting" if container.host_config.get("RestartPolicy") else "exited"
            container.exit_code = behaviour.exit_code
            container.restart_count += 1
        else:
            container.status = "running"
        return Response(204, {})

    def _stop(self, request: Request, query: dict[str, str], container: Container) -> Response:
        if not container.running:
            return Response(304, {})
        container.status, container.exit_code, container.ports = "exited", 0, {}
        self.routes.pop(container.name, None)
        self.pools.pop(container.name, None)
        return Response(204, {})

    def _remove(self, request: Request, query: dict[str, str], container: Container) -> Response:
        if container.running and query.get("force") != "1":
            return _error(409, "You cannot remove a running container. Stop the container before attempting removal")
        del self.containers[container.name]
        self.routes.pop(container.name, None)
        self.pools.pop(container.name, None)
        return Response(204, {})

    def _inspect(self, request: Request, query: dict[str, str], container: Container) -> Response:
        return _json(self.describe(container))

    def describe(self, container: Container) -> dict[str, Any]:
        behaviour = self.behaviour(container)
        return {
            "Id": container.id,
            "Name": f"/{container.name}",
            "Image": self.images.get(container.image, {}).get("Id", container.image),
            "RestartCount": container.restart_count,
            "State": {
                "Status": container.status,
                "Running": container.status in ("running", "restarting"),
                "Restarting": container.status == "restarting",
                "ExitCode": container.exit_code,
                "OOMKilled": behaviour.oom and container.status != "running",
                "Error": "",
                "StartedAt": f"fake-{container.started_at}" if container.started_at else "",
                "FinishedAt": "",
            },
            "Config": {"Labels": container.labels, "Image": container.image, "Env": container.body.get("Env", []),
                       "Cmd": container.body.get("Cmd")},
            "HostConfig": container.host_config,
            "Mounts": _mounts(container),
            "NetworkSettings": {
                "Ports": {k: [{"HostIp": ip, "HostPort": str(port)} for ip, port in v] for k, v in container.ports.items()}
            },
        }

    def _list(self, request: Request, query: dict[str, str]) -> Response:
        filters = json.loads(query.get("filters") or "{}")
        wanted = [item.split("=", 1) for item in filters.get("label", [])]
        rows = []
        for container in self.containers.values():
            if query.get("all") != "1" and not container.running:
                continue
            if all(container.labels.get(key) == value for key, value in wanted):
                rows.append({"Id": container.id, "Names": [f"/{container.name}"], "State": container.status,
                             "Labels": container.labels, "Image": container.image, "Created": container.created})
        return _json(rows)

    def _logs(self, request: Request, query: dict[str, str], container: Container) -> Response:
        lines = (
            container.output if container.output is not None
            else self.behaviour(container).logs if container.started_at else ()
        )
        return Response(200, {}, b"".join(_frame(1, line) for line in lines))

    def _wait(self, request: Request, query: dict[str, str], container: Container) -> Response:
        return _json({"StatusCode": container.exit_code})

    def _files(self, container: Container, path: str) -> tuple[dict[str, bytes], str]:
        """The file store holding ``path`` (a mounted volume's, else the container's) and the path in it."""
        for volume, mount in _volume_mounts(container).items():
            if path == mount or path.startswith(mount.rstrip("/") + "/"):
                return self.volumes.setdefault(volume, {}), path[len(mount):].lstrip("/")
        return container.files, path.lstrip("/")

    def _put_archive(self, request: Request, query: dict[str, str], container: Container) -> Response:
        store, base = self._files(container, query.get("path", "/"))
        with tarfile.open(fileobj=io.BytesIO(request.body)) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    extracted = tar.extractfile(member)
                    store["/".join(p for p in (base, member.name) if p)] = extracted.read() if extracted else b""
        return Response(200, {})

    def _get_archive(self, request: Request, query: dict[str, str], container: Container) -> Response:
        path = query.get("path", "/")
        store, inner = self._files(container, path)
        leaf = path.rstrip("/").rsplit("/", 1)[-1]
        if inner in store:
            return Response(200, {}, _tar({leaf: store[inner]}))
        below = {key: value for key, value in store.items() if key.startswith(inner.rstrip("/") + "/") or not inner}
        if not below:
            return _error(404, f"Could not find the file {path} in container {container.name}")
        return Response(200, {}, _tar({f"{leaf}/{key[len(inner):].lstrip('/')}": value for key, value in below.items()}))

    def _exec_create(self, request: Request, query: dict[str, str], container: Container) -> Response:
        if not container.running:
            return _error(409, f"Container {container.id} is not running")
        exec_id = self._id()
        self.execs[exec_id] = {"container": container.name, "cmd": (request.json() or {}).get("Cmd", []), "code": None}
        return _json({"Id": exec_id}, 201)

    def _exec_start(self, request: Request, query: dict[str, str], exec_id: str) -> Response:
        record = self.execs.get(exec_id)
        if record is None:
            return _error(404, "No such exec instance")
        container = self.containers[record["container"]]
        cmd = list(record["cmd"])
        behaviour = self.behaviour(container)
        if cmd[:2] == ["caddy", "reload"]:
            problem = self._caddy_load(container)
            record["code"], output = (1, f"Error: sending configuration to instance: {problem}") if problem else (0, "")
        elif container.labels.get("goship.role") == "app" and behaviour.exec_exit is not None:
            record["code"], output = behaviour.exec_exit, "\n".join(behaviour.exec_output)
        else:
            record["code"], output = 127, f'OCI runtime exec failed: exec: "{cmd[0]}": executable file not found in $PATH'
        return Response(200, {"content-type": "application/vnd.docker.raw-stream"}, _frame(2, output) if output else b"")

    def _exec_inspect(self, request: Request, query: dict[str, str], exec_id: str) -> Response:
        record = self.execs.get(exec_id)
        return _json({"ExitCode": record["code"], "Running": False}) if record else _error(404, "No such exec instance")

    # Caddy ---------------------------------------------------------------------

    def proxy_files(self, container: Container) -> dict[str, str]:
        store, base = self._files(container, "/etc/caddy")
        prefix = f"{base}/" if base else ""
        return {key[len(prefix):]: value.decode() for key, value in store.items() if key.startswith(prefix)}

    def _caddy_check(self, files: dict[str, str]) -> str | None:
        """What Caddy would say of the configuration files (None: it loads them)."""
        if "Caddyfile" not in files:
            return "open /etc/caddy/Caddyfile: no such file or directory"
        if files["Caddyfile"].count("{") != files["Caddyfile"].count("}"):
            return "adapting config using caddyfile: unexpected EOF"
        return self.caddy_refuses(files)

    def _caddy_load(self, container: Container) -> str | None:
        """Load the proxy's configuration as Caddy would; the reason when it refuses.

        The fake reads the route table goship renders the Caddyfile from for
        which route takes a request, and the Caddyfile's ``reverse_proxy``
        lines for which upstream gets it (``forward``); the real Caddyfile is
        checked against real Caddy in the e2e tests.
        """
        files = self.proxy_files(container)
        problem = self._caddy_check(files)
        if problem:
            return problem
        table = parse_table(files.get("goship/routes.json", "").encode()) or {}
        self.routes[container.name] = table
        self.upstreams[container.name] = {u.address for route in table.values() for u in route.upstreams}
        self.pools[container.name] = caddy_pools(files["Caddyfile"])
        self.robins = {key: n for key, n in self.robins.items() if key[0] != container.name}
        return None

    def route(self, proxy: Container, host: str | None, path: str = "/") -> Route | None:
        """The route the proxy takes for a request to ``host`` and ``path``, as the rendered Caddyfile orders them."""
        found = self._site_route(proxy, host, path)
        return found[1] if found is not None else None

    def _site_route(self, proxy: Container, host: str | None, path: str) -> tuple[str, Route] | None:
        """That route and the address of the Caddyfile site that takes the request."""
        table = list(self.routes.get(proxy.name, {}).values())

        def prefixed(candidates: list[Route]) -> Route | None:
            matching = [r for r in candidates if r.path_prefix and (path == r.path_prefix or path.startswith(r.path_prefix + "/"))]
            if matching:
                return max(matching, key=lambda r: len(r.path_prefix or ""))
            return next((r for r in candidates if not r.path_prefix), None)

        name = (host or "").split(":", 1)[0]
        on_domain = [r for r in table if name and name in r.domains]
        if on_domain:
            route = prefixed(on_domain)
            return (name, route) if route is not None else None
        local = next((r for r in table if r.local_name and r.local_name == name), None)
        if local is not None:
            return f"http://{name}", local
        route = prefixed([r for r in table if not r.domains and (r.path_prefix or r.catch_all)])
        return (f":{HTTP_PORT}", route) if route is not None else None

    def forward(self, proxy: Container, host: str | None, path: str = "/") -> str | None:
        """The container the proxy sends a request to ``host`` and ``path`` to (None: no route takes it).

        Picked from the loaded Caddyfile's ``reverse_proxy`` of that site and
        prefix as its ``lb_policy`` does: ``first``, the first listed;
        ``round_robin``, the next in turn by Caddy's counter (which is
        advanced before it is read, so a fresh configuration's first request
        goes to the second listed), past containers that do not run, as
        Caddy's retries within ``lb_try_duration`` go. A route the
        Caddyfile does not show (a test's hand-written file) goes to its
        primary upstream.
        """
        found = self._site_route(proxy, host, path)
        if found is None:
            return None
        site, route = found
        pool = self.pools.get(proxy.name, {}).get((site, route.path_prefix))
        policy, addresses = pool if pool is not None else ("first", (route.primary.address,))
        names = [address.rsplit(":", 1)[0] for address in addresses]
        if policy != "round_robin":
            return names[0]
        key = (proxy.name, site, route.path_prefix)
        for _ in names:
            self.robins[key] = self.robins.get(key, 0) + 1
            name = names[self.robins[key] % len(names)]
            target = self.containers.get(name)
            if target is not None and target.running:
                break
        return name


def caddy_pools(caddyfile: str) -> dict[tuple[str, str | None], tuple[str, tuple[str, ...]]]:
    """Where a Caddyfile goship rendered forwards: (site address, path prefix or None) -> (lb_policy,
    upstream addresses as listed) of each ``handle``'s first ``reverse_proxy`` (a later one in the
    same handle is never reached: it only lists draining upstreams)."""
    pools: dict[tuple[str, str | None], tuple[str, tuple[str, ...]]] = {}
    site, handle, block = "", None, None
    prefixes: dict[str, str] = {}  # matcher -> path prefix
    for line in caddyfile.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        depth = len(line) - len(line.lstrip("\t"))
        if depth == 0 and words[-1] == "{":
            site, handle, prefixes = " ".join(words[:-1]), None, {}
        elif depth == 1 and words[0].startswith("@") and words[1:2] == ["path"]:
            prefixes[words[0]] = words[2]
        elif depth == 1 and words[0] == "handle":
            handle = (site, prefixes.get(words[1]) if len(words) == 3 else None)
        elif words[0] == "reverse_proxy" and handle is not None and handle not in pools:
            pools[handle] = ("random", tuple(w for w in words[1:] if w != "{"))  # random: Caddy's default
            block = handle if words[-1] == "{" else None
        elif words[0] == "lb_policy" and block is not None:
            pools[block] = (words[1], pools[block][1])
        elif words == ["}"] and block is not None:
            block = None
    return pools


def _mounts(container: Container) -> list[dict[str, Any]]:
    """``Mounts`` of an inspect, from the container's ``Binds``."""
    found = []
    for bind in container.host_config.get("Binds") or []:
        source, _, rest = str(bind).partition(":")
        target, _, mode = rest.partition(":")
        kind = "bind" if source.startswith("/") else "volume"
        found.append({"Type": kind, "Name": source if kind == "volume" else "", "Source": source,
                      "Destination": target, "RW": mode != "ro"})
    return found


def _volume_mounts(container: Container) -> dict[str, str]:
    mounts = {}
    for bind in container.host_config.get("Binds") or []:
        source, _, target = str(bind).partition(":")
        if not source.startswith("/"):
            mounts[source] = target.split(":", 1)[0]
    return mounts


def _decode_auth(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    import base64  # noqa: PLC0415 - the fake's only use

    try:
        data = json.loads(base64.urlsafe_b64decode(header.encode()))
    except ValueError:
        return None
    return (str(data.get("username")), str(data.get("password")))


def _frame(kind: int, text: str) -> bytes:
    """One line of multiplexed output (stream 1 stdout, 2 stderr), as the engine frames it."""
    payload = (text + "\n").encode()
    return bytes((kind, 0, 0, 0)) + struct.pack(">I", len(payload)) + payload


def _json(data: Any, status: int = 200) -> Response:
    return Response(status, {"content-type": "application/json"}, json.dumps(data).encode())


def _error(status: int, message: str) -> Response:
    return _json({"message": message}, status)


def _stream(items: list[dict[str, Any]]) -> Response:
    return Response(200, {}, chunks=iter([json.dumps(item).encode() + b"\n" for item in items]))


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


_NAME = r"([^/]+)"
_ROUTES: list[tuple[str, str, Callable[..., Response]]] = [
    ("GET", r"/version", FakeEngine._version),
    ("GET", rf"/images/{_NAME}/json", FakeEngine._image),
    ("GET", rf"/images/{_NAME}/get", FakeEngine._export),
    ("POST", r"/images/create", FakeEngine._pull),
    ("POST", r"/images/load", FakeEngine._load),
    ("DELETE", rf"/images/{_NAME}", FakeEngine._remove_image),
    ("GET", rf"/networks/{_NAME}", FakeEngine._network),
    ("POST", r"/networks/create", FakeEngine._create_network),
    ("GET", r"/volumes", FakeEngine._volumes),
    ("POST", r"/volumes/create", FakeEngine._create_volume),
    ("DELETE", rf"/volumes/{_NAME}", FakeEngine._remove_volume),
    ("POST", r"/containers/create", FakeEngine._create),
    ("GET", r"/containers/json", FakeEngine._list),
    ("POST", rf"/containers/{_NAME}/start", FakeEngine._start),
    ("POST", rf"/containers/{_NAME}/stop", FakeEngine._stop),
    ("POST", rf"/containers/{_NAME}/wait", FakeEngine._wait),
    ("DELETE", rf"/containers/{_NAME}", FakeEngine._remove),
    ("GET", rf"/containers/{_NAME}/json", FakeEngine._inspect),
    ("GET", rf"/containers/{_NAME}/logs", FakeEngine._logs),
    ("PUT", rf"/containers/{_NAME}/archive", FakeEngine._put_archive),
    ("GET", rf"/containers/{_NAME}/archive", FakeEngine._get_archive),
    ("POST", rf"/containers/{_NAME}/exec", FakeEngine._exec_create),
    ("POST", rf"/exec/{_NAME}/start", FakeEngine._exec_start),
    ("GET", rf"/exec/{_NAME}/json", FakeEngine._exec_inspect),
]
