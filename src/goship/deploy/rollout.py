"""Replace the running version of a service on one host, without downtime.

Order of operations, each step undone if a later one fails:
  1. make sure the image is on the host (loaded, or pulled by digest);
  2. start the new container next to the old one, on the private network;
  3. probe it until healthy (or give up: remove it, leave the old one);
  4. point the host's proxy at it and reload Caddy gracefully;
  5. check the service answers through the proxy (or switch back);
  6. let the old version finish its requests, then stop and remove it.
Until step 4 succeeds the proxy and the old container are never touched.
Every action is an Engine API request on the host's one connection; the
clock is a parameter, so the unit tests run this against the fake engine
in no time.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from goship.config.model import VolumeConfig
from goship.deploy import health, history, lock, proxy, routes, routing
from goship.deploy.clock import REAL_CLOCK, Clock, checkpoint, uninterrupted
from goship.deploy.health import FIRST_PROBE_DELAY
from goship.deploy.release import HostResult, Release, Role
from goship.deploy.specs import (
    LABEL_IMAGE,
    LABEL_ROLE,
    LABEL_SERVICE,
    LABEL_VERSION,
    MAIN_PROCESS,
    NETWORK,
    AppContainer,
    app_container,
    data_volumes,
    managed,
    process_of,
)
from goship.deploy.targets import Host
from goship.engine.api import ContainerState
from goship.engine.client import Engine
from goship.errors import DeployError, GoshipError
from goship.events import Stage
from goship.hosts.probe import ProbeResult

#: Puts the image on a host: a load into the local engine, a pull by digest elsewhere.
ImageProvider = Callable[[Engine], None]


def container_name(release: Release, process: str = MAIN_PROCESS) -> str:
    """``hello-3f2a9c1d0b7e-a1b2c3``; a role's container has its name too: ``hello-worker-3f2a9c1d0b7e-a1b2c3``."""
    role = "" if process == MAIN_PROCESS else f"{process}-"
    return f"{release.service}-{role}{release.version}-{secrets.token_hex(3)}"


def container_command(release: Release, image_cmd: list[str] | None) -> tuple[str, ...] | None:
    """The container's CMD: ``command`` (or the image's CMD) followed by ``args``; None keeps the image's."""
    if release.command is None and not release.args:
        return None
    base = release.command if release.command is not None else tuple(image_cmd or ())
    return (*base, *release.args)


def app_spec(release: Release, name: str, image_cmd: list[str] | None = None) -> AppContainer:
    return AppContainer(
        name=name,
        image=release.image,
        service=release.service,
        version=release.version,
        port=release.app_port,
        env=release.env,
        secrets=release.secrets,
        command=container_command(release, image_cmd),
        hardening=release.hardening,
        stop_timeout=release.stop_timeout,
        volumes=release.volumes,
    )


def app_containers(engine: Engine, service: str) -> list[str]:
    return [c.name for c in engine.containers({LABEL_SERVICE: service, LABEL_ROLE: "app"})]


def ensure_network(engine: Engine) -> None:
    if engine.network(NETWORK) is None:
        engine.create_network(NETWORK, managed("network"))


def ensure_volumes(engine: Engine, service: str, volumes: Sequence[VolumeConfig]) -> None:
    """The service's named volumes, made with its labels before the first container
    mounts them (a mount alone would make them unlabelled, so nothing could tell
    whose data they hold). Those that exist are kept as they are: their data is
    the point. One that another service's deploy made is refused."""
    for name, labels in data_volumes(service, volumes).items():
        if name.startswith("goship-"):
            # goship's own volumes (the proxy's certificates, release history) are named so.
            raise DeployError(
                f"{engine.name}: volume {name} would be one of goship's own (goship-...)",
                hint="give the volume another name in app.volumes, or the service another name",
            )
        found = engine.create_volume(name, labels)
        owner = (found.get("Labels") or {}).get(LABEL_SERVICE)
        if owner not in (None, service):
            raise DeployError(
                f"{engine.name}: volume {name} belongs to service {owner}",
                hint="give the volume another name in app.volumes",
            )


