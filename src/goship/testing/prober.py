"""Probes answered by the fake engine's model: the prober that goes with FakeEngine.

A GET to a port finds the container that publishes it there. An app
answers as its ``Behaviour`` says at this moment of the fake clock; the
proxy forwards to the container its loaded Caddyfile picks for the route
(``FakeEngine.forward``: a split's upstreams in turn), or answers 502 when
that container does not run; nothing listening is a refused
connection, as on a real host.
"""

from __future__ import annotations

import json

from goship.deploy.routes import TABLE_URL
from goship.hosts.probe import ProbeResult
from goship.testing.engine import Behaviour, Container, FakeEngine

PROXY_HTTP = "8080/tcp"
PROXY_STATUS = "2020/tcp"


class FakeProber:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.probes: list[tuple[int, str, str | None]] = []

    def _app(self, container: Container) -> ProbeResult:
        behaviour: Behaviour = self.engine.behaviour(container)
        if not container.running or container.started_at is None:
            return ProbeResult(None, "connection refused", 0.001, refused=True)
        age = self.engine.clock.now - container.started_at
        if age < behaviour.ready_after:
            return ProbeResult(None, "connection refused", 0.001, refused=True)
        if behaviour.fails_after is not None and age >= behaviour.fails_after:
            return ProbeResult(behaviour.fail_status, None, 0.002)
        return ProbeResult(behaviour.status, None, 0.002)

    def http_get(
        self, host: str, port: int, path: str, *, timeout: float = 5.0, host_header: str | None = None
    ) -> ProbeResult:
        self.probes.append((port, path, host_header))
        container = self.engine.container_with_port(port)
        if container is None or not container.running:
            return ProbeResult(None, "connection refused", 0.001, refused=True)
        if container.labels.get("goship.role") != "proxy":
            return self._app(container)
        published = {p for _, p in container.ports.get(PROXY_HTTP, [])}
        if port not in published:
            return ProbeResult(404, None, 0.001)
        route = self.engine.route(container, host_header, path)
        if route is None:
            return ProbeResult(404, None, 0.001)
        if route.domains:
            return ProbeResult(308, None, 0.001)  # plain HTTP to a domain: Caddy redirects to HTTPS
        target = self.engine.containers.get(self.engine.forward(container, host_header, path) or "")
        if target is None or not target.running:
            return ProbeResult(502, None, 0.001)
        return self._app(target)

    def serving(self, port: int, host_header: str | None = None, path: str = "/") -> Container | None:
        """The app container a request to the proxy on ``port`` reaches now."""
        container = self.engine.container_with_port(port)
        if container is None or not container.running or container.labels.get("goship.role") != "proxy":
            return None
        target = self.engine.containers.get(self.engine.forward(container, host_header, path) or "")
        return target if target is not None and target.running else None

    def tcp_connect(self, host: str, port: int, timeout: float = 5.0) -> ProbeResult:
        container = self.engine.container_with_port(port)
        answer = self._app(container) if container is not None and container.running else None
        if answer is None or answer.refused:
            return ProbeResult(None, "connection refused", 0.001, refused=True)
        return ProbeResult(None, None, 0.001, connected=True)

    def get_body(self, host: str, port: int, path: str, timeout: float = 5.0) -> bytes | None:
        container = self.engine.container_with_port(port)
        if container is None or not container.running or {p for _, p in container.ports.get(PROXY_STATUS, [])} != {port}:
            return None
        if path == TABLE_URL:
            files = self.engine.proxy_files(container)
            return files["goship/routes.json"].encode() if "goship/routes.json" in files else None
        upstreams = self.engine.upstreams.get(container.name, set()) | set(self.engine.in_flight)
        now = self.engine.clock.now
        return json.dumps(
            [{"address": a, "num_requests": 1 if self.engine.in_flight.get(a, 0) > now else 0, "fails": 0}
             for a in sorted(upstreams)]
        ).encode()

    def close(self) -> None:
        pass
