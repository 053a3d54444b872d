"""Operating a deployed service: history, rollback, status, locks.

Each function reads or changes the service on every host of a target and
returns plain data; the CLI renders it.
"""

from __future__ import annotations

import json
import subprocess
from queue import Queue
from threading import Thread
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from goship.config import LOCAL_TARGET
from goship.deploy import history, lock
from goship.deploy.rollout import HostResult, deploy_to_host, ensure_image, live_container
from goship.deploy.targets import Host, resolve_target
from goship.errors import DeployError
from goship.events import NullReporter, Reporter, Stage
from goship.hosts import docker
from goship.hosts.executor import Executor
from goship.pipeline import make_release
from goship.project import Project

T = TypeVar("T")


@contextmanager
def _hosts(project: Project, target: str) -> Iterator[list[Host]]:
    hosts = resolve_target(project, target)
    try:
        yield hosts
    finally:
        for host in hosts:
            host.executor.close()


def _each(project: Project, target: str, action: Callable[[Host], T]) -> list[tuple[str, T]]:
    with _hosts(project, target) as hosts:
        return [(host.name, action(host)) for host in hosts]


def releases(project: Project, target: str = LOCAL_TARGET) -> list[tuple[str, list[history.ReleaseRecord]]]:
    """The release history of the service, per host, oldest first."""
    return _each(project, target, lambda host: history.read(host.executor, project.service))


def lock_status(project: Project, target: str = LOCAL_TARGET) -> list[tuple[str, lock.LockInfo | None]]:
    """Who holds the deploy lock of the service on each host of ``target``."""
    return _each(project, target, lambda host: lock.status(host.executor, project.service))


def lock_release(project: Project, target: str = LOCAL_TARGET) -> list[tuple[str, lock.LockInfo | None]]:
    """Remove the service's deploy lock on every host (after a crashed deploy)."""

    def release(host: Host) -> lock.LockInfo | None:
        held = lock.status(host.executor, project.service)
        if held is not None:
            lock.release(host.executor, project.service)
        return held

    return _each(project, target, release)


def rollback(
    project: Project, target: str = LOCAL_TARGET, version: str | None = None, reporter: Reporter | None = None
) -> list[HostResult]:
    """Bring back an earlier release (the previous one, or ``version``) from
    the image kept on each host: no build, no push."""
    stage = Stage(reporter or NullReporter(), "rollback")
    results = []
    with _hosts(project, target) as hosts:
        for host in hosts:
            records = history.read(host.executor, project.service)
            current = live_container(host.executor, host.proxy, project.service)
            chosen = history.rollback_candidate(records, current, version)
            if chosen is None:
                wanted = f"release {version}" if version else "earlier successful release"
                raise DeployError(
                    f"{host.name}: {project.service} has no {wanted} to roll back to",
                    hint="see 'goship releases' for what ran there",
                )
            stage.on(host.name).step(f"rolling back to {chosen.version} ({chosen.when()})")
            release = make_release(
                project, chosen.version, chosen.image, chosen.digest, chosen.revision, kind="rollback"
            )

            def provide(executor: Executor, image: str = chosen.image) -> None:
                ensure_image(executor, image)

            results.append(deploy_to_host(host, release, provide, stage))
    return results


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


def _status(project: Project, host: Host) -> HostStatus:
    executor = host.executor
    current = live_container(executor, host.proxy, project.service)
    if current is None:
        return HostStatus(host.name, None, None, None, "not deployed", None, "-", host.url)
    inspected = executor.run(docker.inspect(current), check=False)
    if inspected.returncode != 0:
        return HostStatus(host.name, current, None, None, "missing", None, "-", host.url)
    item = json.loads(inspected.text)[0]
    labels = item.get("Config", {}).get("Labels") or {}
    probe = executor.http_get("127.0.0.1", host.proxy.public_port, project.config.health.path)
    return HostStatus(
        host=host.name,
        container=current,
        version=labels.get(docker.LABEL_VERSION),
        image=labels.get(docker.LABEL_IMAGE),
        state=item.get("State", {}).get("Status", "?"),
        started=item.get("State", {}).get("StartedAt"),
        health=probe.describe(),
        url=host.url,
    )


def status(project: Project, target: str = LOCAL_TARGET) -> list[HostStatus]:
    """Per host: the live container, its version and image, and a health probe."""
    return [result for _, result in _each(project, target, lambda host: _status(project, host))]


def _live_or_fail(project: Project, host: Host) -> str:
    current = live_container(host.executor, host.proxy, project.service)
    if current is None:
        raise DeployError(f"{host.name}: {project.service} is not deployed there", hint="run 'goship ship' first")
    return current


def logs(project: Project, target: str = LOCAL_TARGET, *, tail: int = 100, follow: bool = False) -> Iterator[tuple[str, str]]:
    """Lines of the live container's log, as (host, line); with ``follow``,
    every host's log is streamed until interrupted."""
    with _hosts(project, target) as hosts:
        names = [(host, _live_or_fail(project, host)) for host in hosts]
        if not follow:
            for host, name in names:
                result = host.executor.run(("docker", "logs", "--tail", str(tail), name), check=False)
                for line in (result.text + result.stderr).splitlines():
                    yield host.name, line
            return
        queue: Queue[tuple[str, str] | None] = Queue()
        processes = []
        for host, name in names:
            proc = host.executor.popen(("docker", "logs", "--follow", "--tail", str(tail), name))
            processes.append(proc)
            Thread(target=_pump, args=(host.name, proc, queue), daemon=True).start()
        running = len(processes)
        try:
            while running:
                item = queue.get()
                if item is None:
                    running -= 1
                    continue
                yield item
        finally:
            for proc in processes:
                proc.terminate()


def _pump(host: str, proc: "subprocess.Popen[bytes]", queue: "Queue[tuple[str, str] | None]") -> None:
    assert proc.stdout is not None
    for raw in proc.stdout:
        queue.put((host, raw.decode("utf-8", "replace").rstrip("\n")))
    queue.put(None)


def exec_in(project: Project, target: str, command: list[str], *, interactive: bool = False) -> int:
    """Run ``command`` in the live container of each host; the worst exit code."""
    worst = 0
    with _hosts(project, target) as hosts:
        for host in hosts:
            name = _live_or_fail(project, host)
            argv = ("docker", "exec", *(["-it"] if interactive else []), name, *command)
            proc = host.executor.popen(argv, tty=interactive, capture=False)
            worst = max(worst, proc.wait())
    return worst