def ensure_image(engine: Engine, image: str, auth: Callable[[], str | None] | None = None) -> None:
    """Pull ``image`` unless the host has it; ``auth`` (X-Registry-Auth) is asked for only then."""
    if engine.image(image) is None:
        engine.pull(image, auth() if auth else None)


def wanted(release: Release, host: Host) -> routes.Wanted:
    """What the release asks of the host's proxy."""
    return routes.Wanted(release.domains, release.tls, release.path_prefix, release.strip_prefix, host.proxy.local)


def as_reached(route: routes.Route, main: routes.Route | None) -> routes.Route:
    """A role's route as clients reach it: under its service's own name (``<service>.localhost``
    where the service does not hold the catch-all) unless it has domains of its own."""
    if main is None or route.domains or ":" not in route.service:
        return route
    return replace(route, local_name=main.local_name, catch_all=main.catch_all)


def proxy_request(route: routes.Route, path: str) -> tuple[str | None, str]:
    """The Host header and path a client uses to reach ``path`` of the service through its route:
    its first domain, or its own ``<service>.localhost`` unless it holds the catch-all; under its prefix."""
    name = route.domains[0] if route.domains else (route.local_name if not route.catch_all else None)
    return name, (route.path_prefix or "") + path


def _wait_proxy(host: Host, check: health.HealthCheck, route: routes.Route, clock: Clock) -> ProbeResult:
    """Ask the proxy for the process as a client would: by its name, under its
    prefix. With domains, plain HTTP answers with Caddy's redirect to HTTPS,
    which shows the route is loaded (the upstream itself was probed directly
    just before). Under a prefix the app may not serve the health path
    there: any answer from it (below 500) shows the route reaches it."""
    name, path = proxy_request(route, check.path)
    deadline = clock.monotonic() + 10
    delay = FIRST_PROBE_DELAY
    while True:
        probe = host.prober.http_get("127.0.0.1", host.proxy.public_port, path, timeout=5.0, host_header=name)
        redirected = bool(route.domains) and probe.status in (301, 302, 307, 308)
        reached = route.path_prefix is not None and not route.strip_prefix and probe.status is not None and probe.status < 500
        if check.passes(probe) or redirected or reached or clock.monotonic() > deadline:
            return ProbeResult(200, None, probe.seconds) if redirected or reached else probe
        clock.sleep(delay)
        delay = min(delay * 2, 0.2)


def url_of(host: Host, route: routes.Route) -> str:
    """Where a client reaches the service through this route."""
    spec = host.proxy
    if route.domains:
        port = spec.https_port
        return f"https://{route.domains[0]}" + (f":{port}" if port not in (None, 443) else "") + (route.path_prefix or "")
    if route.local_name and not route.catch_all:
        return f"http://{route.local_name}:{spec.public_port}" + (route.path_prefix or "")
    return host.url + (route.path_prefix or "")


def drain(host: Host, old: list[ContainerState], release: Release, clock: Clock) -> None:
    """``drain_upstreams`` for old containers of the main process."""
    drain_upstreams(host, {f"{c.name}:{release.app_port}" for c in old}, release.drain_seconds, clock)


def drain_upstreams(host: Host, upstreams: set[str], seconds: float, clock: Clock) -> None:
    """Wait until the proxy has no request in flight to these upstreams (``name:port``),
    for at most ``seconds``. Caddy's upstream counters say so; a proxy
    without the status port (made by an older goship) gets the full wait."""
    if not upstreams or seconds <= 0:
        return
    deadline = clock.monotonic() + seconds
    state = host.engine.inspect(host.proxy.name)
    status = state.published(proxy.STATUS_PORT) if state is not None else None
    delay = FIRST_PROBE_DELAY
    while clock.monotonic() < deadline:
        if status is not None:
            body = host.prober.get_body(status[0], status[1], proxy.UPSTREAMS_PATH, timeout=2.0)
            if body is not None:
                counts = proxy.parse_upstream_counts(body)
                if all(counts.get(address, 0) == 0 for address in upstreams):
                    return
        clock.sleep(min(delay, max(0.0, deadline - clock.monotonic())))
        delay = min(delay * 2, 0.25)


@dataclass(frozen=True)
class Known:
    """What the caller already read from the host (a rollback reads both to choose)."""

    records: list[history.ReleaseRecord]
    routed: str | None  # the container the proxy routes the service to


