"""The engine client: the only way goship acts on a Docker host.

``Engine`` sends the requests of ``goship.engine.api`` through a
``Transport`` (one kept-alive stream to the local socket, the named pipe or
an SSH host; or the fake engine in tests) and turns every answer into
Python values or goship errors: a missing object is ``None``, a name in use
is ``EngineConflict``, anything else the engine refuses is a ``HostError`` with
the engine's own message, and a lost connection says what the transport
knows (ssh's last words, for instance).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from goship.engine import api
from goship.engine.http import ConnectionLost, Request, Response, Transport
from goship.errors import EngineConflict, EngineNotFound, EngineUnreachable, HostError

_log = logging.getLogger("goship.engine")


def _auth_header(fields: Mapping[str, str]) -> str:
    """An X-Registry-Auth value: base64url of ``fields`` as JSON."""
    return base64.urlsafe_b64encode(json.dumps(fields).encode("utf-8")).decode("ascii")


def registry_auth(username: str, password: str, server: str) -> str:
    """The X-Registry-Auth header value: base64url of the credentials as JSON.

    It travels in the request to the engine, which uses it for this pull and
    keeps it nowhere: no file on the host, no process argument.
    """
    return _auth_header({"username": username, "password": password, "serveraddress": server})


def token_auth(token: str, server: str) -> str:
    """X-Registry-Auth carrying a bearer token for the registry (``registrytoken``) instead of a
    password: the engine sends it to the registry as it is, and it can do no more than it allows."""
    return _auth_header({"registrytoken": token, "serveraddress": server})


def pull_hint(error: str, ref: str) -> str | None:
    """What to do about a pull the host's engine could not make."""
    registry = ref.split("/", 1)[0] if "/" in ref else "docker.io"
    lowered = error.lower()
    if "x509" in lowered or "certificate signed by unknown authority" in lowered:
        return (
            f"the host's Docker engine does not trust the registry's certificate: put the CA certificate "
            f"in /etc/docker/certs.d/{registry}/ca.crt on the host "
            f"(C:\\ProgramData\\docker\\certs.d\\{registry}\\ca.crt on Windows); no restart needed"
        )
    if "server gave http response to https client" in lowered:
        return (
            f"{registry} speaks plain HTTP: list it in the host's /etc/docker/daemon.json "
            f'"insecure-registries" and restart Docker there (or serve the registry over HTTPS)'
        )
    if "unauthorized" in lowered or "no basic auth credentials" in lowered or "denied" in lowered:
        return (
            "goship sends the host your own login for the registry: check it with 'goship login' "
            "(or GOSHIP_REGISTRY_USERNAME and GOSHIP_REGISTRY_PASSWORD), and that it may pull this repository"
        )
    if "no such host" in lowered or "connection refused" in lowered or "i/o timeout" in lowered:
        return f"the host cannot reach {registry}: check its DNS and firewall (the host pulls, not this machine)"
    return None


def _dict(data: Any) -> dict[str, Any]:
    """The engine's JSON object, or {} for anything else (a list, null, a number)."""
    return data if isinstance(data, dict) else {}


