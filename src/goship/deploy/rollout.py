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
from dataclasses import dataclass

from goship.config.model import VolumeConfig
from goship.deploy import health, history, lock, proxy, routes, routing
from goship.deploy.clock import REAL_CLOCK, Clock, checkpoint, uninterrupted
from goship.deploy.health import FIRST_PROBE_DELAY
from goship.deploy.release import HostResult, Release
from goship.deploy.specs import (
    LABEL_IMAGE,
    LABEL_ROLE,
    LABEL_SERVICE,
    LABEL_VERSION,
    NETWORK,
    AppContainer,
    app_container,
    data_volumes,
    managed,
)
from goship.deploy.targets import Host
from goship.engine.api import ContainerState
from goship.engine.client import Engine
from goship.errors import DeployError, GoshipError
from goship.events import Stage
from goship.hosts.probe import ProbeResult

#: Puts the image on a host: a load into the local engine, a pull by digest elsewhere.
ImageProvider = Callable[[Engine], None]


def container_name(release: Release) -> str:
    return f"{release.service}-{release.version}-{secrets.token_hex(3)}"


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


def proxy_request(route: routes.Route, path: str) -> tuple[str | None, str]:
    """The Host header and path a client uses to reach ``path`` of the service through its route:
    its first domain, or its own ``<service>.localhost`` unless it holds the catch-all; under its prefix."""
    name = route.domains[0] if route.domains else (route.local_name if not route.catch_all else None)
    return name, (route.path_prefix or "") + path


def _wait_proxy(host: Host, release: Release, route: routes.Route, clock: Clock) -> ProbeResult:
    """Ask the proxy for the service as a client would: by its name, under its
    prefix. With domains, plain HTTP answers with Caddy's redirect to HTTPS,
    which shows the route is loaded (the upstream itself was probed directly
    just before). Under a prefix the app may not serve the health path
    there: any answer from it (below 500) shows the route reaches it."""
    name, path = proxy_request(route, release.health_path)
    deadline = clock.monotonic() + 10
    delay = FIRST_PROBE_DELAY
    while True:
        probe = host.prober.http_get("127.0.0.1", host.proxy.public_port, path, timeout=5.0, host_header=name)
        redirected = bool(route.domains) and probe.status in (301, 302, 307, 308)
        reached = route.path_prefix is not None and not route.strip_prefix and probe.status is not None and probe.status < 500
        if release.health.passes(probe) or redirected or reached or clock.monotonic() > deadline:
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
    """Wait until the proxy has no request in flight to the old containers,
    for at most ``drain_seconds``. Caddy's upstream counters say so; a proxy
    without the status port (made by an older goship) gets the full wait."""
    if not old or release.drain_seconds <= 0:
        return
    upstreams = {f"{c.name}:{release.app_port}" for c in old}
    deadline = clock.monotonic() + release.drain_seconds
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
    routing.precheck(host, release.service, release.app_port, wanted(release, host))
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
        record = _record(host, release, release.kind, stage, container=result.container)
        prune_images(engine, release, stage, [*records, record])
        return result
    finally:
        lock.release(engine, release.service)


def _record(
    host: Host, release: Release, result: str, stage: Stage, *, reason: str = "", container: str = ""
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


def _replace(host: Host, release: Release, stage: Stage, clock: Clock, routed: str | None) -> HostResult:
    engine = host.engine
    ensure_network(engine)
    asks = wanted(release, host)
    # Every app container of the service but the new one goes at the end,
    # including leftovers of an interrupted deploy; only the one the proxy
    # routes to is "live" and gets the traffic back on a failure.
    previous = [s for s in (engine.inspect(n) for n in app_containers(engine, release.service)) if s is not None]
    live_state = next((c for c in previous if c.running and c.name == routed), None)
    live = live_state.name if live_state else None

    name = container_name(release)
    checkpoint(clock)
    stage.step(f"starting {name}")
    image_cmd = None
    if release.args and release.command is None:
        # Appended to the image's own CMD, which only the engine knows.
        config = (engine.image(release.image) or {}).get("Config") or {}
        image_cmd = config.get("Cmd") if isinstance(config, dict) else None
    ensure_volumes(engine, release.service, release.volumes)
    engine.create(name, app_container(app_spec(release, name, image_cmd)))
    switched = False
    try:
        engine.start(name)
        probe = health.wait_ready(
            engine, host.prober, name, release.health, release.subject, clock, replaces=live is not None
        )
        stage.ok(f"{name} healthy ({probe.describe()})")
        checkpoint(clock)  # the last moment to stop with nothing switched
        route = routing.change(host, release.service, stage, to=(name, release.app_port, asks), draining=live, clock=clock)
        assert route is not None
        switched = True
        # A TCP service answers no HTTP: its route is in place, there is nothing to ask the proxy.
        through_proxy = _wait_proxy(host, release, route, clock) if release.health_type != "tcp" else probe
        if release.health_type != "tcp" and not release.health.passes(through_proxy) and through_proxy.status != 200:
            raise DeployError(
                f"{host.name}: {release.service} is healthy but does not answer through the proxy "
                f"on port {host.proxy.public_port} ({through_proxy.describe()})",
                hint=f"check the proxy's log: docker logs {host.proxy.name}",
            )
        stage.ok(f"proxy switched to {name}")
        if release.watch_seconds > 0:
            stage.step(f"watching {name} for {release.watch_seconds:g}s")
            health.watch(
                engine, host.prober, name, release.health, release.subject, release.watch_seconds, clock,
                replaces=live is not None,
            )
    except (GoshipError, KeyboardInterrupt) as failure:
        if switched:
            _switch_back(host, release, stage, uninterrupted(clock), name, live, asks, failure)
        engine.remove(name)
        raise

    if previous:
        # Switched and watched: an interrupt from here on waits for the old version's requests.
        drain(host, [c for c in previous if c.running], release, uninterrupted(clock))
        for old in previous:
            if old.running:
                engine.stop(old.name, release.stop_timeout)
            engine.remove(old.name)
        stage.info(f"removed {', '.join(c.name for c in previous)}")
    return HostResult(
        host.name,
        name,
        url_of(host, route),
        tuple(c.name for c in previous),
        previous_image=live_state.labels.get(LABEL_IMAGE) if live_state else None,
        previous_version=live_state.labels.get(LABEL_VERSION) if live_state else None,
    )


def _switch_back(
    host: Host, release: Release, stage: Stage, clock: Clock, name: str, live: str | None, asks: routes.Wanted,
    failure: BaseException,
) -> None:
    """Traffic back to the version that served before (listing the failed one second, so what
    it still answers is counted and waited for), or, after a first deploy, to nothing."""
    try:
        if live is None:
            routing.change(host, release.service, stage, to=None, clock=clock)
            return
        routing.change(host, release.service, stage, to=(live, release.app_port, asks), draining=name, clock=clock)
        if isinstance(failure, GoshipError):
            failure.message += "; switched back"
            failure.args = (failure.message,)
        new_state = host.engine.inspect(name)
        if new_state is not None and new_state.running:
            drain(host, [new_state], release, uninterrupted(clock))
    except GoshipError as exc:
        stage.warn(f"switching the proxy back failed: {exc.message}")
