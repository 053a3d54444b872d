"""Operating a deployed service: history, rollback, status, logs, locks.

Each function reads or changes the service on every host of a target and
returns plain data; the CLI renders it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from queue import Queue
from threading import Thread
from typing import TypeVar

from goship import process
from goship.config import LOCAL_TARGET
from goship.deploy import history, lock, routing
from goship.deploy.clock import REAL_CLOCK, Cancellable, Clock
from goship.deploy.rollout import (
    HostResult,
    Known,
    Release,
    app_containers,
    deploy_to_host,
    drain,
    live_container,
    live_state,
)
from goship.deploy.specs import LABEL_IMAGE, LABEL_SERVICE, LABEL_VERSION
from goship.deploy.targets import Host, resolve_target
from goship.engine.api import ContainerState
from goship.errors import DeployError, GoshipError
from goship.events import NullReporter, Reporter, Stage
from goship.project import Project
from goship.release import kept_image, make_release

T = TypeVar("T")


@contextmanager
def _hosts(project: Project, target: str, given: list[Host] | None = None) -> Iterator[list[Host]]:
    """The target's hosts (or ``given`` ones, for tests and library callers), closed at the end."""
    hosts = given if given is not None else resolve_target(project, target)
    try:
        yield hosts
    finally:
        for host in hosts:
            host.close()


def _each(
    project: Project, target: str, action: Callable[[Host], T], hosts: list[Host] | None = None
) -> list[tuple[str, T]]:
    with _hosts(project, target, hosts) as found:
        return [(host.name, action(host)) for host in found]


def releases(
    project: Project, target: str = LOCAL_TARGET, hosts: list[Host] | None = None
) -> list[tuple[str, list[tuple[history.ReleaseRecord, str]]]]:
    """The release history of the service, per host, oldest first: each record with what it is now
    (``live`` - exactly one, the running one - ``replaced``, ``rolled back`` or ``failed``)."""

    def read(host: Host) -> list[tuple[history.ReleaseRecord, str]]:
        records = history.read(host.engine, project.service)
        return list(zip(records, history.release_states(records, live_container(host, project.service)), strict=True))

    return _each(project, target, read, hosts)


def lock_status(project: Project, target: str = LOCAL_TARGET) -> list[tuple[str, lock.LockInfo | None]]:
    """Who holds the deploy lock of the service on each host of ``target``."""
    return _each(project, target, lambda host: lock.status(host.engine, project.service))


def lock_release(project: Project, target: str = LOCAL_TARGET) -> list[tuple[str, lock.LockInfo | None]]:
    """Remove the service's deploy lock on every host (after a crashed deploy)."""

    def release(host: Host) -> lock.LockInfo | None:
        held = lock.status(host.engine, project.service)
        if held is not None:
            lock.release(host.engine, project.service)
        return held

    return _each(project, target, release)


def rollback(
    project: Project,
    target: str = LOCAL_TARGET,
    version: str | None = None,
    reporter: Reporter | None = None,
    hosts: list[Host] | None = None,
    clock: Clock = REAL_CLOCK,
    cancel: threading.Event | None = None,
) -> list[HostResult]:
    """Bring back an earlier release (the previous one, or ``version``) from
    the image kept on each host: no build, no push. ``cancel`` stops at a safe point, as for deploys."""
    stage = Stage(reporter or NullReporter(), "rollback")
    if cancel is not None:
        clock = Cancellable(clock, cancel)
    results = []
    with _hosts(project, target, hosts) as found:
        for host in found:
            records = history.read(host.engine, project.service)
            current = live_container(host, project.service)
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
            provide = kept_image(project, chosen.image, local=host.local)
            results.append(deploy_to_host(host, release, provide, stage, clock, Known(records, current)))
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
    #: The host's proxy: "running", or what is wrong with it and its last log lines.
    proxy: str = "running"


def _proxy_state(host: Host, state: ContainerState | None) -> str:
    if state is None:
        return "missing"
    trouble = routing.proxy_trouble(host.engine, host.proxy, state)
    return "; ".join(line.strip() for line in trouble) if trouble is not None else "running"


def _status(project: Project, host: Host) -> HostStatus:
    proxy = host.engine.inspect(host.proxy.name)
    proxy_state = _proxy_state(host, proxy)
    state = live_state(host, project.service, proxy)
    if state is None:
        return HostStatus(host.name, None, None, None, "not deployed", None, "-", host.url, proxy_state)
    probe = host.prober.http_get("127.0.0.1", host.proxy.public_port, project.config.health.path)
    return HostStatus(
        host=host.name,
        container=state.name,
        version=state.labels.get(LABEL_VERSION),
        image=state.labels.get(LABEL_IMAGE),
        state=state.status or "?",
        started=state.started_at or None,
        health=probe.describe(),
        url=host.url,
        proxy=proxy_state,
    )


def status(project: Project, target: str = LOCAL_TARGET, hosts: list[Host] | None = None) -> list[HostStatus]:
    """Per host: the live container, its version and image, and a health probe."""
    return [result for _, result in _each(project, target, lambda host: _status(project, host), hosts)]


def _live_or_fail(project: Project, host: Host) -> str:
    current = live_container(host, project.service)
    if current is None:
        raise DeployError(f"{host.name}: {project.service} is not deployed there", hint="run 'goship ship' first")
    return current