class Engine:
    """One Docker engine; ``name`` prefixes every error ("local", "root@web1")."""

    def __init__(self, transport: Transport, name: str) -> None:
        self.transport = transport
        self.name = name
        self._prefix: str | None = None
        self._version: dict[str, Any] | None = None

    # Plumbing -------------------------------------------------------------

    def _connect_error(self, lost: ConnectionLost) -> HostError:
        return EngineUnreachable(
            f"{self.name}: no Docker engine answers: {lost.reason}",
            hint="start Docker there (Docker Desktop, or 'sudo systemctl start docker'), "
            "or point DOCKER_HOST at a running engine",
            host=self.name,
        )

    def send(self, request: Request) -> Response:
        """Send one request and return the answer, whatever its status."""
        if self._prefix is None and request.path != "/version":
            self.version()
        start = time.monotonic()
        try:
            response = self.transport.handle(request)
            _log.debug("%s %s -> %s in %.1f ms", self.name, request.describe(), response.status,
                       (time.monotonic() - start) * 1000)
            return response
        except ConnectionLost as lost:
            raise self._connect_error(lost) from None
        except TimeoutError:
            raise HostError(
                f"{self.name}: the Docker engine did not answer {request.method} {request.path} "
                f"within {request.timeout:g}s",
                host=self.name,
            ) from None

    def call(self, request: Request, *, missing_ok: bool = False) -> Response | None:
        """Send and check: None for 404 when ``missing_ok``, else an error for any failure status."""
        response = self.send(request)
        if response.status < 300 or response.status == 304:
            return response
        if response.chunks is not None:  # a streamed request's error comes back as a whole JSON body
            response = Response(response.status, response.headers, b"".join(response.iter_chunks()))
        if response.status == 404 and missing_ok:
            return None
        message = response.error_message()
        kind = {404: EngineNotFound, 409: EngineConflict}.get(response.status, HostError)
        raise kind(f"{self.name}: {message}", host=self.name, returncode=response.status, stderr=message)

    def _json(self, request: Request, *, missing_ok: bool = False) -> Any:
        response = self.call(request, missing_ok=missing_ok)
        if response is None:
            return None
        try:
            return response.json()
        except ValueError:
            raise HostError(
                f"{self.name}: the Docker engine sent an unreadable answer to {request.method} {request.path}",
                host=self.name,
            ) from None

    def _parse(self, request: Request, what: str, parse: Any, data: Any) -> Any:
        """``parse(data)``, or a HostError when the engine's JSON has another shape."""
        try:
            return parse(data)
        except (AttributeError, KeyError, TypeError, ValueError):
            raise HostError(
                f"{self.name}: the Docker engine's answer to {request.method} {request.path} is not {what}",
                host=self.name,
            ) from None

    def close(self) -> None:
        self.transport.close()

    # System ---------------------------------------------------------------

    def version(self) -> dict[str, Any]:
        """GET /version (Version, ApiVersion, Os, Arch); also fixes the API version used."""
        if self._version is None:
            try:
                response = self.transport.handle(api.version())
            except ConnectionLost as lost:
                raise self._connect_error(lost) from None
            except TimeoutError:
                raise EngineUnreachable(f"{self.name}: the Docker engine did not answer within 30s", host=self.name) from None
            if response.status != 200:
                raise EngineUnreachable(
                    f"{self.name}: the Docker engine answered HTTP {response.status}: {response.error_message()}",
                    host=self.name,
                )
            try:
                data = response.json()
            except ValueError:
                raise EngineUnreachable(f"{self.name}: the Docker engine sent an unreadable version", host=self.name) from None
            self._version = data if isinstance(data, dict) else {}
            self._prefix = api.negotiate(str(self._version.get("ApiVersion") or ""))
            self.transport.prefix = self._prefix
        return self._version

    # Images ---------------------------------------------------------------

    def image(self, ref: str) -> dict[str, Any] | None:
        found = self._json(api.image_inspect(ref), missing_ok=True)
        return found if isinstance(found, dict) else None

    def pull(self, ref: str, auth: str | None = None) -> None:
        """Pull ``ref``; raises with the engine's reason when the progress stream reports one."""
        try:
            response = self.call(api.image_pull(ref, auth))
        except HostError as exc:
            exc.hint = exc.hint or pull_hint(exc.stderr or exc.message, ref)
            exc.message = f"{self.name}: pulling {ref} failed: {exc.stderr or exc.message}"
            exc.args = (exc.message,)
            raise
        assert response is not None
        error = api.progress_error(response.iter_lines())
        if error is not None:
            raise HostError(f"{self.name}: pulling {ref} failed: {error}", host=self.name, stderr=error,
                            hint=pull_hint(error, ref))

    def can_pull(self, ref: str, auth: str | None = None) -> str | None:
        """None when this engine could pull ``ref``'s repository (it may lack the tag); else the reason."""
        response = self.send(api.distribution(ref, auth))
        if response.status < 300:
            return None
        message = response.error_message()
        if "manifest unknown" in message or ("not found" in message.lower() and "repository" not in message.lower()):
            return None  # reached and authenticated; only this tag is missing
        return message

    def load(self, archive: bytes) -> None:
        response = self.call(api.image_load(archive))
        assert response is not None
        error = api.progress_error(response.iter_lines())
        if error is not None:
            raise HostError(f"{self.name}: loading the image failed: {error}", host=self.name, stderr=error)

    def remove_image(self, ref: str) -> bool:
        """True when removed; False when missing or still used by a container."""
        response = self.send(api.image_remove(ref))
        return response.status < 300

    def export_image(self, ref: str) -> bytes:
        response = self.call(api.image_export(ref))
        assert response is not None
        return response.body

    # Networks and volumes ----------------------------------------------------

    def network(self, name: str) -> dict[str, Any] | None:
        found = self._json(api.network_inspect(name), missing_ok=True)
        return found if isinstance(found, dict) else None

    def create_network(self, name: str, labels: Mapping[str, str]) -> None:
        try:
            self.call(api.network_create(name, labels))
        except EngineConflict:
            pass  # made by a deploy running at the same moment

    def remove_volume(self, name: str) -> bool:
        response = self.send(api.volume_remove(name))
        return response.status < 300

    def volumes(self, names: Sequence[str] = (), labels: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        data = _dict(self._json(api.volume_list(names, labels)))
        return [v for v in data.get("Volumes") or [] if isinstance(v, dict)]

    def create_volume(self, name: str, labels: Mapping[str, str]) -> dict[str, Any]:
        """The volume ``name``, made with ``labels`` unless it exists (then as it is)."""
        return _dict(self._json(api.volume_create(name, labels)))

    # Containers -----------------------------------------------------------

    def create(self, name: str, spec: api.ContainerSpec) -> str:
        return str(_dict(self._json(api.container_create(name, spec))).get("Id", ""))

    def start(self, name: str) -> None:
        self.call(api.container_start(name))

    def stop(self, name: str, timeout: int) -> None:
        self.call(api.container_stop(name, timeout), missing_ok=True)

    def remove(self, name: str, *, volumes: bool = False) -> bool:
        """Force-remove a container; False when there was none."""
        return self.call(api.container_remove(name, volumes=volumes), missing_ok=True) is not None

    def inspect(self, name: str) -> api.ContainerState | None:
        request = api.container_inspect(name)
        data = self._json(request, missing_ok=True)
        if data is None:
            return None
        state: api.ContainerState = self._parse(request, "a container", api.parse_container, data)
        return state

    def containers(self, labels: Mapping[str, str], all: bool = True) -> list[api.ContainerSummary]:
        request = api.container_list(labels, all)
        found: list[api.ContainerSummary] = self._parse(
            request, "a list of containers", api.parse_container_list, self._json(request) or []
        )
        return found

    def logs(self, name: str, tail: int = 15) -> list[str]:
        response = self.call(api.container_logs(name, tail), missing_ok=True)
        return api.log_lines(response.body) if response is not None else []

    def follow_logs(self, name: str, tail: int = 100) -> Iterator[str]:
        """Lines of the log as they are written, until the container stops."""
        response = self.call(api.container_logs(name, tail, follow=True))
        assert response is not None
        demuxer = api.Demuxer()
        pending = ""
        for chunk in response.iter_chunks():
            for _, payload in demuxer.feed(chunk):
                pending += payload.decode("utf-8", errors="replace")
                *lines, pending = pending.split("\n")
                yield from lines
        if pending:
            yield pending

    def wait(self, name: str, timeout: float = 120) -> int:
        code = _dict(self._json(api.container_wait(name, timeout))).get("StatusCode", -1)
        return int(code) if isinstance(code, int) else -1

    def put_archive(self, name: str, directory: str, tar: bytes) -> None:
        self.call(api.put_archive(name, directory, tar))

    def get_archive(self, name: str, path: str) -> bytes | None:
        response = self.call(api.get_archive(name, path), missing_ok=True)
        return response.body if response is not None else None

    def exec(self, name: str, cmd: Sequence[str], timeout: float = 120) -> tuple[int, list[str]]:
        """Run ``cmd`` in a running container: (exit code, output lines)."""
        created = _dict(self._json(api.exec_create(name, cmd)))
        exec_id = str(created.get("Id", ""))
        response = self.call(api.exec_start(exec_id, timeout))
        assert response is not None
        output = api.log_lines(response.body)
        code = _dict(self._json(api.exec_inspect(exec_id))).get("ExitCode")
        return (int(code) if isinstance(code, int) else -1), output
