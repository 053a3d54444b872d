"""Operating a deployed service: history, rollback, status, logs, exec, locks, remove.

Each function asks the target (``goship.deploy.target.Target``) and
returns plain data; the CLI renders it. Like the pipeline, each takes a
``Project`` (a session is made for the call and closed after it) or a
``Session``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from goship.config import LOCAL_TARGET
from goship.deploy.history import ReleaseRecord
from goship.deploy.lock import LockInfo
from goship.deploy.release import HostResult
from goship.deploy.target import HostStatus, Removed, Target
from goship.events import Reporter
from goship.project import Project
from goship.session import Session, session_for

__all__ = [
    "HostStatus", "Removed", "data_volumes", "exec_in", "lock_release", "lock_status", "logs", "releases", "remove", "rollback",
    "status",
]


@contextmanager
def _target(
    where: Project | Session, name: str, reporter: Reporter | None = None, cancel: threading.Event | None = None
) -> Iterator[Target]:
    session, owned = session_for(where, reporter, cancel)
    try:
        yield session.target(name)
    finally:
        if owned:
            session.close()


def _role(role: str | None) -> dict[str, str]:
    """``role=`` for a target's method only when one is named: a target kind without roles takes none."""
    return {"role": role} if role is not None else {}


def releases(
    where: Project | Session, target: str = LOCAL_TARGET, *, role: str | None = None
) -> list[tuple[str, list[tuple[ReleaseRecord, str]]]]:
    """The release history of the service, per host, oldest first: each record with what it is now
    (``live`` - exactly one, the running one - ``replaced``, ``rolled back`` or ``failed``);
    with ``role``, only the releases that ran that process."""
    with _target(where, target) as opened:
        return opened.releases(**_role(role))


def lock_status(where: Project | Session, target: str = LOCAL_TARGET) -> list[tuple[str, LockInfo | None]]:
    """Who holds the deploy lock of the service on each host of ``target``."""
    with _target(where, target) as opened:
        return opened.lock_status()


def lock_release(where: Project | Session, target: str = LOCAL_TARGET) -> list[tuple[str, LockInfo | None]]:
    """Remove the service's deploy lock on every host (after a crashed deploy)."""
    with _target(where, target) as opened:
        return opened.lock_release()


def rollback(
    where: Project | Session,
    target: str = LOCAL_TARGET,
    version: str | None = None,
    reporter: Reporter | None = None,
    *,
    cancel: threading.Event | None = None,
) -> list[HostResult]:
    """Bring back an earlier release (the previous one, or ``version``) from
    the image kept on each host: no build, no push. ``cancel`` stops at a safe point, as for deploys."""
    with _target(where, target, reporter, cancel) as opened:
        return opened.rollback(version)


def status(where: Project | Session, target: str = LOCAL_TARGET, *, role: str | None = None) -> list[HostStatus]:
    """Per host and process (every process, or ``role``): the live container, its version and image, and its health."""
    with _target(where, target) as opened:
        return opened.status(**_role(role))


def logs(
    where: Project | Session, target: str = LOCAL_TARGET, *, tail: int = 100, follow: bool = False,
    role: str | None = None,
) -> Iterator[tuple[str, str]]:
    """Lines of the live containers' log (of the main process, or ``role``), as (host, line);
    with ``follow``, every host's log is streamed until interrupted."""
    with _target(where, target) as opened:
        yield from opened.logs(tail=tail, follow=follow, **_role(role))


def exec_in(
    where: Project | Session,
    target: str,
    command: list[str],
    *,
    interactive: bool = False,
    output: Callable[[str, str], None] | None = None,
    role: str | None = None,
) -> int:
    """Run ``command`` in the live container (of the main process, or ``role``) of each host; the worst exit code.

    Without ``interactive`` the command runs through the Engine API and its
    output is handed to ``output`` as (host, line). With it, the docker CLI
    on the host runs it attached to this terminal.
    """
    with _target(where, target) as opened:
        return opened.exec(command, interactive=interactive, output=output, **_role(role))


def data_volumes(where: Project | Session, target: str = LOCAL_TARGET) -> list[tuple[str, list[str]]]:
    """(host, the service's named data volumes there): what ``remove(purge=True)`` deletes.
    A target kind that keeps no data volumes lists none."""
    with _target(where, target) as opened:
        lister = getattr(opened, "data_volumes", None)
        return list(lister()) if lister is not None else []


def remove(
    where: Project | Session,
    target: str = LOCAL_TARGET,
    *,
    purge: bool = False,
    proxy: bool = False,
    reporter: Reporter | None = None,
) -> list[Removed]:
    """Take the service off every host of ``target``: its route (other services keep
    serving), its containers once they answered what they had, its lock and state
    container. The release history and the data volumes (app.volumes) stay unless
    ``purge`` (host paths always stay); the proxy and its volumes
    go when no service is left on its port, or with ``proxy`` (every service it routes goes dark)."""
    with _target(where, target, reporter) as opened:
        return opened.remove(purge=purge, proxy=proxy)