def logs(
    project: Project, target: str = LOCAL_TARGET, *, tail: int = 100, follow: bool = False
) -> Iterator[tuple[str, str]]:
    """Lines of the live container's log, as (host, line); with ``follow``,
    every host's log is streamed until interrupted."""
    with _hosts(project, target) as hosts:
        names = [(host, _live_or_fail(project, host)) for host in hosts]
        if not follow:
            for host, name in names:
                for line in host.engine.logs(name, tail=tail):
                    yield host.name, line
            return
        queue: Queue[tuple[str, str] | GoshipError | None] = Queue()
        for host, name in names:
            Thread(target=_pump, args=(host, name, tail, queue), daemon=True).start()
        running = len(names)
        while running:
            item = queue.get()
            if item is None:
                running -= 1
            elif isinstance(item, GoshipError):
                raise item
            else:
                yield item


def _pump(host: Host, name: str, tail: int, queue: Queue[tuple[str, str] | GoshipError | None]) -> None:
    try:
        for line in host.engine.follow_logs(name, tail=tail):
            queue.put((host.name, line))
    except GoshipError as error:
        queue.put(error)
    finally:
        queue.put(None)


def exec_in(
    project: Project,
    target: str,
    command: list[str],
    *,
    interactive: bool = False,
    output: Callable[[str, str], None] | None = None,
) -> int:
    """Run ``command`` in the live container of each host; the worst exit code.

    Without ``interactive`` the command runs through the Engine API and its
    output is handed to ``output`` as (host, line). With it, the docker CLI
    on the host runs it attached to this terminal (over ``ssh -t`` for
    remote hosts): a TTY is the one thing the API stream does not give.
    """
    worst = 0
    with _hosts(project, target) as hosts:
        for host in hosts:
            name = _live_or_fail(project, host)
            if interactive:
                code = _interactive(host, name, command)
            else:
                try:
                    code, lines = host.engine.exec(name, command, timeout=3600)
                except GoshipError as error:
                    raise DeployError(f"{host.name}: cannot run {command[0]} in {name}: {error.message}") from None
                for line in lines:
                    if output is not None:
                        output(host.name, line)
            worst = max(worst, code)
    return worst


def _interactive(host: Host, name: str, command: list[str]) -> int:
    argv = ("docker", "exec", "-it", name, *command)
    ssh = host.connection.ssh
    if ssh is not None:
        return ssh.interactive(argv, tty=True)
    spawned = process.spawn(argv, stdin=False, capture=False)
    return spawned.wait() or 0


@dataclass(frozen=True)
class Removed:
    """What ``remove`` did on one host, in words."""

    host: str
    done: tuple[str, ...]
    kept: tuple[str, ...]


def remove(
    project: Project,
    target: str = LOCAL_TARGET,
    *,
    purge: bool = False,
    proxy: bool = False,
    reporter: Reporter | None = None,
    hosts: list[Host] | None = None,
    clock: Clock = REAL_CLOCK,
) -> list[Removed]:
    """Take the service off every host of ``target``: its route (other services keep
    serving), its containers once they answered what they had, its lock and state
    container. The release history stays unless ``purge``; the proxy and its volumes
    go when no service is left on its port, or with ``proxy`` (every service it routes goes dark)."""
    stage = Stage(reporter or NullReporter(), "remove")
    results = []
    with _hosts(project, target, hosts) as found:
        for host in found:
            results.append(_remove_from(project, host, purge, proxy, stage.on(host.name), clock))
    return results


def _remove_from(project: Project, host: Host, purge: bool, force_proxy: bool, stage: Stage, clock: Clock) -> Removed:
    engine, service = host.engine, project.service
    done: list[str] = []
    kept: list[str] = []
    records = history.read(engine, service)
    # The lock is a container, so it needs an image the host has: any of goship's will do.
    candidates = [host.proxy.image, *(c.image for c in engine.containers({LABEL_SERVICE: service})),
                  *(r.image for r in reversed(records))]
    image = next((i for i in candidates if i and engine.image(i) is not None), None)
    if image is not None:
        lock.acquire(engine, service, image, f"removing {service}")
    try:
        left: list[str] | None = None
        if engine.inspect(host.proxy.name) is not None:
            left = sorted(routing.unroute(host, service, stage, clock))
            done.append("its route")
        apps = [s for s in (engine.inspect(n) for n in app_containers(engine, service)) if s is not None]
        running = [s for s in apps if s.running]
        if running:
            # What the proxy's old configuration still sends them is answered first.
            drain(host, running, Release(service, "-", "-", project.config.app.port,
                                         drain_seconds=project.config.deploy.drain), clock)
        for state in apps:
            if state.running:
                engine.stop(state.name, int(project.config.deploy.stop_timeout))
            engine.remove(state.name)
        if apps:
            done.append(f"{len(apps)} container(s)")
        if engine.remove(history.state_name(service)):
            done.append("its state container")
        if purge:
            if engine.remove_volume(history.state_name(service)):
                done.append("its release history")
            images = sorted({r.image for r in records})
            gone = [image for image in images if engine.remove_image(image)]
            if gone:
                done.append(f"{len(gone)} image(s)")
        elif records:
            kept.append(f"its release history ({len(records)} records; --purge removes it)")
    finally:
        if image is not None:
            lock.release(engine, service)  # the deploy lock goes with it (a stale one too)
    others = left or []
    if engine.inspect(host.proxy.name) is not None and (not others or force_proxy):
        engine.remove(host.proxy.name)
        for volume in (host.proxy.volume, host.proxy.data_volume):
            engine.remove_volume(volume)
        done.append(f"the proxy {host.proxy.name} and its volumes" + (f" (it routed {', '.join(others)} too)" if others else ""))
    elif others:
        kept.append(f"the proxy {host.proxy.name}, which still routes {', '.join(others)}")
    for line in done:
        stage.ok(f"removed {line}")
    return Removed(host.name, tuple(done), tuple(kept))
