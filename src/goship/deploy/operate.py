"""What the operate commands do on one Docker host: history, status, logs,
exec, locks, remove. ``goship.deploy.fleet`` applies them to each host of a target."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from queue import Queue
from threading import Thread

from goship import process
from goship.deploy import history, lock, routing
from goship.deploy.clock import Clock
from goship.deploy.release import Release
from goship.deploy.rollout import app_containers, as_reached, drain, live_container, proxy_request, route_key, url_of
from goship.deploy.routes import Route
from goship.deploy.specs import (
    LABEL_IMAGE,
    LABEL_PROCESS,
    LABEL_ROLE,
    LABEL_SERVICE,
    LABEL_VERSION,
    MAIN_PROCESS,
    managed,
)
from goship.deploy.target import HostStatus, Removed
from goship.deploy.targets import Host
from goship.engine.api import ContainerState
from goship.errors import ConfigError, DeployError, GoshipError
from goship.events import Stage
from goship.hosts.probe import ProbeResult
from goship.project import Project


def roles(project: Project) -> list[str]:
    """The processes of the service: the main one ("web"), then the roles of goship.yaml."""
    return [MAIN_PROCESS, *project.config.roles]


def known_role(project: Project, role: str) -> str:
    """``role`` if the service has it; else a ConfigError that suggests the closest name."""
    known = roles(project)
    if role in known:
        return role
    close = difflib.get_close_matches(role, known, n=1)
    guess = f"did you mean '{close[0]}'? " if close else ""
    raise ConfigError(
        f"{project.service} has no role {role!r}",
        hint=f"{guess}its processes: {', '.join(known)} ('{MAIN_PROCESS}' is the main one; others are roles: in goship.yaml)",
    )


def containers_of(host: Host, service: str, role: str) -> list[str]:
    """The running containers of one process: for the main one those its route serves
    (all its replicas), for a role those labelled with it, in the order they were made."""
    if role == MAIN_PROCESS:
        route = routing.read_table(host).get(service)
        if route is None:
            return []
        running = {c.name for c in host.engine.containers({LABEL_SERVICE: service, LABEL_ROLE: "app"})}
        return [u.name for u in route.serving if u.name in running]
    found = host.engine.containers({LABEL_SERVICE: service, LABEL_ROLE: "app", LABEL_PROCESS: role})
    return [c.name for c in sorted(found, key=lambda c: c.name)]


def containers_or_fail(host: Host, service: str, role: str) -> list[str]:
    names = containers_of(host, service, role)
    if not names:
        what = service if role == MAIN_PROCESS else f"role {role} of {service}"
        raise DeployError(f"{host.name}: {what} is not deployed there", hint="run 'goship ship' first")
    return names


def releases(host: Host, service: str, role: str | None = None) -> list[tuple[history.ReleaseRecord, str]]:
    """The host's history of ``service``, oldest first, each record with what it is now;
    with ``role``, only the releases that ran that process."""
    records = history.read(host.engine, service)
    states = zip(records, history.release_states(records, live_container(host, service)), strict=True)
    return [(record, state) for record, state in states if role is None or role in record.processes]


def release_lock(host: Host, service: str) -> lock.LockInfo | None:
    """Remove the service's deploy lock (after a crashed deploy); who held it."""
    held = lock.status(host.engine, service)
    if held is not None:
        lock.release(host.engine, service)
    return held


def _proxy_state(host: Host, state: ContainerState | None) -> str:
    if state is None:
        return "missing"
    trouble = routing.proxy_trouble(host.engine, host.proxy, state)
    return "; ".join(line.strip() for line in trouble) if trouble is not None else "running"


def status(project: Project, host: Host, processes: list[str] | None = None) -> list[HostStatus]:
    """Per process (default: all, the main one first): its live containers, version and image, a
    probe through the proxy for a routed one, and the proxy's state."""
    proxy = host.engine.inspect(host.proxy.name)
    proxy_state = _proxy_state(host, proxy)
    table = routing.read_table(host, state=proxy)
    rows = []
    for name in processes or roles(project):
        if name == MAIN_PROCESS:
            rows.append(_main_status(project, host, table, proxy_state))
        else:
            rows.append(_role_status(project, host, table, name, proxy_state))
    return rows


def _main_status(project: Project, host: Host, table: Mapping[str, Route], proxy_state: str) -> HostStatus:
    """The main process: the URL and the probe are the service's own route's (its domain, its
    ``<service>.localhost`` name, its path prefix): on a proxy that routes several services,
    the bare port answers for another one, or with a 404."""
    route = table.get(project.service)
    state = host.engine.inspect(route.upstream) if route is not None else None
    if route is None or state is None:
        return _absent(host, host.url, proxy_state, MAIN_PROCESS)
    probe = _probe(host, route, state, project.config.health.path, project.config.app.port)
    replicas = project.config.app.replicas
    count = len(containers_of(host, project.service, MAIN_PROCESS)) if replicas > 1 or project.config.roles else 1
    return _row(host, state, probe.describe(), url_of(host, route), proxy_state, MAIN_PROCESS, count)