def deploy_to_host(
    host: Host,
    release: Release,
    provide_image: ImageProvider,
    stage: Stage,
    clock: Clock = REAL_CLOCK,
    known: Known | None = None,
) -> HostResult:
    engine = host.engine
    stage = stage.on(host.name)
    engine.version()
    # Refused here, before the image is pulled or anything is recorded, when another
    # service on the proxy holds what this one's route needs.
    for process in processes(release, host):
        if process.route_key is not None and process.wanted is not None and process.port is not None:
            routing.precheck(host, process.route_key, process.port, process.wanted)
    provide_image(engine)
    lock.acquire(engine, release.service, release.image, f"deploying {release.service} {release.version}")
    try:
        # Read under the lock: another deploy may have changed them until now.
        # What a caller read before is kept if its routed container still exists.
        if known is not None and (known.routed is None or engine.inspect(known.routed) is None):
            known = None
        routed = known.routed if known else live_container(host, release.service)
        records = known.records if known else history.read(engine, release.service)
        try:
            result = _replace(host, release, stage, clock, routed)
        except GoshipError as exc:
            _record(host, release, "failed", stage, reason=exc.message)
            raise
        record = _record(host, release, release.kind, stage, container=result.container,
                         roles={name: list(names) for name, names in result.containers if release.roles})
        prune_images(engine, release, stage, [*records, record])
        return result
    finally:
        lock.release(engine, release.service)


def _record(
    host: Host, release: Release, result: str, stage: Stage, *, reason: str = "", container: str = "",
    roles: dict[str, list[str]] | None = None,
) -> history.ReleaseRecord:
    record = history.ReleaseRecord(
        service=release.service,
        version=release.version,
        image=release.image,
        digest=release.digest,
        result=result,
        host=host.name,
        revision=release.revision,
        deployed_by=history.deployer(),
        reason=reason,
        container=container,
        # Every process's containers, when there is more than the main one: a version is the whole set.
        roles=roles if roles is not None else ({name: [] for name in release.role_names} if release.roles else {}),
    )
    try:
        # The state container is made from the proxy image, so it pins no
        # release image that pruning should be free to remove.
        ensure_image(host.engine, host.proxy.image)
        history.write(host.engine, record, host.proxy.image)
    except GoshipError as exc:
        # The deploy itself is decided; a history that cannot be written is
        # reported, not allowed to hide what happened to the service.
        stage.warn(f"could not record the release: {exc.message}")
    return record


def prune_images(engine: Engine, release: Release, stage: Stage, records: list[history.ReleaseRecord]) -> None:
    """Remove images of releases older than the newest ``keep`` successful
    ones. Only images goship recorded for this service are candidates, and
    never the current or the previous release's."""
    kept: list[str] = []
    for record in reversed(records):
        if record.result in ("live", "rollback") and record.image not in kept:
            kept.append(record.image)
    keep = set(kept[: max(2, release.keep)]) | {release.image}
    stale = sorted({r.image for r in records} - keep)
    removed = [image for image in stale if engine.remove_image(image)]
    if removed:
        stage.info(f"pruned {len(removed)} old image(s)")


def live_container(host: Host, service: str) -> str | None:
    """The container the proxy routes the service to now, if it still exists."""
    state = live_state(host, service)
    return state.name if state is not None else None


def live_state(host: Host, service: str, proxy: ContainerState | None = None) -> ContainerState | None:
    """That container as inspected; ``proxy``: the proxy container, if the caller just inspected it."""
    route = routing.read_table(host, state=proxy).get(service)
    return host.engine.inspect(route.upstream) if route is not None else None


@dataclass(frozen=True)
class Process:
    """One process of a release as the rollout runs it: the main one ("web") or a role."""

    name: str
    replicas: int
    port: int | None
    health: health.HealthCheck
    subject: str
    #: The name of its route in the proxy's table, and what the route asks; None: not routed.
    route_key: str | None = None
    wanted: routes.Wanted | None = None
    role: Role | None = None  # None: the main process


def route_key(service: str, role: str) -> str:
    """The proxy route of a process: the service's own name for the main process,
    ``service:role`` for an HTTP role (a ':' is in no service name, so no service takes it)."""
    return service if role == MAIN_PROCESS else f"{service}:{role}"


