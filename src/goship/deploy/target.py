"""What the pipeline and the operate commands need from any deploy target.

A target is where a service runs: today a list of Docker hosts (over SSH,
or this machine's engine); a Swarm or Kubernetes cluster is one more module
implementing ``Target``, registered by kind in ``goship.deploy.kinds``. The
layers above (pipeline, operations, cli) only call these methods: they hold
no loop over hosts and no branch on what kind of target it is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from goship.deploy.clock import REAL_CLOCK, Clock
from goship.deploy.history import ReleaseRecord
from goship.deploy.lock import LockInfo
from goship.deploy.release import HostResult, Release
from goship.engine.client import Engine
from goship.events import NullReporter, Reporter
from goship.hosts import HostConnection, connect_local, connect_ssh
from goship.hosts.ssh import SSHTarget


@dataclass(frozen=True)
class ImageSource:
    """The built image, in each form a target may take it."""

    tag: str  # repository:version, as the build named it
    digest: str  # of the manifest (or index)
    image_id: str  # of the image config: what a local engine calls the image's id
    version: str
    revision: str
    #: A docker-archive of the image, for an engine that loads it (no registry);
    #: None for an image that is only in the registry (``goship deploy --version``).
    archive: Callable[[], bytes] | None
    #: repository@digest once pushed; None when the image was not pushed.
    reference: str | None = None

    @property
    def local_name(self) -> str:
        """What an engine that got the image through ``load_into`` calls it: the tag a load
        gives it, or repository@digest for an image pulled from the registry."""
        return self.tag if self.archive is not None or self.reference is None else self.reference

    def load_into(self, engine: Engine, auth: str | None = None) -> None:
        """Into an engine that does not have it yet: a load of the archive, no registry involved;
        an image that is only in the registry is pulled by digest (``auth``: X-Registry-Auth)."""
        if self.archive is None:
            if self.reference is None:
                raise ValueError(f"image {self.tag} has neither an archive nor a registry reference")
            if engine.image(self.reference) is None:
                engine.pull(self.reference, auth)
            return
        found = engine.image(self.tag)
        if found is not None and found.get("Id") in (self.image_id, self.digest):
            return
        engine.load(self.archive())


@dataclass(frozen=True)
class DeployResult:
    target: str
    version: str
    hosts: tuple[HostResult, ...]


@dataclass(frozen=True)
class HostStatus:
    host: str
    container: str | None
    version: str | None
    image: str | None
    state: str
    started: str | None
    health: str
    url: str
    #: The host's proxy: "running", or what is wrong with it and its last log lines.
    proxy: str = "running"
    #: The process: "web" (the main one) or a role of goship.yaml.
    role: str = "web"
    #: Its running containers (replicas) on the host.
    containers: int = 1


@dataclass(frozen=True)
class Removed:
    """What ``remove`` did on one host, in words."""

    host: str
    done: tuple[str, ...]
    kept: tuple[str, ...]


#: (host, records oldest first, each with what it is now: live, replaced, rolled back or failed)
Releases = list[tuple[str, list[tuple[ReleaseRecord, str]]]]


@dataclass
class TargetContext:
    """What a target gets from the session that opened it: progress, time,
    Ctrl-C, the ways to reach hosts, and pull credentials."""

    reporter: Reporter = field(default_factory=NullReporter)
    clock: Clock = REAL_CLOCK
    #: Set by the first Ctrl-C: stop at the next safe point.
    cancel: threading.Event = field(default_factory=threading.Event)
    connect_local: Callable[[], HostConnection] = connect_local
    connect_ssh: Callable[[SSHTarget, str], HostConnection] = connect_ssh
    #: X-Registry-Auth for a host's pull of ``registry/repo@digest`` (None: anonymous).
    pull_auth: Callable[[str], str | None] = lambda reference: None


class Target(Protocol):
    """One deploy target. Every method may raise a GoshipError with what failed where."""

    name: str

    @property
    def needs_registry(self) -> bool:
        """Whether deploys pull the image from the registry (so the pipeline pushes first)."""

    def preflight(self) -> None:
        """Check that every part of the target answers, before anything changes."""

    def deploy(self, release: Release, image: ImageSource) -> DeployResult:
        """Run ``release`` (its ``image`` field is filled in per host) of ``image``
        everywhere; on any failure, return every part to what it ran and raise."""

    def rollback(self, version: str | None = None) -> list[HostResult]:
        """Bring back the previous release (or ``version``) from what the target kept."""

    # ``role`` (the main process "web", or a role of goship.yaml) is passed only when the user
    # names one (--role), so a target without roles needs no such parameter.

    def status(self, *, role: str | None = None) -> list[HostStatus]:
        """One row per host and process (all processes, or ``role``)."""

    def releases(self, *, role: str | None = None) -> Releases:
        """The history per host (only the releases that ran ``role``, if given)."""

    def logs(self, *, tail: int = 100, follow: bool = False, role: str | None = None) -> Iterator[tuple[str, str]]:
        """Lines of the live service's log (its main process, or ``role``) as (where, line)."""

    def exec(
        self, command: list[str], *, interactive: bool = False, output: Callable[[str, str], None] | None = None,
        role: str | None = None,
    ) -> int:
        """Run ``command`` in the live service (its main process, or ``role``); the worst exit code."""

    def lock_status(self) -> list[tuple[str, LockInfo | None]]: ...

    def lock_release(self) -> list[tuple[str, LockInfo | None]]: ...

    def data_volumes(self) -> list[tuple[str, list[str]]]:
        """(where, the service's data volumes there): what ``remove(purge=True)`` would delete."""

    def remove(self, *, purge: bool = False, proxy: bool = False) -> list[Removed]: ...

    def close(self) -> None: ...
