"""A session: everything one run of goship works with, made in one place.

The CLI makes one per command (a library caller may make its own, and a
test one with fakes from ``goship.testing``). It holds the project, where
progress goes, the clock, the Ctrl-C event, the process runner, how hosts
are reached and how the registry is reached, and the targets it opened,
whose connections stay open until the session closes (a dev loop keeps
them between rebuilds).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

import httpx

from goship import process
from goship.deploy import kinds
from goship.deploy.clock import REAL_CLOCK, Clock
from goship.deploy.target import Target, TargetContext
from goship.events import NullReporter, Reporter
from goship.hosts import HostConnection, connect_local, connect_ssh
from goship.hosts.ssh import SSHTarget
from goship.images.reference import parse_repository
from goship.project import Project
from goship.registry import access
from goship.registry.client import RegistryClient


class Session:
    def __init__(
        self,
        project: Project,
        *,
        reporter: Reporter | None = None,
        clock: Clock = REAL_CLOCK,
        cancel: threading.Event | None = None,
        runner: process.Runner = process.SYSTEM,
        connect_local: Callable[[], HostConnection] = connect_local,
        connect_ssh: Callable[[SSHTarget, str], HostConnection] = connect_ssh,
        registry_transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.project = project
        self.reporter: Reporter = reporter or NullReporter()
        self.clock = clock
        self.cancel = cancel or threading.Event()
        self.runner = runner
        self.connect_local = connect_local
        self.connect_ssh = connect_ssh
        #: None: the network; a test gives goship.testing.FakeRegistry's transport.
        self.registry_transport = registry_transport
        self._targets: dict[str, Target] = {}

    # --- registries ----------------------------------------------------------------------

    def registry_settings(self, registry: str) -> access.RegistrySettings:
        config = self.project.config
        return access.settings_for(registry, config.registry, config.image, self.project.root)

    def registry(self, registry: str) -> RegistryClient:
        """A client for ``registry`` with goship.yaml's settings where they apply, and the deployer's credentials."""
        return access.open_client(self.registry_settings(registry), transport=self.registry_transport)

    def pull_auth(self, reference: str) -> str | None:
        """X-Registry-Auth for a host's pull of ``reference`` (``registry/path@digest``); see ``access.pull_auth``."""
        try:
            repository = parse_repository(reference.split("@", 1)[0])
        except ValueError:
            return None
        return access.pull_auth(
            self.registry_settings(repository.registry), repository.path, transport=self.registry_transport
        )

    # --- targets -------------------------------------------------------------------------

    def target(self, name: str) -> Target:
        """Target ``name``, opened once per session (nothing connects until it is asked something)."""
        if name not in self._targets:
            context = TargetContext(
                reporter=self.reporter,
                clock=self.clock,
                cancel=self.cancel,
                connect_local=self.connect_local,
                connect_ssh=self.connect_ssh,
                pull_auth=self.pull_auth,
            )
            # The target's own settings (targets.NAME.app, .proxy, ...) apply to what it runs.
            self._targets[name] = kinds.open_target(self.project.for_target(name), name, context)
        return self._targets[name]

    def local_engine(self) -> HostConnection:
        """A connection to this machine's engine (for loading a build into it); the caller closes it."""
        return self.connect_local()

    # --- lifetime ------------------------------------------------------------------------

    def close(self) -> None:
        targets, self._targets = list(self._targets.values()), {}
        for target in targets:
            target.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def session_for(
    where: Project | Session, reporter: Reporter | None = None, cancel: threading.Event | None = None
) -> tuple[Session, bool]:
    """``where`` as a session, and whether the caller made it (and so closes it)."""
    if isinstance(where, Session):
        if reporter is not None or cancel is not None:
            raise TypeError("a Session brings its own reporter and cancel event: give them to Session(...)")
        return where, False
    return Session(where, reporter=reporter, cancel=cancel), True