def processes(release: Release, host: Host) -> list[Process]:
    """The release's processes in the order they are deployed: the main one first, then the roles."""
    main = Process(MAIN_PROCESS, release.replicas, release.app_port, release.health, release.subject,
                   release.service, wanted(release, host))
    found = [main]
    for role in release.roles:
        asks = None
        if role.route is not None:
            asks = routes.Wanted(role.route.domains, release.tls, role.route.path_prefix, role.route.strip_prefix, False)
        found.append(Process(
            role.name, role.replicas, role.port, role.health, f"{release.service} {role.name} {release.version}",
            route_key(release.service, role.name) if asks is not None else None, asks, role,
        ))
    return found


def _spec(release: Release, process: Process, name: str, image_cmd: list[str] | None) -> AppContainer:
    role = process.role
    if role is None:
        return app_spec(release, name, image_cmd)
    return AppContainer(
        name=name, image=release.image, service=release.service, version=release.version, port=role.port,
        env=role.env, secrets=role.secrets, command=role.command, entrypoint=role.entrypoint,
        hardening=role.hardening, stop_timeout=release.stop_timeout, process=role.name,
        health_port=role.health.port if role.health.probes_port else None,
        volumes=release.volumes,  # every process of the service sees the same data (a worker writes, the api reads)
    )


def _replace(host: Host, release: Release, stage: Stage, clock: Clock, routed: str | None) -> HostResult:
    """Every process of the release: all new containers started and healthy (in order) before
    any route changes, then the routes switched, then every old container drained and removed.
    A failure before the switch leaves the old version untouched; after it, the routes go back."""
    engine = host.engine
    ensure_network(engine)
    run = processes(release, host)
    # Every app container of the service (any process) but the new ones goes at the end,
    # including leftovers of an interrupted deploy; only those the proxy routes to
    # are "live" and get the traffic back on a failure.
    previous = [s for s in (engine.inspect(n) for n in app_containers(engine, release.service)) if s is not None]
    live_state = next((c for c in previous if c.running and c.name == routed), None)
    live = live_state.name if live_state else None
    running = {c.name for c in previous if c.running}
    table = routing.read_table(host) if previous else {}
    serving_before = {
        p.name: [u.name for u in table[p.route_key].serving if u.name in running]
        if p.route_key in table else [] for p in run if p.route_key
    }
    if live is not None and live not in serving_before.get(MAIN_PROCESS, []):
        serving_before[MAIN_PROCESS] = [live]

    image_cmd = None
    if release.args and release.command is None:
        # Appended to the image's own CMD, which only the engine knows.
        config = (engine.image(release.image) or {}).get("Config") or {}
        image_cmd = config.get("Cmd") if isinstance(config, dict) else None
    started: list[str] = []
    new: dict[str, list[str]] = {}
    switched: list[Process] = []
    main_route: routes.Route | None = None
    ensure_volumes(engine, release.service, release.volumes)
    try:
        for process in run:
            names = []
            for _ in range(process.replicas):
                name = container_name(release, process.name)
                checkpoint(clock)
                stage.step(f"starting {name}")
                engine.create(name, app_container(_spec(release, process, name, image_cmd)))
                started.append(name)
                names.append(name)
                engine.start(name)
            new[process.name] = names
            for name in names:
                probe = health.wait_ready(
                    engine, host.prober, name, process.health, process.subject, clock, replaces=live is not None
                )
                stage.ok(f"{name} healthy ({probe.describe()})")
        checkpoint(clock)  # the last moment to stop with nothing switched
        for process in run:
            if process.route_key is None or process.wanted is None or process.port is None:
                continue
            route = routing.to_replicas(
                host, process.route_key, stage, serving=new[process.name], port=process.port, wanted=process.wanted,
                draining=serving_before.get(process.name, []), clock=clock,
            )
            assert route is not None
            switched.append(process)
            if process.name == MAIN_PROCESS:
                main_route = route
            _check_through_proxy(host, process, as_reached(route, main_route), clock)
            stage.ok(f"proxy switched to {', '.join(new[process.name])}")
        if release.watch_seconds > 0:
            first = new[MAIN_PROCESS][0]
            stage.step(f"watching {first} for {release.watch_seconds:g}s")
            health.watch(
                engine, host.prober, first, release.health, release.subject, release.watch_seconds, clock,
                replaces=live is not None,
            )
    except (GoshipError, KeyboardInterrupt) as failure:
        if switched:
            _switch_back(host, release, stage, uninterrupted(clock), switched, new, serving_before, failure)
        for name in started:
            engine.remove(name)
        raise

    if previous:
        # Switched and watched: an interrupt from here on waits for the old version's requests.
        ports = {p.name: p.port for p in run}
        old_running = [c for c in previous if c.running]
        drain_upstreams(host, _addresses(old_running, ports), release.drain_seconds, uninterrupted(clock))
        for old in previous:
            if old.running:
                engine.stop(old.name, release.stop_timeout)
            engine.remove(old.name)
        stage.info(f"removed {', '.join(c.name for c in previous)}")
    # A role this release no longer runs (or no longer routes) keeps no route to containers that are gone.
    kept = {p.route_key for p in run if p.route_key}
    stale = [k for k in table if k.startswith(release.service + ":") and k not in kept]  # as read before the switch
    if stale:
        routing.drop(host, stale, stage, uninterrupted(clock))
    assert main_route is not None
    before = _processes_of([c for c in previous if c.running]) if live_state else None
    return HostResult(
        host.name,
        new[MAIN_PROCESS][0],
        url_of(host, main_route),
        tuple(c.name for c in previous),
        previous_image=live_state.labels.get(LABEL_IMAGE) if live_state else None,
        previous_version=live_state.labels.get(LABEL_VERSION) if live_state else None,
        previous_roles=tuple(before) if before is not None else None,
        containers=tuple((name, tuple(names)) for name, names in new.items()),
    )


