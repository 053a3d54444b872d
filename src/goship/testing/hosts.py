"""Docker hosts in memory, reached the way a session reaches real ones.

``FakeHosts`` keeps a ``FakeEngine`` and its ``FakeProber`` per host name
(``root@web1`` as in goship.yaml, or ``local``). A session made with its
``connect_ssh`` and ``connect_local`` deploys to them as to real hosts::

    fakes = FakeHosts()
    fakes.add("root@web1")
    with fakes.session(project) as session:
        pipeline.ship(session, "production")

A host that was not added is unreachable, as ssh would say.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from goship.engine.client import Engine
from goship.errors import HostUnreachable
from goship.hosts import LOCAL, HostConnection
from goship.hosts.ssh import SSHTarget
from goship.project import Project
from goship.session import Session
from goship.testing.engine import FakeClock, FakeEngine
from goship.testing.prober import FakeProber

#: The proxy image every fake host has, as goship.yaml's default proxy.image.
PROXY_IMAGE = "caddy:2"


class FakeHosts:
    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.engines: dict[str, FakeEngine] = {}
        self.probers: dict[str, FakeProber] = {}
        #: Every connection made, in order, as (host name, shell).
        self.connections: list[tuple[str, str]] = []

    def add(self, name: str, proxy_image: str = PROXY_IMAGE) -> FakeEngine:
        """A host named ``name`` (``user@host[:port]`` as its SSH label, or ``local``) with the proxy image."""
        engine = FakeEngine(name, self.clock)
        engine.add_image(proxy_image)
        self.engines[name] = engine
        self.probers[name] = FakeProber(engine)
        return engine

    def connection(self, name: str, shell: str = "sh") -> HostConnection:
        if name not in self.engines:
            raise HostUnreachable(f"{name}: ssh: connect to host: Connection refused", hint="(a host FakeHosts does not have)")
        self.connections.append((name, shell))
        return HostConnection(name, Engine(self.engines[name], name), self.probers[name])

    def connect_ssh(self, target: SSHTarget, shell: str = "sh") -> HostConnection:
        return self.connection(target.label, shell)

    def connect_local(self) -> HostConnection:
        return self.connection(LOCAL)

    def session(self, project: Project, **settings: Any) -> Session:
        """A session that reaches these hosts (and, unless given, runs on their fake clock)."""
        settings.setdefault("clock", self.clock)
        connect_local: Callable[[], HostConnection] = self.connect_local
        return Session(project, connect_local=connect_local, connect_ssh=self.connect_ssh, **settings)