def _role_status(project: Project, host: Host, table: Mapping[str, Route], role: str, proxy_state: str) -> HostStatus:
    """A role: its running containers; a routed one is asked as a client reaches it (its
    domain, or its service's name and its path), like the main process."""
    names = containers_of(host, project.service, role)
    config = project.config.roles.get(role)
    state = host.engine.inspect(names[0]) if names else None
    if state is None:  # none, or removed while we looked
        return _absent(host, "-", proxy_state, role)
    url, health = "-", f"{len(names)} running"
    route = table.get(route_key(project.service, role))
    if route is not None and config is not None and config.port is not None:
        reached = as_reached(route, table.get(project.service))
        path = config.health.path or project.config.health.path
        url = url_of(host, reached)
        health = _probe(host, reached, state, path, config.port).describe()
    return _row(host, state, health, url, proxy_state, role, len(names))


def _absent(host: Host, url: str, proxy_state: str, role: str) -> HostStatus:
    # The main process keeps its 1 (a service never deployed reads as before roles).
    containers = 1 if role == MAIN_PROCESS else 0
    return HostStatus(host.name, None, None, None, "not deployed", None, "-", url, proxy_state, role=role, containers=containers)


def _row(host: Host, state: ContainerState, health: str, url: str, proxy_state: str, role: str, count: int) -> HostStatus:
    return HostStatus(
        host=host.name,
        container=state.name,
        version=state.labels.get(LABEL_VERSION),
        image=state.labels.get(LABEL_IMAGE),
        state=state.status or "?",
        started=state.started_at or None,
        health=health,
        url=url,
        proxy=proxy_state,
        role=role,
        containers=count,
    )


def _probe(host: Host, route: Route, state: ContainerState, path: str, port: int) -> ProbeResult:
    """GET ``path`` as a client of the service's route; for a domain, whose plain HTTP answer is
    Caddy's redirect to HTTPS, from the container itself (the redirect shows only that the route is loaded)."""
    name, through = proxy_request(route, path)
    probe = host.prober.http_get("127.0.0.1", host.proxy.public_port, through, host_header=name)
    address = state.published(port)
    if route.domains and probe.status in (301, 302, 307, 308) and address is not None:
        return host.prober.http_get(address[0], address[1], path)
    return probe


def live_or_fail(host: Host, service: str) -> str:
    current = live_container(host, service)
    if current is None:
        raise DeployError(f"{host.name}: {service} is not deployed there", hint="run 'goship ship' first")
    return current


def follow_logs(named: list[tuple[Host, str, str]], tail: int) -> Iterator[tuple[str, str]]:
    """Every container's log streamed at once, as (where, line), until interrupted;
    ``named``: (host, container, where its lines are said to come from)."""
    queue: Queue[tuple[str, str] | GoshipError | None] = Queue()
    for host, name, where in named:
        Thread(target=_pump, args=(host, name, where, tail, queue), daemon=True).start()
    running = len(named)
    while running:
        item = queue.get()
        if item is None:
            running -= 1
        elif isinstance(item, GoshipError):
            raise item
        else:
            yield item


def _pump(host: Host, name: str, where: str, tail: int, queue: Queue[tuple[str, str] | GoshipError | None]) -> None:
    try:
        for line in host.engine.follow_logs(name, tail=tail):
            queue.put((where, line))
    except GoshipError as error:
        queue.put(error)
    finally:
        queue.put(None)


def exec_in(
    host: Host, name: str, command: list[str], interactive: bool, output: Callable[[str, str], None] | None
) -> int:
    """Run ``command`` in container ``name``. Without ``interactive`` through the
    Engine API; with it, the docker CLI on the host attached to this terminal
    (over ``ssh -t`` for remote hosts): a TTY is the one thing the API stream does not give."""
    if interactive:
        argv = ("docker", "exec", "-it", name, *command)
        ssh = host.connection.ssh
        if ssh is not None:
            return ssh.interactive(argv, tty=True)
        return process.spawn(argv, stdin=False, capture=False).wait() or 0
    try:
        code, lines = host.engine.exec(name, command, timeout=3600)
    except GoshipError as error:
        raise DeployError(f"{host.name}: cannot run {command[0]} in {name}: {error.message}") from None
    for line in lines:
        if output is not None:
            output(host.name, line)
    return code


def data_volumes(host: Host, service: str) -> list[str]:
    """The service's named data volumes on the host (app.volumes), found by their labels:
    a volume goship did not make for this service is never one of them."""
    found = host.engine.volumes(labels=managed("data", service))
    return sorted(str(v.get("Name")) for v in found if v.get("Name"))


def _data_lines(project: Project, host: Host, purge: bool, done: list[str], kept: list[str]) -> None:
    """The data volumes go with ``purge`` (asked for before); host paths are never goship's to delete."""
    volumes = data_volumes(host, project.service)
    if purge:
        gone = [name for name in volumes if host.engine.remove_volume(name)]
        if gone:
            done.append(f"its data volume(s) {', '.join(gone)}")
        left = [name for name in volumes if name not in gone]
        if left:
            kept.append(f"data volume(s) {', '.join(left)}: still in use by another container")
    elif volumes:
        kept.append(f"its data volume(s) {', '.join(volumes)} (--purge deletes them)")
    paths = sorted({v.source for v in project.config.app.volumes if not v.named})
    if paths:
        kept.append(f"the host path(s) {', '.join(paths)} (goship never deletes them)")


def remove(project: Project, host: Host, purge: bool, force_proxy: bool, stage: Stage, clock: Clock) -> Removed:
    """Take the service off one host: route first (others keep serving), then its drained
    containers, lock and state container; history with ``purge``; the proxy with its last service."""
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
        _data_lines(project, host, purge, done, kept)
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