def _processes_of(states: list[ContainerState]) -> list[str]:
    """The processes these app containers run, the main one first."""
    found = sorted({process_of(s.labels) for s in states} - {MAIN_PROCESS})
    return [MAIN_PROCESS, *found]


def _addresses(containers: list[ContainerState], ports: dict[str, int | None]) -> set[str]:
    """The proxy upstream addresses of app containers (of processes that have a port)."""
    found = set()
    for state in containers:
        port = ports.get(process_of(state.labels))
        if port is not None:
            found.add(f"{state.name}:{port}")
    return found


def _check_through_proxy(host: Host, process: Process, route: routes.Route, clock: Clock) -> None:
    """The process answers through the proxy as a client asks it (a TCP one answers no HTTP:
    its route is in place, there is nothing to ask)."""
    if process.health.type == "tcp" or not process.health.probes_port:
        return
    through_proxy = _wait_proxy(host, process.health, route, clock)
    if not process.health.passes(through_proxy) and through_proxy.status != 200:
        what = route.service.replace(":", " ")
        raise DeployError(
            f"{host.name}: {what} is healthy but does not answer through the proxy "
            f"on port {host.proxy.public_port} ({through_proxy.describe()})",
            hint=f"check the proxy's log: docker logs {host.proxy.name}",
        )


def _switch_back(
    host: Host, release: Release, stage: Stage, clock: Clock, switched: list[Process], new: dict[str, list[str]],
    before: dict[str, list[str]], failure: BaseException,
) -> None:
    """Traffic back to the containers that served before (listing the failed ones second, so what
    they still answer is counted and waited for), or, where there were none, to nothing."""
    try:
        for process in reversed(switched):
            assert process.route_key is not None and process.wanted is not None and process.port is not None
            routing.to_replicas(
                host, process.route_key, stage, serving=before.get(process.name, []), port=process.port,
                wanted=process.wanted, draining=new[process.name], clock=clock,
            )
        if before.get(MAIN_PROCESS) and isinstance(failure, GoshipError):
            failure.message += "; switched back"
            failure.args = (failure.message,)
        states = [host.engine.inspect(n) for p in switched for n in new[p.name]]
        ports = {p.name: p.port for p in switched}
        drain_upstreams(host, _addresses([s for s in states if s is not None and s.running], ports),
                        release.drain_seconds, clock)
    except GoshipError as exc:
        stage.warn(f"switching the proxy back failed: {exc.message}")
